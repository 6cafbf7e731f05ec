// Internal helpers shared by the CPU and CUDA parts of libtessera.
#ifndef TESSERA_SRC_COMMON_ERROR_H
#define TESSERA_SRC_COMMON_ERROR_H

#include <exception>
#include <new>

#include "tessera/tessera.h"

namespace tsr {
// Record a message for tsr_last_error() on the calling thread (printf-style).
void set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void clear_last_error();

// Runs the body of a C API entry point (a callable returning its int status) so that no C++ exception crosses
// into the JVM: std::bad_alloc (a scratch buffer, thrown on the caller or rethrown there from a pool worker)
// becomes TSR_ERR_NO_MEMORY, anything else TSR_ERR_INTERNAL, each with a message for tsr_last_error().
template <class F>
inline int guarded(const char *fn, F &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    set_last_error("%s: out of host memory for a scratch buffer", fn);
    return TSR_ERR_NO_MEMORY;
  } catch (const std::exception &e) {
    set_last_error("%s: internal error: %s", fn, e.what());
    return TSR_ERR_INTERNAL;
  } catch (...) {
    set_last_error("%s: internal error (unknown C++ exception)", fn);
    return TSR_ERR_INTERNAL;
  }
}
}  // namespace tsr

// Rejects a call of the C API: records the printf-style message for tsr_last_error() and returns
// TSR_ERR_ARG from the enclosing function (which must return int). For argument checks before any work.
#define TSR_CHECK(cond, ...)              \
  do {                                    \
    if (__builtin_expect(!(cond), 0)) {   \
      ::tsr::set_last_error(__VA_ARGS__); \
      return TSR_ERR_ARG;                 \
    }                                     \
  } while (0)

#endif
