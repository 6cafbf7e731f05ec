// Per-ISA table of the packed-weight GEMM kernels (tessera/gemm.h). Compiled once per ISA with the
// rest of src/cpu/kernels/; src/cpu/gemm.cpp picks one table (the level tsr_cpu_simd() reports) and
// splits the work into (row block, panel range) tasks over the pool. Kernels never start threads.
#ifndef TESSERA_SRC_CPU_KERNELS_GEMM_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_GEMM_TABLE_H

#include <atomic>
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

// Tasks [front, end) of one thread's region, as front << 32 | end (taken by compare-and-swap); on its own line.
struct alignas(64) GemmRegion {
  std::atomic<uint64_t> range{0};
};

struct GemmKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  int mr;            // rows per register tile (row blocks should be multiples of it)
  // C rows [r0, r1) x panels [p0, p1) of the product, epilogue included.
  void (*block)(const GemmArgs &g, int64_t r0, int64_t r1, int64_t p0, int64_t p1);
  // How many k slices the product is cut into (the same for every block and thread).
  int64_t (*slices)(const GemmArgs &g);
  // Slice s of the product as tasks (row block rb, panel p), numbered rb * panels + p and dealt out as one
  // contiguous region per thread (GemmRegion): thread self runs its region from the front, then takes tasks from
  // the back of whichever region has most left, until all are empty, so a thread slowed down (a busy core, an
  // efficiency core, a VM's neighbour) hands its work to the others. A thread packs a row block's rows when it
  // starts on one (once per block for its own region). Slice s of a tile needs slice s - 1 of it finished, by
  // whichever thread ran it (the caller runs the slices one after another).
  void (*claim)(const GemmArgs &g, const int64_t *row_starts, int64_t panels, int64_t s, GemmRegion *regions,
                int nregions, int self);
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
