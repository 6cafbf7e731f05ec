// Core CPU kernels (elementwise, norms, softmax, activations, transpose, dtype conversion). This
// file is compiled once per ISA (TSR_ISA_NS = isa_scalar / isa_avx2 / isa_avx512, with the matching
// -m flags); the loops are written so that GCC vectorises them for the target, plus a few
// intrinsics paths guarded by the ISA macros. Kernels work on ranges; threading is the
// dispatcher's job (src/cpu/dispatch.cpp).
#include "isa_table.h"

#include <cmath>
#include <cstring>

#include "half.h"
#include "tessera/tessera.h"
#include "vmath.h"
#include "hreduce.h"

#if defined(__AVX2__) || defined(__AVX512F__) || defined(__F16C__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "isa_unit.h"
#include "transpose.h"

namespace tsr {
namespace TSR_ISA_NS {
namespace {

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// ---------------------------------------------------------------- reductions (per row)
// GCC vector extensions at the native width of the ISA: two independent accumulators of VW lanes
// each, sums in double (so rows of 64K elements stay far inside the 1e-6 error budget). Written
// with explicit vectors because GCC does not vectorise these reductions by itself without
// -ffast-math (NaN-aware max, no reassociation).
constexpr int VW = kVecFloats;
typedef float vfloat __attribute__((vector_size(VW * sizeof(float))));
// Double sums: half a float vector widens to one full-width double vector (vcvtps2pd), so GCC
// never has to split a conversion that the ISA cannot do in one instruction.
constexpr int VH = VW / 2;
typedef float vhalf __attribute__((vector_size(VH * sizeof(float))));
typedef double vdouble __attribute__((vector_size(VH * sizeof(double))));

#define TSR_LOADV(dst, ptr) std::memcpy(&(dst), (ptr), sizeof(dst))

// max over x[0, n), NaN ignored (a NaN still reaches the softmax through its exp/sum pass).
inline float row_max(const float *x, int64_t n) {
  const float ninf = -__builtin_inff();
  vfloat m0 = vfloat{} + ninf, m1 = m0;
  int64_t i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    vfloat a, b;
    TSR_LOADV(a, x + i);
    TSR_LOADV(b, x + i + VW);
    m0 = a > m0 ? a : m0;
    m1 = b > m1 ? b : m1;
  }
  m0 = m1 > m0 ? m1 : m0;
  float r = ninf;
  for (int j = 0; j < VW; ++j) r = m0[j] > r ? m0[j] : r;
  for (; i < n; ++i) r = x[i] > r ? x[i] : r;
  return r;
}

// Sum over x[0, n) of f(x) in double, f applied to widened vectors and to scalars (four
// independent accumulators).
template <class F>
inline double row_reduce(const float *x, int64_t n, F f) {
  vdouble a0 = {}, a1 = {}, a2 = {}, a3 = {};
  int64_t i = 0;
  for (; i + 4 * VH <= n; i += 4 * VH) {
    vhalf h0, h1, h2, h3;
    TSR_LOADV(h0, x + i);
    TSR_LOADV(h1, x + i + VH);
    TSR_LOADV(h2, x + i + 2 * VH);
    TSR_LOADV(h3, x + i + 3 * VH);
    a0 += f(__builtin_convertvector(h0, vdouble));
    a1 += f(__builtin_convertvector(h1, vdouble));
    a2 += f(__builtin_convertvector(h2, vdouble));
    a3 += f(__builtin_convertvector(h3, vdouble));
  }
  const vdouble a = (a0 + a1) + (a2 + a3);
  double s = 0.0;
  for (int j = 0; j < VH; ++j) s += a[j];
  for (; i < n; ++i) s += f(static_cast<double>(x[i]));
  return s;
}

// sum x (double).
inline double row_sum(const float *x, int64_t n) {
  return row_reduce(x, n, [](auto v) { return v; });
}

// The same sums for the norms, faster: float vectors (four accumulators) within blocks of kNormBlock elements,
// so each lane adds at most kNormBlock / (4 VW) terms in float (16 on AVX-512), and the block sums in double.
// The error stays at a few ulp of the block sums whatever the row length (the fp32 reductions DESIGN.md asks
// for), at the cost of one float pass instead of a widening one.
constexpr int64_t kNormBlock = 1024;
template <class F>
inline double row_reduce_blocked(const float *x, int64_t n, F f) {
  double total = 0.0;
  int64_t i = 0;
  while (i + 4 * VW <= n) {
    const int64_t whole = i + (n - i) / (4 * VW) * (4 * VW);
    const int64_t e = whole - i > kNormBlock ? i + kNormBlock : whole;
    vfloat a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (; i < e; i += 4 * VW) {
      vfloat h0, h1, h2, h3;
      TSR_LOADV(h0, x + i);
      TSR_LOADV(h1, x + i + VW);
      TSR_LOADV(h2, x + i + 2 * VW);
      TSR_LOADV(h3, x + i + 3 * VW);
      a0 += f(h0);
      a1 += f(h1);
      a2 += f(h2);
      a3 += f(h3);
    }
    total += hsum<VW>((a0 + a1) + (a2 + a3));
  }
  for (; i < n; ++i) {
    vfloat v = vfloat{} + x[i];
    total += f(v)[0];
  }
  return total;
}
inline double norm_sum(const float *x, int64_t n) {
  return row_reduce_blocked(x, n, [](vfloat v) { return v; });
}
// sum (x - mean)^2 with the mean as fm + dm (fm its float rounding)
inline double norm_sq_dev(const float *x, int64_t n, float fm, float dm) {
  return row_reduce_blocked(x, n, [fm, dm](vfloat v) {
    const vfloat d = (v - fm) - dm;
    return d * d;
  });
}
inline double norm_sq(const float *x, int64_t n) {
  return row_reduce_blocked(x, n, [](vfloat v) { return v * v; });
}

// out[i] = exp(x[i] - m) (auto-vectorised), then the sum of out (double).
inline double row_exp_sum(const float *x, float *out, int64_t n, float m) {
  for (int64_t i = 0; i < n; ++i) out[i] = vm::exp_f(x[i] - m);
  return row_sum(out, n);
}

// ---------------------------------------------------------------- elementwise

template <int OP>
inline float apply(float a, float b) {
  if constexpr (OP == TSR_OP_ADD) return a + b;
  if constexpr (OP == TSR_OP_SUB) return a - b;
  if constexpr (OP == TSR_OP_MUL) return a * b;
  return a / b;
}

template <int OP>
void binary_k(const float *a, const float *b, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = apply<OP>(a[i], b[i]);
}

template <int OP>
void binary_row_k(const float *x, const float *row, float *out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * cols;
    float *o = out + r * cols;
    for (int64_t c = 0; c < cols; ++c) o[c] = apply<OP>(xr[c], row[c]);
  }
}

// One run of a broadcasting binary op; the common stride patterns get their own (vectorised) loops.
template <int OP>
void binary_strided_k(const float *a, int64_t sa, const float *b, int64_t sb, float *out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = apply<OP>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = apply<OP>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = apply<OP>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = apply<OP>(a[i * sa], b[i * sb]);
  }
}

void affine_k(const float *x, float alpha, float beta, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = alpha * x[i] + beta;
}

void gelu_erf_k(const float *x, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = vm::gelu_erf_f(x[i]);
}

void gelu_tanh_k(const float *x, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = vm::gelu_tanh_f(x[i]);
}

void silu_k(const float *x, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = vm::silu_f(x[i]);
}

// ---------------------------------------------------------------- norms, softmax

void layer_norm_k(const float *x, const float *gamma, const float *beta, float *out, int64_t rows,
                  int64_t cols, float eps) {
  const double inv_n = 1.0 / static_cast<double>(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * cols;
    float *o = out + r * cols;
    const double mean = norm_sum(xr, cols) * inv_n;
    // x - mean as (x - fm) - dm: the first difference is exact when x is close to a large mean.
    const float fm = static_cast<float>(mean);
    const float dm = static_cast<float>(mean - static_cast<double>(fm));
    const double var = norm_sq_dev(xr, cols, fm, dm) * inv_n;
    const float rstd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    if (gamma && beta) {
      for (int64_t c = 0; c < cols; ++c) o[c] = ((xr[c] - fm) - dm) * rstd * gamma[c] + beta[c];
    } else if (gamma) {
      for (int64_t c = 0; c < cols; ++c) o[c] = ((xr[c] - fm) - dm) * rstd * gamma[c];
    } else if (beta) {
      for (int64_t c = 0; c < cols; ++c) o[c] = ((xr[c] - fm) - dm) * rstd + beta[c];
    } else {
      for (int64_t c = 0; c < cols; ++c) o[c] = ((xr[c] - fm) - dm) * rstd;
    }
  }
}

void rms_norm_k(const float *x, const float *gamma, float *out, int64_t rows, int64_t cols, float eps) {
  const double inv_n = 1.0 / static_cast<double>(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * cols;
    float *o = out + r * cols;
    const double ms = norm_sq(xr, cols) * inv_n;
    const float rs = static_cast<float>(1.0 / std::sqrt(ms + static_cast<double>(eps)));
    if (gamma) {
      for (int64_t c = 0; c < cols; ++c) o[c] = xr[c] * rs * gamma[c];
    } else {
      for (int64_t c = 0; c < cols; ++c) o[c] = xr[c] * rs;
    }
  }
}

void softmax_k(const float *x, float *out, int64_t rows, int64_t cols, int64_t causal_q, int64_t row0) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * cols;
    float *o = out + r * cols;
    int64_t visible = cols;
    if (causal_q > 0) {
      const int64_t i = (row0 + r) % causal_q;
      visible = i + cols - causal_q + 1;
      visible = visible < 0 ? 0 : (visible > cols ? cols : visible);
    }
    if (visible > 0) {
      const float m = row_max(xr, visible);
      const double s = row_exp_sum(xr, o, visible, m);
      const float inv = static_cast<float>(1.0 / s);
      for (int64_t c = 0; c < visible; ++c) o[c] *= inv;
    }
    for (int64_t c = visible; c < cols; ++c) o[c] = 0.0f;
  }
}

// ---------------------------------------------------------------- transpose

template <typename T>
void transpose_tile(const T *xs, T *os, int64_t rows, int64_t cols, int64_t r0, int64_t r1, int64_t c0,
                    int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    T *o = os + c * rows;
    const T *xc = xs + c;
    for (int64_t r = r0; r < r1; ++r) o[r] = xc[r * cols];
  }
}


template <typename T>
void transpose_tiles(const void *xv, void *ov, int64_t rows, int64_t cols, int64_t t0, int64_t t1) {
  const T *x = static_cast<const T *>(xv);
  T *out = static_cast<T *>(ov);
  const int64_t ts = kTransposeTile;
  const int64_t ntr = (rows + ts - 1) / ts, ntc = (cols + ts - 1) / ts;
  const int64_t per = ntr * ntc;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t b = t / per, rem = t % per;
    const int64_t r0 = (rem / ntc) * ts, c0 = (rem % ntc) * ts;
    const int64_t r1 = min64(r0 + ts, rows), c1 = min64(c0 + ts, cols);
    const T *xs = x + b * rows * cols;
    T *os = out + b * rows * cols;
#if defined(__AVX__)
    if constexpr (sizeof(T) == 4) {
      if (r1 - r0 == ts && c1 - c0 == ts) {
        for (int64_t r = r0; r < r1; r += 8)
          for (int64_t c = c0; c < c1; c += 8)
            transpose8x8_f32(reinterpret_cast<const float *>(xs + r * cols + c), cols,
                             reinterpret_cast<float *>(os + c * rows + r), rows);
        continue;
      }
    }
#endif
    transpose_tile<T>(xs, os, rows, cols, r0, r1, c0, c1);
  }
}

void transpose_k(const void *x, void *out, int64_t rows, int64_t cols, int elem_size, int64_t t0, int64_t t1) {
  switch (elem_size) {
    case 1: transpose_tiles<uint8_t>(x, out, rows, cols, t0, t1); break;
    case 2: transpose_tiles<uint16_t>(x, out, rows, cols, t0, t1); break;
    case 4: transpose_tiles<uint32_t>(x, out, rows, cols, t0, t1); break;
    default: transpose_tiles<uint64_t>(x, out, rows, cols, t0, t1); break;
  }
}

// ---------------------------------------------------------------- dtype conversion

void f32_to_f16(const float *x, uint16_t *o, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  // (the maskz forms avoid a GCC 12 -Wmaybe-uninitialized false positive in the plain intrinsics)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(o + i),
                        _mm512_maskz_cvtps_ph(static_cast<__mmask16>(0xffff), _mm512_loadu_ps(x + i),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i *>(o + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; ++i) o[i] = half::f32_to_f16(x[i]);
}

void f16_to_f32(const uint16_t *x, float *o, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(o + i, _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xffff), _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x + i))));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i))));
#endif
  for (; i < n; ++i) o[i] = half::f16_to_f32(x[i]);
}

void f32_to_bf16(const float *x, uint16_t *o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = half::f32_to_bf16(x[i]);
}

void bf16_to_f32(const uint16_t *x, float *o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = half::bf16_to_f32(x[i]);
}

void convert_k(const void *xv, int src, void *ov, int dst, int64_t n) {
  if (src == TSR_F32) {
    const float *x = static_cast<const float *>(xv);
    if (dst == TSR_F16) f32_to_f16(x, static_cast<uint16_t *>(ov), n);
    else f32_to_bf16(x, static_cast<uint16_t *>(ov), n);
    return;
  }
  const uint16_t *x = static_cast<const uint16_t *>(xv);
  if (dst == TSR_F32) {
    if (src == TSR_F16) f16_to_f32(x, static_cast<float *>(ov), n);
    else bf16_to_f32(x, static_cast<float *>(ov), n);
    return;
  }
  // f16 <-> bf16 through an fp32 buffer on the stack (exact widening, then one rounding).
  uint16_t *o = static_cast<uint16_t *>(ov);
  float buf[1024];
  for (int64_t i = 0; i < n; i += 1024) {
    const int64_t m = min64(1024, n - i);
    if (src == TSR_F16) {
      f16_to_f32(x + i, buf, m);
      f32_to_bf16(buf, o + i, m);
    } else {
      bf16_to_f32(x + i, buf, m);
      f32_to_f16(buf, o + i, m);
    }
  }
}

// ---------------------------------------------------------------- unary table

template <int OP>
inline float unary_apply(float x) {
  if constexpr (OP == TSR_UNARY_SIGMOID) return vm::sigmoid_f(x);
  if constexpr (OP == TSR_UNARY_TANH) return vm::tanh_f(x);
  if constexpr (OP == TSR_UNARY_RELU) return vm::sel(x < 0.0f, 0.0f, x);  // NaN stays NaN
  if constexpr (OP == TSR_UNARY_EXP) return vm::exp_f(x);
  if constexpr (OP == TSR_UNARY_LOG) return vm::log_f(x);
  if constexpr (OP == TSR_UNARY_QUICK_GELU) return vm::quick_gelu_f(x);
  if constexpr (OP == TSR_UNARY_NEG) return -x;
  if constexpr (OP == TSR_UNARY_ABS) return vm::vabs(x);
  if constexpr (OP == TSR_UNARY_SQUARE) return x * x;
  return x;
}

template <int OP>
void unary_k(const float *x, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = unary_apply<OP>(x[i]);
}

// sqrt with the SIMD instruction (GCC keeps a scalar errno path around sqrtf and does not vectorise it
// without -fno-math-errno); the scalar tail's sqrtf gives the same IEEE results (NaN for x < 0).
template <bool RECIP>
void sqrt_t(const float *x, float *out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  const __m512 one = _mm512_set1_ps(1.0f);
  for (; i + 16 <= n; i += 16) {
    // (maskz form: the plain intrinsic trips GCC 12's -Wmaybe-uninitialized)
    const __m512 r = _mm512_maskz_sqrt_ps(static_cast<__mmask16>(0xffff), _mm512_loadu_ps(x + i));
    _mm512_storeu_ps(out + i, RECIP ? _mm512_div_ps(one, r) : r);
  }
#elif defined(__AVX__)
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 r = _mm256_sqrt_ps(_mm256_loadu_ps(x + i));
    _mm256_storeu_ps(out + i, RECIP ? _mm256_div_ps(one, r) : r);
  }
#elif defined(__SSE2__)
  const __m128 one = _mm_set1_ps(1.0f);
  for (; i + 4 <= n; i += 4) {
    const __m128 r = _mm_sqrt_ps(_mm_loadu_ps(x + i));
    _mm_storeu_ps(out + i, RECIP ? _mm_div_ps(one, r) : r);
  }
#endif
  for (; i < n; ++i) {
    const float r = std::sqrt(x[i]);
    out[i] = RECIP ? 1.0f / r : r;
  }
}

// ---------------------------------------------------------------- rope

void rope_k(const float *x, int64_t x_sb, int64_t x_sh, int64_t x_ss, const float *cos, const float *sin,
            int64_t cs_sb, float *out, int64_t heads, int64_t seq, int64_t half, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t s = r % seq;
    const int64_t bh = r / seq;
    const int64_t h = bh % heads;
    const int64_t b = bh / heads;
    const float *x1 = x + b * x_sb + h * x_sh + s * x_ss;
    const float *x2 = x1 + half;
    const float *c = cos + b * cs_sb + s * half;
    const float *sn = sin + b * cs_sb + s * half;
    float *o1 = out + r * 2 * half;
    float *o2 = o1 + half;
    for (int64_t j = 0; j < half; ++j) {
      const float a = x1[j], bb = x2[j];
      o1[j] = a * c[j] - bb * sn[j];
      o2[j] = bb * c[j] + a * sn[j];
    }
  }
}

// ---------------------------------------------------------------- last-dim reductions

void log_softmax_k(const float *x, float *out, int64_t rows, int64_t cols) {
  constexpr int64_t kChunk = 1024;
  float buf[kChunk];
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * cols;
    float *o = out + r * cols;
    const float m = row_max(xr, cols);
    double s = 0.0;
    for (int64_t c0 = 0; c0 < cols; c0 += kChunk) {  // exp into a buffer: out may alias x
      const int64_t n = min64(kChunk, cols - c0);
      for (int64_t i = 0; i < n; ++i) buf[i] = vm::exp_f(xr[c0 + i] - m);
      s += row_sum(buf, n);
    }
    // x - (m + log s) as (x - m) - log s: exact subtraction of the max for the largest logits
    const float ls = static_cast<float>(std::log(s));
    for (int64_t c = 0; c < cols; ++c) o[c] = (xr[c] - m) - ls;
  }
}

// Sum of x[0, n) for sum_rows: fp32 vector accumulators over blocks of 16 vectors per accumulator (so
// each fp32 partial sums at most 16 values), flushed into double after every block; about twice the
// speed of widening every element to double, with errors still at the double-accumulation level.
inline double row_sum_blocked(const float *x, int64_t n) {
  constexpr int64_t kBlock = 4 * 16 * VW;
  vdouble acc = {};
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    vfloat a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t j = i; j < i + kBlock; j += 4 * VW) {
      vfloat v0, v1, v2, v3;
      TSR_LOADV(v0, x + j);
      TSR_LOADV(v1, x + j + VW);
      TSR_LOADV(v2, x + j + 2 * VW);
      TSR_LOADV(v3, x + j + 3 * VW);
      a0 += v0;
      a1 += v1;
      a2 += v2;
      a3 += v3;
    }
    const vfloat a = (a0 + a1) + (a2 + a3);
    vhalf lo, hi;
    std::memcpy(&lo, &a, sizeof(lo));
    std::memcpy(&hi, reinterpret_cast<const char *>(&a) + sizeof(lo), sizeof(hi));
    acc += __builtin_convertvector(lo, vdouble) + __builtin_convertvector(hi, vdouble);
  }
  double s = row_sum(x + i, n - i);
  for (int j = 0; j < VH; ++j) s += acc[j];
  return s;
}

void sum_rows_k(const float *x, float *out, int64_t rows, int64_t cols, float scale) {
  for (int64_t r = 0; r < rows; ++r)
    out[r] = static_cast<float>(row_sum_blocked(x + r * cols, cols) * static_cast<double>(scale));
}

typedef int32_t vint __attribute__((vector_size(VW * sizeof(int32_t))));

// Row max ignoring NaN (vectorised), plus whether the row holds a NaN.
inline float row_max_nan(const float *x, int64_t n, bool *has_nan) {
  const float ninf = -__builtin_inff();
  vfloat m0 = vfloat{} + ninf;
  vint nan0 = vint{};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) {
    vfloat a;
    TSR_LOADV(a, x + i);
    m0 = a > m0 ? a : m0;
    nan0 |= (a != a);
  }
  float r = ninf;
  bool nan = false;
  for (int j = 0; j < VW; ++j) {
    r = m0[j] > r ? m0[j] : r;
    nan = nan || nan0[j] != 0;
  }
  for (; i < n; ++i) {
    r = x[i] > r ? x[i] : r;
    nan = nan || x[i] != x[i];
  }
  *has_nan = nan;
  return r;
}

void argmax_rows_k(const float *x, int32_t *out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * cols;
    bool nan = false;
    const float m = row_max_nan(xr, cols, &nan);
    int64_t idx = 0;
    if (nan) {
      while (idx < cols && xr[idx] == xr[idx]) ++idx;
    } else {
      while (idx < cols && !(xr[idx] == m)) ++idx;
    }
    out[r] = static_cast<int32_t>(idx < cols ? idx : 0);
  }
}

const CpuKernels kTable = {
    TSR_ISA_NAME,
    {binary_k<TSR_OP_ADD>, binary_k<TSR_OP_SUB>, binary_k<TSR_OP_MUL>, binary_k<TSR_OP_DIV>},
    {binary_row_k<TSR_OP_ADD>, binary_row_k<TSR_OP_SUB>, binary_row_k<TSR_OP_MUL>, binary_row_k<TSR_OP_DIV>},
    affine_k,
    layer_norm_k,
    rms_norm_k,
    softmax_k,
    gelu_erf_k,
    gelu_tanh_k,
    silu_k,
    transpose_k,
    convert_k,
    {binary_strided_k<TSR_OP_ADD>, binary_strided_k<TSR_OP_SUB>, binary_strided_k<TSR_OP_MUL>,
     binary_strided_k<TSR_OP_DIV>},
    {unary_k<TSR_UNARY_SIGMOID>, unary_k<TSR_UNARY_TANH>, unary_k<TSR_UNARY_RELU>, unary_k<TSR_UNARY_EXP>,
     unary_k<TSR_UNARY_LOG>, unary_k<TSR_UNARY_QUICK_GELU>, unary_k<TSR_UNARY_NEG>, sqrt_t<false>, sqrt_t<true>,
     unary_k<TSR_UNARY_ABS>, unary_k<TSR_UNARY_SQUARE>},
    rope_k,
    log_softmax_k,
    sum_rows_k,
    argmax_rows_k,
};
static_assert(TSR_UNARY_COUNT == 11, "update the unary table");

}  // namespace

const CpuKernels &kernels() { return kTable; }

}  // namespace TSR_ISA_NS
}  // namespace tsr
