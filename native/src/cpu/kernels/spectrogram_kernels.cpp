// Spectrogram CPU kernels: mixed-radix Stockham FFT (radix 2, 3, 4, 5 and direct odd radices, Bluestein
// for large primes) run on kSpecLanes transforms at once, the real-input split, framing with reflect
// padding and a window, power / magnitude, the banded mel projection, and the log / clamp finish.
// Compiled once per ISA (TSR_ISA_NS); the arithmetic on lanes is written with GCC vectors of the ISA's native width
// (NF below), which compile to the same clean vector code on every ISA where plain lane loops did not; framing
// has AVX-512 / AVX2 versions with register / 8 x 8 transposes. No libm in the hot loops (log10 below is a
// bit-level Cephes-style polynomial).
#include <cstring>

#include "spectrogram_table.h"
#include "vmath.h"

#include "isa_unit.h"

#include "transpose.h"

namespace tsr {
namespace TSR_ISA_NS {
namespace {

constexpr int L = kSpecLanes;
using vm::f2u;
using vm::sel;
using vm::u2f;

// ---------------------------------------------------------------- native vectors

// Vectors of the ISA's native width (kN lanes; L = 16 lanes are L / kN of them), as GCC vector extensions: the lane
// loops written with them vectorise on every ISA. Not one vector of L lanes: GCC lowers a vector wider than the
// machine's piece by piece through memory, or lane by lane for comparisons and selects (on AVX2 that made the
// log / max finish scalar, 42% of a 30 s log-mel), and the float[L] lane loops of the butterflies it vectorised on
// AVX-512 with shuffles through the stack (half the speed of its AVX2 copy).
constexpr int kN = kVecFloats;
constexpr int kH = L / kN;  // native vectors per element of L lanes
static_assert(L % kN == 0, "the transforms' lanes are whole native vectors");
typedef float NF __attribute__((vector_size(kN * sizeof(float))));
typedef int32_t NI __attribute__((vector_size(kN * sizeof(int32_t))));
typedef uint32_t NU __attribute__((vector_size(kN * sizeof(uint32_t))));

inline NF load_nf(const float *p) {
  NF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_nf(float *p, const NF &v) { std::memcpy(p, &v, sizeof v); }

// ---------------------------------------------------------------- butterflies (forward, in place)

// On kN lanes: each value is one native vector.
template <int R>
struct Bfly;

template <>
struct Bfly<2> {
  static inline void run(NF (&vr)[2], NF (&vi)[2]) {
    const NF ar = vr[0], ai = vi[0], br = vr[1], bi = vi[1];
    vr[0] = ar + br;
    vi[0] = ai + bi;
    vr[1] = ar - br;
    vi[1] = ai - bi;
  }
};

template <>
struct Bfly<3> {
  static inline void run(NF (&vr)[3], NF (&vi)[3]) {
    const float s = 0.866025403784438647f;  // sin(2 pi / 3)
    const NF t1r = vr[1] + vr[2], t1i = vi[1] + vi[2];
    const NF t2r = vr[1] - vr[2], t2i = vi[1] - vi[2];
    const NF mr = vr[0] - 0.5f * t1r, mi = vi[0] - 0.5f * t1i;
    const NF nr = s * t2i, ni = -s * t2r;  // -i s t2
    vr[0] += t1r;
    vi[0] += t1i;
    vr[1] = mr + nr;
    vi[1] = mi + ni;
    vr[2] = mr - nr;
    vi[2] = mi - ni;
  }
};

template <>
struct Bfly<4> {
  static inline void run(NF (&vr)[4], NF (&vi)[4]) {
    const NF t0r = vr[0] + vr[2], t0i = vi[0] + vi[2];
    const NF t1r = vr[0] - vr[2], t1i = vi[0] - vi[2];
    const NF t2r = vr[1] + vr[3], t2i = vi[1] + vi[3];
    const NF t3r = vr[1] - vr[3], t3i = vi[1] - vi[3];
    vr[0] = t0r + t2r;
    vi[0] = t0i + t2i;
    vr[2] = t0r - t2r;
    vi[2] = t0i - t2i;
    vr[1] = t1r + t3i;  // t1 - i t3
    vi[1] = t1i - t3r;
    vr[3] = t1r - t3i;  // t1 + i t3
    vi[3] = t1i + t3r;
  }
};

template <>
struct Bfly<5> {
  static inline void run(NF (&vr)[5], NF (&vi)[5]) {
    const float c1 = 0.309016994374947424f, c2 = -0.809016994374947424f;  // cos(2pi/5), cos(4pi/5)
    const float s1 = 0.951056516295153572f, s2 = 0.587785252292473129f;   // sin(2pi/5), sin(4pi/5)
    const NF ar = vr[0], ai = vi[0];
    const NF t1r = vr[1] + vr[4], t1i = vi[1] + vi[4];
    const NF t2r = vr[2] + vr[3], t2i = vi[2] + vi[3];
    const NF t3r = vr[1] - vr[4], t3i = vi[1] - vi[4];
    const NF t4r = vr[2] - vr[3], t4i = vi[2] - vi[3];
    const NF b1r = ar + c1 * t1r + c2 * t2r, b1i = ai + c1 * t1i + c2 * t2i;
    const NF b2r = ar + c2 * t1r + c1 * t2r, b2i = ai + c2 * t1i + c1 * t2i;
    const NF d1r = s1 * t3r + s2 * t4r, d1i = s1 * t3i + s2 * t4i;
    const NF d2r = s2 * t3r - s1 * t4r, d2i = s2 * t3i - s1 * t4i;
    vr[0] = ar + t1r + t2r;
    vi[0] = ai + t1i + t2i;
    vr[1] = b1r + d1i;  // b1 - i d1
    vi[1] = b1i - d1r;
    vr[4] = b1r - d1i;  // b1 + i d1
    vi[4] = b1i + d1r;
    vr[2] = b2r + d2i;
    vi[2] = b2i - d2r;
    vr[3] = b2r - d2i;
    vi[3] = b2i + d2r;
  }
};

// One Stockham stage of fixed radix R: in -> out (n complex elements of L lanes each, kH native vectors apiece).
template <int R>
void stage_fixed(const FftStage &st, int64_t n, const float *__restrict ire, const float *__restrict iim,
                 float *__restrict ore, float *__restrict oim) {
  const int64_t q = n / R, ns = st.ns, groups = q / ns;
  const float *__restrict twr_all = st.tw_re.data();
  const float *__restrict twi_all = st.tw_im.data();
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t k = 0; k < ns; ++k) {
      const int64_t j = g * ns + k, d = g * ns * R + k;
      const float *twr = twr_all + k * R, *twi = twi_all + k * R;
      for (int h = 0; h < kH; ++h) {
        NF vr[R], vi[R];
        for (int r = 0; r < R; ++r) {
          const NF a = load_nf(ire + (j + r * q) * L + h * kN), b = load_nf(iim + (j + r * q) * L + h * kN);
          if (r == 0 || k == 0) {
            vr[r] = a;
            vi[r] = b;
          } else {
            const float wr = twr[r], wi = twi[r];
            vr[r] = a * wr - b * wi;
            vi[r] = a * wi + b * wr;
          }
        }
        Bfly<R>::run(vr, vi);
        for (int r = 0; r < R; ++r) {
          store_nf(ore + (d + r * ns) * L + h * kN, vr[r]);
          store_nf(oim + (d + r * ns) * L + h * kN, vi[r]);
        }
      }
    }
  }
}

// One Stockham stage of an odd radix p <= kFftMaxDirectRadix (direct O(p^2) DFT of the p inputs).
void stage_generic(const FftStage &st, const ComplexFftPlan &plan, int64_t n, const float *__restrict ire,
                   const float *__restrict iim, float *__restrict ore, float *__restrict oim) {
  const int p = st.radix;
  const int64_t q = n / p, ns = st.ns, groups = q / ns;
  const float *rr = plan.roots_re[p].data(), *ri = plan.roots_im[p].data();
  NF vr[kFftMaxDirectRadix], vi[kFftMaxDirectRadix];
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t k = 0; k < ns; ++k) {
      const int64_t j = g * ns + k, d = g * ns * p + k;
      const float *twr = st.tw_re.data() + k * p, *twi = st.tw_im.data() + k * p;
      for (int h = 0; h < kH; ++h) {
        for (int r = 0; r < p; ++r) {
          const NF a = load_nf(ire + (j + r * q) * L + h * kN), b = load_nf(iim + (j + r * q) * L + h * kN);
          const float wr = twr[r], wi = twi[r];
          vr[r] = a * wr - b * wi;
          vi[r] = a * wi + b * wr;
        }
        for (int o = 0; o < p; ++o) {
          NF accr = vr[0], acci = vi[0];
          int idx = 0;
          for (int r = 1; r < p; ++r) {
            idx += o;
            if (idx >= p) idx -= p;
            const float wr = rr[idx], wi = ri[idx];
            accr += vr[r] * wr - vi[r] * wi;
            acci += vr[r] * wi + vi[r] * wr;
          }
          store_nf(ore + (d + o * ns) * L + h * kN, accr);
          store_nf(oim + (d + o * ns) * L + h * kN, acci);
        }
      }
    }
  }
}

// Complex FFT of plan.n points (lanes), input in buffer A, buffers A and B of plan.capacity elements.
// Returns 0 if the result is in A, 1 if in B.
int cfft(const ComplexFftPlan &plan, float *ar, float *ai, float *br, float *bi) {
  if (plan.bluestein) {
    const int64_t n = plan.n, m = plan.m;
    // B = x * chirp (zero tail)
    for (int64_t j = 0; j < n; ++j) {
      const float wr = plan.chirp_re[j], wi = plan.chirp_im[j];
      const float *xr = ar + j * L, *xi = ai + j * L;
      float *yr = br + j * L, *yi = bi + j * L;
      for (int o = 0; o < L; o += kN) {
        const NF a = load_nf(xr + o), b = load_nf(xi + o);
        store_nf(yr + o, a * wr - b * wi);
        store_nf(yi + o, a * wi + b * wr);
      }
    }
    std::memset(br + n * L, 0, sizeof(float) * (m - n) * L);
    std::memset(bi + n * L, 0, sizeof(float) * (m - n) * L);
    int where = cfft(*plan.sub, br, bi, ar, ai) ? 0 : 1;  // 1: result in B
    float *cr = where ? br : ar, *ci = where ? bi : ai;
    float *er = where ? ar : br, *ei = where ? ai : bi;
    // conj(C * Bhat), then a forward FFT gives m * conj(IFFT) (the 1/m is inside Bhat)
    for (int64_t j = 0; j < m; ++j) {
      const float wr = plan.bfft_re[j], wi = plan.bfft_im[j];
      float *xr = cr + j * L, *xi = ci + j * L;
      for (int o = 0; o < L; o += kN) {
        const NF a = load_nf(xr + o), b = load_nf(xi + o);
        store_nf(xr + o, a * wr - b * wi);
        store_nf(xi + o, -(a * wi + b * wr));
      }
    }
    const int w2 = cfft(*plan.sub, cr, ci, er, ei);
    float *rr = w2 ? er : cr, *ri = w2 ? ei : ci;
    // X_k = chirp_k * conj(r_k)
    for (int64_t k = 0; k < n; ++k) {
      const float wr = plan.chirp_re[k], wi = plan.chirp_im[k];
      float *xr = rr + k * L, *xi = ri + k * L;
      for (int o = 0; o < L; o += kN) {
        const NF a = load_nf(xr + o), b = -load_nf(xi + o);
        store_nf(xr + o, a * wr - b * wi);
        store_nf(xi + o, a * wi + b * wr);
      }
    }
    return (rr == ar) ? 0 : 1;
  }
  float *sr = ar, *si = ai, *dr = br, *di = bi;
  int where = 0;
  for (const FftStage &st : plan.stages) {
    switch (st.radix) {
      case 2: stage_fixed<2>(st, plan.n, sr, si, dr, di); break;
      case 3: stage_fixed<3>(st, plan.n, sr, si, dr, di); break;
      case 4: stage_fixed<4>(st, plan.n, sr, si, dr, di); break;
      case 5: stage_fixed<5>(st, plan.n, sr, si, dr, di); break;
      default: stage_generic(st, plan, plan.n, sr, si, dr, di); break;
    }
    float *t;
    t = sr, sr = dr, dr = t;
    t = si, si = di, di = t;
    where ^= 1;
  }
  return where;
}

// Scratch layout of one block: A re/im, B re/im (capacity * L each), X re/im (bins * L each).
struct Work {
  float *ar, *ai, *br, *bi, *xr, *xi;
  Work(const RealFftPlan &p, float *s) {
    const int64_t c = p.cplx->capacity * L, b = p.bins() * L;
    ar = s;
    ai = ar + c;
    br = ai + c;
    bi = br + c;
    xr = bi + c;
    xi = xr + b;
  }
};

// Frame value j of lane l goes to A: the caller fills A with put(); this finishes the real FFT into X.
inline void put(const RealFftPlan &p, const Work &w, int64_t j, int l, float v) {
  if (p.half) {
    float *dst = (j & 1) ? w.ai : w.ar;
    dst[(j >> 1) * L + l] = v;
  } else {
    w.ar[j * L + l] = v;
    w.ai[j * L + l] = 0.0f;
  }
}

void rfft_lanes(const RealFftPlan &p, const Work &w) {
  const int where = cfft(*p.cplx, w.ar, w.ai, w.br, w.bi);
  const float *__restrict zr = where ? w.br : w.ar;
  const float *__restrict zi = where ? w.bi : w.ai;
  float *__restrict xr = w.xr;
  float *__restrict xi = w.xi;
  if (!p.half) {
    std::memcpy(xr, zr, sizeof(float) * p.bins() * L);
    std::memcpy(xi, zi, sizeof(float) * p.bins() * L);
    return;
  }
  const int64_t h = p.n / 2;
  for (int64_t k = 0; k <= h; ++k) {
    const int64_t k1 = (k == h) ? 0 : k, k2 = (k == 0) ? 0 : h - k;
    const float wr = p.post_re[k], wi = p.post_im[k];
    const float *ar = zr + k1 * L, *ai = zi + k1 * L, *cr = zr + k2 * L, *ci = zi + k2 * L;
    float *dr = xr + k * L, *di = xi + k * L;
    for (int o = 0; o < L; o += kN) {
      // E = (Z_k + conj Z_{h-k}) / 2, O = -i (Z_k - conj Z_{h-k}) / 2, X = E + W^k O
      const NF a_r = load_nf(ar + o), a_i = load_nf(ai + o), c_r = load_nf(cr + o), c_i = load_nf(ci + o);
      const NF er = 0.5f * (a_r + c_r), ei = 0.5f * (a_i - c_i);
      const NF dre = a_r - c_r, dim = a_i + c_i;
      const NF orr = 0.5f * dim, oi = -0.5f * dre;
      store_nf(dr + o, er + (wr * orr - wi * oi));
      store_nf(di + o, ei + (wr * oi + wi * orr));
    }
  }
}

// ---------------------------------------------------------------- kernels of the table

void rfft_rows_k(const RealFftPlan &p, const float *x, float *out, int64_t rows, float *scratch) {
  const Work w(p, scratch);
  const int64_t n = p.n, bins = p.bins();
  for (int64_t r0 = 0; r0 < rows; r0 += L) {
    const int nl = static_cast<int>(rows - r0 < L ? rows - r0 : L);
    for (int l = 0; l < L; ++l) {
      const float *row = x + (r0 + l) * n;
      for (int64_t j = 0; j < n; ++j) put(p, w, j, l, l < nl ? row[j] : 0.0f);
    }
    rfft_lanes(p, w);
    for (int l = 0; l < nl; ++l) {
      float *o = out + (r0 + l) * bins * 2;
      for (int64_t k = 0; k < bins; ++k) {
        o[2 * k] = w.xr[k * L + l];
        o[2 * k + 1] = w.xi[k * L + l];
      }
    }
  }
}

inline float sample_at(const StftArgs &a, int64_t i) {
  if (i < 0) i = -i;
  else if (i >= a.sig_len) i = 2 * (a.sig_len - 1) - i;
  return i < a.len ? a.x[i] : 0.0f;
}


#if defined(__AVX512F__)
static_assert(L == 16, "the AVX-512 framing transposes 16 x 16 blocks");
// The windowed frames of 16 lanes that all lie inside the signal, into the half-length layout of the real FFT
// (sample 2j of lane l at ar[j * L + l], sample 2j + 1 at ai[j * L + l]): per block of 16 positions, each frame's
// 32 samples times the window are loaded contiguously and split into even / odd, then the two 16 x 16 blocks are
// transposed in registers. The same products as the lane-by-lane loop, which stores one float at a time.
inline void frame_half_16(const float *x, const int64_t *starts, const float *win, int64_t half, float *ar,
                          float *ai) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t j0 = 0; j0 < half; j0 += 16) {
    const int64_t jn = half - j0 < 16 ? half - j0 : 16;
    const int64_t ns = 2 * jn;  // samples of this block, 2..32
    const __mmask16 m0 = ns >= 16 ? 0xffff : static_cast<__mmask16>((1u << ns) - 1u);
    const __mmask16 m1 = ns >= 32 ? 0xffff : ns <= 16 ? 0 : static_cast<__mmask16>((1u << (ns - 16)) - 1u);
    const __m512 w0 = _mm512_maskz_loadu_ps(m0, win + 2 * j0);
    const __m512 w1 = _mm512_maskz_loadu_ps(m1, win + 2 * j0 + 16);
    __m512 re[16], im[16];
    for (int l = 0; l < 16; ++l) {
      const float *src = x + starts[l] + 2 * j0;
      const __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, src), w0);
      const __m512 b = _mm512_mul_ps(_mm512_maskz_loadu_ps(m1, src + 16), w1);
      re[l] = _mm512_permutex2var_ps(a, even, b);
      im[l] = _mm512_permutex2var_ps(a, odd, b);
    }
    transpose16_regs(re);
    transpose16_regs(im);
    for (int c = 0; c < 16; ++c) {  // constant indices keep re / im in registers (a loop to jn copied them
      if (c < jn) {                   // to the stack and out with rep movs, a quarter of the framing's time)
        _mm512_storeu_ps(ar + (j0 + c) * L, re[c]);
        _mm512_storeu_ps(ai + (j0 + c) * L, im[c]);
      }
    }
  }
}
#elif defined(__AVX__)
// The same for the AVX2 copy, through memory: each lane's windowed samples split into even / odd rows of `half`
// (contiguous stores, which GCC vectorises; er / od are the B buffers, free until the FFT), then 8 x 8 transposes
// into the lane layout. The lane-by-lane loop stored one float at a time (a third of the AVX2 framing).
inline void frame_half_8(const float *x, const int64_t *starts, const float *win, int64_t half, float *er,
                         float *od, float *ar, float *ai) {
  for (int l = 0; l < L; ++l) {
    const float *__restrict src = x + starts[l];
    float *__restrict e = er + l * half, *__restrict o = od + l * half;
    for (int64_t j = 0; j < half; ++j) {
      e[j] = src[2 * j] * win[2 * j];
      o[j] = src[2 * j + 1] * win[2 * j + 1];
    }
  }
  const int64_t j8 = half & ~int64_t{7};
  for (int64_t j0 = 0; j0 < j8; j0 += 8) {
    for (int g = 0; g < L; g += 8) {
      transpose8x8_f32(er + g * half + j0, half, ar + j0 * L + g, L);
      transpose8x8_f32(od + g * half + j0, half, ai + j0 * L + g, L);
    }
  }
  for (int64_t j = j8; j < half; ++j) {
    for (int l = 0; l < L; ++l) {
      ar[j * L + l] = er[l * half + j];
      ai[j * L + l] = od[l * half + j];
    }
  }
}
#endif

void stft_frames_k(const StftArgs &a, int64_t t0, int64_t t1, float *scratch) {
  const RealFftPlan &p = *a.plan;
  const Work w(p, scratch);
  const int64_t n = a.n_fft, bins = p.bins();
  const float *win = a.window;
  for (int64_t tb = t0; tb < t1; tb += L) {
    const int nl = static_cast<int>(t1 - tb < L ? t1 - tb : L);
#if defined(__AVX__)
    const int64_t s0 = tb * a.hop - a.pad;
    if (p.half && nl == L && s0 >= 0 && s0 + (L - 1) * a.hop + n <= a.len) {  // every frame inside the signal
      int64_t starts[L];
      for (int l = 0; l < L; ++l) starts[l] = s0 + l * a.hop;
#if defined(__AVX512F__)
      frame_half_16(a.x, starts, win, n / 2, w.ar, w.ai);
#else
      frame_half_8(a.x, starts, win, n / 2, w.br, w.bi, w.ar, w.ai);
#endif
    } else
#endif
    for (int l = 0; l < L; ++l) {
      const int64_t s = (tb + l) * a.hop - a.pad;
      if (l >= nl) {
        for (int64_t j = 0; j < n; ++j) put(p, w, j, l, 0.0f);
      } else if (s >= 0 && s + n <= a.len) {
        const float *src = a.x + s;
        if (p.half) {
          for (int64_t j = 0; j < n / 2; ++j) {
            w.ar[j * L + l] = src[2 * j] * win[2 * j];
            w.ai[j * L + l] = src[2 * j + 1] * win[2 * j + 1];
          }
        } else {
          for (int64_t j = 0; j < n; ++j) put(p, w, j, l, src[j] * win[j]);
        }
      } else {
        for (int64_t j = 0; j < n; ++j) put(p, w, j, l, sample_at(a, s + j) * win[j]);
      }
    }
    rfft_lanes(p, w);
    // spectrum into xr (power or magnitude), lanes kept
    float *__restrict pw = w.xr;
    const float *__restrict im = w.xi;
    for (int64_t i = 0; i < bins * L; ++i) pw[i] = pw[i] * pw[i] + im[i] * im[i];
    if (a.power == 1) {
      for (int64_t i = 0; i < bins * L; ++i) pw[i] = __builtin_sqrtf(pw[i]);
    }
    if (a.filters == nullptr) {
      for (int l = 0; l < nl; ++l) {
        float *o = a.out_spec + (tb + l) * bins;
        for (int64_t k = 0; k < bins; ++k) o[k] = pw[k * L + l];
      }
      continue;
    }
    for (int64_t m = 0; m < a.n_mels; ++m) {
      NF acc[kH] = {};  // as vectors: the float[L] form of this loop stayed scalar
      const float *f = a.filters + m * bins;
      for (int64_t k = a.band_lo[m]; k < a.band_hi[m]; ++k) {
        for (int h = 0; h < kH; ++h) acc[h] += f[k] * load_nf(pw + k * L + h * kN);
      }
      float *o = a.out_mel + m * a.n_frames + tb;
      if (nl == L) {
        std::memcpy(o, acc, sizeof acc);
      } else {
        alignas(64) float t[L];
        std::memcpy(t, acc, sizeof acc);
        for (int l = 0; l < nl; ++l) o[l] = t[l];
      }
    }
  }
}

// log10 of kN values at once (x > 0 normal, +inf or NaN: the floor was applied first), as GCC vector-extension
// arithmetic: written lane by lane (a scalar function called in the lane loop) GCC left the whole finish
// scalar, a third of a 30 s log-mel. The exponent and mantissa by bits, then the Cephes logf polynomial.
inline void log10_pos(NF &x) {
  const NU u = (NU)x;  // casts between vector types of one size keep the bits
  NI e = (NI)((u >> 23) & 0xffu) - 126;
  NF m = (NF)((u & 0x007fffffu) | 0x3f000000u);  // [0.5, 1)
  const NI small = m < 0.707106781186547524f;  // -1 where true
  e += small;
  m = small ? m + m - 1.0f : m - 1.0f;
  const NF z = m * m;
  NF y = NF{} + 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const NF fe = __builtin_convertvector(e, NF);
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  NF ln = m + y;
  ln += 0.693359375f * fe;
  NF r = ln * 0.434294481903251828f;
  r = x == __builtin_inff() ? x : r;
  x = x != x ? x : r;
}

float log_max_k(const float *x, float *y, int64_t n, float floor, int do_log) {
  NF mx = NF{} - __builtin_inff();
  NF nan = NF{};
  const auto step = [&](NF &v) {
    if (do_log) {
      v = v < floor ? floor : v;  // NaN < floor is false: NaN kept
      log10_pos(v);
    }
    mx = v > mx ? v : mx;
    nan = v != v ? v : nan;
  };
  int64_t i = 0;
  for (; i + kN <= n; i += kN) {
    NF v = load_nf(x + i);
    step(v);
    store_nf(y + i, v);
  }
  if (i < n) {  // the tail as one vector padded with -inf (floored and logged, never above a real value's result)
    alignas(64) float t[kN];
    for (int l = 0; l < kN; ++l) t[l] = i + l < n ? x[i + l] : -__builtin_inff();
    NF v = load_nf(t);
    step(v);
    store_nf(t, v);
    for (int64_t l = 0; i + l < n; ++l) y[i + l] = t[l];
  }
  float m = -__builtin_inff(), bad = 0.0f;
  for (int l = 0; l < kN; ++l) {
    m = sel(mx[l] > m, mx[l], m);
    bad = sel(nan[l] != nan[l], nan[l], bad);
  }
  return bad != bad ? bad : m;
}

void clamp_scale_k(float *__restrict y, int64_t n, float lo, float add, float mul) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = y[i];
    y[i] = (sel(v < lo, lo, v) + add) * mul;
  }
}

const SpectrogramKernels kTable = {TSR_ISA_NAME, rfft_rows_k, stft_frames_k, log_max_k, clamp_scale_k};

}  // namespace

const SpectrogramKernels &spectrogram_kernels() { return kTable; }

}  // namespace TSR_ISA_NS
}  // namespace tsr
