// CUDA kernels of tessera/spectrogram.h around the batched R2C cuFFT (which the runtime calls through
// the bytedeco cuFFT preset): framing (reflect padding + window), power / magnitude, and the log /
// Whisper finish with the per-clip max taken by a two-pass reduction on the device (no host round
// trip, no atomics: the result is deterministic). Every launch is checked; nothing synchronises.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "cuda_common.cuh"
#include "tessera/spectrogram.h"

namespace tsr {
namespace cuda {
namespace {

using ll = long long;

// ---------------------------------------------------------------- framing

__global__ void stft_frames_kernel(const float *__restrict x, int64_t batch, int64_t x_stride,
                                   const int64_t *__restrict lengths, int64_t sig_len, int64_t n_fft, int64_t hop,
                                   int64_t pad, const float *__restrict window, int64_t n_frames,
                                   float *__restrict frames) {
  const int64_t total = batch * n_frames * n_fft;
  const int64_t dflt = x_stride < sig_len ? x_stride : sig_len;
  for (int64_t e = global_tid(); e < total; e += grid_stride()) {
    const int64_t j = e % n_fft;
    const int64_t bt = e / n_fft;
    const int64_t t = bt % n_frames, b = bt / n_frames;
    int64_t i = t * hop - pad + j;
    if (i < 0) i = -i;
    else if (i >= sig_len) i = 2 * (sig_len - 1) - i;
    const int64_t len = lengths ? lengths[b] : dflt;
    const float v = i < len ? x[b * x_stride + i] : 0.0f;
    frames[e] = v * window[j];
  }
}

// ---------------------------------------------------------------- power

__global__ void power_kernel(const float2 *__restrict c, float *__restrict out, int64_t count, int power) {
  for (int64_t i = global_tid(); i < count; i += grid_stride()) {
    const float2 v = c[i];
    const float p = v.x * v.x + v.y * v.y;
    out[i] = power == 1 ? sqrtf(p) : p;
  }
}

// ---------------------------------------------------------------- log / clamp finish

// max that propagates NaN (either operand).
__device__ __forceinline__ float nan_max(float a, float b) { return (a != a || a > b) ? a : b; }

__device__ __forceinline__ float block_nan_max(float v, float *sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < nwarps ? sh[lane] : -INFINITY;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) w = nan_max(w, __shfl_xor_sync(0xffffffffu, w, o));
    if (lane == 0) sh[0] = w;
  }
  __syncthreads();
  return sh[0];
}

// Pass 1: grid (TSR_LOGMEL_PARTIALS, batch). y = log10(max(x, floor)) (or x); partial max per block.
__global__ void log_max_kernel(const float *x, float *out, int64_t per_clip, float floor, int do_log,
                               float *__restrict partials) {
  __shared__ float sh[32];
  const int64_t b = blockIdx.y;
  const float *xb = x + b * per_clip;
  float *ob = out + b * per_clip;
  float m = -INFINITY;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < per_clip; i += stride) {
    float v = xb[i];
    if (do_log) v = log10f(v < floor ? floor : v);  // NaN < floor is false: NaN kept
    ob[i] = v;
    m = nan_max(v, m);
  }
  m = block_nan_max(m, sh);
  if (threadIdx.x == 0) partials[b * gridDim.x + blockIdx.x] = m;
}

// Pass 2: grid (blocks, batch). out = (max(y, M - clamp_range) + add) * mul, M from the partials.
__global__ void clamp_scale_kernel(float *out, int64_t per_clip, int use_max, float clamp_range, float add,
                                   float mul, const float *__restrict partials, int n_partials) {
  const int64_t b = blockIdx.y;
  float lo = -INFINITY;
  if (use_max) {
    float m = -INFINITY;
    for (int p = 0; p < n_partials; ++p) m = nan_max(partials[b * n_partials + p], m);
    lo = m - clamp_range;  // NaN if the clip holds a NaN
  }
  float *ob = out + b * per_clip;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < per_clip; i += stride) {
    const float v = ob[i];
    const float c = (lo != lo) ? lo : (v < lo ? lo : v);
    ob[i] = (c + add) * mul;
  }
}

}  // namespace
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda;

extern "C" {

int tsr_cuda_stft_frames(const float *x, int64_t batch, int64_t x_stride, const int64_t *lengths, int64_t sig_len,
                         int64_t n_fft, int64_t hop, const float *window, int center, int64_t n_frames,
                         float *frames, void *stream) {
  TSR_ARG_FAIL_IF(batch < 0 || x_stride < 0 || sig_len < 1 || n_fft < 1 || hop < 1 || n_frames < 0,
                  "tsr_cuda_stft_frames: bad sizes batch=%lld x_stride=%lld sig_len=%lld n_fft=%lld hop=%lld "
                  "n_frames=%lld",
                  (ll)batch, (ll)x_stride, (ll)sig_len, (ll)n_fft, (ll)hop, (ll)n_frames);
  const int64_t pad = center ? n_fft / 2 : 0;
  TSR_ARG_FAIL_IF(center && sig_len <= pad, "tsr_cuda_stft_frames: sig_len=%lld must exceed n_fft/2=%lld",
                  (ll)sig_len, (ll)pad);
  TSR_ARG_FAIL_IF(sig_len + 2 * pad < n_fft || n_frames > 1 + (sig_len + 2 * pad - n_fft) / hop,
                  "tsr_cuda_stft_frames: n_frames=%lld too many for sig_len=%lld n_fft=%lld hop=%lld", (ll)n_frames,
                  (ll)sig_len, (ll)n_fft, (ll)hop);
  const int64_t total = batch * n_frames * n_fft;
  if (total == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !window || !frames, "tsr_cuda_stft_frames: null pointer");
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  stft_frames_kernel<<<grid_for(total, kThreads), kThreads, 0, s>>>(x, batch, x_stride, lengths, sig_len, n_fft,
                                                                    hop, pad, window, n_frames, frames);
  TSR_LAUNCH_CHECK("stft_frames_kernel");
  return TSR_OK;
}

int tsr_cuda_power_spectrum(const float *complex_in, float *out, int64_t count, int power, void *stream) {
  TSR_ARG_FAIL_IF(count < 0 || (power != 1 && power != 2), "tsr_cuda_power_spectrum: count=%lld power=%d",
                  (ll)count, power);
  if (count == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!complex_in || !out, "tsr_cuda_power_spectrum: null pointer");
  TSR_ARG_FAIL_IF(!aligned(complex_in, 8), "tsr_cuda_power_spectrum: complex input not 8-byte aligned");
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  power_kernel<<<grid_for(count, kThreads), kThreads, 0, s>>>(reinterpret_cast<const float2 *>(complex_in), out,
                                                              count, power);
  TSR_LAUNCH_CHECK("power_kernel");
  return TSR_OK;
}

int tsr_cuda_log_mel_finish(const float *x, float *out, int64_t batch, int64_t per_clip, float floor, int do_log,
                            float clamp_range, float add, float mul, float *scratch, void *stream) {
  TSR_ARG_FAIL_IF(batch < 0 || per_clip < 0 || batch > 65535, "tsr_cuda_log_mel_finish: batch=%lld per_clip=%lld",
                  (ll)batch, (ll)per_clip);
  if (batch == 0 || per_clip == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out || !scratch, "tsr_cuda_log_mel_finish: null pointer");
  TSR_ARG_FAIL_IF(do_log && !(floor >= 1.17549435e-38f && floor < INFINITY),
                  "tsr_cuda_log_mel_finish: floor=%g must be a positive normal float", static_cast<double>(floor));
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const int use_max = clamp_range > 0.0f ? 1 : 0;
  dim3 g1(TSR_LOGMEL_PARTIALS, static_cast<unsigned>(batch));
  log_max_kernel<<<g1, kThreads, 0, s>>>(x, out, per_clip, floor, do_log, scratch);
  TSR_LAUNCH_CHECK("log_max_kernel");
  const int64_t blocks = (per_clip + kThreads - 1) / kThreads;
  dim3 g2(static_cast<unsigned>(blocks < 1024 ? blocks : 1024), static_cast<unsigned>(batch));
  clamp_scale_kernel<<<g2, kThreads, 0, s>>>(out, per_clip, use_max, clamp_range, add, mul, scratch,
                                             TSR_LOGMEL_PARTIALS);
  TSR_LAUNCH_CHECK("clamp_scale_kernel");
  return TSR_OK;
}

}  // extern "C"
