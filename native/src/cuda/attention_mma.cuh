// What the attention kernels share: the tensor-core kernels' (flash_mma in attention.cu, flash_mma_v2 in
// attention_v2.cuh) arguments and where one query block reads and writes, the SIMT kernels' (flash_simt,
// flash_simt_rows) constants and arguments, key_kept and nanmax. Needs only <cstdint> and tessera.h (dtype codes),
// so native/test/attention_v2_emulated.cpp and attention_simt_emulated.cpp include it too, under their CUDA shims.
#ifndef TESSERA_SRC_CUDA_ATTENTION_MMA_CUH
#define TESSERA_SRC_CUDA_ATTENTION_MMA_CUH

#include <cstdint>

#include "tessera/tessera.h"

namespace tsr {
namespace cuda {
namespace attn {

__host__ __device__ __forceinline__ int64_t i64min(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ int64_t i64max(int64_t a, int64_t b) { return a > b ? a : b; }

__device__ __forceinline__ bool key_kept(const void *mask, int mask_dtype, int64_t idx) {
  if (mask == nullptr) return true;
  return mask_dtype == TSR_I64 ? static_cast<const int64_t *>(mask)[idx] != 0
                               : static_cast<const int32_t *>(mask)[idx] != 0;
}

struct MmaArgs {
  const void *q, *k, *v;
  void *out;
  int64_t heads_q, heads_kv, seq_q, seq_k, d, cap;
  const void *mask;
  int mask_dtype;
  float scale_log2;
  int causal;
};

// NaN-propagating max (fmaxf drops NaN; a NaN score must reach the output).
__device__ __forceinline__ float nanmax(float a, float b) { return (b > a || b != b) ? b : a; }

// The SIMT kernels (flash_simt in attention.cu, flash_simt_rows in attention_simt_rows.cuh).
constexpr int kSimtWarps = 4;  // warps per block (flash_simt: one query row each)
constexpr int kSimtThreads = kSimtWarps * 32;
constexpr int kSK = 32;        // keys per tile (one per lane)

// The tensor-core kernels' arguments and the SIMT kernels' own.
struct SimtArgs : MmaArgs {
  int64_t rowblocks;  // blocks along the (group x seq_q) rows of one (batch, KV head)
  int64_t chunk;      // keys per split (multiple of kSK)
  float *ws_o, *ws_m, *ws_l;  // split partials (splits > 1), else nullptr
};

// One query block of a grid (query blocks, heads_q, batch), causal blocks scheduled heaviest first (reversed
// blockIdx.x): its rows, the (batch, head) pointers, the key-padding row and the keys that can matter to it.
template <typename T>
struct MmaBlock {
  int64_t q0;          // first query row
  int rows_q;          // query rows of the block
  const T *q;          // q at row q0 (rows d apart)
  T *out;              // out at row q0
  const T *k, *v;      // key / value 0 of the KV head (rows d apart, cap rows per head)
  const void *mask;    // key-padding row of the batch item, or nullptr
  int64_t shift;       // causal: row i sees keys j <= i + shift
  int64_t visible;     // keys [0, visible) matter to the block
};

// Query block qb of head h of batch item b.
template <typename T>
__device__ __forceinline__ MmaBlock<T> mma_block_at(const MmaArgs &a, int64_t rows_per_block, int64_t d, int64_t qb,
                                                    int64_t h, int64_t b) {
  MmaBlock<T> m;
  m.q0 = qb * rows_per_block;
  m.rows_q = static_cast<int>(i64min(rows_per_block, a.seq_q - m.q0));
  const int64_t qoff = ((b * a.heads_q + h) * a.seq_q + m.q0) * d;
  m.q = static_cast<const T *>(a.q) + qoff;
  m.out = static_cast<T *>(a.out) + qoff;
  const int64_t kvoff = (b * a.heads_kv + h / (a.heads_q / a.heads_kv)) * a.cap * d;
  m.k = static_cast<const T *>(a.k) + kvoff;
  m.v = static_cast<const T *>(a.v) + kvoff;
  m.mask = a.mask ? static_cast<const char *>(a.mask) + b * a.seq_k * (a.mask_dtype == TSR_I64 ? 8 : 4) : nullptr;
  m.shift = a.seq_k - a.seq_q;
  m.visible = a.causal ? i64min(a.seq_k, m.q0 + m.rows_q + m.shift) : a.seq_k;
  return m;
}
template <typename T>
__device__ __forceinline__ MmaBlock<T> mma_block(const MmaArgs &a, int64_t rows_per_block, int64_t d) {
  const int64_t qb = a.causal ? (gridDim.x - 1 - blockIdx.x) : blockIdx.x;
  return mma_block_at<T>(a, rows_per_block, d, qb, blockIdx.y, blockIdx.z);
}

}  // namespace attn
}  // namespace cuda
}  // namespace tsr

#endif
