// Choice of a per-ISA kernel table (src/cpu/kernels/*_kernels.cpp are compiled once per SIMD level,
// each copy in namespace isa_scalar / isa_avx2 / isa_avx512). Every family picks the level the core
// kernels run at, as tsr_cpu_simd() reports it (the CPU's best, or TESSERA_CPU_ISA).
#ifndef TESSERA_SRC_CPU_ISA_SELECT_H
#define TESSERA_SRC_CPU_ISA_SELECT_H

#include <cstring>

#include "tessera/tessera.h"

namespace tsr {

template <typename T>
const T &pick_isa_table(const T &(*scalar)(), const T &(*avx2)(), const T &(*avx512)()) {
  const char *simd = tsr_cpu_simd();
  if (avx512 != nullptr && std::strcmp(simd, "avx512") == 0) return avx512();
  if (avx2 != nullptr && std::strcmp(simd, "avx2") == 0) return avx2();
  return scalar();
}

}  // namespace tsr

// The table returned by tsr::isa_<level>::getter() for this machine's level, e.g.
//   static const AttentionKernels &k = TSR_ISA_TABLE(AttentionKernels, attention_kernels);
#if defined(__x86_64__) || defined(_M_X64)
#define TSR_ISA_TABLE(Type, getter) \
  ::tsr::pick_isa_table<Type>(&::tsr::isa_scalar::getter, &::tsr::isa_avx2::getter, &::tsr::isa_avx512::getter)
#else
#define TSR_ISA_TABLE(Type, getter) ::tsr::pick_isa_table<Type>(&::tsr::isa_scalar::getter, nullptr, nullptr)
#endif

#endif
