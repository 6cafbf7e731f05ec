// Library information and the per-thread error message of the C API.
#include "tessera/tessera.h"
#include "common/error.h"

#include <cstdarg>
#include <cstdio>

#ifndef TSR_VERSION
#define TSR_VERSION "0.0.0"
#endif
#ifndef TSR_CUDA_ARCHS
#define TSR_CUDA_ARCHS ""
#endif

namespace {
thread_local char g_last_error[512] = {0};
}

namespace tsr {
void set_last_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
  va_end(ap);
}
void clear_last_error() { g_last_error[0] = 0; }
}  // namespace tsr

extern "C" {
const char *tsr_version(void) { return TSR_VERSION; }
const char *tsr_last_error(void) { return g_last_error; }
int tsr_noop(int x) { return x + 1; }
int tsr_call_int_int(void *fn, int arg) { return reinterpret_cast<int (*)(int)>(fn)(arg); }
int tsr_cuda_compiled(void) { return TSR_WITH_CUDA ? 1 : 0; }
const char *tsr_cuda_archs(void) { return TSR_CUDA_ARCHS; }
}
