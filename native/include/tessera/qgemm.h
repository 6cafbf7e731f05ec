/*
 * INT8 linear layer of the CPU backend, for quantized (INT8) models: the arithmetic of ONNX Runtime's dynamic
 * quantization (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul by the input scale times the weight scale),
 * so that a model exported with onnxruntime.quantization.quantize_dynamic gives ONNX Runtime's numbers.
 * See tessera.h for the shared conventions (the caller validates; raw pointers; status codes).
 *
 *   1. once per weight: tsr_cpu_qgemm_pack_s8 copies the INT8 weight W [n, k] (with its per-column zero points
 *      applied later) into the packed layout (tsr_cpu_qgemm_packed_bytes(n, k) bytes, 64-byte aligned, owned
 *      by the caller), with the column sums the zero-point correction needs;
 *   2. per call: tsr_cpu_quantize_u8 quantizes the fp32 input x [m, k] to uint8 with one scale and zero point
 *      for the whole tensor (or per group of rows, e.g. per sentence), exactly as ONNX Runtime's
 *      DynamicQuantizeLinear does for that tensor (range widened to include 0,
 *      scale = (max - min) / 255, zero point = round-half-even(-min / scale) clamped to [0, 255],
 *      q = clamp(round-half-even(x / scale), -zp, 255 - zp) + zp), and sums each row of q;
 *   3. tsr_cpu_qgemm_f32 computes out[i, j] = act(float(sum_kk (q[i,kk] - zx[i]) (W[j,kk] - zw[j])) * (sx[i] * sw[j])
 *      + bias[j]) + residual[i, j]; the integer sum is exact (int32), the product sx[i] * sw[j] is taken in fp32.
 *
 * Packed layout: k padded with zeros to kp = round_up(k, 4); the n columns in panels of TSR_QGEMM_NR; panel p
 * holds kp / 4 groups of TSR_QGEMM_NR columns x 4 consecutive k values (int8), then, after all panels, n int32
 * column sums. Quantized inputs have rows ldq >= round_up(k, 4) bytes apart, zero padded after k.
 * The AVX-512 VNNI path (vpdpbusd) runs where the CPU has it (tsr_cpu_qgemm_vnni() = 1); elsewhere an exact
 * portable loop (correct, slow: models prefer their dequantized fp32 path there).
 */
#ifndef TESSERA_QGEMM_H
#define TESSERA_QGEMM_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output columns per packed panel. */
#define TSR_QGEMM_NR 32

/* 1 when the fast path (AVX-512 VNNI) runs on this CPU, else 0. */
TSR_API int tsr_cpu_qgemm_vnni(void);

/* Bytes of the packed form of an INT8 [n, k] weight (panels + column sums). */
TSR_API int64_t tsr_cpu_qgemm_packed_bytes(int64_t n, int64_t k);

/* Packs W (element (j, kk) at w[j * stride_n + kk * stride_k]; stride_n = 1, stride_k = n for ONNX's [k, n]). */
TSR_API int tsr_cpu_qgemm_pack_s8(const int8_t *w, int64_t stride_n, int64_t stride_k, int64_t n, int64_t k,
                                  void *packed);

/* Quantizes x [m, k] (rows ldx floats apart) to q [m, ldq] uint8 (ldq >= round_up(k, 4); bytes k..ldq-1 of each
 * row set to 0) in groups of `group` consecutive rows (group = m: the whole tensor, as DynamicQuantizeLinear), each
 * group with its own scale and zero point taken over its rows with valid[r] != 0 (valid NULL: every row; a group
 * without valid rows gets scale 1, zero point 0, as does a group of zeros, where ONNX Runtime would divide by
 * zero). Writes row_sums[m] (sum of each row of q), scale[m] and zero_point[m] (each row its group's). A row
 * holding a NaN or an infinity is left out of its group's range and gets scale NaN: tsr_cpu_qgemm_f32 writes its
 * output row as NaN (ONNX Runtime would instead fold a NaN into the zero point and let an infinity turn the whole
 * group's scale infinite). Threaded. */
TSR_API int tsr_cpu_quantize_u8(const float *x, int64_t m, int64_t k, int64_t ldx, int64_t group,
                                const uint8_t *valid, uint8_t *q, int64_t ldq, int32_t *row_sums, float *scale,
                                int32_t *zero_point);

/* out[i, j] = act(float(int32 product with both zero points removed) * (sx[i] * sw[j]) + bias[j]) + residual[i, j]
 * (see above); rows with sx[i] NaN are all NaN. q, row_sums, sx[m], zx[m]: tsr_cpu_quantize_u8's outputs (rows ldq apart), packed:
 * tsr_cpu_qgemm_pack_s8's, zw[n] int32 weight zero points (per column), sw[n] weight scales. bias [n] and residual
 * (rows ldr apart) may be NULL; the residual must not overlap out. Threaded on the library's pool. */
TSR_API int tsr_cpu_qgemm_f32(const uint8_t *q, int64_t ldq, const int32_t *row_sums, const float *sx,
                              const int32_t *zx, const void *packed, const int32_t *zw, const float *sw, int64_t m,
                              int64_t n, int64_t k, const float *bias, int act, const float *residual, int64_t ldr,
                              float *out, int64_t ldo);

#ifdef __cplusplus
}
#endif

#endif
