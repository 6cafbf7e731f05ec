# Shared compiler settings for Tessera's native libraries.
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()
set(TESSERA_WARNINGS -Wall -Wextra -Wno-unused-parameter)
# GCC 12 warns "'__Y' is used uninitialized" inside its own AVX-512 intrinsics (_mm512_undefined_ps and friends,
# GCC bug 105593, fixed in 13): dozens of screens of build output for nothing. Silenced there only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND TESSERA_WARNINGS -Wno-uninitialized -Wno-maybe-uninitialized)
endif()
# -O3 without -ffast-math: the kernels keep IEEE semantics (NaN must propagate to the tests).
set(CMAKE_CXX_FLAGS_RELEASE "-O3")

# The x86 SIMD levels the CPU kernels are compiled for; the library picks one at run time.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(TESSERA_ISAS scalar avx2 avx512)
  set(TESSERA_ISA_FLAGS_scalar "")
  set(TESSERA_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c)
  set(TESSERA_ISA_FLAGS_avx512 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma -mf16c -mprefer-vector-width=512)
  set(TESSERA_ISA_FLAGS_REF_HALF -mf16c)  # the tests' fp16 reference (_Float16) on the F16C instructions
else()
  # AArch64 and others: one copy, at the baseline (NEON on AArch64, where GCC's vectors of 4 floats map to it)
  set(TESSERA_ISAS scalar)
  set(TESSERA_ISA_FLAGS_scalar "")
  set(TESSERA_ISA_FLAGS_REF_HALF "")
endif()
