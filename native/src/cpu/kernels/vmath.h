// Vectorisable float math for the CPU kernels: exp, tanh, erf, erfc and the activations built on
// them. Only +, *, /, comparisons with selects, int<->float bit casts and shifts are used, so GCC
// auto-vectorises loops calling these at -O3 for the ISA of the translation unit (no libm call, no
// -ffast-math needed). NaN propagates; +-inf and large |x| give the IEEE limits.
//
// Every function has internal linkage (static): this header is compiled once per ISA and the copies
// must never be merged by the linker.
#ifndef TESSERA_SRC_CPU_KERNELS_VMATH_H
#define TESSERA_SRC_CPU_KERNELS_VMATH_H

#include <cstdint>

#define TSR_VINLINE static inline __attribute__((always_inline))

namespace tsr {
namespace vm {

TSR_VINLINE uint32_t f2u(float x) { return __builtin_bit_cast(uint32_t, x); }
TSR_VINLINE float u2f(uint32_t u) { return __builtin_bit_cast(float, u); }
TSR_VINLINE float vabs(float x) { return u2f(f2u(x) & 0x7fffffffu); }
// c ? a : b as a bit blend. A plain ?: whose operands are computed float expressions is not
// if-converted by GCC under -ftrapping-math (the default), which blocks vectorisation on AVX2/SSE.
TSR_VINLINE float sel(bool c, float a, float b) {
  const uint32_t m = c ? 0xffffffffu : 0u;
  return u2f((f2u(a) & m) | (f2u(b) & ~m));
}
TSR_VINLINE double sel(bool c, double a, double b) {
  const uint64_t m = c ? ~uint64_t(0) : uint64_t(0);
  return __builtin_bit_cast(double, (__builtin_bit_cast(uint64_t, a) & m) | (__builtin_bit_cast(uint64_t, b) & ~m));
}
// |mag| with the sign of s.
TSR_VINLINE float vcopysign(float mag, float s) {
  return u2f((f2u(mag) & 0x7fffffffu) | (f2u(s) & 0x80000000u));
}

// e^(hi + lo) for a two-float argument (lo small next to hi, or both small): the range reduction
// uses hi and lo separately, so an argument known to better than float precision (e.g. -z^2 split
// exactly) keeps its accuracy. Relative error ~1 ulp (Cephes expf polynomial on [-ln2/2, ln2/2]).
// hi + lo > 88.72 gives +inf, < -103.97 gives 0, NaN gives NaN. 2^n is applied in two steps so that
// results down to the subnormal range are right. An argument below that range is computed as 0 before its result
// is replaced: computing it at the limit made a subnormal product, which costs an Intel core a microcode assist
// (~100+ cycles per vector instruction) on every -inf of a masked softmax row.
TSR_VINLINE float exp_hl(float hi, float lo) {
  const float x = hi + lo;
  const bool over = x > 88.7228394f, under = x < -103.972084f;  // both false for NaN
  const float xc = sel(over, 88.7228394f, sel(under, 0.0f, x));
  const bool clamped = over | under;
  const float h = sel(clamped, xc, hi);
  const float l = sel(clamped, 0.0f, lo);
  // n = round(x / ln2) with the 1.5 * 2^23 trick: its bits hold n (no float->int conversion).
  const float t = xc * 1.44269504088896341f + 12582912.0f;
  const float fn = t - 12582912.0f;
  const int32_t n = static_cast<int32_t>(f2u(t) - 0x4B400000u);
  float r = (h - fn * 0.693359375f) + l;  // fn * C1 is exact, and so is h - fn * C1 for |h| >= 1
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t n1 = n >> 1, n2 = n - n1;  // both in [-75, 64]
  const float s1 = u2f(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = u2f(static_cast<uint32_t>(n2 + 127) << 23);
  float y = (p * s1) * s2;
  y = sel(over, __builtin_inff(), y);
  y = sel(under, 0.0f, y);
  return y;
}

// e^x (see exp_hl).
TSR_VINLINE float exp_f(float x) { return exp_hl(x, 0.0f); }

// tanh(x): odd polynomial for |x| < 0.625 (Cephes tanhf), else 1 - 2 / (e^{2|x|} + 1).
TSR_VINLINE float tanh_f(float x) {
  const float a = vabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float e = exp_f(2.0f * a);
  const float large = vcopysign(1.0f - 2.0f / (e + 1.0f), x);
  return sel(a < 0.625f, small, large);
}

// erfc(zhi + zlo) for zhi >= 0 (or NaN), zlo tiny next to zhi, zhi <= 10.5: Chebyshev fit
// t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2), with a fractional error below ~1.2e-7 everywhere
// (Numerical Recipes' erfcc), so erfc stays accurate in the tail where 1 - erf would cancel. z^2 is
// formed as zh^2 (exact: zh keeps 12 bits) + a small remainder, so the exponent is known to ~1e-7
// absolute even where z^2 is large.
TSR_VINLINE float erfc_pos_hl(float zhi, float zlo) {
  const float z = zhi + zlo;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float zh = u2f(f2u(zhi) & 0xfffff000u);
  const float zl = zhi - zh;
  // z^2 = zh^2 + zl (zhi + zh) + zlo (2 zhi + zlo)
  return t * exp_hl(-(zh * zh), p - (zl * (zhi + zh) + zlo * (2.0f * zhi + zlo)));
}

// erfc(z) for z >= 0 (or NaN).
TSR_VINLINE float erfc_pos_f(float z) {
  z = sel(z > 10.5f, 10.5f, z);  // erfc(10.5) < 1e-49 rounds to 0; also keeps inf out of the split
  return erfc_pos_hl(z, 0.0f);
}

// erf(x): Taylor series for |x| < 0.5 (relative error ~1e-7), 1 - erfc(|x|) beyond (absolute error
// ~1.5e-7). NaN gives NaN, +-inf gives +-1.
TSR_VINLINE float erf_f(float x) {
  const float a = vabs(x);
  const float z = x * x;
  // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360)
  float p = 1.0f / 9360.0f;
  p = p * z - 1.0f / 1320.0f;
  p = p * z + 1.0f / 216.0f;
  p = p * z - 1.0f / 42.0f;
  p = p * z + 1.0f / 10.0f;
  p = p * z - 1.0f / 3.0f;
  p = p * z + 1.0f;
  const float small = 1.12837916709551257f * (p * x);
  const float large = vcopysign(1.0f - erfc_pos_f(a), x);
  return sel(a < 0.5f, small, large);
}

// erfc(x) for any x.
TSR_VINLINE float erfc_f(float x) {
  const float e = erfc_pos_f(vabs(x));
  return sel(x < 0.0f, 2.0f - e, e);
}

// GELU, erf form: 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2); the erfc form keeps the
// relative accuracy for negative x. gelu(-inf) = -0.
TSR_VINLINE float gelu_erf_f(float x) {
  // z = |x| / sqrt 2 as zhi + zlo (Dekker product with 1/sqrt 2 = ch + cl, ch of 12 bits): the
  // rounding of a plain float product would cost up to 2 z^2 ulp of relative error in the tail.
  float ax = vabs(x);
  ax = sel(ax > 14.8f, 14.8f, ax);  // z <= 10.5 (NaN passes)
  const float xh = u2f(f2u(ax) & 0xfffff000u), xl = ax - xh;
  const float zhi = xh * 0.70703125f;  // exact
  const float zlo = xh * 7.553118484793231e-05f + xl * 0.70710678118654752f;
  const float e = erfc_pos_hl(zhi, zlo);
  const float c = sel(x >= 0.0f, 2.0f - e, e);  // erfc(-x / sqrt 2); NaN -> e (NaN)
  const float y = 0.5f * x * c;
  return sel(x == -__builtin_inff(), -0.0f, y);
}

// GELU, tanh form: 0.5 x (1 + tanh(u)) = x / (1 + e^{-2u}), u = sqrt(2/pi) (x + 0.044715 x^3).
// -2u is formed in double and handed to exp as hi + lo (relative accuracy for x << 0 too).
TSR_VINLINE float gelu_tanh_f(float x) {
  const double xd = x;
  double a = -(1.5957691216057308 * xd + 0.07135481627260025 * (xd * xd * xd));
  a = sel(a > 200.0, 200.0, sel(a < -200.0, -200.0, a));  // NaN passes
  const float hi = static_cast<float>(a);
  const float lo = static_cast<float>(a - static_cast<double>(hi));
  const float y = x / (1.0f + exp_hl(hi, lo));
  return sel(x == -__builtin_inff(), -0.0f, y);
}

// SiLU: x * sigmoid(x) = x / (1 + e^{-x}); silu(-inf) = -0.
TSR_VINLINE float silu_f(float x) {
  const float y = x / (1.0f + exp_f(-x));
  return sel(x == -__builtin_inff(), -0.0f, y);
}

// sigmoid(x) = 1 / (1 + e^{-x}); NaN propagates, +-inf give 1 / 0.
TSR_VINLINE float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

// Quick GELU (CLIP): x * sigmoid(1.702 x) = x / (1 + e^{-1.702 x}); the exponent is formed in double
// and handed to exp as hi + lo. quick_gelu(-inf) = -0.
TSR_VINLINE float quick_gelu_f(float x) {
  double a = -1.702 * static_cast<double>(x);
  a = sel(a > 200.0, 200.0, sel(a < -200.0, -200.0, a));  // NaN passes
  const float hi = static_cast<float>(a);
  const float lo = static_cast<float>(a - static_cast<double>(hi));
  const float y = x / (1.0f + exp_hl(hi, lo));
  return sel(x == -__builtin_inff(), -0.0f, y);
}

// Natural log (Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt 2), polynomial in m - 1); relative
// error ~1 ulp, subnormals scaled first. x < 0 (and -inf) gives NaN, +-0 gives -inf, +inf gives +inf,
// NaN propagates.
TSR_VINLINE float log_f(float x) {
  const bool sub = x < 1.17549435e-38f;  // also true for 0 and negatives, fixed up below
  const float xs = sel(sub, x * 8388608.0f, x);
  const uint32_t u = f2u(xs);
  float fe = static_cast<float>(static_cast<int32_t>((u >> 23) & 0xffu)) - 126.0f;
  fe = sel(sub, fe - 23.0f, fe);
  float m = u2f((u & 0x007fffffu) | 0x3f000000u);  // [0.5, 1)
  const bool low = m < 0.707106781186547524f;
  fe = sel(low, fe - 1.0f, fe);
  m = sel(low, m + m - 1.0f, m - 1.0f);
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  float y = p * m * z;
  y = y + fe * -2.12194440e-4f;
  y = y - 0.5f * z;
  float r = m + y;
  r = r + fe * 0.693359375f;
  r = sel(x == __builtin_inff(), x, r);
  r = sel(x == 0.0f, -__builtin_inff(), r);
  r = sel(x < 0.0f, __builtin_nanf(""), r);
  return sel(x != x, x, r);
}

}  // namespace vm
}  // namespace tsr

#endif
