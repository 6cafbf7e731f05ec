/*
 * Tessera native C API: library information, status codes and dtypes.
 *
 * Conventions for every function of the headers in include/tessera/:
 *   - the caller (Java) validates shapes, dtypes and bounds before calling;
 *   - pointers are raw host (tsr_cpu_*) or device (tsr_cuda_*) addresses; the API allocates
 *     nothing that outlives a call and owns nothing;
 *   - every function that can fail returns TSR_OK (0) or a status code; CUDA failures return
 *     TSR_ERR_CUDA_BASE + the cudaError_t value and leave a message in tsr_last_error();
 *   - all tensors are contiguous, row-major; sizes are element counts (int64_t).
 */
#ifndef TESSERA_TESSERA_H
#define TESSERA_TESSERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TSR_API __declspec(dllexport)
#else
#define TSR_API __attribute__((visibility("default")))
#endif

/* Status codes. */
#define TSR_OK 0
#define TSR_ERR_ARG 1         /* invalid argument (should have been caught in Java) */
#define TSR_ERR_INDEX 2       /* an index (e.g. a token id) is out of range */
#define TSR_ERR_NO_CUDA 3     /* library built without CUDA */
#define TSR_ERR_UNSUPPORTED 4 /* dtype / variant not implemented by this kernel */
#define TSR_ERR_NO_MEMORY 5   /* host memory for a scratch buffer could not be allocated */
#define TSR_ERR_INTERNAL 6    /* an unexpected C++ exception, caught at the C API boundary */
#define TSR_ERR_CUDA_BASE 1000 /* + cudaError_t */

/* Data types (same ordinals as dev.tessera.runtime.DType). */
#define TSR_F32 0
#define TSR_F16 1
#define TSR_BF16 2
#define TSR_I32 3
#define TSR_I64 4
#define TSR_I8 5 /* storage only (packed int8 weights, raw bytes): no kernel takes it as a dtype argument */

/* Binary elementwise operators. */
#define TSR_OP_ADD 0
#define TSR_OP_SUB 1
#define TSR_OP_MUL 2
#define TSR_OP_DIV 3

/* "0.1.0" etc. */
TSR_API const char *tsr_version(void);
/* SIMD level the CPU kernels dispatch to on this machine: "avx512", "avx2" or "scalar". */
TSR_API const char *tsr_cpu_simd(void);
/* Worker threads used by the CPU kernels (default: hardware concurrency). */
TSR_API int tsr_cpu_threads(void);
/* Set the worker count (n >= 1); takes effect on the next parallel call. */
TSR_API void tsr_cpu_set_threads(int n);
/* 1 when the CUDA kernels were compiled into this library, else 0. */
TSR_API int tsr_cuda_compiled(void);
/* Space-separated list of compiled CUDA architectures ("sm_80 sm_86 ... compute_90"), or "". */
TSR_API const char *tsr_cuda_archs(void);
/* Message of the last failed call on this thread ("" if none). */
TSR_API const char *tsr_last_error(void);
/* Host memory for CPU tensors: at least `bytes` bytes (a request below 1 counts as 1), 64-byte aligned; a block
 * of 2 MiB or more starts on a 2 MiB boundary and its whole 2 MiB pages are advised as transparent huge pages
 * (madvise MADV_HUGEPAGE, where the kernel offers it), so its placement in the caches does not depend on which
 * physical pages a process happens to get. NULL when out of memory. Free with tsr_host_free (NULL is a no-op). */
TSR_API void *tsr_host_alloc(int64_t bytes);
TSR_API void tsr_host_free(void *p);
/* Returns x + 1: used to measure the Java -> native round trip. */
TSR_API int tsr_noop(int x);
/* Calls fn as `int fn(int)` with arg and returns its result (fn must not be NULL). Lets the runtime call a function
 * of another native library found by its symbol (Loader.addressof), one that library's Java preset does not map:
 * OpenCV's cv::utils::logging::setLogLevel(LogLevel), an int-sized enum in and out. */
TSR_API int tsr_call_int_int(void *fn, int arg);

#ifdef __cplusplus
}
#endif

#endif
