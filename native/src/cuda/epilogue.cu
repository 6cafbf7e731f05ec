// The fused epilogue of a linear layer on CUDA (tessera/epilogue.h): y = act(y + bias) + residual in one
// pass over the GEMM's output, instead of a bias pass, an activation pass and a residual pass.
#include "cuda/cuda_common.cuh"
#include "tessera/epilogue.h"
#include "tessera/gemm.h"

namespace tsr {
namespace cuda {
namespace {

// The activations of TSR_ACT_* with the formulas of the CPU epilogue and of core.cu's stand-alone ops.
__device__ __forceinline__ float epilogue_act(int act, float x) {
  switch (act) {
    case TSR_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case TSR_ACT_GELU_TANH: {
      const float k0 = 0.7978845608028654f;  // sqrt(2 / pi)
      return 0.5f * x * (1.0f + tanhf(k0 * (x + 0.044715f * x * x * x)));
    }
    case TSR_ACT_SILU: return x / (1.0f + expf(-x));
    case TSR_ACT_QUICK_GELU: return x == -INFINITY ? -0.0f : x / (1.0f + expf(-1.702f * x));
    case TSR_ACT_RELU: return x < 0.0f ? 0.0f : x;  // NaN stays NaN
    default: return x;                             // TSR_ACT_NONE
  }
}

// Vectors of N elements; `vcols` vectors per row; index i over rows * vcols, column vector i % vcols.
// The column is computed in 32 bits when the caller says the sizes fit (SMALL).
template <typename T, int N, bool SMALL>
__global__ void linear_epilogue_kernel(T *y, const T *bias, int act, const T *residual, int64_t total,
                                       int64_t vcols) {
  using V = Vec<T, N>;
  V *yv = reinterpret_cast<V *>(y);
  const V *bv = reinterpret_cast<const V *>(bias);
  const V *rv = reinterpret_cast<const V *>(residual);
  for (int64_t i = global_tid(); i < total; i += grid_stride()) {
    V v = yv[i];
    float f[N];
#pragma unroll
    for (int k = 0; k < N; ++k) f[k] = to_f(v.v[k]);
    if (bias) {
      const int64_t c = SMALL ? static_cast<int64_t>(static_cast<uint32_t>(i) % static_cast<uint32_t>(vcols))
                              : i % vcols;
      const V b = bv[c];
#pragma unroll
      for (int k = 0; k < N; ++k) f[k] += to_f(b.v[k]);
    }
    if (act != TSR_ACT_NONE) {
#pragma unroll
      for (int k = 0; k < N; ++k) f[k] = epilogue_act(act, f[k]);
    }
    if (residual) {
      const V r = rv[i];
#pragma unroll
      for (int k = 0; k < N; ++k) f[k] += to_f(r.v[k]);
    }
#pragma unroll
    for (int k = 0; k < N; ++k) v.v[k] = from_f<T>(f[k]);
    yv[i] = v;
  }
}

template <typename T, int N>
void launch_epilogue(T *y, const T *bias, int act, const T *residual, int64_t rows, int64_t vcols,
                     cudaStream_t stream) {
  const int64_t total = rows * vcols;
  const unsigned int grid = grid_for(total, kThreads);
  if (total <= static_cast<int64_t>(UINT32_MAX))
    linear_epilogue_kernel<T, N, true><<<grid, kThreads, 0, stream>>>(y, bias, act, residual, total, vcols);
  else
    linear_epilogue_kernel<T, N, false><<<grid, kThreads, 0, stream>>>(y, bias, act, residual, total, vcols);
}

}  // namespace
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda;

extern "C" {

int tsr_cuda_linear_epilogue(int dtype, void *y, const void *bias, int act, const void *residual, int64_t rows,
                             int64_t cols, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_linear_epilogue: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(act < 0 || act >= TSR_ACT_COUNT, "tsr_cuda_linear_epilogue: unknown activation %d", act);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0, "tsr_cuda_linear_epilogue: negative size rows=%lld cols=%lld",
                  (long long)rows, (long long)cols);
  if (rows == 0 || cols == 0 || (!bias && !residual && act == TSR_ACT_NONE)) return TSR_OK;
  TSR_ARG_FAIL_IF(!y, "tsr_cuda_linear_epilogue: null y");
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int N = VecWidth<T>::value;
    T *py = static_cast<T *>(y);
    const T *pb = static_cast<const T *>(bias);
    const T *pr = static_cast<const T *>(residual);
    const bool vec = cols % N == 0 && aligned(y, 16) && (!bias || aligned(bias, 16)) &&
                     (!residual || aligned(residual, 16));
    if (vec)
      launch_epilogue<T, N>(py, pb, act, pr, rows, cols / N, s);
    else
      launch_epilogue<T, 1>(py, pb, act, pr, rows, cols, s);
    TSR_LAUNCH_CHECK("tsr_cuda_linear_epilogue kernel launch");
    return TSR_OK;
  });
}

}  // extern "C"
