// The model-stem data movers of the CPU backend against loops written here, run by ctest once per ISA
// (native/CMakeLists.txt) and on AArch64 under QEMU (native/cross/check-aarch64.sh): patch embedding's im2col
// (tsr_cpu_patchify_f32, with lead rows for a class token), Whisper's 1-D im2col with stride and zero padding
// (tsr_cpu_im2col_1d_f32), the fused finish (bias on the projected rows, class token, position embeddings),
// the channels-first bias, and RoPE (rotate_half, strided input, per-batch or shared tables). Sizes have odd
// channel counts, patches that are not square, and dims that are not multiples of any vector width. The moves and
// the finish's documented order of additions are checked bit for bit; RoPE within a few roundings of its terms.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "tessera/core.h"
#include "tessera/patch_embed.h"
#include "test_support.h"

static int g_fail = 0;
static std::mt19937_64 g_rng(31);

static std::vector<float> randn(int64_t n) { return tsr_test::randn(g_rng, n); }

static void expect_same(const char *what, int rc, const std::vector<float> &got, const std::vector<float> &want) {
  if (rc != TSR_OK || std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) != 0) {
    ++g_fail;
    size_t i = 0;
    while (rc == TSR_OK && i < want.size() && std::memcmp(&got[i], &want[i], sizeof(float)) == 0) ++i;
    std::printf("FAIL %s: %s\n", what, rc != TSR_OK ? tsr_last_error() : "values differ");
    if (rc == TSR_OK) std::printf("     first at %zu: %g vs %g\n", i, got[i], want[i]);
    return;
  }
  std::printf("ok   %s\n", what);
}

static void patchify(int64_t n, int64_t c, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t lead) {
  const std::vector<float> x = randn(n * c * h * w);
  const int64_t gy = h / ph, gx = w / pw, l = gy * gx, kdim = c * ph * pw;
  std::vector<float> want(static_cast<size_t>(n * (lead + l) * kdim), 0.0f), got(want.size(), 9.0f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t py = 0; py < gy; ++py)
      for (int64_t px = 0; px < gx; ++px)
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t i = 0; i < ph; ++i)
            for (int64_t j = 0; j < pw; ++j)
              want[((b * (lead + l) + lead + py * gx + px) * kdim) + (ch * ph + i) * pw + j] =
                  x[((b * c + ch) * h + py * ph + i) * w + px * pw + j];
  char what[96];
  std::snprintf(what, sizeof what, "patchify n=%lld c=%lld %lldx%lld patch %lldx%lld lead %lld", (long long)n,
                (long long)c, (long long)h, (long long)w, (long long)ph, (long long)pw, (long long)lead);
  expect_same(what, tsr_cpu_patchify_f32(x.data(), got.data(), n, c, h, w, ph, pw, lead), got, want);
}

static void im2col_1d(int64_t n, int64_t c, int64_t t, int64_t k, int64_t stride, int64_t pad) {
  const std::vector<float> x = randn(n * c * t);
  const int64_t tout = (t + 2 * pad - k) / stride + 1;
  std::vector<float> want(static_cast<size_t>(n * tout * c * k)), got(want.size(), 9.0f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < tout; ++o)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t kk = 0; kk < k; ++kk) {
          const int64_t src = o * stride - pad + kk;
          want[(b * tout + o) * c * k + ch * k + kk] = src < 0 || src >= t ? 0.0f : x[(b * c + ch) * t + src];
        }
  char what[96];
  std::snprintf(what, sizeof what, "im2col_1d n=%lld c=%lld t=%lld k=%lld stride %lld pad %lld", (long long)n,
                (long long)c, (long long)t, (long long)k, (long long)stride, (long long)pad);
  expect_same(what, tsr_cpu_im2col_1d_f32(x.data(), got.data(), n, c, t, k, stride, pad), got, want);
}

static void finish(int64_t n, int64_t l, int64_t d, bool bias, bool cls, bool pos) {
  const int64_t r = l + (cls ? 1 : 0);
  std::vector<float> got = randn(n * r * d);
  const std::vector<float> b = randn(d), cl = randn(d), p = randn(r * d);
  std::vector<float> want = got;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t row = 0; row < r; ++row)
      for (int64_t j = 0; j < d; ++j) {
        float &o = want[(i * r + row) * d + j];
        if (cls && row == 0) o = cl[j];
        else if (bias) o = o + b[j];
        if (pos) o = o + p[row * d + j];
      }
  char what[96];
  std::snprintf(what, sizeof what, "patch_finish n=%lld l=%lld d=%lld%s%s%s", (long long)n, (long long)l,
                (long long)d, bias ? " bias" : "", cls ? " cls" : "", pos ? " pos" : "");
  expect_same(what, tsr_cpu_patch_finish_f32(got.data(), bias ? b.data() : nullptr, cls ? cl.data() : nullptr,
                                              pos ? p.data() : nullptr, n, l, d),
              got, want);
}

static void bias_cf(int64_t n, int64_t d, int64_t t) {
  std::vector<float> got = randn(n * d * t);
  const std::vector<float> b = randn(d);
  std::vector<float> want = got;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t s = 0; s < t; ++s) want[(i * d + j) * t + s] += b[j];
  char what[96];
  std::snprintf(what, sizeof what, "bias_channels_first n=%lld d=%lld t=%lld", (long long)n, (long long)d, (long long)t);
  expect_same(what, tsr_cpu_bias_channels_first_f32(got.data(), b.data(), n, d, t), got, want);
}

// x read as a [batch, seq, heads, dim] tensor (the layout of a fused projection's rows), out contiguous
// [batch, heads, seq, dim]; cos / sin per batch item (cs_sb = seq * half) or shared (0).
static void rope(int64_t batch, int64_t heads, int64_t seq, int64_t dim, bool per_batch) {
  const int64_t half = dim / 2, sb = seq * heads * dim, sh = dim, ss = heads * dim;
  const std::vector<float> x = randn(batch * sb);
  const int64_t tables = per_batch ? batch : 1, cs_sb = per_batch ? seq * half : 0;
  std::vector<float> cs(static_cast<size_t>(tables * seq * half)), sn(cs.size());
  for (size_t i = 0; i < cs.size(); ++i) {
    cs[i] = std::cos(0.37f * static_cast<float>(i));
    sn[i] = std::sin(0.37f * static_cast<float>(i));
  }
  std::vector<double> want(static_cast<size_t>(batch * heads * seq * dim)), mag(want.size());
  std::vector<float> got(want.size(), 9.0f);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t s = 0; s < seq; ++s) {
        const float *xr = x.data() + b * sb + h * sh + s * ss;
        const float *c = cs.data() + b * cs_sb + s * half, *si = sn.data() + b * cs_sb + s * half;
        const int64_t o = ((b * heads + h) * seq + s) * dim;
        for (int64_t j = 0; j < half; ++j) {
          const double a = xr[j], z = xr[j + half];
          want[o + j] = a * c[j] - z * si[j];
          want[o + j + half] = z * c[j] + a * si[j];
          mag[o + j] = mag[o + j + half] = std::fabs(a * c[j]) + std::fabs(z * si[j]) + std::fabs(z * c[j]) +
                                           std::fabs(a * si[j]);
        }
      }
  // in float, with or without the compiler contracting a product into an FMA: within a few roundings of the terms
  const int rc = tsr_cpu_rope_f32(x.data(), sb, sh, ss, cs.data(), sn.data(), cs_sb, got.data(), batch, heads, seq,
                                  dim);
  double worst = 0;
  for (size_t i = 0; rc == TSR_OK && i < want.size(); ++i) {
    const double e = std::fabs(static_cast<double>(got[i]) - want[i]) / (mag[i] * 0x1p-23 + 1e-30);
    if (!(e <= worst)) worst = e;
  }
  char what[96];
  std::snprintf(what, sizeof what, "rope batch %lld heads %lld seq %lld dim %lld%s", (long long)batch,
                (long long)heads, (long long)seq, (long long)dim, per_batch ? " per-batch tables" : "");
  if (rc != TSR_OK || !(worst <= 3.0)) {
    ++g_fail;
    std::printf("FAIL %s: %s (%.2f float roundings of the terms)\n", what, rc != TSR_OK ? tsr_last_error() :
                "values differ", worst);
    return;
  }
  std::printf("ok   %s (worst %.2f roundings of the terms)\n", what, worst);
}

int main() {
  std::printf("stem_test on %s\n", tsr_cpu_simd());
  tsr_cpu_set_threads(2);
  patchify(2, 3, 224, 224, 16, 16, 1);  // ViT-B/16
  patchify(1, 3, 96, 80, 8, 10, 0);     // patches that are not square
  patchify(3, 5, 21, 14, 7, 7, 2);      // 5 channels, two lead rows
  patchify(1, 1, 4, 4, 1, 1, 0);
  im2col_1d(2, 80, 3000, 3, 1, 1);  // Whisper's first conv
  im2col_1d(2, 7, 301, 3, 2, 1);    // its second (stride 2), odd lengths
  im2col_1d(1, 3, 10, 5, 3, 4);     // padding wider than the stride
  im2col_1d(1, 1, 1, 1, 1, 0);
  finish(2, 196, 768, true, true, true);
  finish(3, 50, 37, true, false, true);
  finish(1, 9, 19, false, true, false);
  finish(2, 1, 1, true, true, true);
  bias_cf(2, 384, 1500);
  bias_cf(3, 7, 33);
  rope(2, 4, 37, 64, false);
  rope(1, 3, 5, 10, true);
  rope(2, 2, 129, 128, true);
  if (g_fail) {
    std::printf("%d failure(s)\n", g_fail);
    return 1;
  }
  std::printf("all passed\n");
  return 0;
}
