// Scalar fp16 / bf16 <-> fp32 conversions (round to nearest even). Branch-free (selects only), so
// loops over them auto-vectorise. The results are bit-identical to the x86 F16C instructions
// (VCVTPS2PH with round-to-nearest, VCVTPH2PS): NaN stays NaN and is quieted, keeping the top
// payload bits; inf stays inf; f16 overflow gives inf; subnormals are exact / correctly rounded.
//
// Internal linkage (static): this header is compiled into several ISA variants.
#ifndef TESSERA_SRC_CPU_HALF_H
#define TESSERA_SRC_CPU_HALF_H

#include <cstdint>

namespace tsr {
namespace half {

static inline __attribute__((always_inline)) uint32_t f2u(float x) { return __builtin_bit_cast(uint32_t, x); }
static inline __attribute__((always_inline)) float u2f(uint32_t u) { return __builtin_bit_cast(float, u); }

// c ? a : b as a mask blend (a plain ?: over a float expression is not if-converted by GCC under
// -ftrapping-math, which would block vectorisation).
static inline __attribute__((always_inline)) uint32_t sel(bool c, uint32_t a, uint32_t b) {
  const uint32_t m = c ? 0xffffffffu : 0u;
  return (a & m) | (b & ~m);
}

static inline __attribute__((always_inline)) uint16_t f32_to_f16(float f) {
  const uint32_t u = f2u(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  // Normal f16 range: rebias the exponent and round the 13 dropped bits to nearest even (a carry
  // into the exponent is the right result, up to 0x7c00 = inf).
  const uint32_t v = a - 0x38000000u;
  const uint32_t normal = (v + 0xfffu + ((v >> 13) & 1u)) >> 13;
  // Subnormal f16 (|f| < 2^-14): |f| / 2^-24 = mant * 2^(e - 126), rounded to nearest even with
  // integer shifts (0x400 when it rounds up to 2^-14; f32 subnormals and tiny values give 0).
  const uint32_t e = a >> 23;
  const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const uint32_t sh = e < 95u ? 31u : (e > 112u ? 14u : 126u - e);  // in [14, 31]; used when a < 0x38800000
  const uint32_t sub = (mant + ((1u << (sh - 1)) - 1u) + ((mant >> sh) & 1u)) >> sh;
  uint32_t h = sel(a < 0x38800000u, sub, normal);
  h = sel(a >= 0x477ff000u, 0x7c00u, h);                            // >= 65520 rounds to inf
  h = sel(a > 0x7f800000u, 0x7e00u | ((a >> 13) & 0x3ffu), h);    // NaN: quiet, top payload kept
  return static_cast<uint16_t>(sign | h);
}

static inline __attribute__((always_inline)) float f16_to_f32(uint16_t hv) {
  const uint32_t h = hv;
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  const uint32_t normal = ((e + 112u) << 23) | (m << 13);
  // Subnormal f16: m * 2^-24, normalised with integer ops only (p = floor(log2 m)).
  uint32_t p = 0;
  for (uint32_t k = 1; k < 10; ++k) p += m >= (1u << k) ? 1u : 0u;
  const uint32_t sub = sel(m == 0, 0u, ((p + 103u) << 23) | ((m << (23u - p)) & 0x7fffffu));
  const uint32_t special = 0x7f800000u | (m << 13) | (m != 0 ? 0x400000u : 0u);  // inf / quiet NaN
  uint32_t r = sel(e == 0, sub, normal);
  r = sel(e == 31, special, r);
  return u2f(sign | r);
}

static inline __attribute__((always_inline)) uint16_t f32_to_bf16(float f) {
  const uint32_t u = f2u(f);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>(sel((u & 0x7fffffffu) > 0x7f800000u, nan, rounded));
}

static inline __attribute__((always_inline)) float bf16_to_f32(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  return u2f(sel((u & 0x7fffffffu) > 0x7f800000u, u | 0x400000u, u));  // quiet a signalling NaN
}

}  // namespace half
}  // namespace tsr

#endif
