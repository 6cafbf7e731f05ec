// Runs the code of flash_mma_v2 (native/src/cuda/attention_v2.cuh) on the CPU and checks it against a float64
// attention: a check of its indexing, masks, tile skipping and double-buffer pipeline for build machines without
// a GPU (ctest runs it: native/CMakeLists.txt; the GPU tests are runtime's CudaAttentionTest).
//
//   g++ -std=c++20 -O1 -pthread -fsanitize=address,undefined -I native/include -I native/src \
//       native/test/attention_v2_emulated.cpp -o /tmp/attention_v2_emulated && /tmp/attention_v2_emulated
// (AddressSanitizer catches reads / writes outside q, k, v, the mask and the output; shared-memory accesses are
// checked against the launch's dynamic size and ldmatrix row alignment; the output has sentinels either side.)
//
// Each block runs as 128 std::threads (cuda_emulation.h). The warp-collective PTX the kernel uses is emulated from its documented
// semantics (the same fragment layouts as flash_mma, which has run on H100/H200): ldmatrix .x4 (and .trans),
// mma.sync m16n8k16 row.col with fp32 accumulation, shfl.xor; each is one exchange through a per-warp slot and a
// 32-thread barrier. __syncthreads is a 128-thread barrier. cp.async copies are deferred until the
// cp.async.wait_group that covers them (so a missing wait reads stale shared memory), then applied in order;
// with EMU_CP_ASYNC=immediate they land at issue instead (a prefetch into a buffer still being read shows).
// EMU_FUZZ=N adds N cases of random shapes.
// 16-bit values are rounded to nearest even as the device does; ex2.approx is exp2f.
#define TSR_ATTENTION_V2_EMULATED

#include <atomic>
#include <algorithm>
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

struct uint4 {
  uint32_t x, y, z, w;
};
inline uint4 make_uint4(uint32_t x, uint32_t y, uint32_t z, uint32_t w) { return {x, y, z, w}; }

namespace tsr {
namespace cuda {
namespace attn {
alignas(16) unsigned char smem_raw[256 * 1024];  // the kernel's `extern __shared__` dynamic shared memory
}  // namespace attn
}  // namespace cuda
}  // namespace tsr

namespace emu {
unsigned char *const smem = tsr::cuda::attn::smem_raw;
constexpr size_t kSmemBytes = sizeof(tsr::cuda::attn::smem_raw);
bool immediate = false;  // cp.async lands at issue (EMU_CP_ASYNC=immediate) instead of at its wait_group
size_t smem_limit = 0;  // the launch's dynamic shared memory bytes: every access must stay below
std::atomic<int> smem_oob{0};
inline void check_smem(uint32_t a, uint32_t bytes) {
  if (a + bytes > smem_limit) smem_oob.fetch_add(1);
}
thread_local std::vector<std::vector<std::pair<void *, const void *>>> groups;  // committed cp.async groups
thread_local std::vector<std::pair<void *, const void *>> open_group;

inline uint16_t ld16(uint32_t a) {
  uint16_t v;
  std::memcpy(&v, smem + a, 2);
  return v;
}
}  // namespace emu

#include "cuda/attention_mma.cuh"  // MmaArgs, mma_block, key_kept, i64min / i64max

namespace tsr {
namespace cuda {
namespace attn {


template <typename T>
struct MmaOp {
  static uint32_t pack(float lo, float hi) {
    return static_cast<uint32_t>(Bits<T>::from(lo)) | (static_cast<uint32_t>(Bits<T>::from(hi)) << 16);
  }
};

inline uint32_t smem_addr(const void *p) {
  return static_cast<uint32_t>(static_cast<const unsigned char *>(p) - emu::smem);
}

inline void cp_async16(void *dst, const void *src) {
  emu::check_smem(smem_addr(dst), 16);
  if (emu::immediate) {
    std::memcpy(dst, src, 16);  // lands at once: overwriting a buffer another warp still reads shows (racily)
  } else {
    emu::open_group.emplace_back(dst, src);
  }
}
inline void cp_async_commit() {
  emu::groups.push_back(std::move(emu::open_group));
  emu::open_group.clear();
}
template <int N>
inline void cp_async_wait() {
  while (static_cast<int>(emu::groups.size()) > N) {
    for (auto &c : emu::groups.front()) std::memcpy(c.first, c.second, 16);
    emu::groups.erase(emu::groups.begin());
  }
}

inline float ex2_approx(float x) { return exp2f(x); }

inline void ldsm_x4_a(uint32_t (&r)[4], uint32_t addr) {
  auto &w = emu::warp();
  const int p = emu::parity ^= 1, l = emu::lane();
  w.addr[p][l] = addr;
  emu::check_smem(addr, 16);
  if (addr % 16 != 0) emu::smem_oob.fetch_add(1);  // ldmatrix rows must be 16-byte aligned
  w.bar.arrive_and_wait();
  for (int i = 0; i < 4; ++i) {
    const uint32_t row = w.addr[p][8 * i + l / 4] + (l % 4) * 4;
    r[i] = emu::ld16(row) | (static_cast<uint32_t>(emu::ld16(row + 2)) << 16);
  }
}

inline void ldsm_x4_a_t(uint32_t (&r)[4], uint32_t addr) {
  auto &w = emu::warp();
  const int p = emu::parity ^= 1, l = emu::lane();
  w.addr[p][l] = addr;
  emu::check_smem(addr, 16);
  if (addr % 16 != 0) emu::smem_oob.fetch_add(1);
  w.bar.arrive_and_wait();
  for (int i = 0; i < 4; ++i) {
    const uint32_t r0 = w.addr[p][8 * i + 2 * (l % 4)] + (l / 4) * 2;
    const uint32_t r1 = w.addr[p][8 * i + 2 * (l % 4) + 1] + (l / 4) * 2;
    r[i] = emu::ld16(r0) | (static_cast<uint32_t>(emu::ld16(r1)) << 16);
  }
}

template <typename T>
inline void mma_v2(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  auto &w = emu::warp();
  const int p = emu::parity ^= 1, l = emu::lane();
  for (int i = 0; i < 4; ++i) w.regs[p][l][i] = a[i];
  w.regs[p][l][4] = b0;
  w.regs[p][l][5] = b1;
  w.bar.arrive_and_wait();
  auto half = [](uint32_t reg, int e) { return Bits<T>::to(static_cast<uint16_t>(e ? reg >> 16 : reg & 0xffff)); };
  // A[row][k]: lane 4 * (row % 8) + (k % 8) / 2, register (row / 8) + 2 * (k / 8), element k % 2
  auto A = [&](int row, int k) { return half(w.regs[p][4 * (row % 8) + (k % 8) / 2][(row / 8) + 2 * (k / 8)], k % 2); };
  // B[k][n]: lane 4 * n + (k % 8) / 2, register 4 + k / 8, element k % 2
  auto B = [&](int k, int n) { return half(w.regs[p][4 * n + (k % 8) / 2][4 + k / 8], k % 2); };
  const int g = l / 4, t = l % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >> 1) * 8, col = 2 * t + (i & 1);
    float acc = c[i];
    for (int k = 0; k < 16; ++k) acc += A(row, k) * B(k, col);
    c[i] = acc;
  }
}

using std::max;
using std::min;

#include "cuda/attention_v2.cuh"

}  // namespace attn
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda::attn;

// ---------------------------------------------------------------------------- harness

template <typename T, int D>
void launch(const MmaArgs &a, int64_t batch) {
  emu::smem_limit = V2Tile<D>::smem_bytes;
  gridDim = {static_cast<unsigned>((a.seq_q + kV2BM - 1) / kV2BM), static_cast<unsigned>(a.heads_q),
             static_cast<unsigned>(batch)};
  emu::run_grid(
      emu::smem, emu::kSmemBytes, emu::smem_limit,
      [&a](unsigned x, unsigned y, unsigned z) {
        emu::run_block(x, y, z, [&a] {
          emu::groups.clear();
          emu::open_group.clear();
          flash_mma_v2<T, D>(a);  // a thread that returns early must not leave its warp / block barriers short
        });
      },
      [] { emu::smem_oob.fetch_add(1); });
}

int main() {
  if (const char *m = std::getenv("EMU_CP_ASYNC")) emu::immediate = std::strcmp(m, "immediate") == 0;
  std::printf("cp.async copies land %s\n", emu::immediate ? "at issue" : "at their wait_group");
  return emu::run_tensor_core_cases(2024, [](const emu::Case &c, auto tag) {
    using T = decltype(tag);
    auto launch_kernel = [&c](const uint16_t *q, const uint16_t *k, const uint16_t *v, uint16_t *out,
                              const void *mask, bool mask_i64, float scale) {
      emu::smem_oob = 0;
      MmaArgs a{q, k, v, out, c.hq, c.hkv, c.sq, c.sk, c.d, c.cap, mask, mask_i64 ? TSR_I64 : TSR_I32,
                scale * 1.4426950408889634f, c.causal ? 1 : 0};
      if (c.d == 64) launch<T, 64>(a, c.B); else launch<T, 128>(a, c.B);
    };
    auto protocol = [](const char *name) {
      const int n = emu::smem_oob.load();
      if (n != 0) std::printf("  %s: %d shared-memory accesses outside the dynamic allocation or misaligned\n", name, n);
      return n;
    };
    return emu::run_attention_case<T>(c, launch_kernel, protocol);
  });
}
