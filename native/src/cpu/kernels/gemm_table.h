// Per-ISA table of the packed-weight GEMM kernels (tessera/gemm.h). Compiled once per ISA with the
// rest of src/cpu/kernels/; src/cpu/gemm.cpp picks one table (the level tsr_cpu_simd() reports) and
// splits the work into (row block, panel range) tasks over the pool. Kernels never start threads.
#ifndef TESSERA_SRC_CPU_KERNELS_GEMM_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_GEMM_TABLE_H

#include <cstdint>

#include "tessera/gemm.h"

namespace tsr {

constexpr int64_t kGemmNR = TSR_GEMM_NR;

// One product, validated (see tsr_cpu_gemm_packed_f32).
struct GemmArgs {
  const float *a;
  int64_t lda;
  const float *packed;
  int64_t m, n, k;
  const float *bias;  // [n] or nullptr
  int act;            // TSR_ACT_*
  const float *res;   // residual rows ldr apart, or nullptr
  int64_t ldr;
  float *c;
  int64_t ldc;
};

struct GemmKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  int mr;            // rows per register tile (row blocks should be multiples of it)
  // C rows [r0, r1) x panels [p0, p1) of the product, epilogue included.
  void (*block)(const GemmArgs &g, int64_t r0, int64_t r1, int64_t p0, int64_t p1);
  // Packs panels [p0, p1) of W (element (j, kk) at w[j * sn + kk * sk]) into packed (the whole buffer).
  void (*pack)(const float *w, int64_t sn, int64_t sk, int64_t n, int64_t k, float *packed, int64_t p0, int64_t p1);
  // y[r, j] = act(y[r, j] + bias[j]) + res[r, j] for rows [0, rows) (pointers at the first row of the range).
  void (*epilogue)(float *y, int64_t ldy, int64_t rows, int64_t n, const float *bias, int act, const float *res,
                   int64_t ldr);
};

namespace isa_scalar {
const GemmKernels &gemm_kernels();
}
#if defined(__x86_64__) || defined(_M_X64)
namespace isa_avx2 {
const GemmKernels &gemm_kernels();
}
namespace isa_avx512 {
const GemmKernels &gemm_kernels();
}
#endif

}  // namespace tsr

#endif
