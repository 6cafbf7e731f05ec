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
  const void *packed;  // floats, bfloat16 bits (uint16_t) or int8, as btype says
  int64_t m, n, k;
  const float *bias;  // [n] or nullptr
  int act;            // TSR_ACT_*
  const float *res;   // residual rows ldr apart, or nullptr
  int64_t ldr;
  float *c;
  int64_t ldc;
  int btype;  // kBF32, kBBf16 (tsr_cpu_gemm_packed_bf16) or kBS8 (tsr_cpu_gemm_packed_s8): how the packed weight is held
  const float *scale;  // kBS8: the per-column scales ([n] at least), applied on the last k slice before the bias
};

// GemmArgs::btype: the packed weight's elements (each widened to fp32 exactly as it is loaded).
enum : int { kBF32 = 0, kBBf16 = 1, kBS8 = 2 };

// What a participant of a balanced GEMM (GemmKernels::run_task) keeps from one task to the next: which row
// block's rows it has packed, and where.
struct GemmTaskState {
  int64_t packed_rb = -1;
  float *abuf = nullptr;
};

struct GemmKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  int mr;            // rows per register tile (row blocks should be multiples of it)
  // C rows [r0, r1) x panels [p0, p1) of the product, epilogue included.
  void (*block)(const GemmArgs &g, int64_t r0, int64_t r1, int64_t p0, int64_t p1);
  // How many k slices the product is cut into (the same for every block and thread).
  int64_t (*slices)(const GemmArgs &g);
  // Task (row block rb, panel p), numbered rb * panels + p, of k slice s (tsr::parallel_regions hands them out):
  // packs the block's rows into the calling thread's buffer unless st says they are there, then runs the panel;
  // ahead: the task the participant will likely run next (its panel is prefetched when in the same row block).
  // row_starts: row_blocks + 1 row indices. Slice s of a tile needs slice s - 1 of it finished, by whichever
  // thread ran it (the caller runs the slices one after another).
  void (*run_task)(const GemmArgs &g, const int64_t *row_starts, int64_t panels, int64_t s, int64_t task,
                   int64_t ahead, GemmTaskState &st);
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
