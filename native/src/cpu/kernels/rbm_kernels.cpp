// RBM kernels of the CPU backend, compiled once per ISA (TSR_ISA_NS). Loops are written so that GCC
// vectorises them at -O3 for the ISA of this translation unit: the Philox rounds are 32x32->64-bit
// products, the math below uses only +, *, /, selects and bit casts (no libm call, no -ffast-math).
// See tessera/rbm.h for the semantics and rbm_table.h for the range convention.
#include <cstdint>

#include "../../common/philox.h"
#include "rbm_table.h"
#include "tessera/rbm.h"
#include "vmath.h"

namespace tsr {
namespace TSR_ISA_NS {
namespace {

using vm::f2u;
using vm::sel;
using vm::u2f;

// ln(x) for x > 0 finite (normal): Cephes logf (relative error ~1e-7). Used on (0, 2] only.
TSR_VINLINE float log_pos(float x) {
  const uint32_t b = f2u(x);
  int32_t e = static_cast<int32_t>(b >> 23) - 127;
  float m = u2f((b & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  const bool big = m > 1.41421356237f;
  m = sel(big, 0.5f * m, m);
  e += big ? 1 : 0;
  const float f = m - 1.0f;  // [-0.293, 0.414]
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  const float fe = static_cast<float>(e);
  y += fe * -2.12194440e-4f;
  y += -0.5f * z;
  return (f + y) + fe * 0.693359375f;
}

// sqrt(x) for x in [0, 2^30]: inverse square root by the bit estimate and three Newton steps, then a
// Heron correction (error well below 1e-6 relative; sqrt(0) = 0).
TSR_VINLINE float sqrt_pos(float x) {
  float y = u2f(0x5f3759dfu - (f2u(x) >> 1));
  y = y * (1.5f - 0.5f * x * y * y);
  y = y * (1.5f - 0.5f * x * y * y);
  y = y * (1.5f - 0.5f * x * y * y);
  const float r = x * y;
  return r + 0.5f * (x - r * r) * y;
}

// cos(2 pi u) for u in [0, 1): quadrant reduction (exact) and Cephes sin/cos on [-pi/4, pi/4].
TSR_VINLINE float cos_2pi(float u) {
  const float v = 4.0f * u;                                   // [0, 4), exact
  const float q = (v + 12582912.0f) - 12582912.0f;            // nearest integer, 0..4
  const float w = v - q;                                      // [-0.5, 0.5], exact
  const int32_t qi = static_cast<int32_t>(q) & 3;
  const float t = w * 1.57079632679489662f;                   // [-pi/4, pi/4]
  const float z = t * t;
  const float s = t + t * z * (-1.6666654611e-1f + z * (8.3321608736e-3f + z * -1.9515295891e-4f));
  const float c =
      1.0f - 0.5f * z + z * z * (4.166664568298827e-2f + z * (-1.388731625493765e-3f + z * 2.443315711809948e-5f));
  // cos(q pi/2 + t): q=0 cos t, 1 -sin t, 2 -cos t, 3 sin t
  const float r = sel((qi & 1) != 0, s, c);
  return sel(qi == 1 || qi == 2, -r, r);
}

// log(1 + e^{-a}) for a >= 0 (or NaN -> NaN handled by the caller).
TSR_VINLINE float log1p_exp_neg(float a) {
  const float t = vm::exp_f(-a);  // (0, 1]
  return sel(t < 1e-4f, t * (1.0f - 0.5f * t), log_pos(1.0f + t));
}

TSR_VINLINE float softplus(float x) {
  const float y = sel(x > 0.0f, x, 0.0f) + log1p_exp_neg(vm::vabs(x));
  return sel(x != x, x, y);
}

void uniform(uint64_t seed, uint64_t offset, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = philox::uniform(seed, offset + static_cast<uint64_t>(i));
}

void sigmoid_sample(const float *pre, const float *bias, const float *bias_scale, const float *extra, float *prob,
                    float *sample, int64_t rows, int64_t cols, uint64_t seed, uint64_t offset) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *p = pre + r * cols;
    float *po = prob + r * cols;
    const float s = bias_scale ? bias_scale[r] : 1.0f;
    // pass 1: total input (in the prob row; prob may alias pre)
    if (bias && extra) {
      const float *x = extra + r * cols;
      for (int64_t c = 0; c < cols; ++c) po[c] = p[c] + bias[c] * s + x[c];
    } else if (bias) {
      for (int64_t c = 0; c < cols; ++c) po[c] = p[c] + bias[c] * s;
    } else if (extra) {
      const float *x = extra + r * cols;
      for (int64_t c = 0; c < cols; ++c) po[c] = p[c] + x[c];
    } else if (po != p) {
      for (int64_t c = 0; c < cols; ++c) po[c] = p[c];
    }
    // pass 2: sigmoid (+ Bernoulli sample)
    if (sample) {
      float *so = sample + r * cols;
      const uint64_t base = offset + static_cast<uint64_t>(r) * static_cast<uint64_t>(cols);
      for (int64_t c = 0; c < cols; ++c) {
        const float pr = 1.0f / (1.0f + vm::exp_f(-po[c]));
        const float u = philox::uniform(seed, base + static_cast<uint64_t>(c));
        po[c] = pr;
        so[c] = sel(pr != pr, pr, sel(u < pr, 1.0f, 0.0f));
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) po[c] = 1.0f / (1.0f + vm::exp_f(-po[c]));
    }
  }
}

void gaussian_sample(const float *pre, const float *bias, float *mean, float *sample, int64_t rows, int64_t cols,
                     uint64_t seed, uint64_t offset) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *p = pre + r * cols;
    float *m = mean + r * cols;
    if (bias) {
      for (int64_t c = 0; c < cols; ++c) m[c] = p[c] + bias[c];
    } else if (m != p) {
      for (int64_t c = 0; c < cols; ++c) m[c] = p[c];
    }
    if (!sample) continue;
    float *so = sample + r * cols;
    const uint64_t base = offset + static_cast<uint64_t>(r) * static_cast<uint64_t>(cols);
    for (int64_t c = 0; c < cols; ++c) {
      const philox::U4 b = philox::block(seed, base + static_cast<uint64_t>(c), 0u);
      const float u1 = philox::to_uniform_pos(b.x);  // (0, 1]
      const float u2 = philox::to_uniform(b.y);      // [0, 1)
      const float rad = sqrt_pos(-2.0f * log_pos(u1));
      so[c] = m[c] + rad * cos_2pi(u2);
    }
  }
}

void softmax_rows(const float *pre, const float *bias, float *prob, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *p = pre + r * cols;
    float *po = prob + r * cols;
    if (bias) {
      for (int64_t c = 0; c < cols; ++c) po[c] = p[c] + bias[c];
    } else if (po != p) {
      for (int64_t c = 0; c < cols; ++c) po[c] = p[c];
    }
    float mx = -__builtin_inff();
    bool nan = false;
    for (int64_t c = 0; c < cols; ++c) {
      mx = po[c] > mx ? po[c] : mx;
      nan |= po[c] != po[c];
    }
    if (nan) {
      for (int64_t c = 0; c < cols; ++c) po[c] = __builtin_nanf("");
      continue;
    }
    if (mx == -__builtin_inff()) mx = 0.0f;  // all -inf: 0/0 below gives NaN, as the maths says
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      const float e = vm::exp_f(po[c] - mx);
      po[c] = e;
      sum += e;
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t c = 0; c < cols; ++c) po[c] *= inv;
  }
}

void col_accum(const float *x, const float *scale, double alpha, double *acc, int64_t rows, int64_t ld,
               int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    const double s = scale ? alpha * static_cast<double>(scale[r]) : alpha;
    const float *xr = x + r * ld;
    for (int64_t c = 0; c < width; ++c) acc[c] += s * static_cast<double>(xr[c]);
  }
}

void update(float *param, float *velocity, const float *grad, int64_t n, float lr, float momentum, float decay) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = momentum * velocity[i] + lr * (grad[i] - decay * param[i]);
    velocity[i] = v;
    param[i] += v;
  }
}

void free_energy(int visible_type, const float *v, const float *pre, const float *vbias, const float *hbias,
                 const float *totals, float *out, int64_t rows, int64_t nv, int64_t nh) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *vr = v + r * nv;
    const float *xr = pre + r * nh;
    const float s = (visible_type == TSR_RBM_SOFTMAX && totals) ? totals[r] : 1.0f;
    double hid = 0.0;
    for (int64_t j = 0; j < nh; ++j) hid += static_cast<double>(softplus(xr[j] + s * hbias[j]));
    double vis = 0.0;
    if (visible_type == TSR_RBM_GAUSSIAN) {
      for (int64_t i = 0; i < nv; ++i) {
        const double d = static_cast<double>(vr[i]) - static_cast<double>(vbias[i]);
        vis += 0.5 * d * d;
      }
    } else {
      for (int64_t i = 0; i < nv; ++i) vis -= static_cast<double>(vbias[i]) * static_cast<double>(vr[i]);
    }
    out[r] = static_cast<float>(vis - hid);
  }
}

void row_reduce(const float *a, const float *b, float *out, int64_t rows, int64_t cols, int square) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *ar = a + r * cols;
    double acc = 0.0;
    if (b) {
      const float *br = b + r * cols;
      for (int64_t c = 0; c < cols; ++c) {
        const double d = static_cast<double>(ar[c]) - static_cast<double>(br[c]);
        acc += d * d;
      }
    } else if (square) {
      for (int64_t c = 0; c < cols; ++c) acc += static_cast<double>(ar[c]) * static_cast<double>(ar[c]);
    } else {
      for (int64_t c = 0; c < cols; ++c) acc += static_cast<double>(ar[c]);
    }
    out[r] = static_cast<float>(acc);
  }
}

}  // namespace

const RbmKernels &rbm_kernels() {
  static const RbmKernels k = {TSR_ISA_NAME, uniform,  sigmoid_sample, gaussian_sample, softmax_rows,
                               col_accum,    update,   free_energy,    row_reduce};
  return k;
}

}  // namespace TSR_ISA_NS
}  // namespace tsr
