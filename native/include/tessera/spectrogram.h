/*
 * Spectrogram family: real FFT, short-time power spectrum, mel projection and the log / Whisper
 * finish. See tessera.h for the shared conventions (caller validates, raw pointers, status codes).
 *
 * Signals. A batch of `batch` clips is stored row-major as x[batch, x_stride]. Clip b is the signal
 *   s_b[i] = x[b * x_stride + i]  for 0 <= i < len_b,   0  for len_b <= i < sig_len,
 * where len_b = lengths[b] (lengths may be NULL: len_b = min(x_stride, sig_len) for every clip) and
 * 0 <= len_b <= min(x_stride, sig_len). This is how clips shorter than the batch width are zero-padded
 * to a common length (Whisper pads every clip to 30 s = 480,000 samples) without copying them.
 *
 * Frames. Frame t (0 <= t < n_frames) covers samples s[t * hop - p + j], j < n_fft, where p = n_fft / 2
 * when `center` is set (reflect padding: index -i reads s[i], index sig_len - 1 + i reads
 * s[sig_len - 1 - i], as torch.stft(center=True, pad_mode="reflect")) and p = 0 otherwise. The caller
 * guarantees sig_len > p when centred (reflection needs it), sig_len >= n_fft when not, and n_frames <=
 * 1 + (sig_len + 2p - n_fft) / hop (Whisper asks one frame fewer: 480,000 samples -> 3,000 frames).
 * Each frame is multiplied by `window` (n_fft values: a shorter window must already be zero-padded
 * to n_fft and centred, as torch does), then transformed; bins k = 0 .. n_fft / 2 (n_bins = n_fft/2+1).
 * power = 2: |X_k|^2; power = 1: |X_k|.
 *
 * FFT. Any n >= 1 in O(n log n): mixed radix 4/2/3/5 and direct odd factors up to 61 (Stockham,
 * natural order), Bluestein (chirp-z over a power of two) when n has a larger prime factor. Real input
 * of even n runs as a complex FFT of n/2 points. fp32 data, twiddles computed in double.
 * Limits: n_fft <= TSR_FFT_MAX_N.
 *
 * NaN and inf in the input propagate to the frames that read them.
 */
#ifndef TESSERA_SPECTROGRAM_H
#define TESSERA_SPECTROGRAM_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest FFT length the CPU kernels accept. */
#define TSR_FFT_MAX_N (1 << 20)
/* Largest spectrum (n_fft / 2 + 1 bins) tsr_cuda_mel_power takes: n_fft up to 743. */
#define TSR_CUDA_MEL_MAX_BINS 372
/* Floats of device scratch per clip that tsr_cuda_log_mel_finish needs. */
#define TSR_LOGMEL_PARTIALS 64

/* ---------------- CPU (host pointers) ---------------- */

/* Real forward DFT of each row: x[rows, n] -> out[rows, n/2 + 1, 2] (re, im interleaved),
 * X_k = sum_j x_j e^{-2 pi i j k / n}. */
TSR_API int tsr_cpu_rfft_f32(const float *x, float *out, int64_t rows, int64_t n);

/* Short-time power (power = 2) or magnitude (power = 1) spectrum of each clip (see above):
 * out[batch, n_frames, n_fft/2 + 1]. Threaded over frames. */
TSR_API int tsr_cpu_stft_power_f32(const float *x, int64_t batch, int64_t x_stride, const int64_t *lengths,
                                   int64_t sig_len, int64_t n_fft, int64_t hop, const float *window, int center,
                                   int64_t n_frames, int power, float *out);

/* Mel spectrogram, fused: out[b, m, t] = sum_k filters[m, k] * P_b[t, k], with P the spectrum of
 * tsr_cpu_stft_power_f32 (never materialised); filters[n_mels, n_fft/2 + 1] row-major (each row's
 * zero entries outside its first..last non-zero are skipped, which does not change the sums).
 * out[batch, n_mels, n_frames]. */
TSR_API int tsr_cpu_mel_spectrogram_f32(const float *x, int64_t batch, int64_t x_stride, const int64_t *lengths,
                                        int64_t sig_len, int64_t n_fft, int64_t hop, const float *window,
                                        int center, int64_t n_frames, int power, const float *filters,
                                        int64_t n_mels, float *out);

/* Log / Whisper finish on each clip of per_clip values (x[batch, per_clip] -> out, may alias):
 *   y = do_log ? log10(max(v, floor)) : v
 *   if clamp_range > 0: y = max(y, M - clamp_range), M = max of y over the clip (NaN if any y is NaN)
 *   out = (y + add) * mul
 * Whisper: floor 1e-10, do_log 1, clamp_range 8, add 4, mul 0.25. NaN propagates (max(NaN, floor) is NaN). */
TSR_API int tsr_cpu_log_mel_finish_f32(const float *x, float *out, int64_t batch, int64_t per_clip, float floor,
                                       int do_log, float clamp_range, float add, float mul);

/* ---------------- CUDA (device pointers, cudaStream_t as void*) ----------------
 * The FFT itself runs in cuFFT (batched R2C, called from Java); these are the kernels around it. */

/* Frames of the clips (same signal / frame semantics as above), windowed:
 * frames[batch, n_frames, n_fft] (fp32), ready for a batched R2C cuFFT. lengths is a DEVICE array
 * of batch int64 values, or NULL. */
TSR_API int tsr_cuda_stft_frames(const float *x, int64_t batch, int64_t x_stride, const int64_t *lengths,
                                 int64_t sig_len, int64_t n_fft, int64_t hop, const float *window, int center,
                                 int64_t n_frames, float *frames, void *stream);

/* out[i] = |c_i|^2 (power 2) or |c_i| (power 1) for count complex values c (interleaved re, im). */
TSR_API int tsr_cuda_power_spectrum(const float *complex_in, float *out, int64_t count, int power, void *stream);

/* Power (power 2) or magnitude (power 1) and mel projection in one pass, the device twin of the CPU fused path:
 * out[b, m, t] = sum_k filters[m, k] * |c[b, t, k]|^power for the complex spectrum c[batch, n_frames, bins]
 * (interleaved re, im: the batched R2C cuFFT's output, 8-byte aligned) and filters[n_mels, bins], each row summed
 * over its first..last non-zero column only (as tsr_cpu_mel_spectrogram_f32). out[batch, n_mels, n_frames]; no
 * power spectrum is written. bins <= TSR_CUDA_MEL_MAX_BINS; bands: 2 * n_mels int32 of device scratch (the rows'
 * spans, found by a first kernel). */
TSR_API int tsr_cuda_mel_power(const float *complex_in, int64_t batch, int64_t n_frames, int64_t bins, int power,
                               const float *filters, int64_t n_mels, int32_t *bands, float *out, void *stream);

/* The finish of tsr_cpu_log_mel_finish_f32 on the device, per clip max by a reduction kernel (no host
 * round trip). scratch: batch * TSR_LOGMEL_PARTIALS floats of device memory. out may alias x. */
TSR_API int tsr_cuda_log_mel_finish(const float *x, float *out, int64_t batch, int64_t per_clip, float floor,
                                    int do_log, float clamp_range, float add, float mul, float *scratch,
                                    void *stream);

#ifdef __cplusplus
}
#endif

#endif
