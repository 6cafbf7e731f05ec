// Runs the code of flash_simt_rows (native/src/cuda/attention_simt_rows.cuh) on the CPU and checks it against a
// float64 attention: its row / key indexing, masks, causal limits, GQA rows, zero rows and NaN propagation, for build
// machines without a GPU (ctest runs it: native/CMakeLists.txt; on a GPU, runtime's CudaAttentionTest runs the F32
// cases through it).
//
//   g++ -std=c++20 -O1 -pthread -fno-strict-aliasing -fsanitize=address,undefined -I native/include -I native/src \
//       native/test/attention_simt_emulated.cpp -o /tmp/attention_simt_emulated && /tmp/attention_simt_emulated
// (AddressSanitizer catches reads / writes outside q, k, v, the mask and the output; shared-memory accesses past the
// launch's dynamic size show as changed guard bytes; the output has sentinels either side.)
//
// Each block runs as 128 std::threads (cuda_emulation.h: __syncthreads a 128-thread barrier, __syncwarp and the
// shuffles through a 32-thread one). EMU_FUZZ=N adds N random shapes.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "tessera/tessera.h"

// ---------------------------------------------------------------------------- CUDA shims
#include "cuda_emulation.h"

struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
constexpr size_t kSmemBytes = 256 * 1024;

#include "cuda/attention_mma.cuh"  // SimtArgs, kSK, kSimtWarps, kSimtThreads, key_kept, nanmax, i64min / i64max

namespace tsr {
namespace cuda {
namespace attn {

alignas(64) float4 fsm_rows[kSmemBytes / sizeof(float4)];  // the kernel's `extern __shared__` memory

inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

#include "cuda/attention_simt_rows.cuh"

}  // namespace attn
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda::attn;

// ---------------------------------------------------------------------------- harness

template <int DPL>
void launch(const SimtArgs &a, int64_t batch, size_t smem) {
  unsigned char *const raw = reinterpret_cast<unsigned char *>(fsm_rows);
  const unsigned blocks = static_cast<unsigned>(a.rowblocks * batch * a.heads_kv);
  gridDim = {blocks, 1, 1};
  for (unsigned x = 0; x < blocks; ++x) {
    std::memset(raw, 0xff, kSmemBytes);  // NaN garbage: shared memory read before it is written shows
    emu::run_block(x, 0, 0, [&a] { flash_simt_rows<DPL>(a); });
    for (size_t i = smem; i < kSmemBytes; ++i)
      if (raw[i] != 0xff) {
        std::printf("  shared memory written past the launch's %zu bytes (at %zu)\n", smem, i);
        std::exit(1);
      }
  }
}

// The fp32 kernel through the harnesses' shared checker (cuda_emulation.h), held to 1e-5.
bool run_case(const emu::Case &c) {
  auto launch_kernel = [&c](const float *q, const float *k, const float *v, float *out, const void *mask,
                            bool mask_i64, float scale) {
    SimtArgs a{};
    static_cast<MmaArgs &>(a) = MmaArgs{q, k, v, out, c.hq, c.hkv, c.sq, c.sk, c.d, c.cap, mask,
                                        mask_i64 ? TSR_I64 : TSR_I32, scale * 1.4426950408889634f, c.causal ? 1 : 0};
    a.rowblocks = ((c.hq / c.hkv) * c.sq + kRowsPerBlock - 1) / kRowsPerBlock;
    a.chunk = c.sk;
    const size_t smem = static_cast<size_t>(simt_rows_smem_bytes(c.d));
    if (c.d <= 32) launch<1>(a, c.B, smem); else if (c.d <= 64) launch<2>(a, c.B, smem); else launch<4>(a, c.B, smem);
  };
  return emu::run_attention_case<float>(c, launch_kernel, [](const char *) { return 0; }, 1e-5);
}

int main() {
  int failed = 0;
  // name, B, Hq, Hkv, Sq, Sk, D, cap, causal, mask, seed[, NaN row]
  auto run = [&failed](const char *name, int64_t B, int64_t hq, int64_t hkv, int64_t sq, int64_t sk, int64_t d,
                       int64_t cap, bool causal, int mask, uint64_t seed, int nan_row = -1) {
    if (!run_case(emu::Case{name, false, B, hq, hkv, sq, sk, d, cap, causal, mask, seed, nan_row})) ++failed;
  };
  run("MiniLM-like", 2, 3, 3, 40, 40, 32, 40, false, 1, 1);
  run("head_dim 64, causal", 1, 2, 2, 37, 37, 64, 37, true, 0, 2);
  run("head_dim 128, i64 mask", 2, 2, 2, 21, 33, 128, 33, false, 2, 3);
  run("GQA 4:1, causal, mask", 2, 8, 2, 19, 19, 48, 19, true, 1, 4);
  run("cross, sk > sq, causal shift", 1, 3, 3, 9, 70, 36, 70, true, 0, 5);
  run("sq > sk (rows before any key)", 1, 2, 2, 30, 12, 20, 12, true, 0, 6);
  run("KV cache view (cap > sk)", 2, 4, 2, 17, 45, 96, 64, false, 1, 7);
  run("head_dim 4, one key", 1, 1, 1, 20, 1, 4, 1, false, 0, 8);
  run("NaN in one query row", 1, 2, 1, 25, 40, 16, 40, false, 0, 9, 13);
  run("no keys (sk = 0)", 1, 1, 1, 6, 0, 8, 0, false, 0, 10);
  const char *fz = std::getenv("EMU_FUZZ");
  const int fuzz = fz ? std::atoi(fz) : 0;
  std::mt19937_64 rng(2024);
  for (int f = 0; f < fuzz; ++f) {
    const int64_t hkv = 1 + rng() % 3, group = 1 + rng() % 3, sq = 5 + rng() % 40, sk = rng() % 60;
    const int64_t d = 4 * (1 + rng() % 32), cap = sk + rng() % 5, B = 1 + rng() % 2;
    run("fuzz", B, hkv * group, hkv, sq, sk, d, cap, rng() % 2, static_cast<int>(rng() % 3), 100 + f);
  }
  std::printf("%s\n", failed ? "FAILED" : "all passed");
  return failed ? 1 : 0;
}
