/*
 * Restricted Boltzmann machine kernels: the fused pieces of a contrastive-divergence step (CD-k / PCD)
 * and of the mean-field passes, around the GEMMs the caller does with OpenBLAS / cuBLAS.
 * See tessera.h for the shared conventions (caller validates, raw pointers, status codes). fp32 only.
 *
 * Layouts (row-major, contiguous): a batch of visible vectors v is [rows, nv], hidden [rows, nh],
 * W is [nv, nh], vbias [nv], hbias [nh]; "pre" is the GEMM output (v W for the hidden side, h W^T for
 * the visible side) of the same shape as the units it feeds.
 *
 * Visible unit types (TSR_RBM_*):
 *   BINARY   p(v_i = 1 | h) = sigmoid(b_i + W_i. h)
 *   GAUSSIAN unit variance: v_i | h ~ N(b_i + W_i. h, 1)
 *   SOFTMAX  replicated softmax (Salakhutdinov & Hinton 2009): a row holds word counts with total
 *            D = sum_i v_i; v | h is D draws from softmax(b + W h); the hidden biases are scaled by D.
 * Hidden units are always binary.
 *
 * Random numbers: Philox4x32-10 (native/src/common/philox.h), key = seed, element i of a draw that
 * starts at counter `offset` uses counter (offset + i) (64-bit, words 0-1; word 2 = sub-index, 0 except
 * for the multinomial draws; word 3 = 0). Uniform = (word0 >> 8) * 2^-24 in [0, 1). So the same
 * (seed, offset) gives the same numbers whatever the thread count, and the CPU and CUDA uniforms are
 * bit-identical. A draw over n elements consumes counters [offset, offset + n): the caller advances
 * `offset` by n (by `rows` for the multinomial draw) so that successive draws are independent.
 *
 * NaN propagates: a NaN pre-activation gives a NaN probability and a NaN sample.
 * Aliasing: prob / mean may alias pre; nothing else may alias.
 */
#ifndef TESSERA_RBM_H
#define TESSERA_RBM_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_RBM_BINARY 0
#define TSR_RBM_GAUSSIAN 1
#define TSR_RBM_SOFTMAX 2

/* Largest row total D of the SOFTMAX units (counts stay exact in fp32). Larger totals are clamped. */
#define TSR_RBM_MAX_TOTAL 16777216

/* ---------------- CPU (host pointers) ---------------- */

/* One Philox4x32-10 block: out[0..3] = philox(counter[0..3], key[0..1]) (for known-answer tests). */
TSR_API int tsr_cpu_philox4x32_10(const uint32_t *counter, const uint32_t *key, uint32_t *out);

/* out[i] = uniform of counter (offset + i) under seed, i < n. */
TSR_API int tsr_cpu_rbm_uniform(uint64_t seed, uint64_t offset, float *out, int64_t n);

/* Binary (hidden or visible) units, fused bias + sigmoid + Bernoulli sample:
 *   z[r,c]      = pre[r,c] + bias[c] * (bias_scale ? bias_scale[r] : 1) + (extra ? extra[r,c] : 0)
 *   prob[r,c]   = sigmoid(z[r,c])
 *   sample[r,c] = u(offset + r*cols + c) < prob[r,c] ? 1 : 0      (NaN where prob is NaN)
 * bias, bias_scale (per row, e.g. the D of replicated softmax), extra (e.g. the top-down input of DBM
 * mean-field) and sample may be NULL (no sample: mean-field). Consumes rows*cols counters. */
TSR_API int tsr_cpu_rbm_sigmoid_sample(const float *pre, const float *bias, const float *bias_scale,
                                       const float *extra, float *prob, float *sample, int64_t rows, int64_t cols,
                                       uint64_t seed, uint64_t offset);

/* Gaussian units of unit variance: mean[r,c] = pre[r,c] + bias[c]; sample = mean + n, n ~ N(0, 1) by
 * Box-Muller from words 0 and 1 of the block of counter (offset + r*cols + c). bias and sample may be
 * NULL. Consumes rows*cols counters. */
TSR_API int tsr_cpu_rbm_gaussian_sample(const float *pre, const float *bias, float *mean, float *sample, int64_t rows,
                                        int64_t cols, uint64_t seed, uint64_t offset);

/* Replicated-softmax units: prob[r,:] = softmax(pre[r,:] + bias); if mean is not NULL,
 * mean[r,c] = D_r * prob[r,c]; if sample is not NULL, sample[r,:] = the counts of D_r draws from
 * prob[r,:], draw d of row r using word 0 of the block (counter offset + r, sub-index d) and the
 * inverse of the fp32 running sum of prob[r,:] (workspace: rows*cols floats, needed with sample).
 * D_r = totals[r] rounded to the nearest integer, clamped to [0, TSR_RBM_MAX_TOTAL]; a NaN total gives
 * a NaN mean / sample row. totals may be NULL only when mean and sample are. bias may be NULL.
 * Consumes `rows` counters (each with up to 2^32 sub-indices). */
TSR_API int tsr_cpu_rbm_softmax_sample(const float *pre, const float *bias, const float *totals, float *prob,
                                       float *mean, float *sample, float *workspace, int64_t rows, int64_t cols,
                                       uint64_t seed, uint64_t offset);

/* out[r] = sum_c x[r,c] (accumulated in double). */
TSR_API int tsr_cpu_rbm_row_sums(const float *x, float *out, int64_t rows, int64_t cols);

/* Column statistics for bias gradients (accumulated in double):
 *   out[c] = alpha_pos * sum_{r<pos_rows} ps_r pos[r,c] - alpha_neg * sum_{r<neg_rows} ns_r neg[r,c]
 * with ps_r = pos_scale ? pos_scale[r] : 1 and likewise ns_r. neg may be NULL (the second sum is 0). */
TSR_API int tsr_cpu_rbm_col_stats(const float *pos, const float *pos_scale, int64_t pos_rows, float alpha_pos,
                                  const float *neg, const float *neg_scale, int64_t neg_rows, float alpha_neg,
                                  float *out, int64_t cols);

/* Momentum / L2-decay update of n parameters, in place (grad is the log-likelihood ascent direction):
 *   velocity = momentum * velocity + lr * (grad - decay * param);  param += velocity. */
TSR_API int tsr_cpu_rbm_update(float *param, float *velocity, const float *grad, int64_t n, float lr,
                               float momentum, float decay);

/* Free energy per row, out[r] = F(v_r), with x_j = pre[r,j] + s_r hbias[j] (pre = v W, s_r = D_r for
 * SOFTMAX (totals), else 1):
 *   BINARY, SOFTMAX: F = -sum_i b_i v_i - sum_j softplus(x_j)
 *   GAUSSIAN:        F = sum_i (v_i - b_i)^2 / 2 - sum_j softplus(x_j)
 * Accumulated in double. totals is used (and required) for SOFTMAX only. */
TSR_API int tsr_cpu_rbm_free_energy(int visible_type, const float *v, const float *pre, const float *vbias,
                                    const float *hbias, const float *totals, float *out, int64_t rows, int64_t nv,
                                    int64_t nh);

/* out[r] = sum_c (a[r,c] - b[r,c])^2 (accumulated in double). */
TSR_API int tsr_cpu_rbm_sq_error(const float *a, const float *b, float *out, int64_t rows, int64_t cols);

/* ---------------- CUDA (device pointers, cudaStream_t passed as void*) ----------------
 * Same semantics and argument order as the CPU functions, asynchronous on `stream`. The uniforms are
 * bit-identical to the CPU ones; probabilities agree to a few ulp (different exp), so a Bernoulli
 * decision can differ only where u and p agree to that precision. Reductions accumulate in double
 * (in another order than on the CPU). The multinomial running sum is formed serially per row, in the
 * CPU's order. */
TSR_API int tsr_cuda_rbm_uniform(uint64_t seed, uint64_t offset, float *out, int64_t n, void *stream);
TSR_API int tsr_cuda_rbm_sigmoid_sample(const float *pre, const float *bias, const float *bias_scale,
                                        const float *extra, float *prob, float *sample, int64_t rows, int64_t cols,
                                        uint64_t seed, uint64_t offset, void *stream);
TSR_API int tsr_cuda_rbm_gaussian_sample(const float *pre, const float *bias, float *mean, float *sample,
                                         int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, void *stream);
TSR_API int tsr_cuda_rbm_softmax_sample(const float *pre, const float *bias, const float *totals, float *prob,
                                        float *mean, float *sample, float *workspace, int64_t rows, int64_t cols,
                                        uint64_t seed, uint64_t offset, void *stream);
TSR_API int tsr_cuda_rbm_row_sums(const float *x, float *out, int64_t rows, int64_t cols, void *stream);
TSR_API int tsr_cuda_rbm_col_stats(const float *pos, const float *pos_scale, int64_t pos_rows, float alpha_pos,
                                   const float *neg, const float *neg_scale, int64_t neg_rows, float alpha_neg,
                                   float *out, int64_t cols, void *stream);
TSR_API int tsr_cuda_rbm_update(float *param, float *velocity, const float *grad, int64_t n, float lr,
                                float momentum, float decay, void *stream);
TSR_API int tsr_cuda_rbm_free_energy(int visible_type, const float *v, const float *pre, const float *vbias,
                                     const float *hbias, const float *totals, float *out, int64_t rows, int64_t nv,
                                     int64_t nh, void *stream);
TSR_API int tsr_cuda_rbm_sq_error(const float *a, const float *b, float *out, int64_t rows, int64_t cols,
                                  void *stream);

#ifdef __cplusplus
}
#endif

#endif
