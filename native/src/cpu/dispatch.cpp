// extern "C" entry points of the CPU backend (tsr_cpu_* of tessera.h and core.h): argument checks
// (the second fence after Java's), ISA selection, and the split of the work over the thread pool.
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "common/view_dims.h"
#include "kernels/isa_table.h"
#include "tessera/core.h"
#include "tessera/tessera.h"
#include "threadpool.h"

namespace tsr {
namespace {

// Work per range handed to one thread: below this everything runs inline on the caller.
constexpr int64_t kGrainCopy = 1 << 16;     // elements of cheap elementwise / copy work
constexpr int64_t kGrainMath = 1 << 14;     // elements of transcendental work
constexpr int64_t kGrainRowElems = 1 << 15;  // elements per range for row-wise ops

inline int64_t row_grain(int64_t cols, int64_t elems) {
  const int64_t g = elems / (cols > 0 ? cols : 1);
  return g < 1 ? 1 : g;
}

const CpuKernels *select_kernels() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                        __builtin_cpu_supports("f16c");
  const bool has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  int level = has_avx512 ? 2 : (has_avx2 ? 1 : 0);
  if (const char *env = std::getenv("TESSERA_CPU_ISA")) {
    int want = -1;
    if (std::strcmp(env, "scalar") == 0) want = 0;
    else if (std::strcmp(env, "avx2") == 0) want = 1;
    else if (std::strcmp(env, "avx512") == 0) want = 2;
    if (want >= 0 && want < level) level = want;  // never above what the CPU has
  }
  if (level == 2) return &isa_avx512::kernels();
  if (level == 1) return &isa_avx2::kernels();
#endif
  return &isa_scalar::kernels();
}

const CpuKernels &K() {
  static const CpuKernels *k = select_kernels();
  return *k;
}

inline bool valid_op(int op) { return op >= TSR_OP_ADD && op <= TSR_OP_DIV; }
inline bool float_dtype(int dt) { return dt == TSR_F32 || dt == TSR_F16 || dt == TSR_BF16; }
inline int64_t dtype_size(int dt) { return dt == TSR_F32 ? 4 : 2; }


// Runs a unary elementwise float kernel over [0, n).
template <class Kern>
void unary_par(Kern kern, const float *x, float *out, int64_t n, int64_t grain) {
  parallel_for(n, grain, [&](int64_t b, int64_t e) { kern(x + b, out + b, e - b); });
}

// ---------------------------------------------------------------- strided copy

// Copies rows [r0, r1) of the (collapsed) view: row = all dims but the last.
void strided_rows(const char *src, char *dst, int nd, const int64_t *shape, const int64_t *stride, int64_t es,
                  int64_t r0, int64_t r1) {
  const int64_t inner = shape[nd - 1], sin = stride[nd - 1];
  int64_t idx[8] = {0};
  int64_t rem = r0;
  const char *s = src;
  for (int d = nd - 2; d >= 0; --d) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    s += idx[d] * stride[d] * es;
  }
  char *o = dst + r0 * inner * es;
  for (int64_t r = r0; r < r1; ++r) {
    if (sin == 1) {
      std::memcpy(o, s, static_cast<size_t>(inner * es));
    } else {
      switch (es) {
        case 1: for (int64_t i = 0; i < inner; ++i) o[i] = s[i * sin]; break;
        case 2: {
          uint16_t *ot = reinterpret_cast<uint16_t *>(o);
          for (int64_t i = 0; i < inner; ++i) std::memcpy(ot + i, s + i * sin * 2, 2);
          break;
        }
        case 4: {
          uint32_t *ot = reinterpret_cast<uint32_t *>(o);
          for (int64_t i = 0; i < inner; ++i) std::memcpy(ot + i, s + i * sin * 4, 4);
          break;
        }
        default: {
          uint64_t *ot = reinterpret_cast<uint64_t *>(o);
          for (int64_t i = 0; i < inner; ++i) std::memcpy(ot + i, s + i * sin * 8, 8);
          break;
        }
      }
    }
    o += inner * es;
    // odometer over the outer dims
    for (int d = nd - 2; d >= 0; --d) {
      s += stride[d] * es;
      if (++idx[d] < shape[d]) break;
      s -= shape[d] * stride[d] * es;
      idx[d] = 0;
    }
  }
}

// ---------------------------------------------------------------- strided -> strided copy

template <typename T>
inline void copy_elems(const char *s, int64_t ss, char *d, int64_t ds, int64_t n) {
  const T *st = reinterpret_cast<const T *>(s);
  T *dt = reinterpret_cast<T *>(d);
  for (int64_t i = 0; i < n; ++i) dt[i * ds] = st[i * ss];
}

inline void copy_run(const char *s, int64_t ss, char *d, int64_t ds, int64_t n, int64_t es) {
  if (ss == 1 && ds == 1) {
    std::memcpy(d, s, static_cast<size_t>(n * es));
    return;
  }
  switch (es) {
    case 1: copy_elems<uint8_t>(s, ss, d, ds, n); break;
    case 2: copy_elems<uint16_t>(s, ss, d, ds, n); break;
    case 4: copy_elems<uint32_t>(s, ss, d, ds, n); break;
    default: copy_elems<uint64_t>(s, ss, d, ds, n); break;
  }
}

// Copies rows [r0, r1) of the collapsed iteration space (row = all dims but the last) from the src
// view to the dst view.
void view_rows(const char *src, const int64_t *sst, char *dst, const int64_t *dst_st, int nd, const int64_t *shape,
               int64_t es, int64_t r0, int64_t r1) {
  const int64_t inner = shape[nd - 1];
  int64_t idx[8] = {0};
  int64_t rem = r0;
  const char *s = src;
  char *d = dst;
  for (int k = nd - 2; k >= 0; --k) {
    idx[k] = rem % shape[k];
    rem /= shape[k];
    s += idx[k] * sst[k] * es;
    d += idx[k] * dst_st[k] * es;
  }
  for (int64_t r = r0; r < r1; ++r) {
    copy_run(s, sst[nd - 1], d, dst_st[nd - 1], inner, es);
    for (int k = nd - 2; k >= 0; --k) {
      s += sst[k] * es;
      d += dst_st[k] * es;
      if (++idx[k] < shape[k]) break;
      s -= shape[k] * sst[k] * es;
      d -= shape[k] * dst_st[k] * es;
      idx[k] = 0;
    }
  }
}

}  // namespace
}  // namespace tsr

using tsr::K;
using tsr::parallel_for;

extern "C" {

const char *tsr_cpu_simd(void) { return K().name; }
int tsr_cpu_threads(void) { return tsr::cpu_threads(); }
void tsr_cpu_set_threads(int n) { tsr::cpu_set_threads(n); }

int tsr_cpu_binary_f32(int op, const float *a, const float *b, float *out, int64_t n) {
  TSR_CHECK(tsr::valid_op(op), "tsr_cpu_binary_f32: unknown op %d", op);
  TSR_CHECK(n >= 0, "tsr_cpu_binary_f32: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(a && b && out, "tsr_cpu_binary_f32: null pointer");
  const auto kern = K().binary[op];
  parallel_for(n, tsr::kGrainCopy, [&](int64_t s, int64_t e) { kern(a + s, b + s, out + s, e - s); });
  return TSR_OK;
}

int tsr_cpu_binary_row_f32(int op, const float *x, const float *row, float *out, int64_t rows, int64_t cols) {
  TSR_CHECK(tsr::valid_op(op), "tsr_cpu_binary_row_f32: unknown op %d", op);
  TSR_CHECK(rows >= 0 && cols >= 0, "tsr_cpu_binary_row_f32: negative size (rows %lld, cols %lld)",
            static_cast<long long>(rows), static_cast<long long>(cols));
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(x && row && out, "tsr_cpu_binary_row_f32: null pointer");
  const auto kern = K().binary_row[op];
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainCopy),
               [&](int64_t s, int64_t e) { kern(x + s * cols, row, out + s * cols, e - s, cols); });
  return TSR_OK;
}

int tsr_cpu_affine_f32(const float *x, float alpha, float beta, float *out, int64_t n) {
  TSR_CHECK(n >= 0, "tsr_cpu_affine_f32: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_affine_f32: null pointer");
  const auto kern = K().affine;
  parallel_for(n, tsr::kGrainCopy, [&](int64_t s, int64_t e) { kern(x + s, alpha, beta, out + s, e - s); });
  return TSR_OK;
}

int tsr_cpu_layer_norm_f32(const float *x, const float *gamma, const float *beta, float *out, int64_t rows,
                           int64_t cols, float eps) {
  TSR_CHECK(rows >= 0 && cols >= 0, "tsr_cpu_layer_norm_f32: negative size (rows %lld, cols %lld)",
            static_cast<long long>(rows), static_cast<long long>(cols));
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_layer_norm_f32: null pointer");
  const auto kern = K().layer_norm;
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainRowElems),
               [&](int64_t s, int64_t e) { kern(x + s * cols, gamma, beta, out + s * cols, e - s, cols, eps); });
  return TSR_OK;
}

int tsr_cpu_rms_norm_f32(const float *x, const float *gamma, float *out, int64_t rows, int64_t cols, float eps) {
  TSR_CHECK(rows >= 0 && cols >= 0, "tsr_cpu_rms_norm_f32: negative size (rows %lld, cols %lld)",
            static_cast<long long>(rows), static_cast<long long>(cols));
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_rms_norm_f32: null pointer");
  const auto kern = K().rms_norm;
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainRowElems),
               [&](int64_t s, int64_t e) { kern(x + s * cols, gamma, out + s * cols, e - s, cols, eps); });
  return TSR_OK;
}

int tsr_cpu_softmax_f32(const float *x, float *out, int64_t rows, int64_t cols, int64_t causal_q) {
  TSR_CHECK(rows >= 0 && cols >= 0 && causal_q >= 0,
            "tsr_cpu_softmax_f32: negative size (rows %lld, cols %lld, causal_q %lld)", static_cast<long long>(rows),
            static_cast<long long>(cols), static_cast<long long>(causal_q));
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_softmax_f32: null pointer");
  const auto kern = K().softmax;
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainMath),
               [&](int64_t s, int64_t e) { kern(x + s * cols, out + s * cols, e - s, cols, causal_q, s); });
  return TSR_OK;
}

int tsr_cpu_gelu_f32(const float *x, float *out, int64_t n, int tanh_approx) {
  TSR_CHECK(n >= 0, "tsr_cpu_gelu_f32: negative n (%lld)", static_cast<long long>(n));
  TSR_CHECK(tanh_approx == 0 || tanh_approx == 1, "tsr_cpu_gelu_f32: tanh_approx must be 0 or 1 (got %d)",
            tanh_approx);
  if (n == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_gelu_f32: null pointer");
  tsr::unary_par(tanh_approx ? K().gelu_tanh : K().gelu_erf, x, out, n, tsr::kGrainMath);
  return TSR_OK;
}

int tsr_cpu_silu_f32(const float *x, float *out, int64_t n) {
  TSR_CHECK(n >= 0, "tsr_cpu_silu_f32: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_silu_f32: null pointer");
  tsr::unary_par(K().silu, x, out, n, tsr::kGrainMath);
  return TSR_OK;
}

int tsr_cpu_embedding_f32(const void *ids, int ids_dtype, const float *table, float *out, int64_t n_ids,
                          int64_t vocab, int64_t dim, int64_t *bad_pos) {
  TSR_CHECK(ids_dtype == TSR_I32 || ids_dtype == TSR_I64, "tsr_cpu_embedding_f32: ids dtype %d is not I32/I64",
            ids_dtype);
  TSR_CHECK(n_ids >= 0 && vocab >= 0 && dim >= 0,
            "tsr_cpu_embedding_f32: negative size (n_ids %lld, vocab %lld, dim %lld)", static_cast<long long>(n_ids),
            static_cast<long long>(vocab), static_cast<long long>(dim));
  if (n_ids == 0) return TSR_OK;
  TSR_CHECK(ids, "tsr_cpu_embedding_f32: null ids");
  TSR_CHECK(dim == 0 || (table && out), "tsr_cpu_embedding_f32: null pointer");
  // Every id is checked before anything is written.
  int64_t bad = -1;
  if (ids_dtype == TSR_I32) {
    const int32_t *p = static_cast<const int32_t *>(ids);
    for (int64_t i = 0; i < n_ids; ++i)
      if (p[i] < 0 || p[i] >= vocab) {
        bad = i;
        break;
      }
  } else {
    const int64_t *p = static_cast<const int64_t *>(ids);
    for (int64_t i = 0; i < n_ids; ++i)
      if (p[i] < 0 || p[i] >= vocab) {
        bad = i;
        break;
      }
  }
  if (bad >= 0) {
    if (bad_pos) *bad_pos = bad;
    tsr::set_last_error("tsr_cpu_embedding_f32: id at position %lld is outside [0, %lld)",
                        static_cast<long long>(bad), static_cast<long long>(vocab));
    return TSR_ERR_INDEX;
  }
  if (dim == 0) return TSR_OK;
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  parallel_for(n_ids, tsr::row_grain(dim, tsr::kGrainCopy), [&](int64_t s, int64_t e) {
    if (ids_dtype == TSR_I32) {
      const int32_t *p = static_cast<const int32_t *>(ids);
      for (int64_t i = s; i < e; ++i) std::memcpy(out + i * dim, table + static_cast<int64_t>(p[i]) * dim, row_bytes);
    } else {
      const int64_t *p = static_cast<const int64_t *>(ids);
      for (int64_t i = s; i < e; ++i) std::memcpy(out + i * dim, table + p[i] * dim, row_bytes);
    }
  });
  return TSR_OK;
}

int tsr_cpu_transpose(const void *x, void *out, int64_t batch, int64_t rows, int64_t cols, int elem_size) {
  TSR_CHECK(elem_size == 1 || elem_size == 2 || elem_size == 4 || elem_size == 8,
            "tsr_cpu_transpose: elem_size must be 1, 2, 4 or 8 (got %d)", elem_size);
  TSR_CHECK(batch >= 0 && rows >= 0 && cols >= 0, "tsr_cpu_transpose: negative size (batch %lld, rows %lld, cols %lld)",
            static_cast<long long>(batch), static_cast<long long>(rows), static_cast<long long>(cols));
  if (batch == 0 || rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_transpose: null pointer");
  const int64_t total = batch * rows * cols;
  if (rows == 1 || cols == 1) {  // the transpose is a plain copy
    const char *src = static_cast<const char *>(x);
    char *dst = static_cast<char *>(out);
    parallel_for(total * elem_size, tsr::kGrainCopy * 4, [&](int64_t s, int64_t e) {
      std::memcpy(dst + s, src + s, static_cast<size_t>(e - s));
    });
    return TSR_OK;
  }
  const int64_t ts = tsr::kTransposeTile;
  const int64_t tiles = batch * ((rows + ts - 1) / ts) * ((cols + ts - 1) / ts);
  const auto kern = K().transpose;
  parallel_for(tiles, tsr::kGrainCopy / (ts * ts),
               [&](int64_t s, int64_t e) { kern(x, out, rows, cols, elem_size, s, e); });
  return TSR_OK;
}

int tsr_cpu_convert(const void *x, int src_dtype, void *out, int dst_dtype, int64_t n) {
  TSR_CHECK(tsr::float_dtype(src_dtype) && tsr::float_dtype(dst_dtype),
            "tsr_cpu_convert: dtypes must be F32, F16 or BF16 (got %d -> %d)", src_dtype, dst_dtype);
  TSR_CHECK(n >= 0, "tsr_cpu_convert: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_convert: null pointer");
  const int64_t ss = tsr::dtype_size(src_dtype), ds = tsr::dtype_size(dst_dtype);
  const char *src = static_cast<const char *>(x);
  char *dst = static_cast<char *>(out);
  if (src_dtype == dst_dtype) {
    if (src != dst)
      parallel_for(n * ss, tsr::kGrainCopy * 4, [&](int64_t s, int64_t e) {
        std::memmove(dst + s, src + s, static_cast<size_t>(e - s));
      });
    return TSR_OK;
  }
  const auto kern = K().convert;
  parallel_for(n, tsr::kGrainCopy,
               [&](int64_t s, int64_t e) { kern(src + s * ss, src_dtype, dst + s * ds, dst_dtype, e - s); });
  return TSR_OK;
}

int tsr_cpu_strided_copy(const void *src, void *dst, int ndim, const int64_t *shape, const int64_t *src_strides,
                         int elem_size) {
  TSR_CHECK(elem_size == 1 || elem_size == 2 || elem_size == 4 || elem_size == 8,
            "tsr_cpu_strided_copy: elem_size must be 1, 2, 4 or 8 (got %d)", elem_size);
  TSR_CHECK(ndim >= 0 && ndim <= 8, "tsr_cpu_strided_copy: ndim must be in 0..8 (got %d)", ndim);
  TSR_CHECK(ndim == 0 || (shape && src_strides), "tsr_cpu_strided_copy: null shape / strides");
  int64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    TSR_CHECK(shape[d] >= 0, "tsr_cpu_strided_copy: negative shape[%d] (%lld)", d, static_cast<long long>(shape[d]));
    total *= shape[d];
  }
  if (total == 0) return TSR_OK;
  TSR_CHECK(src && dst, "tsr_cpu_strided_copy: null pointer");
  const int64_t es = elem_size;
  // Collapse the view: drop size-1 dims, merge dims that are contiguous with the next one.
  int64_t sh[8], st[8];
  const int nd = tsr::collapse_dims<1>(ndim, shape, {src_strides}, sh, {st});
  if (nd == 0) {  // a single element
    std::memcpy(dst, src, static_cast<size_t>(es));
    return TSR_OK;
  }
  const char *s = static_cast<const char *>(src);
  char *o = static_cast<char *>(dst);
  if (nd == 1 && st[0] == 1) {  // contiguous
    parallel_for(total * es, tsr::kGrainCopy * 4, [&](int64_t b, int64_t e) {
      std::memcpy(o + b, s + b, static_cast<size_t>(e - b));
    });
    return TSR_OK;
  }
  if (nd == 1) {  // a single strided row: split it by elements
    const int64_t st0 = st[0];
    parallel_for(total, tsr::kGrainCopy, [&](int64_t b, int64_t e) {
      int64_t one_shape = e - b;
      tsr::strided_rows(s + b * st0 * es, o + b * es, 1, &one_shape, &st0, es, 0, 1);
    });
    return TSR_OK;
  }
  const int64_t outer = total / sh[nd - 1];
  parallel_for(outer, tsr::row_grain(sh[nd - 1], tsr::kGrainCopy),
               [&](int64_t b, int64_t e) { tsr::strided_rows(s, o, nd, sh, st, es, b, e); });
  return TSR_OK;
}

int tsr_cpu_copy_strided(const void *src, const int64_t *src_strides, void *dst, const int64_t *dst_strides, int ndim,
                         const int64_t *shape, int elem_size) {
  TSR_CHECK(elem_size == 1 || elem_size == 2 || elem_size == 4 || elem_size == 8,
            "tsr_cpu_copy_strided: elem_size must be 1, 2, 4 or 8 (got %d)", elem_size);
  TSR_CHECK(ndim >= 0 && ndim <= 8, "tsr_cpu_copy_strided: ndim must be in 0..8 (got %d)", ndim);
  TSR_CHECK(ndim == 0 || (shape && src_strides && dst_strides), "tsr_cpu_copy_strided: null shape / strides");
  int64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    TSR_CHECK(shape[d] >= 0, "tsr_cpu_copy_strided: negative shape[%d] (%lld)", d, static_cast<long long>(shape[d]));
    total *= shape[d];
  }
  if (total == 0) return TSR_OK;
  TSR_CHECK(src && dst, "tsr_cpu_copy_strided: null pointer");
  const int64_t es = elem_size;
  // Collapse: drop size-1 dims, merge a dim into the one before it where both views allow.
  int64_t sh[8], ss[8], ds[8];
  const int nd = tsr::collapse_dims<2>(ndim, shape, {src_strides, dst_strides}, sh, {ss, ds});
  const char *s = static_cast<const char *>(src);
  char *o = static_cast<char *>(dst);
  if (nd == 0) {
    std::memcpy(o, s, static_cast<size_t>(es));
    return TSR_OK;
  }
  if (nd == 1) {  // one run: split it by elements
    const int64_t s0 = ss[0], d0 = ds[0];
    parallel_for(total, tsr::kGrainCopy,
                 [&](int64_t b, int64_t e) { tsr::copy_run(s + b * s0 * es, s0, o + b * d0 * es, d0, e - b, es); });
    return TSR_OK;
  }
  const int64_t outer = total / sh[nd - 1];
  parallel_for(outer, tsr::row_grain(sh[nd - 1], tsr::kGrainCopy),
               [&](int64_t b, int64_t e) { tsr::view_rows(s, ss, o, ds, nd, sh, es, b, e); });
  return TSR_OK;
}

int tsr_cpu_binary_strided_f32(int op, const float *a, const int64_t *a_strides, const float *b,
                               const int64_t *b_strides, float *out, int ndim, const int64_t *shape) {
  TSR_CHECK(tsr::valid_op(op), "tsr_cpu_binary_strided_f32: unknown op %d", op);
  TSR_CHECK(ndim >= 0 && ndim <= 8, "tsr_cpu_binary_strided_f32: ndim must be in 0..8 (got %d)", ndim);
  TSR_CHECK(ndim == 0 || (shape && a_strides && b_strides), "tsr_cpu_binary_strided_f32: null shape / strides");
  int64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    TSR_CHECK(shape[d] >= 0, "tsr_cpu_binary_strided_f32: negative shape[%d] (%lld)", d,
              static_cast<long long>(shape[d]));
    total *= shape[d];
  }
  if (total == 0) return TSR_OK;
  TSR_CHECK(a && b && out, "tsr_cpu_binary_strided_f32: null pointer");
  // Collapse: drop size-1 dims, merge a dim into the one before it where both inputs allow (out is
  // contiguous, so it always does).
  int64_t sh[8], sa[8], sb[8];
  const int nd = tsr::collapse_dims<2>(ndim, shape, {a_strides, b_strides}, sh, {sa, sb});
  const auto kern = K().binary_strided[op];
  if (nd == 0) {
    kern(a, 0, b, 0, out, 1);
    return TSR_OK;
  }
  const int64_t inner = sh[nd - 1], ia = sa[nd - 1], ib = sb[nd - 1];
  if (nd == 1) {
    parallel_for(total, tsr::kGrainCopy,
                 [&](int64_t s, int64_t e) { kern(a + s * ia, ia, b + s * ib, ib, out + s, e - s); });
    return TSR_OK;
  }
  const int64_t outer = total / inner;
  parallel_for(outer, tsr::row_grain(inner, tsr::kGrainCopy), [&](int64_t r0, int64_t r1) {
    int64_t idx[8] = {0};
    int64_t rem = r0, oa = 0, ob = 0;
    for (int k = nd - 2; k >= 0; --k) {
      idx[k] = rem % sh[k];
      rem /= sh[k];
      oa += idx[k] * sa[k];
      ob += idx[k] * sb[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      kern(a + oa, ia, b + ob, ib, out + r * inner, inner);
      for (int k = nd - 2; k >= 0; --k) {
        oa += sa[k];
        ob += sb[k];
        if (++idx[k] < sh[k]) break;
        oa -= sh[k] * sa[k];
        ob -= sh[k] * sb[k];
        idx[k] = 0;
      }
    }
  });
  return TSR_OK;
}

int tsr_cpu_unary_f32(int op, const float *x, float *out, int64_t n) {
  TSR_CHECK(op >= 0 && op < TSR_UNARY_COUNT, "tsr_cpu_unary_f32: unknown op %d", op);
  TSR_CHECK(n >= 0, "tsr_cpu_unary_f32: negative n (%lld)", static_cast<long long>(n));
  if (n == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_unary_f32: null pointer");
  tsr::unary_par(K().unary[op], x, out, n, tsr::kGrainMath);
  return TSR_OK;
}

int tsr_cpu_rope_f32(const float *x, int64_t x_sb, int64_t x_sh, int64_t x_ss, const float *cos, const float *sin,
                     int64_t cs_sb, float *out, int64_t batch, int64_t heads, int64_t seq, int64_t dim) {
  TSR_CHECK(batch >= 0 && heads >= 0 && seq >= 0 && dim >= 0,
            "tsr_cpu_rope_f32: negative size (batch %lld, heads %lld, seq %lld, dim %lld)",
            static_cast<long long>(batch), static_cast<long long>(heads), static_cast<long long>(seq),
            static_cast<long long>(dim));
  TSR_CHECK(dim % 2 == 0, "tsr_cpu_rope_f32: dim must be even (got %lld)", static_cast<long long>(dim));
  const int64_t rows = batch * heads * seq;
  if (rows == 0 || dim == 0) return TSR_OK;
  TSR_CHECK(x && cos && sin && out, "tsr_cpu_rope_f32: null pointer");
  const auto kern = K().rope;
  const int64_t half = dim / 2;
  parallel_for(rows, tsr::row_grain(dim, tsr::kGrainCopy), [&](int64_t b, int64_t e) {
    kern(x, x_sb, x_sh, x_ss, cos, sin, cs_sb, out, heads, seq, half, b, e);
  });
  return TSR_OK;
}

int tsr_cpu_log_softmax_f32(const float *x, float *out, int64_t rows, int64_t cols) {
  TSR_CHECK(rows >= 0 && cols >= 0, "tsr_cpu_log_softmax_f32: negative size (rows %lld, cols %lld)",
            static_cast<long long>(rows), static_cast<long long>(cols));
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_log_softmax_f32: null pointer");
  const auto kern = K().log_softmax;
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainMath),
               [&](int64_t b, int64_t e) { kern(x + b * cols, out + b * cols, e - b, cols); });
  return TSR_OK;
}

int tsr_cpu_sum_rows_f32(const float *x, float *out, int64_t rows, int64_t cols, float scale) {
  TSR_CHECK(rows >= 0 && cols >= 0, "tsr_cpu_sum_rows_f32: negative size (rows %lld, cols %lld)",
            static_cast<long long>(rows), static_cast<long long>(cols));
  if (rows == 0) return TSR_OK;
  TSR_CHECK(out && (cols == 0 || x), "tsr_cpu_sum_rows_f32: null pointer");
  if (cols == 0) {
    for (int64_t r = 0; r < rows; ++r) out[r] = 0.0f;
    return TSR_OK;
  }
  const auto kern = K().sum_rows;
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainRowElems),
               [&](int64_t b, int64_t e) { kern(x + b * cols, out + b, e - b, cols, scale); });
  return TSR_OK;
}

int tsr_cpu_argmax_rows_f32(const float *x, int32_t *out, int64_t rows, int64_t cols) {
  TSR_CHECK(rows >= 0 && cols >= 1 && cols <= INT32_MAX,
            "tsr_cpu_argmax_rows_f32: bad size (rows %lld, cols %lld; cols must be in [1, 2^31))",
            static_cast<long long>(rows), static_cast<long long>(cols));
  if (rows == 0) return TSR_OK;
  TSR_CHECK(x && out, "tsr_cpu_argmax_rows_f32: null pointer");
  const auto kern = K().argmax_rows;
  parallel_for(rows, tsr::row_grain(cols, tsr::kGrainRowElems),
               [&](int64_t b, int64_t e) { kern(x + b * cols, out + b, e - b, cols); });
  return TSR_OK;
}

}  // extern "C"
