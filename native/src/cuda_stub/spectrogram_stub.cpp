// CUDA entry points of tessera/spectrogram.h for a library built without CUDA: each records a message
// for tsr_last_error() and returns TSR_ERR_NO_CUDA.
#include "common/error.h"
#include "tessera/spectrogram.h"

namespace {
int no_cuda(const char *fn) {
  tsr::set_last_error("%s: libtessera was built without CUDA", fn);
  return TSR_ERR_NO_CUDA;
}
}  // namespace

extern "C" {

int tsr_cuda_stft_frames(const float *, int64_t, int64_t, const int64_t *, int64_t, int64_t, int64_t, const float *,
                         int, int64_t, float *, void *) {
  return no_cuda("tsr_cuda_stft_frames");
}
int tsr_cuda_power_spectrum(const float *, float *, int64_t, int, void *) {
  return no_cuda("tsr_cuda_power_spectrum");
}
int tsr_cuda_mel_power(const float *, int64_t, int64_t, int64_t, int, const float *, int64_t, int32_t *, float *,
                       void *) {
  return no_cuda("tsr_cuda_mel_power");
}
int tsr_cuda_log_mel_finish(const float *, float *, int64_t, int64_t, float, int, float, float, float, float *,
                            void *) {
  return no_cuda("tsr_cuda_log_mel_finish");
}

}  // extern "C"
