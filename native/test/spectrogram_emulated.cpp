// Runs the CUDA kernels of the log-mel path (native/src/cuda/spectrogram.cuh: framing, power, the filter rows' spans
// and the fused power + mel projection) on the CPU and checks them against references written here: framing exact
// (reflect padding, clip lengths, window), the mel sums against float64 dense sums over every column (so a span that
// left out a non-zero filter value would show), on odd sizes: frame counts that are not multiples of the 32-frame
// tile, 1 to 372 bins, filter rows all zero / dense / with a NaN, power 1 and 2, grids smaller than the work (their
// grid-stride loops), output sentinels, shared memory past the launch's size untouched. For build machines without
// a GPU (ctest runs it: native/CMakeLists.txt); on a GPU, runtime's CudaLogMelTest checks the whole path against the
// CPU backend. The log / clamp kernels (unchanged, block-wide reductions) are left to CudaLogMelTest.
//
//   g++ -std=c++20 -O1 -pthread -fsanitize=address,undefined -I native/include -I native/src \
//       native/test/spectrogram_emulated.cpp -o /tmp/spectrogram_emulated && /tmp/spectrogram_emulated
//
// Each block runs as 256 std::threads (cuda_emulation.h).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tessera/spectrogram.h"

// ---------------------------------------------------------------------------- CUDA shims
#include "cuda_emulation.h"

struct alignas(8) float2 {
  float x, y;
};
inline dim3 blockDim;

namespace tsr {
namespace cuda {
inline int64_t global_tid() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
}  // namespace cuda
}  // namespace tsr

#include "cuda/spectrogram.cuh"

namespace tsr {
namespace cuda {
namespace spec {
float mel_sm[kMelMaxBins * kMelPitch + 256];  // the kernel's `extern __shared__`, with room past the largest launch
}  // namespace spec
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda::spec;

namespace {

int failures = 0;

void report(bool ok, const std::string &what) {
  std::printf("%-4s %s\n", ok ? "ok" : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

// Runs `kernel()` on a grid of `blocks` blocks of `threads` threads (emu::run_grid: shared memory filled with 0xff
// bytes, NaN as floats, before each block; false when a block changed a byte past `smem_floats`).
template <typename Kernel>
bool launch(unsigned blocks, unsigned threads, size_t smem_floats, Kernel kernel) {
  gridDim = {blocks, 1, 1};
  blockDim = {threads, 1, 1};
  bool past = false;
  emu::run_grid(
      reinterpret_cast<unsigned char *>(mel_sm), sizeof(mel_sm), smem_floats * sizeof(float),
      [&](unsigned x, unsigned y, unsigned z) { emu::run_block(x, y, z, kernel, static_cast<int>(threads)); },
      [&] { past = true; });
  return !past;
}

// Whether a guard value either side of a buffer (`guard` floats of 1234 each) was overwritten; says so.
int guards_changed(const std::vector<float> &buf, int64_t guard, const char *name) {
  for (int64_t i = 0; i < guard; ++i)
    if (buf[i] != 1234.0f || buf[buf.size() - 1 - i] != 1234.0f) {
      std::printf("  %s: write outside the output\n", name);
      return 1;
    }
  return 0;
}

// ---------------------------------------------------------------------------- framing

void framing_case(const char *name, int64_t batch, int64_t x_stride, std::vector<int64_t> lengths, int64_t sig_len,
                  int64_t n_fft, int64_t hop, bool center, unsigned blocks, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(batch * x_stride)), window(static_cast<size_t>(n_fft));
  for (auto &v : x) v = U(rng);
  for (auto &v : window) v = U(rng);
  const int64_t pad = center ? n_fft / 2 : 0;
  const int64_t n_frames = 1 + (sig_len + 2 * pad - n_fft) / hop;
  constexpr int64_t kGuard = 64;
  std::vector<float> buf(static_cast<size_t>(batch * n_frames * n_fft + 2 * kGuard), 1234.0f);
  float *frames = buf.data() + kGuard;
  const int64_t *len = lengths.empty() ? nullptr : lengths.data();
  const bool smem_ok = launch(blocks, kFrameThreads, 0, [&] {
    stft_frames_kernel(x.data(), batch, x_stride, len, sig_len, n_fft, hop, pad, window.data(), n_frames, frames);
  });
  int64_t bad = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t l = len ? len[b] : std::min(x_stride, sig_len);
    for (int64_t t = 0; t < n_frames; ++t)
      for (int64_t j = 0; j < n_fft; ++j) {
        int64_t i = t * hop - pad + j;
        if (i < 0) i = -i;
        if (i >= sig_len) i = 2 * (sig_len - 1) - i;
        const float want = (i < l ? x[b * x_stride + i] : 0.0f) * window[j];
        const float got = frames[(b * n_frames + t) * n_fft + j];
        if (std::memcmp(&want, &got, 4) != 0 && bad++ < 3)
          std::printf("  %s: clip %lld frame %lld sample %lld = %g, want %g\n", name, (long long)b, (long long)t,
                      (long long)j, got, want);
      }
  }
  bad += guards_changed(buf, kGuard, name);
  char what[256];
  std::snprintf(what, sizeof what, "frames %s: batch %lld, %lld frames of %lld (hop %lld%s), %u blocks: %lld wrong",
                name, (long long)batch, (long long)n_frames, (long long)n_fft, (long long)hop,
                center ? ", centred" : "", blocks, (long long)bad);
  report(bad == 0 && smem_ok, what);
}

// ---------------------------------------------------------------------------- power and mel

// A filterbank of n_mels rows over bins columns: triangles of random width at random places (a mel filterbank's
// shape), plus, where told, a row of zeros, a dense row and a row holding a NaN.
std::vector<float> filterbank(int n_mels, int bins, bool specials, std::mt19937_64 &rng) {
  std::uniform_real_distribution<float> U(0.0f, 1.0f);
  std::vector<float> f(static_cast<size_t>(n_mels) * bins, 0.0f);
  for (int m = 0; m < n_mels; ++m) {
    const int lo = static_cast<int>(rng() % bins), w = 1 + static_cast<int>(rng() % 12);
    for (int k = lo; k < std::min(bins, lo + w); ++k) f[static_cast<size_t>(m) * bins + k] = 0.1f + U(rng);
  }
  if (specials && n_mels >= 4) {
    std::fill(f.begin(), f.begin() + bins, 0.0f);                                    // row 0: zeros
    for (int k = 0; k < bins; ++k) f[static_cast<size_t>(1) * bins + k] = U(rng);  // row 1: dense
    f[static_cast<size_t>(2) * bins + bins / 2] = NAN;                              // row 2: a NaN
    if (bins > 2) f[static_cast<size_t>(3) * bins + bins - 1] = 0.5f;                // row 3: the last column
  }
  return f;
}

void mel_case(const char *name, int64_t batch, int64_t n_frames, int bins, int n_mels, int power, bool specials,
              unsigned blocks, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> N(0.0f, 3.0f);
  std::vector<float2> spec(static_cast<size_t>(batch * n_frames * bins));
  for (auto &c : spec) c = {N(rng), N(rng)};
  const std::vector<float> filters = filterbank(n_mels, bins, specials, rng);
  std::vector<int32_t> bands(static_cast<size_t>(2 * n_mels), -7);
  constexpr int64_t kGuard = 64;
  std::vector<float> buf(static_cast<size_t>(batch * n_mels * n_frames + 2 * kGuard), 1234.0f);
  float *out = buf.data() + kGuard;

  launch(1, 64, 0, [&] { mel_bands_kernel(filters.data(), n_mels, bins, bands.data()); });
  int bad_bands = 0;
  for (int m = 0; m < n_mels; ++m) {
    int lo = -1, hi = -1;
    for (int k = 0; k < bins; ++k)
      if (filters[static_cast<size_t>(m) * bins + k] != 0.0f) {
        if (lo < 0) lo = k;
        hi = k + 1;
      }
    if (lo < 0) lo = hi = bands[2 * m];  // an empty span: any lo = hi
    if (bands[2 * m] != lo || bands[2 * m + 1] != hi || bands[2 * m] > bands[2 * m + 1]) ++bad_bands;
  }

  const bool smem_ok = launch(blocks, kMelThreads, static_cast<size_t>(bins) * kMelPitch, [&] {
    mel_power_kernel(spec.data(), batch, n_frames, bins, power, filters.data(), n_mels, bands.data(), out);
  });
  int64_t bad = 0;
  double worst = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int m = 0; m < n_mels; ++m)
      for (int64_t t = 0; t < n_frames; ++t) {
        double want = 0, scale = 0;
        bool nan = false;
        for (int k = 0; k < bins; ++k) {
          const double fv = filters[static_cast<size_t>(m) * bins + k];
          if (fv == 0.0) continue;  // a zero weight times a finite power adds nothing
          const float2 c = spec[static_cast<size_t>((b * n_frames + t) * bins + k)];
          double p = static_cast<double>(c.x) * c.x + static_cast<double>(c.y) * c.y;
          if (power == 1) p = std::sqrt(p);
          if (std::isnan(fv)) nan = true;
          want += fv * p;
          scale += std::fabs(fv * p);
        }
        const float got = out[(b * n_mels + m) * n_frames + t];
        const double err = nan ? (std::isnan(got) ? 0.0 : INFINITY) : std::fabs(got - want) / (scale > 0 ? scale : 1);
        if (!(err <= 2e-6)) {
          if (bad++ < 3)
            std::printf("  %s: clip %lld mel %d frame %lld = %.9g, want %.9g\n", name, (long long)b, m, (long long)t,
                        got, want);
        } else if (err > worst) {
          worst = err;
        }
      }
  bad += guards_changed(buf, kGuard, name);
  char what[320];
  std::snprintf(what, sizeof what,
                "mel %s: batch %lld, %lld frames, %d bins, %d mels, power %d, %u blocks: %lld wrong, %d bad spans, "
                "worst rel %.2e%s",
                name, (long long)batch, (long long)n_frames, bins, n_mels, power, blocks, (long long)bad, bad_bands,
                worst, smem_ok ? "" : ", SHARED MEMORY WRITTEN PAST THE LAUNCH'S SIZE");
  report(bad == 0 && bad_bands == 0 && smem_ok, what);
}

void power_case(int64_t count, int power, unsigned blocks) {
  std::mt19937_64 rng(count * 7 + power);
  std::normal_distribution<float> N(0.0f, 2.0f);
  std::vector<float2> c(static_cast<size_t>(count));
  for (auto &v : c) v = {N(rng), N(rng)};
  std::vector<float> out(static_cast<size_t>(count) + 1, 1234.0f);
  launch(blocks, 64, 0, [&] { power_kernel(c.data(), out.data(), count, power); });
  int64_t bad = 0;
  for (int64_t i = 0; i < count; ++i) {
    const float p = c[i].x * c[i].x + c[i].y * c[i].y;
    const float want = power == 1 ? std::sqrt(p) : p;
    if (out[i] != want) ++bad;
  }
  if (out[count] != 1234.0f) ++bad;
  char what[128];
  std::snprintf(what, sizeof what, "power %d of %lld values, %u blocks: %lld wrong", power, (long long)count, blocks,
                (long long)bad);
  report(bad == 0, what);
}

}  // namespace

int main() {
  // Whisper's framing on clips of other lengths (zeros past each, reflect padding at both ends); a grid of 2 blocks
  // (16 warps) walks the 21 frames in a loop
  framing_case("whisper", 3, 1000, {1000, 777, 301}, 1000, 400, 160, true, 2, 1);
  framing_case("whisper one block", 2, 1000, {}, 1000, 400, 160, true, 1, 2);
  // uncentred, the clip shorter than the signal (zeros past x_stride), n_fft not a multiple of 32
  framing_case("uncentred n_fft 33", 2, 500, {}, 640, 33, 17, false, 3, 3);
  framing_case("n_fft 64 hop 1", 1, 100, {61}, 100, 64, 1, true, 5, 4);
  framing_case("n_fft 1", 2, 9, {}, 9, 1, 2, false, 1, 5);

  // the log-mel shapes: Whisper's 201 bins x 80 / 128 mels, 75 frames (two tiles and a part of 11), one block
  // taking every tile in turn and a grid with as many blocks as tiles
  mel_case("whisper 80", 2, 75, 201, 80, 2, true, 1, 11);
  mel_case("whisper 128", 1, 75, 201, 128, 2, true, 3, 12);
  mel_case("magnitude", 2, 33, 201, 40, 1, true, 2, 13);
  mel_case("largest spectrum", 1, 40, static_cast<int>(kMelMaxBins), 64, 2, true, 2, 14);
  mel_case("one bin", 3, 5, 1, 3, 2, false, 2, 15);
  mel_case("one mel", 2, 32, 201, 1, 2, false, 2, 16);
  mel_case("one frame", 1, 1, 65, 9, 1, true, 1, 17);
  mel_case("fewer mels than warps", 2, 70, 129, 5, 2, true, 4, 18);

  power_case(1000, 2, 3);
  power_case(333, 1, 1);

  std::printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
