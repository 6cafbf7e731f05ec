// CUDA kernels of tessera/patch_embed.h: 2-D patch gather (im2col), 1-D im2col with stride and zero
// padding, the fused finish (bias + class token + position embeddings) and the channels-first bias.
// The GEMM between gather and finish is cuBLAS on the same stream (the runtime's Backend.gemm), so
// the whole stem stays on the device. Every op is asynchronous on the given stream, stores F32 / F16
// / BF16, computes in fp32, and checks its launch. Grid-stride loops; 32-bit index arithmetic where
// the sizes allow it, else 64-bit.
#include "cuda/cuda_common.cuh"
#include "tessera/patch_embed.h"

namespace tsr {
namespace cuda {
namespace {

inline cudaStream_t pe_stream(void *s) { return static_cast<cudaStream_t>(s); }

// 2-D gather. Element e of cols [N, lead + L, K] (K = C*ph*pw) in groups of V consecutive elements;
// the host picks V > 1 only when pw % V == 0 (then K and W are multiples of V as well) and both
// pointers are 16-byte aligned, so a group never crosses a patch row and is one aligned access.
// The first `lead` rows of each image are zeros.
template <typename T, int V, typename I>
__global__ void patchify_kernel(const T *__restrict__ x, T *__restrict__ cols, I groups, I c,
                                I h, I w, I ph, I pw, I lead) {
  const I wp = w / pw, hp = h / ph;
  const I kdim = c * ph * pw, rows = lead + hp * wp;
  for (I g = static_cast<I>(global_tid()); g < groups; g += static_cast<I>(grid_stride())) {
    const I e = g * V;
    const I k = e % kdim;
    const I row = e / kdim;  // n * rows + lead + p
    const I pr = row % rows, n = row / rows;
    if (pr < lead) {
      Vec<T, V> z;
#pragma unroll
      for (int q = 0; q < V; ++q) z.v[q] = from_f<T>(0.0f);
      *reinterpret_cast<Vec<T, V> *>(cols + e) = z;
      continue;
    }
    const I p = pr - lead;
    const I ci = k / (ph * pw), rem = k % (ph * pw);
    const I i = rem / pw, j = rem % pw;
    const I py = p / wp, px = p % wp;
    const I src = ((n * c + ci) * h + py * ph + i) * w + px * pw + j;
    if (V == 1) {
      cols[e] = x[src];
    } else {
      *reinterpret_cast<Vec<T, V> *>(cols + e) = *reinterpret_cast<const Vec<T, V> *>(x + src);
    }
  }
}

// 1-D im2col: element e of cols [N, T_out, C*K] = x[n, ci, to*stride - pad + kk] or 0 outside.
template <typename T, typename I>
__global__ void im2col_1d_kernel(const T *__restrict__ x, T *__restrict__ cols, I total, I c, I t,
                                 I k, I stride, I pad, I t_out) {
  const I kdim = c * k;
  for (I e = static_cast<I>(global_tid()); e < total; e += static_cast<I>(grid_stride())) {
    const I col = e % kdim, row = e / kdim;
    const I to = row % t_out, n = row / t_out;
    const I ci = col / k, kk = col % k;
    const I pos = to * stride - pad + kk;
    cols[e] = (pos >= 0 && pos < t) ? x[(n * c + ci) * t + pos] : from_f<T>(0.0f);
  }
}

// Finish on out [N, R, D], R = L + has_cls, in groups of V elements along D (D % V == 0, aligned),
// when at most one of bias / pos is given.
template <typename T, int V, typename I>
__global__ void finish_kernel(T *__restrict__ out, const T *__restrict__ bias, const T *__restrict__ cls,
                              const T *__restrict__ pos, I groups, I rows, I d, I has_cls) {
  for (I g = static_cast<I>(global_tid()); g < groups; g += static_cast<I>(grid_stride())) {
    const I e = g * V;
    const I j = e % d;
    const I r = (e / d) % rows;
    Vec<T, V> o;
    if (r < has_cls) {
      o = *reinterpret_cast<const Vec<T, V> *>(cls + j);
    } else {
      o = *reinterpret_cast<const Vec<T, V> *>(out + e);
      if (bias != nullptr) {
        const Vec<T, V> b = *reinterpret_cast<const Vec<T, V> *>(bias + j);
#pragma unroll
        for (int q = 0; q < V; ++q) o.v[q] = from_f<T>(to_f(o.v[q]) + to_f(b.v[q]));
      }
    }
    if (pos != nullptr) {  // then bias == nullptr (bias + pos is finish_bias_pos_kernel)
      const Vec<T, V> pv = *reinterpret_cast<const Vec<T, V> *>(pos + r * d + j);
#pragma unroll
      for (int q = 0; q < V; ++q) o.v[q] = from_f<T>(to_f(o.v[q]) + to_f(pv.v[q]));
    }
    *reinterpret_cast<Vec<T, V> *>(out + e) = o;
  }
}

// Finish with both bias and pos: (gemm + bias) stays in fp32 before pos is added, so half storage
// rounds once.
template <typename T, int V, typename I>
__global__ void finish_bias_pos_kernel(T *__restrict__ out, const T *__restrict__ bias, const T *__restrict__ cls,
                                       const T *__restrict__ pos, I groups, I rows, I d,
                                       I has_cls) {
  for (I g = static_cast<I>(global_tid()); g < groups; g += static_cast<I>(grid_stride())) {
    const I e = g * V;
    const I j = e % d;
    const I r = (e / d) % rows;
    const Vec<T, V> pv = *reinterpret_cast<const Vec<T, V> *>(pos + r * d + j);
    Vec<T, V> o;
    if (r < has_cls) {
      const Vec<T, V> cv = *reinterpret_cast<const Vec<T, V> *>(cls + j);
#pragma unroll
      for (int q = 0; q < V; ++q) o.v[q] = from_f<T>(to_f(cv.v[q]) + to_f(pv.v[q]));
    } else {
      o = *reinterpret_cast<const Vec<T, V> *>(out + e);
      const Vec<T, V> b = *reinterpret_cast<const Vec<T, V> *>(bias + j);
#pragma unroll
      for (int q = 0; q < V; ++q) o.v[q] = from_f<T>((to_f(o.v[q]) + to_f(b.v[q])) + to_f(pv.v[q]));
    }
    *reinterpret_cast<Vec<T, V> *>(out + e) = o;
  }
}

// out [N, D, T] += bias[d], groups of V along T (T % V == 0, aligned).
template <typename T, int V, typename I>
__global__ void bias_cf_kernel(T *__restrict__ out, const T *__restrict__ bias, I groups, I d,
                               I t) {
  for (I g = static_cast<I>(global_tid()); g < groups; g += static_cast<I>(grid_stride())) {
    const I e = g * V;
    const float b = to_f(bias[(e / t) % d]);
    Vec<T, V> o = *reinterpret_cast<const Vec<T, V> *>(out + e);
#pragma unroll
    for (int q = 0; q < V; ++q) o.v[q] = from_f<T>(to_f(o.v[q]) + b);
    *reinterpret_cast<Vec<T, V> *>(out + e) = o;
  }
}

inline bool fits(int64_t a, int64_t b) { return a == 0 || b <= INT64_MAX / a; }

// The kernels index in 32 bits (cheaper divisions) when every index, plus one grid stride
// (<= kMaxGrid * kThreads = 2^28), stays below 2^31; else in 64 bits.
constexpr int64_t kIndex32Limit = int64_t(1) << 30;

template <typename F>
inline int with_index(int64_t total, F &&f) {
  return total < kIndex32Limit ? f(Tag<int32_t>{}) : f(Tag<int64_t>{});
}

}  // namespace
}  // namespace cuda
}  // namespace tsr

using namespace tsr::cuda;

extern "C" {

int tsr_cuda_patchify(int dtype, const void *x, void *cols, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ph,
                      int64_t pw, int64_t lead, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_patchify: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(n < 0 || c < 1 || h < 1 || w < 1 || ph < 1 || pw < 1 || lead < 0 || lead > (1 << 20),
                  "tsr_cuda_patchify: bad sizes n=%lld c=%lld h=%lld w=%lld ph=%lld pw=%lld lead=%lld", (long long)n,
                  (long long)c, (long long)h, (long long)w, (long long)ph, (long long)pw, (long long)lead);
  TSR_ARG_FAIL_IF(h % ph != 0 || w % pw != 0, "tsr_cuda_patchify: patch %lldx%lld does not divide image %lldx%lld",
                  (long long)ph, (long long)pw, (long long)h, (long long)w);
  TSR_ARG_FAIL_IF(!fits(c, h) || !fits(c * h, w) || !fits(c * h * w + lead * c * ph * pw, n),
                  "tsr_cuda_patchify: size overflow");
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !cols, "tsr_cuda_patchify: null pointer");
  const int64_t total = n * (c * h * w + lead * c * ph * pw);  // elements of cols
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int V = VecWidth<T>::value;
    const T *px = static_cast<const T *>(x);
    T *pc = static_cast<T *>(cols);
    const bool vec = pw % V == 0 && aligned(x, 16) && aligned(cols, 16);
    return with_index(total, [&](auto itag) {
      using I = typename decltype(itag)::type;
      if (vec) {
        patchify_kernel<T, V, I><<<grid_for(total / V, kThreads), kThreads, 0, pe_stream(stream)>>>(
            px, pc, I(total / V), I(c), I(h), I(w), I(ph), I(pw), I(lead));
      } else {
        patchify_kernel<T, 1, I><<<grid_for(total, kThreads), kThreads, 0, pe_stream(stream)>>>(
            px, pc, I(total), I(c), I(h), I(w), I(ph), I(pw), I(lead));
      }
      TSR_LAUNCH_CHECK("tsr_cuda_patchify kernel launch");
      return TSR_OK;
    });
  });
}

int tsr_cuda_im2col_1d(int dtype, const void *x, void *cols, int64_t n, int64_t c, int64_t t, int64_t k,
                       int64_t stride, int64_t pad, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_im2col_1d: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(n < 0 || c < 1 || t < 1 || k < 1 || stride < 1 || pad < 0,
                  "tsr_cuda_im2col_1d: bad sizes n=%lld c=%lld t=%lld k=%lld stride=%lld pad=%lld", (long long)n,
                  (long long)c, (long long)t, (long long)k, (long long)stride, (long long)pad);
  TSR_ARG_FAIL_IF(pad > INT64_MAX / 4 || t > INT64_MAX / 4 || t + 2 * pad < k,
                  "tsr_cuda_im2col_1d: kernel %lld longer than the padded input %lld + 2*%lld", (long long)k,
                  (long long)t, (long long)pad);
  const int64_t t_out = (t + 2 * pad - k) / stride + 1;
  TSR_ARG_FAIL_IF(!fits(c, k) || !fits(c * k, t_out) || !fits(c * k * t_out, n) || !fits(c * t, n),
                  "tsr_cuda_im2col_1d: size overflow");
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!x || !cols, "tsr_cuda_im2col_1d: null pointer");
  const int64_t total = n * t_out * c * k;
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    // every index (cols, x, and the window positions in [-pad, t + pad)) is below this span
    const int64_t x_span = n * c * t + 2 * pad;
    const int64_t span = total > x_span ? total : x_span;
    return with_index(span, [&](auto itag) {
      using I = typename decltype(itag)::type;
      im2col_1d_kernel<T, I><<<grid_for(total, kThreads), kThreads, 0, pe_stream(stream)>>>(
          static_cast<const T *>(x), static_cast<T *>(cols), I(total), I(c), I(t), I(k), I(stride), I(pad), I(t_out));
      TSR_LAUNCH_CHECK("tsr_cuda_im2col_1d kernel launch");
      return TSR_OK;
    });
  });
}

int tsr_cuda_patch_finish(int dtype, void *out, const void *bias, const void *cls, const void *pos, int64_t n,
                          int64_t l, int64_t d, void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_patch_finish: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(n < 0 || l < 1 || d < 1, "tsr_cuda_patch_finish: bad sizes n=%lld l=%lld d=%lld", (long long)n,
                  (long long)l, (long long)d);
  const int64_t has_cls = cls != nullptr ? 1 : 0;
  const int64_t rows = l + has_cls;
  TSR_ARG_FAIL_IF(!fits(rows, d) || !fits(rows * d, n), "tsr_cuda_patch_finish: size overflow");
  if (n == 0 || (bias == nullptr && cls == nullptr && pos == nullptr)) return TSR_OK;
  TSR_ARG_FAIL_IF(!out, "tsr_cuda_patch_finish: null pointer");
  const int64_t total = n * rows * d;
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int V = VecWidth<T>::value;
    const bool vec = d % V == 0 && aligned(out, 16) && (!bias || aligned(bias, 16)) && (!cls || aligned(cls, 16)) &&
                     (!pos || aligned(pos, 16));
    T *po = static_cast<T *>(out);
    const T *pb = static_cast<const T *>(bias);
    const T *pcl = static_cast<const T *>(cls);
    const T *pp = static_cast<const T *>(pos);
    const bool both = bias != nullptr && pos != nullptr;
    return with_index(total, [&](auto itag) {
      using I = typename decltype(itag)::type;
      const cudaStream_t st = pe_stream(stream);
      if (vec) {
        const I groups = I(total / V);
        if (both)
          finish_bias_pos_kernel<T, V, I><<<grid_for(groups, kThreads), kThreads, 0, st>>>(po, pb, pcl, pp, groups,
                                                                                          I(rows), I(d), I(has_cls));
        else
          finish_kernel<T, V, I><<<grid_for(groups, kThreads), kThreads, 0, st>>>(po, pb, pcl, pp, groups, I(rows),
                                                                                 I(d), I(has_cls));
      } else {
        if (both)
          finish_bias_pos_kernel<T, 1, I><<<grid_for(total, kThreads), kThreads, 0, st>>>(po, pb, pcl, pp, I(total),
                                                                                         I(rows), I(d), I(has_cls));
        else
          finish_kernel<T, 1, I><<<grid_for(total, kThreads), kThreads, 0, st>>>(po, pb, pcl, pp, I(total), I(rows),
                                                                                I(d), I(has_cls));
      }
      TSR_LAUNCH_CHECK("tsr_cuda_patch_finish kernel launch");
      return TSR_OK;
    });
  });
}

int tsr_cuda_bias_channels_first(int dtype, void *out, const void *bias, int64_t n, int64_t d, int64_t t,
                                 void *stream) {
  TSR_ARG_FAIL_IF(!is_float_dtype(dtype), "tsr_cuda_bias_channels_first: unsupported dtype %d", dtype);
  TSR_ARG_FAIL_IF(n < 0 || d < 1 || t < 1, "tsr_cuda_bias_channels_first: bad sizes n=%lld d=%lld t=%lld",
                  (long long)n, (long long)d, (long long)t);
  TSR_ARG_FAIL_IF(!fits(d, t) || !fits(d * t, n), "tsr_cuda_bias_channels_first: size overflow");
  if (n == 0) return TSR_OK;
  TSR_ARG_FAIL_IF(!out || !bias, "tsr_cuda_bias_channels_first: null pointer");
  const int64_t total = n * d * t;
  return dispatch_float(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int V = VecWidth<T>::value;
    T *po = static_cast<T *>(out);
    const T *pb = static_cast<const T *>(bias);
    const bool vec = t % V == 0 && aligned(out, 16);
    return with_index(total, [&](auto itag) {
      using I = typename decltype(itag)::type;
      if (vec) {
        bias_cf_kernel<T, V, I><<<grid_for(total / V, kThreads), kThreads, 0, pe_stream(stream)>>>(
            po, pb, I(total / V), I(d), I(t));
      } else {
        bias_cf_kernel<T, 1, I><<<grid_for(total, kThreads), kThreads, 0, pe_stream(stream)>>>(po, pb, I(total), I(d),
                                                                                              I(t));
      }
      TSR_LAUNCH_CHECK("tsr_cuda_bias_channels_first kernel launch");
      return TSR_OK;
    });
  });
}

}  // extern "C"
