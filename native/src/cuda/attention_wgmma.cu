// Host side of flash_wgmma (attention_wgmma.cuh, design notes there): the Hopper warpgroup-MMA attention kernel,
// first run on a GPU on 2026-11-29 (H200, bench/results/gpu/run4-h200). This translation unit is compiled for sm_90a
// only (wgmma needs the arch-specific target; native/CMakeLists.txt builds it as its own object library with
// CUDA_ARCHITECTURES 90a-real and leaves it out of the fat binary of the other kernels). attention.cu calls try_wgmma
// for TSR_ATTENTION_KERNEL_WGMMA and, on compute capability 9.0, for AUTO where it measured faster (wgmma_auto).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <cuda.h>  // CUtensorMap and its enums (types only: the encoder is reached through the runtime, no -lcuda)

#include "attention_mma.cuh"
#include "cuda_common.cuh"
#include "tessera/attention.h"

namespace tsr {
namespace cuda {
namespace attn {

#include "attention_wgmma.cuh"
#include "attention_wgmma_ws.cuh"

namespace {

// What the Hopper kernels ask of the current device, read once per device (the first 64; others each call): compute
// capability (major * 10 + minor), opt-in shared memory per block, SMs, L2 bytes.
struct DeviceInfo {
  int cc = 0, optin = 0, sms = 0, l2 = 0;
};
int device_info(DeviceInfo *out) {
  static std::atomic<bool> ready[64];
  static DeviceInfo cache[64];  // written once under mu, before ready[dev]
  static std::mutex mu;
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  const bool cached = dev >= 0 && dev < 64;
  if (cached && ready[dev].load(std::memory_order_acquire)) {
    *out = cache[dev];
    return TSR_OK;
  }
  DeviceInfo d;
  int major = 0, minor = 0;
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(ComputeCapabilityMajor)",
                 cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(ComputeCapabilityMinor)",
                 cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)",
                 cudaDeviceGetAttribute(&d.optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(MultiProcessorCount)",
                 cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, dev));
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(L2CacheSize)", cudaDeviceGetAttribute(&d.l2, cudaDevAttrL2CacheSize, dev));
  d.cc = major * 10 + minor;
  if (cached) {
    std::lock_guard<std::mutex> lk(mu);
    if (!ready[dev].load(std::memory_order_relaxed)) {
      cache[dev] = d;
      ready[dev].store(true, std::memory_order_release);
    }
  }
  *out = d;
  return TSR_OK;
}

}  // namespace

// Compute capability of the current device (major * 10 + minor), cached per device.
int device_cc(int *cc) {
  DeviceInfo d;
  const int st = device_info(&d);
  if (st == TSR_OK) *cc = d.cc;
  return st;
}

namespace {

// The schedule of flash_wgmma's warpgroups, read once from the environment variable TESSERA_WGMMA_SCHEDULE for A / B
// timings (bench/gpu/run.sh times them): pingpong (the default), lockstep (the first version's, run4-h200) or ws
// (flash_wgmma_ws: TMA producer warpgroup and intra-warpgroup overlap, attention_wgmma_ws.cuh; not yet run on a GPU),
// ws2 / ws3 (ws with 2 / 3 consumer warpgroups at head_dim 64 whatever the length, wg::ws_groups); wsp, wsp2, wsp3:
// the same with a persistent grid (a block per SM, each taking work tiles round by round, so that one tile's epilogue
// runs under the next one's loads) where there are two consumer warpgroups (wg::WsShape::kLoops). Anything else is
// ping-pong.
enum class Schedule { kPingPong, kLockstep, kWarpSpecialised };
struct ScheduleChoice {
  Schedule s;
  int ws_groups;    // ws at head_dim 64: 2 or 3 forced, 0 chosen by length
  bool persistent;  // ws: a block per SM
};
ScheduleChoice schedule() {
  static const ScheduleChoice c = []() -> ScheduleChoice {
    const char *v = std::getenv("TESSERA_WGMMA_SCHEDULE");
    if (v == nullptr) return {Schedule::kPingPong, 0, false};
    if (std::strcmp(v, "lockstep") == 0) return {Schedule::kLockstep, 0, false};
    if (std::strncmp(v, "ws", 2) == 0) {  // ws[p][2|3]
      const char *r = v + 2;
      const bool persistent = *r == 'p';
      if (persistent) ++r;
      if (*r == '\0') return {Schedule::kWarpSpecialised, 0, persistent};
      if ((*r == '2' || *r == '3') && r[1] == '\0') return {Schedule::kWarpSpecialised, *r - '0', persistent};
    }
    return {Schedule::kPingPong, 0, false};
  }();
  return c;
}

// cuTensorMapEncodeTiled from the driver, through the runtime (libtessera does not link libcuda); nullptr where the
// driver has none.
using EncodeTiled = CUresult (*)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *, const cuuint64_t *,
                                 const cuuint64_t *, const cuuint32_t *, const cuuint32_t *, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
EncodeTiled encoder() {
  static EncodeTiled fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void *f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) == cudaSuccess &&
        q == cudaDriverEntryPointSuccess) {
      fn = reinterpret_cast<EncodeTiled>(f);
    } else {
      (void)cudaGetLastError();  // not sticky: clear it
    }
  });
  return fn;
}

// The tensor map of one of Q, K, V for flash_wgmma_ws: planes (batch x heads) of `rows` rows of d 16-bit elements,
// rows d apart, planes plane_rows x d apart; boxes of 64 elements x box_rows rows x 1 plane (128 for K / V, the
// block's query rows for Q), 128-byte swizzle (the layout of the kernel's tiles), out-of-bounds rows read as zeros.
bool make_map(CUtensorMap *map, EncodeTiled enc, int dtype, const void *base, int64_t d, int64_t rows,
              int64_t plane_rows, int64_t planes, int box_rows) {
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(d), static_cast<cuuint64_t>(rows),
                              static_cast<cuuint64_t>(planes)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(d * 2), static_cast<cuuint64_t>(plane_rows * d * 2)};
  const cuuint32_t box[3] = {64, static_cast<cuuint32_t>(box_rows), 1};
  const cuuint32_t estr[3] = {1, 1, 1};
  return enc(map, dtype == TSR_BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
             const_cast<void *>(base), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
             CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
             CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

template <int D>
size_t smem_bytes(Schedule s) {
  return s == Schedule::kLockstep ? wg::Tile<D, 2>::smem_bytes : wg::Tile<D, 3>::smem_bytes;
}
size_t ws_smem_bytes(int64_t d, int groups) {
  if (d == 128) return wg::WsTile<128, wg::kWsStages, 2>::smem_bytes;
  return groups == 3 ? wg::WsTile<64, wg::kWsStages, 3>::smem_bytes : wg::WsTile<64, wg::kWsStages, 2>::smem_bytes;
}

// Sets the kernel's dynamic shared memory limit once per device (bit dev of `ready`).
template <typename K>
int allow_smem(K kernel, size_t smem, std::atomic<uint64_t> &ready) {
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  const uint64_t bit = dev >= 0 && dev < 64 ? (uint64_t{1} << dev) : 0;
  if (bit == 0 || (ready.load(std::memory_order_relaxed) & bit) == 0) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_wgmma, MaxDynamicSharedMemorySize)",
                   cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    ready.fetch_or(bit, std::memory_order_relaxed);
  }
  return TSR_OK;
}

template <typename T, int D, bool PP>
int launch(const MmaArgs &a, int64_t batch, cudaStream_t stream) {
  constexpr size_t smem = wg::Tile<D, PP ? 3 : 2>::smem_bytes;
  static std::atomic<uint64_t> ready{0};
  const int st = allow_smem(wg::flash_wgmma<T, D, PP>, smem, ready);
  if (st != TSR_OK) return st;
  dim3 grid(static_cast<unsigned>((a.seq_q + wg::kBM - 1) / wg::kBM), static_cast<unsigned>(a.heads_q),
            static_cast<unsigned>(batch));
  wg::flash_wgmma<T, D, PP><<<grid, wg::kThreads, smem, stream>>>(a);
  TSR_LAUNCH_CHECK("flash_wgmma launch");
  return TSR_OK;
}

// flash_wgmma_ws with its tensor maps (built per call: a host-side encoding of a few hundred nanoseconds), on a grid
// of a block per work tile or, persistent, of at most a block per SM (one block fills an SM: registers):
// `sms` > 0: persistent, at most that many blocks.
// flash_wgmma_ws's watchdog (wg::wg_mbar_watchdog), for probes and tests on hardware: TESSERA_WGMMA_WATCHDOG=1 (read
// once) gives each device a record in mapped host memory that the kernel's waits report to instead of hanging, and
// makes every flash_wgmma_ws launch synchronous, so that its failure is reported by the call that made it.
bool watchdog_on() {
  static const bool on = [] {
    const char *v = std::getenv("TESSERA_WGMMA_WATCHDOG");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}

// The current device's watchdog record (host side), set up on first use: mapped host memory whose device address
// goes into wg::g_ws_diag.
int watchdog_diag(volatile wg::WsDiag **out) {
  static volatile wg::WsDiag *diag[64];
  static std::mutex mu;
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  if (dev < 0 || dev >= 64) {
    *out = nullptr;
    return TSR_OK;
  }
  std::lock_guard<std::mutex> lk(mu);
  if (diag[dev] == nullptr) {
    void *h = nullptr;
    TSR_CUDA_CHECK("cudaHostAlloc(watchdog record)", cudaHostAlloc(&h, sizeof(wg::WsDiag), cudaHostAllocMapped));
    std::memset(h, 0, sizeof(wg::WsDiag));
    void *d = nullptr;
    TSR_CUDA_CHECK("cudaHostGetDevicePointer(watchdog record)", cudaHostGetDevicePointer(&d, h, 0));
    wg::WsDiag *dp = static_cast<wg::WsDiag *>(d);
    TSR_CUDA_CHECK("cudaMemcpyToSymbol(g_ws_diag)", cudaMemcpyToSymbol(wg::g_ws_diag, &dp, sizeof(dp)));
    diag[dev] = static_cast<volatile wg::WsDiag *>(h);  // (kept for the process's life, as the device's context)
  }
  *out = diag[dev];
  return TSR_OK;
}

// After a watchdog launch: waits for it; a wait the watchdog gave up on becomes a message naming the barrier.
template <int D, int G>
int watchdog_check(const wg::WsArgs &p, int64_t blocks, cudaStream_t stream, volatile wg::WsDiag *diag) {
  const cudaError_t e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess) return TSR_OK;
  if (diag == nullptr || diag->magic != wg::WsDiag::kMagic) return fail("flash_wgmma_ws (watchdog on)", e);
  char bar[32];
  if (!wg::ws_barrier_name<D, wg::kWsStages, G>(diag->bar_off, bar, sizeof(bar))) {
    std::snprintf(bar, sizeof(bar), "at offset %u", static_cast<unsigned>(diag->bar_off));
  }
  const unsigned thread = diag->thread, grp = thread / 128;
  char who[48];
  if (grp == 0) {
    std::snprintf(who, sizeof(who), "the producer (thread %u)", thread);
  } else {
    std::snprintf(who, sizeof(who), "consumer warpgroup %u (thread %u, warp %u)", grp - 1, thread, thread / 32);
  }
  set_last_error("flash_wgmma_ws watchdog: in block %u of %lld, %s waited over %llu s for phase parity %u of mbarrier "
                 "%s (head_dim %d, %d consumer warpgroups, %s grid, seq_q %lld, seq_k %lld, batch x heads %lld%s%s): "
                 "a schedule deadlock, the kernel trapped (%s)",
                 static_cast<unsigned>(diag->block), static_cast<long long>(blocks), who,
                 static_cast<unsigned long long>(wg::WsDiag::kSeconds), static_cast<unsigned>(diag->parity), bar, D,
                 G, static_cast<int64_t>(blocks) < (p.a.seq_q + 64 * G - 1) / (64 * G) * p.n_bh ? "persistent" : "tile",
                 static_cast<long long>(p.a.seq_q), static_cast<long long>(p.a.seq_k), static_cast<long long>(p.n_bh),
                 p.a.causal ? ", causal" : "", p.a.mask != nullptr ? ", key mask" : "", cudaGetErrorName(e));
  return TSR_ERR_CUDA_BASE + static_cast<int>(e);
}

template <typename T, int D, int G>
int launch_ws(const wg::WsArgs &p, int sms, cudaStream_t stream) {
  using SH = wg::WsShape<G>;
  constexpr size_t smem = wg::WsTile<D, wg::kWsStages, G>::smem_bytes;
  static std::atomic<uint64_t> ready{0};
  int st = allow_smem(wg::flash_wgmma_ws<T, D, wg::kWsStages, G>, smem, ready);
  if (st != TSR_OK) return st;
  volatile wg::WsDiag *diag = nullptr;
  if (watchdog_on() && (st = watchdog_diag(&diag)) != TSR_OK) return st;
  int64_t blocks = (p.a.seq_q + SH::kRows - 1) / SH::kRows * p.n_bh;
  if (sms > 0) blocks = std::min<int64_t>(blocks, sms);
  wg::flash_wgmma_ws<T, D, wg::kWsStages, G><<<static_cast<unsigned>(blocks), SH::kThreads, smem, stream>>>(p);
  TSR_LAUNCH_CHECK("flash_wgmma_ws launch");
  return watchdog_on() ? watchdog_check<D, G>(p, blocks, stream, diag) : TSR_OK;
}

// The tensor maps of a flash_wgmma_ws launch; false where a size is out of TMA's range (coordinates are 32-bit), the
// driver has no encoder or the encoder refuses (the caller then runs the ping-pong kernel; the last two are said once
// per process on stderr, so that an A / B timing or a probe cannot take the ping-pong kernel for the ws one unawares).
// `l2` > 0: the L2 bytes that size the causal sections of a grid with a block per tile; 0: persistent, one section.
bool ws_args(int dtype, const MmaArgs &a, int64_t batch, int groups, int l2, wg::WsArgs *p) {
  const int64_t lim = int64_t{1} << 31;
  // (the grid is one-dimensional: its work tiles must number below 2^31 too)
  if (a.seq_q <= 0 || a.seq_k < 0 || a.seq_q >= lim || a.cap >= lim || batch * a.heads_q >= lim ||
      batch * a.heads_kv >= lim || (a.seq_q + 64 * groups - 1) / (64 * groups) * batch * a.heads_q >= lim) {
    return false;
  }
  // no keys: the kernel reads no K / V tile (it writes zero rows), but the maps must still be valid: one row per
  // plane over Q's buffer
  const bool no_keys = a.seq_k == 0;
  const void *kb = no_keys ? a.q : a.k, *vb = no_keys ? a.q : a.v;
  const int64_t krows = no_keys ? 1 : a.seq_k, kplane = no_keys ? 1 : a.cap;
  static std::atomic<bool> said{false};
  const EncodeTiled enc = encoder();
  if (enc == nullptr) {
    if (!said.exchange(true))
      std::fprintf(stderr, "tessera: TESSERA_WGMMA_SCHEDULE=ws: the driver has no cuTensorMapEncodeTiled; "
                           "flash_wgmma runs its ping-pong schedule\n");
    return false;
  }
  p->a = a;
  p->n_bh = batch * a.heads_q;
  // causal order (wg::ws_work): with a block per tile, sections of as many (batch, head) pairs as keep their K and V
  // within half the L2; on a persistent grid one section (its snake rounds balance the blocks' work over a sorted
  // sequence, which sections would break into pieces, each restarting with its heaviest tiles)
  p->sec = p->n_bh;
  if (l2 > 0) {
    const int64_t kv_bytes = std::max<int64_t>(a.seq_k, 1) * a.d * 2 * 2;
    p->sec = std::min<int64_t>(std::max<int64_t>(int64_t{l2} / 2 / kv_bytes, 1), p->n_bh);
  }
  const int qrows = 64 * groups;
  if (make_map(&p->tq, enc, dtype, a.q, a.d, a.seq_q, a.seq_q, batch * a.heads_q, qrows) &&
      make_map(&p->tk, enc, dtype, kb, a.d, krows, kplane, batch * a.heads_kv, wg::kBN) &&
      make_map(&p->tv, enc, dtype, vb, a.d, krows, kplane, batch * a.heads_kv, wg::kBN)) {
    return true;
  }
  if (!said.exchange(true))
    std::fprintf(stderr, "tessera: TESSERA_WGMMA_SCHEDULE=ws: cuTensorMapEncodeTiled refused the tensor maps "
                         "(d %lld, seq_q %lld, seq_k %lld, cap %lld); flash_wgmma runs its ping-pong schedule\n",
                 static_cast<long long>(a.d), static_cast<long long>(a.seq_q), static_cast<long long>(a.seq_k),
                 static_cast<long long>(a.cap));
  return false;
}

template <typename T, int D>
int launch(const MmaArgs &a, int64_t batch, cudaStream_t stream, Schedule s) {
  return s == Schedule::kLockstep ? launch<T, D, false>(a, batch, stream) : launch<T, D, true>(a, batch, stream);
}

}  // namespace

// flash_wgmma for a TSR_ATTENTION_KERNEL_WGMMA request on the tensor-core path. Refuses with TSR_ERR_UNSUPPORTED and
// a message on a device other than compute capability 9.0 (its only code is sm_90a SASS, which nothing else runs).
// On a 9.0 device, cases it does not cover (head_dim other than 64 / 128, scale <= 0, buffers not 16-byte aligned,
// too little shared memory per block) set *used = false and are left to flash_mma, as flash_mma_v2's are.
int try_wgmma(int dtype, const MmaArgs &a, int64_t batch, cudaStream_t stream, bool *used, int *schedule_used) {
  *used = false;
  *schedule_used = 0;
  DeviceInfo dev;
  const int st = device_info(&dev);
  if (st != TSR_OK) return st;
  const int cc = dev.cc;
  if (cc != 90) {
    set_last_error("tsr_cuda_attention: the WGMMA kernel (flash_wgmma, sm_90a wgmma) needs a "
                   "compute capability 9.0 device (H100 / H200); this device is %d.%d", cc / 10, cc % 10);
    return TSR_ERR_UNSUPPORTED;
  }
  if ((a.d != 64 && a.d != 128) || !(a.scale_log2 > 0.0f) || !aligned(a.q, 16) || !aligned(a.k, 16) ||
      !aligned(a.v, 16) || !aligned(a.out, 16)) {
    return TSR_OK;
  }
  const int optin = dev.optin;
  const ScheduleChoice choice = schedule();
  Schedule sched = choice.s;
  auto need = [&a](Schedule s) { return a.d == 64 ? smem_bytes<64>(s) : smem_bytes<128>(s); };
  if (sched == Schedule::kWarpSpecialised) {
    const int groups = wg::ws_groups(a.d, a.seq_q, choice.ws_groups);
    const bool pers = choice.persistent && groups == 2;  // (wg::WsShape::kLoops)
    const int sms = pers ? std::max(dev.sms, 1) : 0;
    wg::WsArgs p;
    if (static_cast<size_t>(optin) >= ws_smem_bytes(a.d, groups) &&
        ws_args(dtype, a, batch, groups, pers ? 0 : std::max(dev.l2, 1), &p)) {
      *used = true;
      *schedule_used = TSR_WGMMA_SCHEDULE_WS;
      const bool bf16 = dtype == TSR_BF16;
      if (a.d == 128) {
        return bf16 ? launch_ws<__nv_bfloat16, 128, 2>(p, sms, stream) : launch_ws<__half, 128, 2>(p, sms, stream);
      }
      if (groups == 3) {
        return bf16 ? launch_ws<__nv_bfloat16, 64, 3>(p, sms, stream) : launch_ws<__half, 64, 3>(p, sms, stream);
      }
      return bf16 ? launch_ws<__nv_bfloat16, 64, 2>(p, sms, stream) : launch_ws<__half, 64, 2>(p, sms, stream);
    }
  }
  if (sched == Schedule::kWarpSpecialised) sched = Schedule::kPingPong;  // no tensor maps here: ping-pong
  if (static_cast<size_t>(optin) < need(sched)) {
    if (sched == Schedule::kLockstep) return TSR_OK;
    sched = Schedule::kLockstep;  // ping-pong's third K / V buffer does not fit: the lockstep schedule, two buffers
    if (static_cast<size_t>(optin) < need(sched)) return TSR_OK;
  }
  *used = true;
  *schedule_used = sched == Schedule::kLockstep ? TSR_WGMMA_SCHEDULE_LOCKSTEP : TSR_WGMMA_SCHEDULE_PINGPONG;
  if (dtype == TSR_BF16) {
    return a.d == 64 ? launch<__nv_bfloat16, 64>(a, batch, stream, sched)
                     : launch<__nv_bfloat16, 128>(a, batch, stream, sched);
  }
  return a.d == 64 ? launch<__half, 64>(a, batch, stream, sched) : launch<__half, 128>(a, batch, stream, sched);
}

}  // namespace attn
}  // namespace cuda
}  // namespace tsr
