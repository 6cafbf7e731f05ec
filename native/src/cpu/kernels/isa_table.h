// Table of the CPU kernels compiled once per ISA (see CMakeLists.txt: src/cpu/kernels/*.cpp are built
// with -DTSR_ISA_NS=isa_scalar|isa_avx2|isa_avx512). Every kernel works on a range handed to it by
// the dispatcher (src/cpu/dispatch.cpp) and never starts threads itself. Arguments are validated by
// the dispatcher; kernels assume them valid.
#ifndef TESSERA_SRC_CPU_KERNELS_ISA_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_ISA_TABLE_H

#include <cstdint>

#include "tessera/core.h"

namespace tsr {

// Side of the square tiles of tsr_cpu_transpose; the dispatcher splits the work into tiles.
constexpr int64_t kTransposeTile = 32;

struct CpuKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  // out[i] = a[i] op b[i], i < n (index by TSR_OP_*). out may alias a or b.
  void (*binary[4])(const float *a, const float *b, float *out, int64_t n);
  // out[r, c] = x[r, c] op row[c] for r < rows (x / out point at the first row of the range).
  void (*binary_row[4])(const float *x, const float *row, float *out, int64_t rows, int64_t cols);
  void (*affine)(const float *x, float alpha, float beta, float *out, int64_t n);
  void (*layer_norm)(const float *x, const float *gamma, const float *beta, float *out, int64_t rows,
                     int64_t cols, float eps);
  void (*rms_norm)(const float *x, const float *gamma, float *out, int64_t rows, int64_t cols, float eps);
  // Rows [0, rows) of the range; row0 is the global index of the first one (for the causal mask).
  void (*softmax)(const float *x, float *out, int64_t rows, int64_t cols, int64_t causal_q, int64_t row0);
  void (*gelu_erf)(const float *x, float *out, int64_t n);
  void (*gelu_tanh)(const float *x, float *out, int64_t n);
  void (*silu)(const float *x, float *out, int64_t n);
  // Tiles [t0, t1) of the batch of [rows, cols] matrices (tile t: batch t / (tr * tc), then row-major
  // over the kTransposeTile x kTransposeTile tiles); x / out point at the whole batch.
  void (*transpose)(const void *x, void *out, int64_t rows, int64_t cols, int elem_size, int64_t t0,
                    int64_t t1);
  // Elementwise conversion between two different dtypes among TSR_F32, TSR_F16, TSR_BF16.
  void (*convert)(const void *x, int src_dtype, void *out, int dst_dtype, int64_t n);
  // out[i] = a[i * sa] op b[i * sb], i < n (index by TSR_OP_*; sa, sb may be 0 for broadcasting).
  void (*binary_strided[4])(const float *a, int64_t sa, const float *b, int64_t sb, float *out, int64_t n);
  // out[i] = f(x[i]) (index by TSR_UNARY_*). out may alias x.
  void (*unary[TSR_UNARY_COUNT])(const float *x, float *out, int64_t n);
  // RoPE rows [r0, r1) of the [batch, heads, seq] row space (see tsr_cpu_rope_f32); x / cos / sin /
  // out point at the whole tensors.
  void (*rope)(const float *x, int64_t x_sb, int64_t x_sh, int64_t x_ss, const float *cos, const float *sin,
               int64_t cs_sb, float *out, int64_t heads, int64_t seq, int64_t half, int64_t r0, int64_t r1);
  // Log-softmax of rows [0, rows) (x / out point at the first row of the range); out may alias x.
  void (*log_softmax)(const float *x, float *out, int64_t rows, int64_t cols);
  // out[r] = scale * sum of row r, r < rows (x / out point at the first row of the range).
  void (*sum_rows)(const float *x, float *out, int64_t rows, int64_t cols, float scale);
  // out[r] = argmax of row r (first max; first NaN if any), r < rows; cols >= 1.
  void (*argmax_rows)(const float *x, int32_t *out, int64_t rows, int64_t cols);
};

namespace isa_scalar {
const CpuKernels &kernels();
}
#if defined(__x86_64__) || defined(_M_X64)
namespace isa_avx2 {
const CpuKernels &kernels();
}
namespace isa_avx512 {
const CpuKernels &kernels();
}
#endif

}  // namespace tsr

#endif
