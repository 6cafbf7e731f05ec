cmake_minimum_required(VERSION 3.22)
# libtessera exports its C API and nothing else, and asks for no glibc newer than 2.34: every defined dynamic symbol is a tsr_* function, and every
# TSR_API function the public headers declare is among them. The static libstdc++ / libgcc / cudart inside it and
# the std:: templates our code instantiates must stay local (src/libtessera.map, -Wl,--exclude-libs,ALL): exported,
# they interposed on other native libraries of the same JVM (ONNX Runtime's std::call_once jumped to a null function
# on Temurin 25, docs/verification.md "Session 38"). ctest runs it in every build (exports_c_api_only).
#   cmake -DNM=nm -DLIB=native/target/cmake/lib/libtessera.so -DNATIVE_DIR=native -P native/tools/check_exports.cmake
include(${CMAKE_CURRENT_LIST_DIR}/api_names.cmake)

execute_process(COMMAND "${NM}" -D --defined-only "${LIB}" OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${LIB} failed (${rc}): ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(exported "")
set(foreign "")
foreach(line IN LISTS lines)
  # "ADDRESS TYPE NAME" (versioned names as NAME@VERSION)
  if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] ([^ @]+)")
    set(name "${CMAKE_MATCH_1}")
    if(name MATCHES "^tsr_")
      list(APPEND exported "${name}")
    else()
      list(APPEND foreign "${name}")
    endif()
  endif()
endforeach()
list(LENGTH foreign nf)
if(nf GREATER 0)
  list(SUBLIST foreign 0 20 shown)
  message(FATAL_ERROR "${LIB} exports ${nf} symbols besides the C API (first ones: ${shown}); they belong in the "
                      "version script's local: part (src/libtessera.map)")
endif()
tsr_declared(declared "${NATIVE_DIR}" tsr_ 50)
list(LENGTH declared nd)
tsr_missing(missing declared exported)
if(missing)
  message(FATAL_ERROR "${LIB} does not export these C API functions: ${missing}")
endif()
# The glibc it asks for: at most 2.34 (what a build on glibc 2.34 or later cannot avoid: pthread and dl moved into
# libc there), so that a jar built on Debian 12 (2.36) loads on Ubuntu 22.04 (2.35), RHEL 9 and Amazon Linux 2023
# (2.34); src/common/glibc_compat.cpp.
execute_process(COMMAND "${NM}" -D --undefined-only "${LIB}" OUTPUT_VARIABLE und RESULT_VARIABLE rc)
string(REGEX MATCHALL "[A-Za-z0-9_]+@GLIBC_[0-9.]+" refs "${und}")
set(newer "")
set(max "0")
foreach(ref IN LISTS refs)
  string(REGEX MATCH "GLIBC_([0-9.]+)" _ "${ref}")
  set(v "${CMAKE_MATCH_1}")
  if(v VERSION_GREATER max)
    set(max "${v}")
  endif()
  if(v VERSION_GREATER "2.34")
    list(APPEND newer "${ref}")
  endif()
endforeach()
if(newer)
  # enforced where the build's glibc is at most 2.36 (Debian 12, this project's build and CI machines: what is known
  # to be avoidable there); a newer one's headers may redirect plain calls to newer symbols (2.38: __isoc23_strtol),
  # which is said, not failed
  execute_process(COMMAND getconf GNU_LIBC_VERSION OUTPUT_VARIABLE host OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE grc ERROR_QUIET)
  string(REGEX MATCH "[0-9]+\\.[0-9]+" host_v "${host}")
  list(JOIN newer ", " newer_s)
  set(msg "${LIB} asks for glibc newer than 2.34 (${newer_s}): built here it would not load on Ubuntu 22.04, RHEL 9 or"
          " Amazon Linux 2023 (src/common/glibc_compat.cpp)")
  if(host_v AND host_v VERSION_GREATER "2.36")
    message(WARNING ${msg} "; this build machine has glibc ${host_v}")
  else()
    message(FATAL_ERROR ${msg})
  endif()
endif()
list(LENGTH exported ne)
message(STATUS "${LIB}: ${ne} symbols exported, all tsr_*; the ${nd} TSR_API functions of the headers among them; "
               "needs glibc ${max}")
