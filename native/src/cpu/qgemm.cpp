// INT8 linear layer of the CPU backend (tessera/qgemm.h): ONNX Runtime's dynamic quantization arithmetic.
// One file for every ISA: the AVX-512 VNNI tile is compiled with a target attribute and chosen at run time
// (CPU support and tsr_cpu_simd() at "avx512"); elsewhere a portable loop gives the same integers.
// The quantization reproduces DynamicQuantizeLinear: division by the scale, clamp to the zero point's range,
// round half to even (the default MXCSR rounding of vcvtps2dq), add the zero point.
#include "tessera/qgemm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "common/error.h"
#include "isa_select.h"
#include "kernels/gemm_table.h"
#include "tessera/gemm.h"
#include "threadpool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TSR_QGEMM_X86 1
#endif

namespace tsr {
namespace {

constexpr int64_t NR = TSR_QGEMM_NR;
constexpr int MR = 12;  // rows per register tile: 24 int32 accumulators + 2 weight vectors + 1 broadcast

const GemmKernels &GK() {
  static const GemmKernels &k = TSR_ISA_TABLE(GemmKernels, gemm_kernels);
  return k;
}

bool use_vnni() {
#ifdef TSR_QGEMM_X86
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512vnni") && std::strcmp(tsr_cpu_simd(), "avx512") == 0;
  return v;
#else
  return false;
#endif
}

inline int64_t round4(int64_t k) { return (k + 3) / 4 * 4; }
inline int64_t panel_bytes(int64_t k) { return round4(k) * NR; }  // kp / 4 groups x NR columns x 4 bytes
inline int64_t panels_of(int64_t n) { return (n + NR - 1) / NR; }
inline int64_t sums_offset(int64_t n, int64_t k) { return (panels_of(n) * panel_bytes(k) + 63) / 64 * 64; }

struct QArgs {
  const uint8_t *q;
  int64_t ldq;
  const int32_t *row_sums;
  const int32_t *zx;   // per row
  const int8_t *packed;
  const int32_t *col_sums;
  const int32_t *zw;
  const float *sx;     // per row
  const float *sw;     // per column
  int64_t m, n, k;
  const float *bias;
  int act;
  const float *res;
  int64_t ldr;
  float *out;
  int64_t ldo;
};

// The int32 product of rows [i0, i0 + rows) with panel p, zero points removed, scaled, written to out.
// acc[r][c] holds sum_kk q * w for column p * NR + c.
inline void finish_tile(const QArgs &g, int64_t i0, int rows, int64_t p, const int32_t *acc /* [rows][NR] */) {
  const int64_t j0 = p * NR;
  const int nv = static_cast<int>(std::min<int64_t>(NR, g.n - j0));
  for (int r = 0; r < rows; ++r) {
    const int32_t rs = g.row_sums[i0 + r];
    float *o = g.out + (i0 + r) * g.ldo + j0;
    for (int c = 0; c < nv; ++c) {
      const int32_t zw = g.zw[j0 + c];
      const int32_t zx = g.zx[i0 + r];
      const int32_t v = acc[r * NR + c] - zw * rs - zx * g.col_sums[j0 + c] + static_cast<int32_t>(g.k) * zx * zw;
      o[c] = static_cast<float>(v) * (g.sx[i0 + r] * g.sw[j0 + c]);  // the two scales' product in fp32 first
    }
  }
}

void tile_portable(const QArgs &g, int64_t i0, int rows, int64_t p) {
  int32_t acc[MR * NR] = {};
  const int64_t kq = round4(g.k) / 4;
  const int8_t *bp = g.packed + p * panel_bytes(g.k);
  for (int r = 0; r < rows; ++r) {
    const uint8_t *a = g.q + (i0 + r) * g.ldq;
    for (int64_t t = 0; t < kq; ++t) {
      const int8_t *b = bp + t * NR * 4;
      for (int c = 0; c < NR; ++c) {
        int32_t s = 0;
        for (int u = 0; u < 4; ++u) s += static_cast<int32_t>(a[t * 4 + u]) * b[c * 4 + u];
        acc[r * NR + c] += s;
      }
    }
  }
  finish_tile(g, i0, rows, p, acc);
}

#ifdef TSR_QGEMM_X86
// acc += dot4(a u8, b s8) per int32 lane, in place: GCC keeps a copy of every accumulator around
// _mm512_dpbusd_epi32 (and spills them) in this tile; the asm form pins each accumulator to one register.
__attribute__((target("avx512f,avx512vnni"))) inline void dpbusd(__m512i &acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}

// ap: the rows' micro-panel packed as [kq][MR][4] bytes (pack_a_panel), so the broadcasts walk one pointer.
template <int R>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void tile_vnni(const QArgs &g, const uint8_t *ap, int64_t i0,
                                                                     int64_t p) {
  __m512i acc0[R], acc1[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    acc0[r] = _mm512_setzero_si512();
    acc1[r] = _mm512_setzero_si512();
  }
  const int64_t kq = round4(g.k) / 4;
  const int8_t *bp = g.packed + p * panel_bytes(g.k);
#pragma GCC unroll 2
  for (int64_t t = 0; t < kq; ++t) {
    const __m512i b0 = _mm512_load_si512(bp + t * NR * 4);
    const __m512i b1 = _mm512_load_si512(bp + t * NR * 4 + 64);
    const uint8_t *a = ap + t * MR * 4;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, a + r * 4, 4);
      const __m512i av = _mm512_set1_epi32(four);
      dpbusd(acc0[r], av, b0);
      dpbusd(acc1[r], av, b1);
    }
  }
  // zero-point corrections and scale on the vectors, then the valid columns to out
  const int64_t j0 = p * NR;
  const int nv = static_cast<int>(std::min<int64_t>(NR, g.n - j0));
  const __mmask16 m0 = nv >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << nv) - 1u);
  const __mmask16 m1 = nv >= 32 ? static_cast<__mmask16>(0xffff)
                                : (nv <= 16 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << (nv - 16)) - 1u));
  const __m512i zw0 = _mm512_maskz_loadu_epi32(m0, g.zw + j0);
  const __m512i zw1 = _mm512_maskz_loadu_epi32(m1, g.zw + j0 + 16);
  // per column: k * zw - colsum; per row: acc - zw * rowsum + zx * (k * zw - colsum)
  const __m512i kv = _mm512_set1_epi32(static_cast<int32_t>(g.k));
  const __m512i d0 = _mm512_sub_epi32(_mm512_mullo_epi32(kv, zw0), _mm512_maskz_loadu_epi32(m0, g.col_sums + j0));
  const __m512i d1 = _mm512_sub_epi32(_mm512_mullo_epi32(kv, zw1), _mm512_maskz_loadu_epi32(m1, g.col_sums + j0 + 16));
  const __m512 w0 = _mm512_maskz_loadu_ps(m0, g.sw + j0);
  const __m512 w1 = _mm512_maskz_loadu_ps(m1, g.sw + j0 + 16);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512i rs = _mm512_set1_epi32(g.row_sums[i0 + r]);
    const __m512i zx = _mm512_set1_epi32(g.zx[i0 + r]);
    const __m512 sx = _mm512_set1_ps(g.sx[i0 + r]);
    const __m512i v0 = _mm512_add_epi32(_mm512_sub_epi32(acc0[r], _mm512_mullo_epi32(zw0, rs)),
                                        _mm512_mullo_epi32(zx, d0));
    const __m512i v1 = _mm512_add_epi32(_mm512_sub_epi32(acc1[r], _mm512_mullo_epi32(zw1, rs)),
                                        _mm512_mullo_epi32(zx, d1));
    float *o = g.out + (i0 + r) * g.ldo + j0;
    _mm512_mask_storeu_ps(o, m0, _mm512_mul_ps(_mm512_cvtepi32_ps(v0), _mm512_mul_ps(sx, w0)));
    _mm512_mask_storeu_ps(o + 16, m1, _mm512_mul_ps(_mm512_cvtepi32_ps(v1), _mm512_mul_ps(sx, w1)));
  }
}

template <int... I>
constexpr auto make_vnni_tiles(std::integer_sequence<int, I...>) {
  return std::array<void (*)(const QArgs &, const uint8_t *, int64_t, int64_t), sizeof...(I)>{&tile_vnni<I + 1>...};
}
const auto kVnniTiles = make_vnni_tiles(std::make_integer_sequence<int, MR>{});
#endif

struct QJob {
  const QArgs *g;
  int64_t row_block;
  int64_t panels;
  bool vnni;
};

#ifdef TSR_QGEMM_X86
// Rows [0, rows) of q (rows ldq apart), kq groups of 4 bytes, as [kq][MR][4] (rows past `rows` zero).
void pack_a_panel(const uint8_t *q, int64_t ldq, int rows, int64_t kq, uint8_t *dst) {
  for (int64_t t = 0; t < kq; ++t) {
    uint8_t *d = dst + t * MR * 4;
    for (int r = 0; r < MR; ++r) {
      if (r < rows) {
        std::memcpy(d + r * 4, q + r * ldq + t * 4, 4);
      } else {
        std::memset(d + r * 4, 0, 4);
      }
    }
  }
}

// Per-thread buffer for a row block's packed micro-panels (grows, never shrinks).
uint8_t *a_buffer(int64_t bytes) {
  static thread_local std::vector<uint8_t> buf;
  if (static_cast<int64_t>(buf.size()) < bytes + 64) buf.resize(static_cast<size_t>(bytes + 64));
  auto addr = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + (64 - addr % 64) % 64;
}
#endif

// Task (row block, panel), numbered rb * panels + p (tsr::parallel_regions hands them out): packs the block's
// rows into the calling thread's buffer unless the participant's state says they are there, then runs the panel.
struct QTaskState {
  int64_t packed_rb = -1;
  uint8_t *ab = nullptr;
};

struct QRun {
  const QJob *job;
  QTaskState *states;
};

void run_qtask(void *ctx, int self, int64_t t, int64_t /*ahead*/) {
  const QRun &run = *static_cast<const QRun *>(ctx);
  const QJob &j = *run.job;
  const QArgs &g = *j.g;
  const int64_t rb = t / j.panels, p = t % j.panels;
  const int64_t r0 = rb * j.row_block;
  const int64_t r1 = std::min(g.m, r0 + j.row_block);
  const int64_t micro = (r1 - r0 + MR - 1) / MR;
#ifdef TSR_QGEMM_X86
  const int64_t kq = round4(g.k) / 4;
  QTaskState &st = run.states[self];
  if (j.vnni && st.packed_rb != rb) {
    st.ab = a_buffer(micro * kq * MR * 4);
    for (int64_t u = 0; u < micro; ++u) {
      const int64_t i0 = r0 + u * MR;
      pack_a_panel(g.q + i0 * g.ldq, g.ldq, static_cast<int>(std::min<int64_t>(MR, r1 - i0)), kq,
                   st.ab + u * kq * MR * 4);
    }
    st.packed_rb = rb;
  }
#else
  (void)self;
#endif
  for (int64_t u = 0; u < micro; ++u) {
    const int64_t i0 = r0 + u * MR;
    const int rows = static_cast<int>(std::min<int64_t>(MR, r1 - i0));
#ifdef TSR_QGEMM_X86
    if (j.vnni) {
      kVnniTiles[rows - 1](g, st.ab + u * kq * MR * 4, i0, p);
      continue;
    }
#endif
    tile_portable(g, i0, rows, p);
  }
  // bias, activation and residual on the block just written (the fp32 GEMM's epilogue)
  if (g.bias || g.act != TSR_ACT_NONE || g.res) {
    const int64_t j0 = p * NR;
    const int64_t nv = std::min<int64_t>(NR, g.n - j0);
    GK().epilogue(g.out + r0 * g.ldo + j0, g.ldo, r1 - r0, nv, g.bias ? g.bias + j0 : nullptr, g.act,
                  g.res ? g.res + r0 * g.ldr + j0 : nullptr, g.ldr);
  }
}

#ifdef TSR_QGEMM_X86
// min and max of a row into *lo / *hi (NaN ignored: MINPS returns its second operand when the first is NaN).
// Returns false when the row holds a NaN or an infinity (v - v is then NaN).
__attribute__((target("avx512f"))) bool min_max_row_avx512(const float *x, int64_t k, float *lo, float *hi) {
  __m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi);
  __mmask16 bad = 0;
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    l = _mm512_min_ps(v, l);
    h = _mm512_max_ps(v, h);
    bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_NEQ_UQ);
  }
  float lv = _mm512_reduce_min_ps(l), hv = _mm512_reduce_max_ps(h);
  bool finite = bad == 0;
  for (; i < k; ++i) {
    lv = x[i] < lv ? x[i] : lv;
    hv = x[i] > hv ? x[i] : hv;
    finite = finite && std::isfinite(x[i]);
  }
  *lo = lv;
  *hi = hv;
  return finite;
}

// x / scale clamped to [lo, hi], rounded half to even, + zp; 16 floats to 16 bytes; returns their sum.
__attribute__((target("avx512f,avx512bw,avx512vl"))) int32_t quantize_row_avx512(const float *x, int64_t k, float scale,
                                                                        int32_t zp, uint8_t *q) {
  const __m512 sv = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-zp));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - zp));
  const __m512i zv = _mm512_set1_epi32(zp);
  __m512i sum = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i < k; i += 16) {
    const __mmask16 mk = k - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (k - i)) - 1u);
    __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(mk, x + i), sv);
    v = _mm512_max_ps(v, lo);  // NaN -> lo (the second operand), as ONNX Runtime's MAXPS
    v = _mm512_min_ps(v, hi);
    const __m512i r = _mm512_maskz_add_epi32(mk, _mm512_cvtps_epi32(v), zv);  // round to nearest even
    sum = _mm512_add_epi32(sum, r);
    _mm_mask_storeu_epi8(q + i, mk, _mm512_cvtusepi32_epi8(r));
  }
  return _mm512_reduce_add_epi32(sum);
}
#endif

int32_t quantize_row_portable(const float *x, int64_t k, float scale, int32_t zp, uint8_t *q) {
  const float lo = static_cast<float>(-zp), hi = static_cast<float>(255 - zp);
  int32_t sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    float v = x[i] / scale;
    if (!(v >= lo)) v = lo;  // NaN too
    if (v > hi) v = hi;
    const int32_t r = static_cast<int32_t>(std::nearbyint(v)) + zp;  // FE_TONEAREST: half to even
    q[i] = static_cast<uint8_t>(r);
    sum += r;
  }
  return sum;
}

}  // namespace
}  // namespace tsr

extern "C" {

int tsr_cpu_qgemm_vnni(void) { return tsr::use_vnni() ? 1 : 0; }

int64_t tsr_cpu_qgemm_packed_bytes(int64_t n, int64_t k) {
  if (n <= 0 || k <= 0) return 0;
  return tsr::sums_offset(n, k) + 4 * n;
}

int tsr_cpu_qgemm_pack_s8(const int8_t *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k, void *packed) {
  using namespace tsr;
  TSR_CHECK(n >= 0 && k >= 0, "tsr_cpu_qgemm_pack_s8: negative size (n %lld, k %lld)", (long long)n, (long long)k);
  if (n == 0 || k == 0) return TSR_OK;
  TSR_CHECK(w && packed, "tsr_cpu_qgemm_pack_s8: null pointer");
  int8_t *dst = static_cast<int8_t *>(packed);
  int32_t *sums = reinterpret_cast<int32_t *>(dst + sums_offset(n, k));
  const int64_t kq = round4(k) / 4;
  parallel_for(panels_of(n), 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int8_t *pp = dst + p * panel_bytes(k);
      for (int64_t c = 0; c < NR; ++c) {
        const int64_t j = p * NR + c;
        int32_t s = 0;
        for (int64_t t = 0; t < kq; ++t) {
          for (int u = 0; u < 4; ++u) {
            const int64_t kk = t * 4 + u;
            const int8_t v = (j < n && kk < k) ? w[j * stride_n + kk * stride_k] : 0;
            pp[(t * NR + c) * 4 + u] = v;
            s += v;
          }
        }
        if (j < n) sums[j] = s;
      }
    }
  });
  return TSR_OK;
}

int tsr_cpu_quantize_u8(const float *x, int64_t m, int64_t k, int64_t ldx, int64_t group, const uint8_t *valid,
                        uint8_t *q, int64_t ldq, int32_t *row_sums, float *scale, int32_t *zero_point) {
  return tsr::guarded(__func__, [&]() -> int {
    using namespace tsr;
    TSR_CHECK(m >= 0 && k >= 0 && group >= 1, "tsr_cpu_quantize_u8: bad size (m %lld, k %lld, group %lld)",
              (long long)m, (long long)k, (long long)group);
    TSR_CHECK(ldx >= k && ldq >= round4(k), "tsr_cpu_quantize_u8: leading dimension too small (ldx %lld, ldq %lld, k %lld)",
              (long long)ldx, (long long)ldq, (long long)k);
    TSR_CHECK(m == 0 || (x && q && row_sums && scale && zero_point), "tsr_cpu_quantize_u8: null pointer");
    if (m == 0) return TSR_OK;
    const bool vec = use_vnni();  // AVX-512 present and chosen
    const int64_t groups = (m + group - 1) / group;
    // each group's range over its valid rows, widened to include 0 (the rows in parallel, then per group)
    // a row holding a NaN or an infinity is left out of its group's range (the other rows quantize as without it)
    // and gets scale NaN, which makes tsr_cpu_qgemm_f32 write its output row as NaN
    std::vector<float> lo_r(static_cast<size_t>(m)), hi_r(static_cast<size_t>(m));
    std::vector<uint8_t> finite_r(static_cast<size_t>(m), 1);
    parallel_for(m, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(k, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float l = 0.0f, h = 0.0f;
        bool finite = true;
        const float *xr = x + r * ldx;
  #ifdef TSR_QGEMM_X86
        if (vec) {
          finite = min_max_row_avx512(xr, k, &l, &h);
        } else
  #endif
        {
          for (int64_t i = 0; i < k; ++i) {
            l = xr[i] < l ? xr[i] : l;
            h = xr[i] > h ? xr[i] : h;
            finite = finite && std::isfinite(xr[i]);
          }
        }
        const bool counts = finite && (valid == nullptr || valid[r]);
        lo_r[r] = counts ? l : 0.0f;
        hi_r[r] = counts ? h : 0.0f;
        finite_r[r] = finite ? 1 : 0;
      }
    });
    for (int64_t gi = 0; gi < groups; ++gi) {
      const int64_t r0 = gi * group, r1 = std::min(m, r0 + group);
      float lo = 0.0f, hi = 0.0f;
      for (int64_t r = r0; r < r1; ++r) {
        lo = std::min(lo, lo_r[r]);
        hi = std::max(hi, hi_r[r]);
      }
      // ONNX Runtime: scale = (max - min) / 255, zero point = round-half-even(clamp(0 - min / scale, 0, 255))
      const float s = hi == lo ? 1.0f : (hi - lo) / 255.0f;
      const int32_t zp = static_cast<int32_t>(std::nearbyint(std::max(0.0f, std::min(255.0f, 0.0f - lo / s))));
      for (int64_t r = r0; r < r1; ++r) {
        scale[r] = s;
        zero_point[r] = zp;
      }
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    parallel_for(m, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(k, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        uint8_t *qr = q + r * ldq;
  #ifdef TSR_QGEMM_X86
        row_sums[r] = vec ? quantize_row_avx512(x + r * ldx, k, scale[r], zero_point[r], qr)
                          : quantize_row_portable(x + r * ldx, k, scale[r], zero_point[r], qr);
  #else
        (void)vec;
        row_sums[r] = quantize_row_portable(x + r * ldx, k, scale[r], zero_point[r], qr);
  #endif
        std::memset(qr + k, 0, static_cast<size_t>(ldq - k));
        if (!finite_r[r]) scale[r] = nan;  // after the row was quantized with its group's scale
      }
    });
    return TSR_OK;
  });
}

int tsr_cpu_qgemm_f32(const uint8_t *q, int64_t ldq, const int32_t *row_sums, const float *sx, const int32_t *zx,
                      const void *packed, const int32_t *zw, const float *sw, int64_t m, int64_t n, int64_t k,
                      const float *bias, int act, const float *residual, int64_t ldr, float *out, int64_t ldo) {
  return tsr::guarded(__func__, [&]() -> int {
    using namespace tsr;
    TSR_CHECK(m >= 0 && n >= 0 && k >= 0, "tsr_cpu_qgemm_f32: negative size (m %lld, n %lld, k %lld)", (long long)m,
              (long long)n, (long long)k);
    TSR_CHECK(act >= 0 && act < TSR_ACT_COUNT, "tsr_cpu_qgemm_f32: unknown activation %d", act);
    if (m == 0 || n == 0) return TSR_OK;
    TSR_CHECK(ldq >= round4(k) && ldo >= n && (residual == nullptr || ldr >= n),
              "tsr_cpu_qgemm_f32: leading dimension too small (ldq %lld, ldo %lld, ldr %lld for k %lld, n %lld)",
              (long long)ldq, (long long)ldo, (long long)ldr, (long long)k, (long long)n);
    TSR_CHECK(out && zw && sw && sx && zx && (k == 0 || (q && row_sums && packed)), "tsr_cpu_qgemm_f32: null pointer");
    TSR_CHECK(reinterpret_cast<uintptr_t>(packed) % 64 == 0, "tsr_cpu_qgemm_f32: packed weight not 64-byte aligned");
    TSR_CHECK(residual == nullptr || residual != out, "tsr_cpu_qgemm_f32: the residual must not be the output");
    const int8_t *pk = static_cast<const int8_t *>(packed);
    QArgs g{q, ldq, row_sums, zx, pk, reinterpret_cast<const int32_t *>(pk + sums_offset(n, k)), zw, sx, sw,
            m, n, k, bias, act, residual, ldr, out, ldo};
    const int64_t panels = panels_of(n);
    const int64_t threads = cpu_threads();
    // rows per task: up to 192 (16 register tiles), fewer when the panels alone cannot keep the threads busy
    int64_t rb = 192;
    if (panels < 2 * threads && m > MR) {
      rb = std::max<int64_t>(MR, ((m + 2 * threads - 1) / (2 * threads) + MR - 1) / MR * MR);
    }
    rb = std::min(rb, m);
    const int64_t row_blocks = (m + rb - 1) / rb;
    QJob job{&g, rb, panels, use_vnni()};
    // one region of tasks per thread, the tails of slower threads' regions taken over by the others
    std::unique_ptr<QTaskState[]> states(new QTaskState[threads]);
    QRun run{&job, states.get()};
    parallel_regions(row_blocks * panels, static_cast<int>(threads), run_qtask, &run);
    // a row whose input held a NaN or an infinity (scale NaN, see tsr_cpu_quantize_u8) is NaN whatever the
    // activation (ReLU would have made NaN 0) and residual
    for (int64_t i = 0; i < m; ++i) {
      if (std::isnan(sx[i])) std::fill(out + i * ldo, out + i * ldo + n, std::numeric_limits<float>::quiet_NaN());
    }
    return TSR_OK;
  });
}

}  // extern "C"
