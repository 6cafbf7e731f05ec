/*
 * Patch embedding (the ViT / CLIP stem) and the 1-D convolution stem (Whisper), as
 * im2col + GEMM + one fused "finish" pass. See tessera.h for the shared conventions (the caller
 * validates, raw pointers, status codes); the GEMM between the two steps is the caller's
 * (OpenBLAS / cuBLAS through the runtime's Backend.gemm), so these functions only move data.
 *
 * 2-D (Conv2d with kernel = stride = (ph, pw), no padding):
 *   x     [N, C, H, W]           contiguous, H % ph == 0 and W % pw == 0
 *   cols  [N, lead + L, C*ph*pw] L = (H/ph) * (W/pw); the first `lead` rows of each image are
 *                                zeros (room for a class token: with lead = 1 one GEMM over all
 *                                N * (1 + L) rows writes the whole [N, 1 + L, D] output, and the
 *                                finish overwrites the zero rows); then patch p = py * (W/pw) + px
 *                                (row-major) in row lead + p; column k = (c * ph + i) * pw + j,
 *                                i.e. the Conv2d weight [D, C, ph, pw] read as a [D, C*ph*pw]
 *                                matrix W gives embed[n, p, :] = cols[n, lead + p, :] . W^T
 * 1-D (Conv1d with kernel K, stride s, zero padding p on both sides, no dilation):
 *   x     [N, C, T]
 *   cols  [N, T_out, C*K]        T_out = (T + 2p - K) / s + 1 (caller ensures T + 2p >= K);
 *                                column k = c * K + kk holds x[n, c, t*s - p + kk] (0 outside [0, T)),
 *                                matching the Conv1d weight [D, C, K] read as [D, C*K]
 * Finish (after the GEMM wrote the projections):
 *   out   [N, R, D]              R = L + has_cls; the GEMM wrote rows has_cls .. R-1 of each image
 *   for rows r >= has_cls: out[n, r, :] += bias (if bias != NULL)
 *   if has_cls:            out[n, 0, :]  = cls
 *   then for all rows:     out[n, r, :] += pos[r, :] (if pos != NULL), pos is [R, D]
 *   computed in fp32 in one pass over out, in the order ((gemm + bias) + pos).
 * Bias, channels first (the torch Conv1d layout [N, D, T_out]):
 *   out[n, d, t] += bias[d]
 *
 * Limits: all sizes >= 1 except N >= 0 (N == 0 is a no-op); no aliasing between x and cols.
 * NaN and Inf propagate. CPU functions are threaded over the worker pool (tsr_cpu_threads()).
 * CUDA functions take TSR_F32, TSR_F16 or TSR_BF16 storage (one dtype for all arguments), compute
 * the finish in fp32, are asynchronous on `stream` (a cudaStream_t; NULL = legacy default stream)
 * and never synchronise.
 */
#ifndef TESSERA_PATCH_EMBED_H
#define TESSERA_PATCH_EMBED_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- CPU (host pointers, fp32) ---------------- */

/* 2-D im2col of non-overlapping ph x pw patches: x [N, C, H, W] -> cols [N, lead + L, C*ph*pw]
 * (lead >= 0 zero rows first in each image). */
TSR_API int tsr_cpu_patchify_f32(const float *x, float *cols, int64_t n, int64_t c, int64_t h, int64_t w,
                                 int64_t ph, int64_t pw, int64_t lead);
/* 1-D im2col: x [N, C, T] -> cols [N, T_out, C*K] with stride and zero padding (T_out as above). */
TSR_API int tsr_cpu_im2col_1d_f32(const float *x, float *cols, int64_t n, int64_t c, int64_t t, int64_t k,
                                  int64_t stride, int64_t pad);
/* Fused finish on out [N, L + has_cls, D]: bias on the projected rows, class-token row, position
 * embeddings. bias [D], cls [D] (has_cls = cls != NULL), pos [L + has_cls, D]; each may be NULL. */
TSR_API int tsr_cpu_patch_finish_f32(float *out, const float *bias, const float *cls, const float *pos,
                                     int64_t n, int64_t l, int64_t d);
/* out [N, D, T] += bias[d] (channels-first conv output). */
TSR_API int tsr_cpu_bias_channels_first_f32(float *out, const float *bias, int64_t n, int64_t d, int64_t t);

/* ---------------- CUDA (device pointers, dtype = TSR_F32 / TSR_F16 / TSR_BF16) ---------------- */

TSR_API int tsr_cuda_patchify(int dtype, const void *x, void *cols, int64_t n, int64_t c, int64_t h, int64_t w,
                              int64_t ph, int64_t pw, int64_t lead, void *stream);
TSR_API int tsr_cuda_im2col_1d(int dtype, const void *x, void *cols, int64_t n, int64_t c, int64_t t, int64_t k,
                               int64_t stride, int64_t pad, void *stream);
TSR_API int tsr_cuda_patch_finish(int dtype, void *out, const void *bias, const void *cls, const void *pos,
                                  int64_t n, int64_t l, int64_t d, void *stream);
TSR_API int tsr_cuda_bias_channels_first(int dtype, void *out, const void *bias, int64_t n, int64_t d, int64_t t,
                                         void *stream);

#ifdef __cplusplus
}
#endif

#endif
