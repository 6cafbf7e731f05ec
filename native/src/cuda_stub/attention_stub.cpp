// CUDA entry points of tessera/attention.h for a library built without CUDA: each one records a
// message for tsr_last_error() and returns TSR_ERR_NO_CUDA (negated for the workspace query).
#include "common/error.h"
#include "tessera/attention.h"

extern "C" {

int64_t tsr_cuda_attention_workspace_bytes(int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) {
  tsr::set_last_error("tsr_cuda_attention_workspace_bytes: libtessera was built without CUDA");
  return -TSR_ERR_NO_CUDA;
}

int tsr_cuda_attention(int, const void *, const void *, const void *, void *, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, const void *, int, float, int, void *, int64_t, void *, int) {
  tsr::set_last_error("tsr_cuda_attention: libtessera was built without CUDA");
  return TSR_ERR_NO_CUDA;
}

int tsr_cuda_attention_last_kernel(void) { return 0; }
int tsr_cuda_attention_last_schedule(void) { return 0; }

}  // extern "C"
