// extern "C" CPU entry points of tessera/patch_embed.h: argument fence (the second one, after
// Java's), choice of the per-ISA kernel table (the level tsr_cpu_simd() reports), and the split of
// the work into row ranges over the thread pool.
#include <cstring>

#include "common/error.h"
#include "kernels/patch_embed_table.h"
#include "tessera/patch_embed.h"
#include "isa_select.h"
#include "threadpool.h"

namespace tsr {
namespace {

const PatchEmbedKernels &PK() {
  static const PatchEmbedKernels &k = TSR_ISA_TABLE(PatchEmbedKernels, patch_embed_kernels);
  return k;
}

// Elements of (memory-bound) copy work per range handed to one thread.
constexpr int64_t kGrainElems = 1 << 15;

inline int64_t rows_per_task(int64_t row_elems) {
  const int64_t g = kGrainElems / (row_elems > 0 ? row_elems : 1);
  return g < 1 ? 1 : g;
}

// a * b * ... fits in int64 (all factors >= 0).
inline bool fits(int64_t a, int64_t b) { return a == 0 || b <= INT64_MAX / a; }


#define LL(v) static_cast<long long>(v)

}  // namespace
}  // namespace tsr

extern "C" {

int tsr_cpu_patchify_f32(const float *x, float *cols, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ph,
                         int64_t pw, int64_t lead) {
  TSR_CHECK(n >= 0 && c >= 1 && h >= 1 && w >= 1 && ph >= 1 && pw >= 1 && lead >= 0 && lead <= (1 << 20),
           "tsr_cpu_patchify_f32: bad sizes n=%lld c=%lld h=%lld w=%lld ph=%lld pw=%lld lead=%lld", LL(n), LL(c),
           LL(h), LL(w), LL(ph), LL(pw), LL(lead));
  TSR_CHECK(h % ph == 0 && w % pw == 0, "tsr_cpu_patchify_f32: patch %lldx%lld does not divide image %lldx%lld",
           LL(ph), LL(pw), LL(h), LL(w));
  TSR_CHECK(tsr::fits(c, h) && tsr::fits(c * h, w) && tsr::fits(c * h * w + lead * c * ph * pw, n),
           "tsr_cpu_patchify_f32: size overflow");
  if (n == 0) return TSR_OK;
  TSR_CHECK(x != nullptr && cols != nullptr, "tsr_cpu_patchify_f32: null pointer");
  const auto kern = tsr::PK().patchify_rows;
  const int64_t strips = n * (h / ph);
  tsr::parallel_for(strips, tsr::rows_per_task(c * ph * w),
                    [&](int64_t b, int64_t e) { kern(x, cols, c, h, w, ph, pw, lead, b, e); });
  return TSR_OK;
}

int tsr_cpu_im2col_1d_f32(const float *x, float *cols, int64_t n, int64_t c, int64_t t, int64_t k, int64_t stride,
                          int64_t pad) {
  TSR_CHECK(n >= 0 && c >= 1 && t >= 1 && k >= 1 && stride >= 1 && pad >= 0,
           "tsr_cpu_im2col_1d_f32: bad sizes n=%lld c=%lld t=%lld k=%lld stride=%lld pad=%lld", LL(n), LL(c), LL(t),
           LL(k), LL(stride), LL(pad));
  TSR_CHECK(pad <= INT64_MAX / 4 && t <= INT64_MAX / 4 && t + 2 * pad >= k,
           "tsr_cpu_im2col_1d_f32: kernel %lld longer than the padded input %lld + 2*%lld", LL(k), LL(t), LL(pad));
  const int64_t t_out = (t + 2 * pad - k) / stride + 1;
  TSR_CHECK(tsr::fits(c, k) && tsr::fits(c * k, t_out) && tsr::fits(c * k * t_out, n) && tsr::fits(c * t, n),
           "tsr_cpu_im2col_1d_f32: size overflow");
  if (n == 0) return TSR_OK;
  TSR_CHECK(x != nullptr && cols != nullptr, "tsr_cpu_im2col_1d_f32: null pointer");
  const auto kern = tsr::PK().im2col_1d_rows;
  tsr::parallel_for(n * t_out, tsr::rows_per_task(c * k),
                    [&](int64_t b, int64_t e) { kern(x, cols, c, t, k, stride, pad, t_out, b, e); });
  return TSR_OK;
}

int tsr_cpu_patch_finish_f32(float *out, const float *bias, const float *cls, const float *pos, int64_t n,
                             int64_t l, int64_t d) {
  TSR_CHECK(n >= 0 && l >= 1 && d >= 1, "tsr_cpu_patch_finish_f32: bad sizes n=%lld l=%lld d=%lld", LL(n), LL(l),
           LL(d));
  const int64_t rows = l + (cls != nullptr ? 1 : 0);
  TSR_CHECK(tsr::fits(rows, d) && tsr::fits(rows * d, n), "tsr_cpu_patch_finish_f32: size overflow");
  if (n == 0 || (bias == nullptr && cls == nullptr && pos == nullptr)) return TSR_OK;
  TSR_CHECK(out != nullptr, "tsr_cpu_patch_finish_f32: null pointer");
  const auto kern = tsr::PK().finish_rows;
  tsr::parallel_for(n * rows, tsr::rows_per_task(d),
                    [&](int64_t b, int64_t e) { kern(out, bias, cls, pos, l, d, b, e); });
  return TSR_OK;
}

int tsr_cpu_bias_channels_first_f32(float *out, const float *bias, int64_t n, int64_t d, int64_t t) {
  TSR_CHECK(n >= 0 && d >= 1 && t >= 1, "tsr_cpu_bias_channels_first_f32: bad sizes n=%lld d=%lld t=%lld", LL(n),
           LL(d), LL(t));
  TSR_CHECK(tsr::fits(d, t) && tsr::fits(d * t, n), "tsr_cpu_bias_channels_first_f32: size overflow");
  if (n == 0) return TSR_OK;
  TSR_CHECK(out != nullptr && bias != nullptr, "tsr_cpu_bias_channels_first_f32: null pointer");
  const auto kern = tsr::PK().bias_cf_rows;
  tsr::parallel_for(n * d, tsr::rows_per_task(t), [&](int64_t b, int64_t e) { kern(out, bias, d, t, b, e); });
  return TSR_OK;
}

}  // extern "C"
