// Check of the tsr_cpu_* kernels against float64 references, run by ctest on every ISA (native/CMakeLists.txt;
// Maven's test phase of native/). By hand:
//   g++ -std=c++17 -O2 -I native/include -I native/src native/test/cpu_core_test.cpp -o /tmp/cpu_core_test
//       -L /tmp/tsr-cpu-build/lib -ltessera -Wl,-rpath,/tmp/tsr-cpu-build/lib -lpthread
//   for i in scalar avx2 avx512; do TESSERA_CPU_ISA=$i /tmp/cpu_core_test; done
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/view_dims.h"
#include "ref_half.h"
#include "tessera/core.h"

static int g_fail = 0;
static std::map<std::string, double> g_worst;
static std::mt19937_64 g_rng(1234);

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      ++g_fail;                                            \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__);     \
      std::printf(__VA_ARGS__);                            \
      std::printf("\n");                                   \
    }                                                      \
  } while (0)

static std::vector<float> randn(int64_t n, double sd = 1.0, double mean = 0.0) {
  std::normal_distribution<double> d(mean, sd);
  std::vector<float> v(n);
  for (auto &x : v) x = static_cast<float>(d(g_rng));
  return v;
}

static double rel_err(const std::vector<float> &out, const std::vector<double> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = out[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  if (den == 0) return std::sqrt(num);
  return std::sqrt(num / den);
}

static void record(const std::string &op, const std::vector<float> &out, const std::vector<double> &ref,
                   double tol = 1e-6) {
  const double e = rel_err(out, ref);
  double &w = g_worst[op];
  if (!(e <= w)) w = e;
  CHECK(e <= tol, "%s rel err %.3g (n=%zu)", op.c_str(), e, ref.size());
}

static const int64_t kSizes[] = {1, 7, 33, 1000, 4097, 100003};

static void test_binary() {
  const char *names[] = {"add", "sub", "mul", "div"};
  for (int op = 0; op < 4; ++op)
    for (int64_t n : kSizes) {
      auto a = randn(n), b = randn(n);
      if (op == 3)
        for (auto &x : b) x = x >= 0 ? x + 0.5f : x - 0.5f;
      std::vector<float> out(n);
      std::vector<double> ref(n);
      for (int64_t i = 0; i < n; ++i) {
        const double x = a[i], y = b[i];
        ref[i] = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
      }
      CHECK(tsr_cpu_binary_f32(op, a.data(), b.data(), out.data(), n) == 0, "binary rc");
      record(std::string("binary_") + names[op], out, ref);
      // out aliasing a
      CHECK(tsr_cpu_binary_f32(op, a.data(), b.data(), a.data(), n) == 0, "binary alias rc");
      CHECK(std::memcmp(a.data(), out.data(), n * 4) == 0, "binary alias differs (op %d n %lld)", op, (long long)n);
    }
  // binary_row
  for (int op = 0; op < 4; ++op)
    for (int64_t rows : {1, 3, 257})
      for (int64_t cols : {1, 7, 33, 1000, 4097}) {
        auto x = randn(rows * cols), row = randn(cols);
        if (op == 3)
          for (auto &v : row) v = v >= 0 ? v + 0.5f : v - 0.5f;
        std::vector<float> out(rows * cols);
        std::vector<double> ref(rows * cols);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            const double a = x[r * cols + c], b = row[c];
            ref[r * cols + c] = op == 0 ? a + b : op == 1 ? a - b : op == 2 ? a * b : a / b;
          }
        CHECK(tsr_cpu_binary_row_f32(op, x.data(), row.data(), out.data(), rows, cols) == 0, "binary_row rc");
        record(std::string("binary_row_") + names[op], out, ref);
      }
  for (int64_t n : kSizes) {
    auto x = randn(n);
    std::vector<float> out(n);
    std::vector<double> ref(n);
    for (int64_t i = 0; i < n; ++i) ref[i] = 1.7 * x[i] - 0.3;
    CHECK(tsr_cpu_affine_f32(x.data(), 1.7f, -0.3f, out.data(), n) == 0, "affine rc");
    std::vector<double> ref2(n);
    for (int64_t i = 0; i < n; ++i) ref2[i] = (double)1.7f * x[i] + (double)-0.3f;
    record("affine", out, ref2);
  }
}

static void test_norms() {
  for (int64_t rows : {1, 5, 64})
    for (int64_t cols : {1, 7, 33, 1000, 4097, 65536}) {
      if (rows * cols > 5000000) continue;
      for (double mean : {0.0, 100.0}) {
        auto x = randn(rows * cols, 2.0, mean), g = randn(cols), b = randn(cols);
        const float eps = 1e-5f;
        for (int variant = 0; variant < 4; ++variant) {
          const float *gp = (variant & 1) ? g.data() : nullptr;
          const float *bp = (variant & 2) ? b.data() : nullptr;
          std::vector<float> out(rows * cols);
          std::vector<double> ref(rows * cols);
          for (int64_t r = 0; r < rows; ++r) {
            const float *xr = &x[r * cols];
            double m = 0, v = 0;
            for (int64_t c = 0; c < cols; ++c) m += xr[c];
            m /= cols;
            for (int64_t c = 0; c < cols; ++c) v += (xr[c] - m) * (xr[c] - m);
            v /= cols;
            const double rs = 1.0 / std::sqrt(v + eps);
            for (int64_t c = 0; c < cols; ++c)
              ref[r * cols + c] = (xr[c] - m) * rs * (gp ? gp[c] : 1.0) + (bp ? bp[c] : 0.0);
          }
          CHECK(tsr_cpu_layer_norm_f32(x.data(), gp, bp, out.data(), rows, cols, eps) == 0, "ln rc");
          record("layer_norm", out, ref, 1e-5);  // fp32 sums within 1024-element blocks (DESIGN.md), as F32_TOL
        }
        for (int variant = 0; variant < 2; ++variant) {
          const float *gp = variant ? g.data() : nullptr;
          std::vector<float> out(rows * cols);
          std::vector<double> ref(rows * cols);
          for (int64_t r = 0; r < rows; ++r) {
            const float *xr = &x[r * cols];
            double s = 0;
            for (int64_t c = 0; c < cols; ++c) s += (double)xr[c] * xr[c];
            const double rs = 1.0 / std::sqrt(s / cols + eps);
            for (int64_t c = 0; c < cols; ++c) ref[r * cols + c] = xr[c] * rs * (gp ? gp[c] : 1.0);
          }
          CHECK(tsr_cpu_rms_norm_f32(x.data(), gp, out.data(), rows, cols, eps) == 0, "rms rc");
          record("rms_norm", out, ref);
        }
      }
    }
  // NaN propagation
  for (int64_t cols : {7, 33, 1000}) {
    auto x = randn(2 * cols);
    x[cols / 2] = NAN;
    std::vector<float> out(2 * cols);
    tsr_cpu_layer_norm_f32(x.data(), nullptr, nullptr, out.data(), 2, cols, 1e-5f);
    for (int64_t c = 0; c < cols; ++c) CHECK(std::isnan(out[c]), "layer_norm NaN not propagated at %lld", (long long)c);
    for (int64_t c = cols; c < 2 * cols; ++c) CHECK(std::isfinite(out[c]), "layer_norm NaN leaked into next row");
    tsr_cpu_rms_norm_f32(x.data(), nullptr, out.data(), 2, cols, 1e-5f);
    for (int64_t c = 0; c < cols; ++c) CHECK(std::isnan(out[c]), "rms_norm NaN not propagated");
    tsr_cpu_softmax_f32(x.data(), out.data(), 2, cols, 0);
    for (int64_t c = 0; c < cols; ++c) CHECK(std::isnan(out[c]), "softmax NaN not propagated at %lld", (long long)c);
    for (int64_t c = cols; c < 2 * cols; ++c) CHECK(std::isfinite(out[c]), "softmax NaN leaked into next row");
  }
}

static void test_softmax() {
  for (int64_t rows : {1, 6, 64})
    for (int64_t cols : {1, 7, 33, 1000, 4097, 65536})
      for (int64_t cq : {int64_t(0), int64_t(1), int64_t(3), int64_t(6), cols, cols + 2}) {
        if (rows * cols > 5000000) continue;
        auto x = randn(rows * cols, 3.0);
        std::vector<float> out(rows * cols, 123.0f);
        std::vector<double> ref(rows * cols, 0.0);
        for (int64_t r = 0; r < rows; ++r) {
          int64_t vis = cols;
          if (cq > 0) vis = std::max<int64_t>(0, std::min<int64_t>(cols, r % cq + cols - cq + 1));
          if (vis == 0) continue;
          double m = -INFINITY, s = 0;
          for (int64_t c = 0; c < vis; ++c) m = std::max(m, (double)x[r * cols + c]);
          for (int64_t c = 0; c < vis; ++c) s += std::exp(x[r * cols + c] - m);
          for (int64_t c = 0; c < vis; ++c) ref[r * cols + c] = std::exp(x[r * cols + c] - m) / s;
        }
        CHECK(tsr_cpu_softmax_f32(x.data(), out.data(), rows, cols, cq) == 0, "softmax rc");
        record(cq ? "softmax_causal" : "softmax", out, ref);
        for (int64_t i = 0; i < rows * cols; ++i)
          if (ref[i] == 0.0) CHECK(out[i] == 0.0f, "softmax masked entry not 0");
      }
  // -inf entries and a large spread
  std::vector<float> x = {0.0f, -INFINITY, -1000.0f, 1.0f}, out(4);
  tsr_cpu_softmax_f32(x.data(), out.data(), 1, 4, 0);
  CHECK(out[1] == 0.0f && out[2] == 0.0f && std::fabs(out[0] + out[3] - 1.0f) < 1e-6f, "softmax -inf handling");
}

static double gelu_erf_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
static double gelu_tanh_ref(double x) {
  // 0.5 x (1 + tanh u) = x / (1 + e^{-2u}): same function, without the cancellation of 1 + tanh(u)
  // in double for u << 0.
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + std::exp(-2.0 * u));
}
static double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }

static void test_activations() {
  for (int64_t n : kSizes)
    for (double sd : {1.0, 4.0}) {
      auto x = randn(n, sd);
      std::vector<float> out(n);
      std::vector<double> r1(n), r2(n), r3(n);
      for (int64_t i = 0; i < n; ++i) {
        r1[i] = gelu_erf_ref(x[i]);
        r2[i] = gelu_tanh_ref(x[i]);
        r3[i] = silu_ref(x[i]);
      }
      CHECK(tsr_cpu_gelu_f32(x.data(), out.data(), n, 0) == 0, "gelu rc");
      record("gelu_erf", out, r1);
      CHECK(tsr_cpu_gelu_f32(x.data(), out.data(), n, 1) == 0, "gelu rc");
      record("gelu_tanh", out, r2);
      CHECK(tsr_cpu_silu_f32(x.data(), out.data(), n) == 0, "silu rc");
      record("silu", out, r3);
    }
  // Per-element relative error over a dense sweep of [-12, 12] (where outputs are not tiny).
  {
    std::vector<float> x;
    for (double v = -12; v <= 12; v += 1.0 / 512) x.push_back((float)v);
    const int64_t n = x.size();
    std::vector<float> o1(n), o2(n), o3(n);
    tsr_cpu_gelu_f32(x.data(), o1.data(), n, 0);
    tsr_cpu_gelu_f32(x.data(), o2.data(), n, 1);
    tsr_cpu_silu_f32(x.data(), o3.data(), n);
    double w1 = 0, w2 = 0, w3 = 0;
    for (int64_t i = 0; i < n; ++i) {
      auto re = [](double o, double r) { return std::fabs(r) < 1e-30 ? std::fabs(o) : std::fabs(o - r) / std::fabs(r); };
      w1 = std::max(w1, re(o1[i], gelu_erf_ref(x[i])));
      w2 = std::max(w2, re(o2[i], gelu_tanh_ref(x[i])));
      w3 = std::max(w3, re(o3[i], silu_ref(x[i])));
    }
    std::printf("  max elementwise rel err on [-12,12]: gelu_erf %.3g  gelu_tanh %.3g  silu %.3g\n", w1, w2, w3);
    CHECK(w1 < 2e-5 && w2 < 2e-5 && w3 < 2e-5, "elementwise activation error too large");
  }
  // Edge values.
  std::vector<float> x = {-100.0f, 100.0f, 30.0f, -30.0f, 1e20f, -1e20f, 0.0f, -0.0f, INFINITY, NAN, 1e-30f, -1e-30f};
  const int64_t n = x.size();
  std::vector<float> g(n), gt(n), s(n);
  tsr_cpu_gelu_f32(x.data(), g.data(), n, 0);
  tsr_cpu_gelu_f32(x.data(), gt.data(), n, 1);
  tsr_cpu_silu_f32(x.data(), s.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) {
      CHECK(std::isnan(g[i]) && std::isnan(gt[i]) && std::isnan(s[i]), "NaN not propagated by activations");
      continue;
    }
    if (std::isfinite(x[i]))
      CHECK(!std::isnan(g[i]) && !std::isnan(gt[i]) && !std::isnan(s[i]), "activation NaN for finite x=%g", x[i]);
  }
  CHECK(s[0] <= 0.0f && s[0] > -1e-30f, "silu(-100) = %g", s[0]);
  CHECK(s[1] == 100.0f, "silu(100) = %g", s[1]);
  CHECK(g[2] == 30.0f && gt[2] == 30.0f, "gelu(30) = %g / %g", g[2], gt[2]);
  CHECK(g[3] <= 0.0f && g[3] > -1e-30f && gt[3] <= 0.0f && gt[3] > -1e-30f, "gelu(-30) = %g / %g", g[3], gt[3]);
  CHECK(g[4] == 1e20f && gt[4] == 1e20f && s[4] == 1e20f, "activations at 1e20");
  CHECK(g[8] == INFINITY && gt[8] == INFINITY && s[8] == INFINITY, "activations at +inf");
  CHECK(g[10] == 0.5f * 1e-30f, "gelu(1e-30) = %g", g[10]);
}

static void test_embedding() {
  for (int64_t dim : {1, 7, 256, 4097}) {
    const int64_t vocab = 50, n = 300;
    auto table = randn(vocab * dim);
    std::vector<int32_t> i32(n);
    std::vector<int64_t> i64(n);
    for (int64_t i = 0; i < n; ++i) i64[i] = i32[i] = (int32_t)(g_rng() % vocab);
    std::vector<float> out(n * dim), out2(n * dim);
    CHECK(tsr_cpu_embedding_f32(i32.data(), TSR_I32, table.data(), out.data(), n, vocab, dim, nullptr) == 0, "emb");
    CHECK(tsr_cpu_embedding_f32(i64.data(), TSR_I64, table.data(), out2.data(), n, vocab, dim, nullptr) == 0, "emb");
    bool ok = true;
    for (int64_t i = 0; i < n; ++i)
      ok &= std::memcmp(&out[i * dim], &table[i32[i] * dim], dim * 4) == 0 &&
            std::memcmp(&out2[i * dim], &table[i32[i] * dim], dim * 4) == 0;
    CHECK(ok, "embedding rows differ (dim %lld)", (long long)dim);
    // bad ids: first bad position reported, nothing written
    i32[100] = (int32_t)vocab;
    i32[200] = -1;
    i64[37] = -5;
    i64[250] = 1LL << 40;
    std::vector<float> z(n * dim, 7.0f);
    int64_t bad = -1;
    CHECK(tsr_cpu_embedding_f32(i32.data(), TSR_I32, table.data(), z.data(), n, vocab, dim, &bad) == TSR_ERR_INDEX &&
              bad == 100, "embedding bad i32 (bad=%lld)", (long long)bad);
    CHECK(tsr_cpu_embedding_f32(i64.data(), TSR_I64, table.data(), z.data(), n, vocab, dim, &bad) == TSR_ERR_INDEX &&
              bad == 37, "embedding bad i64 (bad=%lld)", (long long)bad);
    bool untouched = true;
    for (float v : z) untouched &= v == 7.0f;
    CHECK(untouched, "embedding wrote output despite a bad id");
    CHECK(std::strstr(tsr_last_error(), "tsr_cpu_embedding_f32") != nullptr, "embedding error message");
  }
}

template <typename T>
static void transpose_case(int64_t batch, int64_t rows, int64_t cols) {
  std::vector<T> x(batch * rows * cols), out(batch * rows * cols);
  for (auto &v : x) v = (T)g_rng();
  CHECK(tsr_cpu_transpose(x.data(), out.data(), batch, rows, cols, sizeof(T)) == 0, "transpose rc");
  bool ok = true;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) ok &= out[(b * cols + c) * rows + r] == x[(b * rows + r) * cols + c];
  CHECK(ok, "transpose esize %zu [%lld,%lld,%lld]", sizeof(T), (long long)batch, (long long)rows, (long long)cols);
}

static void test_transpose() {
  const int64_t dims[][3] = {{1, 1, 1},  {1, 1, 7},   {1, 7, 1},    {2, 7, 33},  {3, 33, 7},    {1, 64, 64},
                             {2, 100, 37}, {1, 1000, 513}, {4, 256, 96}, {1, 4097, 3}, {5, 32, 32}, {1, 3, 40000}};
  for (auto &d : dims) {
    transpose_case<uint8_t>(d[0], d[1], d[2]);
    transpose_case<uint16_t>(d[0], d[1], d[2]);
    transpose_case<uint32_t>(d[0], d[1], d[2]);
    transpose_case<uint64_t>(d[0], d[1], d[2]);
  }
}

// ---- conversion references
using tsr_test::ref_f16_to_f32;
using tsr_test::ref_f32_to_f16;
static uint32_t bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
static float fbits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
// bf16: nearest of the two truncation candidates in double, ties to even; NaN -> quiet NaN.
static uint16_t ref_f32_to_bf16(float f) {
  const uint32_t u = bits(f);
  if (std::isnan(f)) return (uint16_t)((u >> 16) | 0x40);
  if (std::isinf(f)) return (uint16_t)(u >> 16);
  const uint32_t lo = u & 0xffff0000u;
  const uint32_t hi = lo + 0x10000u;
  const double dl = std::fabs((double)f - (double)fbits(lo));
  // the upper candidate may be the inf encoding: measure against the value 2^128 it stands for
  const double vhi = ((hi & 0x7fffffffu) == 0x7f800000u) ? std::copysign(std::ldexp(1.0, 128), f) : (double)fbits(hi);
  const double dh = std::fabs((double)f - vhi);
  if (dl < dh) return (uint16_t)(lo >> 16);
  if (dh < dl) return (uint16_t)(hi >> 16);
  return (uint16_t)(((lo >> 16) & 1) ? (hi >> 16) : (lo >> 16));
}
static float ref_bf16_to_f32(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  if (std::isnan(fbits(u))) u |= 0x400000;
  return fbits(u);
}
static bool same_bits(float a, float b) { return bits(a) == bits(b); }

static void test_convert() {
  // f32 -> f16 / bf16 over a sweep of bit patterns plus edge cases
  std::vector<float> x;
  for (uint64_t u = 0; u < (1ull << 32); u += 65537) x.push_back(fbits((uint32_t)u));
  for (uint32_t e : {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u, 0x7f800001u,
                     0x7fbfffffu, 0x477fe000u, 0x477fefffu, 0x477ff000u, 0x477ff001u, 0x38800000u, 0x387fffffu,
                     0x33800000u, 0x33000000u, 0x33000001u, 0x337fffffu, 0x00000001u, 0x7f7fffffu, 0x3f808000u,
                     0x3f818000u, 0x3f808001u, 0x7f7f8000u, 0x477fffffu, 0x38000000u, 0x37ffffffu})
    for (uint32_t s : {0u, 0x80000000u}) x.push_back(fbits(e ^ s));
  for (int i = 0; i < 200000; ++i) x.push_back(fbits((uint32_t)g_rng()));
  // values around f16 subnormal rounding boundaries
  for (int m = 0; m < 2048; ++m) {
    const float v = std::ldexp((float)m + 0.5f, -24);
    x.push_back(v);
    x.push_back(std::nextafter(v, 0.0f));
    x.push_back(std::nextafter(v, 1.0f));
  }
  const int64_t n = x.size();
  std::vector<uint16_t> h(n), b(n);
  CHECK(tsr_cpu_convert(x.data(), TSR_F32, h.data(), TSR_F16, n) == 0, "convert rc");
  CHECK(tsr_cpu_convert(x.data(), TSR_F32, b.data(), TSR_BF16, n) == 0, "convert rc");
  int bad_h = 0, bad_b = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (h[i] != ref_f32_to_f16(x[i]) && bad_h++ < 5)
      std::printf("  f32->f16 %08x: got %04x want %04x\n", bits(x[i]), h[i], ref_f32_to_f16(x[i]));
    if (b[i] != ref_f32_to_bf16(x[i]) && bad_b++ < 5)
      std::printf("  f32->bf16 %08x: got %04x want %04x\n", bits(x[i]), b[i], ref_f32_to_bf16(x[i]));
  }
  CHECK(bad_h == 0, "f32->f16 mismatches: %d of %lld", bad_h, (long long)n);
  CHECK(bad_b == 0, "f32->bf16 mismatches: %d of %lld", bad_b, (long long)n);
  // all 65536 f16 / bf16 -> f32, and f16 <-> bf16
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = (uint16_t)i;
  std::vector<float> f(65536);
  std::vector<uint16_t> o(65536);
  int bad = 0;
  tsr_cpu_convert(all.data(), TSR_F16, f.data(), TSR_F32, 65536);
  for (int i = 0; i < 65536; ++i) bad += !same_bits(f[i], ref_f16_to_f32(all[i]));
  CHECK(bad == 0, "f16->f32 mismatches: %d", bad);
  bad = 0;
  tsr_cpu_convert(all.data(), TSR_BF16, f.data(), TSR_F32, 65536);
  for (int i = 0; i < 65536; ++i) bad += !same_bits(f[i], ref_bf16_to_f32(all[i]));
  CHECK(bad == 0, "bf16->f32 mismatches: %d", bad);
  bad = 0;
  tsr_cpu_convert(all.data(), TSR_F16, o.data(), TSR_BF16, 65536);
  for (int i = 0; i < 65536; ++i) bad += o[i] != ref_f32_to_bf16(ref_f16_to_f32(all[i]));
  CHECK(bad == 0, "f16->bf16 mismatches: %d", bad);
  bad = 0;
  tsr_cpu_convert(all.data(), TSR_BF16, o.data(), TSR_F16, 65536);
  for (int i = 0; i < 65536; ++i) bad += o[i] != ref_f32_to_f16(ref_bf16_to_f32(all[i]));
  CHECK(bad == 0, "bf16->f16 mismatches: %d", bad);
  // same dtype = copy
  tsr_cpu_convert(all.data(), TSR_F16, o.data(), TSR_F16, 65536);
  CHECK(std::memcmp(all.data(), o.data(), 65536 * 2) == 0, "f16->f16 copy");
  // explicit values
  CHECK(ref_f32_to_f16(65520.0f) == 0x7c00 && ref_f32_to_f16(65519.0f) == 0x7bff, "ref sanity");
}

// Offsets of the row-major walk of a view (shape, strides in elements).
static std::vector<int64_t> walk_offsets(int nd, const int64_t *shape, const int64_t *st) {
  std::vector<int64_t> offs;
  int64_t idx[8] = {0};
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total *= shape[d];
  for (int64_t i = 0; i < total; ++i) {
    int64_t off = 0;
    for (int d = 0; d < nd; ++d) off += idx[d] * st[d];
    offs.push_back(off);
    for (int d = nd - 1; d >= 0 && ++idx[d] == shape[d]; --d) idx[d] = 0;
  }
  return offs;
}

// tsr::collapse_dims (the CPU and CUDA strided copies and binary ops): the collapsed views walk the same offsets
// as the originals, in the same order, with no size-1 dim left and no pair of dims left that both views could merge.
static void test_collapse_dims() {
  int merged = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    const int nd = (int)(g_rng() % 9);
    int64_t shape[8], s[2][8];
    for (int d = 0; d < nd; ++d) shape[d] = 1 + (int64_t)(g_rng() % 4);
    for (int k = 0; k < 2; ++k) {
      if (g_rng() % 3 == 0) {  // arbitrary strides, broadcast (0) and negative ones included
        for (int d = 0; d < nd; ++d) s[k][d] = (int64_t)(g_rng() % 9) - 2;
      } else {  // a contiguous parent, some dims padded, some dims broadcast
        int64_t parent = 1;
        for (int d = nd - 1; d >= 0; --d) {
          s[k][d] = (g_rng() % 6 == 0) ? 0 : parent;
          parent *= shape[d] + ((g_rng() % 4 == 0) ? 1 : 0);
        }
      }
    }
    int64_t cs[8], c0[8], c1[8];
    const int cn = tsr::collapse_dims<2>(nd, shape, {s[0], s[1]}, cs, {c0, c1});
    merged += cn < nd;
    CHECK(walk_offsets(nd, shape, s[0]) == walk_offsets(cn, cs, c0) &&
              walk_offsets(nd, shape, s[1]) == walk_offsets(cn, cs, c1),
          "collapse_dims<2> walks other offsets (ndim %d -> %d)", nd, cn);
    for (int d = 0; d < cn; ++d) CHECK(cs[d] > 1, "collapse_dims left a dim of size %lld", (long long)cs[d]);
    for (int d = 1; d < cn; ++d)
      CHECK(!(c0[d - 1] == c0[d] * cs[d] && c1[d - 1] == c1[d] * cs[d]), "collapse_dims left dims %d, %d mergeable",
            d - 1, d);
    int64_t os[8], o0[8];  // one view alone merges at least as far
    const int on = tsr::collapse_dims<1>(nd, shape, {s[0]}, os, {o0});
    CHECK(on <= cn && walk_offsets(nd, shape, s[0]) == walk_offsets(on, os, o0), "collapse_dims<1> (ndim %d -> %d)",
          nd, on);
  }
  CHECK(merged > 500, "collapse_dims merged dims in only %d of 2000 views", merged);
}

static void test_strided() {
  for (int iter = 0; iter < 300; ++iter) {
    const int es = 1 << (g_rng() % 4);
    const int nd = (int)(g_rng() % 9);
    int64_t shape[8], stride[8];
    int64_t total = 1;
    for (int d = 0; d < nd; ++d) {
      shape[d] = 1 + (int64_t)(g_rng() % (nd > 4 ? 3 : 9));
      total *= shape[d];
    }
    // base strides of a contiguous parent with each dim possibly padded, then permuted / broadcast
    int64_t parent = 1;
    for (int d = nd - 1; d >= 0; --d) {
      const int kind = (int)(g_rng() % 4);
      if (kind == 0) stride[d] = 0;
      else {
        stride[d] = parent;
        parent *= shape[d] + (kind == 1 ? 2 : 0);
      }
    }
    for (int d = nd - 1; d > 0; --d) {
      if (g_rng() % 3 == 0) std::swap(stride[d], stride[g_rng() % (d + 1)]);
    }
    // maybe a negative stride (flip), starting at the end of that dim
    int64_t offset = 0;
    if (nd > 0 && g_rng() % 4 == 0) {
      const int d = (int)(g_rng() % nd);
      offset += (shape[d] - 1) * stride[d];
      stride[d] = -stride[d];
    }
    int64_t extent = 1;  // elements the view can reach from its first element
    for (int d = 0; d < nd; ++d) extent += (shape[d] - 1) * std::llabs(stride[d]);
    std::vector<uint8_t> src((size_t)(extent + offset) * es + 64);
    for (auto &v : src) v = (uint8_t)g_rng();
    std::vector<uint8_t> dst(total * es + 1, 0xAB), ref(total * es);
    const uint8_t *base = src.data() + offset * es;
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i, off = 0;
      for (int d = nd - 1; d >= 0; --d) {
        off += (rem % shape[d]) * stride[d];
        rem /= shape[d];
      }
      std::memcpy(&ref[i * es], base + off * es, es);
    }
    CHECK(tsr_cpu_strided_copy(base, dst.data(), nd, shape, stride, es) == 0, "strided rc");
    const bool same = std::memcmp(dst.data(), ref.data(), total * es) == 0 && dst[total * es] == 0xAB;
    CHECK(same, "strided copy differs (nd %d, es %d)", nd, es);
    if (!same)
    {
      for (int d = 0; d < nd; ++d) std::printf("    dim %d: shape %lld stride %lld\n", d, (long long)shape[d], (long long)stride[d]);
      for (int64_t i = 0; i < total * es; ++i)
        if (dst[i] != ref[i]) { std::printf("    first diff at byte %lld of %lld\n", (long long)i, (long long)(total * es)); break; }
      std::printf("    guard %x src bytes %zu offset %lld\n", dst[total * es], src.size(), (long long)offset);
    }
  }
  // a large one (threaded path): a transposed-and-sliced 3-d view of float
  {
    const int64_t A = 64, B = 300, C = 200;
    std::vector<float> src(A * B * C);
    for (size_t i = 0; i < src.size(); ++i) src[i] = (float)i;
    int64_t shape[3] = {A, C, B - 2}, stride[3] = {B * C, 1, C};  // [A, C, B-2] view
    std::vector<float> dst(A * C * (B - 2));
    CHECK(tsr_cpu_strided_copy(src.data() + C, dst.data(), 3, shape, stride, 4) == 0, "strided rc");
    bool ok = true;
    for (int64_t a = 0; a < A; ++a)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t b = 0; b < B - 2; ++b) ok &= dst[(a * C + c) * (B - 2) + b] == src[a * B * C + (b + 1) * C + c];
    CHECK(ok, "large strided copy");
    int64_t shape2[2] = {A * B, C - 1}, stride2[2] = {C, 1};  // row slices: memcpy fast path
    std::vector<float> dst2(A * B * (C - 1));
    tsr_cpu_strided_copy(src.data() + 1, dst2.data(), 2, shape2, stride2, 4);
    ok = true;
    for (int64_t r = 0; r < A * B; ++r)
      for (int64_t c = 0; c < C - 1; ++c) ok &= dst2[r * (C - 1) + c] == src[r * C + c + 1];
    CHECK(ok, "large row-sliced strided copy");
  }
}

static void test_args() {
  float a[4] = {0}, out[4];
  int64_t shape[2] = {2, 2}, st[2] = {2, 1};
  CHECK(tsr_cpu_binary_f32(7, a, a, out, 4) == TSR_ERR_ARG, "bad op");
  CHECK(std::strstr(tsr_last_error(), "tsr_cpu_binary_f32") != nullptr, "message: %s", tsr_last_error());
  CHECK(tsr_cpu_binary_f32(0, nullptr, a, out, 4) == TSR_ERR_ARG, "null");
  CHECK(tsr_cpu_binary_f32(0, a, a, out, -1) == TSR_ERR_ARG, "negative n");
  CHECK(tsr_cpu_binary_f32(0, nullptr, nullptr, nullptr, 0) == 0, "n == 0 no-op");
  CHECK(tsr_cpu_softmax_f32(a, out, 0, 4, 0) == 0, "rows == 0 no-op");
  CHECK(tsr_cpu_softmax_f32(a, out, 1, 4, -1) == TSR_ERR_ARG, "negative causal_q");
  CHECK(tsr_cpu_gelu_f32(a, out, 4, 2) == TSR_ERR_ARG, "bad tanh flag");
  CHECK(tsr_cpu_layer_norm_f32(nullptr, nullptr, nullptr, out, 1, 4, 1e-5f) == TSR_ERR_ARG, "ln null x");
  CHECK(tsr_cpu_transpose(a, out, 1, 2, 2, 3) == TSR_ERR_ARG, "bad elem size");
  CHECK(tsr_cpu_convert(a, TSR_I32, out, TSR_F32, 4) == TSR_ERR_ARG, "bad dtype");
  CHECK(tsr_cpu_convert(a, 9, out, TSR_F32, 4) == TSR_ERR_ARG, "bad dtype");
  CHECK(tsr_cpu_embedding_f32(a, TSR_F32, a, out, 1, 1, 1, nullptr) == TSR_ERR_ARG, "bad ids dtype");
  CHECK(tsr_cpu_strided_copy(a, out, 9, shape, st, 4) == TSR_ERR_ARG, "ndim 9");
  CHECK(tsr_cpu_strided_copy(a, out, 2, shape, st, 3) == TSR_ERR_ARG, "elem 3");
  CHECK(tsr_cpu_strided_copy(a, out, 2, nullptr, st, 4) == TSR_ERR_ARG, "null shape");
  CHECK(tsr_cpu_strided_copy(a, out, 0, nullptr, nullptr, 4) == 0 && out[0] == a[0], "ndim 0 copies one element");
}

static void test_threads() {
  const int t0 = tsr_cpu_threads();
  const int64_t n = 1 << 22;
  auto x = randn(n);
  std::vector<float> o1(n), o2(n);
  tsr_cpu_gelu_f32(x.data(), o1.data(), n, 0);
  tsr_cpu_set_threads(1);
  CHECK(tsr_cpu_threads() == 1, "set_threads");
  tsr_cpu_gelu_f32(x.data(), o2.data(), n, 0);
  CHECK(std::memcmp(o1.data(), o2.data(), n * 4) == 0, "threads=1 differs");
  tsr_cpu_set_threads(3);
  tsr_cpu_gelu_f32(x.data(), o2.data(), n, 0);
  CHECK(std::memcmp(o1.data(), o2.data(), n * 4) == 0, "threads=3 differs");
  tsr_cpu_set_threads(t0);
  // several threads at once, each with big and tiny calls
  std::vector<std::thread> ts;
  std::vector<int> ok(4, 1);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::vector<float> o(n);
      for (int it = 0; it < 20; ++it) {
        tsr_cpu_gelu_f32(x.data(), o.data(), n, 0);
        if (std::memcmp(o.data(), o1.data(), n * 4) != 0) ok[t] = 0;
        float s[16];
        tsr_cpu_affine_f32(x.data(), 2.0f, 0.0f, s, 16);
      }
    });
  for (auto &t : ts) t.join();
  for (int t = 0; t < 4; ++t) CHECK(ok[t], "concurrent callers differ");
}

static void bench() {
  float a[16], b[16], o[16];
  for (int i = 0; i < 16; ++i) a[i] = b[i] = (float)i;
  const int iters = 2000000;
  for (int i = 0; i < 1000; ++i) tsr_cpu_binary_f32(TSR_OP_ADD, a, b, o, 16);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) tsr_cpu_binary_f32(TSR_OP_ADD, a, b, o, 16);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("  tiny op (binary add, n=16): %.1f ns/call\n", std::chrono::duration<double, std::nano>(t1 - t0).count() / iters);
  const int64_t cols = 4096, rows = 1024;
  auto x = randn(rows * cols);
  std::vector<float> y(rows * cols);
  for (int k = 0; k < 3; ++k) {
    auto s = std::chrono::steady_clock::now();
    if (k == 0) tsr_cpu_softmax_f32(x.data(), y.data(), rows, cols, 0);
    if (k == 1) tsr_cpu_layer_norm_f32(x.data(), nullptr, nullptr, y.data(), rows, cols, 1e-5f);
    if (k == 2) tsr_cpu_gelu_f32(x.data(), y.data(), rows * cols, 0);
    auto e = std::chrono::steady_clock::now();
    std::printf("  %s 4M floats: %.2f ms\n", k == 0 ? "softmax" : k == 1 ? "layer_norm" : "gelu_erf",
                std::chrono::duration<double, std::milli>(e - s).count());
  }
}

int main() {
  std::printf("tessera cpu core test: simd=%s threads=%d\n", tsr_cpu_simd(), tsr_cpu_threads());
  test_args();
  test_binary();
  test_norms();
  test_softmax();
  test_activations();
  test_embedding();
  test_transpose();
  test_convert();
  test_collapse_dims();
  test_strided();
  test_threads();
  std::printf("  worst relative error (||out-ref|| / ||ref||) per op:\n");
  for (auto &kv : g_worst) std::printf("    %-16s %.3g\n", kv.first.c_str(), kv.second);
  if (!std::getenv("TESSERA_TEST_QUICK")) bench();  // timings only (meaningless under an emulator)
  std::printf("%s (%d failures)\n", g_fail ? "FAILED" : "OK", g_fail);
  return g_fail ? 1 : 0;
}
