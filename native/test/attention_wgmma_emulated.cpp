// Runs the code of flash_wgmma (native/src/cuda/attention_wgmma.cuh) on the CPU and checks it against a float64
// attention: a check of its swizzled shared-memory layout, wgmma descriptors, fragment indexing, masks, online softmax
// and double-buffer pipeline for build machines without a GPU (ctest runs it: native/CMakeLists.txt). The kernel
// first ran on a GPU on 2026-11-29 (H200, bench/results/gpu/run4-h200), where it agreed with this emulation.
//
//   g++ -std=c++20 -O1 -pthread -fsanitize=address,undefined -I native/include -I native/src \
//       native/test/attention_wgmma_emulated.cpp -o /tmp/attention_wgmma_emulated && /tmp/attention_wgmma_emulated
//
// Each block runs as 256 std::threads (cuda_emulation.h): two warpgroups of four warps. The PTX the kernel uses is
// emulated from the PTX ISA's text, written independently of the kernel's own indexing (the kernel computes where it
// stores; the shim computes where wgmma reads, from the descriptor alone):
//  - wgmma.mma_async m64nNk16 (.f32 accumulators, .f16 / .bf16 inputs; PTX ISA 9.7.15 "Asynchronous Warpgroup Level
//    Matrix Multiply-Accumulate"): the 128 threads of a warpgroup exchange their operands through a 128-thread
//    barrier (descriptors and scale-d must agree across the warpgroup: checked); the product is computed when the
//    thread's wgmma.wait_group retires its commit group, with the shared memory of that moment, so a missing wait,
//    a tile overwritten before the wait, or accumulators read before it all give wrong results. A wgmma issued with
//    no wgmma.fence since the last wait_group is counted as an error (section "wgmma.fence": required before the
//    first wgmma and between register accesses and wgmma that use the same registers);
//  - fragments (9.7.15.5.1.1 "Matrix Fragments for wgmma.mma_async.m64nNk16", its register fragment figures of A
//    and of the accumulator D): warp i of the warpgroup holds rows 16i..16i+15; for lane l, g = l / 4, t = l % 4:
//    D value v is row 16i + g + 8 ((v / 2) % 2), column 8 (v / 4) + 2t + (v % 2); A register r (two 16-bit halves
//    h) is row 16i + g + 8 (r % 2), column 2t + h + 8 (r / 2);
//  - shared memory through descriptors (9.7.15.5.1.2 "Shared Memory Matrix Layout", its "Strides" (leading / stride
//    dimension byte offset) and "Matrix Descriptor Format" tables): bits 0-13 start address >> 4, 16-29 leading
//    dimension byte offset >> 4, 32-45 stride dimension byte offset >> 4, 49-51 base offset, 62-63 swizzle mode
//    (1 = 128-byte). 128-byte swizzle atoms are 8 rows of 128 bytes along the leading dimension. K-major (imm-trans
//    0): element (mn, k) at start + (mn / 8) * SBO + (mn % 8) * 128 + 2k (the leading byte offset is not used for
//    swizzled K-major layouts); MN-major (imm-trans-b 1): element (k, mn) at start + (mn / 64) * LBO + (k / 8) * SBO
//    + (k % 8) * 128 + 2 (mn % 64). The 128-byte swizzle then XORs the 16-byte chunk index (address bits 4-6) with
//    the row within the 1024-byte repeating pattern (bits 7-9), the pattern starting on 1024-byte boundaries (base
//    offset 0). Only swizzle mode 1 and base offset 0 are accepted; a start address outside the first 128-byte row of
//    a 1024-byte atom (our kernel never needs one: its k-steps move 32 bytes along that row) is counted as an error;
//  - the async proxy (the wgmma.mma_async section's notes; "membar / fence" for fence.proxy.async): shared memory
//    written through the generic proxy (st.shared, cp.async) must be made visible to wgmma by fence.proxy.async of the
//    writer before the synchronisation that precedes the read. Every 16-byte chunk written is marked with its writer
//    until that writer's next fence.proxy.async; a wgmma reading a marked chunk is an error;
//  - cp.async (as in attention_v2_emulated.cpp): copies deferred until the cp.async.wait_group that covers them;
//    EMU_CP_ASYNC=immediate lands them at issue. shfl.xor and bar.sync as cuda_emulation.h. ex2.approx is exp2f;
//    16-bit values round to nearest even as the device does.
// The dynamic shared memory starts at a shared-window address that is not 1024-byte aligned in some cases (0, 16 or
// 784), which exercises the kernel's rounding of its base to the swizzle pattern.
// The warp-specialised kernel flash_wgmma_ws (attention_wgmma_ws.cuh) runs as 512 / 384 threads (head_dim 64 / 128),
// with in addition:
//  - mbarrier (PTX ISA 9.7.13.15 "mbarrier"): init, arrive, arrive.expect_tx, try_wait.parity; a phase completes
//    when its pending arrivals reach zero and its transaction count is zero; try_wait.parity P succeeds once the
//    phase of parity P has completed. A wait that lasts 30 s ends the run (a protocol deadlock);
//  - cp.async.bulk.tensor.3d with mbarrier::complete_tx (9.7.9.25, and the CUDA driver API's tensor-map
//    description for CU_TENSOR_MAP_SWIZZLE_128B): the box is read from global memory with zeros out of bounds and
//    written to shared memory rows of 128 bytes whose 16-byte chunk index is XORed with address bits 7-9 (the
//    destination must be 1024-byte aligned), as async-proxy writes (no fence.proxy.async needed). By default a copy
//    lands only when a thread waits on its barrier (a consumer reading a tile before its wait sees garbage);
//    EMU_TMA=immediate lands it at issue (a producer overwriting a tile that a wgmma has not finished reading gives
//    wrong results, the wgmma shim reading shared memory when the wgmma retires);
//  - wgmma.wait_group 1 retires all but the newest commit group; setmaxnreg and prefetch.tensormap are no-ops;
//    __ballot_sync.
// Named barriers (bar.arrive / bar.sync with 256 threads) count arrivals per phase as the hardware does; since every
// use here pairs one warpgroup's arrival with another's wait, a phase completed by arrivals alone (a warpgroup a turn
// ahead) is an error, as are arrivals left at block exit. EMU_JITTER=SEED makes warpgroups sleep at random
// synchronisation points so that they drift apart (ctest runs it once): a persistent ws block whose ring of GEMM
// turns restarts per work tile, which passes without it, deadlocks under EMU_JITTER=1.
// What it cannot check: the hardware's actual reading of the descriptor fields (if our reading of the PTX ISA is
// wrong, kernel and shim agree and both are wrong), real timing, register pressure, ptxas's handling of the
// asynchronous accumulators, and bank conflicts.
// EMU_FUZZ=N adds N cases of random shapes.
#define TSR_ATTENTION_WGMMA_EMULATED

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tessera/tessera.h"

// ---------------------------------------------------------------------------- CUDA shims
#include "cuda_emulation.h"

#define __grid_constant__
struct uint4 {
  uint32_t x, y, z, w;
};
// The emulation's tensor map (the driver's CUtensorMap is opaque): a 3-D tensor of 16-bit elements, its dimensions
// (innermost first), the byte strides of dimensions 1 and 2, and the box; the swizzle is always 128 bytes.
struct CUtensorMap {
  const void *base;
  uint64_t dim[3];
  uint64_t stride[2];
  uint32_t box[3];
};

namespace tsr {
namespace cuda {
namespace attn {
namespace wg {
alignas(1024) unsigned char wg_smem_raw[256 * 1024];  // the kernel's `extern __shared__` dynamic shared memory
}  // namespace wg
}  // namespace attn
}  // namespace cuda
}  // namespace tsr

namespace emu {
unsigned char *const smem = tsr::cuda::attn::wg::wg_smem_raw;
constexpr size_t kSmemBytes = sizeof(tsr::cuda::attn::wg::wg_smem_raw);
uint32_t window = 0;     // shared-window address of the dynamic allocation's first byte
size_t smem_limit = 0;   // the launch's dynamic shared memory bytes: every access must stay below
bool immediate = false;  // cp.async lands at issue (EMU_CP_ASYNC=immediate) instead of at its wait_group
std::atomic<int> smem_oob{0}, wg_errors{0}, proxy_errors{0};
std::atomic<int> first_errors{0};
void error(std::atomic<int> &counter, const char *what) {
  counter.fetch_add(1);
  if (first_errors.fetch_add(1) < 5) std::printf("  emulation: %s (thread %u)\n", what, threadIdx.x);
}
// byte offset in the allocation of shared-window address a (bytes long), checked against the launch's size
inline size_t at(uint32_t a, uint32_t bytes) {
  if (a < window || a - window + bytes > smem_limit) {
    error(smem_oob, "shared-memory access outside the dynamic allocation");
    return 0;
  }
  return a - window;
}

// generic-proxy writes not yet followed by their writer's fence.proxy.async: writer thread + 1 per 16-byte chunk
std::vector<std::atomic<int>> unfenced(kSmemBytes / 16);
thread_local std::vector<size_t> my_unfenced;
inline void generic_write(size_t off) {
  unfenced[off / 16].store(static_cast<int>(threadIdx.x) + 1);
  my_unfenced.push_back(off / 16);
}

thread_local std::vector<std::vector<std::pair<size_t, const void *>>> groups;  // committed cp.async groups
thread_local std::vector<std::pair<size_t, const void *>> open_group;
inline void land(size_t off, const void *src) {
  std::memcpy(smem + off, src, 16);
  generic_write(off);
}

// ---- wgmma: one warpgroup's exchange slots, and each thread's operations not yet retired by a wait_group
struct WgSync {
  std::barrier<> bar{128};
  uint64_t da[2][128], db[2][128];
  int acc[2][128];
  uint32_t a[2][128][4];
};
WgSync *wgs = nullptr;  // [warpgroups of the block]
// A named barrier (bar.arrive / bar.sync id, 256 threads: the two warpgroups that meet there): a phase completes when
// 256 threads have arrived or synced; bar.sync waits for it. Every use in these kernels pairs one warpgroup's arrival
// with another's wait, so a phase completed by arrivals alone means a warpgroup ran a turn ahead (its arrivals for
// the next round met its own previous ones): an error here, where the hardware would go on out of order or hang.
struct NamedBar {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0, syncers = 0;
  uint64_t gen = 0;
};
NamedBar *named_bars[4] = {nullptr, nullptr, nullptr, nullptr};  // bar ids 1 .. 3 (ping-pong, ws)
std::atomic<int> bar_errors{0};
// EMU_JITTER=SEED: warpgroups sleep now and then (at one in 24 synchronisation points, up to 6 ms) before
// named-barrier arrivals and waits, mbarrier waits and wgmma waits, all threads of a warpgroup alike (the choice hashes
// the seed, the block, the warpgroup and the thread's count of such points, which its warpgroup shares), so that
// warpgroups drift apart as they may on the hardware and races that need one a turn ahead of another show; 0: off
uint64_t jitter_seed = 0;
inline void jitter() {
  if (jitter_seed == 0) return;
  thread_local uint64_t points = 0;  // a fresh thread per block and thread index
  uint64_t h = jitter_seed * 0x9e3779b97f4a7c15ull ^ (uint64_t{blockIdx.x} << 40) ^ (uint64_t{threadIdx.x / 128} << 32) ^
               points++;
  h ^= h >> 31;  // splitmix64's finaliser
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  if (h % 24 == 0) std::this_thread::sleep_for(std::chrono::microseconds((h >> 8) % 6000));
}
enum class Sched { kPingPong, kLockstep, kWs2, kWs3, kWsp };
Sched sched = Sched::kPingPong;  // which kernel and schedule launch() runs (main runs every case with each)
bool pingpong = false;

// ---- mbarriers (by offset in the allocation) and TMA copies not yet landed
struct Mbar {
  int count = 0, pending = 0;
  int64_t tx = 0;
  uint32_t phase = 0;
};
std::mutex mbar_mu;
std::condition_variable mbar_cv;
std::unordered_map<size_t, Mbar> mbars;
struct TmaJob {
  size_t bar;
  uint32_t dst;
  CUtensorMap map;  // a copy: the issuing thread's kernel parameters end with it (the hardware's live on)
  int c[3];
};
std::vector<TmaJob> tma_jobs;
bool tma_immediate = false;  // EMU_TMA=immediate: copies land at issue
std::atomic<int> mbar_errors{0};
// a phase completes when no arrival and no transaction byte is pending (mbar_mu held)
void mbar_complete(Mbar &b) {
  if (b.pending == 0 && b.tx == 0) {
    ++b.phase;
    b.pending = b.count;
    mbar_cv.notify_all();
  }
}
// copies one TMA box (zeros out of bounds, 128-byte swizzle) and completes its bytes on its barrier (mbar_mu held)
void tma_land(const TmaJob &j) {
  const CUtensorMap &m = j.map;
  if (j.dst % 1024 != 0) error(mbar_errors, "TMA destination with 128-byte swizzle not 1024-byte aligned");
  const uint32_t row_bytes = m.box[0] * 2;
  for (uint32_t z = 0; z < m.box[2]; ++z)
    for (uint32_t y = 0; y < m.box[1]; ++y)
      for (uint32_t x = 0; x < m.box[0]; ++x) {
        const int64_t gx = j.c[0] + static_cast<int64_t>(x), gy = j.c[1] + static_cast<int64_t>(y),
                      gz = j.c[2] + static_cast<int64_t>(z);
        uint16_t v = 0;
        if (gx >= 0 && gy >= 0 && gz >= 0 && static_cast<uint64_t>(gx) < m.dim[0] &&
            static_cast<uint64_t>(gy) < m.dim[1] && static_cast<uint64_t>(gz) < m.dim[2]) {
          const auto *src = static_cast<const unsigned char *>(m.base) + gz * static_cast<int64_t>(m.stride[1]) +
                            gy * static_cast<int64_t>(m.stride[0]) + gx * 2;
          std::memcpy(&v, src, 2);
        }
        uint32_t a = j.dst + (z * m.box[1] + y) * row_bytes + x * 2;
        a ^= ((a >> 7) & 7u) << 4;
        const size_t off = at(a, 2);
        std::memcpy(smem + off, &v, 2);
        unfenced[off / 16].store(0);  // an async-proxy write
      }
  auto it = mbars.find(j.bar);
  if (it == mbars.end()) {
    error(mbar_errors, "TMA completes on an mbarrier that was not initialised");
    return;
  }
  it->second.tx -= static_cast<int64_t>(m.box[0]) * m.box[1] * m.box[2] * 2;
  if (it->second.tx < 0) error(mbar_errors, "TMA bytes beyond the mbarrier's expected transactions");
  mbar_complete(it->second);
}
// lands the deferred copies that complete on barrier `bar` (mbar_mu held)
void tma_land_for(size_t bar) {
  for (size_t i = 0; i < tma_jobs.size();) {
    if (tma_jobs[i].bar == bar) {
      const TmaJob j = tma_jobs[i];
      tma_jobs.erase(tma_jobs.begin() + static_cast<std::ptrdiff_t>(i));
      tma_land(j);
    } else {
      ++i;
    }
  }
}
Mbar *mbar_at(size_t off) {
  auto it = mbars.find(off);
  if (it == mbars.end()) {
    error(mbar_errors, "mbarrier used before mbarrier.init");
    return nullptr;
  }
  return &it->second;
}
thread_local int wg_parity = 0;
struct WgOp {
  float *d;          // the accumulator array (N / 2 floats)
  int n;             // N
  bool acc;          // scale-d
  bool a_smem;       // A through desc da (K-major), else the gathered registers `ar`
  bool b_mn;         // B MN-major (imm-trans-b 1), else K-major
  bool bf16;
  uint64_t da, db;
  float ar[2][16];   // RS: this thread's two rows of A
};
thread_local std::vector<WgOp> wg_open;                 // issued, not committed
thread_local std::vector<std::vector<WgOp>> wg_groups;  // committed, not retired
thread_local bool wg_fenced = false;

// Shared-window address of element (mn, k) of the operand described by desc (see the header comment: PTX ISA
// "Matrix Descriptor Format", "Shared Memory Matrix Layout", "Strides"); 128-byte swizzle applied.
uint32_t desc_address(uint64_t desc, int mn, int k, bool mn_major) {
  const uint32_t start = static_cast<uint32_t>(desc & 0x3FFF) << 4;
  const uint32_t lbo = static_cast<uint32_t>((desc >> 16) & 0x3FFF) << 4;
  const uint32_t sbo = static_cast<uint32_t>((desc >> 32) & 0x3FFF) << 4;
  const uint32_t base_offset = static_cast<uint32_t>((desc >> 49) & 7);
  const uint32_t mode = static_cast<uint32_t>(desc >> 62);
  if (mode != 1 || base_offset != 0) error(wg_errors, "descriptor: not 128-byte swizzle with base offset 0");
  uint32_t a;
  if (!mn_major) {
    a = start + static_cast<uint32_t>(mn / 8) * sbo + static_cast<uint32_t>(mn % 8) * 128 +
        static_cast<uint32_t>(2 * k);
  } else {
    a = start + static_cast<uint32_t>(mn / 64) * lbo + static_cast<uint32_t>(k / 8) * sbo +
        static_cast<uint32_t>(k % 8) * 128 + static_cast<uint32_t>(2 * (mn % 64));
  }
  return a ^ (((a >> 7) & 7u) << 4);
}
float read_operand(uint64_t desc, int mn, int k, bool mn_major, bool bf16) {
  const size_t off = at(desc_address(desc, mn, k, mn_major), 2);
  if (unfenced[off / 16].load() != 0)
    error(proxy_errors, "wgmma reads shared memory written without fence.proxy.async");
  uint16_t v;
  std::memcpy(&v, smem + off, 2);
  return bf16 ? bf2f(v) : h2f(v);
}

// The thread's D fragment of one retired wgmma: D = A B (+ D), rows / columns as the accumulator fragment layout.
void execute(const WgOp &op) {
  const int l = static_cast<int>(threadIdx.x) & 31, w4 = (static_cast<int>(threadIdx.x) & 127) >> 5;
  const int g = l / 4, t = l % 4;
  for (int v = 0; v < op.n / 2; ++v) {
    const int half = (v / 2) % 2;
    const int row = 16 * w4 + g + 8 * half, col = 8 * (v / 4) + 2 * t + (v % 2);
    float sum = 0.0f;
    for (int k = 0; k < 16; ++k) {
      const float x = op.a_smem ? read_operand(op.da, row, k, false, op.bf16) : op.ar[half][k];
      sum += x * read_operand(op.db, col, k, op.b_mn, op.bf16);
    }
    op.d[v] = (op.acc ? op.d[v] : 0.0f) + sum;
  }
}

// Issue: exchange with the warpgroup (uniform descriptors / scale-d), gather A rows for RS, queue the operation.
void issue(WgOp op, const uint32_t *a_regs) {
  const int tw = static_cast<int>(threadIdx.x) & 127;
  WgSync &s = wgs[threadIdx.x >> 7];
  const int p = wg_parity ^= 1;
  s.da[p][tw] = op.da;
  s.db[p][tw] = op.db;
  s.acc[p][tw] = op.acc;
  if (a_regs)
    for (int r = 0; r < 4; ++r) s.a[p][tw][r] = a_regs[r];
  s.bar.arrive_and_wait();
  if (!wg_fenced) error(wg_errors, "wgmma.mma_async without wgmma.fence since the last wait_group");
  for (int i = 0; i < 128; ++i)
    if (s.db[p][i] != op.db || s.acc[p][i] != s.acc[p][tw] || (op.a_smem && s.da[p][i] != op.da)) {
      error(wg_errors, "wgmma operands differ across the warpgroup");
      break;
    }
  for (uint64_t dsc : {op.da, op.db}) {
    if (!op.a_smem && dsc == op.da) continue;
    const uint32_t start = static_cast<uint32_t>(dsc & 0x3FFF) << 4;
    if (((start & ~0x7Fu) % 1024) != 0) error(wg_errors, "descriptor start outside the first row of a 1024-byte atom");
  }
  if (a_regs) {
    const int l = tw & 31, w4 = tw >> 5, g = l / 4;
    for (int half = 0; half < 2; ++half) {
      const int row = 16 * w4 + g + 8 * half;  // this thread's rows; held by warp w4 (row / 16)
      for (int k = 0; k < 16; ++k) {
        const int lane = 4 * (row % 8) + (k % 8) / 2, reg = (row % 16) / 8 + 2 * (k / 8);
        const uint32_t word = s.a[p][32 * (row / 16) + lane][reg];
        const uint16_t h = static_cast<uint16_t>(k % 2 ? word >> 16 : word & 0xffff);
        op.ar[half][k] = op.bf16 ? bf2f(h) : h2f(h);
      }
    }
  }
  wg_open.push_back(op);
}
}  // namespace emu

#include "cuda/attention_mma.cuh"  // MmaArgs, mma_block, key_kept, i64min / i64max

namespace tsr {
namespace cuda {
namespace attn {
namespace wg {

inline uint32_t wg_smem_addr(const void *p) {
  return emu::window + static_cast<uint32_t>(static_cast<const unsigned char *>(p) - emu::smem);
}
inline void wg_cp_async16(void *dst, const void *src) {
  const size_t off = emu::at(wg_smem_addr(dst), 16);
  if (off % 16 != 0) emu::error(emu::smem_oob, "cp.async destination not 16-byte aligned");
  if (emu::immediate) {
    emu::land(off, src);
  } else {
    emu::open_group.emplace_back(off, src);
  }
}
inline void wg_zero16(void *dst) {
  const size_t off = emu::at(wg_smem_addr(dst), 16);
  std::memset(emu::smem + off, 0, 16);
  emu::generic_write(off);
}
inline void wg_cp_async_commit() {
  emu::groups.push_back(std::move(emu::open_group));
  emu::open_group.clear();
}
inline void wg_cp_async_wait_all() {
  for (auto &grp : emu::groups)
    for (auto &c : grp) emu::land(c.first, c.second);
  emu::groups.clear();
}
inline void wg_fence_proxy_async() {
  const int me = static_cast<int>(threadIdx.x) + 1;
  for (size_t c : emu::my_unfenced) {
    int expect = me;
    emu::unfenced[c].compare_exchange_strong(expect, 0);
  }
  emu::my_unfenced.clear();
}
inline float wg_ex2(float x) { return exp2f(x); }
// named barriers 1 .. 3 (emu::NamedBar): bar.arrive counts without waiting, bar.sync counts and waits for the phase
inline void wg_bar_count(int id, bool wait) {
  emu::jitter();
  emu::NamedBar &b = *emu::named_bars[id];
  std::unique_lock<std::mutex> lk(b.mu);
  ++b.count;
  if (wait) ++b.syncers;
  if (b.count == 256) {
    if (b.syncers == 0) emu::error(emu::bar_errors, "named barrier phase completed by bar.arrive alone");
    b.count = b.syncers = 0;
    ++b.gen;
    b.cv.notify_all();
    return;
  }
  if (!wait) return;
  const uint64_t gen = b.gen;
  if (!b.cv.wait_for(lk, std::chrono::seconds(30), [&] { return b.gen != gen; })) {
    std::printf("  emulation: bar.sync %d still blocked after 30 s: deadlock (thread %u)\n", id, threadIdx.x);
    std::fflush(stdout);
    std::_Exit(3);
  }
}
inline void wg_bar_arrive(int id) { wg_bar_count(id, false); }
inline void wg_bar_sync(int id) { wg_bar_count(id, true); }
inline void wg_fence() { emu::wg_fenced = true; }
inline void wg_commit() {
  emu::wg_groups.push_back(std::move(emu::wg_open));
  emu::wg_open.clear();
}
inline void wg_wait_all() {
  emu::jitter();
  if (!emu::wg_open.empty()) emu::error(emu::wg_errors, "wgmma.wait_group with uncommitted wgmma");
  for (auto &grp : emu::wg_groups)
    for (auto &op : grp) emu::execute(op);
  emu::wg_groups.clear();
  emu::wg_fenced = false;
}
inline void wg_wait_1() {
  emu::jitter();
  if (!emu::wg_open.empty()) emu::error(emu::wg_errors, "wgmma.wait_group with uncommitted wgmma");
  while (emu::wg_groups.size() > 1) {
    for (auto &op : emu::wg_groups.front()) emu::execute(op);
    emu::wg_groups.erase(emu::wg_groups.begin());
  }
  emu::wg_fenced = false;
}
inline void wg_mbar_init(uint32_t bar, uint32_t count) {
  const size_t off = emu::at(bar, 8);
  if (off % 8 != 0) emu::error(emu::mbar_errors, "mbarrier not 8-byte aligned");
  std::memset(emu::smem + off, 0, 8);
  std::lock_guard<std::mutex> lk(emu::mbar_mu);
  emu::Mbar &b = emu::mbars[off];
  b.count = b.pending = static_cast<int>(count);
  b.tx = 0;
  b.phase = 0;
}
inline void wg_fence_mbar_init() {}
inline void wg_mbar_arrive_tx(uint32_t bar, uint32_t bytes) {
  const size_t off = emu::at(bar, 8);
  std::lock_guard<std::mutex> lk(emu::mbar_mu);
  if (emu::Mbar *b = emu::mbar_at(off)) {
    b->tx += bytes;
    if (--b->pending < 0) emu::error(emu::mbar_errors, "more arrivals than the mbarrier's count");
    emu::mbar_complete(*b);
  }
}
inline void wg_mbar_arrive(uint32_t bar) { wg_mbar_arrive_tx(bar, 0); }
inline void wg_mbar_wait(uint32_t bar, uint32_t parity) {
  emu::jitter();
  const size_t off = emu::at(bar, 8);
  std::unique_lock<std::mutex> lk(emu::mbar_mu);
  emu::Mbar *b = emu::mbar_at(off);
  if (b == nullptr) return;
  const bool ok = emu::mbar_cv.wait_for(lk, std::chrono::seconds(30), [&] {
    emu::tma_land_for(off);
    return (b->phase & 1u) != (parity & 1u);
  });
  if (!ok) {
    std::printf("  emulation: mbarrier wait (offset %zu, parity %u) still blocked after 30 s: deadlock (thread %u)\n",
                off, parity, threadIdx.x);
    std::fflush(stdout);
    std::_Exit(3);
  }
}
inline void wg_tma_load3(uint32_t dst, const CUtensorMap *map, int c0, int c1, int c2, uint32_t bar) {
  const size_t boff = emu::at(bar, 8);
  std::lock_guard<std::mutex> lk(emu::mbar_mu);
  emu::TmaJob j{boff, dst, *map, {c0, c1, c2}};
  if (emu::tma_immediate) {
    emu::tma_land(j);
  } else {
    emu::tma_jobs.push_back(j);
    emu::mbar_cv.notify_all();
  }
}
template <uint32_t N>
inline void wg_setmaxnreg_dec() {}
inline void wg_prefetch_tensormap(const CUtensorMap *) {}
template <uint32_t N>
inline void wg_setmaxnreg_inc() {}
template <int R>
inline void wg_reg_fence(float (&)[R][4]) {}
template <int R>
inline void wg_reg_fence(uint32_t (&)[R][4]) {}

template <typename T>
inline uint32_t wg_pack(float lo, float hi) {
  return static_cast<uint32_t>(Bits<T>::from(lo)) | (static_cast<uint32_t>(Bits<T>::from(hi)) << 16);
}

template <typename T>
inline void wg_mma_ss_n128(float (&d)[16][4], uint64_t a, uint64_t b, int acc) {
  emu::issue({&d[0][0], 128, acc != 0, true, false, std::is_same_v<T, __nv_bfloat16>, a, b, {}}, nullptr);
}
template <typename T, int N>
inline void wg_mma_rs_bt(float (&d)[N / 8][4], const uint32_t (&a)[4], uint64_t b) {
  emu::issue({&d[0][0], N, true, false, true, std::is_same_v<T, __nv_bfloat16>, 0, b, {}}, a);
}

}  // namespace wg

#include "cuda/attention_wgmma.cuh"
#include "cuda/attention_wgmma_ws.cuh"

}  // namespace attn
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda::attn;

// ---------------------------------------------------------------------------- harness

// Runs every block of gridDim as `threads` threads calling kernel(), each block with fresh shared-memory marks,
// warpgroup exchange slots, named barriers 1 .. 3 (256 threads: the two warpgroups that meet there), mbarriers and
// TMA queue, each thread with fresh cp.async and wgmma state; what a thread or block leaves pending is an error.
template <typename Kernel>
void run_kernel(int threads, Kernel kernel) {
  emu::run_grid(
      emu::smem, emu::kSmemBytes, emu::smem_limit,
      [threads, &kernel](unsigned x, unsigned y, unsigned z) {
        for (auto &u : emu::unfenced) u.store(0);
        std::unique_ptr<emu::WgSync[]> sync(new emu::WgSync[threads / 128]);
        emu::wgs = sync.get();
        emu::NamedBar bar1, bar2, bar3;
        emu::named_bars[1] = &bar1;
        emu::named_bars[2] = &bar2;
        emu::named_bars[3] = &bar3;
        emu::mbars.clear();
        emu::tma_jobs.clear();
        emu::run_block(
            x, y, z,
            [&kernel] {
              emu::groups.clear();
              emu::open_group.clear();
              emu::my_unfenced.clear();
              emu::wg_open.clear();
              emu::wg_groups.clear();
              emu::wg_fenced = false;
              emu::wg_parity = 0;
              kernel();
              if (!emu::wg_open.empty() || !emu::wg_groups.empty())
                emu::error(emu::wg_errors, "wgmma left pending at exit");
            },
            threads);
        if (!emu::tma_jobs.empty()) emu::error(emu::mbar_errors, "TMA copies never waited for at block exit");
        if (bar1.count != 0 || bar2.count != 0 || bar3.count != 0)
          emu::error(emu::bar_errors, "named barrier left with arrivals at block exit");
      },
      [] { emu::error(emu::smem_oob, "store past the dynamic shared memory"); });
}

template <typename T, int D>
void launch(const MmaArgs &a, int64_t batch) {
  emu::smem_limit = emu::pingpong ? wg::Tile<D, 3>::smem_bytes : wg::Tile<D, 2>::smem_bytes;
  gridDim = {static_cast<unsigned>((a.seq_q + wg::kBM - 1) / wg::kBM), static_cast<unsigned>(a.heads_q),
             static_cast<unsigned>(batch)};
  run_kernel(wg::kThreads, [&a] {
    if (emu::pingpong) wg::flash_wgmma<T, D, true>(a); else wg::flash_wgmma<T, D, false>(a);
  });
}

// flash_wgmma_ws with G consumer warpgroups: 128 (1 + G) threads, tensor maps over the harness's arrays as
// attention_wgmma.cu builds them, on a grid of `blocks` blocks (0: one per work tile; else a persistent grid whose
// blocks take several work tiles each, in snake rounds) with causal sections of `sec` (batch, head) pairs (the host
// side uses one section on persistent grids; any count must give the same result).
template <typename T, int D, int G>
void launch_ws(const MmaArgs &a, int64_t batch, unsigned blocks, int64_t sec) {
  using SH = wg::WsShape<G>;
  emu::smem_limit = wg::WsTile<D, wg::kWsStages, G>::smem_bytes;
  const int64_t n_bh = batch * a.heads_q, work = (a.seq_q + SH::kRows - 1) / SH::kRows * n_bh;
  gridDim = {blocks == 0 || !SH::kLoops ? static_cast<unsigned>(work) : blocks, 1, 1};
  auto map = [](const void *base, int64_t d, int64_t rows, int64_t plane_rows, int64_t planes, int box_rows) {
    return CUtensorMap{base,
                       {static_cast<uint64_t>(d), static_cast<uint64_t>(rows), static_cast<uint64_t>(planes)},
                       {static_cast<uint64_t>(d * 2), static_cast<uint64_t>(plane_rows * d * 2)},
                       {64, static_cast<uint32_t>(box_rows), 1}};
  };
  const bool no_keys = a.seq_k == 0;  // as attention_wgmma.cu: one-row planes over Q, never read
  const int64_t krows = no_keys ? 1 : a.seq_k, kplane = no_keys ? 1 : a.cap;
  wg::WsArgs p{a,
               map(a.q, a.d, a.seq_q, a.seq_q, n_bh, SH::kRows),
               map(no_keys ? a.q : a.k, a.d, krows, kplane, batch * a.heads_kv, wg::kBN),
               map(no_keys ? a.q : a.v, a.d, krows, kplane, batch * a.heads_kv, wg::kBN),
               n_bh,
               std::min(sec, n_bh)};
  run_kernel(SH::kThreads, [&p] { wg::flash_wgmma_ws<T, D, wg::kWsStages, G>(p); });
}
template <typename T, int D>
void launch_ws(const MmaArgs &a, int64_t batch, int forced_groups, unsigned blocks, int64_t sec) {
  if constexpr (D == 64) {
    if (wg::ws_groups(D, a.seq_q, forced_groups) == 3) return launch_ws<T, 64, 3>(a, batch, blocks, sec);
    launch_ws<T, 64, 2>(a, batch, blocks, sec);
  } else {
    launch_ws<T, D, 2>(a, batch, blocks, sec);
  }
}

int run_schedule();

// The names flash_wgmma_ws's watchdog report gives its mbarriers (attention_wgmma.cu, watchdog_check): each of the
// layout's 2 + 4 NB barriers its own name, nothing else a name.
template <int D, int NB, int G>
int check_barrier_names() {
  using TL = wg::WsTile<D, NB, G>;
  std::unordered_map<std::string, uint32_t> seen;
  int bad = 0;
  char name[32];
  for (uint32_t i = 0; i < 2 + 4 * NB; ++i) {
    const uint32_t off = TL::kBarOff + 8 * i;
    if (!wg::ws_barrier_name<D, NB, G>(off, name, sizeof(name)) || !seen.emplace(name, off).second) {
      std::printf("  watchdog names: barrier %u of WsTile<%d, %d, %d> unnamed or named twice (%s)\n", i, D, NB, G, name);
      ++bad;
    }
  }
  const std::string want[] = {"q_full", "q_empty", "k_full[0]", "v_full[0]", "k_empty[0]", "v_empty[0]"};
  for (const auto &w : want) bad += seen.count(w) == 0;
  auto at = [&seen](const std::string &n) { return seen.count(n) ? seen.at(n) : ~0u; };
  if (at("q_full") != TL::q_full() || at("v_empty[" + std::to_string(NB - 1) + "]") != TL::v_empty(NB - 1)) ++bad;
  for (const uint32_t off : {0u, TL::kBitsOff, TL::kBarOff - 8, TL::kBarOff + 4, TL::kBarOff + 8 * (2 + 4 * NB)})
    bad += wg::ws_barrier_name<D, NB, G>(off, name, sizeof(name)) ? 1 : 0;
  return bad;
}

int main() {
  {
    const int bad = check_barrier_names<64, wg::kWsStages, 2>() + check_barrier_names<64, wg::kWsStages, 3>() +
                    check_barrier_names<128, wg::kWsStages, 2>() + check_barrier_names<128, 3, 2>();
    std::printf("watchdog barrier names: %s\n", bad ? "WRONG" : "ok");
    if (bad) return 1;
  }
  if (const char *m = std::getenv("EMU_CP_ASYNC")) emu::immediate = std::strcmp(m, "immediate") == 0;
  if (const char *m = std::getenv("EMU_TMA")) emu::tma_immediate = std::strcmp(m, "immediate") == 0;
  if (const char *m = std::getenv("EMU_JITTER")) emu::jitter_seed = std::strtoull(m, nullptr, 10);
  int failed = 0;
  const struct {
    emu::Sched s;
    const char *name;
  } scheds[] = {{emu::Sched::kPingPong, "pingpong"},
                {emu::Sched::kLockstep, "lockstep"},
                {emu::Sched::kWs3, "ws3"},
                {emu::Sched::kWs2, "ws2"},
                {emu::Sched::kWsp, "wsp"}};
  // EMU_SCHEDULE=NAME[,NAME...] runs those of pingpong, lockstep, ws3 (flash_wgmma_ws with 3 consumer warpgroups at
  // head_dim 64), ws2 (with 2), wsp (2, on a persistent grid of 1 - 3 blocks); ws is all three
  const char *only = std::getenv("EMU_SCHEDULE");
  const std::string wanted = only ? "," + std::string(only) + "," : "";
  for (const auto &sc : scheds) {
    const bool ws = sc.s == emu::Sched::kWs2 || sc.s == emu::Sched::kWs3 || sc.s == emu::Sched::kWsp;
    if (only != nullptr && wanted.find("," + std::string(sc.name) + ",") == std::string::npos &&
        !(ws && wanted.find(",ws,") != std::string::npos)) {
      continue;
    }
    emu::sched = sc.s;
    emu::pingpong = sc.s == emu::Sched::kPingPong;
    if (ws) {
      std::printf("flash_wgmma_ws emulated (TMA producer warpgroup; %d / 2 consumer warpgroups at head_dim 64 / 128; "
                  "%s); TMA copies land %s\n",
                  sc.s == emu::Sched::kWs3 ? 3 : 2,
                  sc.s == emu::Sched::kWsp ? "persistent grid of 1 - 3 blocks" : "a block per work tile",
                  emu::tma_immediate ? "at issue" : "when their barrier is waited on");
    } else {
      std::printf("flash_wgmma emulated, %s schedule; cp.async copies land %s\n", sc.name,
                  emu::immediate ? "at issue" : "at their wait_group");
    }
    failed += run_schedule();
  }
  return failed ? 1 : 0;
}

int run_schedule() {
  return emu::run_tensor_core_cases(2025, [](const emu::Case &c, auto tag) {
    using T = decltype(tag);
    auto launch_kernel = [&c](const uint16_t *q, const uint16_t *k, const uint16_t *v, uint16_t *out,
                              const void *mask, bool mask_i64, float scale) {
      emu::smem_oob = 0;
      emu::wg_errors = 0;
      emu::proxy_errors = 0;
      emu::first_errors = 0;
      const uint32_t windows[3] = {0, 16, 784};  // where the dynamic shared memory starts in the shared window
      emu::window = windows[c.seed % 3];
      MmaArgs a{q, k, v, out, c.hq, c.hkv, c.sq, c.sk, c.d, c.cap, mask, mask_i64 ? TSR_I64 : TSR_I32,
                scale * 1.4426950408889634f, c.causal ? 1 : 0};
      emu::mbar_errors = 0;
      emu::bar_errors = 0;
      if (emu::sched == emu::Sched::kWs2 || emu::sched == emu::Sched::kWs3 || emu::sched == emu::Sched::kWsp) {
        const int g = emu::sched == emu::Sched::kWs3 ? 3 : 2;
        // persistent grids of 1 - 3 blocks; causal sections of 1 - 3 (batch, head) pairs
        const unsigned blocks = emu::sched == emu::Sched::kWsp ? static_cast<unsigned>(1 + c.seed % 3) : 0;
        const int64_t sec = 1 + static_cast<int64_t>(c.seed / 3 % 3);
        if (c.d == 64) launch_ws<T, 64>(a, c.B, g, blocks, sec); else launch_ws<T, 128>(a, c.B, g, blocks, sec);
      } else {
        if (c.d == 64) launch<T, 64>(a, c.B); else launch<T, 128>(a, c.B);
      }
    };
    auto protocol = [](const char *name) {
      const int n = emu::smem_oob.load() + emu::wg_errors.load() + emu::proxy_errors.load() +
                    emu::mbar_errors.load() + emu::bar_errors.load();
      if (n != 0)
        std::printf("  %s: %d shared-memory / wgmma protocol errors (out of bounds %d, wgmma %d, proxy fence %d, "
                    "mbarrier / TMA %d, named barrier %d)\n",
                    name, n, emu::smem_oob.load(), emu::wg_errors.load(), emu::proxy_errors.load(),
                    emu::mbar_errors.load(), emu::bar_errors.load());
      return n;
    };
    return emu::run_attention_case<T>(c, launch_kernel, protocol);
  });
}
