// The tests' fp16 reference: the compiler's own half type (x86-64: _Float16, converted in libgcc or by F16C;
// AArch64: __fp16, converted by the FCVT instruction), independent of the kernels' bit-twiddling conversions
// (src/cpu/half.h) that the tests check. Round to nearest even; NaN stays NaN.
#ifndef TESSERA_TEST_REF_HALF_H
#define TESSERA_TEST_REF_HALF_H

#include <cstdint>
#include <cstring>

namespace tsr_test {
#if defined(__aarch64__)
using ref_half = __fp16;
#else
using ref_half = _Float16;
#endif

inline uint16_t ref_f32_to_f16(float f) {
  const ref_half h = static_cast<ref_half>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
inline float ref_f16_to_f32(uint16_t b) {
  ref_half h;
  std::memcpy(&h, &b, 2);
  return static_cast<float>(h);
}
}  // namespace tsr_test

#endif
