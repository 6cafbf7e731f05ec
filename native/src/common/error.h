// Internal helpers shared by the CPU and CUDA parts of libtessera.
#ifndef TESSERA_SRC_COMMON_ERROR_H
#define TESSERA_SRC_COMMON_ERROR_H

namespace tsr {
// Record a message for tsr_last_error() on the calling thread (printf-style).
void set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void clear_last_error();
}  // namespace tsr

#endif
