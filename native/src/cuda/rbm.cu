// CUDA kernels of tessera/rbm.h: Philox uniforms, fused bias + sigmoid + Bernoulli sample, Gaussian
// mean + sample, softmax + multinomial sample, row / column reductions for the bias gradients, the
// momentum / decay update, free energy and squared error. The GEMMs of a CD step are cuBLAS calls made
// by the runtime between these. Every launch is asynchronous on the given stream and checked; no
// synchronisation inside. The random numbers come from common/philox.h, the same code as on the CPU.
#include "common/philox.h"
#include "cuda/cuda_common.cuh"
#include "tessera/rbm.h"

namespace tsr {
namespace cuda {
namespace {

constexpr int kRowThreads = 256;  // block size of the one-block-per-row kernels

// ---------------------------------------------------------------- double block reduction

__device__ __forceinline__ double warp_sum_d(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block-wide double sum (blockDim.x a multiple of 32); every thread gets the result. sh: double[32].
__device__ __forceinline__ double block_sum_d(double v, double *sh) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int nwarps = blockDim.x >> 5;
  v = warp_sum_d(v);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double w = lane < nwarps ? sh[lane] : 0.0;
    w = warp_sum_d(w);
    if (lane == 0) sh[0] = w;
  }
  __syncthreads();
  return sh[0];
}

__device__ __forceinline__ float softplus_f(float x) {
  // max(x, 0) + log1p(exp(-|x|)); NaN propagates through log1pf / the sum
  return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

__device__ __forceinline__ float clamp_total(float t) {
  return isnan(t) ? t : rintf(fminf(fmaxf(t, 0.0f), static_cast<float>(TSR_RBM_MAX_TOTAL)));
}

// ---------------------------------------------------------------- kernels

__global__ void uniform_kernel(uint64_t seed, uint64_t offset, float *out, int64_t n) {
  for (int64_t i = global_tid(); i < n; i += grid_stride())
    out[i] = philox::uniform(seed, offset + static_cast<uint64_t>(i));
}

__global__ void sigmoid_sample_kernel(const float *pre, const float *bias, const float *bias_scale,
                                      const float *extra, float *prob, float *sample, int64_t rows, int64_t cols,
                                      uint64_t seed, uint64_t offset) {
  const int64_t n = rows * cols;
  for (int64_t i = global_tid(); i < n; i += grid_stride()) {
    const int64_t r = i / cols, c = i - r * cols;
    float z = pre[i];
    if (bias) z = z + bias[c] * (bias_scale ? bias_scale[r] : 1.0f);
    if (extra) z = z + extra[i];
    const float p = 1.0f / (1.0f + expf(-z));
    prob[i] = p;
    if (sample) {
      const float u = philox::uniform(seed, offset + static_cast<uint64_t>(i));
      sample[i] = isnan(p) ? p : (u < p ? 1.0f : 0.0f);
    }
  }
}

__global__ void gaussian_sample_kernel(const float *pre, const float *bias, float *mean, float *sample, int64_t rows,
                                       int64_t cols, uint64_t seed, uint64_t offset) {
  const int64_t n = rows * cols;
  for (int64_t i = global_tid(); i < n; i += grid_stride()) {
    const int64_t c = i % cols;
    const float m = bias ? pre[i] + bias[c] : pre[i];
    mean[i] = m;
    if (sample) {
      const philox::U4 b = philox::block(seed, offset + static_cast<uint64_t>(i), 0u);
      const float u1 = philox::to_uniform_pos(b.x);
      const float u2 = philox::to_uniform(b.y);
      sample[i] = m + sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
    }
  }
}

// One block per row (grid-stride over rows). The running sum of the probabilities is formed serially
// by thread 0 in the same order as on the CPU, then the D draws of the row are spread over the block.
__global__ void softmax_sample_kernel(const float *pre, const float *bias, const float *totals, float *prob,
                                      float *mean, float *sample, float *workspace, int64_t rows, int64_t cols,
                                      uint64_t seed, uint64_t offset) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  __shared__ float s_acc;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *pr = pre + r * cols;
    float *po = prob + r * cols;
    float mx = -INFINITY;
    float nan = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float z = bias ? pr[c] + bias[c] : pr[c];
      po[c] = z;
      mx = fmaxf(mx, z);
      if (isnan(z)) nan = 1.0f;
    }
    mx = block_reduce<true>(mx, shf);
    nan = block_reduce<true>(nan, shf);
    const bool row_nan = nan != 0.0f;
    if (mx == -INFINITY) mx = 0.0f;
    double sum = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float e = expf(po[c] - mx);
      po[c] = e;
      sum += e;
    }
    sum = block_sum_d(sum, shd);
    const float inv = static_cast<float>(1.0 / sum);
    const float d = totals ? clamp_total(totals[r]) : 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const float p = row_nan ? NAN : po[c] * inv;
      po[c] = p;
      if (mean) mean[r * cols + c] = d * p;
      if (sample) sample[r * cols + c] = 0.0f;
    }
    if (sample) {
      float *cdf = workspace + r * cols;
      float *cnt = sample + r * cols;
      __syncthreads();
      if (threadIdx.x == 0) {
        float acc = 0.0f;
        for (int64_t c = 0; c < cols; ++c) {
          acc += po[c];
          cdf[c] = acc;
        }
        s_acc = acc;
      }
      __syncthreads();
      const float acc = s_acc;
      if (isnan(d) || isnan(acc)) {
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) cnt[c] = NAN;
      } else {
        const uint32_t dn = static_cast<uint32_t>(d);
        for (uint32_t k = threadIdx.x; k < dn; k += blockDim.x) {
          const float u = philox::to_uniform(philox::block(seed, offset + static_cast<uint64_t>(r), k).x) * acc;
          // upper bound: first c with cdf[c] > u
          int64_t lo = 0, hi = cols;
          while (lo < hi) {
            const int64_t mid = (lo + hi) >> 1;
            if (cdf[mid] > u) hi = mid;
            else lo = mid + 1;
          }
          int64_t c = lo;
          if (c >= cols) {
            c = cols - 1;
            while (c > 0 && !(po[c] > 0.0f)) --c;
          }
          atomicAdd(cnt + c, 1.0f);
        }
      }
    }
    __syncthreads();  // shared memory reused by the next row
  }
}

// out[r] = sum_c f(a, b) over a row: plain sum (b == NULL) or squared difference. One block per row.
__global__ void row_reduce_kernel(const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  __shared__ double sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double acc = 0.0;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const double x = a[r * cols + c];
      if (b) {
        const double d = x - static_cast<double>(b[r * cols + c]);
        acc += d * d;
      } else {
        acc += x;
      }
    }
    acc = block_sum_d(acc, sh);
    if (threadIdx.x == 0) out[r] = static_cast<float>(acc);
  }
}

// One thread per column (coalesced across the row), double accumulation.
__global__ void col_stats_kernel(const float *pos, const float *pos_scale, int64_t pos_rows, float alpha_pos,
                                 const float *neg, const float *neg_scale, int64_t neg_rows, float alpha_neg,
                                 float *out, int64_t cols) {
  for (int64_t c = global_tid(); c < cols; c += grid_stride()) {
    double sp = 0.0, sn = 0.0;
    for (int64_t r = 0; r < pos_rows; ++r)
      sp += (pos_scale ? static_cast<double>(pos_scale[r]) : 1.0) * static_cast<double>(pos[r * cols + c]);
    if (neg)
      for (int64_t r = 0; r < neg_rows; ++r)
        sn += (neg_scale ? static_cast<double>(neg_scale[r]) : 1.0) * static_cast<double>(neg[r * cols + c]);
    out[c] = static_cast<float>(static_cast<double>(alpha_pos) * sp - static_cast<double>(alpha_neg) * sn);
  }
}

__global__ void update_kernel(float *param, float *velocity, const float *grad, int64_t n, float lr, float momentum,
                              float decay) {
  for (int64_t i = global_tid(); i < n; i += grid_stride()) {
    const float v = momentum * velocity[i] + lr * (grad[i] - decay * param[i]);
    velocity[i] = v;
    param[i] += v;
  }
}

__global__ void free_energy_kernel(int visible_type, const float *v, const float *pre, const float *vbias,
                                   const float *hbias, const float *totals, float *out, int64_t rows, int64_t nv,
                                   int64_t nh) {
  __shared__ double sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float s = (visible_type == TSR_RBM_SOFTMAX) ? totals[r] : 1.0f;
    double acc = 0.0;
    for (int64_t j = threadIdx.x; j < nh; j += blockDim.x) acc -= softplus_f(pre[r * nh + j] + s * hbias[j]);
    for (int64_t i = threadIdx.x; i < nv; i += blockDim.x) {
      const double x = v[r * nv + i], b = vbias[i];
      acc += visible_type == TSR_RBM_GAUSSIAN ? 0.5 * (x - b) * (x - b) : -b * x;
    }
    acc = block_sum_d(acc, sh);
    if (threadIdx.x == 0) out[r] = static_cast<float>(acc);
  }
}

inline cudaStream_t as_stream(void *s) { return static_cast<cudaStream_t>(s); }

inline unsigned int row_grid(int64_t rows) { return clamp_dim(rows, kMaxGrid); }

}  // namespace
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda;

#define TSR_RBM_SIZES(fn, rows, cols)                                                                   \
  TSR_ARG_FAIL_IF((rows) < 0 || (cols) < 0, fn ": negative size (rows %lld, cols %lld)",               \
                  static_cast<long long>(rows), static_cast<long long>(cols))

extern "C" {

int tsr_cuda_rbm_uniform(uint64_t seed, uint64_t offset, float *out, int64_t n, void *stream) {
  TSR_ARG_FAIL_IF(n < 0, "tsr_cuda_rbm_uniform: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out, "tsr_cuda_rbm_uniform: null pointer");
  uniform_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(seed, offset, out, n);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_uniform");
  return TSR_OK;
}

int tsr_cuda_rbm_sigmoid_sample(const float *pre, const float *bias, const float *bias_scale, const float *extra,
                                float *prob, float *sample, int64_t rows, int64_t cols, uint64_t seed,
                                uint64_t offset, void *stream) {
  TSR_RBM_SIZES("tsr_cuda_rbm_sigmoid_sample", rows, cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!pre || !prob, "tsr_cuda_rbm_sigmoid_sample: null pre or prob");
  sigmoid_sample_kernel<<<grid_for(rows * cols, kThreads), kThreads, 0, as_stream(stream)>>>(
      pre, bias, bias_scale, extra, prob, sample, rows, cols, seed, offset);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_sigmoid_sample");
  return TSR_OK;
}

int tsr_cuda_rbm_gaussian_sample(const float *pre, const float *bias, float *mean, float *sample, int64_t rows,
                                 int64_t cols, uint64_t seed, uint64_t offset, void *stream) {
  TSR_RBM_SIZES("tsr_cuda_rbm_gaussian_sample", rows, cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!pre || !mean, "tsr_cuda_rbm_gaussian_sample: null pre or mean");
  gaussian_sample_kernel<<<grid_for(rows * cols, kThreads), kThreads, 0, as_stream(stream)>>>(
      pre, bias, mean, sample, rows, cols, seed, offset);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_gaussian_sample");
  return TSR_OK;
}

int tsr_cuda_rbm_softmax_sample(const float *pre, const float *bias, const float *totals, float *prob, float *mean,
                                float *sample, float *workspace, int64_t rows, int64_t cols, uint64_t seed,
                                uint64_t offset, void *stream) {
  TSR_RBM_SIZES("tsr_cuda_rbm_softmax_sample", rows, cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!pre || !prob, "tsr_cuda_rbm_softmax_sample: null pre or prob");
  TSR_ARG_FAIL_IF(!totals && (mean || sample), "tsr_cuda_rbm_softmax_sample: mean or sample needs totals");
  TSR_ARG_FAIL_IF(!workspace && sample, "tsr_cuda_rbm_softmax_sample: sample needs a workspace");
  softmax_sample_kernel<<<row_grid(rows), kRowThreads, 0, as_stream(stream)>>>(
      pre, bias, totals, prob, mean, sample, workspace, rows, cols, seed, offset);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_softmax_sample");
  return TSR_OK;
}

int tsr_cuda_rbm_row_sums(const float *x, float *out, int64_t rows, int64_t cols, void *stream) {
  TSR_RBM_SIZES("tsr_cuda_rbm_row_sums", rows, cols);
  if (rows == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out || (!x && cols > 0), "tsr_cuda_rbm_row_sums: null pointer");
  row_reduce_kernel<<<row_grid(rows), kRowThreads, 0, as_stream(stream)>>>(x, nullptr, out, rows, cols);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_row_sums");
  return TSR_OK;
}

int tsr_cuda_rbm_col_stats(const float *pos, const float *pos_scale, int64_t pos_rows, float alpha_pos,
                           const float *neg, const float *neg_scale, int64_t neg_rows, float alpha_neg, float *out,
                           int64_t cols, void *stream) {
  TSR_ARG_FAIL_IF(pos_rows < 0 || neg_rows < 0 || cols < 0,
                  "tsr_cuda_rbm_col_stats: negative size (pos_rows %lld, neg_rows %lld, cols %lld)",
                  static_cast<long long>(pos_rows), static_cast<long long>(neg_rows), static_cast<long long>(cols));
  if (cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out || (!pos && pos_rows > 0), "tsr_cuda_rbm_col_stats: null pointer");
  col_stats_kernel<<<grid_for(cols, 128), 128, 0, as_stream(stream)>>>(pos, pos_scale, pos_rows, alpha_pos, neg,
                                                                        neg_scale, neg_rows, alpha_neg, out, cols);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_col_stats");
  return TSR_OK;
}

int tsr_cuda_rbm_update(float *param, float *velocity, const float *grad, int64_t n, float lr, float momentum,
                        float decay, void *stream) {
  TSR_ARG_FAIL_IF(n < 0, "tsr_cuda_rbm_update: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!param || !velocity || !grad, "tsr_cuda_rbm_update: null pointer");
  update_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(param, velocity, grad, n, lr, momentum,
                                                                           decay);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_update");
  return TSR_OK;
}

int tsr_cuda_rbm_free_energy(int visible_type, const float *v, const float *pre, const float *vbias,
                             const float *hbias, const float *totals, float *out, int64_t rows, int64_t nv, int64_t nh,
                             void *stream) {
  TSR_ARG_FAIL_IF(visible_type < TSR_RBM_BINARY || visible_type > TSR_RBM_SOFTMAX,
                  "tsr_cuda_rbm_free_energy: unknown visible type %d", visible_type);
  TSR_ARG_FAIL_IF(rows < 0 || nv < 0 || nh < 0,
                  "tsr_cuda_rbm_free_energy: negative size (rows %lld, nv %lld, nh %lld)",
                  static_cast<long long>(rows), static_cast<long long>(nv), static_cast<long long>(nh));
  if (rows == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out || (!v && nv > 0) || (!vbias && nv > 0) || (!pre && nh > 0) || (!hbias && nh > 0),
                  "tsr_cuda_rbm_free_energy: null pointer");
  TSR_ARG_FAIL_IF(visible_type == TSR_RBM_SOFTMAX && !totals, "tsr_cuda_rbm_free_energy: SOFTMAX needs totals");
  free_energy_kernel<<<row_grid(rows), kRowThreads, 0, as_stream(stream)>>>(visible_type, v, pre, vbias, hbias,
                                                                            totals, out, rows, nv, nh);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_free_energy");
  return TSR_OK;
}

int tsr_cuda_rbm_sq_error(const float *a, const float *b, float *out, int64_t rows, int64_t cols, void *stream) {
  TSR_RBM_SIZES("tsr_cuda_rbm_sq_error", rows, cols);
  if (rows == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out || ((!a || !b) && cols > 0), "tsr_cuda_rbm_sq_error: null pointer");
  row_reduce_kernel<<<row_grid(rows), kRowThreads, 0, as_stream(stream)>>>(a, b, out, rows, cols);
  TSR_LAUNCH_CHECK("tsr_cuda_rbm_sq_error");
  return TSR_OK;
}

}  // extern "C"
