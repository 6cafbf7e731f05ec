// Patch-embedding CPU kernels: 2-D / 1-D im2col and the fused finish (bias, class token, position
// embeddings). Compiled once per ISA (TSR_ISA_NS); the loops are plain, restrict-qualified and
// unit-stride so that GCC vectorises them for the target ISA. No libm, IEEE semantics (NaN propagates).
#include "patch_embed_table.h"


#include "isa_unit.h"

namespace tsr {
namespace TSR_ISA_NS {
namespace {

// Copies n floats (the patch width / kernel runs are short: a plain loop beats a memcpy call).
inline void copy_run(const float *__restrict src, float *__restrict dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
}

void patchify_rows(const float *x, float *cols, int64_t c, int64_t h, int64_t w, int64_t ph, int64_t pw,
                   int64_t lead, int64_t r0, int64_t r1) {
  const int64_t hp = h / ph, wp = w / pw;
  const int64_t kdim = c * ph * pw;  // columns of cols
  const int64_t rows = lead + hp * wp;  // cols rows per image
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / hp, py = r % hp;
    const float *xn = x + n * c * h * w;
    float *img = cols + n * rows * kdim;
    if (py == 0) {
      for (int64_t j = 0; j < lead * kdim; ++j) img[j] = 0.0f;
    }
    float *strip = img + (lead + py * wp) * kdim;  // first patch of this strip
    for (int64_t ci = 0; ci < c; ++ci) {
      for (int64_t i = 0; i < ph; ++i) {
        // one image row (ci, py*ph + i) feeds the same column run of every patch of the strip
        const float *src = xn + (ci * h + py * ph + i) * w;
        float *dst = strip + (ci * ph + i) * pw;
        if (pw == 16) {
          for (int64_t px = 0; px < wp; ++px) copy_run(src + px * 16, dst + px * kdim, 16);
        } else {
          for (int64_t px = 0; px < wp; ++px) copy_run(src + px * pw, dst + px * kdim, pw);
        }
      }
    }
  }
}

void im2col_1d_rows(const float *x, float *cols, int64_t c, int64_t t, int64_t k, int64_t stride, int64_t pad,
                    int64_t t_out, int64_t r0, int64_t r1) {
  const int64_t kdim = c * k;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / t_out, to = r % t_out;
    const float *xn = x + n * c * t;
    float *dst = cols + r * kdim;
    const int64_t s0 = to * stride - pad;  // first input position of the window
    if (s0 >= 0 && s0 + k <= t) {
      for (int64_t ci = 0; ci < c; ++ci) copy_run(xn + ci * t + s0, dst + ci * k, k);
    } else {
      for (int64_t ci = 0; ci < c; ++ci) {
        const float *src = xn + ci * t;
        for (int64_t kk = 0; kk < k; ++kk) {
          const int64_t p = s0 + kk;
          dst[ci * k + kk] = (p >= 0 && p < t) ? src[p] : 0.0f;
        }
      }
    }
  }
}

void finish_rows(float *out, const float *bias, const float *cls, const float *pos, int64_t l, int64_t d,
                 int64_t r0, int64_t r1) {
  const int64_t has_cls = cls != nullptr ? 1 : 0;
  const int64_t rows = l + has_cls;
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t r = row % rows;
    float *__restrict o = out + row * d;
    const float *__restrict p = pos != nullptr ? pos + r * d : nullptr;
    if (r < has_cls) {
      if (p != nullptr) {
        for (int64_t j = 0; j < d; ++j) o[j] = cls[j] + p[j];
      } else {
        for (int64_t j = 0; j < d; ++j) o[j] = cls[j];
      }
    } else if (bias != nullptr && p != nullptr) {
      for (int64_t j = 0; j < d; ++j) o[j] = (o[j] + bias[j]) + p[j];
    } else if (bias != nullptr) {
      for (int64_t j = 0; j < d; ++j) o[j] += bias[j];
    } else if (p != nullptr) {
      for (int64_t j = 0; j < d; ++j) o[j] += p[j];
    }
  }
}

void bias_cf_rows(float *out, const float *bias, int64_t d, int64_t t, int64_t r0, int64_t r1) {
  for (int64_t row = r0; row < r1; ++row) {
    const float b = bias[row % d];
    float *__restrict o = out + row * t;
    for (int64_t j = 0; j < t; ++j) o[j] += b;
  }
}

const PatchEmbedKernels kTable = {TSR_ISA_NAME, patchify_rows, im2col_1d_rows, finish_rows, bias_cf_rows};

}  // namespace

const PatchEmbedKernels &patch_embed_kernels() { return kTable; }

}  // namespace TSR_ISA_NS
}  // namespace tsr
