// flash_wgmma_ws: flash_wgmma's warp-specialised schedule (flash-attention 3's forward mainloop in its own terms):
// a producer warpgroup loads Q, K and V with TMA into the same 128-byte-swizzled tiles, two (head_dim 128) or three
// (head_dim 64) consumer warpgroups compute. Same operands, semantics and numerics as flash_wgmma
// (attention_wgmma.cuh, whose wgmma helpers, issue_qk and issue_pv it uses); chosen by TESSERA_WGMMA_SCHEDULE=ws
// (attention_wgmma.cu), not by default: written on 2026-11-29 on a build machine without a GPU, checked by
// native/test/attention_wgmma_emulated.cpp (TMA, mbarriers and wgmma emulated from the PTX ISA's text) and by
// ptxas; its first GPU run is owed (bench/gpu/README.md).
//
// Why (bench/results/gpu/run5-h200): flash_wgmma's ping-pong schedule reaches 0.45-0.61x SDPA with 2.9 us per
// 128-key tile where tensor-core and exponential work add up to about 1.3 us. Its loads are every thread's cp.async
// followed by a block barrier per tile, which holds both warpgroups to one another every tile, and each warpgroup
// waits for every wgmma batch before its softmax. Here:
//  - 128 (1 + G) threads: warpgroup 0 is the producer (its first warp; the other three leave at once), warpgroups
//    1 .. G the consumers of 64 query rows each: G = 2 at head_dim 128 (128 rows per block, as flash_wgmma), G = 3
//    at head_dim 64 where the queries are many (192 rows: more work per K / V tile where the tile is half as big;
//    flash-attention 3's choice too; ws_groups says when). setmaxnreg moves registers from the producer (24) to the consumers (240 for G = 2, 160 for G = 3), so
//    that a consumer may hold S of tile t, P of tile t - 1 and O at once;
//  - loads: per tile one lane issues D / 64 TMA boxes of 64 columns x 128 rows for K and as many for V
//    (cp.async.bulk.tensor.3d with the tensor maps {head_dim, rows, batch x heads} of attention_wgmma.cu; the
//    tensor map's 128-byte swizzle writes exactly the layout the wgmma descriptors read, rows past the sequence
//    are zero-filled by the TMA unit), each completing a "full" mbarrier by transaction count; the consumers give a
//    buffer back through an "empty" mbarrier (one arrival per consumer warp) once the wgmma that read it retired.
//    K and V have their own buffers and barriers (NB stages each), V running one tile behind K because P_t V_t is
//    issued in step t + 1. No block barrier after the prologue; TMA writes through the async proxy, so no
//    fence.proxy.async is needed before wgmma reads them;
//  - the key-padding mask travels with K as 128 bits per tile (the producer warp's ballots: key usable = inside the
//    sequence and kept by the mask), read into registers before K's buffer is given back;
//  - per consumer warpgroup and tile t >= 1 (flash-attention 3's intra-warpgroup overlap): issue S_t = Q K_t^T and
//    O += P_{t-1} V_{t-1} as two commit groups, wait for the first only (wgmma.wait_group 1), run the masks and
//    the exponentials of S_t while P_{t-1} V_{t-1} is still on the tensor cores, then wait for it, rescale O by the
//    correction of the new row maxima and pack P_t. The consumers issue their GEMMs in turn (a ring of named
//    barriers 1 .. G: a warpgroup issues, then lets the next one issue), so that one's softmax overlaps the others'
//    GEMMs;
//  - work tiles (query block, head, batch item; wg::ws_work) on a 1-D grid: a block per tile, or (TESSERA_WGMMA_SCHEDULE
//    =wsp, two consumer warpgroups) a persistent grid of a block per SM taking tiles round by round (wg::ws_round),
//    the producer loading the next tile's Q (its own empty barrier) and K while the consumers finish the last one;
//    load counters and barrier phases run on across a block's tiles. Causal tiles come heaviest first across heads;
//  - every wgmma batch is unconditional (a consumer warpgroup with no real rows, or none that sees the tile's keys,
//    multiplies zero-filled or masked rows all the same): ptxas serializes wgmma under run-time conditions (C7520).
// Shared memory: 1 KiB alignment slack + Q + 2 NB tiles + NB x 16 B of mask bits + (2 + 4 NB) mbarriers: NB = 2
// gives 89 / 161 KiB for head_dim 64 (G = 3) / 128 (G = 2). Registers (ptxas 13.0): 128 / 168 at launch (the
// 65536 of an SM over 512 / 384 threads), no spills, no wgmma serialisation (C7520) nor injected fence (C7519).

namespace wg {

constexpr int kWsStages = 2;  // K / V buffers each (NB)

// G consumer warpgroups (64 query rows each) and the producer warpgroup: threads, query rows per block, and the
// registers setmaxnreg gives each side (128 x producer + 128 G x consumer <= 64 Ki, multiples of 8).
template <int G>
struct WsShape {
  static_assert(G == 2 || G == 3, "flash_wgmma_ws: 2 or 3 consumer warpgroups");
  static constexpr int kThreads = 128 * (1 + G);
  static constexpr int kRows = 64 * G;
  static constexpr uint32_t kProducerRegs = 24;
  static constexpr uint32_t kConsumerRegs = G == 2 ? 240 : 160;
  // a block may take several work tiles (a persistent grid); not with three consumers, whose 160 registers have no
  // room for the loop's state (ptxas spills): they take one tile each (the host launches a block per tile), and serve
  // long sequences, where a block's prologue is a small share
  static constexpr bool kLoops = G == 2;
};

// Consumer warpgroups of a launch (the host side and the emulation launch what this says): 2 at head_dim 128 (with
// three, S, P and O of a consumer would not fit its 160 registers); at head_dim 64 `forced` (2 or 3) where given
// (TESSERA_WGMMA_SCHEDULE=ws2 / ws3), else 3 unless 192-row blocks pad the query rows by more than 5% over 128-row
// ones: 197 queries (ViT-B/16) are 384 rows of work in 192-row blocks and 256 in 128-row ones, 1024 are 1152 and
// 1024; from about 2300 queries on, 3 (16384: 0.8% padding).
inline int ws_groups(int64_t d, int64_t seq_q, int forced) {
  if (d != 64) return 2;
  if (forced == 2 || forced == 3) return forced;
  const int64_t rows3 = (seq_q + 191) / 192 * 192, rows2 = (seq_q + 127) / 128 * 128;
  return rows3 * 20 <= rows2 * 21 ? 3 : 2;
}

// Shared memory of one block: Q, NB K tiles, NB V tiles, NB x 4 words of usable-key bits, then the mbarriers.
template <int D, int NB, int G>
struct WsTile {
  static_assert(D == 64 || D == 128, "flash_wgmma_ws: head_dim 64 or 128");
  static constexpr uint32_t kQBytes = WsShape<G>::kRows * D * 2;
  static constexpr uint32_t kKVBytes = kBN * D * 2;
  static constexpr uint32_t k_off(int b) { return kQBytes + static_cast<uint32_t>(b) * kKVBytes; }
  static constexpr uint32_t v_off(int b) { return kQBytes + static_cast<uint32_t>(NB + b) * kKVBytes; }
  static constexpr uint32_t kBitsOff = kQBytes + 2u * NB * kKVBytes;
  static constexpr uint32_t kBarOff = kBitsOff + 16u * NB;
  static constexpr uint32_t q_full() { return kBarOff; }
  static constexpr uint32_t k_full(int b) { return kBarOff + 8u * (1 + b); }
  static constexpr uint32_t v_full(int b) { return kBarOff + 8u * (1 + NB + b); }
  static constexpr uint32_t k_empty(int b) { return kBarOff + 8u * (1 + 2 * NB + b); }
  static constexpr uint32_t v_empty(int b) { return kBarOff + 8u * (1 + 3 * NB + b); }
  static constexpr uint32_t q_empty() { return kBarOff + 8u * (1 + 4 * NB); }
  static constexpr size_t smem_bytes = 1024 + kBarOff + 8u * (2 + 4 * NB);
};

// The kernel's parameters: flash_wgmma's, and the tensor maps of Q ({D, seq_q, batch x heads_q}, row stride D,
// plane stride seq_q x D) and of K and V ({D, seq_k, batch x heads_kv}, plane stride cap x D), 16-bit elements,
// boxes {64, block rows (Q) or 128 (K, V), 1}, 128-byte swizzle, zero fill out of bounds (attention_wgmma.cu,
// make_map).
struct WsArgs {
  MmaArgs a;
  CUtensorMap tq, tk, tv;
  int64_t n_bh;  // batch x heads_q
  int64_t sec;   // causal: (batch, head) pairs whose query blocks are taken together, heaviest first (ws_work)
};

// The work tiles of a launch, (query block, head, batch item), numbered in the order the blocks take them (ws_round:
// one each where the grid has a block per tile, several where it is persistent). Without a causal mask query blocks
// run fastest: the tiles at work at once share their heads' K and V in L2. With one, a section of `sec` (batch, head)
// pairs at a time (as many as keep their K and V within half the L2 where the grid has a block per tile; all of them
// on a persistent grid: attention_wgmma.cu, ws_args), in each its query blocks heaviest first across the pairs: the
// last tiles to start are the shortest (longest-processing-time order), where flash_wgmma's reversed blockIdx.x
// orders only the blocks of one head.
struct WsWork {
  int64_t qb, h, b;
};
__device__ __forceinline__ WsWork ws_work(const WsArgs &p, int64_t w, int64_t n_qb) {
  int64_t qb, bh;
  if (!p.a.causal) {
    qb = w % n_qb;
    bh = w / n_qb;
  } else {
    const int64_t s0 = w / (p.sec * n_qb) * p.sec;  // the section's first pair
    const int64_t width = i64min(p.sec, p.n_bh - s0);
    const int64_t l = w - s0 * n_qb;
    qb = n_qb - 1 - l / width;
    bh = s0 + l % width;
  }
  return {qb, bh % p.a.heads_q, bh / p.a.heads_q};
}

// The work tile this block takes in its round r (rounds 0, 1, ... of gridDim.x tiles; one round where the grid has a
// block per tile): odd rounds run backwards ("snake" order), so that on a persistent grid each block's heaviest-first
// causal tiles pair a heavier with a lighter one, round after round, and the blocks' sums of work even out (a fixed
// share of i, i + gridDim.x, ... would leave block 0 the heaviest tile of every round). May be n_work or more in the
// last round: no tile.
__device__ __forceinline__ int ws_round(int r) {
  const int64_t g = gridDim.x, i = blockIdx.x;
  return static_cast<int>(r * g + ((r & 1) ? g - 1 - i : i));
}

// What flash_wgmma_ws's watchdog records of the first wait it gave up on (below; mapped host memory, read by the host
// after the trap): magic last, so that a record is whole when the magic is there.
struct WsDiag {
  static constexpr uint32_t kMagic = 0x57534447u;  // "WSDG"
  static constexpr uint64_t kSeconds = 2;            // how long past kWsWatchdogSpins tries a wait may take
  uint32_t magic, block, thread, bar_off, parity, pad;
};

// The mbarrier at byte offset `off` of a WsTile<D, NB, G> layout, as "k_full[1]" (buffer 1's), into out; false where
// no barrier sits there.
template <int D, int NB, int G>
bool ws_barrier_name(uint32_t off, char *out, size_t n) {
  using TL = WsTile<D, NB, G>;
  const char *name = nullptr;
  int b = -1;
  if (off == TL::q_full()) name = "q_full";
  if (off == TL::q_empty()) name = "q_empty";
  for (int i = 0; i < NB; ++i) {
    if (off == TL::k_full(i)) name = "k_full", b = i;
    if (off == TL::v_full(i)) name = "v_full", b = i;
    if (off == TL::k_empty(i)) name = "k_empty", b = i;
    if (off == TL::v_empty(i)) name = "v_empty", b = i;
  }
  if (name == nullptr) return false;
  if (b < 0) {
    std::snprintf(out, n, "%s", name);
  } else {
    std::snprintf(out, n, "%s[%d]", name, b);
  }
  return true;
}

#ifndef TSR_ATTENTION_WGMMA_EMULATED
__device__ __forceinline__ void wg_mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// the initialised mbarriers become visible to the other threads and to the async proxy (the TMA unit)
__device__ __forceinline__ void wg_fence_mbar_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
__device__ __forceinline__ void wg_mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// arrive and expect `bytes` more of transactions (the TMA copies that complete the phase)
__device__ __forceinline__ void wg_mbar_arrive_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ uint32_t wg_mbar_try_wait(uint32_t bar, uint32_t parity) {
  uint32_t done;
  asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
               : "=r"(done)
               : "r"(bar), "r"(parity)
               : "memory");
  return done;
}
// The watchdog (TESSERA_WGMMA_WATCHDOG=1, attention_wgmma.cu): where g_ws_diag is set, a wait that has not completed
// after kWsWatchdogSpins tries and then WsDiag::kSeconds more is recorded in that (mapped host) memory by the first
// thread to give up, and the kernel traps, so that a schedule deadlock on hardware reports which barrier, phase,
// block and thread instead of hanging until a timeout kills the process. Without it (nullptr, the default) waits
// are unbounded. Costs one counter per wait; the check below is reached only after kWsWatchdogSpins failed tries.
__device__ WsDiag *g_ws_diag;
__device__ uint32_t g_ws_claim;
constexpr uint32_t kWsWatchdogSpins = 1u << 20;
__device__ __forceinline__ uint32_t wg_mbar_watchdog(uint32_t bar, uint32_t parity) {
  WsDiag *const d = g_ws_diag;
  uint64_t t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    if (wg_mbar_try_wait(bar, parity)) return 1;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (d == nullptr || t - t0 < WsDiag::kSeconds * 1000000000ull);
  if (atomicCAS(&g_ws_claim, 0u, 1u) == 0u) {  // (device memory: host-memory atomics need more than PCIe)
    extern __shared__ __align__(16) unsigned char wg_smem_raw[];
    const uint32_t raw = wg_smem_addr(wg_smem_raw);
    volatile uint32_t *v = reinterpret_cast<volatile uint32_t *>(d);
    v[1] = blockIdx.x;
    v[2] = threadIdx.x;
    v[3] = bar - ((raw + 1023u) & ~1023u);  // the barrier's offset in the kernel's 1024-aligned layout (WsTile)
    v[4] = parity;
    __threadfence_system();
    v[0] = WsDiag::kMagic;
    __threadfence_system();
  }
  __trap();
  return 0;
}
// waits until the phase of the given parity has completed (acquire: what was written before its arrivals and its
// transactions is visible afterwards)
__device__ __forceinline__ void wg_mbar_wait(uint32_t bar, uint32_t parity) {
  uint32_t spins = 0;
  while (!wg_mbar_try_wait(bar, parity)) {
    if (++spins == kWsWatchdogSpins && wg_mbar_watchdog(bar, parity)) return;
  }
}
// one TMA box of the 3-D tensor map at coordinates (c0, c1, c2) into shared memory at dst, completing on bar
__device__ __forceinline__ void wg_tma_load3(uint32_t dst, const CUtensorMap *map, int c0, int c1, int c2,
                                             uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n" ::
          "r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
      : "memory");
}
// brings a tensor map (a kernel parameter) into the TMA unit's descriptor cache ahead of its first copy
__device__ __forceinline__ void wg_prefetch_tensormap(const CUtensorMap *map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}
template <uint32_t N>
__device__ __forceinline__ void wg_setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}
template <uint32_t N>
__device__ __forceinline__ void wg_setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}
// retires every wgmma commit group of the warpgroup but the newest one
__device__ __forceinline__ void wg_wait_1() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }
#endif  // TSR_ATTENTION_WGMMA_EMULATED

// Producer: key tile t of a work tile as the block's i-th load of K (or V): waits until the consumers gave buffer
// i % NB back (from load i - NB), then one lane starts the TMA boxes (K: with the tile's usable-key bits) completing
// that buffer's full barrier. All 32 lanes of the warp call it.
template <int D, int NB, int G, bool IS_K>
__device__ __forceinline__ void ws_load(const WsArgs &p, unsigned char *base, uint32_t base_addr, int t, uint32_t i,
                                        int bh_kv, const void *mrow, int lane) {
  using TL = WsTile<D, NB, G>;
  const int b = static_cast<int>(i % NB);
  const int64_t j0 = static_cast<int64_t>(t) * kBN;
  uint32_t w[4] = {0, 0, 0, 0};
  if (IS_K) {  // key j0 + c usable: inside the sequence and kept by the key-padding mask
    const int64_t nk = i64min(kBN, p.a.seq_k - j0);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int c = 32 * i + lane;
      w[i] = __ballot_sync(0xffffffffu, c < nk && key_kept(mrow, p.a.mask_dtype, j0 + c));
    }
  }
  if (i >= NB) wg_mbar_wait(base_addr + (IS_K ? TL::k_empty(b) : TL::v_empty(b)), (i / NB - 1) & 1u);
  if (lane == 0) {
    const uint32_t full = base_addr + (IS_K ? TL::k_full(b) : TL::v_full(b));
    const uint32_t dst = base_addr + (IS_K ? TL::k_off(b) : TL::v_off(b));
    if (IS_K) {
      uint32_t *bits = reinterpret_cast<uint32_t *>(base + TL::kBitsOff) + 4 * b;
      bits[0] = w[0];
      bits[1] = w[1];
      bits[2] = w[2];
      bits[3] = w[3];
    }
    wg_mbar_arrive_tx(full, TL::kKVBytes);  // release: the bits above are visible to whoever sees the phase
#pragma unroll
    for (int c = 0; c < D / 64; ++c)
      wg_tma_load3(dst + static_cast<uint32_t>(c * kBN * 128), IS_K ? &p.tk : &p.tv, 64 * c, static_cast<int>(j0),
                   bh_kv, full);
  }
}

template <typename T, int D, int NB, int G>
__global__ void __launch_bounds__(WsShape<G>::kThreads, 1) flash_wgmma_ws(const __grid_constant__ WsArgs p) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(TSR_ATTENTION_WGMMA_EMULATED)
  __trap();  // compiled for a target without wgmma / setmaxnreg: never launched (the host side runs it on cc 9.0)
#else
  using TL = WsTile<D, NB, G>;
  using SH = WsShape<G>;
  constexpr int NT = kBN / 8;   // n8 tiles of S over the keys
  constexpr int DT = D / 8;     // n8 tiles of O over head_dim
  constexpr int PS = kBN / 16;  // k-steps of P V
  const MmaArgs &a = p.a;
  extern __shared__ __align__(16) unsigned char wg_smem_raw[];
  const uint32_t raw_addr = wg_smem_addr(wg_smem_raw);
  const uint32_t base_addr = (raw_addr + 1023u) & ~1023u;  // swizzle atoms start on 1024-byte boundaries
  unsigned char *const base = wg_smem_raw + (base_addr - raw_addr);

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int grp = warp >> 2;  // 0: producer; 1 .. G: consumers of rows [64 (grp - 1), 64 grp) of the block
  // work tiles: below 2^31 (attention_wgmma.cu, ws_args), so 32-bit here
  const int n_qb = static_cast<int>((a.seq_q + SH::kRows - 1) / SH::kRows);
  const int n_work = static_cast<int>(n_qb * p.n_bh);
  const int rounds = SH::kLoops ? static_cast<int>((n_work + gridDim.x - 1) / gridDim.x) : 1;
  // the key tiles of a work tile (none: no key can matter to it, its rows are written as zeros)
  auto key_tiles = [](const MmaBlock<T> &blk) {
    return blk.visible > 0 ? static_cast<int>((blk.visible + kBN - 1) / kBN) : 0;
  };
  // the block's work tile in round r and its query block (false: none, a gap in the last round)
  auto round_tile = [&](int r, WsWork *wk, MmaBlock<T> *blk) {
    const int w = ws_round(r);
    if (w >= n_work) return false;
    *wk = ws_work(p, w, n_qb);
    *blk = mma_block_at<T>(a, SH::kRows, D, wk->qb, wk->h, wk->b);
    return true;
  };

  if (tid == 0) {
    wg_mbar_init(base_addr + TL::q_full(), 1);
    wg_mbar_init(base_addr + TL::q_empty(), 4 * G);  // one arrival per consumer warp
    for (int b = 0; b < NB; ++b) {
      wg_mbar_init(base_addr + TL::k_full(b), 1);
      wg_mbar_init(base_addr + TL::v_full(b), 1);
      wg_mbar_init(base_addr + TL::k_empty(b), 4 * G);
      wg_mbar_init(base_addr + TL::v_empty(b), 4 * G);
    }
    wg_fence_mbar_init();
  }
  __syncthreads();

  // Both sides walk the block's work tiles alike and count the loads (it: K and V tiles, qi: Q tiles): load i sits in
  // buffer i % NB and completes phase i / NB of its barriers.
  if (grp == 0) {
    // ---- producer: per work tile Q (once the consumers are done with the previous one), K_0, then per step K_t
    // and V_{t-1}, then the last V
    wg_setmaxnreg_dec<SH::kProducerRegs>();
    if (warp != 0) return;
    if (lane == 0) {
      wg_prefetch_tensormap(&p.tq);
      wg_prefetch_tensormap(&p.tk);
      wg_prefetch_tensormap(&p.tv);
    }
    uint32_t it = 0, qi = 0;
    for (int r = 0; r < rounds; ++r) {
      WsWork wk;
      MmaBlock<T> blk;
      if (!round_tile(r, &wk, &blk)) continue;
      const int ntiles = key_tiles(blk);
      if (ntiles == 0) continue;
      const int bh_q = static_cast<int>(wk.b * a.heads_q + wk.h);
      const int bh_kv = static_cast<int>(wk.b * a.heads_kv + wk.h / (a.heads_q / a.heads_kv));
      if (qi > 0) wg_mbar_wait(base_addr + TL::q_empty(), (qi - 1) & 1u);
      if (lane == 0) {
        wg_mbar_arrive_tx(base_addr + TL::q_full(), TL::kQBytes);
#pragma unroll
        for (int c = 0; c < D / 64; ++c)
          wg_tma_load3(base_addr + static_cast<uint32_t>(c * SH::kRows * 128), &p.tq, 64 * c,
                       static_cast<int>(blk.q0), bh_q, base_addr + TL::q_full());
      }
      ++qi;
      ws_load<D, NB, G, true>(p, base, base_addr, 0, it, bh_kv, blk.mask, lane);
      for (int t = 1; t < ntiles; ++t) {
        ws_load<D, NB, G, true>(p, base, base_addr, t, it + t, bh_kv, blk.mask, lane);
        ws_load<D, NB, G, false>(p, base, base_addr, t - 1, it + t - 1, bh_kv, blk.mask, lane);
      }
      ws_load<D, NB, G, false>(p, base, base_addr, ntiles - 1, it + ntiles - 1, bh_kv, blk.mask, lane);
      it += ntiles;
    }
    return;
  }

  // ---- consumers
  wg_setmaxnreg_inc<SH::kConsumerRegs>();
  const int c = grp - 1;                   // consumer warpgroup 0 .. G - 1
  const int g = lane >> 2, t4 = lane & 3;
  const int grow0 = c * 64;                // the warpgroup's first row in the block
  const int wrow0 = grow0 + (warp & 3) * 16;
  const uint32_t q_addr = base_addr + static_cast<uint32_t>(grow0 * 128);
  // a buffer back to the producer: every lane's wgmma that read it has retired
  auto release = [lane](uint32_t bar) {
    __syncwarp();
    if (lane == 0) wg_mbar_arrive(bar);
  };
  uint32_t it = 0, qi = 0;

  // The ring of GEMM turns runs through all the block's work tiles: consumer 0 issues first, and its last wait
  // pairs with the last consumer's last "your turn" (each barrier's arrivals and waits pair up). Restarting the ring
  // per work tile would let a consumer's arrivals for the next tile reach a barrier before the other's wait for the
  // previous one: the emulation under EMU_JITTER deadlocks so.
  if (c == G - 1) wg_bar_arrive(1);
  for (int r = 0; r < rounds; ++r) {
    WsWork wk;
    MmaBlock<T> blk;
    if (!round_tile(r, &wk, &blk)) continue;
    const int ntiles = key_tiles(blk);
    const int64_t warp_first_lim = blk.q0 + wrow0 + blk.shift;  // causal: last key the warp's first row sees
    const bool masked_keys = blk.mask != nullptr;

    float o[DT][4];
#pragma unroll
    for (int i = 0; i < DT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    if (ntiles > 0) {
      float s[NT][4], corr[2];
      uint32_t pa[PS][4];
      uint32_t bits[4];
      // the tile's usable-key bits into registers, then K's buffer back to the producer (its wgmma has retired)
      auto take_k = [&](uint32_t i) {
        const int b = static_cast<int>(i % NB);
        const uint4 wd = *reinterpret_cast<const uint4 *>(base + TL::kBitsOff + 16 * b);
        bits[0] = wd.x;
        bits[1] = wd.y;
        bits[2] = wd.z;
        bits[3] = wd.w;
        release(base_addr + TL::k_empty(b));
      };
      // key nt * 8 + 2 t4 + (c & 1) of the tile usable (bit c of word c / 32 of the tile's bits)
      auto usable = [&bits, t4](int nt, int c) {
        return ((bits[nt >> 2] >> ((nt & 3) * 8 + 2 * t4 + (c & 1))) & 1u) != 0;
      };
      auto tile_mask = [&](int t, int64_t *lim0) {
        const int64_t j0 = static_cast<int64_t>(t) * kBN;
        *lim0 = warp_first_lim - j0;
        return masked_keys || a.seq_k - j0 < kBN || (a.causal && j0 + kBN - 1 > warp_first_lim);
      };

      wg_mbar_wait(base_addr + TL::q_full(), qi & 1u);
      // tile 0: S_0, its softmax, P_0
      wg_mbar_wait(base_addr + TL::k_full(it % NB), (it / NB) & 1u);
#pragma unroll
      for (int i = 0; i < NT; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
      wg_reg_fence(s);
      wg_fence();
      issue_qk<T, D, SH::kRows>(s, q_addr, base_addr + TL::k_off(static_cast<int>(it % NB)));
      wg_commit();
      wg_wait_all();
      wg_reg_fence(s);
      take_k(it);
      if (ntiles == 1) release(base_addr + TL::q_empty());  // Q's last reader has retired
      {
        int64_t lim0;
        const bool need_mask = tile_mask(0, &lim0);
        softmax_scores(s, m, l, corr, need_mask, usable, a.causal, lim0, a.scale_log2, g, t4);
      }
      rescale_pack<T, D>(o, corr, s, pa);

      for (int t = 1; t < ntiles; ++t) {
        const uint32_t ik = it + t, iv = ik - 1;
        const int bk = static_cast<int>(ik % NB), bv = static_cast<int>(iv % NB);
        wg_mbar_wait(base_addr + TL::k_full(bk), (ik / NB) & 1u);
        wg_bar_sync(1 + c);  // our turn to issue
#pragma unroll
        for (int i = 0; i < NT; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
        wg_reg_fence(s);
        wg_reg_fence(o);
        wg_reg_fence(pa);
        wg_fence();
        issue_qk<T, D, SH::kRows>(s, q_addr, base_addr + TL::k_off(bk));
        wg_commit();
        wg_mbar_wait(base_addr + TL::v_full(bv), (iv / NB) & 1u);
        wg_fence();  // (ptxas would insert it after the wait's loop anyway: C7519)
        issue_pv<T, D>(o, pa, base_addr + TL::v_off(bv));
        wg_commit();
        wg_bar_arrive(1 + (c + 1) % G);  // the next consumer's turn
        wg_wait_1();           // S_t is there; P_{t-1} V_{t-1} may still run
        wg_reg_fence(s);
        take_k(ik);
        if (t == ntiles - 1) release(base_addr + TL::q_empty());
        int64_t lim0;
        const bool need_mask = tile_mask(t, &lim0);
        softmax_scores(s, m, l, corr, need_mask, usable, a.causal, lim0, a.scale_log2, g, t4);
        wg_wait_all();
        wg_reg_fence(o);
        wg_reg_fence(pa);
        release(base_addr + TL::v_empty(bv));
        rescale_pack<T, D>(o, corr, s, pa);
      }
      // the last P V
      const uint32_t il = it + ntiles - 1;
      const int bl = static_cast<int>(il % NB);
      wg_mbar_wait(base_addr + TL::v_full(bl), (il / NB) & 1u);
      wg_reg_fence(o);
      wg_reg_fence(pa);
      wg_fence();
      issue_pv<T, D>(o, pa, base_addr + TL::v_off(bl));
      wg_commit();
      wg_wait_all();
      wg_reg_fence(o);
      wg_reg_fence(pa);
      release(base_addr + TL::v_empty(bl));
      it += ntiles;
      ++qi;
    }

    // ---- normalise and store (rows of the block that are real queries), while the producer loads the next tile
    if (grow0 < blk.rows_q) store_rows<T, D>(o, l, blk.out, wrow0, blk.rows_q, g, t4);
  }
  if (c == 0) wg_bar_sync(1);
#endif
}

}  // namespace wg
