/*
 * Core ops: elementwise, norms, softmax, activations, embedding gather, transpose, dtype conversion.
 * CPU variants compute in fp32 (conversion handles f16/bf16 storage); CUDA variants take a dtype
 * (TSR_F32, TSR_F16 or TSR_BF16 for floating ops) and compute in fp32 whatever the storage type.
 * See tessera.h for the shared conventions.
 *
 * Aliasing: out may equal the (first) input for binary, binary_row, affine, the norms, softmax and
 * the activations; not for transpose, convert between different dtypes, or strided_copy.
 * GELU / SiLU of -inf give -0; conversions quiet NaNs and keep their top payload bits (as F16C does).
 */
#ifndef TESSERA_CORE_H
#define TESSERA_CORE_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif
