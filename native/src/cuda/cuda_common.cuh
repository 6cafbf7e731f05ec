// Shared helpers of the CUDA kernels: status checks, argument checks, dtype traits, vector
// types, warp / block reductions and launch-size helpers.
#ifndef TESSERA_SRC_CUDA_CUDA_COMMON_CUH
#define TESSERA_SRC_CUDA_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "common/error.h"
#include "tessera/core.h"

namespace tsr {
namespace cuda {

// ---------------------------------------------------------------- status and argument checks

// Record a failed CUDA runtime call and turn it into TSR_ERR_CUDA_BASE + the cudaError_t.
inline int fail(const char *what, cudaError_t e) {
  set_last_error("%s failed: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
  return TSR_ERR_CUDA_BASE + static_cast<int>(e);
}

}  // namespace cuda
}  // namespace tsr

// Evaluate a CUDA runtime call; on failure record it and return its status from the caller.
#define TSR_CUDA_CHECK(what, expr)                          \
  do {                                                      \
    cudaError_t tsr_e_ = (expr);                            \
    if (tsr_e_ != cudaSuccess) return ::tsr::cuda::fail((what), tsr_e_); \
  } while (0)

// Check the launch that was just issued (configuration errors, earlier asynchronous errors).
#define TSR_LAUNCH_CHECK(what) TSR_CUDA_CHECK(what, cudaGetLastError())

// Argument fence: if `cond` holds, record the printf-style message and return TSR_ERR_ARG.
#define TSR_ARG_FAIL_IF(cond, ...)         \
  do {                                     \
    if (cond) {                            \
      ::tsr::set_last_error(__VA_ARGS__);  \
      return TSR_ERR_ARG;                  \
    }                                      \
  } while (0)

namespace tsr {
namespace cuda {

// ---------------------------------------------------------------- dtypes

inline bool is_float_dtype(int dtype) { return dtype == TSR_F32 || dtype == TSR_F16 || dtype == TSR_BF16; }
inline bool is_binary_op(int op) { return op >= TSR_OP_ADD && op <= TSR_OP_DIV; }
inline bool is_elem_size(int s) { return s == 1 || s == 2 || s == 4 || s == 8; }
inline int64_t float_dtype_size(int dtype) { return dtype == TSR_F32 ? 4 : 2; }

// Storage <-> fp32. All arithmetic is done in fp32; stores round to nearest even.
__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Type tag used to pass a storage type through a generic host lambda.
template <typename T>
struct Tag {
  using type = T;
};

// Call f(Tag<T>{}) with the storage type of a floating dtype (checked by the caller).
template <typename F>
inline int dispatch_float(int dtype, F &&f) {
  switch (dtype) {
    case TSR_F32: return f(Tag<float>{});
    case TSR_F16: return f(Tag<__half>{});
    case TSR_BF16: return f(Tag<__nv_bfloat16>{});
    default:
      set_last_error("unsupported dtype %d", dtype);
      return TSR_ERR_ARG;
  }
}

// Call f(Tag<U>{}) with an unsigned integer type of elem_size bytes (checked by the caller).
template <typename F>
inline int dispatch_elem_size(int elem_size, F &&f) {
  switch (elem_size) {
    case 1: return f(Tag<uint8_t>{});
    case 2: return f(Tag<uint16_t>{});
    case 4: return f(Tag<uint32_t>{});
    case 8: return f(Tag<unsigned long long>{});
    default:
      set_last_error("unsupported elem_size %d", elem_size);
      return TSR_ERR_ARG;
  }
}

// ---------------------------------------------------------------- vectors

// N elements of T loaded / stored as one aligned access (16 bytes for N * sizeof(T) == 16).
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

// Elements per 16-byte vector.
template <typename T>
struct VecWidth {
  static constexpr int value = 16 / static_cast<int>(sizeof(T));
};

inline bool aligned(const void *p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---------------------------------------------------------------- launch helpers

constexpr int kThreads = 256;          // default block size of the elementwise kernels
constexpr int64_t kMaxGrid = 1 << 20;  // grid-stride loops cover whatever lies beyond

// Blocks for `work` items at `threads` per block: at least 1, at most kMaxGrid.
inline unsigned int grid_for(int64_t work, int threads) {
  int64_t b = (work + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > kMaxGrid) b = kMaxGrid;
  return static_cast<unsigned int>(b);
}

// Clamp a grid dimension to [1, limit] (y and z are limited to 65535).
inline unsigned int clamp_dim(int64_t v, int64_t limit) {
  if (v < 1) v = 1;
  if (v > limit) v = limit;
  return static_cast<unsigned int>(v);
}

__device__ __forceinline__ int64_t global_tid() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---------------------------------------------------------------- reductions

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum / max for blockDim.x a multiple of 32 (<= 1024); every thread gets the result.
// `sh` is a __shared__ float[32]; the leading barrier makes back-to-back calls safe.
template <bool MAX>
__device__ __forceinline__ float block_reduce(float v, float *sh) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int nwarps = blockDim.x >> 5;
  v = MAX ? warp_max(v) : warp_sum(v);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < nwarps ? sh[lane] : (MAX ? -INFINITY : 0.0f);
    w = MAX ? warp_max(w) : warp_sum(w);
    if (lane == 0) sh[0] = w;
  }
  __syncthreads();
  return sh[0];
}

}  // namespace cuda
}  // namespace tsr

#endif
