// Host side of flash_wgmma (attention_wgmma.cuh, design notes there): the Hopper warpgroup-MMA attention kernel,
// first run on a GPU on 2026-11-29 (H200, bench/results/gpu/run4-h200). This translation unit is compiled for sm_90a
// only (wgmma needs the arch-specific target; native/CMakeLists.txt builds it as its own object library with
// CUDA_ARCHITECTURES 90a-real and leaves it out of the fat binary of the other kernels). attention.cu calls try_wgmma
// for TSR_ATTENTION_KERNEL_WGMMA and, on compute capability 9.0, for AUTO where it measured faster (wgmma_auto).
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attention_mma.cuh"
#include "cuda_common.cuh"
#include "tessera/attention.h"

namespace tsr {
namespace cuda {
namespace attn {

#include "attention_wgmma.cuh"

// Compute capability of the current device, cached per device (the first 64): major * 10 + minor.
int device_cc(int *cc) {
  static std::atomic<int> cache[64];
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  if (dev >= 0 && dev < 64) {
    const int c = cache[dev].load(std::memory_order_relaxed);
    if (c > 0) {
      *cc = c;
      return TSR_OK;
    }
  }
  int major = 0, minor = 0;
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(ComputeCapabilityMajor)",
                 cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(ComputeCapabilityMinor)",
                 cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  *cc = major * 10 + minor;
  if (dev >= 0 && dev < 64) cache[dev].store(*cc, std::memory_order_relaxed);
  return TSR_OK;
}

namespace {

// The schedule of flash_wgmma's two warpgroups: ping-pong (default) or lockstep (the first version's, run4-h200),
// read once from the environment variable TESSERA_WGMMA_SCHEDULE = pingpong | lockstep, for A / B timings
// (bench/gpu/run.sh times both); anything else is ping-pong.
bool pingpong() {
  static const bool pp = [] {
    const char *v = std::getenv("TESSERA_WGMMA_SCHEDULE");
    return !(v != nullptr && std::strcmp(v, "lockstep") == 0);
  }();
  return pp;
}

template <int D>
size_t smem_bytes(bool pp) {
  return pp ? wg::Tile<D, 3>::smem_bytes : wg::Tile<D, 2>::smem_bytes;
}

template <typename T, int D, bool PP>
int launch(const MmaArgs &a, int64_t batch, cudaStream_t stream) {
  constexpr size_t smem = wg::Tile<D, PP ? 3 : 2>::smem_bytes;
  static std::atomic<uint64_t> ready{0};  // bit dev: the function attribute is set on device dev
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  const uint64_t bit = dev >= 0 && dev < 64 ? (uint64_t{1} << dev) : 0;
  if (bit == 0 || (ready.load(std::memory_order_relaxed) & bit) == 0) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_wgmma, MaxDynamicSharedMemorySize)",
                   cudaFuncSetAttribute(wg::flash_wgmma<T, D, PP>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    ready.fetch_or(bit, std::memory_order_relaxed);
  }
  dim3 grid(static_cast<unsigned>((a.seq_q + wg::kBM - 1) / wg::kBM), static_cast<unsigned>(a.heads_q),
            static_cast<unsigned>(batch));
  wg::flash_wgmma<T, D, PP><<<grid, wg::kThreads, smem, stream>>>(a);
  TSR_LAUNCH_CHECK("flash_wgmma launch");
  return TSR_OK;
}

template <typename T, int D>
int launch(const MmaArgs &a, int64_t batch, cudaStream_t stream, bool pp) {
  return pp ? launch<T, D, true>(a, batch, stream) : launch<T, D, false>(a, batch, stream);
}

}  // namespace

// flash_wgmma for a TSR_ATTENTION_KERNEL_WGMMA request on the tensor-core path. Refuses with TSR_ERR_UNSUPPORTED and
// a message on a device other than compute capability 9.0 (its only code is sm_90a SASS, which nothing else runs).
// On a 9.0 device, cases it does not cover (head_dim other than 64 / 128, scale <= 0, buffers not 16-byte aligned,
// too little shared memory per block) set *used = false and are left to flash_mma, as flash_mma_v2's are.
int try_wgmma(int dtype, const MmaArgs &a, int64_t batch, cudaStream_t stream, bool *used) {
  *used = false;
  int cc = 0;
  int st = device_cc(&cc);
  if (st != TSR_OK) return st;
  if (cc != 90) {
    set_last_error("tsr_cuda_attention: the WGMMA kernel (flash_wgmma, sm_90a wgmma) needs a "
                   "compute capability 9.0 device (H100 / H200); this device is %d.%d", cc / 10, cc % 10);
    return TSR_ERR_UNSUPPORTED;
  }
  if ((a.d != 64 && a.d != 128) || !(a.scale_log2 > 0.0f) || !aligned(a.q, 16) || !aligned(a.k, 16) ||
      !aligned(a.v, 16) || !aligned(a.out, 16)) {
    return TSR_OK;
  }
  int dev = 0, optin = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  TSR_CUDA_CHECK("cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)",
                 cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  bool pp = pingpong();
  const size_t need = a.d == 64 ? smem_bytes<64>(pp) : smem_bytes<128>(pp);
  if (static_cast<size_t>(optin) < need) {
    if (!pp) return TSR_OK;
    pp = false;  // ping-pong's third K / V buffer does not fit: the lockstep schedule, two buffers
    if (static_cast<size_t>(optin) < (a.d == 64 ? smem_bytes<64>(false) : smem_bytes<128>(false))) return TSR_OK;
  }
  *used = true;
  if (dtype == TSR_BF16) {
    return a.d == 64 ? launch<__nv_bfloat16, 64>(a, batch, stream, pp)
                     : launch<__nv_bfloat16, 128>(a, batch, stream, pp);
  }
  return a.d == 64 ? launch<__half, 64>(a, batch, stream, pp) : launch<__half, 128>(a, batch, stream, pp);
}

}  // namespace attn
}  // namespace cuda
}  // namespace tsr
