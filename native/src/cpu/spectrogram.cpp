// extern "C" CPU entry points of tessera/spectrogram.h: argument fence (the second one, after Java's),
// FFT plan building and caching, ISA selection (by tsr_cpu_simd(), once) and the split of the work
// over the thread pool. The loops themselves are in kernels/spectrogram_kernels.cpp.
#include <cmath>
#include <complex>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/error.h"
#include "kernels/spectrogram_table.h"
#include "tessera/spectrogram.h"
#include "tessera/tessera.h"
#include "isa_select.h"
#include "threadpool.h"

namespace tsr {
namespace {


using ll = long long;

const SpectrogramKernels &K() {
  static const SpectrogramKernels &k = TSR_ISA_TABLE(SpectrogramKernels, spectrogram_kernels);
  return k;
}

// ---------------------------------------------------------------- plans

constexpr double kPi = 3.14159265358979323846;

// In-place double precision radix-2 FFT (n a power of two); used once per Bluestein plan.
void fft_pow2_double(std::vector<std::complex<double>> &a) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    for (size_t k = 0; k < len / 2; ++k) {
      const double ang = -2.0 * kPi * static_cast<double>(k) / static_cast<double>(len);
      const std::complex<double> w(std::cos(ang), std::sin(ang));
      for (size_t i = 0; i < n; i += len) {
        const std::complex<double> u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
      }
    }
  }
}

std::mutex g_plan_mu;
std::map<int64_t, std::unique_ptr<ComplexFftPlan>> g_complex;
std::map<int64_t, std::unique_ptr<RealFftPlan>> g_real;

const ComplexFftPlan *complex_plan_locked(int64_t n) {
  auto it = g_complex.find(n);
  if (it != g_complex.end()) return it->second.get();
  auto plan = std::make_unique<ComplexFftPlan>();
  plan->n = n;
  plan->capacity = n;
  std::vector<int> radices;
  int64_t rem = n;
  while (rem % 4 == 0) radices.push_back(4), rem /= 4;
  while (rem % 2 == 0) radices.push_back(2), rem /= 2;
  for (int p = 3; rem > 1 && static_cast<int64_t>(p) * p <= rem; p += 2) {
    while (rem % p == 0) radices.push_back(p), rem /= p;
  }
  if (rem > 1) radices.push_back(rem > kFftMaxDirectRadix ? -1 : static_cast<int>(rem));
  bool blue = false;
  for (int r : radices) blue = blue || r < 0 || r > kFftMaxDirectRadix;
  if (blue) {
    int64_t m = 1;
    while (m < 2 * n - 1) m <<= 1;
    plan->bluestein = true;
    plan->m = m;
    plan->capacity = m;
    plan->sub = complex_plan_locked(m);
    plan->chirp_re.resize(n);
    plan->chirp_im.resize(n);
    std::vector<std::complex<double>> b(m, std::complex<double>(0.0, 0.0));
    for (int64_t j = 0; j < n; ++j) {
      const int64_t jj = static_cast<int64_t>((static_cast<unsigned __int128>(j) * j) % (2 * n));
      const double ang = kPi * static_cast<double>(jj) / static_cast<double>(n);
      plan->chirp_re[j] = static_cast<float>(std::cos(ang));
      plan->chirp_im[j] = static_cast<float>(-std::sin(ang));
      const std::complex<double> cw(std::cos(ang), std::sin(ang));  // conj(w_j)
      b[j] = cw;
      if (j > 0) b[m - j] = cw;
    }
    fft_pow2_double(b);
    plan->bfft_re.resize(m);
    plan->bfft_im.resize(m);
    for (int64_t j = 0; j < m; ++j) {
      plan->bfft_re[j] = static_cast<float>(b[j].real() / static_cast<double>(m));
      plan->bfft_im[j] = static_cast<float>(b[j].imag() / static_cast<double>(m));
    }
  } else {
    plan->roots_re.resize(kFftMaxDirectRadix + 1);
    plan->roots_im.resize(kFftMaxDirectRadix + 1);
    int64_t ns = 1;
    for (int r : radices) {
      FftStage st;
      st.radix = r;
      st.ns = ns;
      const int64_t len = ns * r;
      st.tw_re.resize(len);
      st.tw_im.resize(len);
      for (int64_t k = 0; k < ns; ++k) {
        for (int q = 0; q < r; ++q) {
          const double ang = -2.0 * kPi * static_cast<double>((k * q) % len) / static_cast<double>(len);
          st.tw_re[k * r + q] = static_cast<float>(std::cos(ang));
          st.tw_im[k * r + q] = static_cast<float>(std::sin(ang));
        }
      }
      if (r > 5 && plan->roots_re[r].empty()) {
        plan->roots_re[r].resize(r);
        plan->roots_im[r].resize(r);
        for (int q = 0; q < r; ++q) {
          const double ang = -2.0 * kPi * q / r;
          plan->roots_re[r][q] = static_cast<float>(std::cos(ang));
          plan->roots_im[r][q] = static_cast<float>(std::sin(ang));
        }
      }
      plan->stages.push_back(std::move(st));
      ns = len;
    }
  }
  const ComplexFftPlan *out = plan.get();
  g_complex.emplace(n, std::move(plan));
  return out;
}

const RealFftPlan *real_plan(int64_t n) {
  std::lock_guard<std::mutex> lock(g_plan_mu);
  auto it = g_real.find(n);
  if (it != g_real.end()) return it->second.get();
  auto plan = std::make_unique<RealFftPlan>();
  plan->n = n;
  plan->half = n % 2 == 0;
  plan->cplx = complex_plan_locked(plan->half ? n / 2 : n);
  if (plan->half) {
    const int64_t h = n / 2;
    plan->post_re.resize(h + 1);
    plan->post_im.resize(h + 1);
    for (int64_t k = 0; k <= h; ++k) {
      const double ang = -2.0 * kPi * static_cast<double>(k) / static_cast<double>(n);
      plan->post_re[k] = static_cast<float>(std::cos(ang));
      plan->post_im[k] = static_cast<float>(std::sin(ang));
    }
  }
  const RealFftPlan *out = plan.get();
  g_real.emplace(n, std::move(plan));
  return out;
}

// ---------------------------------------------------------------- STFT driver

struct StftCall {
  const float *x;
  int64_t batch, x_stride;
  const int64_t *lengths;
  int64_t sig_len, n_fft, hop;
  const float *window;
  int center;
  int64_t n_frames;
  int power;
  const float *filters;
  int64_t n_mels;
  float *out;
};

int check_stft(const char *fn, const StftCall &c) {
  TSR_CHECK(c.x && c.window && c.out, "%s: null pointer", fn);
  TSR_CHECK(c.batch >= 0 && c.x_stride >= 0 && c.sig_len >= 1, "%s: bad sizes batch=%lld x_stride=%lld sig_len=%lld",
                 fn, (ll)c.batch, (ll)c.x_stride, (ll)c.sig_len);
  TSR_CHECK(c.n_fft >= 1 && c.n_fft <= TSR_FFT_MAX_N, "%s: n_fft=%lld outside [1, %d]", fn, (ll)c.n_fft,
                 TSR_FFT_MAX_N);
  TSR_CHECK(c.hop >= 1, "%s: hop=%lld < 1", fn, (ll)c.hop);
  TSR_CHECK(c.power == 1 || c.power == 2, "%s: power=%d (1 or 2)", fn, c.power);
  const int64_t pad = c.center ? c.n_fft / 2 : 0;
  if (c.center) {
    TSR_CHECK(c.sig_len > pad, "%s: sig_len=%lld must exceed n_fft/2=%lld for reflect padding", fn,
                   (ll)c.sig_len, (ll)pad);
  }
  TSR_CHECK(c.sig_len + 2 * pad >= c.n_fft, "%s: sig_len=%lld shorter than n_fft=%lld", fn, (ll)c.sig_len,
                 (ll)c.n_fft);
  const int64_t max_frames = 1 + (c.sig_len + 2 * pad - c.n_fft) / c.hop;
  TSR_CHECK(c.n_frames >= 0 && c.n_frames <= max_frames, "%s: n_frames=%lld outside [0, %lld]", fn,
                 (ll)c.n_frames, (ll)max_frames);
  for (int64_t b = 0; c.lengths && b < c.batch; ++b) {
    TSR_CHECK(c.lengths[b] >= 0 && c.lengths[b] <= c.x_stride && c.lengths[b] <= c.sig_len,
                   "%s: lengths[%lld]=%lld outside [0, min(x_stride=%lld, sig_len=%lld)]", fn, (ll)b,
                   (ll)c.lengths[b], (ll)c.x_stride, (ll)c.sig_len);
  }
  if (c.filters) TSR_CHECK(c.n_mels >= 1, "%s: n_mels=%lld < 1", fn, (ll)c.n_mels);
  return TSR_OK;
}

int run_stft(const StftCall &c) {
  if (c.batch == 0 || c.n_frames == 0) return TSR_OK;
  const RealFftPlan *plan = real_plan(c.n_fft);
  const int64_t bins = plan->bins();
  std::vector<int32_t> lo, hi;
  if (c.filters) {
    lo.assign(c.n_mels, 0);
    hi.assign(c.n_mels, 0);
    for (int64_t m = 0; m < c.n_mels; ++m) {
      const float *f = c.filters + m * bins;
      int64_t a = 0, e = bins;
      while (a < bins && f[a] == 0.0f) ++a;
      while (e > a && f[e - 1] == 0.0f) --e;
      lo[m] = static_cast<int32_t>(a);
      hi[m] = static_cast<int32_t>(e);
    }
  }
  const int64_t blocks = (c.n_frames + kSpecLanes - 1) / kSpecLanes;
  const int64_t items = c.batch * blocks;
  const int64_t scratch_n = plan->scratch_floats();
  const SpectrogramKernels &k = K();
  // about 2 blocks per task for n_fft 400; fewer for long transforms
  const int64_t grain = c.n_fft >= 4096 ? 1 : 2;
  parallel_for(items, grain, [&](int64_t i0, int64_t i1) {
    std::vector<float> scratch(static_cast<size_t>(scratch_n));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / blocks, blk = i % blocks;
      StftArgs a;
      a.x = c.x + b * c.x_stride;
      a.len = c.lengths ? c.lengths[b] : (c.x_stride < c.sig_len ? c.x_stride : c.sig_len);
      a.sig_len = c.sig_len;
      a.n_fft = c.n_fft;
      a.hop = c.hop;
      a.pad = c.center ? c.n_fft / 2 : 0;
      a.window = c.window;
      a.power = c.power;
      a.plan = plan;
      a.n_frames = c.n_frames;
      a.filters = c.filters;
      a.band_lo = lo.data();
      a.band_hi = hi.data();
      a.n_mels = c.n_mels;
      a.out_spec = c.filters ? nullptr : c.out + b * c.n_frames * bins;
      a.out_mel = c.filters ? c.out + b * c.n_mels * c.n_frames : nullptr;
      const int64_t t0 = blk * kSpecLanes;
      const int64_t t1 = t0 + kSpecLanes < c.n_frames ? t0 + kSpecLanes : c.n_frames;
      k.stft_frames(a, t0, t1, scratch.data());
    }
  });
  return TSR_OK;
}

}  // namespace
}  // namespace tsr

extern "C" {

int tsr_cpu_rfft_f32(const float *x, float *out, int64_t rows, int64_t n) {
  return tsr::guarded(__func__, [&]() -> int {
    TSR_CHECK(rows >= 0, "tsr_cpu_rfft_f32: rows=%lld < 0", (tsr::ll)rows);
    TSR_CHECK(n >= 1 && n <= TSR_FFT_MAX_N, "tsr_cpu_rfft_f32: n=%lld outside [1, %d]", (tsr::ll)n,
                   TSR_FFT_MAX_N);
    if (rows == 0) return TSR_OK;
    TSR_CHECK(x && out, "tsr_cpu_rfft_f32: null pointer");
    const tsr::RealFftPlan *plan = tsr::real_plan(n);
    const int64_t scratch_n = plan->scratch_floats();
    const tsr::SpectrogramKernels &k = tsr::K();
    const int64_t bins = plan->bins();
    const int64_t blocks = (rows + tsr::kSpecLanes - 1) / tsr::kSpecLanes;
    tsr::parallel_for(blocks, n >= 4096 ? 1 : 4, [&](int64_t b0, int64_t b1) {
      std::vector<float> scratch(static_cast<size_t>(scratch_n));
      const int64_t r0 = b0 * tsr::kSpecLanes;
      const int64_t r1 = b1 * tsr::kSpecLanes < rows ? b1 * tsr::kSpecLanes : rows;
      k.rfft_rows(*plan, x + r0 * n, out + r0 * bins * 2, r1 - r0, scratch.data());
    });
    return TSR_OK;
  });
}

int tsr_cpu_stft_power_f32(const float *x, int64_t batch, int64_t x_stride, const int64_t *lengths, int64_t sig_len,
                           int64_t n_fft, int64_t hop, const float *window, int center, int64_t n_frames, int power,
                           float *out) {
  return tsr::guarded(__func__, [&]() -> int {
    const tsr::StftCall c{x, batch, x_stride, lengths, sig_len, n_fft, hop, window, center, n_frames, power,
                          nullptr, 0, out};
    const int st = tsr::check_stft("tsr_cpu_stft_power_f32", c);
    return st != TSR_OK ? st : tsr::run_stft(c);
  });
}

int tsr_cpu_mel_spectrogram_f32(const float *x, int64_t batch, int64_t x_stride, const int64_t *lengths,
                                int64_t sig_len, int64_t n_fft, int64_t hop, const float *window, int center,
                                int64_t n_frames, int power, const float *filters, int64_t n_mels, float *out) {
  return tsr::guarded(__func__, [&]() -> int {
    TSR_CHECK(filters, "tsr_cpu_mel_spectrogram_f32: null filters");
    const tsr::StftCall c{x, batch, x_stride, lengths, sig_len, n_fft, hop, window, center, n_frames, power,
                          filters, n_mels, out};
    const int st = tsr::check_stft("tsr_cpu_mel_spectrogram_f32", c);
    return st != TSR_OK ? st : tsr::run_stft(c);
  });
}

int tsr_cpu_log_mel_finish_f32(const float *x, float *out, int64_t batch, int64_t per_clip, float floor, int do_log,
                               float clamp_range, float add, float mul) {
  return tsr::guarded(__func__, [&]() -> int {
    TSR_CHECK(batch >= 0 && per_clip >= 0, "tsr_cpu_log_mel_finish_f32: batch=%lld per_clip=%lld",
                   (tsr::ll)batch, (tsr::ll)per_clip);
    if (batch == 0 || per_clip == 0) return TSR_OK;
    TSR_CHECK(x && out, "tsr_cpu_log_mel_finish_f32: null pointer");
    TSR_CHECK(!do_log || (floor >= 1.17549435e-38f && floor < __builtin_inff()),
                   "tsr_cpu_log_mel_finish_f32: floor=%g must be a positive normal float", static_cast<double>(floor));
    const tsr::SpectrogramKernels &k = tsr::K();
    constexpr int64_t kChunk = 1 << 14;
    const int64_t chunks = (per_clip + kChunk - 1) / kChunk;
    std::vector<float> maxes(static_cast<size_t>(chunks));
    for (int64_t b = 0; b < batch; ++b) {
      const float *xb = x + b * per_clip;
      float *ob = out + b * per_clip;
      tsr::parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t s = c * kChunk, e = s + kChunk < per_clip ? s + kChunk : per_clip;
          maxes[c] = k.log_max(xb + s, ob + s, e - s, floor, do_log);
        }
      });
      float lo = -__builtin_inff();
      if (clamp_range > 0.0f) {
        float m = -__builtin_inff();
        bool nan = false;
        for (float v : maxes) {
          nan = nan || v != v;
          m = v > m ? v : m;
        }
        if (nan) {  // torch.maximum(y, NaN) is NaN everywhere
          for (int64_t i = 0; i < per_clip; ++i) ob[i] = __builtin_nanf("");
          continue;
        }
        lo = m - clamp_range;
      }
      tsr::parallel_for(per_clip, 1 << 15, [&](int64_t s, int64_t e) { k.clamp_scale(ob + s, e - s, lo, add, mul); });
    }
    return TSR_OK;
  });
}

}  // extern "C"
