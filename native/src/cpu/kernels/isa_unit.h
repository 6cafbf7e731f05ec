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

#endif
