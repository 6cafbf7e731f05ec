// Per-ISA table of the RBM kernels (native/src/cpu/kernels/rbm_kernels.cpp, compiled once per ISA like
// every file of this folder). Each kernel works on the range the dispatcher (native/src/cpu/rbm.cpp)
// hands it, never starts threads, and assumes its arguments valid. Random numbers: common/philox.h.
#ifndef TESSERA_SRC_CPU_KERNELS_RBM_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_RBM_TABLE_H

#include <cstdint>

namespace tsr {

struct RbmKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  // out[i] = uniform(seed, offset + i), i < n.
  void (*uniform)(uint64_t seed, uint64_t offset, float *out, int64_t n);
  // Rows [0, rows) of a range (pointers at its first row; bias_scale too); `offset` is the counter of
  // element (0, 0) of the range. See tsr_cpu_rbm_sigmoid_sample.
  void (*sigmoid_sample)(const float *pre, const float *bias, const float *bias_scale, const float *extra,
                         float *prob, float *sample, int64_t rows, int64_t cols, uint64_t seed, uint64_t offset);
  // See tsr_cpu_rbm_gaussian_sample (same range convention).
  void (*gaussian_sample)(const float *pre, const float *bias, float *mean, float *sample, int64_t rows,
                          int64_t cols, uint64_t seed, uint64_t offset);
  // prob[r,:] = softmax(pre[r,:] + bias) for the rows of a range.
  void (*softmax_rows)(const float *pre, const float *bias, float *prob, int64_t rows, int64_t cols);
  // acc[c] += alpha * sum_r s_r x[r * ld + c] for c < width (s_r = scale ? scale[r] : 1).
  void (*col_accum)(const float *x, const float *scale, double alpha, double *acc, int64_t rows, int64_t ld,
                    int64_t width);
  // Elements [0, n) of the momentum / decay update.
  void (*update)(float *param, float *velocity, const float *grad, int64_t n, float lr, float momentum,
                 float decay);
  // Rows of a range: out[r] = F(v_r) (see tsr_cpu_rbm_free_energy); totals at the range's first row.
  void (*free_energy)(int visible_type, const float *v, const float *pre, const float *vbias, const float *hbias,
                      const float *totals, float *out, int64_t rows, int64_t nv, int64_t nh);
  // Rows of a range: out[r] = sum_c (a - b)^2; or sum_c a (b == NULL, square = 0).
  void (*row_reduce)(const float *a, const float *b, float *out, int64_t rows, int64_t cols, int square);
};

namespace isa_scalar {
const RbmKernels &rbm_kernels();
}
#if defined(__x86_64__)
namespace isa_avx2 {
const RbmKernels &rbm_kernels();
}
namespace isa_avx512 {
const RbmKernels &rbm_kernels();
}
#endif

}  // namespace tsr

#endif
