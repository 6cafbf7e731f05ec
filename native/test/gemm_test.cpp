// The CPU linear-layer GEMM (tsr_cpu_gemm_pack_f32 + tsr_cpu_gemm_packed_f32, tessera/gemm.h) against float64, run
// by ctest once per ISA (native/CMakeLists.txt), so every ISA copy of src/cpu/kernels/gemm_kernels.cpp is checked
// where it is built (AArch64's portable copy under QEMU through native/cross/check-aarch64.sh), not only through the
// JVM's LinearTest on x86-64. Shapes cover the register tile's row and column tails (m, n not multiples of the ISA's
// MR or of TSR_GEMM_NR = 32), k cut into several slices (k > 1024), decode-sized m (1-3 rows: the panels-only
// split), strided x / out / residual, a weight packed from its transpose, every fused activation with bias and
// residual (the residual also aliasing out), NaN reaching only its row and column, the same bits for 1, 2 and 3
// threads, and each activation over a sweep of inputs (infinities and NaN included) in both epilogues.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "test_support.h"
#include "tessera/gemm.h"

static int g_fail = 0;
static std::mt19937_64 g_rng(77);

static std::vector<float> randn(int64_t n) { return tsr_test::randn(g_rng, n); }

struct Shape {
  int64_t m, k, n;
  int act;
  bool bias, residual, alias;  // alias: the residual is out itself
  bool transposed;             // W packed from its [k, n] transpose
  int64_t pad;                 // extra floats per row of x, out and residual (strided rows)
};

static void check(const Shape &s) {
  const int64_t lda = s.k + s.pad, ldo = s.n + s.pad;
  const std::vector<float> x = randn(s.m * lda), w = randn(s.n * s.k), bias = randn(s.n);
  const std::vector<float> res0 = randn(s.m * ldo);
  std::vector<float> wt;  // [k, n]
  if (s.transposed) {
    wt.resize(w.size());
    for (int64_t j = 0; j < s.n; ++j)
      for (int64_t kk = 0; kk < s.k; ++kk) wt[kk * s.n + j] = w[j * s.k + kk];
  }
  std::vector<float> packed(static_cast<size_t>(tsr_cpu_gemm_packed_floats(s.n, s.k)));
  const int rc = s.transposed ? tsr_cpu_gemm_pack_f32(wt.data(), 1, s.n, s.n, s.k, packed.data())
                              : tsr_cpu_gemm_pack_f32(w.data(), s.k, 1, s.n, s.k, packed.data());
  char name[160];
  std::snprintf(name, sizeof name, "m=%lld k=%lld n=%lld act=%d%s%s%s%s pad=%lld", (long long)s.m, (long long)s.k,
                (long long)s.n, s.act, s.bias ? " bias" : "", s.residual ? " residual" : "",
                s.alias ? " (aliasing out)" : "", s.transposed ? " transposed" : "", (long long)s.pad);
  if (rc != TSR_OK) {
    ++g_fail;
    std::printf("FAIL %s: pack status\n", name);
    return;
  }
  std::vector<float> out[3];
  if (!tsr_test::run_at_thread_counts(name, out, 3, [&](std::vector<float> &o) {
        std::vector<float> res = res0;
        o = s.alias ? res0 : std::vector<float>(static_cast<size_t>(s.m * ldo), -3.0f);
        const float *r = !s.residual ? nullptr : s.alias ? o.data() : res.data();
        return tsr_cpu_gemm_packed_f32(x.data(), lda, packed.data(), s.m, s.n, s.k, s.bias ? bias.data() : nullptr,
                                       s.act, r, ldo, o.data(), ldo);
      })) {
    ++g_fail;
    return;
  }
  // each element within 1e-5 of the magnitudes it was summed from (sum |x w| + |bias|), plus 1e-6 relative for
  // the activation, plus the residual's rounding
  double worst = 0;
  int64_t bad = 0, pad_touched = 0;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < ldo; ++j) {
      const float got = out[0][i * ldo + j];
      if (j >= s.n) {  // the gap between rows is not written
        pad_touched += got != (s.alias ? res0[i * ldo + j] : -3.0f);
        continue;
      }
      double acc = 0, mag = 0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        const double p = static_cast<double>(x[i * lda + kk]) * w[j * s.k + kk];
        acc += p;
        mag += std::fabs(p);
      }
      if (s.bias) {
        acc += bias[j];
        mag += std::fabs(bias[j]);
      }
      double ref = tsr_test::ref_act(s.act, acc);
      double tol = 1e-5 * mag + 1e-6 * std::fabs(ref);
      if (s.residual) {
        ref += res0[i * ldo + j];
        tol += 1e-7 * std::fabs(res0[i * ldo + j]);
      }
      const double err = std::fabs(static_cast<double>(got) - ref);
      if (!(err <= tol)) ++bad;
      const double rel = err / (tol > 0 ? tol : 1);
      if (!(rel <= worst)) worst = rel;
    }
  if (bad || pad_touched) {
    ++g_fail;
    std::printf("FAIL %s: %lld elements beyond tolerance (worst %.2f of it), %lld gap floats written\n", name,
                (long long)bad, worst, (long long)pad_touched);
  }
  g_fail += tsr_test::thread_counts_differing(name, out, 3);
  if (s.alias) {  // the same bits as with the residual in a buffer of its own
    std::vector<float> sep(static_cast<size_t>(s.m * ldo), 0.0f);
    tsr_cpu_gemm_packed_f32(x.data(), lda, packed.data(), s.m, s.n, s.k, s.bias ? bias.data() : nullptr, s.act,
                            res0.data(), ldo, sep.data(), ldo);
    for (int64_t i = 0; i < s.m; ++i)
      if (std::memcmp(sep.data() + i * ldo, out[0].data() + i * ldo, s.n * sizeof(float)) != 0) {
        ++g_fail;
        std::printf("FAIL %s: not the bits of a separate residual (row %lld)\n", name, (long long)i);
        break;
      }
  }
  std::printf("ok   %-62s worst %.3f of the tolerance\n", name, worst);
}

// A NaN in x[i0, k0] reaches exactly row i0 of the output; one in W[j0, k0] exactly column j0.
static void check_nan() {
  const int64_t m = 29, k = 1100, n = 70, i0 = 17, j0 = 45, k0 = 1050;
  std::vector<float> x = randn(m * k), w = randn(n * k);
  x[i0 * k + k0] = NAN;
  w[j0 * k + 3] = NAN;
  std::vector<float> packed(static_cast<size_t>(tsr_cpu_gemm_packed_floats(n, k))), out(m * n);
  tsr_cpu_set_threads(2);
  tsr_cpu_gemm_pack_f32(w.data(), k, 1, n, k, packed.data());
  if (tsr_cpu_gemm_packed_f32(x.data(), k, packed.data(), m, n, k, nullptr, TSR_ACT_GELU, nullptr, 0, out.data(), n) !=
      TSR_OK) {
    ++g_fail;
    std::printf("FAIL nan: status\n");
    return;
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (std::isnan(out[i * n + j]) != (i == i0 || j == j0)) {
        ++g_fail;
        std::printf("FAIL nan: element (%lld, %lld)\n", (long long)i, (long long)j);
        return;
      }
  std::printf("ok   NaN in x and in W reach exactly their row and column\n");
}

// Each fused activation over a sweep of its input (dense over [-12, 12], then out to +-1e4, and +-0, +-inf, NaN),
// through the GEMM's tile epilogue (k = 1, W = 1: every column of row i is x_i) and through the stand-alone
// epilogue (tsr_cpu_linear_epilogue_f32), against float64: |error| <= 1e-6 (1 + |exact|), so a result that should
// be ~0 for a large negative x must be ~0 (the AVX-512 GELU table once gave -2.3e-8 |x| there); gelu(-inf) and the
// sigmoid forms at -inf are -0, +inf stays +inf, NaN stays NaN.
static void check_act_values() {
  std::vector<float> xs;
  for (int i = -1200; i <= 1200; ++i) xs.push_back(i * 0.01f);
  for (float v = 12.5f; v < 1e4f; v *= 1.25f) {
    xs.push_back(v);
    xs.push_back(-v);
  }
  const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, INFINITY, -INFINITY, NAN};
  for (float v : special) xs.push_back(v);
  const int64_t m = static_cast<int64_t>(xs.size()), n = 35;
  const std::vector<float> ones(n, 1.0f);
  std::vector<float> packed(static_cast<size_t>(tsr_cpu_gemm_packed_floats(n, 1)));
  tsr_cpu_gemm_pack_f32(ones.data(), 1, 1, n, 1, packed.data());
  tsr_cpu_set_threads(2);
  for (int act = 1; act < TSR_ACT_COUNT; ++act) {
    for (int path = 0; path < 2; ++path) {
      std::vector<float> out(static_cast<size_t>(m * n));
      int rc;
      if (path == 0) {
        rc = tsr_cpu_gemm_packed_f32(xs.data(), 1, packed.data(), m, n, 1, nullptr, act, nullptr, 0, out.data(), n);
      } else {
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) out[i * n + j] = xs[i];
        rc = tsr_cpu_linear_epilogue_f32(out.data(), n, m, n, nullptr, act, nullptr, 0);
      }
      const char *where = path == 0 ? "tile epilogue" : "stand-alone epilogue";
      if (rc != TSR_OK) {
        ++g_fail;
        std::printf("FAIL act %d, %s: status\n", act, where);
        continue;
      }
      int64_t bad = 0;
      double worst = 0, worst_x = 0;
      for (int64_t i = 0; i < m; ++i) {
        const float x = xs[i];
        for (int64_t j = 0; j < n; ++j) {
          const float got = out[i * n + j];
          bool ok;
          if (std::isnan(x)) {
            ok = std::isnan(got);
          } else if (std::isinf(x)) {
            const float want = x > 0 ? x : (act == TSR_ACT_RELU ? 0.0f : -0.0f);
            ok = got == want && std::signbit(got) == std::signbit(want);
          } else {
            const double ref = tsr_test::ref_act(act, x);
            const double err = std::fabs(got - ref) / (1.0 + std::fabs(ref));
            if (err > worst) worst = err, worst_x = x;
            ok = err <= 1e-6;
          }
          if (!ok && bad++ < 3)
            std::printf("  act %d, %s: x = %.9g gives %.9g\n", act, where, static_cast<double>(x),
                        static_cast<double>(got));
        }
      }
      if (bad) {
        ++g_fail;
        std::printf("FAIL act %d, %s: %lld outputs off\n", act, where, (long long)bad);
      } else {
        std::printf("ok   act %d over %lld inputs, %-22s worst %.2e (1 + |exact|) at x = %.4g\n", act, (long long)m,
                    where, worst, worst_x);
      }
    }
  }
}

// The bfloat16 weight form: every element of the pack is the weight rounded to nearest even (checked against a
// rounding written here from the definition), and the product on it has exactly the bits of the fp32 product on the
// rounded weight (same sums in the same order), at 1, 2 and 3 threads.
static uint16_t ref_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40);
  const uint32_t lower = u & 0xffff, upper = u >> 16;
  const bool up = lower > 0x8000 || (lower == 0x8000 && (upper & 1));
  return static_cast<uint16_t>(upper + (up ? 1 : 0));
}

static void check_bf16(const Shape &s) {
  const int64_t lda = s.k + s.pad, ldo = s.n + s.pad;
  const std::vector<float> x = randn(s.m * lda), bias = randn(s.n), res0 = randn(s.m * ldo);
  std::vector<float> w = randn(s.n * s.k);
  if (w.size() > 4) {  // exact ties and specials among the weights
    const uint32_t tie = 0x3f808000u, tie2 = 0x3f818000u;
    std::memcpy(&w[0], &tie, 4);
    std::memcpy(&w[1], &tie2, 4);
    w[2] = 3.4e38f;  // rounds up to infinity in bfloat16
    w[3] = -1e-40f;  // subnormal
  }
  std::vector<float> rounded(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const uint32_t u = static_cast<uint32_t>(ref_bf16(w[i])) << 16;
    std::memcpy(&rounded[i], &u, 4);
  }
  std::vector<uint16_t> pb(static_cast<size_t>(tsr_cpu_gemm_packed_floats(s.n, s.k)), 0xffff);
  std::vector<float> pf(pb.size());
  char name[120];
  std::snprintf(name, sizeof name, "bf16 m=%lld k=%lld n=%lld act=%d pad=%lld", (long long)s.m, (long long)s.k,
                (long long)s.n, s.act, (long long)s.pad);
  if (tsr_cpu_gemm_pack_bf16(w.data(), s.k, 1, s.n, s.k, pb.data()) != TSR_OK ||
      tsr_cpu_gemm_pack_f32(rounded.data(), s.k, 1, s.n, s.k, pf.data()) != TSR_OK) {
    ++g_fail;
    std::printf("FAIL %s: pack status\n", name);
    return;
  }
  for (size_t i = 0; i < pb.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &pf[i], 4);
    if (pb[i] != static_cast<uint16_t>(u >> 16) || (u & 0xffff) != 0) {
      ++g_fail;
      std::printf("FAIL %s: packed element %lld is %04x, the rounded weight %08x\n", name, (long long)i, pb[i], u);
      return;
    }
  }
  std::vector<float> want(static_cast<size_t>(s.m * ldo), -3.0f);
  tsr_cpu_gemm_packed_f32(x.data(), lda, pf.data(), s.m, s.n, s.k, s.bias ? bias.data() : nullptr, s.act,
                          s.residual ? res0.data() : nullptr, ldo, want.data(), ldo);
  std::vector<float> out[3];
  if (!tsr_test::run_at_thread_counts(name, out, 3, [&](std::vector<float> &o) {
        o.assign(static_cast<size_t>(s.m * ldo), -3.0f);
        return tsr_cpu_gemm_packed_bf16(x.data(), lda, pb.data(), s.m, s.n, s.k, s.bias ? bias.data() : nullptr,
                                        s.act, s.residual ? res0.data() : nullptr, ldo, o.data(), ldo);
      })) {
    ++g_fail;
    return;
  }
  for (int t = 0; t < 3; ++t)
    if (std::memcmp(out[t].data(), want.data(), want.size() * sizeof(float)) != 0) {
      ++g_fail;
      std::printf("FAIL %s: not the bits of the fp32 product on the rounded weight (run %d)\n", name, t);
      return;
    }
  std::printf("ok   %-62s the bits of fp32 on the rounded weight\n", name);
}

// The int8 weight form: each packed byte and scale is the symmetric per-feature quantization written here from the
// definition (s_j = max |W[j, :]| / 127, q = W / s_j to nearest even), an all-zero feature included, and the product
// on it has exactly the bits of the fp32 product on the weight q, times s_j, then the stand-alone epilogue, at 1, 2
// and 3 threads; a weight holding a NaN or an infinity is refused.
static void check_s8(const Shape &s) {
  const int64_t lda = s.k + s.pad, ldo = s.n + s.pad;
  const std::vector<float> x = randn(s.m * lda), bias = randn(s.n), res0 = randn(s.m * ldo);
  std::vector<float> w = randn(s.n * s.k);
  if (s.n > 2) {
    for (int64_t kk = 0; kk < s.k; ++kk) w[1 * s.k + kk] = 0.0f;  // an all-zero feature
    w[2 * s.k] = 127.0f;                                          // feature 2: scale 1, exact ties 0.5 and 2.5
    if (s.k > 2) w[2 * s.k + 1] = 0.5f, w[2 * s.k + 2] = -2.5f;
  }
  std::vector<float> wt;  // [k, n]
  if (s.transposed) {
    wt.resize(w.size());
    for (int64_t j = 0; j < s.n; ++j)
      for (int64_t kk = 0; kk < s.k; ++kk) wt[kk * s.n + j] = w[j * s.k + kk];
  }
  std::vector<float> scale(static_cast<size_t>(s.n)), qf(w.size());
  for (int64_t j = 0; j < s.n; ++j) {
    float mx = 0.0f;
    for (int64_t kk = 0; kk < s.k; ++kk) mx = std::fmax(mx, std::fabs(w[j * s.k + kk]));
    scale[j] = mx / 127.0f;
    for (int64_t kk = 0; kk < s.k; ++kk) {
      const float q = scale[j] > 0 ? std::nearbyint(w[j * s.k + kk] / scale[j]) : 0.0f;
      qf[j * s.k + kk] = std::fmin(127.0f, std::fmax(-127.0f, q));
    }
  }
  const int64_t bytes = tsr_cpu_gemm_packed_s8_bytes(s.n, s.k);
  std::vector<unsigned char> pq(static_cast<size_t>(bytes) + 64, 0xa5);
  unsigned char *pqa = pq.data() + (64 - reinterpret_cast<uintptr_t>(pq.data()) % 64) % 64;  // 64-byte aligned
  std::vector<float> pf(static_cast<size_t>(tsr_cpu_gemm_packed_floats(s.n, s.k)));
  char name[120];
  std::snprintf(name, sizeof name, "s8 m=%lld k=%lld n=%lld act=%d%s pad=%lld", (long long)s.m, (long long)s.k,
                (long long)s.n, s.act, s.transposed ? " transposed" : "", (long long)s.pad);
  const int rc = s.transposed ? tsr_cpu_gemm_pack_s8(wt.data(), 1, s.n, s.n, s.k, pqa)
                              : tsr_cpu_gemm_pack_s8(w.data(), s.k, 1, s.n, s.k, pqa);
  if (rc != TSR_OK || tsr_cpu_gemm_pack_f32(qf.data(), s.k, 1, s.n, s.k, pf.data()) != TSR_OK) {
    ++g_fail;
    std::printf("FAIL %s: pack status\n", name);
    return;
  }
  const int64_t panel_bytes = (static_cast<int64_t>(pf.size()) + 63) / 64 * 64;
  for (size_t i = 0; i < pf.size(); ++i)
    if (static_cast<float>(static_cast<int8_t>(pqa[i])) != pf[i]) {
      ++g_fail;
      std::printf("FAIL %s: packed byte %lld is %d, q is %g\n", name, (long long)i, static_cast<int8_t>(pqa[i]),
                  static_cast<double>(pf[i]));
      return;
    }
  const float *ps = reinterpret_cast<const float *>(pqa + panel_bytes);
  const int64_t npad = (s.n + TSR_GEMM_NR - 1) / TSR_GEMM_NR * TSR_GEMM_NR;
  if (bytes != panel_bytes + npad * 4) {
    ++g_fail;
    std::printf("FAIL %s: %lld bytes\n", name, (long long)bytes);
    return;
  }
  for (int64_t j = 0; j < npad; ++j)
    if (std::memcmp(&ps[j], j < s.n ? &scale[j] : &pf[0], 4) != 0 && !(j >= s.n && ps[j] == 0.0f)) {
      ++g_fail;
      std::printf("FAIL %s: scale %lld is %g\n", name, (long long)j, static_cast<double>(ps[j]));
      return;
    }
  std::vector<float> want(static_cast<size_t>(s.m * ldo), -3.0f);
  tsr_cpu_gemm_packed_f32(x.data(), lda, pf.data(), s.m, s.n, s.k, nullptr, TSR_ACT_NONE, nullptr, 0, want.data(),
                          ldo);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) want[i * ldo + j] = want[i * ldo + j] * scale[j];
  tsr_cpu_linear_epilogue_f32(want.data(), ldo, s.m, s.n, s.bias ? bias.data() : nullptr, s.act,
                              s.residual ? res0.data() : nullptr, ldo);
  if (s.alias)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = s.n; j < ldo; ++j) want[i * ldo + j] = res0[i * ldo + j];
  std::vector<float> out[3];
  if (!tsr_test::run_at_thread_counts(name, out, 3, [&](std::vector<float> &o) {
        o = s.alias ? res0 : std::vector<float>(static_cast<size_t>(s.m * ldo), -3.0f);
        const float *r = !s.residual ? nullptr : s.alias ? o.data() : res0.data();
        return tsr_cpu_gemm_packed_s8(x.data(), lda, pqa, s.m, s.n, s.k, s.bias ? bias.data() : nullptr, s.act, r,
                                      ldo, o.data(), ldo);
      })) {
    ++g_fail;
    return;
  }
  for (int t = 0; t < 3; ++t)
    if (std::memcmp(out[t].data(), want.data(), want.size() * sizeof(float)) != 0) {
      ++g_fail;
      std::printf("FAIL %s: not the bits of the fp32 product on q times the scales (run %d)\n", name, t);
      return;
    }
  std::printf("ok   %-62s the bits of fp32 on q, scaled\n", name);
}

static void check_s8_refusals() {
  const int64_t n = 40, k = 9;
  std::vector<float> w = randn(n * k);
  std::vector<unsigned char> pq(static_cast<size_t>(tsr_cpu_gemm_packed_s8_bytes(n, k)));
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (float b : bad) {
    w[37 * k + 4] = b;
    if (tsr_cpu_gemm_pack_s8(w.data(), k, 1, n, k, pq.data()) != TSR_ERR_ARG ||
        std::strstr(tsr_last_error(), "output feature 37") == nullptr) {
      ++g_fail;
      std::printf("FAIL s8: a weight holding %g was not refused (%s)\n", static_cast<double>(b), tsr_last_error());
      return;
    }
  }
  std::printf("ok   s8: weights holding NaN or an infinity refused with the feature named\n");
}

int main() {
  std::printf("gemm_test on %s\n", tsr_cpu_simd());
  const Shape shapes[] = {
      {1, 1, 1, TSR_ACT_NONE, false, false, false, false, 0},
      {1, 384, 1152, TSR_ACT_NONE, true, false, false, false, 0},      // decode row
      {3, 700, 95, TSR_ACT_SILU, true, true, false, false, 5},         // decode rows, tails, strided
      {13, 37, 33, TSR_ACT_RELU, true, false, false, false, 0},        // one row / column past the tiles
      {128, 384, 384, TSR_ACT_NONE, true, true, true, false, 0},       // MiniLM's o projection, residual = out
      {128, 384, 1536, TSR_ACT_GELU, true, false, false, false, 0},    // MiniLM's up projection
      {197, 768, 100, TSR_ACT_GELU_TANH, true, false, false, true, 3}, // ViT rows, transposed weight, strided
      {61, 2100, 77, TSR_ACT_QUICK_GELU, true, true, false, false, 0}, // three k slices
      {300, 1025, 40, TSR_ACT_NONE, false, true, true, false, 7},      // two slices, residual = out (was wrong
      {30, 3000, 40, TSR_ACT_GELU, true, true, true, false, 0},        //   before session 27: slice 0 overwrote it)
      {3, 3000, 40, TSR_ACT_NONE, false, true, true, false, 0},        // decode rows stream k in one pass
      {40, 5, 2000, TSR_ACT_GELU, false, false, false, false, 0},      // short k, many panels
  };
  for (const Shape &s : shapes) check(s);
  for (const Shape &s : shapes) check_bf16(s);
  for (const Shape &s : shapes) check_s8(s);
  check_s8_refusals();
  check_nan();
  check_act_values();
  if (g_fail) {
    std::printf("%d failure(s)\n", g_fail);
    return 1;
  }
  std::printf("all passed\n");
  return 0;
}
