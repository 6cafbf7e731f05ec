// The CUDA kernels of tessera/spectrogram.h (their C API and launches: spectrogram.cu). Around the batched R2C cuFFT
// (which the runtime calls through the bytedeco cuFFT preset):
//
//   stft_frames_kernel  one warp per frame (clip b, frame t): lanes over its n_fft samples, reflect padding, the
//                       clip's length (zeros past it) and the window; the row's indices are divided once per
//                       frame, not once per sample
//   power_kernel        |X|^2 or |X| of the spectrum (the power spectrogram without a filterbank)
//   mel_bands_kernel    each filterbank row's span of non-zero columns [lo, hi) (a mel filterbank is banded)
//   mel_power_kernel    power and mel projection fused: a block takes kMelFrames frames of one clip, puts their
//                       power spectrum in shared memory ([bins][kMelFrames + 1]: conflict-free both ways), then each
//                       warp sums the filter rows m = warp, warp + 8, ... over their spans, lane = frame, and writes
//                       out[b, m, t0 .. t0 + 31] in one coalesced row. About 2 x bins products per frame where a
//                       dense GEMM does n_mels x bins, and no power tensor in global memory. Same sums as the CPU
//                       kernel's (spans, ascending k, fused multiply-add).
//   log_max_kernel, clamp_scale_kernel
//                       the log / Whisper finish with the per-clip max from a two-pass reduction on the device (no
//                       host round trip, no atomics: deterministic)
//
// native/test/spectrogram_emulated.cpp runs them on the CPU (cuda_emulation.h) against float64 references.
// Needs, from the including file: global_tid, grid_stride, float2, blockDim / blockIdx / gridDim / threadIdx,
// __syncthreads, __shfl_xor_sync, sqrtf, fmaf, log10f, INFINITY.
#ifndef TESSERA_SRC_CUDA_SPECTROGRAM_CUH
#define TESSERA_SRC_CUDA_SPECTROGRAM_CUH

namespace tsr {
namespace cuda {
namespace spec {

constexpr int kFrameThreads = 256;  // stft_frames_kernel: 8 warps, a frame each
constexpr int kMelFrames = 32;      // mel_power_kernel: frames per block (a lane each)
constexpr int kMelThreads = 256;    // mel_power_kernel: 8 warps over the filter rows
constexpr int kMelPitch = kMelFrames + 1;
// mel_power_kernel keeps bins x kMelPitch floats in shared memory: within the 48 KiB any device gives a block
constexpr int64_t kMelMaxBins = 48 * 1024 / (4 * kMelPitch);

// ---------------------------------------------------------------- framing

__global__ void __launch_bounds__(kFrameThreads)
    stft_frames_kernel(const float *__restrict x, int64_t batch, int64_t x_stride, const int64_t *__restrict lengths,
                       int64_t sig_len, int64_t n_fft, int64_t hop, int64_t pad, const float *__restrict window,
                       int64_t n_frames, float *__restrict frames) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int64_t per_block = blockDim.x >> 5;
  const int64_t rows = batch * n_frames;
  const int64_t dflt = x_stride < sig_len ? x_stride : sig_len;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * per_block + (threadIdx.x >> 5); row < rows;
       row += static_cast<int64_t>(gridDim.x) * per_block) {
    const int64_t b = row / n_frames, t = row - b * n_frames;
    const int64_t len = lengths ? lengths[b] : dflt;
    const float *xb = x + b * x_stride;
    float *f = frames + row * n_fft;
    const int64_t s0 = t * hop - pad;
    for (int64_t j = lane; j < n_fft; j += 32) {
      int64_t i = s0 + j;
      if (i < 0) i = -i;
      else if (i >= sig_len) i = 2 * (sig_len - 1) - i;
      f[j] = (i < len ? xb[i] : 0.0f) * window[j];
    }
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

// ---------------------------------------------------------------- mel projection

// bands[2 m], bands[2 m + 1] = first non-zero column of filter row m, one past its last (lo = hi: none)
__global__ void mel_bands_kernel(const float *__restrict filters, int64_t n_mels, int64_t bins,
                                 int32_t *__restrict bands) {
  for (int64_t m = global_tid(); m < n_mels; m += grid_stride()) {
    const float *f = filters + m * bins;
    int64_t lo = 0, hi = bins;
    while (lo < bins && f[lo] == 0.0f) ++lo;
    while (hi > lo && f[hi - 1] == 0.0f) --hi;
    bands[2 * m] = static_cast<int32_t>(lo);
    bands[2 * m + 1] = static_cast<int32_t>(hi);
  }
}

extern __shared__ float mel_sm[];  // [bins][kMelPitch]: the power of frame f at bin k in mel_sm[k kMelPitch + f]

// out[b, m, t] = sum_{k in [lo_m, hi_m)} filters[m, k] |spec[b, t, k]|^power (power 2, or 1: magnitude) for the
// spectrum spec[batch, n_frames, bins] (complex). Work items (clip, 32-frame tile) over a grid-stride loop.
__global__ void __launch_bounds__(kMelThreads)
    mel_power_kernel(const float2 *__restrict spec, int64_t batch, int64_t n_frames, int bins, int power,
                     const float *__restrict filters, int n_mels, const int32_t *__restrict bands,
                     float *__restrict out) {
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int warps = static_cast<int>(blockDim.x >> 5);
  const int64_t tiles = (n_frames + kMelFrames - 1) / kMelFrames;
  for (int64_t item = blockIdx.x; item < batch * tiles; item += gridDim.x) {
    const int64_t b = item / tiles, t0 = (item - b * tiles) * kMelFrames;
    const int nf = static_cast<int>(n_frames - t0 < kMelFrames ? n_frames - t0 : kMelFrames);
    const float2 *src = spec + (b * n_frames + t0) * bins;  // the tile's frames: nf x bins values in a row
    __syncthreads();  // the previous tile's sums have read mel_sm
    // value i = f bins + k of the tile; (f, k) stepped along with i instead of divided out of it
    const int step = static_cast<int>(blockDim.x), step_f = step / bins, step_k = step - step_f * bins;
    int f = static_cast<int>(threadIdx.x) / bins, k = static_cast<int>(threadIdx.x) - f * bins;
    for (int i = static_cast<int>(threadIdx.x); i < nf * bins; i += step) {
      const float2 v = src[i];
      const float p = v.x * v.x + v.y * v.y;
      mel_sm[k * kMelPitch + f] = power == 1 ? sqrtf(p) : p;
      f += step_f;
      k += step_k;
      if (k >= bins) {
        k -= bins;
        ++f;
      }
    }
    __syncthreads();
    float *ob = out + b * n_mels * n_frames + t0;
    for (int m = warp; m < n_mels; m += warps) {
      const int lo = bands[2 * m], hi = bands[2 * m + 1];
      const float *fm = filters + static_cast<int64_t>(m) * bins;
      float acc = 0.0f;
      for (int k = lo; k < hi; ++k) acc = fmaf(fm[k], mel_sm[k * kMelPitch + lane], acc);
      if (lane < nf) ob[static_cast<int64_t>(m) * n_frames + lane] = acc;
    }
  }
}

// ---------------------------------------------------------------- log / clamp finish

// max that propagates NaN (either operand).
__device__ __forceinline__ float nan_max(float a, float b) { return (a != a || a > b) ? a : b; }

__device__ __forceinline__ float block_nan_max(float v, float *sh) {
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int nwarps = static_cast<int>(blockDim.x >> 5);
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

}  // namespace spec
}  // namespace cuda
}  // namespace tsr

#endif  // TESSERA_SRC_CUDA_SPECTROGRAM_CUH
