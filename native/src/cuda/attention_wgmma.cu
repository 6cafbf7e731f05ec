// Host side of flash_wgmma (attention_wgmma.cuh, design notes there): the Hopper warpgroup-MMA attention kernel,
// NOT YET RUN ON A GPU. This translation unit is compiled for sm_90a only (wgmma needs the arch-specific target;
// native/CMakeLists.txt builds it as its own object library with CUDA_ARCHITECTURES 90a-real and leaves it out of
// the fat binary of the other kernels). attention.cu calls try_wgmma for TSR_ATTENTION_KERNEL_WGMMA only (opt-in;
// AUTO never picks it).
#include <atomic>
#include <cstdint>

#include "attention_mma.cuh"
#include "cuda_common.cuh"
#include "tessera/attention.h"

namespace tsr {
namespace cuda {
namespace attn {

#include "attention_wgmma.cuh"

namespace {

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

template <typename T, int D>
int launch(const MmaArgs &a, int64_t batch, cudaStream_t stream) {
  constexpr size_t smem = wg::Tile<D>::smem_bytes;
  static std::atomic<uint64_t> ready{0};  // bit dev: the function attribute is set on device dev
  int dev = 0;
  TSR_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&dev));
  const uint64_t bit = dev >= 0 && dev < 64 ? (uint64_t{1} << dev) : 0;
  if (bit == 0 || (ready.load(std::memory_order_relaxed) & bit) == 0) {
    TSR_CUDA_CHECK("cudaFuncSetAttribute(flash_wgmma, MaxDynamicSharedMemorySize)",
                   cudaFuncSetAttribute(wg::flash_wgmma<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    ready.fetch_or(bit, std::memory_order_relaxed);
  }
  dim3 grid(static_cast<unsigned>((a.seq_q + wg::kBM - 1) / wg::kBM), static_cast<unsigned>(a.heads_q),
            static_cast<unsigned>(batch));
  wg::flash_wgmma<T, D><<<grid, wg::kThreads, smem, stream>>>(a);
  TSR_LAUNCH_CHECK("flash_wgmma launch");
  return TSR_OK;
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
    set_last_error("tsr_cuda_attention: the WGMMA kernel (flash_wgmma, sm_90a wgmma, not yet run on a GPU) needs a "
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
  const size_t need = a.d == 64 ? wg::Tile<64>::smem_bytes : wg::Tile<128>::smem_bytes;
  if (static_cast<size_t>(optin) < need) return TSR_OK;
  *used = true;
  if (dtype == TSR_BF16) {
    return a.d == 64 ? launch<__nv_bfloat16, 64>(a, batch, stream) : launch<__nv_bfloat16, 128>(a, batch, stream);
  }
  return a.d == 64 ? launch<__half, 64>(a, batch, stream) : launch<__half, 128>(a, batch, stream);
}

}  // namespace attn
}  // namespace cuda
}  // namespace tsr
