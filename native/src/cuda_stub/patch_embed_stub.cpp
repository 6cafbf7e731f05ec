// CUDA entry points of tessera/patch_embed.h for a library built without CUDA: each one records a
// message for tsr_last_error() and returns TSR_ERR_NO_CUDA.
#include "common/error.h"
#include "tessera/patch_embed.h"

namespace {
int pe_no_cuda(const char *fn) {
  tsr::set_last_error("%s: libtessera was built without CUDA", fn);
  return TSR_ERR_NO_CUDA;
}
}  // namespace

extern "C" {

int tsr_cuda_patchify(int, const void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                      void *) {
  return pe_no_cuda("tsr_cuda_patchify");
}
int tsr_cuda_im2col_1d(int, const void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, void *) {
  return pe_no_cuda("tsr_cuda_im2col_1d");
}
int tsr_cuda_patch_finish(int, void *, const void *, const void *, const void *, int64_t, int64_t, int64_t, void *) {
  return pe_no_cuda("tsr_cuda_patch_finish");
}
int tsr_cuda_bias_channels_first(int, void *, const void *, int64_t, int64_t, int64_t, void *) {
  return pe_no_cuda("tsr_cuda_bias_channels_first");
}

}  // extern "C"
