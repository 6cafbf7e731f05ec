# Helpers of the ctest checks over libtessera's C API (check_cuda_stubs.cmake, check_exports.cmake).

# The tsr_* names in the matches of `pattern` over the files that follow, into `out` (duplicates removed).
function(tsr_names out pattern)
  set(names "")
  foreach(f IN LISTS ARGN)
    file(READ "${f}" text)
    string(REGEX MATCHALL "${pattern}" hits "${text}")
    foreach(hit IN LISTS hits)
      string(REGEX MATCH "tsr_[A-Za-z0-9_]+" name "${hit}")
      list(APPEND names "${name}")
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES names)
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# The functions the public headers of native_dir declare with TSR_API whose names start with `prefix` (tsr_,
# tsr_cuda_), into `out`; fails where fewer than `min` are found (the pattern would be out of date).
function(tsr_declared out native_dir prefix min)
  file(GLOB headers "${native_dir}/include/tessera/*.h")
  tsr_names(names "TSR_API[^;(]*[ *]${prefix}[A-Za-z0-9_]*[ \t]*\\(" ${headers})
  list(LENGTH names n)
  if(n LESS min)
    message(FATAL_ERROR "found only ${n} TSR_API ${prefix}* functions in ${native_dir}/include/tessera: the pattern is "
                        "out of date")
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# The names of the list `wanted` that the list `have` lacks, into `out`.
function(tsr_missing out wanted have)
  set(missing "")
  foreach(name IN LISTS ${wanted})
    if(NOT name IN_LIST ${have})
      list(APPEND missing "${name}")
    endif()
  endforeach()
  set(${out} "${missing}" PARENT_SCOPE)
endfunction()
