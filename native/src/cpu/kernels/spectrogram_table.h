// Per-ISA table of the spectrogram kernels (src/cpu/kernels/spectrogram_kernels.cpp, compiled once per
// ISA like the core kernels) and the FFT plans they run. Plans are built once per length by
// src/cpu/spectrogram.cpp (twiddles in double, stored as float) and are read-only afterwards.
//
// Data layout inside the kernels: kSpecLanes transforms run side by side ("lanes"), structure of
// arrays: element i of lane l is at re[i * kSpecLanes + l] / im[i * kSpecLanes + l]. Every butterfly is
// then a loop over the lanes, which GCC vectorises at the ISA's width without intrinsics.
#ifndef TESSERA_SRC_CPU_KERNELS_SPECTROGRAM_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_SPECTROGRAM_TABLE_H

#include <cstdint>
#include <vector>

namespace tsr {

constexpr int kSpecLanes = 16;
// Largest odd prime radix run directly (O(p^2) butterfly); larger primes go through Bluestein.
constexpr int kFftMaxDirectRadix = 61;

// One Stockham stage: radix r, ns = product of the radices before it. tw[k * r + q] = e^{-2 pi i k q /
// (ns r)} for k < ns, q < r.
struct FftStage {
  int radix;
  int64_t ns;
  std::vector<float> tw_re, tw_im;
};

// Forward complex DFT of length n (natural order in and out).
struct ComplexFftPlan {
  int64_t n = 0;
  std::vector<FftStage> stages;
  // roots_re/im[p][q] = e^{-2 pi i q / p} for the generic odd radices (indexed by p; empty if unused).
  std::vector<std::vector<float>> roots_re, roots_im;
  // Bluestein (n has a prime factor > kFftMaxDirectRadix): chirp w_j = e^{-i pi j^2 / n} (j < n), the
  // power-of-two plan of length m >= 2n - 1, and FFT_m(b) / m of b_j = conj(w_|j|) (circular).
  bool bluestein = false;
  int64_t m = 0;
  const ComplexFftPlan *sub = nullptr;
  std::vector<float> chirp_re, chirp_im, bfft_re, bfft_im;
  // Complex elements each of the two work buffers must hold: n, or m for Bluestein.
  int64_t capacity = 0;
};

// Forward real DFT of length n: bins 0 .. n/2. Even n: complex FFT of n/2 points (z_j = x_2j + i x_2j+1)
// and the split post-pass with post[k] = e^{-2 pi i k / n}; odd n: complex FFT of n points.
struct RealFftPlan {
  int64_t n = 0;
  bool half = false;
  const ComplexFftPlan *cplx = nullptr;
  std::vector<float> post_re, post_im;
  int64_t bins() const { return n / 2 + 1; }
  // Floats of scratch one call of a kernel below needs for one block of lanes.
  int64_t scratch_floats() const { return (4 * cplx->capacity + 2 * bins()) * kSpecLanes; }
};

// Frames of one clip (see include/tessera/spectrogram.h for the semantics).
struct StftArgs {
  const float *x;       // the clip's first sample
  int64_t len;          // samples present (the rest up to sig_len are zeros)
  int64_t sig_len;
  int64_t n_fft, hop, pad;  // pad = n_fft / 2 when centred, else 0
  const float *window;  // n_fft values
  int power;            // 1 or 2
  const RealFftPlan *plan;
  // Output: either the spectrum out_spec[n_frames, bins] or, if filters != nullptr, the mel
  // projection out_mel[n_mels, n_frames] with the band [band_lo[m], band_hi[m]) of each filter row.
  int64_t n_frames;
  float *out_spec;
  const float *filters;
  const int32_t *band_lo, *band_hi;
  int64_t n_mels;
  float *out_mel;
};

struct SpectrogramKernels {
  const char *name;
  // rows [0, rows) of x[rows, n] -> out[rows, n/2+1, 2]; scratch: plan.scratch_floats() floats.
  void (*rfft_rows)(const RealFftPlan &plan, const float *x, float *out, int64_t rows, float *scratch);
  // frames [t0, t1) of one clip (t1 - t0 any size; done kSpecLanes at a time).
  void (*stft_frames)(const StftArgs &a, int64_t t0, int64_t t1, float *scratch);
  // y[i] = do_log ? log10(max(x[i], floor)) : x[i]; returns max y (NaN if any y is NaN; -inf if n = 0).
  float (*log_max)(const float *x, float *y, int64_t n, float floor, int do_log);
  // y[i] = (max(y[i], lo) + add) * mul (lo = -inf: no clamp; NaN y stays NaN).
  void (*clamp_scale)(float *y, int64_t n, float lo, float add, float mul);
};

namespace isa_scalar {
const SpectrogramKernels &spectrogram_kernels();
}
#if defined(__x86_64__) || defined(_M_X64)
namespace isa_avx2 {
const SpectrogramKernels &spectrogram_kernels();
}
namespace isa_avx512 {
const SpectrogramKernels &spectrogram_kernels();
}
#endif

}  // namespace tsr

#endif
