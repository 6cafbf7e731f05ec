// The CPU fused attention (tsr_cpu_attention_f32 / _strided_f32) against a float64 softmax(QK^T scale) V, run by
// ctest once per ISA (native/CMakeLists.txt), so every ISA copy of src/cpu/kernels/attention_kernels.cpp is checked
// on the machine that builds it (AArch64's portable copy under QEMU through native/cross/check-aarch64.sh) and not
// only through the JVM's AttentionTest on x86-64. Cases: head_dim 1..128 with vector tails, key tiles with a partial
// last tile, cross attention, grouped-query and decode shapes (the key split and its log-sum-exp merge), causal with
// seq_q above and below seq_k, I32 / I64 padding masks with fully masked batch rows, score spreads whose
// exponentials fall below the kernel's floor (e^-87) and into float's subnormal range, NaN reaching only the rows
// that see it, strided views of a fused [B, S, 3, H, D] projection, and the same bits for 1, 2 and 3 threads.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "tessera/attention.h"
#include "test_support.h"

static int g_fail = 0;
static int64_t g_band = 0, g_below = 0;  // reference exponents in float's subnormal band (-104, -87) / below it
static std::mt19937_64 g_rng(2027);

struct Case {
  const char *name;
  int64_t b, hq, hkv, sq, sk, d;
  int causal;
  int mask;      // 0 none, 1 I32, 2 I64 (random padding, batch 0 also fully masked when b > 1)
  int ints;      // 0: q, k, v normal; n > 0: q, k integers in [-n, n] and scale 1/2, so every score is exact in
                 // float and far apart (the exponentials reach e^-87, the kernel's floor, and the subnormal band
                 // below it): the float64 reference then differs only by the softmax and PV roundings
};

static std::vector<float> randi(int64_t n, int m) {
  std::uniform_int_distribution<int> dist(-m, m);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto &x : v) x = static_cast<float>(dist(g_rng));
  return v;
}

static std::vector<float> randn(int64_t n) { return tsr_test::randn(g_rng, n); }

// out[b, h, i, :] in double (layout of tsr_cpu_attention_f32 with kv_capacity = sk)
static std::vector<double> reference(const Case &c, const std::vector<float> &q, const std::vector<float> &k,
                                     const std::vector<float> &v, const std::vector<int64_t> &keep, double scale) {
  std::vector<double> out(static_cast<size_t>(c.b * c.hq * c.sq * c.d), 0.0), s(static_cast<size_t>(c.sk));
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t h = 0; h < c.hq; ++h) {
      const int64_t hk = h / (c.hq / c.hkv);
      const float *kh = k.data() + (b * c.hkv + hk) * c.sk * c.d, *vh = v.data() + (b * c.hkv + hk) * c.sk * c.d;
      for (int64_t i = 0; i < c.sq; ++i) {
        const float *qi = q.data() + ((b * c.hq + h) * c.sq + i) * c.d;
        double mx = -INFINITY;
        bool any = false;
        for (int64_t j = 0; j < c.sk; ++j) {
          const bool vis = keep[b * c.sk + j] != 0 && (!c.causal || j <= i + c.sk - c.sq);
          if (!vis) {
            s[j] = NAN;  // marks an invisible key
            continue;
          }
          double dot = 0;
          for (int64_t x = 0; x < c.d; ++x) dot += static_cast<double>(qi[x]) * kh[j * c.d + x];
          s[j] = dot * scale;
          mx = any ? std::fmax(mx, s[j]) : s[j];
          any = true;
        }
        double *o = out.data() + ((b * c.hq + h) * c.sq + i) * c.d;
        if (!any) continue;
        double sum = 0;
        for (int64_t j = 0; j < c.sk; ++j) {
          if (std::isnan(s[j])) continue;
          const double p = std::exp(s[j] - mx);
          g_band += s[j] - mx < -87.0 && s[j] - mx > -104.0;
          g_below += s[j] - mx <= -104.0;
          sum += p;
          for (int64_t x = 0; x < c.d; ++x) o[x] += p * vh[j * c.d + x];
        }
        for (int64_t x = 0; x < c.d; ++x) o[x] /= sum;
      }
    }
  return out;
}

static int run(const Case &c, const std::vector<float> &q, const std::vector<float> &k, const std::vector<float> &v,
               const void *mask, int mask_dtype, float scale, std::vector<float> &out) {
  out.assign(static_cast<size_t>(c.b * c.hq * c.sq * c.d), -7.0f);
  return tsr_cpu_attention_f32(q.data(), k.data(), v.data(), out.data(), c.b, c.hq, c.hkv, c.sq, c.sk, c.d, c.sk,
                               mask, mask_dtype, scale, c.causal);
}

static void check_case(const Case &c) {
  const int64_t nq = c.b * c.hq * c.sq * c.d, nk = c.b * c.hkv * c.sk * c.d;
  const std::vector<float> q = c.ints ? randi(nq, c.ints) : randn(nq);
  const std::vector<float> k = c.ints ? randi(nk, c.ints) : randn(nk);
  const std::vector<float> v = randn(nk);
  std::vector<int64_t> keep(static_cast<size_t>(c.b * c.sk), 1);
  if (c.mask)
    for (int64_t b = 0; b < c.b; ++b)
      for (int64_t j = 0; j < c.sk; ++j) keep[b * c.sk + j] = (c.b > 1 && b == 0) ? 0 : (g_rng() % 4 != 0);
  std::vector<int32_t> keep32(keep.begin(), keep.end());
  const void *mask = c.mask == 1 ? static_cast<const void *>(keep32.data())
                                 : c.mask == 2 ? static_cast<const void *>(keep.data()) : nullptr;
  const int mask_dtype = c.mask == 2 ? TSR_I64 : TSR_I32;
  const float scale = c.ints ? 0.5f : 1.0f / std::sqrt(static_cast<float>(c.d));
  g_band = g_below = 0;
  const std::vector<double> ref = reference(c, q, k, v, keep, static_cast<double>(scale));
  std::vector<float> out[3];
  if (!tsr_test::run_at_thread_counts(c.name, out, 3, [&](std::vector<float> &o) {
        return run(c, q, k, v, mask, mask_dtype, scale, o);
      })) {
    ++g_fail;
    return;
  }
  // each output element within 1e-5 of the row's largest value |v| can give (the fp32 bound, relative)
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(static_cast<double>(out[0][i]) - ref[i]) / (1.0 + std::fabs(ref[i]));
    if (!(err <= worst)) worst = err;
    if (!(err <= 1e-5)) ++bad;
  }
  if (bad) {
    ++g_fail;
    std::printf("FAIL %s: %zu of %zu elements off the float64 reference (worst %.3g)\n", c.name, bad, ref.size(), worst);
  }
  g_fail += tsr_test::thread_counts_differing(c.name, out, 3);
  std::printf("ok   %-34s worst %.2e", c.name, worst);
  if (c.ints) std::printf("  (exponents in (-104, -87): %lld, below: %lld)", (long long)g_band, (long long)g_below);
  std::printf("\n");
}

// NaN in one key of batch item 1 reaches the rows of item 1 that see it and no other row.
static void check_nan() {
  const Case c{"nan", 2, 2, 2, 9, 300, 24, 1, 0, 0};
  std::vector<float> q = randn(c.b * c.hq * c.sq * c.d), k = randn(c.b * c.hkv * c.sk * c.d);
  const std::vector<float> v = randn(c.b * c.hkv * c.sk * c.d);
  const int64_t jn = 295;  // causal: row i sees keys <= i + 291, so rows 4.. see it
  k[((1 * c.hkv + 0) * c.sk + jn) * c.d + 3] = NAN;
  std::vector<float> out;
  tsr_cpu_set_threads(2);
  if (run(c, q, k, v, nullptr, TSR_I32, 0.2f, out) != TSR_OK) {
    ++g_fail;
    std::printf("FAIL nan: status\n");
    return;
  }
  for (int64_t b = 0; b < c.b; ++b)
    for (int64_t h = 0; h < c.hq; ++h)
      for (int64_t i = 0; i < c.sq; ++i) {
        const bool sees = b == 1 && h == 0 && jn <= i + c.sk - c.sq;
        const float *o = out.data() + ((b * c.hq + h) * c.sq + i) * c.d;
        for (int64_t x = 0; x < c.d; ++x)
          if (std::isnan(o[x]) != sees) {
            ++g_fail;
            std::printf("FAIL nan: b=%lld h=%lld row %lld: %s\n", (long long)b, (long long)h, (long long)i,
                        sees ? "NaN lost" : "NaN where the row does not see it");
            return;
          }
      }
  std::printf("ok   nan reaches exactly the rows that see it\n");
}

// q, k, v as views of one [B, S, 3, H, D] projection and out as [B, S, H, D], against the contiguous call: the
// strided reads must give the same bits.
static void check_strided(int64_t b, int64_t s, int64_t h, int64_t d, int causal) {
  const std::vector<float> proj = randn(b * s * 3 * h * d);
  std::vector<float> q(b * h * s * d), k(q.size()), v(q.size());
  for (int64_t bb = 0; bb < b; ++bb)
    for (int64_t i = 0; i < s; ++i)
      for (int64_t hh = 0; hh < h; ++hh)
        for (int64_t x = 0; x < d; ++x) {
          const float *p = proj.data() + (((bb * s + i) * 3) * h + hh) * d + x;
          const int64_t o = ((bb * h + hh) * s + i) * d + x;
          q[o] = p[0];
          k[o] = p[h * d];
          v[o] = p[2 * h * d];
        }
  std::vector<float> dense(q.size()), strided(q.size());
  tsr_cpu_set_threads(2);
  const float scale = 0.125f;
  int rc = tsr_cpu_attention_f32(q.data(), k.data(), v.data(), dense.data(), b, h, h, s, s, d, s, nullptr, 0, scale,
                                 causal);
  const int64_t sb = s * 3 * h * d, ss = 3 * h * d;
  rc |= tsr_cpu_attention_strided_f32(proj.data(), sb, d, ss, proj.data() + h * d, sb, d, ss, proj.data() + 2 * h * d,
                                      sb, d, ss, strided.data(), s * h * d, d, h * d, b, h, h, s, s, d, nullptr, 0,
                                      scale, causal);
  bool same = rc == TSR_OK;
  for (int64_t bb = 0; same && bb < b; ++bb)
    for (int64_t hh = 0; hh < h; ++hh)
      for (int64_t i = 0; i < s; ++i)
        same = same && std::memcmp(dense.data() + ((bb * h + hh) * s + i) * d,
                                   strided.data() + ((bb * s + i) * h + hh) * d, d * sizeof(float)) == 0;
  if (!same) {
    ++g_fail;
    std::printf("FAIL strided b=%lld s=%lld h=%lld d=%lld causal=%d: not the contiguous call's bits\n", (long long)b,
                (long long)s, (long long)h, (long long)d, causal);
    return;
  }
  std::printf("ok   strided views b=%lld s=%lld h=%lld d=%lld causal=%d\n", (long long)b, (long long)s, (long long)h,
              (long long)d, causal);
}

int main() {
  std::printf("attention_test on %s\n", tsr_cpu_simd());
  const Case cases[] = {
      {"one row, one key, d 1", 1, 1, 1, 1, 1, 1, 0, 0, 0},
      {"7x7 d 32 (MiniLM heads)", 2, 3, 3, 7, 7, 32, 0, 0, 0},
      {"128x128 d 32, I32 padding", 2, 4, 4, 128, 128, 32, 0, 1, 0},
      {"197x197 d 64 (ViT-B/16)", 1, 2, 2, 197, 197, 64, 0, 0, 0},
      {"cross 33x300 d 40, GQA 4/2", 1, 4, 2, 33, 300, 40, 0, 0, 0},
      {"causal 130x130 d 96", 1, 2, 2, 130, 130, 96, 1, 0, 0},
      {"causal 20x150 d 17, I64 padding", 2, 2, 1, 20, 150, 17, 1, 2, 0},
      {"causal seq_q 40 > seq_k 25", 1, 2, 2, 40, 25, 16, 1, 0, 0},
      {"causal 77x77 d 64, padding", 2, 2, 2, 77, 77, 64, 1, 1, 0},
      {"causal 300x300 d 32, GQA 4/1", 1, 4, 1, 300, 300, 32, 1, 0, 0},  // 3 query blocks, diagonal tiles
      {"causal 61x1000 d 64 (after a cache)", 1, 2, 2, 61, 1000, 64, 1, 0, 0},
      {"decode 1x2048 d 128, GQA 8/2", 1, 8, 2, 1, 2048, 128, 0, 0, 0},
      {"decode 3x1500 d 64, I32 padding", 2, 2, 2, 3, 1500, 64, 0, 1, 0},
      {"decode 1x700 d 5, MQA 6/1, causal", 1, 6, 1, 1, 700, 5, 1, 0, 0},
      {"exact scores 197x197 d 64", 1, 2, 2, 197, 197, 64, 0, 0, 3},
      {"exact scores 80x80 d 48, mask", 2, 2, 2, 80, 80, 48, 0, 1, 5},
      {"exact scores causal 100x100 d 8", 1, 3, 3, 100, 100, 8, 1, 0, 8},
      {"exact scores decode 2x1024 d 64", 1, 4, 4, 2, 1024, 64, 0, 0, 4},
  };
  for (const Case &c : cases) check_case(c);
  check_nan();
  check_strided(2, 45, 3, 32, 0);
  check_strided(1, 197, 2, 64, 1);
  check_strided(1, 1, 4, 24, 0);
  if (g_fail) {
    std::printf("%d failure(s)\n", g_fail);
    return 1;
  }
  std::printf("all passed\n");
  return 0;
}
