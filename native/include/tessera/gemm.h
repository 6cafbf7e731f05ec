/*
 * Dense (linear-layer) GEMM of the CPU backend on a prepacked weight, with a fused epilogue.
 * See tessera.h for the shared conventions (the caller validates; raw pointers; status codes).
 *
 * A linear layer y = act(x W^T + bias) + residual with W [n, k] (PyTorch layout [out, in]) is run as:
 *   1. once per weight: tsr_cpu_gemm_pack_f32 copies W into the packed layout (a buffer of
 *      tsr_cpu_gemm_packed_floats(n, k) floats, 64-byte aligned, owned by the caller);
 *   2. per call: tsr_cpu_gemm_packed_f32 multiplies x [m, k] by the packed weight and writes each
 *      element of y once, bias, activation and residual applied while the tile is in registers / L1.
 *
 * Packed layout (the same on every ISA, so one packing serves every path, decode included): the n
 * output columns in panels of TSR_GEMM_NR; panel p is k rows of TSR_GEMM_NR floats,
 * packed[(p * k + kk) * TSR_GEMM_NR + j] = W[p * TSR_GEMM_NR + j, kk], zero where p * NR + j >= n.
 *
 * Computation is fp32 with fp32 accumulation in the order kk = 0, 1, ..., k-1 for every element
 * (results do not depend on the thread count). NaN propagates.
 */
#ifndef TESSERA_GEMM_H
#define TESSERA_GEMM_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output columns per packed panel. */
#define TSR_GEMM_NR 32

/* Epilogue activations (applied to x W^T + bias, before the residual is added), in fp32 on the CPU: within ~1e-6
 * (1 + |exact|) of the exact value for every input (measured worst: GELU 1.5e-7 on AVX-512, 6e-7 elsewhere; the
 * others 9e-8); act(+inf) = +inf, act(-inf) = -0 (ReLU: 0), NaN propagates. */
#define TSR_ACT_NONE 0
#define TSR_ACT_GELU 1       /* 0.5 x (1 + erf(x / sqrt 2)) */
#define TSR_ACT_GELU_TANH 2  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
#define TSR_ACT_SILU 3       /* x sigmoid(x) */
#define TSR_ACT_QUICK_GELU 4 /* x sigmoid(1.702 x) */
#define TSR_ACT_RELU 5       /* max(x, 0); NaN propagates */
#define TSR_ACT_COUNT 6

/* Floats of the packed form of an [n, k] weight: ceil(n / NR) * NR * k (n, k >= 0). */
TSR_API int64_t tsr_cpu_gemm_packed_floats(int64_t n, int64_t k);

/* Packs W (element (j, kk) at w[j * stride_n + kk * stride_k]: stride_k = 1 for a row-major [n, k] weight,
 * stride_n = 1 for its transpose [k, n]) into `packed` (tsr_cpu_gemm_packed_floats(n, k) floats). Threaded. */
TSR_API int tsr_cpu_gemm_pack_f32(const float *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k,
                                  float *packed);

/* out[i, j] = act(sum_kk x[i, kk] W[j, kk] + bias[j]) + residual[i, j] for i < m, j < n.
 * x: rows lda apart (lda >= k), unit stride along k; out: rows ldo apart (ldo >= n); residual: rows ldr
 * apart (ldr >= n), may be out itself (then read before it is written), else must not overlap out.
 * bias [n] and residual may be NULL; act one of TSR_ACT_*. Threaded on the library's pool: tiles of rows x
 * panels for m > a few rows, panels alone for decode-sized m (the packed weight is streamed once). */
TSR_API int tsr_cpu_gemm_packed_f32(const float *x, int64_t lda, const float *packed, int64_t m, int64_t n,
                                    int64_t k, const float *bias, int act, const float *residual, int64_t ldr,
                                    float *out, int64_t ldo);

/* bfloat16 weights (half the bytes of the packed form: decode-sized products, which stream the weight, run up to
 * twice as fast where memory bandwidth bounds them). tsr_cpu_gemm_pack_bf16 packs W as tsr_cpu_gemm_pack_f32 does
 * into tsr_cpu_gemm_packed_floats(n, k) uint16 elements, each rounded to the nearest bfloat16 (ties to even; NaN
 * stays NaN). tsr_cpu_gemm_packed_bf16 is tsr_cpu_gemm_packed_f32 on that form: each weight is widened to fp32
 * exactly as it is loaded, the rest is the same arithmetic in the same order, so the result has the bits of
 * tsr_cpu_gemm_packed_f32 on the rounded weight. */
TSR_API int tsr_cpu_gemm_pack_bf16(const float *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k,
                                   uint16_t *packed);
TSR_API int tsr_cpu_gemm_packed_bf16(const float *x, int64_t lda, const uint16_t *packed, int64_t m, int64_t n,
                                     int64_t k, const float *bias, int act, const float *residual, int64_t ldr,
                                     float *out, int64_t ldo);

/* int8 weights, one scale per output feature (weight-only quantization: a quarter of the packed form's bytes;
 * products of a few rows, which stream the weight, run up to four times as fast where memory bandwidth bounds them;
 * the input and the arithmetic stay fp32). tsr_cpu_gemm_pack_s8 quantizes each output feature j of W symmetrically:
 * s_j = max_kk |W[j, kk]| / 127 (in fp32; 0 for an all-zero feature, whose q are then 0) and
 * q[j, kk] = W[j, kk] / s_j rounded to the nearest integer (ties to even), in [-127, 127]; a weight holding a NaN or an
 * infinity is refused (TSR_ERR_ARG). It writes tsr_cpu_gemm_packed_s8_bytes(n, k) bytes into a buffer aligned to at
 * least 4 bytes (64 for the best speed): the q in the panels of the fp32 form (one byte each), then, at the next
 * multiple of 64 bytes from the start, the ceil(n / NR) * NR scales (fp32, zero past n).
 * tsr_cpu_gemm_packed_s8 computes out[i, j] = act(s_j * sum_kk x[i, kk] q[j, kk] + bias[j]) + residual[i, j]: the sum
 * has the bits of tsr_cpu_gemm_packed_f32 on the weight q (small integers, exact in fp32), then one fp32 multiply by
 * s_j (not fused with the bias), then the epilogue of tsr_cpu_linear_epilogue_f32. */
TSR_API int64_t tsr_cpu_gemm_packed_s8_bytes(int64_t n, int64_t k);
TSR_API int tsr_cpu_gemm_pack_s8(const float *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k,
                                 void *packed);
TSR_API int tsr_cpu_gemm_packed_s8(const float *x, int64_t lda, const void *packed, int64_t m, int64_t n, int64_t k,
                                   const float *bias, int act, const float *residual, int64_t ldr, float *out,
                                   int64_t ldo);

/* The same epilogue on an existing product y [m, n] (rows ldy apart), in place:
 * y[i, j] = act(y[i, j] + bias[j]) + residual[i, j]. bias and residual may be NULL. Threaded. */
TSR_API int tsr_cpu_linear_epilogue_f32(float *y, int64_t ldy, int64_t m, int64_t n, const float *bias, int act,
                                        const float *residual, int64_t ldr);

#ifdef __cplusplus
}
#endif

#endif
