// What the CPU emulations of our CUDA kernels share (attention_v2_emulated.cpp, attention_simt_emulated.cpp,
// attention_wgmma_emulated.cpp):
// the float64 reference attention row, the test cases of the tensor-core harnesses, the CUDA keywords as no-ops, __nv_bfloat16 / __half with Bits<T> conversions, dim3 / threadIdx / blockIdx / gridDim, and a
// block run as std::threads (128 unless told otherwise) with a block-wide barrier for __syncthreads and a 32-thread
// barrier per warp for warp-collective operations. A warp
// exchange (shuffle, vote) writes this lane's slot of one of two parity buffers, waits on the warp barrier and
// reads the others: a slot is written again two exchanges later, after every lane passed the barrier in between.
#ifndef TESSERA_NATIVE_TEST_CUDA_EMULATION_H
#define TESSERA_NATIVE_TEST_CUDA_EMULATION_H

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ref_half.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n)
#define __shared__

struct dim3 {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 gridDim;

// The 16-bit storage types as bit patterns, and their conversions (bf16: round to nearest even, NaN kept).
struct __nv_bfloat16 {
  uint16_t bits;
};
struct __half {
  uint16_t bits;
};

inline uint16_t f2bf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf2f(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f2h(float f) { return tsr_test::ref_f32_to_f16(f); }
inline float h2f(uint16_t b) { return tsr_test::ref_f16_to_f32(b); }
template <typename T>
struct Bits;
template <>
struct Bits<__nv_bfloat16> {
  using raw = uint16_t;
  static uint16_t from(float f) { return f2bf(f); }
  static float to(uint16_t b) { return bf2f(b); }
};
template <>
struct Bits<__half> {
  using raw = uint16_t;
  static uint16_t from(float f) { return f2h(f); }
  static float to(uint16_t b) { return h2f(b); }
};
template <>
struct Bits<float> {  // the fp32 kernels: stored as they are
  using raw = float;
  static float from(float f) { return f; }
  static float to(float b) { return b; }
};

namespace emu {
constexpr int kThreads = 128;  // threads per block of every emulated kernel
struct Warp {
  std::barrier<> bar{32};
  uint32_t addr[2][32];      // ldmatrix row addresses
  uint32_t regs[2][32][10];  // mma fragments
  float f[2][32][4];         // shuffles and votes
};
inline std::barrier<> *block_bar;
inline Warp *warps;
inline thread_local int parity = 0;
inline int lane() { return static_cast<int>(threadIdx.x) & 31; }
inline Warp &warp() { return warps[threadIdx.x >> 5]; }

// Runs `body` as the `threads` (a multiple of 32; kThreads unless told) threads of block (x, y, z), each with its
// threadIdx / blockIdx and a fresh parity.
template <typename Body>
void run_block(unsigned x, unsigned y, unsigned z, Body body, int threads = kThreads) {
  std::barrier<> bar(threads);
  std::vector<Warp> w(static_cast<size_t>(threads / 32));
  block_bar = &bar;
  warps = w.data();
  std::vector<std::thread> th;
  for (int t = 0; t < threads; ++t) {
    th.emplace_back([=] {
      threadIdx = {static_cast<unsigned>(t), 0, 0};
      blockIdx = {x, y, z};
      parity = 0;
      body();
    });
  }
  for (auto &t : th) t.join();
}

// Runs every block of gridDim through `block(x, y, z)` (which calls run_block), the kernel's dynamic shared memory
// (`smem`, `bytes` in all, the launch's `limit` of them) filled with 0xff before each block so that unwritten shared
// memory shows as garbage; a byte past `limit` that a block changed (a plain store past the allocation) is
// reported once per block through `past_limit()`.
template <typename Block, typename PastLimit>
void run_grid(unsigned char *smem, size_t bytes, size_t limit, Block block, PastLimit past_limit) {
  for (unsigned z = 0; z < gridDim.z; ++z)
    for (unsigned y = 0; y < gridDim.y; ++y)
      for (unsigned x = 0; x < gridDim.x; ++x) {
        std::memset(smem, 0xff, bytes);
        block(x, y, z);
        for (size_t i = limit; i < bytes; ++i)
          if (smem[i] != 0xff) {
            past_limit();
            break;
          }
      }
}
}  // namespace emu

inline void __syncthreads() { emu::block_bar->arrive_and_wait(); }
inline void __syncwarp() { emu::warp().bar.arrive_and_wait(); }

inline float __shfl_xor_sync(unsigned, float v, int m) {
  auto &w = emu::warp();
  const int p = emu::parity ^= 1, l = emu::lane();
  w.f[p][l][0] = v;
  w.bar.arrive_and_wait();
  return w.f[p][l ^ m][0];
}

inline unsigned __ballot_sync(unsigned, int pred) {
  auto &w = emu::warp();
  const int p = emu::parity ^= 1, l = emu::lane();
  w.f[p][l][0] = pred ? 1.0f : 0.0f;
  w.bar.arrive_and_wait();
  unsigned bits = 0;
  for (int i = 0; i < 32; ++i) bits |= (w.f[p][i][0] != 0.0f ? 1u : 0u) << i;
  return bits;
}

inline int __any_sync(unsigned m, int pred) { return __ballot_sync(m, pred) != 0; }

namespace emu {
// The float64 attention of one query row, the harnesses' reference: the keys j < sk with visible(j), scores
// scale * sum_c q(c) k(j, c), softmax, sum_j p_j v(j, c). `any`: some key visible (else out stays 0); `nan`: a visible
// score is NaN (the kernels must then give NaN for the whole row).
struct RefRow {
  std::vector<double> out;
  bool any = false, nan = false;
};
template <typename Q, typename K, typename V, typename Visible>
RefRow reference_row(int64_t sk, int64_t d, double scale, Q q, K k, V v, Visible visible) {
  RefRow r;
  r.out.assign(static_cast<size_t>(d), 0.0);
  std::vector<double> sc(static_cast<size_t>(sk), -INFINITY);
  double mx = -INFINITY;
  for (int64_t j = 0; j < sk; ++j) {
    if (!visible(j)) continue;
    double s = 0;
    for (int64_t c = 0; c < d; ++c) s += static_cast<double>(q(c)) * static_cast<double>(k(j, c));
    sc[j] = s * scale;
    if (std::isnan(sc[j])) r.nan = true;
    if (sc[j] > mx) mx = sc[j];
    r.any = true;
  }
  if (!r.any || r.nan) return r;
  double l = 0;
  for (int64_t j = 0; j < sk; ++j) {
    if (sc[j] == -INFINITY) continue;
    const double p = std::exp(sc[j] - mx);
    l += p;
    for (int64_t c = 0; c < d; ++c) r.out[c] += p * static_cast<double>(v(j, c));
  }
  for (auto &x : r.out) x /= l;
  return r;
}
}  // namespace emu

namespace emu {
// The cases both tensor-core harnesses run (flash_mma_v2 and flash_wgmma compute the same function): each harness
// maps one to its run_case<T>(name, B, Hq, Hkv, Sq, Sk, D, cap, causal, mask, seed, nan_row, growth).
struct Case {
  std::string name;
  bool f16;  // else bf16
  int64_t B, hq, hkv, sq, sk, d, cap;
  bool causal;
  int mask;  // 0 none, 1 int32, 2 int64
  uint64_t seed;
  int nan_row = -1;     // a query row set to NaN
  float growth = 0.0f;  // key row j scaled by 1 + growth * j: scores sharpen along the keys
};
inline std::vector<Case> tensor_core_cases() {
  return {
      {"bf16 d64 Sq7 Sk7 causal", false, 1, 1, 1, 7, 7, 64, 7, true, 0, 1},
      {"bf16 d128 Sq130 Sk257 causal mask i32", false, 2, 2, 2, 130, 257, 128, 257, true, 1, 2},
      {"f16 d64 Sq197 Sk197 GQA 4/2 mask i64", true, 2, 4, 2, 197, 197, 64, 197, false, 2, 3},
      {"bf16 d64 Sq200 Sk300 causal (Sq<Sk)", false, 1, 2, 1, 200, 300, 64, 300, true, 0, 4},
      {"f16 d128 Sq300 Sk130 causal (Sq>Sk)", true, 1, 1, 1, 300, 130, 128, 130, true, 0, 5},
      {"bf16 d128 Sq129 Sk200 cache cap 512", false, 1, 2, 2, 129, 200, 128, 512, false, 0, 6},
      {"bf16 d64 Sq256 Sk1000 mask", false, 1, 1, 1, 256, 1000, 64, 1000, false, 1, 7},
      {"f16 d128 Sq256 Sk256 causal", true, 1, 1, 1, 256, 256, 128, 256, true, 0, 8},
      {"f16 d64 Sq64 Sk384 (one 64-row half of the block idle)", true, 1, 1, 1, 64, 384, 64, 384, false, 0, 20},
      // causal shifts (Sk - Sq) that are not multiples of 16, 32 or 64 put the first rows of warps and warpgroups
      // inside a key tile
      {"bf16 d64 Sq150 Sk175 causal (shift 25)", false, 1, 1, 1, 150, 175, 64, 175, true, 0, 12},
      {"f16 d128 Sq100 Sk127 causal (shift 27) mask", true, 1, 2, 1, 100, 127, 128, 127, true, 2, 13},
      {"bf16 d128 Sq300 Sk290 causal (shift -10)", false, 1, 1, 1, 300, 290, 128, 290, true, 1, 14},
      // scores growing along the keys: the running max moves by large steps on later tiles (O rescaling, v2's lazy
      // rescaling past 2^8)
      {"bf16 d64 Sq140 Sk600 sharpening keys", false, 1, 1, 1, 140, 600, 64, 600, false, 0, 15, -1, 0.02f},
      {"f16 d128 Sq140 Sk600 sharpening keys causal", true, 1, 1, 1, 140, 600, 128, 600, true, 1, 16, -1, 0.02f},
      {"bf16 d128 Sq200 Sk400 sharpening keys mask", false, 2, 2, 2, 200, 400, 128, 400, false, 2, 17, -1, 0.05f},
      {"f16 d64 Sq200 Sk700 sharpening keys causal mask", true, 1, 2, 1, 200, 700, 64, 700, true, 1, 18, -1, 0.03f},
      {"bf16 d64 Sq33 Sk0 (no keys)", false, 1, 1, 1, 33, 0, 64, 0, false, 0, 9},
      {"bf16 d64 NaN in q row 70", false, 1, 1, 1, 140, 150, 64, 150, false, 0, 10, 70},
      {"f16 d128 NaN in q row 5 causal", true, 1, 1, 1, 140, 150, 128, 150, true, 0, 11, 5},
  };
}
// EMU_FUZZ=N: N cases of random shapes (sizes up to 3 query / key blocks, every option), from `seed`.
inline std::vector<Case> fuzz_cases(uint64_t seed) {
  const int n = std::getenv("EMU_FUZZ") ? std::atoi(std::getenv("EMU_FUZZ")) : 0;
  std::mt19937_64 r(seed);
  std::vector<Case> out;
  for (int i = 0; i < n; ++i) {
    const int64_t d = r() % 2 ? 64 : 128, hkv = 1 + r() % 2, hq = hkv * (1 + r() % 3), B = 1 + r() % 2;
    const int64_t sq = 5 + r() % 380, sk = r() % 400, cap = sk + (r() % 3 == 0 ? r() % 64 : 0);
    const bool causal = r() % 2;
    const int mask = static_cast<int>(r() % 3);
    const float growth = (r() % 3 == 0) ? 0.02f : 0.0f;
    char name[160];
    std::snprintf(name, sizeof name, "fuzz %d: %s d%lld B%lld Hq%lld Hkv%lld Sq%lld Sk%lld cap%lld c%d m%d", i,
                  i % 2 ? "f16" : "bf16", (long long)d, (long long)B, (long long)hq, (long long)hkv, (long long)sq,
                  (long long)sk, (long long)cap, causal, mask);
    out.push_back({name, i % 2 == 1, B, hq, hkv, sq, sk, d, cap, causal, mask, static_cast<uint64_t>(100 + i), -1,
                   growth});
  }
  return out;
}
}  // namespace emu

namespace emu {
// Runs one Case through an attention kernel and checks it against reference_row: random q / k / v stored as T
// (float, or 16-bit bit patterns), an optional key-padding mask (int32 or int64; with B > 1 the last item fully
// padded), a guarded output buffer (writes outside it fail), NaN rows (the whole row NaN), rows that see no key (all
// zero). `launch(q, k, v, out, mask, mask_is_i64, scale)` runs the kernel (k and v with `cap` rows per head);
// `protocol_errors(name)` returns the harness's own error count for the case (shared-memory bounds, wgmma protocol)
// after printing what they were. Passes at relative error <= tol; prints one line; returns whether it passed.
template <typename T, typename Launch, typename ProtocolErrors>
bool run_attention_case(const Case &c, Launch launch, ProtocolErrors protocol_errors, double tol = 1e-2) {
  using Raw = typename Bits<T>::raw;
  const int64_t B = c.B, hq = c.hq, hkv = c.hkv, sq = c.sq, sk = c.sk, d = c.d, cap = c.cap;
  const char *name = c.name.c_str();
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  std::vector<Raw> q(B * hq * sq * d), k(B * hkv * cap * d), v(B * hkv * cap * d);
  for (auto &x : q) x = Bits<T>::from(U(rng));
  for (int64_t i = 0; i < static_cast<int64_t>(k.size()); ++i)
    k[i] = Bits<T>::from(U(rng) * 2.0f * (1.0f + c.growth * static_cast<float>((i / d) % cap)));
  for (auto &x : v) x = Bits<T>::from(U(rng));
  if (c.nan_row >= 0) q[c.nan_row * d + 3] = Bits<T>::from(NAN);
  std::vector<int32_t> m32(B * sk);
  std::vector<int64_t> m64(B * sk);
  for (int64_t i = 0; i < B * sk; ++i) m64[i] = m32[i] = (rng() % 5 == 0) ? 0 : 1;
  if (c.mask && B > 1)
    for (int64_t j = 0; j < sk; ++j) m64[(B - 1) * sk + j] = m32[(B - 1) * sk + j] = 0;  // a fully padded item
  constexpr int64_t kGuard = 256;  // sentinel elements either side of the output
  const Raw sentinel = Bits<T>::from(1234.0f);
  std::vector<Raw> out_buf(B * hq * sq * d + 2 * kGuard, Bits<T>::from(NAN));
  Raw *const out = out_buf.data() + kGuard;
  for (int64_t i = 0; i < kGuard; ++i) out_buf[i] = out_buf[out_buf.size() - 1 - i] = sentinel;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const void *mask = c.mask == 0 ? nullptr : (c.mask == 1 ? static_cast<const void *>(m32.data()) : m64.data());
  launch(q.data(), k.data(), v.data(), out, mask, c.mask == 2, scale);

  double num = 0, den = 0;
  int bad = 0;
  const int64_t group = hq / hkv, shift = sk - sq;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < sq; ++i) {
        const Raw *qr = &q[((b * hq + h) * sq + i) * d];
        const int64_t kvb = (b * hkv + h / group) * cap * d;
        const RefRow r = reference_row(
            sk, d, scale, [&](int64_t x) { return Bits<T>::to(qr[x]); },
            [&](int64_t j, int64_t x) { return Bits<T>::to(k[kvb + j * d + x]); },
            [&](int64_t j, int64_t x) { return Bits<T>::to(v[kvb + j * d + x]); },
            [&](int64_t j) { return !(c.mask && m64[b * sk + j] == 0) && !(c.causal && j > i + shift); });
        const Raw *orow = &out[((b * hq + h) * sq + i) * d];
        for (int64_t x = 0; x < d; ++x) {
          const double got = Bits<T>::to(orow[x]);
          if (r.nan) {
            if (!std::isnan(got)) ++bad;
            continue;
          }
          if (!std::isfinite(got) || (!r.any && got != 0.0)) {
            if (bad++ < 3)
              std::printf("  %s: b%lld h%lld row %lld col %lld = %g (ref %g, any %d)\n", name, (long long)b,
                          (long long)h, (long long)i, (long long)x, got, r.out[x], r.any);
            continue;
          }
          num += (got - r.out[x]) * (got - r.out[x]);
          den += r.out[x] * r.out[x];
        }
      }
  for (int64_t i = 0; i < kGuard; ++i)
    if (out_buf[i] != sentinel || out_buf[out_buf.size() - 1 - i] != sentinel) {
      std::printf("  %s: write outside the output\n", name);
      ++bad;
      break;
    }
  if (protocol_errors(name) != 0) ++bad;
  const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  const bool ok = bad == 0 && rel <= tol;
  std::printf("%-4s %-56s B%lld Hq%lld Hkv%lld Sq%lld Sk%lld cap%lld D%lld causal=%d mask=%d: rel %.2e bad %d\n",
              ok ? "ok" : "FAIL", name, (long long)B, (long long)hq, (long long)hkv, (long long)sq, (long long)sk,
              (long long)cap, (long long)d, c.causal ? 1 : 0, c.mask, rel, bad);
  std::fflush(stdout);
  return ok;
}

// The body of a tensor-core harness's main: the fixed cases and the fuzz cases of `seed`, each run as
// check(case, T{}) with T = __half or __nv_bfloat16 as the case says (check returns whether it passed); prints
// "all passed" or "FAILED" and returns the exit status.
template <typename Check>
int run_tensor_core_cases(uint64_t seed, Check check) {
  std::vector<Case> cases = tensor_core_cases();
  for (Case &c : fuzz_cases(seed)) cases.push_back(std::move(c));
  int failed = 0;
  for (const Case &c : cases)
    if (!(c.f16 ? check(c, __half{}) : check(c, __nv_bfloat16{}))) ++failed;
  std::printf("%s\n", failed ? "FAILED" : "all passed");
  return failed ? 1 : 0;
}
}  // namespace emu

#endif  // TESSERA_NATIVE_TEST_CUDA_EMULATION_H
