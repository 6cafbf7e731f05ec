// Internal helpers shared by the CPU and CUDA parts of libtessera.
#ifndef TESSERA_SRC_COMMON_ERROR_H
#define TESSERA_SRC_COMMON_ERROR_H

namespace tsr {
// Record a message for tsr_last_error() on the calling thread (printf-style).
void set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void clear_last_error();
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
