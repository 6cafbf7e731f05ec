cmake_minimum_required(VERSION 3.22)
# Every CUDA entry point that the public headers declare (TSR_API ... tsr_cuda_NAME(...)) has a definition in
# src/cuda_stub/*.cpp, which a build without nvcc compiles instead of src/cuda, or in src/common (always compiled:
# tsr_cuda_compiled, tsr_cuda_archs): a missing one leaves the JNI libraries of such a build with an undefined
# symbol. ctest runs it in every build (cuda_stubs_complete), since a build with nvcc never compiles the stubs.
#   cmake -DNATIVE_DIR=native -P native/tools/check_cuda_stubs.cmake
include(${CMAKE_CURRENT_LIST_DIR}/api_names.cmake)

tsr_declared(declared "${NATIVE_DIR}" tsr_cuda_ 10)
file(GLOB stubs "${NATIVE_DIR}/src/cuda_stub/*.cpp" "${NATIVE_DIR}/src/common/*.cpp")
tsr_names(defined "tsr_cuda_[A-Za-z0-9_]+[ \t]*\\([^;{]*\\)[ \t\n]*{" ${stubs})
list(LENGTH declared n)
tsr_missing(missing declared defined)
if(missing)
  message(FATAL_ERROR "CUDA entry points without a stub in src/cuda_stub (a build without nvcc would not link): ${missing}")
endif()
message(STATUS "all ${n} CUDA entry points of include/tessera have a stub in src/cuda_stub")
