// Fused-attention CPU kernels: one query block (<= kAttnQueryBlock rows of one head) against a key
// range, flash-style: key tiles of kAttnKeyTile, online softmax with a running max and sum per row,
// memory O(tile). QK^T packs the key tile transposed (16 x 16 register transposes on AVX-512) and runs a
// register-blocked outer-product micro-kernel over the keys, the last tile only up to its keys rounded to whole
// vectors (197 keys: 208 scores per row, not 256); PV is a register-blocked axpy over head_dim. Rows, q, k, v
// and out, are read and written through row strides (views of a [B, S, 3, H, D] projection need no copy).
// The softmax of a row runs a fast path on AVX-512 / AVX2 (softmax_row_fast: vector max, a NaN check in the
// same pass, an exp with the scaling done on the exponent (vscalefps on AVX-512), sums reduced in registers,
// no correction exponential on the first key tile); a row holding a NaN or seeing no key takes the general
// path. The mask pass is skipped for a tile with nothing to mask. Compiled once per ISA (TSR_ISA_NS) with GCC
// vector extensions sized for the ISA; exp from vmath.h (no libm), IEEE semantics (no -ffast-math): NaN
// propagates through the max, the exponentials and the sums.
#include <cstring>
#include <limits>

#include "attention_table.h"
#include "tessera/tessera.h"
#include "vmath.h"
#include "hreduce.h"
#include "vexp_simd.h"

#include "isa_unit.h"

#include "transpose.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tsr {
namespace TSR_ISA_NS {
namespace {

constexpr int W = kVecFloats;  // floats per vector register
#if defined(__AVX512F__)
constexpr int NVS = 4;  // key vectors per score micro-tile (64 keys)
constexpr int NVP = 4;  // head_dim vectors per PV micro-tile
constexpr int RP = 8;   // query rows per PV micro-tile (8 rows x 2 vectors: head_dim 32 in 16 registers)
#elif defined(__AVX2__)
constexpr int NVS = 2;
constexpr int NVP = 2;
constexpr int RP = 4;
#else
constexpr int NVS = 2;
constexpr int NVP = 2;
constexpr int RP = 4;
#endif
constexpr int R = 4;  // query rows per micro-tile
// Causal: the rows of a group this size share the key tile's columns up to the last one its last row sees (whole
// vectors), for the scores, the softmax and PV; the keys right of it are masked for every row of the group.
constexpr int64_t CG = 8;
static_assert(CG % R == 0 && CG % RP == 0, "a causal row group must hold whole micro-tiles");
constexpr int64_t KT = kAttnKeyTile;
constexpr int64_t QB = kAttnQueryBlock;
static_assert(KT % (NVS * W) == 0, "key tile must be a multiple of the score micro-tile");

typedef float vf __attribute__((vector_size(W * sizeof(float))));

inline vf vload(const float *p) {
  vf x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline void vstore(float *p, vf x) { std::memcpy(p, &x, sizeof x); }
// Every lane set to s. s - 0 is s for every float (-0 and NaN included), so GCC folds the subtraction away and the
// micro-kernels get one vbroadcastss from memory (a load-port op). `vf{} + s` may not be folded (-0 + 0 is +0): it
// compiled to a vaddss and a register broadcast, which on Intel cores takes the shuffle port that also runs FMAs
// (scores and PV ~25% slower); a lane-by-lane fill compiled to masked inserts.
inline vf vbcast(float s) { return s - vf{}; }

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// s[r * KT + j] = scale * <q_r, k_j> for r < RR, j in [jb, jb + NV * W) (q rows qs apart; kt: packed K^T
// tile, [d][KT]).
template <int RR, int NV>
inline void scores_chunk(const float *__restrict q, int64_t qs, int64_t d, const float *__restrict kt, float scale,
                         float *__restrict s, int64_t jb) {
  vf acc[RR][NV];
  for (int r = 0; r < RR; ++r)
    for (int n = 0; n < NV; ++n) acc[r][n] = vf{};
  const float *kc = kt + jb;
  for (int64_t c = 0; c < d; ++c, kc += KT) {
    vf kv[NV];
    for (int n = 0; n < NV; ++n) kv[n] = vload(kc + n * W);
    for (int r = 0; r < RR; ++r) {
      const vf qb = vbcast(q[r * qs + c]);
      for (int n = 0; n < NV; ++n) acc[r][n] += qb * kv[n];
    }
  }
  const vf sc = vbcast(scale);
  for (int r = 0; r < RR; ++r)
    for (int n = 0; n < NV; ++n) vstore(s + r * KT + jb + n * W, acc[r][n] * sc);
}

// s[r * KT + j] = scale * <q_r, k_j> for r < RR, j < nkp (a multiple of W, <= KT).
template <int RR>
inline void scores_rows(const float *__restrict q, int64_t qs, int64_t d, const float *__restrict kt, float scale,
                        float *__restrict s, int64_t nkp) {
  int64_t jb = 0;
  for (; jb + NVS * W <= nkp; jb += NVS * W) scores_chunk<RR, NVS>(q, qs, d, kt, scale, s, jb);
  for (; jb < nkp; jb += W) scores_chunk<RR, 1>(q, qs, d, kt, scale, s, jb);
}

// acc[r * d + c] += sum_{j < nk} p[r * KT + j] * v[j * vs + c] for r < RR.
template <int RR, int NV>
inline int64_t pv_chunk(const float *__restrict p, const float *__restrict v, int64_t vs, int64_t nk, int64_t d,
                        float *__restrict acc, int64_t c0) {
  for (; c0 + NV * W <= d; c0 += NV * W) {
    vf a[RR][NV];
    for (int r = 0; r < RR; ++r)
      for (int n = 0; n < NV; ++n) a[r][n] = vload(acc + r * d + c0 + n * W);
    const float *vr = v + c0;
    for (int64_t j = 0; j < nk; ++j, vr += vs) {
      vf vv[NV];
      for (int n = 0; n < NV; ++n) vv[n] = vload(vr + n * W);
      for (int r = 0; r < RR; ++r) {
        const vf pb = vbcast(p[r * KT + j]);
        for (int n = 0; n < NV; ++n) a[r][n] += pb * vv[n];
      }
    }
    for (int r = 0; r < RR; ++r)
      for (int n = 0; n < NV; ++n) vstore(acc + r * d + c0 + n * W, a[r][n]);
  }
  return c0;
}

template <int RR>
inline void pv_rows(const float *__restrict p, const float *__restrict v, int64_t vs, int64_t nk, int64_t d,
                    float *__restrict acc) {
  int64_t c0 = pv_chunk<RR, NVP>(p, v, vs, nk, d, acc, 0);
  if (NVP > 2) c0 = pv_chunk<RR, 2>(p, v, vs, nk, d, acc, c0);
  c0 = pv_chunk<RR, 1>(p, v, vs, nk, d, acc, c0);
  for (; c0 < d; ++c0) {  // head_dim tail (d % W)
    for (int r = 0; r < RR; ++r) {
      float sum = acc[r * d + c0];
      for (int64_t j = 0; j < nk; ++j) sum += p[r * KT + j] * v[j * vs + c0];
      acc[r * d + c0] = sum;
    }
  }
}

inline bool key_kept(const void *mask, int dtype, int64_t j) {
  if (mask == nullptr) return true;
  return dtype == TSR_I64 ? static_cast<const int64_t *>(mask)[j] != 0 : static_cast<const int32_t *>(mask)[j] != 0;
}

// NaN-propagating max of the first nkp (a multiple of W) scores of a row (vector lanes, then across them).
inline float row_max(const float *__restrict s, int64_t nkp) {
  typedef int32_t vi __attribute__((vector_size(W * sizeof(float))));
  vf m = vbcast(kNegInf);
  for (int64_t j = 0; j < nkp; j += W) {
    const vf x = vload(s + j);
    const vi upd = (x > m) | (x != x);
    m = upd ? x : m;
  }
  return hmax<W>(m);
}

#if defined(__AVX512F__) || defined(__AVX2__)
// Vector helpers of the softmax (one register of W floats).
#if defined(__AVX512F__)
using VR = __m512;
inline VR vr_load(const float *p) { return _mm512_loadu_ps(p); }
inline void vr_store(float *p, VR x) { _mm512_storeu_ps(p, x); }
inline VR vr_set(float x) { return _mm512_set1_ps(x); }
inline VR vr_max(VR a, VR b) { return _mm512_max_ps(a, b); }
inline VR vr_add(VR a, VR b) { return _mm512_add_ps(a, b); }
inline VR vr_sub(VR a, VR b) { return _mm512_sub_ps(a, b); }
inline VR vr_mul(VR a, VR b) { return _mm512_mul_ps(a, b); }
inline unsigned vr_nan(VR x) { return _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q); }
#else
using VR = __m256;
inline VR vr_load(const float *p) { return _mm256_loadu_ps(p); }
inline void vr_store(float *p, VR x) { _mm256_storeu_ps(p, x); }
inline VR vr_set(float x) { return _mm256_set1_ps(x); }
inline VR vr_max(VR a, VR b) { return _mm256_max_ps(a, b); }
inline VR vr_add(VR a, VR b) { return _mm256_add_ps(a, b); }
inline VR vr_sub(VR a, VR b) { return _mm256_sub_ps(a, b); }
inline VR vr_mul(VR a, VR b) { return _mm256_mul_ps(a, b); }
inline unsigned vr_nan(VR x) { return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))); }
#endif

// Below this the softmax's e^x is 0 (e^-87 ~ 1.6e-38 next to the row maximum's 1: nothing is lost). A result
// in the subnormal range costs an Intel core a microcode assist of ~100+ cycles per instruction (MXCSR has no
// flush-to-zero in a JVM's threads), and every masked key (-inf: padding, a causal mask, the rounding of the last
// tile to whole vectors) would produce one: ViT's 197 keys cost each row an assist per call, 10% of the kernel.
constexpr float kExpLow = -87.0f;

#if defined(__AVX512F__)
// e^x for the softmax (x = score - row max: <= 0, -inf or NaN) with vscalefps for the 2^n, 0 below kExpLow.
// Same accuracy as vm::exp_f (~1 ulp) above it, a third of its instructions. NaN propagates.
inline VR exp_softmax(VR x) {
  const __mmask16 keep = _mm512_cmp_ps_mask(x, vr_set(kExpLow), _CMP_NLT_UQ);  // x >= kExpLow or NaN
  x = _mm512_max_ps(vr_set(kExpLow), x);  // NaN kept (2nd operand)
  const VR n = round_nearest(vr_mul(x, vr_set(1.44269504088896341f)));
  return _mm512_maskz_mov_ps(keep, _mm512_scalef_ps(exp_reduced(x, n), n));
}
#else
// e^x for the softmax on AVX2 (x = score - row max <= 0, no NaN: the fast path checks): 2^n through the
// exponent bits of a normal number (x clamped to kExpLow), 0 below kExpLow.
inline VR exp_softmax(VR x) {
  const VR lo = vr_set(kExpLow);
  const VR xc = vr_max(x, lo);
  const VR n = round_nearest(vr_mul(xc, vr_set(1.44269504088896341f)));
  const VR y = vr_mul(exp_reduced(xc, n), pow2n(n));
  return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), y);
}
#endif
#endif  // AVX-512 / AVX2

#if defined(__AVX512F__) || defined(__AVX2__)
// Max / sum of the lanes (no NaN) by swapping halves within the register: every lane ends with the result.
#if defined(__AVX512F__)
inline float vr_hmax(VR x) {
  x = _mm512_max_ps(x, _mm512_shuffle_f32x4(x, x, 0x4e));
  x = _mm512_max_ps(x, _mm512_shuffle_f32x4(x, x, 0xb1));
  x = _mm512_max_ps(x, _mm512_permute_ps(x, 0x4e));
  x = _mm512_max_ps(x, _mm512_permute_ps(x, 0xb1));
  return _mm512_cvtss_f32(x);
}
inline float vr_hsum(VR x) {
  x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0x4e));
  x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0xb1));
  x = _mm512_add_ps(x, _mm512_permute_ps(x, 0x4e));
  x = _mm512_add_ps(x, _mm512_permute_ps(x, 0xb1));
  return _mm512_cvtss_f32(x);
}
#else
inline float vr_hmax(VR x) {
  x = _mm256_max_ps(x, _mm256_permute2f128_ps(x, x, 1));
  x = _mm256_max_ps(x, _mm256_permute_ps(x, 0x4e));
  x = _mm256_max_ps(x, _mm256_permute_ps(x, 0xb1));
  return _mm256_cvtss_f32(x);
}
inline float vr_hsum(VR x) {
  x = _mm256_add_ps(x, _mm256_permute2f128_ps(x, x, 1));
  x = _mm256_add_ps(x, _mm256_permute_ps(x, 0x4e));
  x = _mm256_add_ps(x, _mm256_permute_ps(x, 0xb1));
  return _mm256_cvtss_f32(x);
}
#endif

// Softmax step of one row of a key tile without NaN that sees at least one key (masked entries already -inf):
// s becomes e^(s - m_new), m / l updated, corr gets the rescaling of the row's previous sum. Returns false (and
// changes nothing) for a row with a NaN or nothing visible, which the general path handles.
inline bool softmax_row_fast(float *__restrict si, int64_t nkp, float &mrow, float &lrow, float &corr) {
  VR mv = vr_load(si);
  unsigned nan = vr_nan(mv);
  for (int64_t j = W; j < nkp; j += W) {
    const VR x = vr_load(si + j);
    nan |= vr_nan(x);
    mv = vr_max(mv, x);
  }
  const float mold = mrow;
  const float mx = vr_hmax(mv);
  if (nan != 0 || mx == kNegInf || mold != mold) return false;
  const float mnew = mold > mx ? mold : mx;
  const VR m = vr_set(mnew);
  VR a = vr_set(0.0f);
  for (int64_t j = 0; j < nkp; j += W) {
    const VR e = exp_softmax(vr_sub(vr_load(si + j), m));
    vr_store(si + j, e);
    a = vr_add(a, e);
  }
  const float c = mold == kNegInf ? 0.0f : vm::exp_f(mold - mnew);
  corr = c;
  lrow = lrow * c + vr_hsum(a);
  mrow = mnew;
  return true;
}
#endif

// s[j] = e^(s[j] - mx) for j < nkp (a multiple of W); returns their sum (W partial sums, then across them).
inline float row_exp_sum(float *__restrict s, int64_t nkp, float mx) {
#if defined(__AVX512F__)
  const __m512 m = _mm512_set1_ps(mx);
  __m512 a = _mm512_setzero_ps();
  for (int64_t j = 0; j < nkp; j += 16) {
    const __m512 e = exp_softmax(_mm512_sub_ps(_mm512_loadu_ps(s + j), m));
    _mm512_storeu_ps(s + j, e);
    a = _mm512_add_ps(a, e);
  }
  return vr_hsum(a);
#else
  for (int64_t j = 0; j < nkp; ++j) s[j] = vm::exp_f(s[j] - mx);
  vf a = vf{};
  for (int64_t j = 0; j < nkp; j += W) a += vload(s + j);
  return hsum<W>(a);
#endif
}

// kt[c * KT + j] = kr[j * ks + c] for j < nk, c < d: the key tile transposed (key rows ks apart).
inline void pack_kt(const float *__restrict kr, int64_t ks, int64_t nk, int64_t d, float *__restrict kt) {
  int64_t j0 = 0;
#if defined(__AVX512F__)
  // 16 x 16 blocks through registers (unpack / shuffle network)
  for (; j0 + 16 <= nk; j0 += 16) {
    int64_t c0 = 0;
    for (; c0 + 16 <= d; c0 += 16) {
      const float *src = kr + j0 * ks + c0;
      float *dst = kt + c0 * KT + j0;
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ks);
      transpose16_regs(r);
      for (int c = 0; c < 16; ++c) _mm512_storeu_ps(dst + c * KT, r[c]);
    }
    for (int64_t j = j0; j < j0 + 16; ++j)  // head_dim tail
      for (int64_t c = c0; c < d; ++c) kt[c * KT + j] = kr[j * ks + c];
  }
#endif
  for (int64_t j = j0; j < nk; ++j)
    for (int64_t c = 0; c < d; ++c) kt[c * KT + j] = kr[j * ks + c];
}

void block(const AttnBlock &t) {
  const int64_t d = t.head_dim, nq = t.nq;
  float *kt = t.scratch;      // [d][KT]
  float *s = kt + d * KT;     // [QB][KT]
  float *acc = s + QB * KT;   // [QB][d]
  float *mrow = acc + QB * d;
  float *lrow = mrow + QB;
  float *corr = lrow + QB;
  float *bias = corr + QB;    // [KT]: 0 = key usable, -inf = padding / past the range
  for (int64_t i = 0; i < nq * d; ++i) acc[i] = 0.0f;
  for (int64_t i = 0; i < nq; ++i) {
    mrow[i] = kNegInf;
    lrow[i] = 0.0f;
  }
  // Keys past the last one any row of the block may see are skipped (causal).
  int64_t kend = t.kend;
  if (t.limit0 < kend - nq) kend = t.limit0 + nq;  // limit0 + nq - 1 is the last visible key
  for (int64_t j0 = t.kbeg; j0 < kend; j0 += KT) {
    const int64_t nk = kend - j0 < KT ? kend - j0 : KT;
    // keys [0, nkp) of the tile take part in the scores and the softmax: nk rounded up to whole vectors
    const int64_t nkp = (nk + W - 1) / W * W;
    // pack K^T of the tile; columns nk .. nkp are zero (and masked by bias)
    pack_kt(t.k + j0 * t.k_stride, t.k_stride, nk, d, kt);
    if (nk < nkp) {
      for (int64_t c = 0; c < d; ++c)
        for (int64_t j = nk; j < nkp; ++j) kt[c * KT + j] = 0.0f;
    }
    bool any_masked = nk < nkp;
    for (int64_t j = 0; j < nkp; ++j) {
      const bool kept = j < nk && key_kept(t.mask, t.mask_dtype, j0 + j);
      bias[j] = kept ? 0.0f : kNegInf;
      any_masked |= !kept;
    }
    // Columns [0, cols(i)) of the tile take part for row i: all nkp, or (causal) up to the last key the last row of
    // i's group of CG rows sees, rounded up to whole vectors (at least one). On the diagonal tile of a causal block
    // this skips about half of the scores, exponentials and PV products; the results are the same bits (the
    // columns skipped are masked keys, whose probabilities are 0).
    const int64_t diag = t.limit0 == INT64_MAX ? INT64_MAX : t.limit0 - j0;  // row i sees local keys <= diag + i
    auto cols = [&](int64_t i) -> int64_t {
      if (diag == INT64_MAX) return nkp;
      int64_t last = (i / CG + 1) * CG - 1;
      if (last > nq - 1) last = nq - 1;
      const int64_t lim = diag + last;
      if (lim >= nkp - 1) return nkp;
      const int64_t c = lim < 0 ? W : (lim + W) / W * W;
      return c < nkp ? c : nkp;
    };
    // scores
    int64_t r0 = 0;
    for (; r0 + R <= nq; r0 += R)
      scores_rows<R>(t.q + r0 * t.q_stride, t.q_stride, d, kt, t.scale, s + r0 * KT, cols(r0));
    switch (nq - r0) {
      case 3: scores_rows<3>(t.q + r0 * t.q_stride, t.q_stride, d, kt, t.scale, s + r0 * KT, cols(r0)); break;
      case 2: scores_rows<2>(t.q + r0 * t.q_stride, t.q_stride, d, kt, t.scale, s + r0 * KT, cols(r0)); break;
      case 1: scores_rows<1>(t.q + r0 * t.q_stride, t.q_stride, d, kt, t.scale, s + r0 * KT, cols(r0)); break;
      default: break;
    }
    // online softmax: s becomes p = e^(s - m_new), rows rescaled by corr
    for (int64_t i = 0; i < nq; ++i) {
      float *si = s + i * KT;
      const int64_t nc = cols(i);
      // local key jl is visible when jl <= lim (causal) and bias[jl] == 0
      const int64_t lim64 = diag == INT64_MAX ? KT : diag + i;
      const int64_t lim = lim64 > KT ? KT : (lim64 < -1 ? -1 : lim64);
      if (any_masked || lim < nc - 1)
        for (int64_t j = 0; j < nc; ++j) si[j] = vm::sel((j <= lim) & (bias[j] == 0.0f), si[j], kNegInf);
#if defined(__AVX512F__) || defined(__AVX2__)
      if (softmax_row_fast(si, nc, mrow[i], lrow[i], corr[i])) continue;
#endif
      const float mx = row_max(si, nc);
      const float mold = mrow[i];
      const float mnew = nmax(mold, mx);
      if (mnew == kNegInf) {  // nothing visible yet: p = 0, state unchanged
        for (int64_t j = 0; j < nc; ++j) si[j] = 0.0f;
        corr[i] = 1.0f;
        continue;
      }
      const float sum = row_exp_sum(si, nc, mnew);
      const float c = vm::exp_f(mold - mnew);  // 0 when mold = -inf
      corr[i] = c;
      lrow[i] = lrow[i] * c + sum;
      mrow[i] = mnew;
    }
    for (int64_t i = 0; i < nq; ++i) {
      const float c = corr[i];
      if (c != 1.0f) {
        float *a = acc + i * d;
        for (int64_t x = 0; x < d; ++x) a[x] *= c;
      }
    }
    const float *vr = t.v + j0 * t.v_stride;
    const int64_t vs = t.v_stride;
    auto keys = [&](int64_t i) { const int64_t c = cols(i); return c < nk ? c : nk; };  // PV's keys for i's group
    r0 = 0;
    if (RP > R && d <= 2 * W)  // narrow heads: more rows per tile keep the FMA units busy
      for (; r0 + RP <= nq; r0 += RP) pv_rows<RP>(s + r0 * KT, vr, vs, keys(r0), d, acc + r0 * d);
    for (; r0 + R <= nq; r0 += R) pv_rows<R>(s + r0 * KT, vr, vs, keys(r0), d, acc + r0 * d);
    switch (nq - r0) {
      case 3: pv_rows<3>(s + r0 * KT, vr, vs, keys(r0), d, acc + r0 * d); break;
      case 2: pv_rows<2>(s + r0 * KT, vr, vs, keys(r0), d, acc + r0 * d); break;
      case 1: pv_rows<1>(s + r0 * KT, vr, vs, keys(r0), d, acc + r0 * d); break;
      default: break;
    }
  }
  if (t.m != nullptr) {
    for (int64_t i = 0; i < nq; ++i) {
      t.m[i] = mrow[i];
      t.l[i] = lrow[i];
      for (int64_t x = 0; x < d; ++x) t.out[i * t.out_stride + x] = acc[i * d + x];
    }
    return;
  }
  for (int64_t i = 0; i < nq; ++i) {
    float *o = t.out + i * t.out_stride;
    const float *a = acc + i * d;
    if (lrow[i] == 0.0f) {  // the row saw no key
      for (int64_t x = 0; x < d; ++x) o[x] = 0.0f;
    } else {
      const float inv = 1.0f / lrow[i];
      for (int64_t x = 0; x < d; ++x) o[x] = a[x] * inv;
    }
  }
}

void merge(const float *o, const float *m, const float *l, int64_t parts, int64_t stride, int64_t rows, int64_t d,
           float *out) {
  for (int64_t r = 0; r < rows; ++r) {
    float mx = kNegInf;
    for (int64_t p = 0; p < parts; ++p) mx = nmax(mx, m[p * stride + r]);
    float *dst = out + r * d;
    for (int64_t x = 0; x < d; ++x) dst[x] = 0.0f;
    if (mx == kNegInf) continue;  // no part saw a key
    float lsum = 0.0f;
    for (int64_t p = 0; p < parts; ++p) {
      const float w = vm::exp_f(m[p * stride + r] - mx);  // 0 for a part that saw nothing
      if (w == 0.0f) continue;
      lsum += w * l[p * stride + r];
      const float *src = o + (p * stride + r) * d;
      for (int64_t x = 0; x < d; ++x) dst[x] += w * src[x];
    }
    const float inv = 1.0f / lsum;
    for (int64_t x = 0; x < d; ++x) dst[x] *= inv;
  }
}

}  // namespace

const AttentionKernels &attention_kernels() {
  static const AttentionKernels k = {TSR_ISA_NAME, block, merge};
  return k;
}

}  // namespace TSR_ISA_NS
}  // namespace tsr
