// extern "C" CPU entry points of tessera/gemm.h: argument fence (the second one, after Java's), choice
// of the per-ISA kernel table (the level tsr_cpu_simd() reports), and the split of a product into
// (row block, panel) tasks over the pool: one region of consecutive tasks per thread, balanced by taking
// over the tails of slower threads' regions (tsr::parallel_regions). A product too small for the pool runs
// on the caller as whole row blocks (GemmKernels::block).
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "half.h"
#include "isa_select.h"
#include "kernels/gemm_table.h"
#include "tessera/gemm.h"
#include "threadpool.h"

namespace tsr {
namespace {

const GemmKernels &GK() {
  static const GemmKernels &k = TSR_ISA_TABLE(GemmKernels, gemm_kernels);
  return k;
}


#ifndef TSR_GEMM_MC
#define TSR_GEMM_MC 288
#endif
// rows of C per task (its block of A, kRowBlock x k slice, is re-read for every panel): fewer, taller blocks
// stream each weight panel fewer times; 288 measured 1-3% faster than 192 on ViT-B/16 at batch 8 (Zen 4)
constexpr int64_t kRowBlock = TSR_GEMM_MC;
constexpr double kInlineFlops = 1 << 17;      // products below this run on the caller alone
constexpr int64_t kEpilogueGrain = 1 << 15;   // elements per range of the stand-alone epilogue

struct GemmJob {
  const GemmKernels *kern;
  const GemmArgs *args;
  int64_t row_blocks;
  int64_t panels;
  // first row of row block i: i·m / row_blocks rounded to the nearest multiple of the register tile, so the
  // blocks differ by at most one tile of rows (and a range of whole blocks by at most half a tile)
  int64_t row_start(int64_t i) const {
    if (i >= row_blocks) return args->m;
    const int64_t mr = kern->mr;
    const int64_t r = (2 * i * args->m + row_blocks * mr) / (2 * row_blocks * mr) * mr;
    return r < args->m ? r : args->m;
  }
};

void run_tasks(void *ctx, int64_t b, int64_t e) {
  const GemmJob &j = *static_cast<const GemmJob *>(ctx);
  const GemmArgs &g = *j.args;
  for (int64_t t = b; t < e;) {
    const int64_t rb = t / j.panels, p0 = t % j.panels;
    const int64_t p1 = p0 + (e - t) < j.panels ? p0 + (e - t) : j.panels;
    const int64_t r0 = j.row_start(rb), r1 = j.row_start(rb + 1);
    if (r1 > r0) j.kern->block(g, r0, r1, p0, p1);
    t += p1 - p0;
  }
}

// One k slice of a product over the pool (tsr::parallel_regions), with each participant's packed rows.
struct SliceJob {
  const GemmKernels *kern;
  const GemmArgs *args;
  const int64_t *row_starts;
  int64_t panels;
  int64_t slice;
  GemmTaskState *states;
};

void run_slice_task(void *ctx, int self, int64_t task, int64_t ahead) {
  const SliceJob &j = *static_cast<const SliceJob *>(ctx);
  j.kern->run_task(*j.args, j.row_starts, j.panels, j.slice, task, ahead, j.states[self]);
}

// The frame of the pack entry points: sizes and pointers checked (fn names the entry point in the errors), then
// body(p0, p1) over ranges of the ceil(n / NR) output panels on the pool, about 64 Ki weight elements a range.
template <class Body>
int pack_panels(const char *fn, const float *w, const void *packed, int64_t n, int64_t k, Body &&body) {
  TSR_CHECK(n >= 0 && k >= 0, "%s: negative size (n %lld, k %lld)", fn, (long long)n, (long long)k);
  if (n == 0 || k == 0) return TSR_OK;
  TSR_CHECK(w && packed, "%s: null pointer", fn);
  const int64_t panels = (n + kGemmNR - 1) / kGemmNR;
  const int64_t grain = (1 << 16) / (k * kGemmNR) > 0 ? (1 << 16) / (k * kGemmNR) : 1;
  parallel_for(panels, grain, body);
  return TSR_OK;
}

// x rounded to the nearest integer, ties to even, for |x| < 2^22 (in the default rounding mode): x + 1.5 * 2^23 has no
// fraction bits left, and subtracting it back is exact. What std::nearbyint gives there, without its library call per
// element (the int8 pack of a 0.85B decoder took ~2 s longer with it).
inline float round_even_small(float x) {
  constexpr float kMagic = 12582912.0f;
  return (x + kMagic) - kMagic;
}

// Bytes of the int8 panels (before the scales), a multiple of 64.
int64_t s8_panel_bytes(int64_t n, int64_t k) { return (tsr_cpu_gemm_packed_floats(n, k) + 63) / 64 * 64; }

// The product of tsr_cpu_gemm_packed_f32 / _bf16 / _s8 (fn: the entry point's name for the errors; btype kB*).
int packed_gemm(const char *fn, const float *x, int64_t lda, const void *packed, int btype, int64_t m, int64_t n,
                int64_t k, const float *bias, int act, const float *residual, int64_t ldr, float *out, int64_t ldo) {
  TSR_CHECK(m >= 0 && n >= 0 && k >= 0, "%s: negative size (m %lld, n %lld, k %lld)", fn, (long long)m, (long long)n,
             (long long)k);
  TSR_CHECK(act >= 0 && act < TSR_ACT_COUNT, "%s: unknown activation %d", fn, act);
  if (m == 0 || n == 0) return TSR_OK;
  TSR_CHECK(lda >= k && ldo >= n && (residual == nullptr || ldr >= n),
             "%s: leading dimension too small (lda %lld, ldo %lld, ldr %lld for k %lld, n %lld)", fn, (long long)lda,
             (long long)ldo, (long long)ldr, (long long)k, (long long)n);
  TSR_CHECK(out && (k == 0 || (x && packed)), "%s: null pointer", fn);
  const GemmKernels &K = GK();
  const float *scale = nullptr;  // k == 0: the sums are 0 and the (finite) scales change nothing
  if (btype == kBS8 && k > 0)
    scale = reinterpret_cast<const float *>(static_cast<const char *>(packed) + s8_panel_bytes(n, k));
  GemmArgs g{x, lda, packed, m, n, k, bias, act, residual, ldr, out, ldo, btype, scale};
  // A residual that is out itself is read by the last k slice, after the first slice has written its partial sums
  // over it: with several slices it is copied first (the bits of a separate residual). One slice reads each tile's
  // residual before writing the tile, so it needs no copy.
  std::unique_ptr<float[]> res_copy;
  if (residual != nullptr && residual == out && K.slices(g) > 1) {
    res_copy.reset(new float[static_cast<size_t>(m * n)]);
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(res_copy.get() + i * n, residual + i * ldr, static_cast<size_t>(n) * sizeof(float));
    g.res = res_copy.get();
    g.ldr = n;
  }
  const int64_t panels = (n + kGemmNR - 1) / kGemmNR;
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const int64_t threads = cpu_threads();
  const bool inline_only = flops < kInlineFlops || threads <= 1;
  // row blocks: about kRowBlock rows each, more when the panels alone cannot keep the pool busy
  const int64_t tiles = (m + K.mr - 1) / K.mr;
  int64_t row_blocks = (m + kRowBlock - 1) / kRowBlock;
  const int64_t want = 2 * threads;
  if (!inline_only && panels < want && m > K.mr) {
    const int64_t blocks = (want + panels - 1) / panels;
    if (blocks > row_blocks) row_blocks = blocks;
  }
  // Several row blocks: a multiple of the thread count, so that each thread's region is a run of whole blocks
  // with the same number of rows within half a register tile. At batch 8 x 128 tokens on 2 threads, blocks of
  // 264 / 264 / 264 / 232 rows claimed two per thread ended at 528 + 496 rows: the GEMMs waited ~3% on the slower
  // thread; 516 + 508 now (MiniLM forward at batch 8, 2 threads, same process alternating: 117.0 -> 115.2 ms and
  // 119.1 -> 116.3 ms; two ranges per thread of the new blocks, paired as claimed, 117.8).
  const bool even = !inline_only && row_blocks > 1 && (row_blocks + threads - 1) / threads * threads <= tiles;
  if (even) row_blocks = (row_blocks + threads - 1) / threads * threads;
  if (row_blocks > tiles) row_blocks = tiles;
  if (row_blocks < 1) row_blocks = 1;
  GemmJob j{&K, &g, row_blocks, panels};
  const int64_t tasks = row_blocks * panels;
  if (inline_only) {
    run_tasks(&j, 0, tasks);
    return TSR_OK;
  }
  // Each thread starts on its own region of tasks (whole row blocks where they divide evenly, so that each
  // block's rows are packed once per k slice) and then takes over the tails of the others' regions
  // (tsr::parallel_regions): on a 2-core VM whose second core ran at ~2/3 of the first's speed when both were busy,
  // the static split of one region per thread left the faster one waiting; balanced, MiniLM's forward at batch
  // 1 / 8 / 32 was 7.6 / 6.7 / 6.1% faster and ViT-B/16's at batch 1 / 8 11.7 / 8.8% (medians, alternating the
  // two splits in one process); at equal core speeds the same as before.
  const int nreg = static_cast<int>(threads);
  std::unique_ptr<int64_t[]> starts(new int64_t[row_blocks + 1]);
  for (int64_t i = 0; i <= row_blocks; ++i) starts[i] = j.row_start(i);
  std::unique_ptr<GemmTaskState[]> states(new GemmTaskState[nreg]);
  const int64_t nslices = K.slices(g);
  for (int64_t s = 0; s < nslices; ++s) {  // a slice of a tile needs the slice before it finished
    for (int i = 0; i < nreg; ++i) states[i] = GemmTaskState{};
    SliceJob sj{&K, &g, starts.get(), panels, s, states.get()};
    parallel_regions(tasks, nreg, run_slice_task, &sj);
  }
  return TSR_OK;
}

}  // namespace
}  // namespace tsr

extern "C" {

int64_t tsr_cpu_gemm_packed_floats(int64_t n, int64_t k) {
  if (n <= 0 || k <= 0) return 0;
  return (n + TSR_GEMM_NR - 1) / TSR_GEMM_NR * TSR_GEMM_NR * k;
}

int tsr_cpu_gemm_pack_f32(const float *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k,
                          float *packed) {
  return tsr::guarded(__func__, [&]() -> int {
    using namespace tsr;
    const GemmKernels &K = GK();
    return pack_panels(__func__, w, packed, n, k,
                       [&](int64_t p0, int64_t p1) { K.pack(w, stride_n, stride_k, n, k, packed, p0, p1); });
  });
}

int tsr_cpu_gemm_pack_bf16(const float *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k,
                           uint16_t *packed) {
  return tsr::guarded(__func__, [&]() -> int {
    using namespace tsr;
    return pack_panels(__func__, w, packed, n, k, [&](int64_t p0, int64_t p1) {
      constexpr int64_t KB = 64;  // k rows per pass over the panel's columns (the source rows stay in cache)
      for (int64_t p = p0; p < p1; ++p) {
        uint16_t *dst = packed + p * k * kGemmNR;
        const int64_t j0 = p * kGemmNR, nj = n - j0 < kGemmNR ? n - j0 : kGemmNR;
        for (int64_t kb = 0; kb < k; kb += KB) {
          const int64_t ke = kb + KB < k ? kb + KB : k;
          for (int64_t j = 0; j < kGemmNR; ++j) {
            for (int64_t kk = kb; kk < ke; ++kk)
              dst[kk * kGemmNR + j] = j < nj ? half::f32_to_bf16(w[(j0 + j) * stride_n + kk * stride_k]) : uint16_t{0};
          }
        }
      }
    });
  });
}

int tsr_cpu_gemm_packed_f32(const float *x, int64_t lda, const float *packed, int64_t m, int64_t n, int64_t k,
                            const float *bias, int act, const float *residual, int64_t ldr, float *out,
                            int64_t ldo) {
  return tsr::guarded(__func__, [&]() -> int {
    return tsr::packed_gemm(__func__, x, lda, packed, tsr::kBF32, m, n, k, bias, act, residual, ldr, out, ldo);
  });
}

int tsr_cpu_gemm_packed_bf16(const float *x, int64_t lda, const uint16_t *packed, int64_t m, int64_t n, int64_t k,
                             const float *bias, int act, const float *residual, int64_t ldr, float *out,
                             int64_t ldo) {
  return tsr::guarded(__func__, [&]() -> int {
    return tsr::packed_gemm(__func__, x, lda, packed, tsr::kBBf16, m, n, k, bias, act, residual, ldr, out, ldo);
  });
}

int64_t tsr_cpu_gemm_packed_s8_bytes(int64_t n, int64_t k) {
  if (n <= 0 || k <= 0) return 0;
  return tsr::s8_panel_bytes(n, k) + (n + TSR_GEMM_NR - 1) / TSR_GEMM_NR * TSR_GEMM_NR * int64_t(sizeof(float));
}

int tsr_cpu_gemm_pack_s8(const float *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k, void *packed) {
  return tsr::guarded(__func__, [&]() -> int {
    using namespace tsr;
    std::atomic<int64_t> bad{-1};  // a feature holding a NaN or an infinity (any one of them)
    const int rc = pack_panels(__func__, w, packed, n, k, [&](int64_t p0, int64_t p1) {
      int8_t *q = static_cast<int8_t *>(packed);
      float *scales = reinterpret_cast<float *>(static_cast<char *>(packed) + s8_panel_bytes(n, k));
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t j0 = p * kGemmNR, nj = n - j0 < kGemmNR ? n - j0 : kGemmNR;
        float s[kGemmNR];
        for (int64_t j = 0; j < kGemmNR; ++j) {
          float mx = 0.0f;
          int finite = 1;
          if (j < nj) {
            const float *src = w + (j0 + j) * stride_n;
            for (int64_t kk = 0; kk < k; ++kk) {
              const float a = std::fabs(src[kk * stride_k]);
              finite &= a <= 3.4028234663852886e38f;  // 0 for NaN and infinities
              mx = a > mx ? a : mx;
            }
          }
          if (!finite) bad.store(j0 + j, std::memory_order_relaxed);
          s[j] = j < nj ? mx / 127.0f : 0.0f;
          scales[j0 + j] = s[j];
        }
        int8_t *dst = q + p * k * kGemmNR;
        std::unique_ptr<int8_t[]> row(new int8_t[static_cast<size_t>(k)]);
        for (int64_t j = 0; j < kGemmNR; ++j) {
          int8_t *d = dst + j;
          if (!(s[j] > 0.0f)) {  // a column past n, or an all-zero feature (or one refused for a NaN)
            for (int64_t kk = 0; kk < k; ++kk) d[kk * kGemmNR] = 0;
            continue;
          }
          // the feature's row quantized contiguously (vectorised), then spread into the panel's column
          const float *src = w + (j0 + j) * stride_n;
          const float sj = s[j];
          int8_t *r = row.get();
          for (int64_t kk = 0; kk < k; ++kk) {
            float v = round_even_small(src[kk * stride_k] / sj);
            v = v >= -127.0f ? v : -127.0f;  // NaN (refused below) becomes -127, never an undefined cast
            v = v <= 127.0f ? v : 127.0f;
            r[kk] = static_cast<int8_t>(static_cast<int>(v));
          }
          for (int64_t kk = 0; kk < k; ++kk) d[kk * kGemmNR] = r[kk];
        }
      }
    });
    if (rc != TSR_OK) return rc;
    const int64_t b = bad.load();
    TSR_CHECK(b < 0,
              "tsr_cpu_gemm_pack_s8: output feature %lld of the weight holds a NaN or an infinity (no int8 form)",
              (long long)b);
    return TSR_OK;
  });
}

int tsr_cpu_gemm_packed_s8(const float *x, int64_t lda, const void *packed, int64_t m, int64_t n, int64_t k,
                           const float *bias, int act, const float *residual, int64_t ldr, float *out, int64_t ldo) {
  return tsr::guarded(__func__, [&]() -> int {
    return tsr::packed_gemm(__func__, x, lda, packed, tsr::kBS8, m, n, k, bias, act, residual, ldr, out, ldo);
  });
}

int tsr_cpu_linear_epilogue_f32(float *y, int64_t ldy, int64_t m, int64_t n, const float *bias, int act,
                                const float *residual, int64_t ldr) {
  using namespace tsr;
  TSR_CHECK(m >= 0 && n >= 0, "tsr_cpu_linear_epilogue_f32: negative size (m %lld, n %lld)", (long long)m,
             (long long)n);
  TSR_CHECK(act >= 0 && act < TSR_ACT_COUNT, "tsr_cpu_linear_epilogue_f32: unknown activation %d", act);
  if (m == 0 || n == 0) return TSR_OK;
  TSR_CHECK(ldy >= n && (residual == nullptr || ldr >= n),
             "tsr_cpu_linear_epilogue_f32: leading dimension too small (ldy %lld, ldr %lld for n %lld)",
             (long long)ldy, (long long)ldr, (long long)n);
  TSR_CHECK(y != nullptr, "tsr_cpu_linear_epilogue_f32: null pointer");
  if (bias == nullptr && residual == nullptr && act == TSR_ACT_NONE) return TSR_OK;
  const GemmKernels &K = GK();
  const int64_t grain = kEpilogueGrain / n > 0 ? kEpilogueGrain / n : 1;
  parallel_for(m, grain, [&](int64_t r0, int64_t r1) {
    K.epilogue(y + r0 * ldy, ldy, r1 - r0, n, bias, act, residual ? residual + r0 * ldr : nullptr, ldr);
  });
  return TSR_OK;
}

}  // extern "C"
