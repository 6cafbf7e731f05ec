// Included by every per-ISA kernel file (this folder's *.cpp, compiled once per SIMD level): checks
// that the build named the level's namespace (see native/CMakeLists.txt).
#ifndef TESSERA_SRC_CPU_KERNELS_ISA_UNIT_H
#define TESSERA_SRC_CPU_KERNELS_ISA_UNIT_H

#ifndef TSR_ISA_NS
#error "TSR_ISA_NS must be defined (isa_scalar, isa_avx2 or isa_avx512)"
#endif
#ifndef TSR_ISA_NAME
#define TSR_ISA_NAME "scalar"
#endif

namespace tsr {
namespace TSR_ISA_NS {
// Floats per vector register of this unit's ISA: the width of the kernels' GCC vector types. GCC lowers a vector
// type wider than the machine's piece by piece (its comparisons and selects lane by lane), so lane arithmetic is
// written at this width.
#if defined(__AVX512F__)
constexpr int kVecFloats = 16;
#elif defined(__AVX__)
constexpr int kVecFloats = 8;
#else
constexpr int kVecFloats = 4;
#endif
}  // namespace TSR_ISA_NS
}  // namespace tsr

#endif
