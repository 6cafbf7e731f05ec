// Packed-weight GEMM kernels (tessera/gemm.h), compiled once per ISA (TSR_ISA_NS).
//
// C [m, n] = A [m, k] · Wᵀ with W prepacked in panels of kGemmNR = 32 output columns ([k][32] floats each).
// A block of C (rows [r0, r1) x panels [p0, p1)) is computed as in the Goto/BLIS scheme: the k loop is
// cut into slices of kKC; for each slice the rows of A are packed into micro-panels of MR rows
// ([kc][MR], so the broadcasts walk one pointer), then for each panel the register tile
// (MR rows x 32 columns: 2 x 16-float vectors per row on AVX-512, two 2 x 8 half-tiles on AVX2)
// accumulates the slice. The slice of a panel (kc x 32 floats) stays in L1/L2 while the micro-panels of
// A stream past it. With one slice (k <= kKC, or decode-sized m where the whole panel is streamed once)
// C is written exactly once, epilogue included; otherwise the partial sums go through C (in cache) and
// the last slice applies the epilogue: + bias, activation (act_vec, on the accumulator registers), + residual.
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "gemm_table.h"
#include "vmath.h"
#include "vexp_simd.h"

#include "isa_unit.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif
#include "transpose.h"

namespace tsr {
namespace TSR_ISA_NS {
namespace {

constexpr int64_t NR = kGemmNR;
#ifndef TSR_GEMM_KC
#define TSR_GEMM_KC 1024
#endif
// Longest k slice (the block's rows of A x the slice stay in L2 while the panels stream past; the C tile is
// read back once per extra slice). k is cut into equal slices of at most kKC. Long slices measured best on
// Zen 4 (1 MiB L2): ViT-B/16 GEMMs 3-6% faster than with 384 (C re-read from L3 per slice costs more than
// the B slice missing L1).
constexpr int64_t kKC = TSR_GEMM_KC;
#ifndef TSR_GEMM_PREFETCH
#define TSR_GEMM_PREFETCH 0  // bytes ahead the few-row tiles prefetch an fp32 panel (0: hardware prefetch only)
#endif
#ifndef TSR_GEMM_PREFETCH_NARROW
#define TSR_GEMM_PREFETCH_NARROW 8192  // the same for bfloat16 and int8 panels
#endif
// Bytes ahead of the row it multiplies a tile of decode-sized rows (x86) prefetches the weight panel of BT elements.
// A bfloat16 or int8 panel is consumed two or four times as fast per byte as an fp32 one, and the hardware prefetcher
// alone left those streams at ~60% of the memory bandwidth: one 5632 x 2048 row product (2-core Xeon, 2 threads,
// 40 weights in turn, three runs interleaved) 1.28-1.46 -> 0.86-1.09 ms in bfloat16, 0.78-0.89 -> 0.46-0.62 ms in int8
// with 8 KiB (16 KiB alike); the fp32 stream, at the bandwidth already, did not change beyond the noise.
template <class BT>
constexpr int64_t kPrefetchBytes = sizeof(BT) == 4 ? TSR_GEMM_PREFETCH : TSR_GEMM_PREFETCH_NARROW;

enum : int { kLoadC = 1, kFinal = 2 };

// ------------------------------------------------------------------ activations (auto-vectorised)

// GELU (erf form) for the epilogue: erf from a rational function, erf(a) = a P(a^2) / Q(a^2) for
// a = |x| / sqrt 2 clamped to 4 (degrees 5 / 5, fitted to erf(a) / a on [0, 4] by iteratively reweighted
// least squares), absolute error of erf <= 3.3e-7 in fp32. About four times cheaper than vm::gelu_erf_f
// (which keeps relative accuracy deep in the negative tail, where GELU is below ~1e-6 anyway); the result
// differs from Ops.gelu by at most ~2e-7 |x|. NaN propagates; gelu(+inf) = +inf, gelu(-inf) = -0.
inline float gelu_fused(float x) {
  float a = vm::vabs(x) * 0.70710678118654752f;
  a = vm::sel(a > 4.0f, 4.0f, a);  // NaN passes
  const float t = a * a;
  float p = 2.121905796e-06f;
  p = p * t + 2.860458062e-04f;
  p = p * t + 3.648933306e-03f;
  p = p * t + 5.238953667e-02f;
  p = p * t + 1.871615382e-01f;
  p = p * t + 1.128379106e+00f;
  float q = 3.890374340e-05f;
  q = q * t + 1.141596200e-03f;
  q = q * t + 1.472813858e-02f;
  q = q * t + 1.128324175e-01f;
  q = q * t + 4.992000844e-01f;
  q = q * t + 1.0f;
  float e = a * p / q;
  e = vm::sel(e > 1.0f, 1.0f, e);
  const float erf = vm::vcopysign(e, x);
  const float y = 0.5f * x * (1.0f + erf);
  return vm::sel(x == -__builtin_inff(), -0.0f, y);
}

// f(std::integral_constant<int, ACT>{}) for the activation code act: the one switch from TSR_ACT_* to the templates
// (the tile's registers and the row epilogue).
template <class F>
inline void with_act(int act, F &&f) {
  switch (act) {
    case TSR_ACT_GELU: f(std::integral_constant<int, TSR_ACT_GELU>{}); break;
    case TSR_ACT_GELU_TANH: f(std::integral_constant<int, TSR_ACT_GELU_TANH>{}); break;
    case TSR_ACT_SILU: f(std::integral_constant<int, TSR_ACT_SILU>{}); break;
    case TSR_ACT_QUICK_GELU: f(std::integral_constant<int, TSR_ACT_QUICK_GELU>{}); break;
    case TSR_ACT_RELU: f(std::integral_constant<int, TSR_ACT_RELU>{}); break;
    default: f(std::integral_constant<int, TSR_ACT_NONE>{}); break;
  }
}

// The scalar ISA's activations (the vector ISAs use act_vec below).
template <int ACT>
inline float act1(float x) {
  if constexpr (ACT == TSR_ACT_GELU) return gelu_fused(x);
  else if constexpr (ACT == TSR_ACT_GELU_TANH) return vm::gelu_tanh_f(x);
  else if constexpr (ACT == TSR_ACT_SILU) return vm::silu_f(x);
  else if constexpr (ACT == TSR_ACT_QUICK_GELU) return vm::quick_gelu_f(x);
  else if constexpr (ACT == TSR_ACT_RELU) return vm::sel(x < 0.0f, 0.0f, x);
  else return x;
}

// x as computed, opaque to the optimiser: a product passed through it is rounded on its own, never contracted into a
// fused multiply-add with the addition that follows (GCC contracts vector and scalar products alike by default).
template <class T>
inline T rounded(T x) {
#if defined(__x86_64__) && (defined(__AVX512F__) || defined(__AVX2__))
  if constexpr (sizeof(T) >= 32) {
    __asm__("" : "+v"(x));
    return x;
  }
#endif
  __asm__("" : "+m"(x));
  return x;
}

// A packed weight's element as fp32, exactly (bfloat16: its 16 bits become the high half).
inline float widen(float x) { return x; }
inline float widen(int8_t q) { return static_cast<float>(q); }
inline float widen(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// ------------------------------------------------------------------ packing

void pack_w(const float *w, int64_t sn, int64_t sk, int64_t n, int64_t k, float *packed, int64_t p0, int64_t p1) {
  constexpr int64_t KB = 64;
  for (int64_t p = p0; p < p1; ++p) {
    float *dst = packed + p * k * NR;
    const int64_t j0 = p * NR, nj = n - j0 < NR ? n - j0 : NR;
    if (sn == 1) {  // transposed weight [k, n]: rows of the panel are contiguous runs
      for (int64_t kk = 0; kk < k; ++kk) {
        const float *src = w + kk * sk + j0;
        float *d = dst + kk * NR;
        for (int64_t j = 0; j < nj; ++j) d[j] = src[j];
        for (int64_t j = nj; j < NR; ++j) d[j] = 0.0f;
      }
      continue;
    }
    for (int64_t kb = 0; kb < k; kb += KB) {
      const int64_t ke = kb + KB < k ? kb + KB : k;
      for (int64_t j = 0; j < NR; ++j) {
        if (j < nj) {
          const float *src = w + (j0 + j) * sn;
          for (int64_t kk = kb; kk < ke; ++kk) dst[kk * NR + j] = src[kk * sk];
        } else {
          for (int64_t kk = kb; kk < ke; ++kk) dst[kk * NR + j] = 0.0f;
        }
      }
    }
  }
}

// Rows [0, rows) x cols [0, kc) of A (rows lda apart) into [kc][rows] (rows <= MR).
inline void pack_a_panel(const float *a, int64_t lda, int64_t rows, int64_t kc, float *dst) {
  int64_t k0 = 0;
#if defined(__AVX512F__)
  if (rows == 12) {  // a full AVX-512 micro-panel: 16 x 16 register transposes (4 zero rows), 12 floats per k
    for (; k0 + 16 <= kc; k0 += 16) {
      __m512 r[16];
      for (int i = 0; i < 12; ++i) r[i] = _mm512_loadu_ps(a + i * lda + k0);
      for (int i = 12; i < 16; ++i) r[i] = _mm512_setzero_ps();
      transpose16_regs(r);
      float *d = dst + k0 * 12;
      for (int c = 0; c < 15; ++c) _mm512_storeu_ps(d + c * 12, r[c]);  // lanes 12..15 rewritten by the next k
      _mm512_mask_storeu_ps(d + 15 * 12, static_cast<__mmask16>(0x0fff), r[15]);
    }
  }
#endif
  for (int64_t kk = k0; kk < kc; ++kk) {
    for (int64_t i = 0; i < rows; ++i) dst[kk * rows + i] = a[i * lda + kk];
  }
}

// Per-thread 64-byte aligned buffer number SLOT (grows, never shrinks): 0 holds the packed micro-panels of A, 1 a k
// slice of a bfloat16 / int8 panel widened to fp32.
template <int SLOT>
float *thread_buffer(int64_t floats) {
  static thread_local std::unique_ptr<float[]> raw;
  static thread_local int64_t cap = 0;
  if (floats > cap) {
    raw.reset(new float[floats + 16]);
    cap = floats;
  }
  auto addr = reinterpret_cast<uintptr_t>(raw.get());
  return raw.get() + ((64 - addr % 64) % 64) / sizeof(float);
}
inline float *a_buffer(int64_t floats) { return thread_buffer<0>(floats); }

// ------------------------------------------------------------------ register tiles

#if defined(__AVX512F__) || defined(__AVX2__)

#if defined(__AVX512F__)
constexpr int W = 16;  // floats per vector
constexpr int MR = 12;  // rows per register tile: 24 accumulators + 2 B vectors
constexpr int HALVES = 1;  // tiles of 2W columns per panel
using V = __m512;
inline V vzero() { return _mm512_setzero_ps(); }
inline V vload(const float *p) { return _mm512_loadu_ps(p); }
inline V vloadn(const float *p, int n) {  // first n (may be <= 0 or >= W) elements, zeros elsewhere
  if (n >= W) return _mm512_loadu_ps(p);
  if (n <= 0) return _mm512_setzero_ps();
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
}
inline void vstoren(float *p, V v, int n) {
  if (n >= W) _mm512_storeu_ps(p, v);
  else if (n > 0) _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
}
inline V vbcast(const float *p) { return _mm512_set1_ps(*p); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
// A row of W's panel: W floats, or W bfloat16 widened exactly (the 16 bits become the high half of the fp32).
inline V bload(const float *p) { return _mm512_loadu_ps(p); }
inline V bload(const uint16_t *p) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline V bload(const int8_t *p) {  // W int8 values, exact in fp32
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))));
}
#else
constexpr int W = 8;
constexpr int MR = 6;  // 12 accumulators + 2 B vectors + 1 broadcast of 16 registers
constexpr int HALVES = 2;
using V = __m256;
alignas(32) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
inline __m256i vmask(int n) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kMaskTable + 8 - n)); }
inline V vzero() { return _mm256_setzero_ps(); }
inline V vload(const float *p) { return _mm256_loadu_ps(p); }
inline V vloadn(const float *p, int n) {
  if (n >= W) return _mm256_loadu_ps(p);
  if (n <= 0) return _mm256_setzero_ps();
  return _mm256_maskload_ps(p, vmask(n));
}
inline void vstoren(float *p, V v, int n) {
  if (n >= W) _mm256_storeu_ps(p, v);
  else if (n > 0) _mm256_maskstore_ps(p, vmask(n), v);
}
inline V vbcast(const float *p) { return _mm256_broadcast_ss(p); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V bload(const float *p) { return _mm256_loadu_ps(p); }
inline V bload(const uint16_t *p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline V bload(const int8_t *p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p))));
}
#endif

constexpr int TW = 2 * W;  // columns of a register tile

// gelu_fused (above) on a whole register, for the tile's accumulators on AVX2 (AVX-512 uses the table form below):
// no round trip through memory and no call. Same polynomials and the same operations in the same order (so the
// same result as the scalar form): vminps(c, v) returns v when v is NaN, as sel(v > c, c, v) does.
#if defined(__AVX512F__)
inline V vset(float s) { return _mm512_set1_ps(s); }
inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V vmin_keep_nan(float c, V v) { return _mm512_min_ps(vset(c), v); }
inline V vabsv(V v) { return _mm512_abs_ps(v); }
inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
inline V vsign_of(V mag, V s) {
  const __m512i m = _mm512_set1_epi32(0x7fffffff);
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(m, _mm512_castps_si512(mag), _mm512_castps_si512(s), 0xca));
}
inline V vneginf_to_negzero(V x, V y) {
  const __mmask16 k = _mm512_cmp_ps_mask(x, vset(-__builtin_inff()), _CMP_EQ_OQ);
  return _mm512_mask_mov_ps(y, k, vset(-0.0f));
}
#else
inline V vset(float s) { return _mm256_set1_ps(s); }
inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V vmin_keep_nan(float c, V v) { return _mm256_min_ps(vset(c), v); }
inline V vabsv(V v) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
inline V vsign_of(V mag, V s) {
  const V m = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  return _mm256_or_ps(_mm256_and_ps(mag, m), _mm256_andnot_ps(m, s));
}
inline V vneginf_to_negzero(V x, V y) {
  return _mm256_blendv_ps(y, vset(-0.0f), _mm256_cmp_ps(x, vset(-__builtin_inff()), _CMP_EQ_OQ));
}
#endif
inline V gelu_rational_vec(V x) {
  const V a = vmin_keep_nan(4.0f, vmul(vabsv(x), vset(0.70710678118654752f)));
  const V t = vmul(a, a);
  V p = vset(2.121905796e-06f);
  p = vfma(p, t, vset(2.860458062e-04f));
  p = vfma(p, t, vset(3.648933306e-03f));
  p = vfma(p, t, vset(5.238953667e-02f));
  p = vfma(p, t, vset(1.871615382e-01f));
  p = vfma(p, t, vset(1.128379106e+00f));
  V q = vset(3.890374340e-05f);
  q = vfma(q, t, vset(1.141596200e-03f));
  q = vfma(q, t, vset(1.472813858e-02f));
  q = vfma(q, t, vset(1.128324175e-01f));
  q = vfma(q, t, vset(4.992000844e-01f));
  q = vfma(q, t, vset(1.0f));
  const V e = vmin_keep_nan(1.0f, vdiv(vmul(a, p), q));
  const V erf = vsign_of(e, x);
  const V y = vmul(vmul(vset(0.5f), x), vadd(vset(1.0f), erf));
  return vneginf_to_negzero(x, y);
}

#if defined(__AVX512F__)
// GELU on AVX-512 from a table: 0.5 erf(u / sqrt 2), u = |x| in [0, 5.6] (erf is 1 in fp32 beyond), as a degree-4
// polynomial on each of 16 equal intervals, its coefficients picked per lane by vpermps from one register each
// (kGeluC*: printed by native/tools/gelu_table.py, a near-minimax fit in float64 rounded to fp32). Then
// gelu(x) = 0.5 x + |x| * 0.5 erf(|x| / sqrt 2). Four multiply-adds where the rational form takes ten, a multiply,
// and a division: the fused GELU of MiniLM's FFN up projection [1024 x 384] x [384 x 1536] costs 0.21 ms over
// the plain GEMM instead of 0.34 (2 threads, Zen 4). |gelu - exact| <= 1.4e-7 max(1, |x|) over [-8, 8] (the
// rational form: ~2e-7), exactly x or -0 beyond |x| = 5.6. NaN propagates (index 15, NaN t); gelu(+inf) = +inf,
// gelu(-inf) = -0.
alignas(64) const float kGeluC0[16] = {9.405236057e-08f, 1.368306875e-01f, 2.580363154e-01f, 3.531408906e-01f, 4.192432761e-01f, 4.599408209e-01f, 4.821355641e-01f, 4.928571880e-01f, 4.974448681e-01f, 4.991836548e-01f, 4.997673631e-01f, 4.999409318e-01f, 4.999866486e-01f, 4.999973178e-01f, 4.999995232e-01f, 4.999999106e-01f};
alignas(64) const float kGeluC1[16] = {1.396250576e-01f, 1.313319057e-01f, 1.092899367e-01f, 8.046171814e-02f, 5.240745842e-02f, 3.019858524e-02f, 1.539446786e-02f, 6.942595355e-03f, 2.769831801e-03f, 9.775842773e-04f, 3.052247630e-04f, 8.430353773e-05f, 2.059816143e-05f, 4.452093890e-06f, 8.512365071e-07f, 1.439738639e-07f};
alignas(64) const float kGeluC2[16] = {3.833603478e-05f, -8.025499992e-03f, -1.339547615e-02f, -1.480774209e-02f, -1.286214497e-02f, -9.260477498e-03f, -5.659370217e-03f, -2.973128576e-03f, -1.352866180e-03f, -5.358058843e-04f, -1.853184804e-04f, -5.610774315e-05f, -1.489654096e-05f, -3.472884373e-06f, -7.116939287e-07f, -1.283091535e-07f};
alignas(64) const float kGeluC3[16] = {-2.959454199e-03f, -2.409138717e-03f, -1.120291650e-03f, 2.327711118e-04f, 1.092537655e-03f, 1.308699371e-03f, 1.078589703e-03f, 6.992060808e-04f, 3.738370142e-04f, 1.686412579e-04f, 6.501916505e-05f, 2.159851465e-05f, 6.215510894e-06f, 1.555537779e-06f, 3.395293788e-07f, 6.477618086e-08f};
alignas(64) const float kGeluC4[16] = {1.265284518e-04f, 3.083488846e-04f, 3.304718994e-04f, 2.157718409e-04f, 5.976528337e-05f, -5.201152453e-05f, -9.207062976e-05f, -8.101214917e-05f, -5.204739500e-05f, -2.671240691e-05f, -1.136363426e-05f, -4.084662123e-06f, -1.254906806e-06f, -3.319970574e-07f, -7.602963592e-08f, -1.512867520e-08f};
inline V gelu_vec(V x) {
  const V u = _mm512_abs_ps(x);
  const V s = _mm512_min_ps(vset(16.0f), _mm512_mul_ps(u, vset(16.0f / 5.6f)));  // NaN passes
  const __m512i i = _mm512_min_epu32(_mm512_cvttps_epi32(s), _mm512_set1_epi32(15));
  const V t = _mm512_sub_ps(s, _mm512_cvtepi32_ps(i));
  V p = _mm512_permutexvar_ps(i, _mm512_load_ps(kGeluC4));
  p = vfma(p, t, _mm512_permutexvar_ps(i, _mm512_load_ps(kGeluC3)));
  p = vfma(p, t, _mm512_permutexvar_ps(i, _mm512_load_ps(kGeluC2)));
  p = vfma(p, t, _mm512_permutexvar_ps(i, _mm512_load_ps(kGeluC1)));
  p = vfma(p, t, _mm512_permutexvar_ps(i, _mm512_load_ps(kGeluC0)));
  const V y = vfma(u, p, vmul(vset(0.5f), x));
  // |x| >= 5.6 (infinities included, NaN not): x or -0, as the rational form gives. The last interval's polynomial
  // at t = 1 is 0.5 - 2.3e-8, not 0.5, which left gelu(x) at -2.3e-8 |x| for large negative x (-2.3e-5 at -1000).
  const __mmask16 sat = _mm512_cmp_ps_mask(s, vset(16.0f), _CMP_GE_OQ);
  return _mm512_mask_max_ps(y, sat, x, vset(-0.0f));
}
#else
inline V gelu_vec(V x) { return gelu_rational_vec(x); }
#endif

#if defined(__AVX512F__)
inline V vmax_keep_nan(float c, V v) { return _mm512_max_ps(vset(c), v); }
#else
inline V vmax_keep_nan(float c, V v) { return _mm256_max_ps(vset(c), v); }
#endif

// e^z for the sigmoid-form activations below, z clamped to [-87, 88] first: e^z stays a normal number (~1.6e-38 to
// ~1.7e38), so nothing overflows and no result is subnormal (a microcode assist on Intel cores), and where the
// clamp bites 1 + e^z is 1, or x / (1 + e^z) is within ~1e-36 of the exact value. exp_reduced (vexp_simd.h), ~1 ulp.
// NaN propagates.
inline V exp_clamped(V z) {
  z = vmax_keep_nan(-87.0f, vmin_keep_nan(88.0f, z));
  const V n = round_nearest(vmul(z, vset(1.44269504088896341f)));
  return vmul(exp_reduced(z, n), pow2n(n));
}

// x / (1 + e^z): x sigmoid(-z); -inf gives -0, NaN propagates.
inline V x_over_one_plus_exp(V x, V z) { return vneginf_to_negzero(x, vdiv(x, vadd(vset(1.0f), exp_clamped(z)))); }

// The epilogue's activations on a register, in fp32 (vm::silu_f and the others form the exponent in double and
// take ~1.1-1.3x the time of the whole GEMM of an FFN up projection at 128 rows; these ~1.02-1.05x). SiLU and quick
// GELU as x / (1 + e^{-c x}) (c = 1: -x is exact; c = 1.702: one rounding), tanh GELU as
// 0.5 x (1 + tanh u) = x / (1 + e^{-2u}), -2u = x (-1.5957691216 - 0.0713548163 x^2). Against float64:
// |error| <= ~4e-7 max(1, |x|) (the exponent's roundings, relative ~1e-7 |z|, scaled by x s (1 - s) with
// s = sigmoid, small where |z| is large). ReLU keeps NaN and -0 as sel(x < 0, 0, x) does.
template <int ACT>
inline V act_vec(V x) {
  if constexpr (ACT == TSR_ACT_GELU) return gelu_vec(x);
  else if constexpr (ACT == TSR_ACT_GELU_TANH)
    return x_over_one_plus_exp(x, vmul(x, vfma(vmul(x, x), vset(-0.07135481627260025f), vset(-1.5957691216057308f))));
  else if constexpr (ACT == TSR_ACT_SILU) return x_over_one_plus_exp(x, vmul(vset(-1.0f), x));
  else if constexpr (ACT == TSR_ACT_QUICK_GELU) return x_over_one_plus_exp(x, vmul(vset(-1.702f), x));
  else if constexpr (ACT == TSR_ACT_RELU) return vmax_keep_nan(0.0f, x);
  else return x;
}

// The accumulators of a tile through act_vec<ACT>.
template <int ACT, int R>
inline void act_tile(V *acc0, V *acc1) {
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    acc0[i] = act_vec<ACT>(acc0[i]);
    acc1[i] = act_vec<ACT>(acc1[i]);
  }
}

// y[j] = act(y[j] + bias[j]) + res[j], j < n (bias, res may be null), a register at a time.
template <int ACT>
void epi_run(float *y, int64_t n, const float *bias, const float *res) {
  for (int64_t j = 0; j < n; j += W) {
    const int t = n - j < W ? static_cast<int>(n - j) : W;
    V v = vloadn(y + j, t);
    if (bias) v = vadd(v, vloadn(bias + j, t));
    v = act_vec<ACT>(v);
    if (res) v = vadd(v, vloadn(res + j, t));
    vstoren(y + j, v, t);
  }
}


// Tile of R rows x TW columns (nv of them valid, 1..TW): ap = packed micro-panel [kc][R], bp = the panel's
// slice (rows NR elements apart, already offset to the tile's first column; BT float, bfloat16 bits or int8), c /
// scale / bias / res at the tile's first column (scale: int8 weights' per-column scales, else null).
template <int R, class BT>
void tile(const float *ap, const BT *bp, int64_t kc, int nv, float *c, int64_t ldc, int flags, const GemmArgs &g,
          const float *scale, const float *bias, const float *res) {
  V acc0[R], acc1[R];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    acc0[i] = vzero();
    acc1[i] = vzero();
  }
#pragma GCC unroll 2
  for (int64_t kk = 0; kk < kc; ++kk) {
    if constexpr (R <= 4 && kPrefetchBytes<BT> > 0) {  // few rows: memory bound on the weight stream, fetch ahead
      const char *ahead = reinterpret_cast<const char *>(bp + kk * NR) + kPrefetchBytes<BT>;
      _mm_prefetch(ahead, _MM_HINT_T0);
      if constexpr (sizeof(BT) * NR > 64) _mm_prefetch(ahead + 64, _MM_HINT_T0);
    }
    const V b0 = bload(bp + kk * NR);
    const V b1 = bload(bp + kk * NR + W);
    const float *a = ap + kk * R;
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const V av = vbcast(a + i);
      acc0[i] = vfma(av, b0, acc0[i]);
      acc1[i] = vfma(av, b1, acc1[i]);
    }
  }
  const int n0 = nv < W ? nv : W, n1 = nv - W;
  const bool full = nv == TW;
  if (flags & kLoadC) {
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const float *ci = c + i * ldc;
      acc0[i] = vadd(acc0[i], full ? vload(ci) : vloadn(ci, n0));
      acc1[i] = vadd(acc1[i], full ? vload(ci + W) : vloadn(ci + W, n1));
    }
  }
  if (flags & kFinal) {
    if (scale) {  // a multiply of its own, then the bias (never fused: the bits of the documented order)
      const V s0 = vloadn(scale, n0), s1 = vloadn(scale + W, n1);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        acc0[i] = rounded(vmul(acc0[i], s0));
        acc1[i] = rounded(vmul(acc1[i], s1));
      }
    }
    if (bias) {
      const V bb0 = vloadn(bias, n0), bb1 = vloadn(bias + W, n1);
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        acc0[i] = vadd(acc0[i], bb0);
        acc1[i] = vadd(acc1[i], bb1);
      }
    }
    if (g.act != TSR_ACT_NONE)  // on the registers: no round trip through memory
      with_act(g.act, [&](auto a) { act_tile<decltype(a)::value, R>(acc0, acc1); });
    if (res) {
#pragma GCC unroll 16
      for (int i = 0; i < R; ++i) {
        const float *ri = res + i * g.ldr;
        acc0[i] = vadd(acc0[i], full ? vload(ri) : vloadn(ri, n0));
        acc1[i] = vadd(acc1[i], full ? vload(ri + W) : vloadn(ri + W, n1));
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    vstoren(c + i * ldc, acc0[i], n0);
    vstoren(c + i * ldc + W, acc1[i], n1);
  }
}

#else  // scalar ISA: a tile of MR rows x TW columns (NEON intrinsics on AArch64, plain loops elsewhere)

// y[j] = act(y[j] + bias[j]) + res[j], j < n (bias, res may be null).
template <int ACT>
void epi_run(float *y, int64_t n, const float *bias, const float *res) {
  if (bias && res) {
    for (int64_t j = 0; j < n; ++j) y[j] = act1<ACT>(y[j] + bias[j]) + res[j];
  } else if (bias) {
    for (int64_t j = 0; j < n; ++j) y[j] = act1<ACT>(y[j] + bias[j]);
  } else if (res) {
    for (int64_t j = 0; j < n; ++j) y[j] = act1<ACT>(y[j]) + res[j];
  } else {
    for (int64_t j = 0; j < n; ++j) y[j] = act1<ACT>(y[j]);
  }
}

void epi_rows(float *y, int64_t ldy, int64_t rows, int64_t n, const float *bias, int act, const float *res,
              int64_t ldr);

// The finish of a tile held in acc (R rows of TW floats): + C (later k slices), the epilogue on the last slice, the
// store of its nv valid columns.
template <int R, int TW_>
inline void tile_finish(float (&acc)[R][TW_], int nv, float *c, int64_t ldc, int flags, const GemmArgs &g,
                        const float *scale, const float *bias, const float *res) {
  for (int i = 0; i < R; ++i) {
    float *ci = c + i * ldc;
    if (flags & kLoadC)
      for (int j = 0; j < nv; ++j) acc[i][j] += ci[j];
    if (flags & kFinal) {
      if (scale)
        for (int j = 0; j < nv; ++j) acc[i][j] = rounded(acc[i][j] * scale[j]);
      epi_rows(acc[i], TW_, 1, nv, bias, g.act, res ? res + i * g.ldr : nullptr, 0);
    }
    for (int j = 0; j < nv; ++j) ci[j] = acc[i][j];
  }
}

#if defined(__aarch64__) && defined(__ARM_NEON)
// AArch64: tiles of 6 rows x 16 columns (two per panel) with NEON intrinsics: 24 accumulators, 4 B vectors and the
// A values in 32 registers, one fused multiply-add by element per row and vector. The plain loops below, vectorised
// by GCC for a 4 x 32 tile (32 accumulators), spilled a third of them: a stack load and store beside every third
// FMA of the inner loop. The same sums in the same order (fused, as GCC contracts the loops); only products of 5-6
// rows with k > kKC changed, now streamed in one pass as decode-sized rows (m <= MR).
constexpr int MR = 6;
constexpr int HALVES = 2;
constexpr int TW = static_cast<int>(NR) / HALVES;

inline float32x4_t nload(const float *p) { return vld1q_f32(p); }
inline float32x4_t nload(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
inline float32x4_t nload(const int8_t *p) {  // 4 int8 (one 32-bit load: never past the panel's row)
  int32_t four;
  std::memcpy(&four, p, sizeof four);
  const int16x8_t w = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four)));
  return vcvtq_f32_s32(vmovl_s16(vget_low_s16(w)));
}

template <int R, class BT>
void tile(const float *ap, const BT *bp, int64_t kc, int nv, float *c, int64_t ldc, int flags, const GemmArgs &g,
          const float *scale, const float *bias, const float *res) {
  float32x4_t acc[R][4];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = vdupq_n_f32(0.0f);
  for (int64_t kk = 0; kk < kc; ++kk) {
    const BT *b = bp + kk * NR;
    const float32x4_t b0 = nload(b), b1 = nload(b + 4), b2 = nload(b + 8), b3 = nload(b + 12);
    const float *a = ap + kk * R;
// Row I's four accumulators += lane L of A times the four B vectors (a macro: a helper taking the accumulators by
// pointer kept GCC storing all 24 of them to the stack on every k step).
#define TSR_NEON_ROW(I, A, L)                          \
  acc[I][0] = vfmaq_laneq_f32(acc[I][0], b0, A, L); \
  acc[I][1] = vfmaq_laneq_f32(acc[I][1], b1, A, L); \
  acc[I][2] = vfmaq_laneq_f32(acc[I][2], b2, A, L); \
  acc[I][3] = vfmaq_laneq_f32(acc[I][3], b3, A, L)
    if constexpr (R == 6) {  // the A values in two registers (4 + 2 lanes): 24 + 4 + 2 registers in all
      const float32x4_t lo = vld1q_f32(a);
      const float32x4_t hi = vcombine_f32(vld1_f32(a + 4), vdup_n_f32(0.0f));
      TSR_NEON_ROW(0, lo, 0);
      TSR_NEON_ROW(1, lo, 1);
      TSR_NEON_ROW(2, lo, 2);
      TSR_NEON_ROW(3, lo, 3);
      TSR_NEON_ROW(4, hi, 0);
      TSR_NEON_ROW(5, hi, 1);
    } else {
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const float av = a[i];
        acc[i][0] = vfmaq_n_f32(acc[i][0], b0, av);
        acc[i][1] = vfmaq_n_f32(acc[i][1], b1, av);
        acc[i][2] = vfmaq_n_f32(acc[i][2], b2, av);
        acc[i][3] = vfmaq_n_f32(acc[i][3], b3, av);
      }
    }
#undef TSR_NEON_ROW
  }
  float out[R][TW];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    vst1q_f32(out[i], acc[i][0]);
    vst1q_f32(out[i] + 4, acc[i][1]);
    vst1q_f32(out[i] + 8, acc[i][2]);
    vst1q_f32(out[i] + 12, acc[i][3]);
  }
  tile_finish<R, TW>(out, nv, c, ldc, flags, g, scale, bias, res);
}

#else
constexpr int MR = 4;
constexpr int HALVES = 1;
constexpr int TW = static_cast<int>(NR);

template <int R, class BT>
void tile(const float *ap, const BT *bp, int64_t kc, int nv, float *c, int64_t ldc, int flags, const GemmArgs &g,
          const float *scale, const float *bias, const float *res) {
  float acc[R][NR];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  float bw[NR];
  for (int64_t kk = 0; kk < kc; ++kk) {
    const BT *b = bp + kk * NR;
    for (int j = 0; j < NR; ++j) bw[j] = widen(b[j]);
    for (int i = 0; i < R; ++i) {
      const float av = ap[kk * R + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += av * bw[j];
    }
  }
  tile_finish<R, TW>(acc, nv, c, ldc, flags, g, scale, bias, res);
}
#endif

#endif

template <class BT>
using TileFn = void (*)(const float *, const BT *, int64_t, int, float *, int64_t, int, const GemmArgs &,
                        const float *, const float *, const float *);

template <class BT, int... I>
constexpr auto make_tiles(std::integer_sequence<int, I...>) {
  return std::array<TileFn<BT>, sizeof...(I)>{&tile<I + 1, BT>...};
}

// The stand-alone epilogue (rows of y in place) and the scalar tile's: epi_run of the ISA for the activation.
void epi_rows(float *y, int64_t ldy, int64_t rows, int64_t n, const float *bias, int act, const float *res,
              int64_t ldr) {
  for (int64_t r = 0; r < rows; ++r) {
    float *yr = y + r * ldy;
    const float *rr = res ? res + r * ldr : nullptr;
    with_act(act, [&](auto a) { epi_run<decltype(a)::value>(yr, n, bias, rr); });
  }
}

const auto kTiles = make_tiles<float>(std::make_integer_sequence<int, MR>{});
const auto kTilesBf16 = make_tiles<uint16_t>(std::make_integer_sequence<int, MR>{});
const auto kTilesS8 = make_tiles<int8_t>(std::make_integer_sequence<int, MR>{});

// ------------------------------------------------------------------ block driver

// How k is cut: decode-sized products stream each panel once from start to end; others cut k into equal slices,
// a multiple of 8 long (the last one takes the rest), decided by the product's rows, not the block's, so that the
// sums of a row do not depend on how the rows were cut (thread count) or which thread ran them.
int64_t slice_len(const GemmArgs &g) {
  const int64_t k = g.k;
  int64_t kc_max = k > 0 ? k : 1;
  if (g.m > MR && k > kKC) {
    const int64_t ns = (k + kKC - 1) / kKC;
    kc_max = ((k + ns - 1) / ns + 7) / 8 * 8;
  }
  return kc_max;
}

int64_t slices(const GemmArgs &g) {
  const int64_t kc_max = slice_len(g);
  return g.k > 0 ? (g.k + kc_max - 1) / kc_max : 1;
}

// One k slice of a block's rows [r0, r1), packed into micro-panels MR * kc_max floats apart.
void pack_rows(const GemmArgs &g, int64_t r0, int64_t r1, int64_t k0, int64_t kc, int64_t kc_max, float *abuf) {
  const int64_t npanels_a = (r1 - r0 + MR - 1) / MR;
  for (int64_t ip = 0; ip < npanels_a; ++ip) {
    const int64_t i0 = r0 + ip * MR;
    const int64_t ri = r1 - i0 < MR ? r1 - i0 : MR;
    pack_a_panel(g.a + i0 * g.lda + k0, g.lda, ri, kc, abuf + ip * MR * kc_max);
  }
}

// Bytes per element of the packed weight.
inline int64_t packed_elem_bytes(int btype) { return btype == kBBf16 ? 2 : btype == kBS8 ? 1 : 4; }

// Panel p of one k slice over the block's packed rows, the slice's elements at bp_panel (kc rows NR apart: the packed
// weight's own, or their fp32 widening); next: the panel this thread runs after it (-1: none), whose slice is
// prefetched meanwhile.
template <class BT>
void run_panel_t(const GemmArgs &g, int64_t r0, int64_t r1, const float *abuf, int64_t kc_max, int64_t k0,
                 int64_t kc, int flags, int64_t p, int64_t next, const BT *bp_panel) {
  const int64_t npanels_a = (r1 - r0 + MR - 1) / MR;
  for (int h = 0; h < HALVES; ++h) {
    const int64_t j0 = p * NR + h * TW;
    if (j0 >= g.n) break;
    const int nv = static_cast<int>(g.n - j0 < TW ? g.n - j0 : TW);
    const BT *bp = bp_panel + h * TW;
    const float *bias = g.bias ? g.bias + j0 : nullptr;
    const float *scale = g.scale ? g.scale + j0 : nullptr;
    for (int64_t ip = 0; ip < npanels_a; ++ip) {
      const int64_t i0 = r0 + ip * MR;
      const int64_t ri = r1 - i0 < MR ? r1 - i0 : MR;
      const float *res = g.res ? g.res + i0 * g.ldr + j0 : nullptr;
#if defined(__AVX512F__) || defined(__AVX2__)
      // The next panel's slice into L2, a share per tile of this one: the weights of a layer are read from
      // memory once per product (MiniLM: 42 MB of projections a forward), and the first tile of a cold panel
      // waits on them where the hardware prefetcher lags. MiniLM at one sentence of 128 tokens on a 2-core Xeon: 6-9%
      // faster forward (interleaved A/B in one process); unchanged at batch 8.
      if (npanels_a > 1 && next >= 0 && h == HALVES - 1) {
        const int64_t k = g.k, eb = packed_elem_bytes(g.btype);
        const int64_t lines = kc * NR * eb / 64;
        const int64_t per = (lines + npanels_a - 1) / npanels_a;
        const int64_t l0 = ip * per, l1 = l0 + per < lines ? l0 + per : lines;
        const char *ahead = static_cast<const char *>(g.packed) + (next * k + k0) * NR * eb;
        for (int64_t l = l0; l < l1; ++l) _mm_prefetch(ahead + l * 64, _MM_HINT_T1);
      }
#endif
      const float *ai = abuf + ip * MR * kc_max;
      float *ci = g.c + i0 * g.ldc + j0;
      if constexpr (std::is_same_v<BT, float>) kTiles[ri - 1](ai, bp, kc, nv, ci, g.ldc, flags, g, scale, bias, res);
      else if constexpr (std::is_same_v<BT, uint16_t>)
        kTilesBf16[ri - 1](ai, bp, kc, nv, ci, g.ldc, flags, g, scale, bias, res);
      else kTilesS8[ri - 1](ai, bp, kc, nv, ci, g.ldc, flags, g, scale, bias, res);
    }
  }
}

template <class BT>
void widen_slice(const BT *src, int64_t n, float *dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = widen(src[i]);
}

void run_panel(const GemmArgs &g, int64_t r0, int64_t r1, const float *abuf, int64_t kc_max, int64_t k0, int64_t kc,
               int flags, int64_t p, int64_t next) {
  const int64_t off = (p * g.k + k0) * NR;
  if (g.btype == kBF32) {
    run_panel_t<float>(g, r0, r1, abuf, kc_max, k0, kc, flags, p, next, static_cast<const float *>(g.packed) + off);
    return;
  }
  // Three or more micro-panels of rows read a bfloat16 / int8 slice: widened to fp32 once (kc x 32 floats, in L2)
  // instead of in every tile, the fp32 tiles then run on it (the same values, so the same bits). Prefills of the
  // 0.85B Llama ran at 0.82-0.87x their F32 speed while each tile widened its loads.
  if (r1 - r0 > 2 * MR) {
    float *wb = thread_buffer<1>(kc * NR);
    if (g.btype == kBBf16) widen_slice(static_cast<const uint16_t *>(g.packed) + off, kc * NR, wb);
    else widen_slice(static_cast<const int8_t *>(g.packed) + off, kc * NR, wb);
    run_panel_t<float>(g, r0, r1, abuf, kc_max, k0, kc, flags, p, next, wb);
    return;
  }
  if (g.btype == kBBf16)
    run_panel_t<uint16_t>(g, r0, r1, abuf, kc_max, k0, kc, flags, p, next,
                          static_cast<const uint16_t *>(g.packed) + off);
  else
    run_panel_t<int8_t>(g, r0, r1, abuf, kc_max, k0, kc, flags, p, next, static_cast<const int8_t *>(g.packed) + off);
}

int slice_flags(int64_t s, int64_t nslices) { return (s > 0 ? kLoadC : 0) | (s == nslices - 1 ? kFinal : 0); }

void block(const GemmArgs &g, int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
  const int64_t k = g.k;
  const int64_t kc_max = slice_len(g);
  float *abuf = a_buffer((r1 - r0 + MR - 1) / MR * MR * kc_max);
  const int64_t nslices = slices(g);
  for (int64_t s = 0; s < nslices; ++s) {
    const int64_t k0 = s * kc_max;
    const int64_t kc = k - k0 < kc_max ? k - k0 : kc_max;
    pack_rows(g, r0, r1, k0, kc, kc_max, abuf);
    for (int64_t p = p0; p < p1; ++p) run_panel(g, r0, r1, abuf, kc_max, k0, kc, slice_flags(s, nslices), p, p + 1 < p1 ? p + 1 : -1);
  }
}

void run_task(const GemmArgs &g, const int64_t *row_starts, int64_t panels, int64_t s, int64_t task, int64_t ahead,
              GemmTaskState &st) {
  const int64_t rb = task / panels, p = task % panels;
  const int64_t r0 = row_starts[rb], r1 = row_starts[rb + 1];
  if (r1 <= r0) return;
  const int64_t k = g.k;
  const int64_t kc_max = slice_len(g);
  const int64_t k0 = s * kc_max;
  const int64_t kc = k - k0 < kc_max ? k - k0 : kc_max;
  if (st.packed_rb != rb) {
    st.abuf = a_buffer((r1 - r0 + MR - 1) / MR * MR * kc_max);
    pack_rows(g, r0, r1, k0, kc, kc_max, st.abuf);
    st.packed_rb = rb;
  }
  run_panel(g, r0, r1, st.abuf, kc_max, k0, kc, slice_flags(s, slices(g)), p,
            ahead >= 0 && ahead / panels == rb ? ahead % panels : -1);
}

void epilogue(float *y, int64_t ldy, int64_t rows, int64_t n, const float *bias, int act, const float *res,
              int64_t ldr) {
  epi_rows(y, ldy, rows, n, bias, act, res, ldr);
}

}  // namespace

const GemmKernels &gemm_kernels() {
  static const GemmKernels k = {TSR_ISA_NAME, MR, block, slices, run_task, pack_w, epilogue};
  return k;
}

}  // namespace TSR_ISA_NS
}  // namespace tsr
