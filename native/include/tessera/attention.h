/*
 * Fused scaled dot-product attention (flash-style: the [seq_q, seq_k] score matrix is never
 * materialised; softmax is computed online over key tiles with a running max and sum).
 * See tessera.h for the shared conventions (the caller validates; raw pointers; status codes).
 *
 * Layout: [batch, heads, seq, head_dim]; the last dim (head_dim) is always unit stride.
 *   q   [batch, heads_q,  seq_q, head_dim]
 *   out [batch, heads_q,  seq_q, head_dim]  same dtype as q
 *   k,v [batch, heads_kv, seq_k, head_dim]
 * tsr_cpu_attention_strided_f32 takes each of q, k, v, out as a strided view: element (b, h, i, c) of q is at
 *   q[b * q_stride_b + h * q_stride_h + i * q_stride_s + c]   (strides in floats, >= 0)
 * and the same for k, v, out with their own strides, so heads sliced out of a fused [batch, seq, 3, heads,
 * head_dim] projection, a [batch, seq, heads, head_dim] output, or a sliced KV cache are read and written in
 * place. The other entry points take
 *   q, out contiguous;
 *   k, v stored inside a buffer of `kv_capacity` rows per head:
 *       element (b, h, j, c) is at  k[((b * heads_kv + h) * kv_capacity + j) * head_dim + c]
 *       with kv_capacity >= seq_k. kv_capacity == seq_k is a contiguous tensor; a preallocated KV
 *       cache [batch, heads_kv, capacity, head_dim] sliced along the sequence is passed as-is with
 *       kv_capacity = capacity (no copy). k and v share the layout.
 *
 * Semantics: out[b, h, i, :] = sum_j p_ij v[b, h / (heads_q / heads_kv), j, :] with
 *   p_i = softmax_j(scale * <q[b, h, i, :], k[b, h / (heads_q / heads_kv), j, :]>) over the keys j that
 *   row i may see:
 *   - grouped-query attention: heads_q % heads_kv == 0; query head h uses KV head h / (heads_q / heads_kv)
 *     (heads_kv == heads_q is ordinary multi-head attention, heads_kv == 1 multi-query attention);
 *   - causal != 0: row i sees keys j <= i + (seq_k - seq_q) (bottom-right aligned, as for a KV cache
 *     longer than the query; the same rule as tsr_cpu_softmax_f32's causal_q);
 *   - key_mask != NULL: an int array [batch, seq_k] of dtype mask_dtype (TSR_I32 or TSR_I64), as Hugging
 *     Face's attention_mask: 0 = padding (never attended), non-zero = attend. NULL = every key;
 *   - a row that sees no key at all gets zeros.
 * Computation is fp32 (fp32 accumulation and softmax whatever the storage type); NaN in the inputs
 * propagates to the rows it reaches.
 *
 * Limits: batch, heads_q, heads_kv, head_dim >= 1; seq_q, seq_k >= 0; head_dim <= 256;
 * heads_q % heads_kv == 0. The buffers must not overlap out.
 */
#ifndef TESSERA_ATTENTION_H
#define TESSERA_ATTENTION_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest head_dim the kernels accept. */
#define TSR_ATTENTION_MAX_HEAD_DIM 256

/* ---------------- CPU (host pointers, fp32) ----------------
 * Blocked over (batch, head, query block of 32..128 rows), threaded on the library's pool, vectorised over
 * keys (QK^T) and head_dim (PV). When (batch * heads * query blocks) gives the pool too little work (decode:
 * a few query rows against a long cache), the keys are split into chunks whose partial softmax results
 * are merged by log-sum-exp. Temporary memory is O(tile) per task (plus the partial results when split). */

/* Strided form (see Layout). Checks, with a message for tsr_last_error and TSR_ERR_ARG: the sizes and mask
 * dtype as below; every stride >= 0; the row stride (_s) of q and out >= head_dim unless seq_q == 1, of k and
 * v >= head_dim unless seq_k <= 1; out's strides map distinct elements to distinct addresses (q, k and v may
 * share memory with each other, e.g. three views of one projection; none of them may overlap out). */
TSR_API int tsr_cpu_attention_strided_f32(const float *q, int64_t q_stride_b, int64_t q_stride_h,
                                          int64_t q_stride_s, const float *k, int64_t k_stride_b, int64_t k_stride_h,
                                          int64_t k_stride_s, const float *v, int64_t v_stride_b,
                                          int64_t v_stride_h, int64_t v_stride_s, float *out, int64_t out_stride_b,
                                          int64_t out_stride_h, int64_t out_stride_s, int64_t batch,
                                          int64_t heads_q, int64_t heads_kv, int64_t seq_q, int64_t seq_k,
                                          int64_t head_dim, const void *key_mask, int mask_dtype, float scale,
                                          int causal);

/* Contiguous q / out, k / v with kv_capacity rows per head: the strided form with q and out strides
 * (heads_q * seq_q * head_dim, seq_q * head_dim, head_dim) and k and v strides
 * (heads_kv * kv_capacity * head_dim, kv_capacity * head_dim, head_dim). */
TSR_API int tsr_cpu_attention_f32(const float *q, const float *k, const float *v, float *out, int64_t batch,
                                  int64_t heads_q, int64_t heads_kv, int64_t seq_q, int64_t seq_k, int64_t head_dim,
                                  int64_t kv_capacity, const void *key_mask, int mask_dtype, float scale,
                                  int causal);

/* ---------------- CUDA (device pointers, cudaStream_t passed as void*) ----------------
 * dtype: TSR_F32, TSR_F16 or TSR_BF16 for q, k, v and out.
 * F16/BF16 with head_dim <= 128 and more than 4 query rows: flash-attention-2 style tensor-core kernels
 * (mma.sync m16n8k16, fp32 accumulation), chosen by the `kernel` argument of tsr_cuda_attention:
 *   V1: 64 query rows per block, single-buffered 64-key tiles; head_dim 64 and 128 specialised, other sizes
 *       padded to 64 / 128;
 *   V2: 128 query rows per block (32 per warp), double-buffered key tiles (128 keys for head_dim 64, 64 for
 *       128); head_dim 64 and 128, scale > 0, 16-byte aligned buffers, where the device gives a block enough shared
 *       memory (91 KiB for head_dim 64, 102.5 KiB for 128: sm_80 and sm_90 yes, sm_86 / sm_89 only head_dim 64);
 *       other cases fall back to V1;
 *   WGMMA: Hopper warpgroup MMA (wgmma.mma_async, sm_90a
 *       SASS only): 128 query rows per block (2 warpgroups x 64), double-buffered 128-key tiles in 128-byte-swizzled
 *       shared memory, P from registers; head_dim 64 and 128, scale > 0, 16-byte aligned buffers; other cases fall
 *       back to V1. On a device other than compute capability 9.0 (or a library built without it) the F16/BF16
 *       tensor-core path returns TSR_ERR_UNSUPPORTED with a message instead; the SIMT paths (F32, decode,
 *       head_dim > 128) are unaffected by the choice;
 *   AUTO: the library's choice: on a compute capability 9.0 device with the WGMMA kernel built, WGMMA for head_dim
 *       128, for head_dim 64 without a causal mask, and for head_dim 64 causal from 4096 query rows (where it
 *       measured 1.0-1.4x the faster of V1 / V2 on an H200); otherwise (and where WGMMA does not cover the case) V2
 *       for head_dim 128 without a causal mask (1.2x V1 there on an H100), else V1.
 * All variants compute the same function (same masks, zero rows and NaN propagation); results differ only by
 * fp32 rounding order.
 * F32 prefill with head_dim a multiple of 4 up to 128 and enough rows for the device: SIMT kernel with four query
 * rows per warp (_SIMT_ROWS). Other F32, head_dim > 128, and decode (seq_q <= 4): SIMT kernel, split along the keys when the grid would be
 * too small for the device (flash-decoding), followed by a combine kernel; that needs a workspace. */

/* Values of tsr_cuda_attention's `kernel` argument (and, with _SIMT / _SIMT_ROWS, of
 * tsr_cuda_attention_last_kernel). */
#define TSR_ATTENTION_KERNEL_AUTO 0
#define TSR_ATTENTION_KERNEL_V1 1
#define TSR_ATTENTION_KERNEL_V2 2
#define TSR_ATTENTION_KERNEL_SIMT 3
#define TSR_ATTENTION_KERNEL_SIMT_ROWS 4
#define TSR_ATTENTION_KERNEL_WGMMA 5 /* flash_wgmma: sm_90a, cc 9.0 only */

/* Bytes of device workspace tsr_cuda_attention needs for these sizes on the current device (0 if none),
 * or a negative status (-TSR_ERR_ARG, -TSR_ERR_NO_CUDA, -(TSR_ERR_CUDA_BASE + err)) with a message. */
TSR_API int64_t tsr_cuda_attention_workspace_bytes(int dtype, int64_t batch, int64_t heads_q, int64_t heads_kv,
                                                   int64_t seq_q, int64_t seq_k, int64_t head_dim);
/* Queues the attention on `stream`. workspace: device memory of at least the size returned by
 * tsr_cuda_attention_workspace_bytes for the same sizes (may be NULL when that is 0; the workspace does not
 * depend on `kernel`). kernel: TSR_ATTENTION_KERNEL_AUTO, _V1, _V2 or _WGMMA (see above). No sync. */
TSR_API int tsr_cuda_attention(int dtype, const void *q, const void *k, const void *v, void *out, int64_t batch,
                               int64_t heads_q, int64_t heads_kv, int64_t seq_q, int64_t seq_k, int64_t head_dim,
                               int64_t kv_capacity, const void *key_mask, int mask_dtype, float scale, int causal,
                               void *workspace, int64_t workspace_bytes, void *stream, int kernel);

/* The kernel that the calling thread's last successful tsr_cuda_attention queued: TSR_ATTENTION_KERNEL_V1
 * (flash_mma), _V2 (flash_mma_v2), _WGMMA (flash_wgmma), _SIMT (flash_simt, with flash_combine when split),
 * _SIMT_ROWS (flash_simt_rows), or 0 (none yet, or a call with seq_q == 0). For tests and benchmarks: which kernel
 * AUTO or a fallback picked. */
TSR_API int tsr_cuda_attention_last_kernel(void);

/* Values of tsr_cuda_attention_last_schedule: the schedule flash_wgmma ran (the environment variable
 * TESSERA_WGMMA_SCHEDULE, read once per process, chooses: pingpong (default), lockstep, ws / ws2 / ws3 =
 * flash_wgmma_ws, the warp-specialised TMA kernel, which runs ping-pong instead where it has no tensor maps;
 * wsp / wsp2 / wsp3 = the same on a persistent grid where it has two consumer warpgroups, also reported as
 * TSR_WGMMA_SCHEDULE_WS). */
#define TSR_WGMMA_SCHEDULE_PINGPONG 1
#define TSR_WGMMA_SCHEDULE_LOCKSTEP 2
#define TSR_WGMMA_SCHEDULE_WS 3
/* The schedule of the flash_wgmma launch that the calling thread's last successful tsr_cuda_attention queued, or 0
 * when that call ran another kernel (or none yet). For probes and A / B timings: which schedule really ran. */
TSR_API int tsr_cuda_attention_last_schedule(void);

#ifdef __cplusplus
}
#endif

#endif
