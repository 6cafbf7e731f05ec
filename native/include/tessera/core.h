/*
 * Core ops: elementwise, norms, softmax, activations, embedding gather, transpose, dtype conversion.
 * CPU variants compute in fp32 (conversion handles f16/bf16 storage); CUDA variants take a dtype
 * (TSR_F32, TSR_F16 or TSR_BF16 for floating ops) and compute in fp32 whatever the storage type.
 * See tessera.h for the shared conventions.
 *
 * Aliasing: out may equal the (first) input for binary, binary_row, affine, the norms, softmax and
 * the activations; not for transpose, convert between different dtypes, or strided_copy.
 * GELU / SiLU of -inf give -0; conversions quiet NaNs and keep their top payload bits (as F16C does).
 *
 * Model-pipeline ops (copy between views, unary table, RoPE, last-dim reductions): out may equal x for
 * unary; copy_strided needs src and dst not to overlap; rope, sum_rows and argmax_rows never alias.
 */
#ifndef TESSERA_CORE_H
#define TESSERA_CORE_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Unary elementwise operators of tsr_cpu_unary_f32 / tsr_cuda_unary (fp32 maths):
 * sigmoid 1/(1+e^-x); tanh; relu max(x, 0) (NaN stays NaN); exp; log (x < 0 gives NaN, 0 gives -inf);
 * quick_gelu x * sigmoid(1.702 x); neg -x; sqrt (x < 0 gives NaN); rsqrt 1/sqrt(x); abs |x|; square x^2. */
#define TSR_UNARY_SIGMOID 0
#define TSR_UNARY_TANH 1
#define TSR_UNARY_RELU 2
#define TSR_UNARY_EXP 3
#define TSR_UNARY_LOG 4
#define TSR_UNARY_QUICK_GELU 5
#define TSR_UNARY_NEG 6
#define TSR_UNARY_SQRT 7
#define TSR_UNARY_RSQRT 8
#define TSR_UNARY_ABS 9
#define TSR_UNARY_SQUARE 10
#define TSR_UNARY_COUNT 11

/* ---------------- CPU (host pointers) ---------------- */

/* out[i] = a[i] (op) b[i], i < n. op: TSR_OP_ADD/SUB/MUL/DIV. out may alias a or b. */
TSR_API int tsr_cpu_binary_f32(int op, const float *a, const float *b, float *out, int64_t n);
/* out[r, c] = x[r, c] (op) row[c]: broadcast of a vector over the last dim (bias add, scale). */
TSR_API int tsr_cpu_binary_row_f32(int op, const float *x, const float *row, float *out, int64_t rows,
                                   int64_t cols);
/* out[i] = alpha * x[i] + beta. */
TSR_API int tsr_cpu_affine_f32(const float *x, float alpha, float beta, float *out, int64_t n);
/* Layer norm over the last dim; gamma / beta may be NULL (identity). Biased variance. */
TSR_API int tsr_cpu_layer_norm_f32(const float *x, const float *gamma, const float *beta, float *out,
                                   int64_t rows, int64_t cols, float eps);
/* RMS norm over the last dim: x / sqrt(mean(x^2) + eps) * gamma; gamma may be NULL. */
TSR_API int tsr_cpu_rms_norm_f32(const float *x, const float *gamma, float *out, int64_t rows, int64_t cols,
                                 float eps);
/* Row-wise softmax over the last dim (cols). If causal_q > 0 the rows form groups of causal_q query
 * rows; row i of a group may see columns j <= i + (cols - causal_q) (bottom-right aligned causal
 * mask, as for a KV cache longer than the query); masked entries are 0. A fully masked row is 0. */
TSR_API int tsr_cpu_softmax_f32(const float *x, float *out, int64_t rows, int64_t cols, int64_t causal_q);
/* GELU: erf form (tanh_approx = 0) or tanh approximation (tanh_approx = 1). */
TSR_API int tsr_cpu_gelu_f32(const float *x, float *out, int64_t n, int tanh_approx);
/* SiLU: x * sigmoid(x). */
TSR_API int tsr_cpu_silu_f32(const float *x, float *out, int64_t n);
/* out[i, :] = table[ids[i], :]; ids are TSR_I32 or TSR_I64. If an id is outside [0, vocab) returns
 * TSR_ERR_INDEX and stores the first offending position in *bad_pos if bad_pos is not NULL;
 * nothing is written to out then. */
TSR_API int tsr_cpu_embedding_f32(const void *ids, int ids_dtype, const float *table, float *out, int64_t n_ids,
                                  int64_t vocab, int64_t dim, int64_t *bad_pos);
/* out[b, c, r] = x[b, r, c] for elements of elem_size bytes (1, 2, 4 or 8). */
TSR_API int tsr_cpu_transpose(const void *x, void *out, int64_t batch, int64_t rows, int64_t cols, int elem_size);
/* Elementwise dtype conversion among TSR_F32, TSR_F16, TSR_BF16 (round to nearest even; NaN kept). */
TSR_API int tsr_cpu_convert(const void *x, int src_dtype, void *out, int dst_dtype, int64_t n);
/* Gather a strided view into a contiguous buffer. shape/src_strides have ndim (<= 8) entries;
 * strides are in elements and may be 0 (broadcast) or negative; src points at the view's first
 * element. */
TSR_API int tsr_cpu_strided_copy(const void *src, void *dst, int ndim, const int64_t *shape,
                                 const int64_t *src_strides, int elem_size);
/* Copy between two strided views of the same shape: dst[idx] = src[idx] for every index of `shape`.
 * Strides are in elements (src strides may be 0 or negative; dst must not map two indices to one
 * element); src / dst point at the views' first elements; the views must not overlap. ndim <= 8. */
TSR_API int tsr_cpu_copy_strided(const void *src, const int64_t *src_strides, void *dst, const int64_t *dst_strides,
                                 int ndim, const int64_t *shape, int elem_size);
/* Broadcasting binary op: out (contiguous, `shape`) [idx] = a[idx . a_strides] (op) b[idx . b_strides];
 * strides in elements, 0 along broadcast dims. out must not overlap a or b unless that input has out's
 * exact (contiguous) layout. ndim <= 8. */
TSR_API int tsr_cpu_binary_strided_f32(int op, const float *a, const int64_t *a_strides, const float *b,
                                       const int64_t *b_strides, float *out, int ndim, const int64_t *shape);
/* out[i] = f(x[i]) for op TSR_UNARY_*. out may alias x. */
TSR_API int tsr_cpu_unary_f32(int op, const float *x, float *out, int64_t n);
/* Rotary position embedding, Hugging Face rotate_half convention, on x [batch, heads, seq, dim] (dim
 * even, half = dim / 2) read with element strides (x_sb, x_sh, x_ss) and unit stride along dim; cos / sin
 * hold rows of `half` values, row (b, s) at b * cs_sb + s * half (cs_sb = 0: one table for the batch):
 *   out[..., j]        = x[..., j] * cos[j] - x[..., j + half] * sin[j]
 *   out[..., j + half] = x[..., j + half] * cos[j] + x[..., j] * sin[j]        (j < half)
 * out is contiguous [batch, heads, seq, dim]. */
TSR_API int tsr_cpu_rope_f32(const float *x, int64_t x_sb, int64_t x_sh, int64_t x_ss, const float *cos,
                             const float *sin, int64_t cs_sb, float *out, int64_t batch, int64_t heads, int64_t seq,
                             int64_t dim);
/* Row-wise log-softmax over the last dim: out = x - max - log(sum exp(x - max)). out may alias x. A row
 * holding NaN is NaN; +inf gives NaN; a row of -inf gives NaN (as PyTorch). */
TSR_API int tsr_cpu_log_softmax_f32(const float *x, float *out, int64_t rows, int64_t cols);
/* out[r] = scale * sum_c x[r, c] (accumulated in double on the CPU, fp32 on CUDA); cols == 0 gives 0. */
TSR_API int tsr_cpu_sum_rows_f32(const float *x, float *out, int64_t rows, int64_t cols, float scale);
/* out[r] = index of the largest x[r, c] (the first one on ties); a row holding NaN gives the index of
 * its first NaN (NaN counts as larger than everything, as in PyTorch). cols >= 1. */
TSR_API int tsr_cpu_argmax_rows_f32(const float *x, int32_t *out, int64_t rows, int64_t cols);

/* ---------------- CUDA (device pointers, cudaStream_t passed as void*) ---------------- */

/* Make `device` current for this thread in the library's CUDA runtime. */
TSR_API int tsr_cuda_set_device(int device);
TSR_API int tsr_cuda_binary(int op, int dtype, const void *a, const void *b, void *out, int64_t n, void *stream);
TSR_API int tsr_cuda_binary_row(int op, int dtype, const void *x, const void *row, void *out, int64_t rows,
                                int64_t cols, void *stream);
TSR_API int tsr_cuda_affine(int dtype, const void *x, float alpha, float beta, void *out, int64_t n, void *stream);
TSR_API int tsr_cuda_layer_norm(int dtype, const void *x, const void *gamma, const void *beta, void *out,
                                int64_t rows, int64_t cols, float eps, void *stream);
TSR_API int tsr_cuda_rms_norm(int dtype, const void *x, const void *gamma, void *out, int64_t rows, int64_t cols,
                              float eps, void *stream);
TSR_API int tsr_cuda_softmax(int dtype, const void *x, void *out, int64_t rows, int64_t cols, int64_t causal_q,
                             void *stream);
TSR_API int tsr_cuda_gelu(int dtype, const void *x, void *out, int64_t n, int tanh_approx, void *stream);
TSR_API int tsr_cuda_silu(int dtype, const void *x, void *out, int64_t n, void *stream);
/* Out-of-range ids produce zero rows and the first offending position is written to *bad_pos_dev
 * (a device int64, initialised by the caller to -1; may be NULL). */
TSR_API int tsr_cuda_embedding(int dtype, const void *ids, int ids_dtype, const void *table, void *out,
                               int64_t n_ids, int64_t vocab, int64_t dim, int64_t *bad_pos_dev, void *stream);
TSR_API int tsr_cuda_transpose(const void *x, void *out, int64_t batch, int64_t rows, int64_t cols, int elem_size,
                               void *stream);
TSR_API int tsr_cuda_convert(const void *x, int src_dtype, void *out, int dst_dtype, int64_t n, void *stream);
TSR_API int tsr_cuda_strided_copy(const void *src, void *dst, int ndim, const int64_t *shape,
                                  const int64_t *src_strides, int elem_size, void *stream);
/* As tsr_cpu_copy_strided (shape / strides are host arrays; pointers are device addresses). */
TSR_API int tsr_cuda_copy_strided(const void *src, const int64_t *src_strides, void *dst, const int64_t *dst_strides,
                                  int ndim, const int64_t *shape, int elem_size, void *stream);
/* As tsr_cpu_binary_strided_f32 for `dtype` (strides / shape are host arrays). */
TSR_API int tsr_cuda_binary_strided(int op, int dtype, const void *a, const int64_t *a_strides, const void *b,
                                    const int64_t *b_strides, void *out, int ndim, const int64_t *shape, void *stream);
TSR_API int tsr_cuda_unary(int op, int dtype, const void *x, void *out, int64_t n, void *stream);
/* As tsr_cpu_rope_f32 with x / out of `dtype`; cos / sin are always fp32. */
TSR_API int tsr_cuda_rope(int dtype, const void *x, int64_t x_sb, int64_t x_sh, int64_t x_ss, const float *cos,
                          const float *sin, int64_t cs_sb, void *out, int64_t batch, int64_t heads, int64_t seq,
                          int64_t dim, void *stream);
TSR_API int tsr_cuda_log_softmax(int dtype, const void *x, void *out, int64_t rows, int64_t cols, void *stream);
/* out[r] (dtype) = scale * sum_c x[r, c], fp32 accumulation. */
TSR_API int tsr_cuda_sum_rows(int dtype, const void *x, void *out, int64_t rows, int64_t cols, float scale,
                              void *stream);
/* out[r] (device int32) as tsr_cpu_argmax_rows_f32. */
TSR_API int tsr_cuda_argmax_rows(int dtype, const void *x, int32_t *out, int64_t rows, int64_t cols, void *stream);

#ifdef __cplusplus
}
#endif

#endif
