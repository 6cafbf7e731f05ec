// CUDA entry points of tessera/rbm.h for a library built without CUDA: each records a message for
// tsr_last_error() and returns TSR_ERR_NO_CUDA.
#include "common/error.h"
#include "tessera/rbm.h"

namespace {
int rbm_no_cuda(const char *fn) {
  tsr::set_last_error("%s: libtessera was built without CUDA", fn);
  return TSR_ERR_NO_CUDA;
}
}  // namespace

extern "C" {

int tsr_cuda_rbm_uniform(uint64_t, uint64_t, float *, int64_t, void *) { return rbm_no_cuda("tsr_cuda_rbm_uniform"); }
int tsr_cuda_rbm_sigmoid_sample(const float *, const float *, const float *, const float *, float *, float *, int64_t,
                                int64_t, uint64_t, uint64_t, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_sigmoid_sample");
}
int tsr_cuda_rbm_gaussian_sample(const float *, const float *, float *, float *, int64_t, int64_t, uint64_t, uint64_t,
                                 void *) {
  return rbm_no_cuda("tsr_cuda_rbm_gaussian_sample");
}
int tsr_cuda_rbm_softmax_sample(const float *, const float *, const float *, float *, float *, float *, float *,
                                int64_t, int64_t, uint64_t, uint64_t, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_softmax_sample");
}
int tsr_cuda_rbm_row_sums(const float *, float *, int64_t, int64_t, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_row_sums");
}
int tsr_cuda_rbm_col_stats(const float *, const float *, int64_t, float, const float *, const float *, int64_t, float,
                           float *, int64_t, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_col_stats");
}
int tsr_cuda_rbm_update(float *, float *, const float *, int64_t, float, float, float, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_update");
}
int tsr_cuda_rbm_free_energy(int, const float *, const float *, const float *, const float *, const float *, float *,
                             int64_t, int64_t, int64_t, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_free_energy");
}
int tsr_cuda_rbm_sq_error(const float *, const float *, float *, int64_t, int64_t, void *) {
  return rbm_no_cuda("tsr_cuda_rbm_sq_error");
}

}  // extern "C"
