// CUDA core ops of core.h: elementwise, norms, softmax, activations, embedding gather, transpose,
// dtype conversion and strided copy. Every op is asynchronous on the given stream (NULL = legacy
// default stream), computes in fp32 whatever the storage type and checks every CUDA status.
#include "cuda/cuda_common.cuh"
#include "common/view_dims.h"

#include <climits>
#include <cmath>
#include <type_traits>

namespace tsr {
namespace cuda {
namespace {

// ================================================================ device math

__device__ __forceinline__ float apply_binary(int op, float a, float b) {
  switch (op) {
    case TSR_OP_ADD: return a + b;
    case TSR_OP_SUB: return a - b;
    case TSR_OP_MUL: return a * b;
    default: return a / b;  // TSR_OP_DIV (validated on the host)
  }
}

__device__ __forceinline__ float gelu_f(float x, int tanh_approx) {
  if (tanh_approx) {
    const float k0 = 0.7978845608028654f;  // sqrt(2 / pi)
    return 0.5f * x * (1.0f + tanhf(k0 * (x + 0.044715f * x * x * x)));
  }
  return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));  // x * Phi(x)
}

__device__ __forceinline__ float silu_f(float x) { return x / (1.0f + expf(-x)); }

// Shared loop of the unary elementwise kernels: N-element vectors over the first n / N * N
// elements, then a scalar tail (empty when N == 1). Grid-stride, 64-bit indices.
template <typename T, int N, typename F>
__device__ __forceinline__ void unary_loop(const T *x, T *out, int64_t n, F f) {
  const int64_t nvec = n / N;
  const int64_t stride = grid_stride();
  const Vec<T, N> *xv = reinterpret_cast<const Vec<T, N> *>(x);
  Vec<T, N> *ov = reinterpret_cast<Vec<T, N> *>(out);
  for (int64_t i = global_tid(); i < nvec; i += stride) {
    Vec<T, N> v = xv[i];
#pragma unroll
    for (int k = 0; k < N; ++k) v.v[k] = from_f<T>(f(to_f(v.v[k])));
    ov[i] = v;
  }
  for (int64_t i = nvec * N + global_tid(); i < n; i += stride) out[i] = from_f<T>(f(to_f(x[i])));
}

// ================================================================ kernels

// out[i] = a[i] (op) b[i]; out may alias a or b (each element is read then written by one thread).
template <typename T, int N>
__global__ void binary_kernel(int op, const T *a, const T *b, T *out, int64_t n) {
  const int64_t nvec = n / N;
  const int64_t stride = grid_stride();
  const Vec<T, N> *av = reinterpret_cast<const Vec<T, N> *>(a);
  const Vec<T, N> *bv = reinterpret_cast<const Vec<T, N> *>(b);
  Vec<T, N> *ov = reinterpret_cast<Vec<T, N> *>(out);
  for (int64_t i = global_tid(); i < nvec; i += stride) {
    Vec<T, N> va = av[i];
    const Vec<T, N> vb = bv[i];
#pragma unroll
    for (int k = 0; k < N; ++k) va.v[k] = from_f<T>(apply_binary(op, to_f(va.v[k]), to_f(vb.v[k])));
    ov[i] = va;
  }
  for (int64_t i = nvec * N + global_tid(); i < n; i += stride)
    out[i] = from_f<T>(apply_binary(op, to_f(a[i]), to_f(b[i])));
}

// out[r, c] = x[r, c] (op) row[c]. Vectors of N along c (the host ensures cols % N == 0);
// rows over grid y (grid-stride), columns over grid x (grid-stride). out may alias x.
template <typename T, int N>
__global__ void binary_row_kernel(int op, const T *x, const T *row, T *out, int64_t rows, int64_t cols) {
  const int64_t vcols = cols / N;
  const int64_t cstride = grid_stride();
  const Vec<T, N> *rv = reinterpret_cast<const Vec<T, N> *>(row);
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const Vec<T, N> *xv = reinterpret_cast<const Vec<T, N> *>(x + r * cols);
    Vec<T, N> *ov = reinterpret_cast<Vec<T, N> *>(out + r * cols);
    for (int64_t c = global_tid(); c < vcols; c += cstride) {
      Vec<T, N> vx = xv[c];
      const Vec<T, N> vr = rv[c];
#pragma unroll
      for (int k = 0; k < N; ++k) vx.v[k] = from_f<T>(apply_binary(op, to_f(vx.v[k]), to_f(vr.v[k])));
      ov[c] = vx;
    }
  }
}

// out[i] = f(x[i]) for a float -> float functor f (the affine, GELU, SiLU and TSR_UNARY_* maps below).
template <typename T, int N, typename F>
__global__ void map_kernel(const T *x, T *out, int64_t n, F f) {
  unary_loop<T, N>(x, out, n, f);
}

// out[i] = alpha * x[i] + beta.
struct AffineF {
  float alpha, beta;
  __device__ float operator()(float v) const { return alpha * v + beta; }
};
// GELU, erf form (tanh_approx == 0) or tanh approximation.
struct GeluF {
  int tanh_approx;
  __device__ float operator()(float v) const { return gelu_f(v, tanh_approx); }
};
// SiLU: x * sigmoid(x).
struct SiluF {
  __device__ float operator()(float v) const { return silu_f(v); }
};

// Dtype conversion S -> D through fp32 (vectors of N, then a scalar tail).
template <typename S, typename D, int N>
__global__ void convert_kernel(const S *x, D *out, int64_t n) {
  const int64_t nvec = n / N;
  const int64_t stride = grid_stride();
  const Vec<S, N> *xv = reinterpret_cast<const Vec<S, N> *>(x);
  Vec<D, N> *ov = reinterpret_cast<Vec<D, N> *>(out);
  for (int64_t i = global_tid(); i < nvec; i += stride) {
    const Vec<S, N> s = xv[i];
    Vec<D, N> d;
#pragma unroll
    for (int k = 0; k < N; ++k) d.v[k] = from_f<D>(to_f(s.v[k]));
    ov[i] = d;
  }
  for (int64_t i = nvec * N + global_tid(); i < n; i += stride) out[i] = from_f<D>(to_f(x[i]));
}

// ---------------------------------------------------------------- row-wise kernels
// BLOCK == false: one warp per row (cols <= 1024), blockDim.x / 32 rows per block.
// BLOCK == true : one block per row. Rows are grid-strided either way; every thread of a row's
// group (warp or block) runs the same row loop, so the shuffles / barriers are uniform.

struct RowLayout {
  int64_t first, step;  // first row of this group, row stride
  int tid, nthreads;    // thread index within the row group, threads per row
};

template <bool BLOCK>
__device__ __forceinline__ RowLayout row_layout() {
  RowLayout l;
  if (BLOCK) {
    l.first = blockIdx.x;
    l.step = gridDim.x;
    l.tid = threadIdx.x;
    l.nthreads = blockDim.x;
  } else {
    const int wpb = blockDim.x >> 5;
    l.first = static_cast<int64_t>(blockIdx.x) * wpb + (threadIdx.x >> 5);
    l.step = static_cast<int64_t>(gridDim.x) * wpb;
    l.tid = threadIdx.x & 31;
    l.nthreads = 32;
  }
  return l;
}

template <bool BLOCK>
__device__ __forceinline__ float row_sum(float v, float *sh) {
  return BLOCK ? block_reduce<false>(v, sh) : warp_sum(v);
}
template <bool BLOCK>
__device__ __forceinline__ float row_max(float v, float *sh) {
  return BLOCK ? block_reduce<true>(v, sh) : warp_max(v);
}

// Layer norm over the last dim, two passes (mean, then biased variance of x - mean).
template <typename T, bool BLOCK>
__global__ void layer_norm_kernel(const T *x, const T *gamma, const T *beta, T *out, int64_t rows, int64_t cols,
                                  float eps) {
  __shared__ float sh[32];
  const RowLayout l = row_layout<BLOCK>();
  const float inv_cols = 1.0f / static_cast<float>(cols);
  for (int64_t r = l.first; r < rows; r += l.step) {
    const T *xr = x + r * cols;
    T *orow = out + r * cols;
    float s = 0.0f;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) s += to_f(xr[c]);
    const float mean = row_sum<BLOCK>(s, sh) * inv_cols;
    float q = 0.0f;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) {
      const float d = to_f(xr[c]) - mean;
      q += d * d;
    }
    const float var = row_sum<BLOCK>(q, sh) * inv_cols;
    const float rstd = 1.0f / sqrtf(var + eps);
    for (int64_t c = l.tid; c < cols; c += l.nthreads) {
      float y = (to_f(xr[c]) - mean) * rstd;
      if (gamma) y *= to_f(gamma[c]);
      if (beta) y += to_f(beta[c]);
      orow[c] = from_f<T>(y);
    }
  }
}

// Layer norm, one warp per row holding the row in registers: each lane loads up to K 16-byte vectors
// (the host ensures cols % N == 0, cols <= 32 * K * N and 16-byte aligned pointers), then the same two
// passes as layer_norm_kernel (mean, then the biased variance of x - mean) without reading x again.
template <typename T, int K>
__global__ void layer_norm_warp_vec_kernel(const T *x, const T *gamma, const T *beta, T *out, int64_t rows,
                                           int64_t cols, float eps) {
  constexpr int N = VecWidth<T>::value;
  using V = Vec<T, N>;
  const int lane = threadIdx.x & 31;
  const int64_t wpb = blockDim.x >> 5;
  const int64_t vcols = cols / N;
  const float inv_cols = 1.0f / static_cast<float>(cols);
  const V *gv = reinterpret_cast<const V *>(gamma);
  const V *bv = reinterpret_cast<const V *>(beta);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * wpb + (threadIdx.x >> 5); r < rows;
       r += static_cast<int64_t>(gridDim.x) * wpb) {
    const V *xr = reinterpret_cast<const V *>(x + r * cols);
    float v[K][N];
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t c = lane + k * 32;
      if (c < vcols) {
        const V t = xr[c];
#pragma unroll
        for (int j = 0; j < N; ++j) {
          v[k][j] = to_f(t.v[j]);
          s += v[k][j];
        }
      } else {
#pragma unroll
        for (int j = 0; j < N; ++j) v[k][j] = 0.0f;
      }
    }
    const float mean = warp_sum(s) * inv_cols;
    float q = 0.0f;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (lane + k * 32 < vcols) {
#pragma unroll
        for (int j = 0; j < N; ++j) {
          const float d = v[k][j] - mean;
          q += d * d;
        }
      }
    }
    const float rstd = 1.0f / sqrtf(warp_sum(q) * inv_cols + eps);
    V *orow = reinterpret_cast<V *>(out + r * cols);
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t c = lane + k * 32;
      if (c < vcols) {
        V o;
        V g, b;
        if (gamma) g = gv[c];
        if (beta) b = bv[c];
#pragma unroll
        for (int j = 0; j < N; ++j) {
          float y = (v[k][j] - mean) * rstd;
          if (gamma) y *= to_f(g.v[j]);
          if (beta) y += to_f(b.v[j]);
          o.v[j] = from_f<T>(y);
        }
        orow[c] = o;
      }
    }
  }
}

// RMS norm over the last dim: x / sqrt(mean(x^2) + eps) * gamma.
template <typename T, bool BLOCK>
__global__ void rms_norm_kernel(const T *x, const T *gamma, T *out, int64_t rows, int64_t cols, float eps) {
  __shared__ float sh[32];
  const RowLayout l = row_layout<BLOCK>();
  const float inv_cols = 1.0f / static_cast<float>(cols);
  for (int64_t r = l.first; r < rows; r += l.step) {
    const T *xr = x + r * cols;
    T *orow = out + r * cols;
    float q = 0.0f;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) {
      const float v = to_f(xr[c]);
      q += v * v;
    }
    const float rstd = 1.0f / sqrtf(row_sum<BLOCK>(q, sh) * inv_cols + eps);
    for (int64_t c = l.tid; c < cols; c += l.nthreads) {
      float y = to_f(xr[c]) * rstd;
      if (gamma) y *= to_f(gamma[c]);
      orow[c] = from_f<T>(y);
    }
  }
}

// Softmax over the last dim with max subtraction. causal_q > 0: row i = r % causal_q of a group
// sees columns j < i + cols - causal_q + 1 (bottom-right aligned); the rest are 0, and a row that
// sees nothing is all 0.
template <typename T, bool BLOCK>
__global__ void softmax_kernel(const T *x, T *out, int64_t rows, int64_t cols, int64_t causal_q) {
  __shared__ float sh[32];
  const RowLayout l = row_layout<BLOCK>();
  for (int64_t r = l.first; r < rows; r += l.step) {
    const T *xr = x + r * cols;
    T *orow = out + r * cols;
    int64_t limit = cols;  // visible columns are [0, limit)
    if (causal_q > 0) {
      limit = r % causal_q + cols - causal_q + 1;
      limit = limit < 0 ? 0 : (limit > cols ? cols : limit);
    }
    float m = -INFINITY;
    for (int64_t c = l.tid; c < limit; c += l.nthreads) m = fmaxf(m, to_f(xr[c]));
    m = row_max<BLOCK>(m, sh);
    float s = 0.0f;
    for (int64_t c = l.tid; c < limit; c += l.nthreads) s += expf(to_f(xr[c]) - m);
    s = row_sum<BLOCK>(s, sh);
    for (int64_t c = l.tid; c < cols; c += l.nthreads)
      orow[c] = from_f<T>(c < limit ? expf(to_f(xr[c]) - m) / s : 0.0f);
  }
}

// ---------------------------------------------------------------- gather / layout kernels

// Record position `pos` in *bad (a device int64 initialised to -1), keeping the smallest.
__device__ __forceinline__ void record_bad(int64_t *bad, int64_t pos) {
  unsigned long long *p = reinterpret_cast<unsigned long long *>(bad);
  const unsigned long long none = static_cast<unsigned long long>(-1LL);
  unsigned long long cur = atomicCAS(p, none, static_cast<unsigned long long>(pos));
  // Someone recorded first: replace it while ours is smaller.
  while (cur != none && static_cast<int64_t>(cur) > pos) {
    const unsigned long long prev = atomicCAS(p, cur, static_cast<unsigned long long>(pos));
    if (prev == cur) break;
    cur = prev;
  }
}

// out[i, :] = table[ids[i], :], rows copied as units U (16 bytes when aligned, else one element);
// an id outside [0, vocab) gives a zero row and is recorded in *bad. One block per id (grid-stride).
template <typename I, typename U>
__global__ void embedding_kernel(const I *ids, const U *table, U *out, int64_t n_ids, int64_t vocab,
                                 int64_t row_units, int64_t *bad) {
  for (int64_t i = blockIdx.x; i < n_ids; i += gridDim.x) {
    const int64_t id = static_cast<int64_t>(ids[i]);
    U *dst = out + i * row_units;
    if (id < 0 || id >= vocab) {
      if (bad && threadIdx.x == 0) record_bad(bad, i);
      for (int64_t k = threadIdx.x; k < row_units; k += blockDim.x) dst[k] = U{};
    } else {
      const U *src = table + id * row_units;
      for (int64_t k = threadIdx.x; k < row_units; k += blockDim.x) dst[k] = src[k];
    }
  }
}

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // blockDim = (32, 8): each thread moves 4 elements of a tile

// out[b, c, r] = x[b, r, c]: 32x32 tiles through shared memory (+1 padding against bank
// conflicts); tiles over grid x (cols) / y (rows), batch over grid z, all grid-strided.
template <typename T>
__global__ void transpose_kernel(const T *x, T *out, int64_t batch, int64_t rows, int64_t cols) {
  __shared__ T tile[kTile][kTile + 1];
  const int64_t tiles_r = (rows + kTile - 1) / kTile;
  const int64_t tiles_c = (cols + kTile - 1) / kTile;
  const int64_t plane = rows * cols;
  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const T *xb = x + b * plane;
    T *ob = out + b * plane;
    for (int64_t tr = blockIdx.y; tr < tiles_r; tr += gridDim.y) {
      for (int64_t tc = blockIdx.x; tc < tiles_c; tc += gridDim.x) {
        const int64_t c = tc * kTile + threadIdx.x;
        for (int k = threadIdx.y; k < kTile; k += kTileRows) {
          const int64_t r = tr * kTile + k;
          if (r < rows && c < cols) tile[k][threadIdx.x] = xb[r * cols + c];
        }
        __syncthreads();
        const int64_t r = tr * kTile + threadIdx.x;  // column of the output
        for (int k = threadIdx.y; k < kTile; k += kTileRows) {
          const int64_t oc = tc * kTile + k;  // row of the output
          if (oc < cols && r < rows) ob[oc * rows + r] = tile[threadIdx.x][k];
        }
        __syncthreads();
      }
    }
  }
}

constexpr int kMaxDims = 8;

// ================================================================ model-pipeline ops

// Two strided views of one shape (copy_strided), passed by value.
struct ViewPair {
  int64_t shape[kMaxDims];
  int64_t src[kMaxDims];  // strides in elements
  int64_t dst[kMaxDims];
  int ndim;
};

// dst[off_d(i)] = src[off_s(i)] over the row-major index i of the shape.
template <typename T>
__global__ void copy_strided_kernel(const T *src, T *dst, ViewPair v, int64_t n) {
  for (int64_t i = global_tid(); i < n; i += grid_stride()) {
    int64_t rem = i, so = 0, d_o = 0;
    for (int d = v.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % v.shape[d];
      rem /= v.shape[d];
      so += idx * v.src[d];
      d_o += idx * v.dst[d];
    }
    dst[d_o] = src[so];
  }
}

// Division by a divisor fixed at launch, for dividends below 2^31: q = (n * m) >> p with
// p = 31 + ceil(log2 d), m = ceil(2^p / d) (exact for every n < 2^31; a multiply and a shift instead
// of the ~70 instructions of a 64-bit division).
struct FastDiv {
  unsigned long long m;
  uint32_t d;
  int p;
};

inline FastDiv make_fast_div(uint32_t d) {
  int l = 0;
  while ((1ull << l) < d) ++l;
  FastDiv f;
  f.d = d;
  f.p = 31 + l;
  f.m = ((1ull << f.p) + d - 1) / d;
  return f;
}

__device__ __forceinline__ uint32_t fast_div(uint32_t n, const FastDiv &f) {
  return static_cast<uint32_t>((static_cast<unsigned long long>(n) * f.m) >> f.p);
}

// Two strided views of one (collapsed) shape with fast divisors, in units of the copied type.
struct FastViewPair {
  FastDiv div[kMaxDims];
  int64_t src[kMaxDims];
  int64_t dst[kMaxDims];
  int ndim;
};

// dst[off_d(i)] = src[off_s(i)] for i < n < 2^31, 32-bit index arithmetic (U: 1 to 16 bytes).
template <typename U>
__global__ void copy_view_fast_kernel(const U *src, U *dst, FastViewPair v, uint32_t n) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    uint32_t rem = i;
    int64_t so = 0, d_o = 0;
#pragma unroll
    for (int d = kMaxDims - 1; d > 0; --d) {
      if (d < v.ndim) {
        const uint32_t q = fast_div(rem, v.div[d]);
        const uint32_t idx = rem - q * v.div[d].d;
        so += static_cast<int64_t>(idx) * v.src[d];
        d_o += static_cast<int64_t>(idx) * v.dst[d];
        rem = q;
      }
    }
    so += static_cast<int64_t>(rem) * v.src[0];
    d_o += static_cast<int64_t>(rem) * v.dst[0];
    dst[d_o] = src[so];
  }
}

// Shape of a broadcasting binary op and the strides of its two inputs (0 along broadcast dims).
struct BinaryView {
  int64_t shape[kMaxDims];
  int64_t a[kMaxDims];
  int64_t b[kMaxDims];
  int ndim;
};

// out[i] = a[off_a(i)] (op) b[off_b(i)], out contiguous.
template <typename T>
__global__ void binary_strided_kernel(int op, const T *a, const T *b, T *out, BinaryView v, int64_t n) {
  for (int64_t i = global_tid(); i < n; i += grid_stride()) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = v.ndim - 1; d >= 0; --d) {
      const int64_t idx = rem % v.shape[d];
      rem /= v.shape[d];
      oa += idx * v.a[d];
      ob += idx * v.b[d];
    }
    out[i] = from_f<T>(apply_binary(op, to_f(a[oa]), to_f(b[ob])));
  }
}

__device__ __forceinline__ float unary_f(int op, float x) {
  switch (op) {
    case TSR_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case TSR_UNARY_TANH: return tanhf(x);
    case TSR_UNARY_RELU: return x < 0.0f ? 0.0f : x;  // NaN stays NaN
    case TSR_UNARY_EXP: return expf(x);
    case TSR_UNARY_LOG: return logf(x);
    case TSR_UNARY_QUICK_GELU: return x == -INFINITY ? -0.0f : x / (1.0f + expf(-1.702f * x));
    case TSR_UNARY_NEG: return -x;
    case TSR_UNARY_SQRT: return sqrtf(x);
    case TSR_UNARY_RSQRT: return 1.0f / sqrtf(x);
    case TSR_UNARY_ABS: return fabsf(x);
    default: return x * x;  // TSR_UNARY_SQUARE (validated on the host)
  }
}

// f(x) for op TSR_UNARY_* (the branch is uniform over the grid).
struct UnaryF {
  int op;
  __device__ float operator()(float v) const { return unary_f(op, v); }
};

// RoPE (rotate_half): one thread per (row, j < half) pair; rows of x at strides (sb, sh, ss), out
// contiguous; cos / sin fp32 rows of `half` at b * cs_sb + s * half.
template <typename T>
__global__ void rope_kernel(const T *x, int64_t sb, int64_t sh, int64_t ss, const float *cos, const float *sin,
                            int64_t cs_sb, T *out, int64_t heads, int64_t seq, int64_t half, int64_t n) {
  for (int64_t i = global_tid(); i < n; i += grid_stride()) {
    const int64_t j = i % half;
    const int64_t r = i / half;
    const int64_t s = r % seq;
    const int64_t bh = r / seq;
    const int64_t h = bh % heads;
    const int64_t b = bh / heads;
    const T *xr = x + b * sb + h * sh + s * ss;
    const int64_t cs = b * cs_sb + s * half + j;
    const float c = cos[cs], sn = sin[cs];
    const float a = to_f(xr[j]), bb = to_f(xr[j + half]);
    T *orow = out + r * 2 * half;
    orow[j] = from_f<T>(a * c - bb * sn);
    orow[j + half] = from_f<T>(bb * c + a * sn);
  }
}

// Log-softmax over the last dim: out = (x - max) - log(sum exp(x - max)); out may alias x (every element
// of a row is read by the reductions before the barrier inside them, then written once).
template <typename T, bool BLOCK>
__global__ void log_softmax_kernel(const T *x, T *out, int64_t rows, int64_t cols) {
  __shared__ float sh[32];
  const RowLayout l = row_layout<BLOCK>();
  for (int64_t r = l.first; r < rows; r += l.step) {
    const T *xr = x + r * cols;
    T *orow = out + r * cols;
    float m = -INFINITY;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) m = fmaxf(m, to_f(xr[c]));
    m = row_max<BLOCK>(m, sh);
    float s = 0.0f;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) s += expf(to_f(xr[c]) - m);
    s = row_sum<BLOCK>(s, sh);
    const float ls = logf(s);
    for (int64_t c = l.tid; c < cols; c += l.nthreads) orow[c] = from_f<T>((to_f(xr[c]) - m) - ls);
  }
}

// out[r] = scale * sum of row r (fp32 accumulation); warp or block per row as the norms.
template <typename T, bool BLOCK>
__global__ void sum_rows_kernel(const T *x, T *out, int64_t rows, int64_t cols, float scale) {
  __shared__ float sh[32];
  const RowLayout l = row_layout<BLOCK>();
  for (int64_t r = l.first; r < rows; r += l.step) {
    const T *xr = x + r * cols;
    float s = 0.0f;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) s += to_f(xr[c]);
    s = row_sum<BLOCK>(s, sh);
    if (l.tid == 0) out[r] = from_f<T>(s * scale);
  }
}

// Whether (vb, ib) beats (va, ia) for argmax: NaN beats numbers, then larger value, then smaller index.
__device__ __forceinline__ bool arg_better(float va, int ia, float vb, int ib) {
  const bool na = isnan(va), nb = isnan(vb);
  if (na != nb) return nb;
  if (!na && vb != va) return vb > va;
  return ib < ia;
}

__device__ __forceinline__ void warp_argmax(float &v, int &i) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, i, o);
    if (arg_better(v, i, ov, oi)) {
      v = ov;
      i = oi;
    }
  }
}

// out[r] = argmax of row r (first max; first NaN if the row has one).
template <typename T, bool BLOCK>
__global__ void argmax_rows_kernel(const T *x, int32_t *out, int64_t rows, int64_t cols) {
  __shared__ float shv[32];
  __shared__ int shi[32];
  const RowLayout l = row_layout<BLOCK>();
  for (int64_t r = l.first; r < rows; r += l.step) {
    const T *xr = x + r * cols;
    float v = -INFINITY;
    int idx = INT_MAX;
    for (int64_t c = l.tid; c < cols; c += l.nthreads) {
      const float y = to_f(xr[c]);
      if (arg_better(v, idx, y, static_cast<int>(c))) {
        v = y;
        idx = static_cast<int>(c);
      }
    }
    warp_argmax(v, idx);
    if (BLOCK) {
      const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
      __syncthreads();
      if (lane == 0) {
        shv[warp] = v;
        shi[warp] = idx;
      }
      __syncthreads();
      if (warp == 0) {
        v = lane < nwarps ? shv[lane] : -INFINITY;
        idx = lane < nwarps ? shi[lane] : INT_MAX;
        warp_argmax(v, idx);
      }
    }
    if (l.tid == 0) out[r] = idx == INT_MAX ? 0 : idx;
  }
}

// ================================================================ host helpers

inline cudaStream_t as_stream(void *s) { return static_cast<cudaStream_t>(s); }

// Run `launch` (which issues one kernel launch) and check the launch status.
template <typename F>
inline int launch_checked(const char *what, F &&launch) {
  launch();
  TSR_LAUNCH_CHECK(what);
  return TSR_OK;
}

// Row-kernel launch shape: warp per row for cols <= 1024, else block per row.
constexpr int kRowWarpThreads = 256;   // 8 rows per block
constexpr int kRowBlockThreads = 512;  // one row per block
inline bool row_use_block(int64_t cols) { return cols > 1024; }
inline unsigned int row_grid(int64_t rows, int64_t cols) {
  return row_use_block(cols) ? grid_for(rows, 1) : grid_for(rows, kRowWarpThreads / 32);
}

// Launches a row kernel (template <typename T, bool BLOCK>) in the shape above. `pick(std::true_type{})` returns the
// block-per-row instance, `pick(std::false_type{})` the warp-per-row one; `args` are the kernel's arguments.
template <typename Pick, typename... Args>
inline void launch_rows(Pick pick, int64_t rows, int64_t cols, void *stream, Args... args) {
  if (row_use_block(cols))
    pick(std::true_type{})<<<row_grid(rows, cols), kRowBlockThreads, 0, as_stream(stream)>>>(args...);
  else
    pick(std::false_type{})<<<row_grid(rows, cols), kRowWarpThreads, 0, as_stream(stream)>>>(args...);
}

// Units of 16 bytes for the vectorised view copies.
struct alignas(16) Bytes16 {
  uint32_t w[4];
};

// Copies the view (src, ss) into the view (dst, ds) of one shape (ndim <= kMaxDims, n > 0 elements of
// es bytes, validated by the caller). Collapses the dims (size-1 dims dropped, neighbours merged where
// both views allow); one contiguous run -> cudaMemcpyAsync; rows of runs -> cudaMemcpy2DAsync; otherwise
// a kernel that moves up to 16 bytes per thread when the innermost dim is contiguous in both views (a
// head of a q|k|v split, a transpose of heads), with 32-bit index arithmetic below 2^31 units.
int copy_views(const char *what, const void *src, const int64_t *ss, void *dst, const int64_t *ds, int ndim,
               const int64_t *shape, int es, int64_t n, cudaStream_t stream) {
  ViewPair v = {};
  const int nd = tsr::collapse_dims<2>(ndim, shape, {ss, ds}, v.shape, {v.src, v.dst});
  v.ndim = nd;
  const size_t esz = static_cast<size_t>(es);
  if (nd == 0 || (nd == 1 && v.src[0] == 1 && v.dst[0] == 1)) {  // one contiguous run
    TSR_CUDA_CHECK(what, cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * esz, cudaMemcpyDeviceToDevice, stream));
    return TSR_OK;
  }
  if (nd == 2 && v.src[1] == 1 && v.dst[1] == 1 && v.src[0] >= v.shape[1] && v.dst[0] >= v.shape[1]) {
    TSR_CUDA_CHECK(what, cudaMemcpy2DAsync(dst, static_cast<size_t>(v.dst[0]) * esz, src,
                                           static_cast<size_t>(v.src[0]) * esz, static_cast<size_t>(v.shape[1]) * esz,
                                           static_cast<size_t>(v.shape[0]), cudaMemcpyDeviceToDevice, stream));
    return TSR_OK;
  }
  // Widest unit (16, 8, 4 bytes, else the element) that tiles the innermost run and every stride.
  int unit = es;
  if (v.src[nd - 1] == 1 && v.dst[nd - 1] == 1) {
    for (int u = 16; u > es; u >>= 1) {
      bool ok = (v.shape[nd - 1] * es) % u == 0 && aligned(src, u) && aligned(dst, u);
      for (int d = 0; ok && d < nd - 1; ++d) ok = (v.src[d] * es) % u == 0 && (v.dst[d] * es) % u == 0;
      if (ok) {
        unit = u;
        break;
      }
    }
  }
  int64_t units = n;
  if (unit != es) {
    const int64_t r = unit / es;
    v.shape[nd - 1] /= r;
    for (int d = 0; d < nd - 1; ++d) {
      v.src[d] /= r;
      v.dst[d] /= r;
    }
    units = n / r;
  }
  auto run = [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U *ps = static_cast<const U *>(src);
    U *pd = static_cast<U *>(dst);
    if (units < (int64_t{1} << 31)) {
      FastViewPair f = {};
      f.ndim = nd;
      for (int d = 0; d < nd; ++d) {
        f.div[d] = make_fast_div(static_cast<uint32_t>(v.shape[d]));
        f.src[d] = v.src[d];
        f.dst[d] = v.dst[d];
      }
      copy_view_fast_kernel<U><<<grid_for(units, kThreads), kThreads, 0, stream>>>(ps, pd, f,
                                                                                    static_cast<uint32_t>(units));
    } else {
      copy_strided_kernel<U><<<grid_for(units, kThreads), kThreads, 0, stream>>>(ps, pd, v, units);
    }
    TSR_LAUNCH_CHECK(what);
    return TSR_OK;
  };
  switch (unit) {
    case 1: return run(Tag<uint8_t>{});
    case 2: return run(Tag<uint16_t>{});
    case 4: return run(Tag<uint32_t>{});
    case 8: return run(Tag<unsigned long long>{});
    default: return run(Tag<Bytes16>{});
  }
}

// Host side of the elementwise maps: argument checks (messages name `fn`), then map_kernel over n elements, in
// vectors of 16 bytes when both buffers are 16-byte aligned.
template <typename F>
int launch_map(const char *fn, const char *launch_what, int dtype, const void *x, void *out, int64_t n, void *stream,
               F f) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "%s: unsupported dtype %d", fn, dtype);
  TSR_ARG_FAIL_IF(n < 0, "%s: negative n %lld", fn, (long long)n);
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "%s: null pointer", fn);
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int N = VecWidth<T>::value;
    const bool vec = aligned(x, 16) && aligned(out, 16);
    return launch_checked(launch_what, [&] {
      const T *px = static_cast<const T *>(x);
      T *po = static_cast<T *>(out);
      if (vec)
        map_kernel<T, N><<<grid_for(n / N + 1, kThreads), kThreads, 0, as_stream(stream)>>>(px, po, n, f);
      else
        map_kernel<T, 1><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(px, po, n, f);
    });
  });
}

}  // namespace
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda;

// ================================================================ C API

extern "C" {

int tsr_cuda_set_device(int device) {
  TSR_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  return TSR_OK;
}

int tsr_cuda_binary(int op, int dtype, const void *a, const void *b, void *out, int64_t n, void *stream) {
  TSR_ARG_FAIL_IF(!is_binary_op(op), "tsr_cuda_binary: unknown op %d", op);
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_binary: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(n < 0, "tsr_cuda_binary: negative n %lld", (long long)n);
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!a || !b || !out, "tsr_cuda_binary: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int N = VecWidth<T>::value;
    const bool vec = aligned(a, 16) && aligned(b, 16) && aligned(out, 16);
    return launch_checked("tsr_cuda_binary kernel launch", [&] {
      const T *pa = static_cast<const T *>(a);
      const T *pb = static_cast<const T *>(b);
      T *po = static_cast<T *>(out);
      if (vec)
        binary_kernel<T, N><<<grid_for(n / N + 1, kThreads), kThreads, 0, as_stream(stream)>>>(op, pa, pb, po, n);
      else
        binary_kernel<T, 1><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(op, pa, pb, po, n);
    });
  });
}

int tsr_cuda_binary_row(int op, int dtype, const void *x, const void *row, void *out, int64_t rows, int64_t cols,
                        void *stream) {
  TSR_ARG_FAIL_IF(!is_binary_op(op), "tsr_cuda_binary_row: unknown op %d", op);
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_binary_row: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0, "tsr_cuda_binary_row: negative size rows=%lld cols=%lld",
                  (long long)rows, (long long)cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !row || !out, "tsr_cuda_binary_row: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int N = VecWidth<T>::value;
    const bool vec = cols % N == 0 && aligned(x, 16) && aligned(row, 16) && aligned(out, 16);
    const int64_t vcols = vec ? cols / N : cols;
    const dim3 grid(grid_for(vcols, kThreads), clamp_dim(rows, 65535));
    return launch_checked("tsr_cuda_binary_row kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      const T *pr = static_cast<const T *>(row);
      T *po = static_cast<T *>(out);
      if (vec)
        binary_row_kernel<T, N><<<grid, kThreads, 0, as_stream(stream)>>>(op, px, pr, po, rows, cols);
      else
        binary_row_kernel<T, 1><<<grid, kThreads, 0, as_stream(stream)>>>(op, px, pr, po, rows, cols);
    });
  });
}

int tsr_cuda_affine(int dtype, const void *x, float alpha, float beta, void *out, int64_t n, void *stream) {
  return launch_map("tsr_cuda_affine", "tsr_cuda_affine kernel launch", dtype, x, out, n, stream,
                    AffineF{alpha, beta});
}

int tsr_cuda_gelu(int dtype, const void *x, void *out, int64_t n, int tanh_approx, void *stream) {
  return launch_map("tsr_cuda_gelu", "tsr_cuda_gelu kernel launch", dtype, x, out, n, stream,
                    GeluF{tanh_approx ? 1 : 0});
}

int tsr_cuda_silu(int dtype, const void *x, void *out, int64_t n, void *stream) {
  return launch_map("tsr_cuda_silu", "tsr_cuda_silu kernel launch", dtype, x, out, n, stream, SiluF{});
}

int tsr_cuda_layer_norm(int dtype, const void *x, const void *gamma, const void *beta, void *out, int64_t rows,
                        int64_t cols, float eps, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_layer_norm: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0, "tsr_cuda_layer_norm: negative size rows=%lld cols=%lld",
                  (long long)rows, (long long)cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_layer_norm: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_layer_norm kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      const T *pg = static_cast<const T *>(gamma);
      const T *pb = static_cast<const T *>(beta);
      T *po = static_cast<T *>(out);
      constexpr int N = VecWidth<T>::value;
      const int64_t vcols = cols / N;
      const bool vec = cols % N == 0 && vcols <= 32 * 8 && aligned(x, 16) && aligned(out, 16) &&
                       (!gamma || aligned(gamma, 16)) && (!beta || aligned(beta, 16));
      const unsigned int warp_grid = grid_for(rows, kRowWarpThreads / 32);
      cudaStream_t st = as_stream(stream);
      if (vec && vcols <= 32)
        layer_norm_warp_vec_kernel<T, 1><<<warp_grid, kRowWarpThreads, 0, st>>>(px, pg, pb, po, rows, cols, eps);
      else if (vec && vcols <= 64)
        layer_norm_warp_vec_kernel<T, 2><<<warp_grid, kRowWarpThreads, 0, st>>>(px, pg, pb, po, rows, cols, eps);
      else if (vec && vcols <= 128)
        layer_norm_warp_vec_kernel<T, 4><<<warp_grid, kRowWarpThreads, 0, st>>>(px, pg, pb, po, rows, cols, eps);
      else if (vec)
        layer_norm_warp_vec_kernel<T, 8><<<warp_grid, kRowWarpThreads, 0, st>>>(px, pg, pb, po, rows, cols, eps);
      else
        launch_rows([](auto block) { return &layer_norm_kernel<T, decltype(block)::value>; }, rows, cols, stream,
                    px, pg, pb, po, rows, cols, eps);
    });
  });
}

int tsr_cuda_rms_norm(int dtype, const void *x, const void *gamma, void *out, int64_t rows, int64_t cols, float eps,
                      void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_rms_norm: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0, "tsr_cuda_rms_norm: negative size rows=%lld cols=%lld", (long long)rows,
                  (long long)cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_rms_norm: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_rms_norm kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      const T *pg = static_cast<const T *>(gamma);
      T *po = static_cast<T *>(out);
      launch_rows([](auto block) { return &rms_norm_kernel<T, decltype(block)::value>; }, rows, cols, stream,
                  px, pg, po, rows, cols, eps);
    });
  });
}

int tsr_cuda_softmax(int dtype, const void *x, void *out, int64_t rows, int64_t cols, int64_t causal_q,
                     void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_softmax: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0 || causal_q < 0,
                  "tsr_cuda_softmax: negative size rows=%lld cols=%lld causal_q=%lld", (long long)rows,
                  (long long)cols, (long long)causal_q);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_softmax: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_softmax kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      T *po = static_cast<T *>(out);
      launch_rows([](auto block) { return &softmax_kernel<T, decltype(block)::value>; }, rows, cols, stream,
                  px, po, rows, cols, causal_q);
    });
  });
}

int tsr_cuda_embedding(int dtype, const void *ids, int ids_dtype, const void *table, void *out, int64_t n_ids,
                       int64_t vocab, int64_t dim, int64_t *bad_pos_dev, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_embedding: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(ids_dtype != TSR_I32 && ids_dtype != TSR_I64, "tsr_cuda_embedding: unsupported ids dtype %d",
                  ids_dtype);
  TSR_ARG_FAIL_IF(n_ids < 0 || vocab < 0 || dim < 0,
                  "tsr_cuda_embedding: negative size n_ids=%lld vocab=%lld dim=%lld", (long long)n_ids,
                  (long long)vocab, (long long)dim);
  if (n_ids == 0) return TSR_OK;
  // With dim == 0 nothing is copied, but out-of-range ids are still reported.
  TSR_ARG_FAIL_IF(!ids || (dim > 0 && (!table || !out)), "tsr_cuda_embedding: null pointer");
  const int64_t row_bytes = dim * float_dtype_size(dtype);
  const bool vec = row_bytes % 16 == 0 && aligned(table, 16) && aligned(out, 16);
  const int threads = 128;
  const unsigned int grid = grid_for(n_ids, 1);
  auto go = [&](auto id_tag, auto unit_tag) {
    using I = typename decltype(id_tag)::type;
    using U = typename decltype(unit_tag)::type;
    const int64_t row_units = row_bytes / static_cast<int64_t>(sizeof(U));
    return launch_checked("tsr_cuda_embedding kernel launch", [&] {
      embedding_kernel<I, U><<<grid, threads, 0, as_stream(stream)>>>(
          static_cast<const I *>(ids), static_cast<const U *>(table), static_cast<U *>(out), n_ids, vocab,
          row_units, bad_pos_dev);
    });
  };
  auto by_unit = [&](auto id_tag) {
    if (vec) return go(id_tag, Tag<uint4>{});
    return dtype == TSR_F32 ? go(id_tag, Tag<uint32_t>{}) : go(id_tag, Tag<uint16_t>{});
  };
  return ids_dtype == TSR_I32 ? by_unit(Tag<int32_t>{}) : by_unit(Tag<int64_t>{});
}

int tsr_cuda_transpose(const void *x, void *out, int64_t batch, int64_t rows, int64_t cols, int elem_size,
                       void *stream) {
  TSR_ARG_FAIL_IF(!is_elem_size(elem_size), "tsr_cuda_transpose: elem_size %d is not 1, 2, 4 or 8", elem_size);
  TSR_ARG_FAIL_IF(batch < 0 || rows < 0 || cols < 0,
                  "tsr_cuda_transpose: negative size batch=%lld rows=%lld cols=%lld", (long long)batch,
                  (long long)rows, (long long)cols);
  if (batch == 0 || rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_transpose: null pointer");
  const dim3 block(kTile, kTileRows);
  const dim3 grid(clamp_dim((cols + kTile - 1) / kTile, kMaxGrid), clamp_dim((rows + kTile - 1) / kTile, 65535),
                  clamp_dim(batch, 65535));
  return dispatch_elem_size(elem_size, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_transpose kernel launch", [&] {
      transpose_kernel<T><<<grid, block, 0, as_stream(stream)>>>(static_cast<const T *>(x), static_cast<T *>(out),
                                                                 batch, rows, cols);
    });
  });
}

int tsr_cuda_convert(const void *x, int src_dtype, void *out, int dst_dtype, int64_t n, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(src_dtype) || !is_float_dtype(dst_dtype),
                  "tsr_cuda_convert: unsupported dtypes %d -> %d", src_dtype, dst_dtype);
  TSR_ARG_FAIL_IF(n < 0, "tsr_cuda_convert: negative n %lld", (long long)n);
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_convert: null pointer");
  if (src_dtype == dst_dtype) {  // plain copy
    if (x == out) return TSR_OK;
    TSR_CUDA_CHECK("cudaMemcpyAsync (tsr_cuda_convert)",
                   cudaMemcpyAsync(out, x, static_cast<size_t>(n * float_dtype_size(src_dtype)),
                                   cudaMemcpyDeviceToDevice, as_stream(stream)));
    return TSR_OK;
  }
  constexpr int N = 4;  // 16-byte loads of f32, 8-byte of f16 / bf16
  return dispatch_float(src_dtype, [&](auto stag) {
    return dispatch_float(dst_dtype, [&](auto dtag) {
      using S = typename decltype(stag)::type;
      using D = typename decltype(dtag)::type;
      if constexpr (std::is_same<S, D>::value) {
        return TSR_OK;  // unreachable: equal dtypes were copied above
      } else {
        const bool vec = aligned(x, sizeof(S) * N) && aligned(out, sizeof(D) * N);
        return launch_checked("tsr_cuda_convert kernel launch", [&] {
          const S *px = static_cast<const S *>(x);
          D *po = static_cast<D *>(out);
          if (vec)
            convert_kernel<S, D, N><<<grid_for(n / N + 1, kThreads), kThreads, 0, as_stream(stream)>>>(px, po, n);
          else
            convert_kernel<S, D, 1><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(px, po, n);
        });
      }
    });
  });
}

int tsr_cuda_strided_copy(const void *src, void *dst, int ndim, const int64_t *shape, const int64_t *src_strides,
                          int elem_size, void *stream) {
  TSR_ARG_FAIL_IF(ndim < 0 || ndim > kMaxDims, "tsr_cuda_strided_copy: ndim %d is not in [0, %d]", ndim, kMaxDims);
  TSR_ARG_FAIL_IF(!is_elem_size(elem_size), "tsr_cuda_strided_copy: elem_size %d is not 1, 2, 4 or 8", elem_size);
  TSR_ARG_FAIL_IF(ndim > 0 && (!shape || !src_strides), "tsr_cuda_strided_copy: null shape / strides");
  int64_t n = 1;
  int64_t dst_strides[kMaxDims];
  for (int d = ndim - 1; d >= 0; --d) {
    TSR_ARG_FAIL_IF(shape[d] < 0, "tsr_cuda_strided_copy: negative shape[%d] = %lld", d, (long long)shape[d]);
    dst_strides[d] = n;  // the destination is row-major contiguous
    n *= shape[d];
  }
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!src || !dst, "tsr_cuda_strided_copy: null pointer");
  return copy_views("tsr_cuda_strided_copy", src, src_strides, dst, dst_strides, ndim, shape, elem_size, n,
                    as_stream(stream));
}

int tsr_cuda_copy_strided(const void *src, const int64_t *src_strides, void *dst, const int64_t *dst_strides,
                          int ndim, const int64_t *shape, int elem_size, void *stream) {
  TSR_ARG_FAIL_IF(ndim < 0 || ndim > kMaxDims, "tsr_cuda_copy_strided: ndim %d is not in [0, %d]", ndim, kMaxDims);
  TSR_ARG_FAIL_IF(!is_elem_size(elem_size), "tsr_cuda_copy_strided: elem_size %d is not 1, 2, 4 or 8", elem_size);
  TSR_ARG_FAIL_IF(ndim > 0 && (!shape || !src_strides || !dst_strides), "tsr_cuda_copy_strided: null shape / strides");
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    TSR_ARG_FAIL_IF(shape[d] < 0, "tsr_cuda_copy_strided: negative shape[%d] = %lld", d, (long long)shape[d]);
    n *= shape[d];
  }
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!src || !dst, "tsr_cuda_copy_strided: null pointer");
  return copy_views("tsr_cuda_copy_strided", src, src_strides, dst, dst_strides, ndim, shape, elem_size, n,
                    as_stream(stream));
}

int tsr_cuda_binary_strided(int op, int dtype, const void *a, const int64_t *a_strides, const void *b,
                            const int64_t *b_strides, void *out, int ndim, const int64_t *shape, void *stream) {
  TSR_ARG_FAIL_IF(!is_binary_op(op), "tsr_cuda_binary_strided: unknown op %d", op);
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_binary_strided: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(ndim < 0 || ndim > kMaxDims, "tsr_cuda_binary_strided: ndim %d is not in [0, %d]", ndim,
                  kMaxDims);
  TSR_ARG_FAIL_IF(ndim > 0 && (!shape || !a_strides || !b_strides), "tsr_cuda_binary_strided: null shape / strides");
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    TSR_ARG_FAIL_IF(shape[d] < 0, "tsr_cuda_binary_strided: negative shape[%d] = %lld", d, (long long)shape[d]);
    n *= shape[d];
  }
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!a || !b || !out, "tsr_cuda_binary_strided: null pointer");
  BinaryView v = {};
  v.ndim = tsr::collapse_dims<2>(ndim, shape, {a_strides, b_strides}, v.shape, {v.a, v.b});
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_binary_strided kernel launch", [&] {
      binary_strided_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
          op, static_cast<const T *>(a), static_cast<const T *>(b), static_cast<T *>(out), v, n);
    });
  });
}

int tsr_cuda_unary(int op, int dtype, const void *x, void *out, int64_t n, void *stream) {
  TSR_ARG_FAIL_IF(op < 0 || op >= TSR_UNARY_COUNT, "tsr_cuda_unary: unknown op %d", op);
  return launch_map("tsr_cuda_unary", "tsr_cuda_unary kernel launch", dtype, x, out, n, stream, UnaryF{op});
}

int tsr_cuda_rope(int dtype, const void *x, int64_t x_sb, int64_t x_sh, int64_t x_ss, const float *cos,
                  const float *sin, int64_t cs_sb, void *out, int64_t batch, int64_t heads, int64_t seq, int64_t dim,
                  void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_rope: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(batch < 0 || heads < 0 || seq < 0 || dim < 0,
                  "tsr_cuda_rope: negative size batch=%lld heads=%lld seq=%lld dim=%lld", (long long)batch,
                  (long long)heads, (long long)seq, (long long)dim);
  TSR_ARG_FAIL_IF(dim % 2 != 0, "tsr_cuda_rope: dim must be even (got %lld)", (long long)dim);
  const int64_t half = dim / 2;
  const int64_t n = batch * heads * seq * half;
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !cos || !sin || !out, "tsr_cuda_rope: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_rope kernel launch", [&] {
      rope_kernel<T><<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
          static_cast<const T *>(x), x_sb, x_sh, x_ss, cos, sin, cs_sb, static_cast<T *>(out), heads, seq, half, n);
    });
  });
}

int tsr_cuda_log_softmax(int dtype, const void *x, void *out, int64_t rows, int64_t cols, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_log_softmax: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0, "tsr_cuda_log_softmax: negative size rows=%lld cols=%lld", (long long)rows,
                  (long long)cols);
  if (rows == 0 || cols == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_log_softmax: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_log_softmax kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      T *po = static_cast<T *>(out);
      launch_rows([](auto block) { return &log_softmax_kernel<T, decltype(block)::value>; }, rows, cols, stream,
                  px, po, rows, cols);
    });
  });
}

int tsr_cuda_sum_rows(int dtype, const void *x, void *out, int64_t rows, int64_t cols, float scale, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_sum_rows: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 0, "tsr_cuda_sum_rows: negative size rows=%lld cols=%lld", (long long)rows,
                  (long long)cols);
  if (rows == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out || (cols > 0 && !x), "tsr_cuda_sum_rows: null pointer");
  if (cols == 0) {
    TSR_CUDA_CHECK("cudaMemsetAsync (tsr_cuda_sum_rows)",
                   cudaMemsetAsync(out, 0, static_cast<size_t>(rows * float_dtype_size(dtype)), as_stream(stream)));
    return TSR_OK;
  }
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_sum_rows kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      T *po = static_cast<T *>(out);
      launch_rows([](auto block) { return &sum_rows_kernel<T, decltype(block)::value>; }, rows, cols, stream,
                  px, po, rows, cols, scale);
    });
  });
}

int tsr_cuda_argmax_rows(int dtype, const void *x, int32_t *out, int64_t rows, int64_t cols, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_argmax_rows: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(rows < 0 || cols < 1 || cols > INT_MAX - 1,
                  "tsr_cuda_argmax_rows: bad size rows=%lld cols=%lld (cols must be in [1, 2^31 - 1))",
                  (long long)rows, (long long)cols);
  if (rows == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !out, "tsr_cuda_argmax_rows: null pointer");
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return launch_checked("tsr_cuda_argmax_rows kernel launch", [&] {
      const T *px = static_cast<const T *>(x);
      launch_rows([](auto block) { return &argmax_rows_kernel<T, decltype(block)::value>; }, rows, cols, stream,
                  px, out, rows, cols);
    });
  });
}

}  // extern "C"
