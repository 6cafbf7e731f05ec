// 16 x 16 float transpose through AVX-512 registers (unpack / shuffle network), shared by the kernels that pack
// operands transposed (attention's K^T tile, the GEMM's micro-panels of A). Only for translation units compiled
// with AVX-512 (the avx512 copy of src/cpu/kernels/).
#ifndef TESSERA_SRC_CPU_KERNELS_TRANSPOSE16_H
#define TESSERA_SRC_CPU_KERNELS_TRANSPOSE16_H

#if defined(__AVX512F__)
// GCC 12 reports the _mm512_undefined_* inside its own intrinsic headers as maybe-uninitialized (a known false
// positive, GCC PR 105593); the pragma must precede the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

namespace tsr {
namespace TSR_ISA_NS {

// r[i] = row i of a 16 x 16 block in; on return r[c] = column c (the transpose), in r's order.
static inline void transpose16_regs(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), e = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, e));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, e));
  }
  // r[4 g + q] holds, in its 128-bit lane L, column 4 L + q of rows 4 g .. 4 g + 3
  for (int q = 0; q < 4; ++q) {
    t[q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
    t[4 + q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd);
    t[8 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
    t[12 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0x88);
    r[8 + q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0xdd);
    r[4 + q] = _mm512_shuffle_f32x4(t[4 + q], t[12 + q], 0x88);
    r[12 + q] = _mm512_shuffle_f32x4(t[4 + q], t[12 + q], 0xdd);
  }
}

}  // namespace TSR_ISA_NS
}  // namespace tsr

#endif
#endif
