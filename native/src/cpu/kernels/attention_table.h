// Per-ISA table of the fused-attention CPU kernels (tessera/attention.h). Compiled once per ISA with
// the rest of src/cpu/kernels/ (TSR_ISA_NS = isa_scalar / isa_avx2 / isa_avx512); src/cpu/attention.cpp
// picks one table (the level tsr_cpu_simd() reports) and splits the work into tasks over the pool.
// Kernels assume validated arguments and never start threads.
#ifndef TESSERA_SRC_CPU_KERNELS_ATTENTION_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_ATTENTION_TABLE_H

#include <cstdint>

namespace tsr {

constexpr int64_t kAttnQueryBlock = 128;  // most query rows per task (K^T tile packed once per block)
constexpr int64_t kAttnKeyTile = 128;     // keys per online-softmax step

// One task: query rows [0, nq) of one (batch, head) against keys [kbeg, kend) of its KV head.
struct AttnBlock {
  const float *q;       // first query row of the block; rows are q_stride floats apart
  const float *k;       // key 0 of the KV head; rows are k_stride apart
  const float *v;       // value 0 of the KV head; rows are v_stride apart
  int64_t q_stride, k_stride, v_stride;  // row strides in floats (>= head_dim; head_dim when contiguous)
  int64_t head_dim;
  int64_t nq;           // 1..kAttnQueryBlock
  int64_t kbeg, kend;   // key range of this task (kbeg <= kend)
  int64_t limit0;       // causal: local row i sees keys j <= limit0 + i; INT64_MAX when not causal
  const void *mask;     // key-padding mask row of this batch item (indexed by key), or nullptr
  int mask_dtype;       // TSR_I32 / TSR_I64
  float scale;
  // Final output (m == nullptr): out rows (out_stride floats apart) get the normalised result, zeros for a row
  // that saw no key. Partial output (m != nullptr): out gets the unnormalised sum_j e^(s_j - m) v_j,
  // m[i] / l[i] the running max (-inf if no key seen) and sum.
  float *out;
  int64_t out_stride;   // row stride of out in floats (partial output: head_dim)
  float *m;
  float *l;
  // Scratch of at least attn_scratch_floats(head_dim) floats, 64-byte aligned.
  float *scratch;
};

inline int64_t attn_scratch_floats(int64_t head_dim) {
  return head_dim * kAttnKeyTile                 // packed K^T tile
         + kAttnQueryBlock * kAttnKeyTile        // scores / probabilities
         + kAttnQueryBlock * head_dim            // output accumulators
         + 3 * kAttnQueryBlock + kAttnKeyTile    // m, l, correction; key bias
         + 64;
}

struct AttentionKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  void (*block)(const AttnBlock &t);
  // Log-sum-exp merge of `parts` partial results of rows [0, rows): part p's row r has its sum at
  // o + (p * stride + r) * head_dim and its max / sum at m[p * stride + r], l[p * stride + r]. Writes
  // the normalised rows to out (head_dim apart; zeros for a row that saw no key).
  void (*merge)(const float *o, const float *m, const float *l, int64_t parts, int64_t stride, int64_t rows,
                int64_t head_dim, float *out);
};

namespace isa_scalar {
const AttentionKernels &attention_kernels();
}
#if defined(__x86_64__) || defined(_M_X64)
namespace isa_avx2 {
const AttentionKernels &attention_kernels();
}
namespace isa_avx512 {
const AttentionKernels &attention_kernels();
}
#endif

}  // namespace tsr

#endif
