// CUDA kernels of tessera/attention.h.
//
//  1. flash_mma: flash-attention-2 style forward for F16 / BF16 with head_dim <= 128. A block of 4 warps
//     owns 64 query rows (16 per warp) of one (batch, head); key / value tiles of 64 rows are staged in
//     shared memory with cp.async (the V tile loads while QK^T runs, the next K tile while PV runs);
//     QK^T and PV run on tensor cores (mma.sync m16n8k16, fp32 accumulation, fragments from ldmatrix);
//     the online softmax (running max / sum per row) stays in registers. head_dim 64 and 128 are
//     specialised (16-byte cp.async loads); other sizes are zero-padded to 64 / 128. Causal: key tiles past
//     the block's last visible key are never loaded, and the heaviest query blocks are scheduled first.
//  1b. flash_mma_v2 (attention_v2.cuh, design notes there): the flash-attention-2 recipe proper for F16 / BF16
//     with head_dim 64 and 128: 128 query rows per block (4 warps x 32 rows, two m16 tiles per warp so that
//     every K / V fragment feeds two mma), key tiles of 128 (head_dim 64) / 64 (head_dim 128) rows double-
//     buffered in shared memory (tile t + 1 loads while tile t computes; one barrier per tile), Q re-read from
//     shared memory per k-step, P kept in registers, scale folded into ex2.approx's FFMA, lazy O rescaling
//     (head_dim 64 on sm_90), per-warp skipping of causally masked 16-key slices.
//     Registers / shared memory (ptxas 13.0, sm_90): head_dim 128: 251 registers, 104,960 B dynamic; head_dim
//     64: 255 registers, 93,184 B; no spills (sm_80-89: head_dim 64 spills 40 B); 2 blocks (8 warps) per SM.
//     flash_mma for comparison: 164 / 125 registers (head_dim 128 / 64), 52,224 / 27,648 B. Devices that cannot
//     give a block that much shared memory (sm_86 / sm_89 for head_dim 128), scales <= 0, other head_dims and
//     unaligned buffers run flash_mma.
//     Chosen by tsr_cuda_attention's `kernel` argument (TSR_ATTENTION_KERNEL_V2), and by AUTO for head_dim 128
//     without a causal mask (1.2x flash_mma there on an H100; flash_mma is equal or faster causal and at head_dim
//     64). Verified on H100 (runtime's CudaAttentionTest runs both, GpuAttentionBench times both);
//     native/test/attention_v2_emulated.cpp runs its code on the CPU against a float64 reference.
//  2b. flash_simt_rows (attention_simt_rows.cuh, design notes there): the F32 prefill path on CUDA cores with
//     four query rows per warp (head_dim a multiple of 4 up to 128, aligned buffers, enough blocks); else 2.
//  2. flash_simt: fp32 arithmetic on CUDA cores for any storage type and head_dim <= 256 (the F32 path, the
//     F16 / BF16 path for head_dim > 128, and decode). A block of 4 warps handles 4 query rows of one
//     (batch, KV head) (the query heads of a GQA group are its rows, so they share the K/V tiles); a tile of
//     32 keys is staged in shared memory, lane j scores key j, the warp does the online softmax with
//     shuffles and accumulates PV with head_dim spread over the lanes. With few rows (decode) the grid is
//     also split along the keys (flash-decoding): each split writes an unnormalised partial result and
//     its (max, sum) to the workspace, and flash_combine merges them by log-sum-exp.
//
//  1c. flash_wgmma (attention_wgmma.cuh / attention_wgmma.cu, design notes there): Hopper warpgroup MMA
//     (wgmma.mma_async m64nNk16, operands in 128-byte-swizzled shared memory through descriptors, P from registers)
//     for F16 / BF16 with head_dim 64 and 128: 128 query rows per block (2 warpgroups x 64), double-buffered tiles
//     of 128 keys. First run on a GPU 2026-11-29 (H200, bench/results/gpu/run4-h200: GpuWgmmaProbe and every
//     CudaAttentionTest case pass; 1.2-1.4x flash_mma / flash_mma_v2 at head_dim 128, 1.0-1.3x at 64 without a
//     causal mask). Chosen by TSR_ATTENTION_KERNEL_WGMMA (refused, TSR_ERR_UNSUPPORTED, on devices other than
//     compute capability 9.0) and by AUTO on 9.0 (see wgmma_auto); compiled for sm_90a in its own translation unit;
//     on 9.0 the cases it does not cover run flash_mma. native/test/attention_wgmma_emulated.cpp runs its code on
//     the CPU (wgmma emulated from the PTX ISA's descriptor and fragment rules) against a float64 reference.
//     Its warp-specialised form flash_wgmma_ws (attention_wgmma_ws.cuh: TMA producer warpgroup, mbarriers,
//     setmaxnreg, softmax under the previous tile's P V) runs instead under TESSERA_WGMMA_SCHEDULE=ws; not yet run on
//     a GPU, emulated (TMA and mbarriers too) by the same test.
// Scores are kept in the log2 domain (scale * log2(e) folded into the score) and exponentiated with exp2f.
// Every launch is checked; no device synchronisation.
#include <atomic>
#include <cstdint>

#include "attention_mma.cuh"
#include "cuda_common.cuh"
#include "tessera/attention.h"

namespace tsr {
namespace cuda {
namespace attn {

#if TSR_WITH_WGMMA
// flash_wgmma for a TSR_ATTENTION_KERNEL_WGMMA request (attention_wgmma.cu, compiled for sm_90a only).
// *schedule_used: the TSR_WGMMA_SCHEDULE_* value of the launch (when *used).
int try_wgmma(int dtype, const MmaArgs &a, int64_t batch, cudaStream_t stream, bool *used, int *schedule_used);
// Compute capability of the current device (major * 10 + minor), cached (attention_wgmma.cu).
int device_cc(int *cc);
#endif

// Whether AUTO takes flash_wgmma (on a compute capability 9.0 device; try_wgmma still checks alignment, scale and
// shared memory): where it measured faster than flash_mma and flash_mma_v2 on an H200 (bench/results/gpu/run4-h200,
// bf16 TFLOP/s): head_dim 128 causal or not (1.16-1.40x the faster of the two), head_dim 64 without a causal mask
// (1.01x at 197 keys, 1.17-1.26x at 1024-16384), head_dim 64 causal from 4096 query rows (1.01x at 4096, 1.13x at
// 16384; flash_mma is faster below: 1.27x at 197, 1.06x at 1024).
inline bool wgmma_auto(int64_t head_dim, int64_t seq_q, int causal) {
  return head_dim == 128 || (head_dim == 64 && (!causal || seq_q >= 4096));
}

constexpr float kLog2e = 1.4426950408889634f;


// ============================================================================ tensor-core kernel

constexpr int kMmaWarps = 4;
constexpr int kMmaThreads = kMmaWarps * 32;
constexpr int kBQ = 16 * kMmaWarps;  // query rows per block
constexpr int kBK = 64;              // keys per tile

template <typename T>
struct MmaOp;

template <>
struct MmaOp<__nv_bfloat16> {
  __device__ __forceinline__ static void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
  }
};

template <>
struct MmaOp<__half> {
  __device__ __forceinline__ static void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
  }
};

__device__ __forceinline__ uint32_t smem_addr(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldsm_x4(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3, const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(smem_addr(p)));
}

__device__ __forceinline__ void ldsm_x4_t(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3, const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(smem_addr(p)));
}

__device__ __forceinline__ void cp_async16(void *smem, const void *gmem) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(smem)), "l"(gmem));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Stages rows [0, 64) x cols [0, DP) of a tile whose rows are d apart in global memory; rows >= nrows
// and cols >= d are zero. VEC: d == DP and 16-byte aligned rows (cp.async, asynchronous); otherwise
// plain loads and stores (visible after the next __syncthreads).
template <typename T, int DP, bool VEC>
__device__ __forceinline__ void stage_tile(T *sm, const T *g, int64_t d, int nrows) {
  constexpr int LD = DP + 8;
  if (VEC) {
    constexpr int CPR = DP / 8;  // 16-byte chunks per row
    for (int idx = threadIdx.x; idx < kBK * CPR; idx += kMmaThreads) {
      const int r = idx / CPR, c = (idx % CPR) * 8;
      T *dst = sm + r * LD + c;
      if (r < nrows) {
        cp_async16(dst, g + static_cast<int64_t>(r) * DP + c);
      } else {
        *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
      }
    }
  } else {
    const T zero = from_f<T>(0.0f);
    for (int idx = threadIdx.x; idx < kBK * DP; idx += kMmaThreads) {
      const int r = idx / DP, c = idx % DP;
      sm[r * LD + c] = (r < nrows && c < d) ? g[static_cast<int64_t>(r) * d + c] : zero;
    }
  }
}


template <typename T, int DP, bool VEC>
__global__ void __launch_bounds__(kMmaThreads) flash_mma(MmaArgs a) {
  constexpr int LD = DP + 8;
  constexpr int KSTEPS = DP / 16;  // k-steps of QK^T over head_dim
  constexpr int DT = DP / 8;       // n-tiles of the output over head_dim
  constexpr int NT = kBK / 8;      // n-tiles of the scores over keys
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T *Qs = reinterpret_cast<T *>(smem_raw);
  T *Ks = Qs + kBQ * LD;
  T *Vs = Ks + kBK * LD;
  __shared__ float kept[kBK];  // 0 = key usable, -inf = padding / past seq_k

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, t4 = lane & 3;
  const int64_t d = a.d, sk = a.seq_k;
  const MmaBlock<T> blk = mma_block<T>(a, kBQ, d);
  const int64_t q0 = blk.q0, shift = blk.shift, visible = blk.visible;
  const int rows_q = blk.rows_q;
  const T *qp = blk.q, *kp = blk.k, *vp = blk.v;
  const void *mrow = blk.mask;
  const int ntiles = visible > 0 ? static_cast<int>((visible + kBK - 1) / kBK) : 0;

  // prologue: Q and K tile 0
  stage_tile<T, DP, VEC>(Qs, qp, d, rows_q);
  if (ntiles > 0) stage_tile<T, DP, VEC>(Ks, kp, d, static_cast<int>(i64min(kBK, sk)));
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  uint32_t qf[KSTEPS][4];
#pragma unroll
  for (int kk = 0; kk < KSTEPS; ++kk) {
    const int mi = lane >> 3, r = lane & 7;
    ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], Qs + (warp * 16 + r + (mi & 1) * 8) * LD + kk * 16 + (mi >> 1) * 8);
  }

  float o[DT][4];
#pragma unroll
  for (int i = 0; i < DT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int64_t row_g[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};

  for (int t = 0; t < ntiles; ++t) {
    const int64_t j0 = static_cast<int64_t>(t) * kBK;
    const int nk = static_cast<int>(i64min(kBK, sk - j0));
    stage_tile<T, DP, VEC>(Vs, vp + j0 * d, d, nk);
    cp_async_commit();
    if (tid < kBK) kept[tid] = (tid < nk && key_kept(mrow, a.mask_dtype, j0 + tid)) ? 0.0f : -INFINITY;
    cp_async_wait<1>();  // K tile t has landed (V tile t may still be in flight)
    __syncthreads();

    // S = Q K^T (16 rows x 64 keys per warp)
    float s[NT][4];
#pragma unroll
    for (int i = 0; i < NT; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) {
#pragma unroll
      for (int np = 0; np < NT / 2; ++np) {
        const int mi = lane >> 3, r = lane & 7;
        uint32_t b0, b1, b2, b3;
        ldsm_x4(b0, b1, b2, b3, Ks + (np * 16 + r + (mi >> 1) * 8) * LD + kk * 16 + (mi & 1) * 8);
        MmaOp<T>::mma(s[2 * np], qf[kk], b0, b1);
        MmaOp<T>::mma(s[2 * np + 1], qf[kk], b2, b3);
      }
    }
    // scale, masks, online softmax (rows g and g + 8 of the warp's 16; a quad shares a row)
    const bool need_mask = mrow != nullptr || nk < kBK || (a.causal && j0 + kBK - 1 > q0 + shift);
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        float x = s[nt][c] * a.scale_log2;
        if (need_mask) {
          const int col = nt * 8 + 2 * t4 + (c & 1);
          const bool ok = kept[col] == 0.0f && (!a.causal || j0 + col <= row_g[c >> 1] + shift);
          x = ok ? x : -INFINITY;
        }
        s[nt][c] = x;
        mx[c >> 1] = nanmax(mx[c >> 1], x);
      }
    }
    float corr[2], msub[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = nanmax(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = nanmax(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float mnew = nanmax(m[r], mx[r]);
      msub[r] = mnew == -INFINITY ? 0.0f : mnew;  // nothing visible yet: p = 0, no NaN from -inf - -inf
      corr[r] = exp2f(m[r] - msub[r]);
      m[r] = mnew;
    }
    float lsum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float p = exp2f(s[nt][c] - msub[c >> 1]);
        s[nt][c] = p;
        lsum[c >> 1] += p;
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) l[r] = l[r] * corr[r] + lsum[r];  // per-thread partial, reduced at the end
#pragma unroll
    for (int i = 0; i < DT; ++i) {
      o[i][0] *= corr[0];
      o[i][1] *= corr[0];
      o[i][2] *= corr[1];
      o[i][3] *= corr[1];
    }
    __syncthreads();  // every warp is done with Ks (and kept)
    if (t + 1 < ntiles) {
      stage_tile<T, DP, VEC>(Ks, kp + (j0 + kBK) * d, d, static_cast<int>(i64min(kBK, sk - j0 - kBK)));
      cp_async_commit();
      cp_async_wait<1>();  // V tile t has landed
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();

    // O += P V
#pragma unroll
    for (int kc = 0; kc < kBK / 16; ++kc) {
      uint32_t pa[4];
      pa[0] = MmaOp<T>::pack(s[2 * kc][0], s[2 * kc][1]);
      pa[1] = MmaOp<T>::pack(s[2 * kc][2], s[2 * kc][3]);
      pa[2] = MmaOp<T>::pack(s[2 * kc + 1][0], s[2 * kc + 1][1]);
      pa[3] = MmaOp<T>::pack(s[2 * kc + 1][2], s[2 * kc + 1][3]);
#pragma unroll
      for (int dp = 0; dp < DP / 16; ++dp) {
        const int mi = lane >> 3, r = lane & 7;
        uint32_t b0, b1, b2, b3;
        ldsm_x4_t(b0, b1, b2, b3, Vs + (kc * 16 + r + (mi & 1) * 8) * LD + dp * 16 + (mi >> 1) * 8);
        MmaOp<T>::mma(o[2 * dp], pa, b0, b1);
        MmaOp<T>::mma(o[2 * dp + 1], pa, b2, b3);
      }
    }
    __syncthreads();  // Vs and kept are overwritten by the next tile
  }

  // normalise and store
  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float lt = l[r];
    lt += __shfl_xor_sync(0xffffffffu, lt, 1);
    lt += __shfl_xor_sync(0xffffffffu, lt, 2);
    inv[r] = lt == 0.0f ? 0.0f : 1.0f / lt;  // a row that saw no key gets zeros
  }
  T *op = blk.out;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * 16 + g + r * 8;
    if (row >= rows_q) continue;
    T *orow = op + static_cast<int64_t>(row) * d;
#pragma unroll
    for (int i = 0; i < DT; ++i) {
      const int col = i * 8 + 2 * t4;
      const float v0 = inv[r] == 0.0f ? 0.0f : o[i][2 * r] * inv[r];
      const float v1 = inv[r] == 0.0f ? 0.0f : o[i][2 * r + 1] * inv[r];
      if (VEC) {
        *reinterpret_cast<uint32_t *>(orow + col) = MmaOp<T>::pack(v0, v1);
      } else {
        if (col < d) orow[col] = from_f<T>(v0);
        if (col + 1 < d) orow[col + 1] = from_f<T>(v1);
      }
    }
  }
}

// ============================================================================ tensor-core kernel, version 2

#include "attention_v2.cuh"

// ============================================================================ SIMT kernel (+ split-KV)

constexpr int kMinKeysPerSplit = 256;
constexpr int kMaxSplits = 64;
// kSimtWarps, kSimtThreads, kSK and SimtArgs: attention_mma.cuh (shared with flash_simt_rows)

inline int64_t simt_smem_bytes(int64_t d) {
  const int64_t ks = d + 1 - (d & 1);  // odd row stride: lane j reads K row j conflict-free
  return (kSK * ks + kSK * d + kSimtWarps * d) * static_cast<int64_t>(sizeof(float));
}

template <typename T, int DPL>
__global__ void __launch_bounds__(kSimtThreads) flash_simt(SimtArgs a) {
  extern __shared__ float fsm[];
  const int64_t d = a.d, sk = a.seq_k, sq = a.seq_q;
  const int di = static_cast<int>(d);  // <= TSR_ATTENTION_MAX_HEAD_DIM
  const int ks = di + 1 - (di & 1);
  float *Ks = fsm;              // [kSK][ks]
  float *Vs = Ks + kSK * ks;    // [kSK][d]
  float *Qs = Vs + kSK * d;     // [kSimtWarps][d], pre-scaled to the log2 domain
  __shared__ float kept[kSK];

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int64_t rb = blockIdx.x % a.rowblocks, bkv = blockIdx.x / a.rowblocks;
  const int64_t b = bkv / a.heads_kv, kvh = bkv % a.heads_kv;
  const int64_t group = a.heads_q / a.heads_kv;
  const int64_t nrows = group * sq;
  const int64_t row = rb * kSimtWarps + warp;  // this warp's row in (head of the group, query) order
  const bool valid = row < nrows;
  const int64_t h = kvh * group + (valid ? row / sq : 0), i = valid ? row % sq : 0;
  const int64_t shift = sk - sq;
  const int64_t kvoff = (b * a.heads_kv + kvh) * a.cap * d;
  const T *kp = static_cast<const T *>(a.k) + kvoff;
  const T *vp = static_cast<const T *>(a.v) + kvoff;
  const void *mrow = a.mask ? static_cast<const char *>(a.mask) + b * sk * (a.mask_dtype == TSR_I64 ? 8 : 4)
                            : nullptr;
  // this split's keys, cut at the last key any row of the block may see
  const int64_t split = blockIdx.y;
  const int64_t kb = split * a.chunk;
  int64_t ke = i64min(sk, kb + a.chunk);
  if (a.causal) {
    int64_t last = -1;  // largest i + shift over the block's rows
    for (int w = 0; w < kSimtWarps; ++w) {
      const int64_t r = rb * kSimtWarps + w;
      if (r < nrows) last = i64max(last, r % sq + shift);
    }
    ke = i64min(ke, last + 1);
  }
  const int64_t lim = a.causal ? i + shift : sk - 1;  // this row sees keys j <= lim

  const T *qrow = static_cast<const T *>(a.q) + ((b * a.heads_q + h) * sq + i) * d;
  for (int64_t c = lane; c < d; c += 32) Qs[warp * d + c] = valid ? to_f(qrow[c]) * a.scale_log2 : 0.0f;

  float acc[DPL];
#pragma unroll
  for (int x = 0; x < DPL; ++x) acc[x] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int64_t j0 = kb; j0 < ke; j0 += kSK) {
    const int nk = static_cast<int>(i64min(kSK, ke - j0));
    __syncthreads();  // previous tile consumed (and Qs written, first time)
    // warp w stages rows w, w + 4, ...; lanes along the row (coalesced), no 64-bit division per element
    for (int r = warp; r < kSK; r += kSimtWarps) {
      const bool in = r < nk;
      const T *kg = kp + (j0 + r) * d;
      const T *vg = vp + (j0 + r) * d;
      for (int c = lane; c < di; c += 32) {
        Ks[r * ks + c] = in ? to_f(kg[c]) : 0.0f;
        Vs[r * di + c] = in ? to_f(vg[c]) : 0.0f;
      }
    }
    if (tid < kSK) kept[tid] = (tid < nk && key_kept(mrow, a.mask_dtype, j0 + tid)) ? 0.0f : -INFINITY;
    __syncthreads();
    if (!valid) continue;
    // lane scores key j0 + lane
    const float *qs = Qs + warp * d;
    const float *kr = Ks + lane * ks;
    float s = 0.0f;
    for (int c = 0; c < di; ++c) s = fmaf(qs[c], kr[c], s);
    const bool ok = kept[lane] == 0.0f && j0 + lane <= lim;
    s = ok ? s : -INFINITY;
    float mx = s;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) mx = nanmax(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    const float mnew = nanmax(m, mx);
    if (mnew == -INFINITY) continue;  // warp-uniform: nothing visible yet
    const float p = exp2f(s - mnew);
    const float corr = exp2f(m - mnew);
    l = l * corr + warp_sum(p);
    m = mnew;
#pragma unroll
    for (int x = 0; x < DPL; ++x) acc[x] *= corr;
    for (int j = 0; j < nk; ++j) {
      const float pj = __shfl_sync(0xffffffffu, p, j);
      const float *vr = Vs + j * d;
#pragma unroll
      for (int x = 0; x < DPL; ++x) {
        const int64_t c = lane + 32 * x;
        if (c < d) acc[x] = fmaf(pj, vr[c], acc[x]);
      }
    }
  }
  if (!valid) return;
  const int64_t orow = (b * a.heads_q + h) * sq + i;  // global row of out
  if (a.ws_o != nullptr) {                            // partial result of this split
    const int64_t rows_total = a.heads_q * sq * (gridDim.x / a.rowblocks / a.heads_kv);
    const int64_t prow = split * rows_total + orow;
    float *wo = a.ws_o + prow * d;
#pragma unroll
    for (int x = 0; x < DPL; ++x) {
      const int64_t c = lane + 32 * x;
      if (c < d) wo[c] = acc[x];
    }
    if (lane == 0) {
      a.ws_m[prow] = m;
      a.ws_l[prow] = l;
    }
    return;
  }
  T *op = static_cast<T *>(a.out) + orow * d;
  const float inv = l == 0.0f ? 0.0f : 1.0f / l;
#pragma unroll
  for (int x = 0; x < DPL; ++x) {
    const int64_t c = lane + 32 * x;
    if (c < d) op[c] = from_f<T>(inv == 0.0f ? 0.0f : acc[x] * inv);
  }
}

#include "attention_simt_rows.cuh"

// One warp per output row: log-sum-exp merge of the splits' partial results.
template <typename T>
__global__ void __launch_bounds__(128) flash_combine(const float *ws_o, const float *ws_m, const float *ws_l,
                                                    int splits, int64_t rows, int64_t d, T *out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  float mx = -INFINITY;
  for (int s = 0; s < splits; ++s) mx = nanmax(mx, ws_m[s * rows + row]);
  T *op = out + row * d;
  if (mx == -INFINITY) {  // no split saw a key
    for (int64_t c = lane; c < d; c += 32) op[c] = from_f<T>(0.0f);
    return;
  }
  float lsum = 0.0f;
  for (int s = 0; s < splits; ++s) lsum += ws_l[s * rows + row] * exp2f(ws_m[s * rows + row] - mx);
  const float inv = 1.0f / lsum;
  for (int64_t c = lane; c < d; c += 32) {
    float v = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float w = exp2f(ws_m[s * rows + row] - mx);
      if (w != 0.0f) v = fmaf(w, ws_o[(s * rows + row) * d + c], v);
    }
    op[c] = from_f<T>(v * inv);
  }
}

// ============================================================================ host side

struct Plan {
  bool mma;
  int64_t rowblocks;  // SIMT
  int64_t splits;     // SIMT key splits (1 = none)
  int64_t chunk;      // keys per split
  int64_t ws_bytes;
};

// Attribute A of the current device, cached per device (the first 64 devices).
template <cudaDeviceAttr A>
int device_attribute(const char *what, int *out) {
  static int cache[64] = {0};
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  if (dev >= 0 && dev < 64 && cache[dev] > 0) {
    *out = cache[dev];
    return TSR_OK;
  }
  int n = 0;
  TSR_CUDA_CHECK(what, cudaDeviceGetAttribute(&n, A, dev));
  if (dev >= 0 && dev < 64) cache[dev] = n;
  *out = n;
  return TSR_OK;
}

int sm_count(int *out) {
  int st = device_attribute<cudaDevAttrMultiProcessorCount>("cudaDeviceGetAttribute(MultiProcessorCount)", out);
  if (st == TSR_OK && *out < 1) *out = 1;
  return st;
}

int make_plan(int dtype, int64_t batch, int64_t hq, int64_t hkv, int64_t sq, int64_t sk, int64_t d, Plan *p) {
  p->mma = dtype != TSR_F32 && d <= 128 && sq > 4;
  p->rowblocks = ((hq / hkv) * sq + kSimtWarps - 1) / kSimtWarps;
  p->splits = 1;
  p->chunk = sk;
  p->ws_bytes = 0;
  if (p->mma || sq == 0) return TSR_OK;
  int sms = 0;
  int st = sm_count(&sms);
  if (st != TSR_OK) return st;
  const int64_t blocks = p->rowblocks * batch * hkv;
  if (blocks < 2 * sms && sk >= 2 * kMinKeysPerSplit) {
    int64_t splits = (2 * sms + blocks - 1) / blocks;
    splits = i64min(splits, sk / kMinKeysPerSplit);
    splits = i64min(splits, kMaxSplits);
    if (splits > 1) {
      int64_t chunk = (sk + splits - 1) / splits;
      chunk = (chunk + kSK - 1) / kSK * kSK;
      splits = (sk + chunk - 1) / chunk;
      if (splits > 1) {
        p->splits = splits;
        p->chunk = chunk;
        const int64_t rows = batch * hq * sq;
        p->ws_bytes = splits * rows * (d + 2) * static_cast<int64_t>(sizeof(float));
      }
    }
  }
  return TSR_OK;
}

template <typename T, int DP, bool VEC>
int launch_mma(const MmaArgs &a, int64_t batch, cudaStream_t stream) {
  constexpr int LD = DP + 8;
  const size_t smem = static_cast<size_t>(kBQ + 2 * kBK) * LD * sizeof(T);
  if (smem > 48 * 1024) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_mma)",
                   cudaFuncSetAttribute(flash_mma<T, DP, VEC>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
  }
  dim3 grid(static_cast<unsigned>((a.seq_q + kBQ - 1) / kBQ), static_cast<unsigned>(a.heads_q),
            static_cast<unsigned>(batch));
  flash_mma<T, DP, VEC><<<grid, kMmaThreads, smem, stream>>>(a);
  TSR_LAUNCH_CHECK("flash_mma launch");
  return TSR_OK;
}

// Largest dynamic shared memory per block on the current device (opt-in), cached per device.
int smem_optin(int *out) {
  return device_attribute<cudaDevAttrMaxSharedMemoryPerBlockOptin>(
      "cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)", out);
}

template <typename T, int D>
int launch_mma_v2(const MmaArgs &a, int64_t batch, cudaStream_t stream) {
  constexpr size_t smem = V2Tile<D>::smem_bytes;
  // the function attributes, once per device (bit dev of `ready`; a race only sets them twice)
  static std::atomic<uint64_t> ready{0};
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  const uint64_t bit = dev >= 0 && dev < 64 ? (uint64_t{1} << dev) : 0;
  if (bit == 0 || (ready.load(std::memory_order_relaxed) & bit) == 0) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_mma_v2, MaxDynamicSharedMemorySize)",
                   cudaFuncSetAttribute(flash_mma_v2<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_mma_v2, PreferredSharedMemoryCarveout)",
                   cudaFuncSetAttribute(flash_mma_v2<T, D>, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        static_cast<int>(cudaSharedmemCarveoutMaxShared)));
    ready.fetch_or(bit, std::memory_order_relaxed);
  }
  dim3 grid(static_cast<unsigned>((a.seq_q + kV2BM - 1) / kV2BM), static_cast<unsigned>(a.heads_q),
            static_cast<unsigned>(batch));
  flash_mma_v2<T, D><<<grid, kV2Threads, smem, stream>>>(a);
  TSR_LAUNCH_CHECK("flash_mma_v2 launch");
  return TSR_OK;
}

// flash_mma_v2 when it applies (head_dim 64 / 128, scale > 0, 16-byte aligned buffers, enough shared memory per
// block: sm_80 / sm_90 yes, sm_86 / sm_89 not for head_dim 128); *used = false leaves the call to flash_mma.
template <typename T>
int try_mma_v2(const MmaArgs &a, int64_t batch, cudaStream_t stream, bool *used) {
  *used = false;
  if ((a.d != 64 && a.d != 128) || !(a.scale_log2 > 0.0f) || !aligned(a.q, 16) || !aligned(a.k, 16) ||
      !aligned(a.v, 16) || !aligned(a.out, 16)) {
    return TSR_OK;
  }
  int optin = 0;
  int st = smem_optin(&optin);
  if (st != TSR_OK) return st;
  const size_t need = a.d == 64 ? V2Tile<64>::smem_bytes : V2Tile<128>::smem_bytes;
  if (static_cast<size_t>(optin) < need) return TSR_OK;
  *used = true;
  return a.d == 64 ? launch_mma_v2<T, 64>(a, batch, stream) : launch_mma_v2<T, 128>(a, batch, stream);
}

template <typename T, int DP>
int dispatch_mma_vec(const MmaArgs &a, int64_t batch, cudaStream_t stream) {
  const bool vec = a.d == DP && aligned(a.q, 16) && aligned(a.k, 16) && aligned(a.v, 16) && aligned(a.out, 16);
  return vec ? launch_mma<T, DP, true>(a, batch, stream) : launch_mma<T, DP, false>(a, batch, stream);
}

template <typename T, int DPL>
int launch_simt(const SimtArgs &a, int64_t batch, int64_t splits, cudaStream_t stream) {
  const int64_t smem = simt_smem_bytes(a.d);
  if (smem > 48 * 1024) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_simt)",
                   cudaFuncSetAttribute(flash_simt<T, DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
  }
  dim3 grid(static_cast<unsigned>(a.rowblocks * batch * a.heads_kv), static_cast<unsigned>(splits));
  flash_simt<T, DPL><<<grid, kSimtThreads, static_cast<size_t>(smem), stream>>>(a);
  TSR_LAUNCH_CHECK("flash_simt launch");
  return TSR_OK;
}

template <int DPL>
int launch_simt_rows(const SimtArgs &a, int64_t batch, cudaStream_t stream) {
  const int64_t smem = simt_rows_smem_bytes(a.d);
  if (smem > 48 * 1024) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_simt_rows)",
                   cudaFuncSetAttribute(flash_simt_rows<DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
  }
  flash_simt_rows<DPL><<<static_cast<unsigned>(a.rowblocks * batch * a.heads_kv), kSimtThreads,
                         static_cast<size_t>(smem), stream>>>(a);
  TSR_LAUNCH_CHECK("flash_simt_rows launch");
  return TSR_OK;
}

// flash_simt_rows for an F32 prefill when it applies: head_dim a multiple of 4 up to 128, 16-byte aligned q / k / v,
// more than 4 query rows, no key split, and at least two blocks of 16 rows per SM (with fewer, flash_simt's 4-row
// blocks keep more of the device busy); *used = false leaves the call to flash_simt.
int try_simt_rows(const SimtArgs &base, const Plan &p, int64_t batch, cudaStream_t stream, bool *used) {
  *used = false;
  if (p.splits != 1 || base.seq_q <= 4 || base.d % 4 != 0 || base.d > 128 || !aligned(base.q, 16) ||
      !aligned(base.k, 16) || !aligned(base.v, 16)) {
    return TSR_OK;
  }
  int sms = 0;
  int st = sm_count(&sms);
  if (st != TSR_OK) return st;
  SimtArgs a = base;
  a.rowblocks = ((base.heads_q / base.heads_kv) * base.seq_q + kRowsPerBlock - 1) / kRowsPerBlock;
  if (a.rowblocks * batch * base.heads_kv < 2LL * sms) return TSR_OK;
  *used = true;
  if (a.d <= 32) return launch_simt_rows<1>(a, batch, stream);
  if (a.d <= 64) return launch_simt_rows<2>(a, batch, stream);
  return launch_simt_rows<4>(a, batch, stream);
}

}  // namespace attn
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda;
using namespace tsr::cuda::attn;

namespace {

thread_local int g_last_kernel = 0;    // tsr_cuda_attention_last_kernel
thread_local int g_last_schedule = 0;  // tsr_cuda_attention_last_schedule

int check_args(const char *fn, int dtype, int64_t batch, int64_t hq, int64_t hkv, int64_t sq, int64_t sk, int64_t d) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "%s: dtype %d is not TSR_F32, TSR_F16 or TSR_BF16", fn, dtype);
  TSR_ARG_FAIL_IF(batch < 1 || hq < 1 || hkv < 1 || sq < 0 || sk < 0,
                  "%s: bad sizes batch=%lld heads_q=%lld heads_kv=%lld seq_q=%lld seq_k=%lld", fn, (long long)batch,
                  (long long)hq, (long long)hkv, (long long)sq, (long long)sk);
  TSR_ARG_FAIL_IF(d < 1 || d > TSR_ATTENTION_MAX_HEAD_DIM, "%s: head_dim %lld outside 1..%d", fn, (long long)d,
                  TSR_ATTENTION_MAX_HEAD_DIM);
  TSR_ARG_FAIL_IF(hq % hkv != 0, "%s: heads_q %lld is not a multiple of heads_kv %lld", fn, (long long)hq,
                  (long long)hkv);
  TSR_ARG_FAIL_IF(batch > 65535 || hq > 65535, "%s: batch %lld or heads_q %lld exceeds 65535", fn,
                  (long long)batch, (long long)hq);
  return TSR_OK;
}

}  // namespace

extern "C" int64_t tsr_cuda_attention_workspace_bytes(int dtype, int64_t batch, int64_t heads_q, int64_t heads_kv,
                                                      int64_t seq_q, int64_t seq_k, int64_t head_dim) {
  int st = check_args("tsr_cuda_attention_workspace_bytes", dtype, batch, heads_q, heads_kv, seq_q, seq_k, head_dim);
  if (st != TSR_OK) return -st;
  Plan p{};
  st = make_plan(dtype, batch, heads_q, heads_kv, seq_q, seq_k, head_dim, &p);
  if (st != TSR_OK) return -static_cast<int64_t>(st);
  return p.ws_bytes;
}

extern "C" int tsr_cuda_attention(int dtype, const void *q, const void *k, const void *v, void *out, int64_t batch,
                                  int64_t heads_q, int64_t heads_kv, int64_t seq_q, int64_t seq_k, int64_t head_dim,
                                  int64_t kv_capacity, const void *key_mask, int mask_dtype, float scale, int causal,
                                  void *workspace, int64_t workspace_bytes, void *stream, int kernel) {
  const char *fn = "tsr_cuda_attention";
  int st = check_args(fn, dtype, batch, heads_q, heads_kv, seq_q, seq_k, head_dim);
  if (st != TSR_OK) return st;
  TSR_ARG_FAIL_IF(kernel != TSR_ATTENTION_KERNEL_AUTO && kernel != TSR_ATTENTION_KERNEL_V1 &&
                      kernel != TSR_ATTENTION_KERNEL_V2 && kernel != TSR_ATTENTION_KERNEL_WGMMA,
                  "%s: kernel %d is not TSR_ATTENTION_KERNEL_AUTO, _V1, _V2 or _WGMMA", fn, kernel);
  TSR_ARG_FAIL_IF(kv_capacity < seq_k, "%s: kv_capacity %lld < seq_k %lld", fn, (long long)kv_capacity,
                  (long long)seq_k);
  TSR_ARG_FAIL_IF(key_mask != nullptr && mask_dtype != TSR_I32 && mask_dtype != TSR_I64,
                  "%s: key mask dtype %d is not TSR_I32 or TSR_I64", fn, mask_dtype);
  g_last_kernel = 0;
  g_last_schedule = 0;
  if (seq_q == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(q == nullptr || out == nullptr || (seq_k > 0 && (k == nullptr || v == nullptr)),
                  "%s: null pointer", fn);
  Plan p{};
  st = make_plan(dtype, batch, heads_q, heads_kv, seq_q, seq_k, head_dim, &p);
  if (st != TSR_OK) return st;
  TSR_ARG_FAIL_IF(p.ws_bytes > 0 && (workspace == nullptr || workspace_bytes < p.ws_bytes),
                  "%s: workspace of %lld bytes needed, got %lld", fn, (long long)p.ws_bytes,
                  (long long)workspace_bytes);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const float scale_log2 = scale * kLog2e;

  const MmaArgs common{q, k, v, out, heads_q, heads_kv, seq_q, seq_k, head_dim, kv_capacity, key_mask, mask_dtype,
                      scale_log2, causal};
  if (p.mma) {
    const MmaArgs &a = common;
    // AUTO: flash_mma_v2 for head_dim 128 without a causal mask, where it measured 1.2x flash_mma on an H100
    // (bench/results/gpu: 251-279 vs 209-231 TFLOP/s); flash_mma elsewhere (head_dim 64 and causal: v1 equal or
    // faster, 1.0-1.4x).
    // WGMMA: when asked for (refused on devices other than cc 9.0, and where libtessera was built without it) and by
    // AUTO on cc 9.0 (wgmma_auto); on cc 9.0 the cases it does not cover fall through to the rules below.
#if TSR_WITH_WGMMA
    bool wgmma = kernel == TSR_ATTENTION_KERNEL_WGMMA;
    if (kernel == TSR_ATTENTION_KERNEL_AUTO && wgmma_auto(head_dim, seq_q, causal)) {
      int cc = 0;
      st = device_cc(&cc);
      if (st != TSR_OK) return st;
      wgmma = cc == 90;
    }
    if (wgmma) {
      bool used = false;
      int schedule = 0;
      st = try_wgmma(dtype, a, batch, s, &used, &schedule);
      if (st != TSR_OK) return st;
      if (used) {
        g_last_kernel = TSR_ATTENTION_KERNEL_WGMMA;
        g_last_schedule = schedule;
        return TSR_OK;
      }
    }
#else
    if (kernel == TSR_ATTENTION_KERNEL_WGMMA) {
      tsr::set_last_error("%s: libtessera was built without the WGMMA kernel (sm_90a; -DTESSERA_CUDA_WGMMA=OFF)", fn);
      return TSR_ERR_UNSUPPORTED;
    }
#endif
    if (kernel == TSR_ATTENTION_KERNEL_V2 || (kernel == TSR_ATTENTION_KERNEL_AUTO && head_dim == 128 && !causal)) {
      bool used = false;
      st = dtype == TSR_BF16 ? try_mma_v2<__nv_bfloat16>(a, batch, s, &used) : try_mma_v2<__half>(a, batch, s, &used);
      if (st != TSR_OK) return st;
      if (used) {
        g_last_kernel = TSR_ATTENTION_KERNEL_V2;
        return TSR_OK;
      }
    }
    if (dtype == TSR_BF16) {
      st = head_dim <= 64 ? dispatch_mma_vec<__nv_bfloat16, 64>(a, batch, s)
                          : dispatch_mma_vec<__nv_bfloat16, 128>(a, batch, s);
    } else {
      st = head_dim <= 64 ? dispatch_mma_vec<__half, 64>(a, batch, s) : dispatch_mma_vec<__half, 128>(a, batch, s);
    }
    if (st == TSR_OK) g_last_kernel = TSR_ATTENTION_KERNEL_V1;
    return st;
  }

  SimtArgs a{common, p.rowblocks, p.chunk, nullptr, nullptr, nullptr};
  const int64_t rows = batch * heads_q * seq_q;
  if (p.splits > 1) {
    float *ws = static_cast<float *>(workspace);
    a.ws_o = ws;
    a.ws_m = ws + p.splits * rows * head_dim;
    a.ws_l = a.ws_m + p.splits * rows;
  }
  TSR_ARG_FAIL_IF(p.rowblocks * batch * heads_kv > 0x7fffffffLL, "%s: grid too large", fn);
  if (dtype == TSR_F32) {
    bool used = false;
    st = try_simt_rows(a, p, batch, s, &used);
    if (st != TSR_OK) return st;
    if (used) {
      g_last_kernel = TSR_ATTENTION_KERNEL_SIMT_ROWS;
      return TSR_OK;
    }
  }
  st = dispatch_float(dtype, [&](auto tag) -> int {
    using T = typename decltype(tag)::type;
    if (head_dim <= 32) return launch_simt<T, 1>(a, batch, p.splits, s);
    if (head_dim <= 64) return launch_simt<T, 2>(a, batch, p.splits, s);
    if (head_dim <= 128) return launch_simt<T, 4>(a, batch, p.splits, s);
    return launch_simt<T, 8>(a, batch, p.splits, s);
  });
  if (st != TSR_OK) return st;
  if (p.splits == 1) {
    g_last_kernel = TSR_ATTENTION_KERNEL_SIMT;
    return TSR_OK;
  }
  st = dispatch_float(dtype, [&](auto tag) -> int {
    using T = typename decltype(tag)::type;
    const unsigned blocks = static_cast<unsigned>((rows + 3) / 4);
    flash_combine<T><<<blocks, 128, 0, s>>>(a.ws_o, a.ws_m, a.ws_l, static_cast<int>(p.splits), rows, head_dim,
                                            static_cast<T *>(out));
    TSR_LAUNCH_CHECK("flash_combine launch");
    return TSR_OK;
  });
  if (st == TSR_OK) g_last_kernel = TSR_ATTENTION_KERNEL_SIMT;
  return st;
}

extern "C" int tsr_cuda_attention_last_kernel(void) { return g_last_kernel; }
extern "C" int tsr_cuda_attention_last_schedule(void) { return g_last_schedule; }
