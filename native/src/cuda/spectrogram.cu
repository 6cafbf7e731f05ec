// The C API of tessera/spectrogram.h's CUDA side: argument checks and launches of the kernels in spectrogram.cuh,
// around the batched R2C cuFFT (which the runtime calls through the bytedeco cuFFT preset). Every launch is checked;
// nothing synchronises.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "cuda_common.cuh"
#include "tessera/spectrogram.h"

#include "spectrogram.cuh"

namespace {
using ll = long long;
static_assert(tsr::cuda::spec::kMelMaxBins == TSR_CUDA_MEL_MAX_BINS, "spectrogram.h and spectrogram.cuh disagree");
}

using namespace tsr::cuda;
using namespace tsr::cuda::spec;

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
  // a warp per frame
  stft_frames_kernel<<<grid_for(batch * n_frames * 32, kFrameThreads), kFrameThreads, 0, s>>>(
      x, batch, x_stride, lengths, sig_len, n_fft, hop, pad, window, n_frames, frames);
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

int tsr_cuda_mel_power(const float *complex_in, int64_t batch, int64_t n_frames, int64_t bins, int power,
                       const float *filters, int64_t n_mels, int32_t *bands, float *out, void *stream) {
  TSR_ARG_FAIL_IF(batch < 0 || n_frames < 0 || bins < 1 || n_mels < 1 || (power != 1 && power != 2),
                  "tsr_cuda_mel_power: batch=%lld n_frames=%lld bins=%lld n_mels=%lld power=%d", (ll)batch,
                  (ll)n_frames, (ll)bins, (ll)n_mels, power);
  TSR_ARG_FAIL_IF(bins > TSR_CUDA_MEL_MAX_BINS, "tsr_cuda_mel_power: bins=%lld exceeds %d (n_fft up to %d)",
                  (ll)bins, TSR_CUDA_MEL_MAX_BINS, 2 * (TSR_CUDA_MEL_MAX_BINS - 1) + 1);
  TSR_ARG_FAIL_IF(n_mels > INT32_MAX, "tsr_cuda_mel_power: n_mels=%lld", (ll)n_mels);
  TSR_ARG_FAIL_IF(!filters || !bands, "tsr_cuda_mel_power: null pointer");
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  mel_bands_kernel<<<grid_for(n_mels, kThreads), kThreads, 0, s>>>(filters, n_mels, bins, bands);
  TSR_LAUNCH_CHECK("mel_bands_kernel");
  const int64_t items = batch * ((n_frames + kMelFrames - 1) / kMelFrames);
  if (items == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!complex_in || !out, "tsr_cuda_mel_power: null pointer");
  TSR_ARG_FAIL_IF(!aligned(complex_in, 8), "tsr_cuda_mel_power: complex input not 8-byte aligned");
  const size_t smem = static_cast<size_t>(bins) * kMelPitch * sizeof(float);
  mel_power_kernel<<<grid_for(items, 1), kMelThreads, smem, s>>>(reinterpret_cast<const float2 *>(complex_in), batch,
                                                                 n_frames, static_cast<int>(bins), power, filters,
                                                                 static_cast<int>(n_mels), bands, out);
  TSR_LAUNCH_CHECK("mel_power_kernel");
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
