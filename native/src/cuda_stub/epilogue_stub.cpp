// CUDA entry points of tessera/epilogue.h for a library built without CUDA: each one records a
// message for tsr_last_error() and returns TSR_ERR_NO_CUDA.
#include "common/error.h"
#include "tessera/epilogue.h"

extern "C" {

int tsr_cuda_linear_epilogue(int, void *, const void *, int, const void *, int64_t, int64_t, void *) {
  tsr::set_last_error("tsr_cuda_linear_epilogue: libtessera was built without CUDA");
  return TSR_ERR_NO_CUDA;
}

}  // extern "C"
