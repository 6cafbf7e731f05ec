// The tsr_cpu_* spectrogram kernels (real FFT, short-time power spectrum, fused mel spectrogram, log / Whisper
// finish) against float64 references, run by ctest once per ISA (native/CMakeLists.txt): every ISA copy of
// src/cpu/kernels/spectrogram_kernels.cpp is checked on whatever machine builds, not only the one its CPU selects.
// Sizes cover the FFT's radices, direct odd radices and Bluestein, even n_fft whose half is not a multiple of 8 or 16
// (the framing's vector paths and their tails), frames at the reflect-padded edges, clips of different lengths in
// one batch, and finish lengths that are not a multiple of any vector width.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "tessera/core.h"
#include "tessera/spectrogram.h"

static int g_fail = 0;
static std::mt19937_64 g_rng(4321);

static void check_close(const char *what, const std::vector<float> &got, const std::vector<double> &ref, double tol) {
  double num = 0, den = 0, worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(got[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    if (!(std::fabs(d) <= worst)) worst = std::fabs(d);
  }
  const double rel = std::sqrt(num / (den > 0 ? den : 1));
  if (!(rel <= tol)) {
    ++g_fail;
    std::printf("FAIL %s: relative error %.3g > %.3g (max abs %.3g)\n", what, rel, tol, worst);
  }
}

static std::vector<float> randn(int64_t n) {
  std::normal_distribution<double> d(0.0, 0.3);
  std::vector<float> v(n);
  for (auto &x : v) x = static_cast<float>(d(g_rng));
  return v;
}

// X_k of a real sequence in double, k = 0 .. n/2 (the n roots of unity computed once per length)
static void dft(const double *x, int64_t n, std::vector<double> &re, std::vector<double> &im) {
  static std::vector<double> cs, sn;
  if (static_cast<int64_t>(cs.size()) != n) {
    cs.resize(n);
    sn.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      const double a = -2.0 * M_PI * static_cast<double>(i) / static_cast<double>(n);
      cs[i] = std::cos(a);
      sn[i] = std::sin(a);
    }
  }
  const int64_t bins = n / 2 + 1;
  re.assign(bins, 0.0);
  im.assign(bins, 0.0);
  for (int64_t k = 0; k < bins; ++k) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t i = (j * k) % n;
      re[k] += x[j] * cs[i];
      im[k] += x[j] * sn[i];
    }
  }
}

static void test_rfft(int64_t n, int64_t rows) {
  const std::vector<float> x = randn(rows * n);
  std::vector<float> out(rows * (n / 2 + 1) * 2);
  if (tsr_cpu_rfft_f32(x.data(), out.data(), rows, n) != 0) {
    ++g_fail;
    std::printf("FAIL rfft n=%lld: status\n", static_cast<long long>(n));
    return;
  }
  std::vector<double> ref, re, im, xd(n);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) xd[j] = x[r * n + j];
    dft(xd.data(), n, re, im);
    for (size_t k = 0; k < re.size(); ++k) {
      ref.push_back(re[k]);
      ref.push_back(im[k]);
    }
  }
  char what[64];
  std::snprintf(what, sizeof what, "rfft n=%lld", static_cast<long long>(n));
  check_close(what, out, ref, 1e-6);
}

// One STFT configuration: the power spectrum alone and the fused mel spectrogram, two clips of different lengths.
static void test_stft(int64_t n_fft, int64_t hop, int center, int power) {
  const int64_t sig_len = 37 * hop + 2 * n_fft + 11, stride = sig_len + 5;
  const int64_t lengths[2] = {sig_len, sig_len - 3 * hop - 7};  // the second zero-padded to sig_len
  const int64_t pad = center ? n_fft / 2 : 0;
  const int64_t n_frames = 1 + (sig_len + 2 * pad - n_fft) / hop;
  const int64_t bins = n_fft / 2 + 1, n_mels = 7;
  const std::vector<float> x = randn(2 * stride);
  std::vector<float> win(n_fft);
  for (int64_t j = 0; j < n_fft; ++j) win[j] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * j / n_fft));
  // banded non-negative filters (zeros outside each band, as a mel filterbank)
  std::vector<float> filt(n_mels * bins, 0.0f);
  std::uniform_real_distribution<double> u(0.1, 1.0);
  for (int64_t m = 0; m < n_mels; ++m) {
    const int64_t lo = m * bins / (n_mels + 1), hi = (m + 2) * bins / (n_mels + 1) + 1;
    for (int64_t k = lo; k < hi && k < bins; ++k) filt[m * bins + k] = static_cast<float>(u(g_rng));
  }
  std::vector<float> spec(2 * n_frames * bins), mel(2 * n_mels * n_frames);
  const int s1 = tsr_cpu_stft_power_f32(x.data(), 2, stride, lengths, sig_len, n_fft, hop, win.data(), center,
                                        n_frames, power, spec.data());
  const int s2 = tsr_cpu_mel_spectrogram_f32(x.data(), 2, stride, lengths, sig_len, n_fft, hop, win.data(), center,
                                             n_frames, power, filt.data(), n_mels, mel.data());
  if (s1 != 0 || s2 != 0) {
    ++g_fail;
    std::printf("FAIL stft n_fft=%lld: status %d / %d\n", static_cast<long long>(n_fft), s1, s2);
    return;
  }
  std::vector<double> ref_spec, ref_mel(2 * n_mels * n_frames, 0.0), frame(n_fft), re, im;
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t t = 0; t < n_frames; ++t) {
      for (int64_t j = 0; j < n_fft; ++j) {
        int64_t i = t * hop - pad + j;
        if (i < 0) i = -i;
        if (i >= sig_len) i = 2 * (sig_len - 1) - i;
        frame[j] = (i < lengths[b] ? static_cast<double>(x[b * stride + i]) : 0.0) * win[j];
      }
      dft(frame.data(), n_fft, re, im);
      for (int64_t k = 0; k < bins; ++k) {
        const double p = re[k] * re[k] + im[k] * im[k];
        const double v = power == 2 ? p : std::sqrt(p);
        ref_spec.push_back(v);
        for (int64_t m = 0; m < n_mels; ++m) ref_mel[(b * n_mels + m) * n_frames + t] += filt[m * bins + k] * v;
      }
    }
  }
  char what[96];
  std::snprintf(what, sizeof what, "stft power n_fft=%lld hop=%lld center=%d power=%d", static_cast<long long>(n_fft),
                static_cast<long long>(hop), center, power);
  check_close(what, spec, ref_spec, 2e-6);
  std::snprintf(what, sizeof what, "mel n_fft=%lld hop=%lld center=%d power=%d", static_cast<long long>(n_fft),
                static_cast<long long>(hop), center, power);
  check_close(what, mel, ref_mel, 2e-6);
}

// Whisper's finish on two clips of per_clip values: log10 with a floor, clamp to the clip's max - 8, (y + 4) / 4.
static void test_finish(int64_t per_clip) {
  std::vector<float> x(2 * per_clip);
  std::uniform_real_distribution<double> e(-14.0, 3.0);
  for (auto &v : x) v = static_cast<float>(std::pow(10.0, e(g_rng)));  // many below the floor and the clamp
  std::vector<float> out(x.size());
  if (tsr_cpu_log_mel_finish_f32(x.data(), out.data(), 2, per_clip, 1e-10f, 1, 8.0f, 4.0f, 0.25f) != 0) {
    ++g_fail;
    std::printf("FAIL finish: status\n");
    return;
  }
  std::vector<double> ref(x.size());
  for (int64_t b = 0; b < 2; ++b) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < per_clip; ++i) {
      ref[b * per_clip + i] = std::log10(std::max(static_cast<double>(x[b * per_clip + i]), 1e-10));
      mx = std::max(mx, ref[b * per_clip + i]);
    }
    for (int64_t i = 0; i < per_clip; ++i) ref[b * per_clip + i] = (std::max(ref[b * per_clip + i], mx - 8) + 4) / 4;
  }
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(out[i] - ref[i]));
  if (!(worst <= 2e-6)) {
    ++g_fail;
    std::printf("FAIL finish per_clip=%lld: max abs error %.3g\n", static_cast<long long>(per_clip), worst);
  }
  // a NaN reaches its own value and, through the clip's maximum, the clip
  x[per_clip + per_clip / 2] = NAN;
  tsr_cpu_log_mel_finish_f32(x.data(), out.data(), 2, per_clip, 1e-10f, 1, 8.0f, 4.0f, 0.25f);
  if (!std::isnan(out[per_clip + per_clip / 2]) || std::isnan(out[0])) {
    ++g_fail;
    std::printf("FAIL finish per_clip=%lld: NaN not propagated to its clip only\n", static_cast<long long>(per_clip));
  }
}

int main() {
  std::printf("spectrogram kernels, ISA %s\n", tsr_cpu_simd());
  for (int64_t n : {1, 2, 3, 5, 12, 18, 97, 127, 400, 402, 1000, 2 * 3 * 5 * 7 * 11, 4099}) test_rfft(n, 19);
  test_stft(400, 160, 1, 2);  // Whisper's
  test_stft(402, 97, 1, 2);   // half 201: a tail after the 8- and 16-wide blocks
  test_stft(18, 7, 1, 1);     // half 9, magnitude
  test_stft(512, 128, 0, 2);  // radix 4 / 2, no centring
  test_stft(257, 100, 1, 2);  // odd prime: Bluestein, no half-length transform
  test_stft(63, 20, 0, 1);    // odd, direct radices 3 and 7
  test_stft(134, 50, 1, 2);   // even, half 67: a prime above the direct radices, Bluestein on the half-length FFT
  for (int64_t n : {1, 7, 16, 33, 3000 * 80 + 5}) test_finish(n);
  if (g_fail) {
    std::printf("%d check(s) failed\n", g_fail);
    return 1;
  }
  std::printf("all spectrogram checks passed\n");
  return 0;
}
