// Per-ISA table of the patch-embedding CPU kernels (tessera/patch_embed.h). Compiled once per ISA
// with the rest of src/cpu/kernels/ (TSR_ISA_NS = isa_scalar / isa_avx2 / isa_avx512); the entry
// points in src/cpu/patch_embed.cpp pick one table and split the work into row ranges over the
// thread pool. Kernels assume validated arguments and never start threads.
#ifndef TESSERA_SRC_CPU_KERNELS_PATCH_EMBED_TABLE_H
#define TESSERA_SRC_CPU_KERNELS_PATCH_EMBED_TABLE_H

#include <cstdint>

namespace tsr {

struct PatchEmbedKernels {
  const char *name;  // "scalar", "avx2", "avx512"
  // 2-D im2col for the patch rows [r0, r1) of the flattened (n, py) index, py < H / ph: writes the
  // cols rows of every patch (py, px) of those image strips, and the `lead` zero rows of image n
  // with its strip py = 0. x / cols point at the whole tensors.
  void (*patchify_rows)(const float *x, float *cols, int64_t c, int64_t h, int64_t w, int64_t ph, int64_t pw,
                        int64_t lead, int64_t r0, int64_t r1);
  // 1-D im2col for the output rows [r0, r1) of the flattened (n, t_out) index.
  void (*im2col_1d_rows)(const float *x, float *cols, int64_t c, int64_t t, int64_t k, int64_t stride,
                         int64_t pad, int64_t t_out, int64_t r0, int64_t r1);
  // Finish for rows [r0, r1) of the flattened (n, r) index, r < l + has_cls (see patch_embed.h).
  void (*finish_rows)(float *out, const float *bias, const float *cls, const float *pos, int64_t l, int64_t d,
                      int64_t r0, int64_t r1);
  // out[n, dd, :] += bias[dd] for rows [r0, r1) of the flattened (n, dd) index, rows of t elements.
  void (*bias_cf_rows)(float *out, const float *bias, int64_t d, int64_t t, int64_t r0, int64_t r1);
};

namespace isa_scalar {
const PatchEmbedKernels &patch_embed_kernels();
}
#if defined(__x86_64__) || defined(_M_X64)
namespace isa_avx2 {
const PatchEmbedKernels &patch_embed_kernels();
}
namespace isa_avx512 {
const PatchEmbedKernels &patch_embed_kernels();
}
#endif

}  // namespace tsr

#endif
