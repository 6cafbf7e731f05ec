// The INT8 linear layer (tessera/qgemm.h: quantize, pack, product) against references computed here, run by ctest
// once per ISA (native/CMakeLists.txt): the AVX-512 VNNI path where the CPU has it and the portable loop otherwise
// (TESSERA_CPU_ISA below avx512, and AArch64 under QEMU through native/cross/check-aarch64.sh), which the JVM's
// Int8LinearTest reaches on x86-64 only. The quantization is checked against the ONNX DynamicQuantizeLinear formula
// in float (scale, round-half-even zero point and values, padding bytes zeroed, row sums, groups, invalid rows);
// the product against the exact integer sum with both zero points removed, scaled and finished as qgemm.h says, for
// k not a multiple of 4, column tails, decode rows, strided q / out / residual, every activation; and the same bits
// for 1, 2 and 3 threads and for dense and padded layouts.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "test_support.h"
#include "tessera/gemm.h"
#include "tessera/qgemm.h"

static int g_fail = 0;
static std::mt19937_64 g_rng(99);

struct Shape {
  int64_t m, k, n, group;
  int act;
  bool bias, residual;
  int64_t pad;  // extra elements per row of q, out and residual
};

static void check(const Shape &s) {
  char name[128];
  std::snprintf(name, sizeof name, "m=%lld k=%lld n=%lld group=%lld act=%d%s%s pad=%lld", (long long)s.m,
                (long long)s.k, (long long)s.n, (long long)s.group, s.act, s.bias ? " bias" : "",
                s.residual ? " residual" : "", (long long)s.pad);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> wd(-128, 127), zd(-20, 20);
  const int64_t ldx = s.k + 3, kp = (s.k + 3) / 4 * 4, ldq = kp + 4 * s.pad, ldo = s.n + s.pad;
  std::vector<float> x(static_cast<size_t>(s.m * ldx)), bias(s.n), res(static_cast<size_t>(s.m * ldo)), sw(s.n);
  for (auto &v : x) v = nd(g_rng);
  for (int64_t i = 0; i < s.m; ++i) x[i * ldx] += static_cast<float>(i % 3);  // groups with other ranges
  for (auto &v : bias) v = nd(g_rng);
  for (auto &v : res) v = nd(g_rng);
  for (auto &v : sw) v = 0.01f * (1.0f + std::fabs(nd(g_rng)));
  std::vector<int8_t> w(static_cast<size_t>(s.n * s.k));
  for (auto &v : w) v = static_cast<int8_t>(wd(g_rng));
  std::vector<int32_t> zw(s.n);
  for (auto &v : zw) v = zd(g_rng);
  std::vector<uint8_t> valid(s.m, 1);
  if (s.m > 2) valid[1] = 0;  // a row left out of its group's range (still quantized with it)

  // quantize
  std::vector<uint8_t> q(static_cast<size_t>(s.m * ldq), 0xAB);
  std::vector<int32_t> rows(s.m), zx(s.m);
  std::vector<float> sx(s.m);
  tsr_cpu_set_threads(2);
  if (tsr_cpu_quantize_u8(x.data(), s.m, s.k, ldx, s.group, valid.data(), q.data(), ldq, rows.data(), sx.data(),
                          zx.data()) != TSR_OK) {
    ++g_fail;
    std::printf("FAIL %s: quantize status (%s)\n", name, tsr_last_error());
    return;
  }
  int64_t qbad = 0;
  for (int64_t g0 = 0; g0 < s.m; g0 += s.group) {
    const int64_t g1 = g0 + s.group < s.m ? g0 + s.group : s.m;
    float lo = 0, hi = 0;  // the range widened to include 0, over the valid rows; the arithmetic in float, as ONNX
    for (int64_t i = g0; i < g1; ++i)
      if (valid[i])
        for (int64_t kk = 0; kk < s.k; ++kk) {
          lo = std::fmin(lo, x[i * ldx + kk]);
          hi = std::fmax(hi, x[i * ldx + kk]);
        }
    const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    const float zp = std::nearbyint(std::fmax(0.0f, std::fmin(255.0f, 0.0f - lo / scale)));
    for (int64_t i = g0; i < g1; ++i) {
      qbad += sx[i] != scale || zx[i] != static_cast<int32_t>(zp);
      int64_t sum = 0;
      for (int64_t kk = 0; kk < ldq; ++kk) {
        const float v = kk >= s.k ? 0.0f : std::fmin(255.0f - zp, std::fmax(-zp, std::nearbyint(x[i * ldx + kk] / scale)));
        const int expect = kk >= s.k ? 0 : static_cast<int>(v + zp);
        qbad += q[i * ldq + kk] != expect;
        sum += q[i * ldq + kk];
      }
      qbad += rows[i] != sum;
    }
  }
  if (qbad) {
    ++g_fail;
    std::printf("FAIL %s: %lld quantization values off DynamicQuantizeLinear\n", name, (long long)qbad);
  }

  // pack and multiply at 1, 2, 3 threads
  std::vector<uint8_t> packed(static_cast<size_t>(tsr_cpu_qgemm_packed_bytes(s.n, s.k)) + 64);
  void *pk = packed.data() + (64 - reinterpret_cast<uintptr_t>(packed.data()) % 64) % 64;
  if (tsr_cpu_qgemm_pack_s8(w.data(), s.k, 1, s.n, s.k, pk) != TSR_OK) {
    ++g_fail;
    std::printf("FAIL %s: pack status\n", name);
    return;
  }
  std::vector<float> out[3];
  if (!tsr_test::run_at_thread_counts(name, out, 3, [&](std::vector<float> &o) {
        o.assign(static_cast<size_t>(s.m * ldo), -5.0f);
        return tsr_cpu_qgemm_f32(q.data(), ldq, rows.data(), sx.data(), zx.data(), pk, zw.data(), sw.data(), s.m, s.n,
                                 s.k, s.bias ? bias.data() : nullptr, s.act, s.residual ? res.data() : nullptr, ldo,
                                 o.data(), ldo);
      })) {
    ++g_fail;
    return;
  }
  int64_t bad = 0, gap = 0;
  double worst = 0;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < ldo; ++j) {
      const float got = out[0][i * ldo + j];
      if (j >= s.n) {
        gap += got != -5.0f;
        continue;
      }
      int64_t acc = 0;  // exact
      for (int64_t kk = 0; kk < s.k; ++kk)
        acc += static_cast<int64_t>(q[i * ldq + kk] - zx[i]) * (static_cast<int64_t>(w[j * s.k + kk]) - zw[j]);
      const float prod = sx[i] * sw[j];  // fp32, as qgemm.h says
      double ref = static_cast<double>(static_cast<float>(acc)) * prod + (s.bias ? bias[j] : 0.0);
      ref = tsr_test::ref_act(s.act, ref) + (s.residual ? res[i * ldo + j] : 0.0);
      const double err = std::fabs(got - ref) / (1.0 + std::fabs(ref));
      if (!(err <= worst)) worst = err;
      bad += !(err <= 2e-6);
    }
  if (bad || gap) {
    ++g_fail;
    std::printf("FAIL %s: %lld outputs off the reference (worst %.3g), %lld gap floats written\n", name,
                (long long)bad, worst, (long long)gap);
  }
  g_fail += tsr_test::thread_counts_differing(name, out, 3);
  std::printf("ok   %-58s worst %.2e\n", name, worst);
}

int main() {
  std::printf("qgemm_test on %s (VNNI path: %d)\n", tsr_cpu_simd(), tsr_cpu_qgemm_vnni());
  const Shape shapes[] = {
      {1, 1, 1, 1, TSR_ACT_NONE, false, false, 0},
      {1, 384, 1152, 1, TSR_ACT_NONE, true, false, 0},          // decode row
      {3, 387, 70, 3, TSR_ACT_GELU, true, true, 2},             // k % 4 = 3, column tail, padded rows
      {17, 64, 33, 17, TSR_ACT_RELU, true, false, 0},
      {128, 384, 384, 128, TSR_ACT_NONE, true, true, 0},        // MiniLM's o projection
      {128, 384, 1536, 32, TSR_ACT_GELU, true, false, 1},       // per-sentence groups of 32 rows
      {300, 1030, 45, 300, TSR_ACT_SILU, false, true, 3},       // k over 1024
      {50, 101, 2000, 7, TSR_ACT_QUICK_GELU, true, false, 0},  // many panels, uneven groups
      {40, 256, 96, 40, TSR_ACT_GELU_TANH, true, true, 0},
  };
  for (const Shape &s : shapes) check(s);
  if (g_fail) {
    std::printf("%d failure(s)\n", g_fail);
    return 1;
  }
  std::printf("all passed\n");
  return 0;
}
