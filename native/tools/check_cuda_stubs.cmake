cmake_minimum_required(VERSION 3.22)
# Every CUDA entry point that the public headers declare (TSR_API ... tsr_cuda_NAME(...)) has a definition in
# src/cuda_stub/*.cpp, which a build without nvcc compiles instead of src/cuda, or in src/common (always compiled:
# tsr_cuda_compiled, tsr_cuda_archs): a missing one leaves the JNI libraries of such a build with an undefined
# symbol. ctest runs it in every build (cuda_stubs_complete), since a build with nvcc never compiles the stubs.
#   cmake -DNATIVE_DIR=native -P native/tools/check_cuda_stubs.cmake
# The tsr_cuda_* names in the matches of `pattern` over `files`, into `out`.
function(cuda_names out pattern)
  set(names "")
  foreach(f IN LISTS ARGN)
    file(READ "${f}" text)
    string(REGEX MATCHALL "${pattern}" hits "${text}")
    foreach(hit IN LISTS hits)
      string(REGEX MATCH "tsr_cuda_[A-Za-z0-9_]+" name "${hit}")
      list(APPEND names "${name}")
    endforeach()
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

file(GLOB headers "${NATIVE_DIR}/include/tessera/*.h")
cuda_names(declared "TSR_API[^;(]*[ *]tsr_cuda_[A-Za-z0-9_]+[ \t]*\\(" ${headers})
file(GLOB stubs "${NATIVE_DIR}/src/cuda_stub/*.cpp" "${NATIVE_DIR}/src/common/*.cpp")
cuda_names(defined "tsr_cuda_[A-Za-z0-9_]+[ \t]*\\([^;{]*\\)[ \t\n]*{" ${stubs})
list(REMOVE_DUPLICATES declared)
list(LENGTH declared n)
if(n LESS 10)
  message(FATAL_ERROR "found only ${n} CUDA entry points in ${NATIVE_DIR}/include/tessera: the pattern is out of date")
endif()
set(missing "")
foreach(d IN LISTS declared)
  if(NOT d IN_LIST defined)
    list(APPEND missing "${d}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "CUDA entry points without a stub in src/cuda_stub (a build without nvcc would not link): ${missing}")
endif()
message(STATUS "all ${n} CUDA entry points of include/tessera have a stub in src/cuda_stub")
