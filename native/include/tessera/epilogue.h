/*
 * The epilogue of a linear layer on CUDA, fused into one pass after the GEMM (see tessera.h for the shared
 * conventions: the caller validates, raw device pointers, status codes):
 *
 *   y[r, c] = act(y[r, c] + bias[c]) + residual[r, c]      for r < rows, c < cols, in place
 *
 * y        [rows, cols] contiguous, TSR_F32 / TSR_F16 / TSR_BF16 (`dtype`), the GEMM's output
 * bias     [cols] or NULL;  residual [rows, cols] contiguous or NULL (may be y itself; otherwise it must
 *          not overlap y); both of `dtype`
 * act      one of TSR_ACT_* (gemm.h): the same formulas as the CPU epilogue (erf GELU, tanh GELU, SiLU,
 *          quick GELU, ReLU with NaN propagating)
 * Computed in fp32 with one rounding to `dtype` at the end; 16-byte vectors where cols and the pointers
 * allow. Asynchronous on `stream` (a cudaStream_t; NULL = legacy default stream); never synchronises.
 * rows == 0 or cols == 0 is a no-op.
 */
#ifndef TESSERA_EPILOGUE_H
#define TESSERA_EPILOGUE_H

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

TSR_API int tsr_cuda_linear_epilogue(int dtype, void *y, const void *bias, int act, const void *residual,
                                     int64_t rows, int64_t cols, void *stream);

#ifdef __cplusplus
}
#endif

#endif
