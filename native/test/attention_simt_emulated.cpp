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

static int g_fail = 0;

void run_case(const char *name, int64_t B, int64_t hq, int64_t hkv, int64_t sq, int64_t sk, int64_t d, int64_t cap,
              bool causal, int mask_kind /*0 none, 1 i32, 2 i64*/, uint64_t seed, int nan_row = -1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  std::vector<float> q(B * hq * sq * d), k(B * hkv * cap * d), v(B * hkv * cap * d);
  for (auto &x : q) x = U(rng);
  for (auto &x : k) x = 2.0f * U(rng);
  for (auto &x : v) x = U(rng);
  if (nan_row >= 0) q[nan_row * d + 3] = NAN;
  std::vector<int32_t> m32(B * sk);
  std::vector<int64_t> m64(B * sk);
  for (int64_t i = 0; i < B * sk; ++i) m64[i] = m32[i] = (rng() % 5 == 0) ? 0 : 1;
  if (mask_kind && B > 1)
    for (int64_t j = 0; j < sk; ++j) m64[(B - 1) * sk + j] = m32[(B - 1) * sk + j] = 0;  // a fully padded item
  constexpr int64_t kGuard = 64;
  std::vector<float> out_buf(B * hq * sq * d + 2 * kGuard, NAN);
  float *const out = out_buf.data() + kGuard;
  for (int64_t i = 0; i < kGuard; ++i) out_buf[i] = out_buf[out_buf.size() - 1 - i] = 1234.0f;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  SimtArgs a{};
  static_cast<MmaArgs &>(a) = MmaArgs{q.data(), k.data(), v.data(), out, hq, hkv, sq, sk, d, cap,
                                      mask_kind == 0 ? nullptr
                                                     : (mask_kind == 1 ? static_cast<const void *>(m32.data())
                                                                       : m64.data()),
                                      mask_kind == 2 ? TSR_I64 : TSR_I32, scale * 1.4426950408889634f,
                                      causal ? 1 : 0};
  a.rowblocks = ((hq / hkv) * sq + kRowsPerBlock - 1) / kRowsPerBlock;
  a.chunk = sk;
  const size_t smem = static_cast<size_t>(simt_rows_smem_bytes(d));
  if (d <= 32) launch<1>(a, B, smem); else if (d <= 64) launch<2>(a, B, smem); else launch<4>(a, B, smem);

  double num = 0, den = 0;
  int bad = 0;
  const int64_t group = hq / hkv, shift = sk - sq;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < sq; ++i) {
        const int64_t row = (b * hq + h) * sq + i;
        const float *qr = &q[row * d];
        const int64_t kvb = (b * hkv + h / group) * cap * d;
        const emu::RefRow ref = emu::reference_row(
            sk, d, scale, [&](int64_t c) { return qr[c]; }, [&](int64_t j, int64_t c) { return k[kvb + j * d + c]; },
            [&](int64_t j, int64_t c) { return v[kvb + j * d + c]; },
            [&](int64_t j) { return (!causal || j <= i + shift) && (mask_kind == 0 || m32[b * sk + j] != 0); });
        const float *o = &out[row * d];
        if (ref.nan || row == nan_row) {
          for (int64_t c = 0; c < d; ++c)
            if (!std::isnan(o[c])) ++bad;
          continue;
        }
        for (int64_t c = 0; c < d; ++c) {
          if (!std::isfinite(o[c])) ++bad;
          num += (o[c] - ref.out[c]) * (o[c] - ref.out[c]);
          den += ref.out[c] * ref.out[c];
        }
      }
  for (int64_t i = 0; i < kGuard; ++i)
    if (out_buf[i] != 1234.0f || out_buf[out_buf.size() - 1 - i] != 1234.0f) ++bad;
  const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  const bool ok = bad == 0 && rel <= 1e-5;
  if (!ok) ++g_fail;
  std::printf("%-4s %-34s B%lld Hq%lld Hkv%lld Sq%lld Sk%lld cap%lld D%lld causal=%d mask=%d: rel %.2e%s\n",
              ok ? "ok" : "FAIL", name, (long long)B, (long long)hq, (long long)hkv, (long long)sq, (long long)sk,
              (long long)cap, (long long)d, causal ? 1 : 0, mask_kind, rel,
              bad ? (" (" + std::to_string(bad) + " bad values)").c_str() : "");
}

int main() {
  run_case("MiniLM-like", 2, 3, 3, 40, 40, 32, 40, false, 1, 1);
  run_case("head_dim 64, causal", 1, 2, 2, 37, 37, 64, 37, true, 0, 2);
  run_case("head_dim 128, i64 mask", 2, 2, 2, 21, 33, 128, 33, false, 2, 3);
  run_case("GQA 4:1, causal, mask", 2, 8, 2, 19, 19, 48, 19, true, 1, 4);
  run_case("cross, sk > sq, causal shift", 1, 3, 3, 9, 70, 36, 70, true, 0, 5);
  run_case("sq > sk (rows before any key)", 1, 2, 2, 30, 12, 20, 12, true, 0, 6);
  run_case("KV cache view (cap > sk)", 2, 4, 2, 17, 45, 96, 64, false, 1, 7);
  run_case("head_dim 4, one key", 1, 1, 1, 20, 1, 4, 1, false, 0, 8);
  run_case("NaN in one query row", 1, 2, 1, 25, 40, 16, 40, false, 0, 9, 13);
  run_case("no keys (sk = 0)", 1, 1, 1, 6, 0, 8, 0, false, 0, 10);
  const char *fz = std::getenv("EMU_FUZZ");
  const int fuzz = fz ? std::atoi(fz) : 0;
  std::mt19937_64 rng(2024);
  for (int f = 0; f < fuzz; ++f) {
    const int64_t hkv = 1 + rng() % 3, group = 1 + rng() % 3, sq = 5 + rng() % 40, sk = rng() % 60;
    const int64_t d = 4 * (1 + rng() % 32), cap = sk + rng() % 5, B = 1 + rng() % 2;
    run_case("fuzz", B, hkv * group, hkv, sq, sk, d, cap, rng() % 2, static_cast<int>(rng() % 3), 100 + f);
  }
  std::printf("%s\n", g_fail ? "FAILED" : "all passed");
  return g_fail ? 1 : 0;
}
