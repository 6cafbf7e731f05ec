// extern "C" CPU entry points of tessera/rbm.h: argument fence (the second one, after Java's), ISA
// selection for the RBM kernel table, and the split of the work over the thread pool. Every range of
// a random draw computes its own Philox counters (offset + global element index), so the results do
// not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "common/philox.h"
#include "kernels/rbm_table.h"
#include "tessera/rbm.h"
#include "tessera/tessera.h"
#include "isa_select.h"
#include "threadpool.h"

namespace tsr {
namespace {

constexpr int64_t kGrainRng = 1 << 13;    // elements per range of Philox / transcendental work
constexpr int64_t kGrainCheap = 1 << 16;  // elements per range of cheap elementwise work
constexpr int64_t kColBlock = 256;        // columns per range of the column reductions

const RbmKernels &RK() {
  static const RbmKernels &k = TSR_ISA_TABLE(RbmKernels, rbm_kernels);
  return k;
}

inline int64_t rows_grain(int64_t cols, int64_t elems) {
  const int64_t g = elems / (cols > 0 ? cols : 1);
  return g < 1 ? 1 : g;
}


#define TSR_RBM_SIZES(fn, rows, cols)                                                                  \
  TSR_CHECK((rows) >= 0 && (cols) >= 0, fn ": negative size (rows %lld, cols %lld)",              \
                static_cast<long long>(rows), static_cast<long long>(cols))

// Counts of `total` draws from the probabilities p[0, cols) (running-sum inverse, as on CUDA).
void multinomial_row(const float *p, float total, float *cdf, float *counts, int64_t cols, uint64_t seed,
                     uint64_t ctr) {
  float acc = 0.0f;
  for (int64_t c = 0; c < cols; ++c) {
    acc += p[c];
    cdf[c] = acc;
    counts[c] = 0.0f;
  }
  if (std::isnan(total) || std::isnan(acc)) {
    for (int64_t c = 0; c < cols; ++c) counts[c] = NAN;
    return;
  }
  const float dr = std::nearbyint(std::min(std::max(total, 0.0f), static_cast<float>(TSR_RBM_MAX_TOTAL)));
  const uint32_t d_n = static_cast<uint32_t>(dr);
  for (uint32_t d = 0; d < d_n; ++d) {
    const float u = philox::to_uniform(philox::block(seed, ctr, d).x) * acc;
    int64_t c = std::upper_bound(cdf, cdf + cols, u) - cdf;
    if (c >= cols) {  // u rounded up to the total: take the last category with mass
      c = cols - 1;
      while (c > 0 && !(p[c] > 0.0f)) --c;
    }
    counts[c] += 1.0f;
  }
}

}  // namespace
}  // namespace tsr

using tsr::parallel_for;
using tsr::RK;

extern "C" {

int tsr_cpu_philox4x32_10(const uint32_t *counter, const uint32_t *key, uint32_t *out) {
  TSR_CHECK(counter && key && out, "tsr_cpu_philox4x32_10: null pointer");
  const tsr::philox::U4 r =
      tsr::philox::philox4x32_10(tsr::philox::U4{counter[0], counter[1], counter[2], counter[3]}, key[0], key[1]);
  out[0] = r.x;
  out[1] = r.y;
  out[2] = r.z;
  out[3] = r.w;
  return TSR_OK;
}

int tsr_cpu_rbm_uniform(uint64_t seed, uint64_t offset, float *out, int64_t n) {
  TSR_CHECK(n >= 0, "tsr_cpu_rbm_uniform: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(out, "tsr_cpu_rbm_uniform: null pointer");
  const auto kern = RK().uniform;
  parallel_for(n, tsr::kGrainRng,
               [&](int64_t b, int64_t e) { kern(seed, offset + static_cast<uint64_t>(b), out + b, e - b); });
  return TSR_OK;
}

int tsr_cpu_rbm_sigmoid_sample(const float *pre, const float *bias, const float *bias_scale, const float *extra,
                               float *prob, float *sample, int64_t rows, int64_t cols, uint64_t seed,
                               uint64_t offset) {
  TSR_RBM_SIZES("tsr_cpu_rbm_sigmoid_sample", rows, cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(pre && prob, "tsr_cpu_rbm_sigmoid_sample: null pre or prob");
  const auto kern = RK().sigmoid_sample;
  parallel_for(rows, tsr::rows_grain(cols, tsr::kGrainRng), [&](int64_t b, int64_t e) {
    kern(pre + b * cols, bias, bias_scale ? bias_scale + b : nullptr, extra ? extra + b * cols : nullptr,
         prob + b * cols, sample ? sample + b * cols : nullptr, e - b, cols, seed,
         offset + static_cast<uint64_t>(b) * static_cast<uint64_t>(cols));
  });
  return TSR_OK;
}

int tsr_cpu_rbm_gaussian_sample(const float *pre, const float *bias, float *mean, float *sample, int64_t rows,
                                int64_t cols, uint64_t seed, uint64_t offset) {
  TSR_RBM_SIZES("tsr_cpu_rbm_gaussian_sample", rows, cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(pre && mean, "tsr_cpu_rbm_gaussian_sample: null pre or mean");
  const auto kern = RK().gaussian_sample;
  parallel_for(rows, tsr::rows_grain(cols, tsr::kGrainRng), [&](int64_t b, int64_t e) {
    kern(pre + b * cols, bias, mean + b * cols, sample ? sample + b * cols : nullptr, e - b, cols, seed,
         offset + static_cast<uint64_t>(b) * static_cast<uint64_t>(cols));
  });
  return TSR_OK;
}

int tsr_cpu_rbm_softmax_sample(const float *pre, const float *bias, const float *totals, float *prob, float *mean,
                               float *sample, float *workspace, int64_t rows, int64_t cols, uint64_t seed,
                               uint64_t offset) {
  TSR_RBM_SIZES("tsr_cpu_rbm_softmax_sample", rows, cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(pre && prob, "tsr_cpu_rbm_softmax_sample: null pre or prob");
  TSR_CHECK(totals || (!mean && !sample), "tsr_cpu_rbm_softmax_sample: mean or sample needs totals");
  TSR_CHECK(workspace || !sample, "tsr_cpu_rbm_softmax_sample: sample needs a workspace");
  const auto kern = RK().softmax_rows;
  parallel_for(rows, tsr::rows_grain(cols, tsr::kGrainRng), [&](int64_t b, int64_t e) {
    kern(pre + b * cols, bias, prob + b * cols, e - b, cols);
    for (int64_t r = b; r < e; ++r) {
      const float *pr = prob + r * cols;
      if (mean) {
        float *m = mean + r * cols;
        const float t = totals[r];
        const float d = std::isnan(t) ? t : std::nearbyint(std::min(std::max(t, 0.0f), float(TSR_RBM_MAX_TOTAL)));
        for (int64_t c = 0; c < cols; ++c) m[c] = d * pr[c];
      }
      if (sample) {
        tsr::multinomial_row(pr, totals[r], workspace + r * cols, sample + r * cols, cols, seed,
                             offset + static_cast<uint64_t>(r));
      }
    }
  });
  return TSR_OK;
}

int tsr_cpu_rbm_row_sums(const float *x, float *out, int64_t rows, int64_t cols) {
  TSR_RBM_SIZES("tsr_cpu_rbm_row_sums", rows, cols);
  if (rows == 0) return TSR_OK;
  TSR_CHECK(out && (x || cols == 0), "tsr_cpu_rbm_row_sums: null pointer");
  const auto kern = RK().row_reduce;
  parallel_for(rows, tsr::rows_grain(cols, tsr::kGrainCheap),
               [&](int64_t b, int64_t e) { kern(x + b * cols, nullptr, out + b, e - b, cols, 0); });
  return TSR_OK;
}

int tsr_cpu_rbm_col_stats(const float *pos, const float *pos_scale, int64_t pos_rows, float alpha_pos,
                          const float *neg, const float *neg_scale, int64_t neg_rows, float alpha_neg, float *out,
                          int64_t cols) {
  TSR_CHECK(pos_rows >= 0 && neg_rows >= 0 && cols >= 0,
                "tsr_cpu_rbm_col_stats: negative size (pos_rows %lld, neg_rows %lld, cols %lld)",
                static_cast<long long>(pos_rows), static_cast<long long>(neg_rows), static_cast<long long>(cols));
  if (cols == 0) return TSR_OK;
  TSR_CHECK(out && (pos || pos_rows == 0), "tsr_cpu_rbm_col_stats: null pointer");
  const auto kern = RK().col_accum;
  const int64_t blocks = (cols + tsr::kColBlock - 1) / tsr::kColBlock;
  const int64_t grain = std::max<int64_t>(1, tsr::kGrainCheap / std::max<int64_t>(1, (pos_rows + neg_rows) * tsr::kColBlock));
  parallel_for(blocks, grain, [&](int64_t b, int64_t e) {
    double acc[tsr::kColBlock];
    for (int64_t blk = b; blk < e; ++blk) {
      const int64_t c0 = blk * tsr::kColBlock;
      const int64_t w = std::min(tsr::kColBlock, cols - c0);
      for (int64_t j = 0; j < w; ++j) acc[j] = 0.0;
      if (pos_rows > 0) kern(pos + c0, pos_scale, static_cast<double>(alpha_pos), acc, pos_rows, cols, w);
      if (neg && neg_rows > 0) kern(neg + c0, neg_scale, -static_cast<double>(alpha_neg), acc, neg_rows, cols, w);
      for (int64_t j = 0; j < w; ++j) out[c0 + j] = static_cast<float>(acc[j]);
    }
  });
  return TSR_OK;
}

int tsr_cpu_rbm_update(float *param, float *velocity, const float *grad, int64_t n, float lr, float momentum,
                       float decay) {
  TSR_CHECK(n >= 0, "tsr_cpu_rbm_update: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(param && velocity && grad, "tsr_cpu_rbm_update: null pointer");
  const auto kern = RK().update;
  parallel_for(n, tsr::kGrainCheap,
               [&](int64_t b, int64_t e) { kern(param + b, velocity + b, grad + b, e - b, lr, momentum, decay); });
  return TSR_OK;
}

int tsr_cpu_rbm_free_energy(int visible_type, const float *v, const float *pre, const float *vbias,
                            const float *hbias, const float *totals, float *out, int64_t rows, int64_t nv,
                            int64_t nh) {
  TSR_CHECK(visible_type >= TSR_RBM_BINARY && visible_type <= TSR_RBM_SOFTMAX,
                "tsr_cpu_rbm_free_energy: unknown visible type %d", visible_type);
  TSR_CHECK(rows >= 0 && nv >= 0 && nh >= 0, "tsr_cpu_rbm_free_energy: negative size (rows %lld, nv %lld, nh %lld)",
                static_cast<long long>(rows), static_cast<long long>(nv), static_cast<long long>(nh));
  if (rows == 0) return TSR_OK;
  TSR_CHECK(out && (v || nv == 0) && (vbias || nv == 0) && (pre || nh == 0) && (hbias || nh == 0),
                "tsr_cpu_rbm_free_energy: null pointer");
  TSR_CHECK(visible_type != TSR_RBM_SOFTMAX || totals, "tsr_cpu_rbm_free_energy: SOFTMAX needs totals");
  const auto kern = RK().free_energy;
  parallel_for(rows, tsr::rows_grain(nv + 4 * nh, tsr::kGrainRng), [&](int64_t b, int64_t e) {
    kern(visible_type, v + b * nv, pre + b * nh, vbias, hbias, totals ? totals + b : nullptr, out + b, e - b, nv, nh);
  });
  return TSR_OK;
}

int tsr_cpu_rbm_sq_error(const float *a, const float *b, float *out, int64_t rows, int64_t cols) {
  TSR_RBM_SIZES("tsr_cpu_rbm_sq_error", rows, cols);
  if (rows == 0) return TSR_OK;
  TSR_CHECK(out && ((a && b) || cols == 0), "tsr_cpu_rbm_sq_error: null pointer");
  const auto kern = RK().row_reduce;
  parallel_for(rows, tsr::rows_grain(cols, tsr::kGrainCheap),
               [&](int64_t s, int64_t e) { kern(a + s * cols, b + s * cols, out + s, e - s, cols, 1); });
  return TSR_OK;
}

}  // extern "C"
