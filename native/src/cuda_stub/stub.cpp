// CUDA entry points of core.h for a library built without CUDA: each one records a message for
// tsr_last_error() and returns TSR_ERR_NO_CUDA.
#include "common/error.h"
#include "tessera/core.h"

namespace {
int no_cuda(const char *fn) {
  tsr::set_last_error("%s: libtessera was built without CUDA", fn);
  return TSR_ERR_NO_CUDA;
}
}  // namespace

extern "C" {

int tsr_cuda_set_device(int) { return no_cuda("tsr_cuda_set_device"); }
int tsr_cuda_binary(int, int, const void *, const void *, void *, int64_t, void *) {
  return no_cuda("tsr_cuda_binary");
}
int tsr_cuda_binary_row(int, int, const void *, const void *, void *, int64_t, int64_t, void *) {
  return no_cuda("tsr_cuda_binary_row");
}
int tsr_cuda_affine(int, const void *, float, float, void *, int64_t, void *) { return no_cuda("tsr_cuda_affine"); }
int tsr_cuda_layer_norm(int, const void *, const void *, const void *, void *, int64_t, int64_t, float, void *) {
  return no_cuda("tsr_cuda_layer_norm");
}
int tsr_cuda_rms_norm(int, const void *, const void *, void *, int64_t, int64_t, float, void *) {
  return no_cuda("tsr_cuda_rms_norm");
}
int tsr_cuda_softmax(int, const void *, void *, int64_t, int64_t, int64_t, void *) {
  return no_cuda("tsr_cuda_softmax");
}
int tsr_cuda_gelu(int, const void *, void *, int64_t, int, void *) { return no_cuda("tsr_cuda_gelu"); }
int tsr_cuda_silu(int, const void *, void *, int64_t, void *) { return no_cuda("tsr_cuda_silu"); }
int tsr_cuda_embedding(int, const void *, int, const void *, void *, int64_t, int64_t, int64_t, int64_t *, void *) {
  return no_cuda("tsr_cuda_embedding");
}
int tsr_cuda_transpose(const void *, void *, int64_t, int64_t, int64_t, int, void *) {
  return no_cuda("tsr_cuda_transpose");
}
int tsr_cuda_convert(const void *, int, void *, int, int64_t, void *) { return no_cuda("tsr_cuda_convert"); }
int tsr_cuda_strided_copy(const void *, void *, int, const int64_t *, const int64_t *, int, void *) {
  return no_cuda("tsr_cuda_strided_copy");
}

int tsr_cuda_copy_strided(const void *, const int64_t *, void *, const int64_t *, int, const int64_t *, int, void *) {
  return no_cuda("tsr_cuda_copy_strided");
}
int tsr_cuda_binary_strided(int, int, const void *, const int64_t *, const void *, const int64_t *, void *, int,
                            const int64_t *, void *) {
  return no_cuda("tsr_cuda_binary_strided");
}
int tsr_cuda_unary(int, int, const void *, void *, int64_t, void *) { return no_cuda("tsr_cuda_unary"); }
int tsr_cuda_rope(int, const void *, int64_t, int64_t, int64_t, const float *, const float *, int64_t, void *, int64_t,
                  int64_t, int64_t, int64_t, void *) {
  return no_cuda("tsr_cuda_rope");
}
int tsr_cuda_log_softmax(int, const void *, void *, int64_t, int64_t, void *) {
  return no_cuda("tsr_cuda_log_softmax");
}
int tsr_cuda_sum_rows(int, const void *, void *, int64_t, int64_t, float, void *) {
  return no_cuda("tsr_cuda_sum_rows");
}
int tsr_cuda_argmax_rows(int, const void *, int32_t *, int64_t, int64_t, void *) {
  return no_cuda("tsr_cuda_argmax_rows");
}

}  // extern "C"
