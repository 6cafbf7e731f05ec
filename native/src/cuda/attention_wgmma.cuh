// flash_wgmma: the third tensor-core forward kernel of tessera/attention.h, for Hopper's warpgroup MMA
// (wgmma.mma_async, sm_90a only). F16 / BF16, head_dim 64 and 128, 16-byte aligned rows, scale > 0.
// Written and first checked on build machines without a GPU (native/test/attention_wgmma_emulated.cpp runs this code
// on the CPU under host shims of the PTX it uses, the wgmma shim reading shared memory through the descriptors as the
// PTX ISA specifies); first run on a GPU on 2026-11-29 (H200, bench/results/gpu/run4-h200: GpuWgmmaProbe's seven
// cases and every WGMMA case of CudaAttentionTest pass, so the hardware reads the descriptors as the emulation does).
// Chosen by TSR_ATTENTION_KERNEL_WGMMA and by AUTO on compute capability 9.0 where it measured faster than
// flash_mma / flash_mma_v2 (attention.cu, wgmma_auto).
//
// Included by attention_wgmma.cu (its own translation unit, compiled for sm_90a only: native/CMakeLists.txt) inside
// namespace tsr::cuda::attn, after attention_mma.cuh (MmaArgs, mma_block, key_kept); everything here lives in
// namespace wg so that nothing clashes with attention.cu's helpers. The emulation defines
// TSR_ATTENTION_WGMMA_EMULATED and its own versions of the wg_* PTX helpers below.
//
// Design (the flash-attention-3 ingredients that need no TMA or warp specialisation; a first step, kept simple):
//  - a block of 2 warpgroups (256 threads) owns 128 query rows of one (batch, head); warpgroup w owns the 64 rows
//    [64w, 64w + 64), the M of one wgmma m64nNk16;
//  - Q (128 x D) and double- (lockstep) or triple-buffered (ping-pong) K / V tiles of 128 keys live in shared memory
//    in the 128-byte-swizzled layout wgmma reads through descriptors: a tile of R rows x D is stored as D / 64 column
//    blocks of R rows x 128 bytes (64 elements); within a block row r is 128 bytes after row r - 1, and its 16-byte
//    chunk c (elements 8c..8c+7) sits at chunk position c ^ (r & 7) (every block starts on a 1024-byte boundary, so
//    that this is the XOR of address bits [4,7) with bits [7,10) the hardware applies);
//  - S = Q K^T: per warpgroup D / 16 wgmma m64n128k16 with both operands in shared memory (A = Q K-major, B = K
//    K-major: the k-step kk starts 32 * (kk % 4) bytes into the row of column block kk / 4; 8-row groups 1024 bytes
//    apart = the stride byte offset, the leading byte offset unused for swizzled K-major layouts);
//  - S (64 x 128 fp32, 64 registers per thread) has per warp the layout of mma.sync m16n8 accumulators (warp i of
//    the warpgroup holds rows 16i..16i+15), so the online softmax is flash_mma_v2's: quad shuffles, running max and
//    sum per row, scale folded into ex2.approx's FFMA (classic rescaling of O on every tile, no lazy threshold);
//  - P is packed to 16-bit in registers and is the A operand of O += P V (wgmma m64nDk16, "RS": A from registers,
//    the accumulator layout of two adjacent n8 tiles being the m64k16 A-fragment layout); V is the B operand read
//    N-major from the same swizzled layout as K (transpose bit 1: 8-key groups 1024 bytes apart = stride byte
//    offset, 64-element column blocks 128 x 128 bytes apart = leading byte offset); all 8 k-steps are issued even
//    where the last ones hold p = 0 (a wgmma under a run-time condition makes ptxas 13.0 serialize the warpgroup's
//    wgmma: warning C7520);
//  - loads by cp.async from all 256 threads (no TMA, no producer warpgroup): at the top of tile t every thread
//    waits for its copies, makes its generic-proxy writes visible to the async proxy (fence.proxy.async) and the
//    block synchronises; then tile t + 1 is prefetched into the next buffer and tile t computed, each wgmma batch
//    bracketed by wgmma.fence / commit_group / wait_group 0;
//  - the two warpgroups' schedule (template parameter PP; TESSERA_WGMMA_SCHEDULE chooses, attention_wgmma.cu):
//    lockstep (PP = false, run 4's kernel): both compute S, softmax and P V of tile t at the same time, so the
//    tensor cores idle while both exponentiate; ping-pong (PP = true, the default since run 5): warpgroup 0 computes
//    S_t alone, then its softmax while warpgroup 1 runs O += P_{t-1} V_{t-1} (deferred from the previous tile) and
//    S_t in one batch (named barrier 1), then P_t V_t while warpgroup 1 runs its softmax (named barrier 2). P_{t-1}
//    stays in warpgroup 1's registers across the block barrier and V_{t-1} in shared memory while tile t + 1 loads:
//    three K / V buffers. Measured on an H200 (bench/results/gpu/run5-h200, same run): 5-8% over lockstep at 1024-
//    16384 keys without a causal mask, 0.5-7% causal, 0.45-0.61x SDPA;
//  - masks, tile skipping, zero rows, causal scheduling (heaviest blocks first) as flash_mma_v2; a warpgroup with no
//    real query rows, or none that sees a key of the tile, skips that tile's wgmma (warpgroup-uniform decisions;
//    the named barriers are passed all the same).
// Shared memory: 1 KiB alignment slack + Q 16 / 32 KiB + NB x (K + V) + NB x 512 B padding flags: lockstep (NB = 2)
// 82 / 162 KiB for head_dim 64 / 128, ping-pong (NB = 3) 114.5 / 226.5 KiB (sm_90 allows 227 KiB per block; a device
// giving less runs lockstep). Registers (ptxas 13.0, sm_90a), no spills, no wgmma serialisation warning (C7520):
// lockstep 236 / 189, ping-pong 254 / 204 for head_dim 128 / 64.
// Where the time goes (to be measured: bench/gpu/run.sh runs Nsight Compute on this kernel): per 128-key tile a block
// at head_dim 128 does 8.4 MFLOP of wgmma, 1.12 us at the H200's dense bf16 peak (989 TFLOP/s over 132 SMs), and
// 2 x 8192 exponentials, about 0.28 us per warpgroup on the SFUs (16 per clock per SM); the ping-pong critical path
// g + max(f, 2g) + max(g, f) (g: one warpgroup's GEMM, f: its softmax) is then about 1.3 us, while run 5 measured
// 2.9 us per tile (381.5 TFLOP/s at 16384 keys): half the time is neither tensor-core nor exponential work
// (candidates: every thread's cp.async issue and the block barrier per tile, wgmma latency exposed at each
// wait_group 0, L2 bandwidth at ~2.9 TB/s of K / V reads).
// The rest of flash-attention-3's forward (TMA loads by a producer warpgroup with mbarriers and setmaxnreg instead
// of every thread's cp.async and a block barrier per tile; the softmax of tile t under P_{t-1} V_{t-1} inside a
// warpgroup, with the registers setmaxnreg gives) is flash_wgmma_ws, attention_wgmma_ws.cuh (TESSERA_WGMMA_SCHEDULE=
// ws; not yet run on a GPU). Not done anywhere yet: 3 consumer warpgroups (192 rows) for head_dim 64.
// Semantics (shift, GQA, key-padding mask, zero rows, NaN reaching the rows it touches) are those of flash_mma_v2.
//
// What the first GPU run had to confirm (it did, run4-h200; the emulation follows the PTX ISA text, which cannot
// show whether our reading of it is the hardware's): the descriptor fields (start >> 4 in bits 0-13, leading byte
// offset >> 4 in 16-29, stride byte offset >> 4 in 32-45, base offset 0, swizzle mode 1 = 128 B in bits 62-63), the
// roles of the two byte offsets for the N-major V operand, that a start address advanced by 32 / 64 / 96 bytes
// inside a 1024-byte-aligned swizzle atom (base offset 0) addresses the k-steps as the absolute-address XOR implies,
// and that cp.async + fence.proxy.async + bar.sync orders the tile writes before wgmma's reads.
// Reviewed 2026-11-27 against CUTLASS / CuTe (descriptor bitfields and layout types, make_gmma_desc's LBO / SBO for
// K-major and MN-major 128-byte swizzle recomputed on these layouts, the swizzled store compared element by element,
// the SS / RS instruction forms and immediates, the accumulator and register-A fragment layouts) and flash-attention
// 3's Hopper mainloop (the proxy fence before wgmma reads): no discrepancy found; only the hardware is left to confirm.

namespace wg {

constexpr int kGroups = 2;                 // warpgroups per block
constexpr int kThreads = 128 * kGroups;    // 256
constexpr int kBM = 64 * kGroups;          // 128 query rows per block
constexpr int kBN = 128;                   // keys per tile

// Shared memory of one block: Q, then NB buffers of one K and one V tile each, then NB x kBN padding flags.
// NB = 2 (lockstep schedule) or 3 (ping-pong schedule: warpgroup 1 reads tile t - 1's V while tile t + 1 loads).
template <int D, int NB = 2>
struct Tile {
  static_assert(D == 64 || D == 128, "flash_wgmma: head_dim 64 or 128");
  static_assert(NB == 2 || NB == 3, "flash_wgmma: 2 or 3 K/V buffers");
  static constexpr uint32_t kQBytes = kBM * D * 2;     // Q: D / 64 column blocks of kBM rows x 128 bytes
  static constexpr uint32_t kKVBytes = kBN * D * 2;    // one K or V tile
  static constexpr uint32_t kKeptOff = kQBytes + 2 * NB * kKVBytes;  // [NB buffers][kBN] floats: 0 usable, -inf not
  static constexpr size_t smem_bytes = 1024 + kKeptOff + NB * kBN * sizeof(float);  // + slack to align to 1024
  // offsets from the 1024-byte aligned base: Q, then buffer b's K at k_off(b) and V at k_off(b) + kKVBytes
  static constexpr uint32_t k_off(int b) { return kQBytes + 2u * static_cast<uint32_t>(b) * kKVBytes; }
};

// Byte offset of the 16-byte chunk c8 (elements 8 c8 .. 8 c8 + 7) of row r in a swizzled tile of R rows.
template <int R>
__device__ __forceinline__ uint32_t swz(int r, int c8) {
  return static_cast<uint32_t>((c8 >> 3) * (R * 128) + r * 128 + (((c8 & 7) ^ (r & 7)) << 4));
}

// Shared-memory matrix descriptor (PTX ISA, wgmma "Matrix Descriptor Format"): start address, leading and stride
// byte offsets (each >> 4, 14 bits), base offset 0, swizzle mode 1 (128 B) in bits 62-63.
__device__ __forceinline__ uint64_t make_desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  return static_cast<uint64_t>((addr & 0x3FFFFu) >> 4) | (static_cast<uint64_t>((lbo & 0x3FFFFu) >> 4) << 16) |
         (static_cast<uint64_t>((sbo & 0x3FFFFu) >> 4) << 32) | (uint64_t{1} << 62);
}

#ifndef TSR_ATTENTION_WGMMA_EMULATED
__device__ __forceinline__ uint32_t wg_smem_addr(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void wg_cp_async16(void *smem, const void *gmem) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(wg_smem_addr(smem)), "l"(gmem));
}
__device__ __forceinline__ void wg_zero16(void *smem) { *reinterpret_cast<uint4 *>(smem) = make_uint4(0, 0, 0, 0); }
__device__ __forceinline__ void wg_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void wg_cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
// this thread's generic-proxy writes to shared memory (st.shared, completed cp.async) become visible to the async
// proxy that wgmma reads its shared-memory operands through (PTX ISA: wgmma.mma_async, "async proxy")
__device__ __forceinline__ void wg_fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
__device__ __forceinline__ float wg_ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
// Named barriers 1 and 2 of the ping-pong schedule, over the block's kThreads threads: bar.arrive signals without
// waiting, bar.sync waits until kThreads threads (the caller's warpgroup and the other one's arrivals) got there.
__device__ __forceinline__ void wg_bar_arrive(int id) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "n"(kThreads) : "memory");
}
__device__ __forceinline__ void wg_bar_sync(int id) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "n"(kThreads) : "memory");
}
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Keeps the compiler from moving accesses of accumulator registers across the asynchronous wgmma window
// (an empty asm that "reads and writes" every register, ordered with the volatile wgmma asm statements).
template <int R>
__device__ __forceinline__ void wg_reg_fence(float (&d)[R][4]) {
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) asm volatile("" : "+f"(d[i][c])::"memory");
}
// The same for the 16-bit A fragments of the register-operand (RS) wgmma: they too must not be written after
// wgmma.fence nor reused before the wait.
template <int R>
__device__ __forceinline__ void wg_reg_fence(uint32_t (&a)[R][4]) {
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) asm volatile("" : "+r"(a[i][c])::"memory");
}

template <typename T>
__device__ __forceinline__ uint32_t wg_pack(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t wg_pack<__nv_bfloat16>(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}
template <>
__device__ __forceinline__ uint32_t wg_pack<__half>(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

#define TSR_WG_D64 \
  "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15," \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" \
  "}"
#define TSR_WG_OPS64(d) \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), \
  "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), \
  "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
  "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), \
  "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), \
  "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
  "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), \
  "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
#define TSR_WG_D128 \
  "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15," \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31," \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47," \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63" \
  "}"
#define TSR_WG_OPS128(d) \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), \
  "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), \
  "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
  "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), \
  "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), \
  "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
  "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), \
  "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), \
  "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), \
  "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), \
  "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), \
  "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), \
  "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), \
  "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), \
  "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), \
  "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])

// d (64 x 128, fp32) = A B (+ d when acc != 0): A (64 x 16) K-major through desc a, B (16 x 128) K-major (its 128
// rows of 16 k) through desc b: wgmma.mma_async m64n128k16, imm-trans-a = imm-trans-b = 0.
template <typename T>
__device__ __forceinline__ void wg_mma_ss_n128(float (&d)[16][4], uint64_t a, uint64_t b, int acc);
template <>
__device__ __forceinline__ void wg_mma_ss_n128<__nv_bfloat16>(float (&d)[16][4], uint64_t a, uint64_t b, int acc) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " TSR_WG_D128
               ", %64, %65, p, 1, 1, 0, 0;\n}\n"
               : TSR_WG_OPS128(d)
               : "l"(a), "l"(b), "r"(acc));
}
template <>
__device__ __forceinline__ void wg_mma_ss_n128<__half>(float (&d)[16][4], uint64_t a, uint64_t b, int acc) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " TSR_WG_D128
               ", %64, %65, p, 1, 1, 0, 0;\n}\n"
               : TSR_WG_OPS128(d)
               : "l"(a), "l"(b), "r"(acc));
}

// d (64 x N, fp32) += A B: A (64 x 16) from registers (m64k16 fragment, 4 x 2 16-bit values per thread), B (16 x N)
// N-major through desc b: wgmma.mma_async m64nNk16 with imm-trans-b = 1, N = 64 or 128.
template <typename T, int N>
__device__ __forceinline__ void wg_mma_rs_bt(float (&d)[N / 8][4], const uint32_t (&a)[4], uint64_t b);
template <>
__device__ __forceinline__ void wg_mma_rs_bt<__nv_bfloat16, 64>(float (&d)[8][4], const uint32_t (&a)[4], uint64_t b) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " TSR_WG_D64
               ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
               : TSR_WG_OPS64(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(1));
}
template <>
__device__ __forceinline__ void wg_mma_rs_bt<__half, 64>(float (&d)[8][4], const uint32_t (&a)[4], uint64_t b) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " TSR_WG_D64
               ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
               : TSR_WG_OPS64(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(1));
}
template <>
__device__ __forceinline__ void wg_mma_rs_bt<__nv_bfloat16, 128>(float (&d)[16][4], const uint32_t (&a)[4],
                                                                 uint64_t b) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " TSR_WG_D128
               ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
               : TSR_WG_OPS128(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(1));
}
template <>
__device__ __forceinline__ void wg_mma_rs_bt<__half, 128>(float (&d)[16][4], const uint32_t (&a)[4], uint64_t b) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " TSR_WG_D128
               ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
               : TSR_WG_OPS128(d)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(1));
}
#undef TSR_WG_D64
#undef TSR_WG_D128
#undef TSR_WG_OPS64
#undef TSR_WG_OPS128
#endif  // TSR_ATTENTION_WGMMA_EMULATED

// Stages ROWS rows of D elements (rows D apart in global memory, 16-byte aligned) into the swizzled tile at `tile`
// (1024-byte aligned): rows < nrows by cp.async (part of the caller's next commit group), rows >= nrows zero-filled
// by plain stores (both visible to wgmma after the next wait / fence.proxy.async / __syncthreads).
template <typename T, int D, int ROWS>
__device__ __forceinline__ void stage(unsigned char *tile, const T *g, int nrows) {
  constexpr int CPR = D / 8;  // 16-byte chunks per row
  static_assert((ROWS * CPR) % kThreads == 0, "tile not a multiple of the block's 16-byte chunks");
#pragma unroll
  for (int it = 0; it < ROWS * CPR / kThreads; ++it) {
    const int idx = it * kThreads + static_cast<int>(threadIdx.x);
    const int r = idx / CPR, c8 = idx % CPR;
    unsigned char *dst = tile + swz<ROWS>(r, c8);
    if (r < nrows) {
      wg_cp_async16(dst, g + static_cast<int64_t>(r) * D + c8 * 8);
    } else {
      wg_zero16(dst);
    }
  }
}

// S (64 x kBN, fp32) = Q K^T for one warpgroup: D / 16 wgmma m64n128k16 issued (no fence, commit or wait here),
// both operands through descriptors: Q at q_addr (the warpgroup's 64 rows of column block 0; QR rows per column
// block), K at k_addr.
template <typename T, int D, int QR = kBM>
__device__ __forceinline__ void issue_qk(float (&s)[kBN / 8][4], uint32_t q_addr, uint32_t k_addr) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const uint32_t koff = static_cast<uint32_t>((kk & 3) * 32);  // 16 elements = 32 bytes per k-step
    const uint64_t da = make_desc(q_addr + static_cast<uint32_t>((kk >> 2) * (QR * 128)) + koff, 16, 1024);
    const uint64_t db = make_desc(k_addr + static_cast<uint32_t>((kk >> 2) * (kBN * 128)) + koff, 16, 1024);
    wg_mma_ss_n128<T>(s, da, db, kk > 0 ? 1 : 0);
  }
}

// O += P V for one warpgroup: kBN / 16 wgmma m64nDk16 issued, P from the registers pa, V at v_addr (keys 16 kc ..
// 16 kc + 15: rows of every column block, 8-key groups 1024 bytes apart = stride byte offset, column blocks kBN * 128
// bytes apart = leading byte offset). Every k-step is issued, also those holding only p = 0 (a conditional wgmma
// makes ptxas serialize them, C7520).
template <typename T, int D>
__device__ __forceinline__ void issue_pv(float (&o)[D / 8][4], const uint32_t (&pa)[kBN / 16][4], uint32_t v_addr) {
#pragma unroll
  for (int kc = 0; kc < kBN / 16; ++kc) {
    const uint64_t dv = make_desc(v_addr + static_cast<uint32_t>(kc * 16 * 128), kBN * 128, 1024);
    wg_mma_rs_bt<T, D>(o, pa[kc], dv);
  }
}

// Masks and the exponentials of one tile's raw scores s (scale_log2 > 0 applied inside the exponent; O untouched, so
// that flash_wgmma_ws may run this while P_{t-1} V_{t-1} still accumulates into O): running maxima m updated, corr =
// 2^(m_old - m_new) per row for O, l rescaled and increased by this thread's partial sums, s replaced by P (fp32).
// Thread rows: wrow0 + g + 8 r; s[nt][c] is row g + 8 (c >> 1), key nt * 8 + 2 t4 + (c & 1). usable(nt, c): that key
// is inside the sequence and kept by the key-padding mask (asked only when need_mask); lim0: causal, key col of row
// (g, r) is visible iff col <= lim0 + g + 8 r.
template <typename Usable>
__device__ __forceinline__ void softmax_scores(float (&s)[kBN / 8][4], float (&m)[2], float (&l)[2], float (&corr)[2],
                                               bool need_mask, Usable usable, bool causal, int64_t lim0, float sl,
                                               int g, int t4) {
  constexpr int NT = kBN / 8;
  float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      float x = s[nt][c];
      if (need_mask) {
        const int col = nt * 8 + 2 * t4 + (c & 1);
        const int off = g + (c >> 1) * 8;
        const bool ok = usable(nt, c) && (!causal || col <= lim0 + off);
        x = ok ? x : -INFINITY;
        s[nt][c] = x;
      }
      mx[c >> 1] = fmaxf(mx[c >> 1], x);
    }
  }
  float msub[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float x = mx[r];
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
    const float mold = m[r];
    const float mnew = fmaxf(mold, x);
    msub[r] = mnew == -INFINITY ? 0.0f : mnew * sl;  // nothing visible yet: p = 0, no -inf - -inf NaN
    // 1 when the max did not move, 0 from -inf (O and l are 0 then)
    corr[r] = mnew == mold ? 1.0f : wg_ex2(fmaf(mold, sl, -msub[r]));
    m[r] = mnew;
  }
  float lsum[2] = {0.0f, 0.0f};
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const float p = wg_ex2(fmaf(s[nt][c], sl, -msub[c >> 1]));
      s[nt][c] = p;
      lsum[c >> 1] += p;
    }
  }
  l[0] = l[0] * corr[0] + lsum[0];  // per-thread partials, reduced over the quad at the end
  l[1] = l[1] * corr[1] + lsum[1];
}

// O rescaled by corr (after the last P V into it retired) and P (fp32 in s) packed to 16 bits as the A fragments of
// the P V k-steps.
template <typename T, int D>
__device__ __forceinline__ void rescale_pack(float (&o)[D / 8][4], const float (&corr)[2], const float (&s)[kBN / 8][4],
                                             uint32_t (&pa)[kBN / 16][4]) {
#pragma unroll
  for (int i = 0; i < D / 8; ++i) {
    o[i][0] *= corr[0];
    o[i][1] *= corr[0];
    o[i][2] *= corr[1];
    o[i][3] *= corr[1];
  }
#pragma unroll
  for (int kc = 0; kc < kBN / 16; ++kc) {
    pa[kc][0] = wg_pack<T>(s[2 * kc][0], s[2 * kc][1]);
    pa[kc][1] = wg_pack<T>(s[2 * kc][2], s[2 * kc][3]);
    pa[kc][2] = wg_pack<T>(s[2 * kc + 1][0], s[2 * kc + 1][1]);
    pa[kc][3] = wg_pack<T>(s[2 * kc + 1][2], s[2 * kc + 1][3]);
  }
}

// flash_wgmma's online softmax of one tile: softmax_scores with the tile's padding flags (kp_t[col] == 0: usable),
// then O rescaled and P packed.
template <typename T, int D>
__device__ __forceinline__ void softmax_tile(float (&s)[kBN / 8][4], float (&o)[D / 8][4], float (&m)[2],
                                             float (&l)[2], uint32_t (&pa)[kBN / 16][4], bool need_mask,
                                             const float *kp_t, bool causal, int64_t lim0, float sl, int g, int t4) {
  float corr[2];
  softmax_scores(
      s, m, l, corr, need_mask, [kp_t, t4](int nt, int c) { return kp_t[nt * 8 + 2 * t4 + (c & 1)] == 0.0f; },
      causal, lim0, sl, g, t4);
  rescale_pack<T, D>(o, corr, s, pa);
}

// The epilogue of both kernels: each of the thread's two rows (wrow0 + g + 8 r, if below rows_q) divided by its sum
// (l's quad-reduced partials; a row that saw no key gets zeros) and stored to out (rows D apart) in 16 bits.
template <typename T, int D>
__device__ __forceinline__ void store_rows(const float (&o)[D / 8][4], const float (&l)[2], T *out, int wrow0,
                                           int rows_q, int g, int t4) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float lt = l[r];
    lt += __shfl_xor_sync(0xffffffffu, lt, 1);
    lt += __shfl_xor_sync(0xffffffffu, lt, 2);
    const float inv = lt == 0.0f ? 0.0f : 1.0f / lt;
    const int row = wrow0 + g + r * 8;
    if (row >= rows_q) continue;
    T *orow = out + static_cast<int64_t>(row) * D;
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
      const float v0 = inv == 0.0f ? 0.0f : o[i][2 * r] * inv;
      const float v1 = inv == 0.0f ? 0.0f : o[i][2 * r + 1] * inv;
      *reinterpret_cast<uint32_t *>(orow + i * 8 + 2 * t4) = wg_pack<T>(v0, v1);
    }
  }
}

// PP = false: the lockstep schedule (run 4's kernel): both warpgroups compute S, softmax and O += P V of tile t
// together, double-buffered K / V. PP = true: the ping-pong schedule (flash-attention 3's inter-warpgroup overlap,
// without its producer warpgroup): per tile t, warpgroup 0 computes S_t alone on the tensor cores, then its softmax
// while warpgroup 1 runs the GEMMs it deferred, O += P_{t-1} V_{t-1} and S_t (named barrier 1: after warpgroup 0's
// S_t), then warpgroup 0 computes O += P_t V_t while warpgroup 1 runs its softmax (named barrier 2: after warpgroup
// 1's GEMMs), so that one warpgroup's exponentials overlap the other's matrix products. Warpgroup 1 carries P_{t-1}
// in registers across the block barrier and reads V_{t-1} while tile t + 1 loads: three K / V buffers.
template <typename T, int D, bool PP>
__global__ void __launch_bounds__(kThreads, 1) flash_wgmma(MmaArgs a) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(TSR_ATTENTION_WGMMA_EMULATED)
  __trap();  // compiled for a target without wgmma: never launched (the host side runs it on cc 9.0 only)
#else
  constexpr int NB = PP ? 3 : 2;
  using TL = Tile<D, NB>;
  constexpr int NT = kBN / 8;  // n8 tiles of S over the keys
  constexpr int DT = D / 8;    // n8 tiles of O over head_dim
  constexpr int PS = kBN / 16; // k-steps of P V
  extern __shared__ __align__(16) unsigned char wg_smem_raw[];
  // swizzle atoms must start on 1024-byte boundaries of the shared window: round the dynamic allocation up
  const uint32_t raw_addr = wg_smem_addr(wg_smem_raw);
  const uint32_t base_addr = (raw_addr + 1023u) & ~1023u;
  unsigned char *const base = wg_smem_raw + (base_addr - raw_addr);
  float *const kept = reinterpret_cast<float *>(base + TL::kKeptOff);

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int grp = warp >> 2;  // warpgroup: rows [64 grp, 64 grp + 64) of the block
  const int g = lane >> 2, t4 = lane & 3;
  const int64_t sk = a.seq_k;
  const MmaBlock<T> blk = mma_block<T>(a, kBM, D);
  const int64_t q0 = blk.q0, shift = blk.shift, visible = blk.visible;
  const int rows_q = blk.rows_q;
  const T *kp = blk.k, *vp = blk.v;
  const void *mrow = blk.mask;
  const int ntiles = visible > 0 ? static_cast<int>((visible + kBN - 1) / kBN) : 0;
  const int grow0 = grp * 64;                   // the warpgroup's first row in the block
  const int wrow0 = grow0 + (warp & 3) * 16;    // the warp's first row (warp i of the group: rows 16i..16i+15)
  const bool grp_active = grow0 < rows_q;       // warpgroup-uniform: some of its rows are real queries
  const int64_t warp_first_lim = q0 + wrow0 + shift;  // causal: last key the warp's first row sees
  const int64_t grp_last_lim = q0 + grow0 + 63 + shift;  // ... and the warpgroup's last row

  // prologue: Q and tile 0 in the first commit group
  stage<T, D, kBM>(base, blk.q, rows_q);
  if (ntiles > 0) {
    const int nk = static_cast<int>(i64min(kBN, sk));
    stage<T, D, kBN>(base + TL::k_off(0), kp, nk);
    stage<T, D, kBN>(base + TL::k_off(0) + TL::kKVBytes, vp, nk);
    for (int c = tid; c < kBN; c += kThreads) kept[c] = (c < nk && key_kept(mrow, a.mask_dtype, c)) ? 0.0f : -INFINITY;
  }
  wg_cp_async_commit();

  // Q descriptor base: this warpgroup's 64 rows of column block 0 (8-row groups 1024 bytes apart)
  const uint32_t q_addr = base_addr + static_cast<uint32_t>(grow0 * 128);

  float o[DT][4];
#pragma unroll
  for (int i = 0; i < DT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  uint32_t pa[PS][4];         // P of the last softmax as A fragments (PP: warpgroup 1's, deferred to the next tile)
  bool pending = false;       // PP, warpgroup 1: pa holds P of tile t - 1, not yet multiplied by its V
  uint32_t pending_v = 0;     // ... and that tile's V

  for (int t = 0; t < ntiles; ++t) {
    wg_cp_async_wait_all();  // this thread's copies of tile t (and Q) have landed
    wg_fence_proxy_async();  // ... and, with its zero fills, are visible to wgmma's async proxy
    __syncthreads();         // everyone's; and both warpgroups are done with the buffer tile t + 1 goes to
    const int64_t j0 = static_cast<int64_t>(t) * kBN;
    const int nk = static_cast<int>(i64min(kBN, sk - j0));
    if (t + 1 < ntiles) {  // prefetch tile t + 1 into the next buffer
      const int nk1 = static_cast<int>(i64min(kBN, sk - j0 - kBN));
      unsigned char *kn = base + TL::k_off((t + 1) % NB);
      stage<T, D, kBN>(kn, kp + (j0 + kBN) * D, nk1);
      stage<T, D, kBN>(kn + TL::kKVBytes, vp + (j0 + kBN) * D, nk1);
    }
    wg_cp_async_commit();
    const int buf = t % NB;
    const float *kp_t = kept + buf * kBN;
    const uint32_t k_addr = base_addr + TL::k_off(buf);
    const uint32_t v_addr = k_addr + TL::kKVBytes;

    // keys of this tile the warpgroup needs: [0, kend) (warpgroup-uniform)
    int kend = nk;
    if (a.causal) kend = static_cast<int>(i64min(kend, i64max(0, grp_last_lim - j0 + 1)));
    const bool work = grp_active && kend > 0;
    const bool need_mask = mrow != nullptr || nk < kBN || (a.causal && j0 + kBN - 1 > warp_first_lim);
    const int64_t lim0 = warp_first_lim - j0;
    float s[NT][4];

    if (!PP || grp == 0) {
      // ---- S = Q K^T (64 x 128 per warpgroup)
      if (work) {
#pragma unroll
        for (int i = 0; i < NT; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
        wg_reg_fence(s);
        wg_fence();
        issue_qk<T, D>(s, q_addr, k_addr);
        wg_commit();
        wg_wait_all();
        wg_reg_fence(s);
      }
      if (PP) wg_bar_arrive(1);  // warpgroup 1 may start its GEMMs: ours are done
      // ---- softmax, then O += P V
      if (work) softmax_tile<T, D>(s, o, m, l, pa, need_mask, kp_t, a.causal, lim0, a.scale_log2, g, t4);
      if (PP) wg_bar_sync(2);    // ... and warpgroup 1's GEMMs are done: the tensor cores are ours
      if (work) {
        wg_reg_fence(o);
        wg_reg_fence(pa);
        wg_fence();  // the rescaled O and the P registers are written before the wgmma that read them
        issue_pv<T, D>(o, pa, v_addr);
        wg_commit();
        wg_wait_all();
        wg_reg_fence(o);
        wg_reg_fence(pa);
      }
    } else {
      // ---- PP, warpgroup 1: O += P_{t-1} V_{t-1} (deferred) and S_t = Q K_t^T in one batch, while warpgroup 0 runs
      // its softmax; then this softmax while warpgroup 0 runs its P V
      // (each case one straight batch of wgmma: a wgmma under a condition inside a batch makes ptxas serialize, C7520)
      wg_bar_sync(1);
#pragma unroll
      for (int i = 0; i < NT; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
      wg_reg_fence(s);
      wg_reg_fence(o);
      wg_reg_fence(pa);
      if (pending && work) {
        wg_fence();
        issue_pv<T, D>(o, pa, pending_v);
        issue_qk<T, D>(s, q_addr, k_addr);
        wg_commit();
        wg_wait_all();
      } else if (pending) {
        wg_fence();
        issue_pv<T, D>(o, pa, pending_v);
        wg_commit();
        wg_wait_all();
      } else if (work) {
        wg_fence();
        issue_qk<T, D>(s, q_addr, k_addr);
        wg_commit();
        wg_wait_all();
      }
      wg_reg_fence(s);
      wg_reg_fence(o);
      wg_reg_fence(pa);
      pending = false;
      wg_bar_arrive(2);
      if (work) {
        softmax_tile<T, D>(s, o, m, l, pa, need_mask, kp_t, a.causal, lim0, a.scale_log2, g, t4);
        pending = true;
        pending_v = v_addr;
      }
    }

    // padding flags of tile t + 1 (its buffer's flags were last read in iteration t + 1 - NB, before this
    // iteration's barrier)
    if (t + 1 < ntiles) {
      const int nk1 = static_cast<int>(i64min(kBN, sk - j0 - kBN));
      float *kn = kept + ((t + 1) % NB) * kBN;
      for (int c = tid; c < kBN; c += kThreads)
        kn[c] = (c < nk1 && key_kept(mrow, a.mask_dtype, j0 + kBN + c)) ? 0.0f : -INFINITY;
    }
  }
  if (PP && pending) {  // warpgroup 1's last P V (its V buffer is not reloaded: no tile follows)
    wg_reg_fence(o);
    wg_reg_fence(pa);
    wg_fence();
    issue_pv<T, D>(o, pa, pending_v);
    wg_commit();
    wg_wait_all();
    wg_reg_fence(o);
    wg_reg_fence(pa);
  }

  wg_cp_async_wait_all();  // nothing in flight at exit (ntiles == 0 leaves the Q copies unwaited)
  // ---- normalise and store
  if (!grp_active) return;
  store_rows<T, D>(o, l, blk.out, wrow0, rows_q, g, t4);
#endif
}

}  // namespace wg
