// flash_mma_v2: the second tensor-core forward kernel of tessera/attention.h (F16 / BF16, head_dim 64 and 128,
// 16-byte aligned rows). Included by attention.cu inside namespace tsr::cuda::attn, after the mma / ldmatrix /
// cp.async helpers it uses (MmaOp, ldsm_x4, ldsm_x4_t, cp_async16, cp_async_commit, cp_async_wait); MmaArgs,
// mma_block and key_kept come from attention_mma.cuh.
//
// Design (the flash-attention-2 recipe on sm_80 instructions; sm_90 runs them as they are):
//  - a block of 4 warps owns 128 query rows of one (batch, head); warp w owns the 32 contiguous rows
//    [32w, 32w + 32) as two m16 tiles, so every K / V fragment read by ldmatrix feeds two mma.sync m16n8k16;
//  - key / value tiles of BN rows (BN = 128 for head_dim 64, 64 for head_dim 128) are double-buffered in shared
//    memory: at the top of iteration t, after one barrier, the cp.async loads of tile t + 1 are issued into the
//    other buffer, then tile t is computed (one barrier per tile; the loads have a whole tile of compute to land);
//  - Q stays in shared memory (128 x D) and its A fragments are re-read per k-step (as FA2 does: Q in registers
//    plus 2 x (D/8) x 4 accumulators would exceed 255 registers for head_dim 128);
//  - S = Q K^T in fp32 registers; the online softmax (running max / sum per row, quad shuffles) in registers,
//    scores scaled to the log2 domain inside the exponent (one FFMA per score: the kernel needs scale > 0, other
//    scales run flash_mma) and exponentiated with ex2.approx; for head_dim 64 the running max is a lazily moved
//    reference (moved only when a tile's max exceeds it by more than a factor 2^8, so O is rescaled on the first
//    tiles only and p <= 256 otherwise; head_dim 128 rescales every tile: the lazy code spills there);
//    P is converted to 16-bit in registers
//    and fed to the PV mma directly (the m16n8 accumulator layout of two adjacent n-tiles is the m16k16 A layout);
//  - shared rows are padded by 16 bytes (row stride D + 8 elements): the 8 row addresses of every ldmatrix
//    (and the 16-byte cp.async stores) fall in 8 distinct 4-bank groups, no bank conflicts;
//  - masks as flash_mma: causal key tiles past the block's last visible key are never loaded, masks are applied
//    only to the tiles that need them (a padding mask, the last partial tile, the causal diagonal), and within a
//    tile a warp skips the 16-key slices past its own last visible key (and the whole tile when it sees none of
//    it, e.g. the upper half of a causal diagonal); warps whose 32 rows are all past seq_q only help loading;
//  - causal blocks are scheduled heaviest first (reversed blockIdx.x).
// Semantics (shift, GQA, key-padding mask, zero rows, NaN reaching the rows it touches) are those of flash_mma.
// The running max uses fmaxf: a NaN score is not taken as the max, but its exp2 is NaN and so are the row's sum and
// its P.V products, so the row's output is NaN exactly as with flash_mma's NaN-propagating max.

constexpr int kV2Warps = 4;
constexpr int kV2Threads = kV2Warps * 32;
constexpr int kV2MT = 2;                        // m16 tiles per warp
constexpr int kV2RowsPerWarp = 16 * kV2MT;      // 32
constexpr int kV2BM = kV2Warps * kV2RowsPerWarp;  // 128 query rows per block

template <int D>
struct V2Tile {
  static constexpr int BN = D == 64 ? 128 : 64;  // keys per tile
  static constexpr int LD = D + 8;               // padded shared row stride (elements)
  static constexpr size_t smem_bytes = static_cast<size_t>(kV2BM + 4 * BN) * LD * 2 + 2 * BN * sizeof(float);
};

// Lazy rescaling threshold (log2 units; p <= 2^threshold between moves of a row's reference max). 0 = the
// classic running max with O rescaled on every tile: head_dim 128 keeps it, and pre-sm_90 code (the lazy variant
// spills there at 255 registers with ptxas 13.0).
template <int D>
__device__ __forceinline__ constexpr float v2_rescale_log2() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  return 0.0f;
#else
  return D == 64 ? 8.0f : 0.0f;
#endif
}

// The PTX helpers; native/test/attention_v2_emulated.cpp defines TSR_ATTENTION_V2_EMULATED and its own
// host versions of them to run this kernel's code on the CPU.
#ifndef TSR_ATTENTION_V2_EMULATED
__device__ __forceinline__ float ex2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ void ldsm_x4_a(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void ldsm_x4_a_t(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// mma without `volatile` (a pure register operation), so the compiler may interleave it with the ldmatrix loads.
template <typename T>
__device__ __forceinline__ void mma_v2(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma_v2<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                                      uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma_v2<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

#endif  // TSR_ATTENTION_V2_EMULATED

// Stages ROWS rows of D elements (rows D apart in global memory, 16-byte aligned) into shared rows LD apart:
// rows < nrows by cp.async (asynchronous, part of the caller's next commit group), rows >= nrows zero-filled by
// plain stores (visible after the next __syncthreads).
template <typename T, int D, int ROWS>
__device__ __forceinline__ void v2_stage(T *sm, const T *g, int nrows) {
  constexpr int LD = D + 8;
  constexpr int CPR = D / 8;  // 16-byte chunks per row
  static_assert((ROWS * CPR) % kV2Threads == 0, "tile not a multiple of the block's 16-byte chunks");
#pragma unroll
  for (int it = 0; it < ROWS * CPR / kV2Threads; ++it) {
    const int idx = it * kV2Threads + static_cast<int>(threadIdx.x);
    const int r = idx / CPR, c = (idx % CPR) * 8;
    T *dst = sm + r * LD + c;
    if (r < nrows) {
      cp_async16(dst, g + static_cast<int64_t>(r) * D + c);
    } else {
      *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
    }
  }
}

// S = Q K^T for the warp's 32 rows and the tile's BN keys. GUARD: skip the 16-key slices at or past kend (their
// scores stay 0 and are masked by the caller).
template <typename T, int D, int BN, bool GUARD>
__device__ __forceinline__ void v2_qk(float (&s)[kV2MT][BN / 8][4], uint32_t q_addr, uint32_t k_addr, int kend) {
  constexpr int LD = D + 8;
#pragma unroll
  for (int mt = 0; mt < kV2MT; ++mt)
#pragma unroll
    for (int i = 0; i < BN / 8; ++i) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.0f;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t qa[kV2MT][4];
#pragma unroll
    for (int mt = 0; mt < kV2MT; ++mt) ldsm_x4_a(qa[mt], q_addr + static_cast<uint32_t>((mt * 16 * LD + kk * 16) * 2));
#pragma unroll
    for (int np = 0; np < BN / 16; ++np) {
      if (!GUARD || np * 16 < kend) {
        uint32_t kb[4];
        ldsm_x4_a(kb, k_addr + static_cast<uint32_t>((np * 16 * LD + kk * 16) * 2));
#pragma unroll
        for (int mt = 0; mt < kV2MT; ++mt) {
          mma_v2<T>(s[mt][2 * np], qa[mt], kb[0], kb[1]);
          mma_v2<T>(s[mt][2 * np + 1], qa[mt], kb[2], kb[3]);
        }
      }
    }
  }
}

// O += P V with P (the exponentiated scores, fp32) packed to T in registers as the A operand. GUARD: skip the
// 16-key slices at or past kend (p = 0 there).
template <typename T, int D, int BN, bool GUARD>
__device__ __forceinline__ void v2_pv(float (&o)[kV2MT][D / 8][4], const float (&s)[kV2MT][BN / 8][4],
                                      uint32_t v_addr, int kend) {
  constexpr int LD = D + 8;
#pragma unroll
  for (int kc = 0; kc < BN / 16; ++kc) {
    if (!GUARD || kc * 16 < kend) {
      uint32_t pa[kV2MT][4];
#pragma unroll
      for (int mt = 0; mt < kV2MT; ++mt) {
        pa[mt][0] = MmaOp<T>::pack(s[mt][2 * kc][0], s[mt][2 * kc][1]);
        pa[mt][1] = MmaOp<T>::pack(s[mt][2 * kc][2], s[mt][2 * kc][3]);
        pa[mt][2] = MmaOp<T>::pack(s[mt][2 * kc + 1][0], s[mt][2 * kc + 1][1]);
        pa[mt][3] = MmaOp<T>::pack(s[mt][2 * kc + 1][2], s[mt][2 * kc + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t vb[4];
        ldsm_x4_a_t(vb, v_addr + static_cast<uint32_t>((kc * 16 * LD + dp * 16) * 2));
#pragma unroll
        for (int mt = 0; mt < kV2MT; ++mt) {
          mma_v2<T>(o[mt][2 * dp], pa[mt], vb[0], vb[1]);
          mma_v2<T>(o[mt][2 * dp + 1], pa[mt], vb[2], vb[3]);
        }
      }
    }
  }
}

template <typename T, int D>
__global__ void __launch_bounds__(kV2Threads) flash_mma_v2(MmaArgs a) {
  constexpr int BN = V2Tile<D>::BN;
  constexpr int LD = V2Tile<D>::LD;
  constexpr int MT = kV2MT;
  constexpr int DT = D / 8;       // n-tiles of O over head_dim
  constexpr int NT = BN / 8;      // n-tiles of S over the keys
  constexpr int TILE = BN * LD;   // elements of one K or V tile in shared memory
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T *Qs = reinterpret_cast<T *>(smem_raw);                 // [kV2BM][LD]
  T *KV = Qs + kV2BM * LD;                                 // [2 buffers][K, V][BN][LD]
  float *kept = reinterpret_cast<float *>(KV + 4 * TILE);  // [2 buffers][BN]: 0 = usable key, -inf = not

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, t4 = lane & 3;
  const int64_t sk = a.seq_k;
  const MmaBlock<T> blk = mma_block<T>(a, kV2BM, D);
  const int64_t q0 = blk.q0, shift = blk.shift, visible = blk.visible;
  const int rows_q = blk.rows_q;
  const T *qp = blk.q, *kp = blk.k, *vp = blk.v;
  const void *mrow = blk.mask;
  const int ntiles = visible > 0 ? static_cast<int>((visible + BN - 1) / BN) : 0;
  const int wrow0 = warp * kV2RowsPerWarp;           // the warp's first row in the block
  const bool warp_active = wrow0 < rows_q;           // warp-uniform: some of its rows are real queries
  const int64_t warp_first_lim = q0 + wrow0 + shift;  // causal: last key the warp's first row sees
  const int64_t warp_last_lim = q0 + wrow0 + kV2RowsPerWarp - 1 + shift;  // ... and its last row

  // prologue: Q and tile 0 in commit group 0
  v2_stage<T, D, kV2BM>(Qs, qp, rows_q);
  if (ntiles > 0) {
    const int nk = static_cast<int>(i64min(BN, sk));
    v2_stage<T, D, BN>(KV, kp, nk);
    v2_stage<T, D, BN>(KV + TILE, vp, nk);
    for (int c = tid; c < BN; c += kV2Threads) kept[c] = (c < nk && key_kept(mrow, a.mask_dtype, c)) ? 0.0f : -INFINITY;
  }
  cp_async_commit();

  // per-lane ldmatrix addresses (bytes in the shared window)
  const int mi = lane >> 3, lr = lane & 7;
  // Q A-fragments: matrices (rows 0-7 | 8-15) x (cols 0-7 | 8-15) in the order a0 a1 a2 a3
  const uint32_t q_addr = smem_addr(Qs + (wrow0 + lr + (mi & 1) * 8) * LD + (mi >> 1) * 8);
  // K B-fragments of two n-tiles: (keys 0-7, dims lo) (keys 0-7, dims hi) (keys 8-15, lo) (keys 8-15, hi)
  const uint32_t k_off = static_cast<uint32_t>(((lr + (mi >> 1) * 8) * LD + (mi & 1) * 8) * 2);
  // V B-fragments (transposed): (keys 0-7, dims lo) (keys 8-15, lo) (keys 0-7, hi) (keys 8-15, hi)
  const uint32_t v_off = static_cast<uint32_t>(((lr + (mi & 1) * 8) * LD + (mi >> 1) * 8) * 2);
  const uint32_t kv_base = smem_addr(KV);

  float o[MT][DT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < DT; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.0f;
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;

  for (int t = 0; t < ntiles; ++t) {
    cp_async_wait<0>();  // this thread's copies of tile t (and Q) have landed
    __syncthreads();     // ... everyone's; and every warp is done with tile t - 1 (the other buffer)
    const int64_t j0 = static_cast<int64_t>(t) * BN;
    const int nk = static_cast<int>(i64min(BN, sk - j0));
    if (t + 1 < ntiles) {  // prefetch tile t + 1 into the other buffer
      const int nk1 = static_cast<int>(i64min(BN, sk - j0 - BN));
      T *Kn = KV + ((t + 1) & 1) * 2 * TILE;
      v2_stage<T, D, BN>(Kn, kp + (j0 + BN) * D, nk1);
      v2_stage<T, D, BN>(Kn + TILE, vp + (j0 + BN) * D, nk1);
    }
    cp_async_commit();
    const int buf = t & 1;
    const float *kp_t = kept + buf * BN;
    const uint32_t k_addr = kv_base + static_cast<uint32_t>(buf * 2 * TILE * 2) + k_off;
    const uint32_t v_addr = kv_base + static_cast<uint32_t>((buf * 2 + 1) * TILE * 2) + v_off;

    // keys of this tile the warp needs: [0, kend) (warp-uniform)
    int kend = nk;
    if (a.causal) kend = static_cast<int>(i64min(kend, i64max(0, warp_last_lim - j0 + 1)));
    if (warp_active && kend > 0) {
      // ---- S = Q K^T: 32 rows x BN keys per warp, 16-key slices past kend skipped. (Unguarded copies of v2_qk /
      // v2_pv for full tiles beside the guarded ones spill with ptxas 13.0 at 255 registers: one version only.)
      float s[MT][NT][4];
      v2_qk<T, D, BN, true>(s, q_addr, k_addr, kend);

      // ---- masks and online softmax on the raw scores (the running max m is kept unscaled; scale_log2 > 0 is
      // applied inside the exponent: p = 2^(s * scale_log2 - m * scale_log2), one FFMA per score).
      // Thread rows: wrow0 + mt*16 + g + 8*r.
      const bool need_mask = mrow != nullptr || nk < BN || (a.causal && j0 + BN - 1 > warp_first_lim);
      const int64_t lim0 = warp_first_lim - j0;  // causal: column c of row (mt, g, r) is visible iff c <= lim0 + off
      const float sl = a.scale_log2;
      float mx[MT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) mx[mt][0] = mx[mt][1] = -INFINITY;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            float x = s[mt][nt][c];
            if (need_mask) {
              const int col = nt * 8 + 2 * t4 + (c & 1);
              const int off = mt * 16 + g + (c >> 1) * 8;
              const bool ok = kp_t[col] == 0.0f && (!a.causal || col <= lim0 + off);
              x = ok ? x : -INFINITY;
              s[mt][nt][c] = x;
            }
            mx[mt][c >> 1] = fmaxf(mx[mt][c >> 1], x);
          }
        }
      }
      // Lazy rescaling (v2_rescale_log2 > 0): a row's reference max m moves only when the tile's max exceeds it
      // by more than v2_rescale_log2 (scaled, log2 units) or when the row saw nothing before; otherwise p =
      // 2^(s*sl - m*sl) may exceed 1 (at most 2^v2_rescale_log2), which fp32 sums and 16-bit P hold as well. O is
      // (and l) rescaled only when some row of the warp moved its reference (in practice the first tiles), before
      // the exponentials so that the corrections die early (register pressure). With a threshold of 0 this is the
      // classic running max, O rescaled on every tile.
      float corr[MT][2], msub[MT][2];
      bool moved = false;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          float x = mx[mt][r];
          x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
          x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
          const float mold = m[mt][r];
          const bool move = x > mold && (mold == -INFINITY || (x - mold) * sl > v2_rescale_log2<D>());
          const float mnew = move ? x : mold;
          msub[mt][r] = mnew == -INFINITY ? 0.0f : mnew * sl;  // nothing visible yet: p = 0, no -inf - -inf NaN
          corr[mt][r] = move ? fmaf(mold, sl, -msub[mt][r]) : 0.0f;  // log2 of the correction
          m[mt][r] = mnew;
          moved |= move;
        }
      }
      if (v2_rescale_log2<D>() == 0.0f || __any_sync(0xffffffffu, moved)) {  // warp-uniform, before p
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          const float c0 = ex2_approx(corr[mt][0]), c1 = ex2_approx(corr[mt][1]);
#pragma unroll
          for (int i = 0; i < DT; ++i) {
            o[mt][i][0] *= c0;
            o[mt][i][1] *= c0;
            o[mt][i][2] *= c1;
            o[mt][i][3] *= c1;
          }
          l[mt][0] *= c0;
          l[mt][1] *= c1;
        }
      }

      float lsum[MT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        lsum[mt][0] = lsum[mt][1] = 0.0f;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            const float p = ex2_approx(fmaf(s[mt][nt][c], sl, -msub[mt][c >> 1]));
            s[mt][nt][c] = p;
            lsum[mt][c >> 1] += p;
          }
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) l[mt][r] += lsum[mt][r];  // per-thread partial
      }
      // ---- O += P V (P from registers, 16 keys per k-step; slices past kend hold p = 0 and are skipped)
      v2_pv<T, D, BN, true>(o, s, v_addr, kend);
    }

    // padding flags of tile t + 1 (its buffer was last read in iteration t - 1, before this iteration's barrier;
    // written here, after this tile's compute, so that the mask loads do not delay it)
    if (t + 1 < ntiles) {
      const int nk1 = static_cast<int>(i64min(BN, sk - j0 - BN));
      float *kn = kept + ((t + 1) & 1) * BN;
      for (int c = tid; c < BN; c += kV2Threads)
        kn[c] = (c < nk1 && key_kept(mrow, a.mask_dtype, j0 + BN + c)) ? 0.0f : -INFINITY;
    }
  }

  cp_async_wait<0>();  // nothing in flight at exit (ntiles == 0 leaves the Q copies of group 0 unwaited)
  // ---- normalise and store
  if (!warp_active) return;
  T *op = blk.out;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float lt = l[mt][r];
      lt += __shfl_xor_sync(0xffffffffu, lt, 1);
      lt += __shfl_xor_sync(0xffffffffu, lt, 2);
      const float inv = lt == 0.0f ? 0.0f : 1.0f / lt;  // a row that saw no key gets zeros
      const int row = wrow0 + mt * 16 + g + r * 8;
      if (row >= rows_q) continue;
      T *orow = op + static_cast<int64_t>(row) * D;
#pragma unroll
      for (int i = 0; i < DT; ++i) {
        const float v0 = inv == 0.0f ? 0.0f : o[mt][i][2 * r] * inv;
        const float v1 = inv == 0.0f ? 0.0f : o[mt][i][2 * r + 1] * inv;
        *reinterpret_cast<uint32_t *>(orow + i * 8 + 2 * t4) = MmaOp<T>::pack(v0, v1);
      }
    }
  }
}
