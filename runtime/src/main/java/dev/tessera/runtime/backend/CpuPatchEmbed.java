package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.PatchEmbedNative.*;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Tensor;

/**
 * CPU kernels of the patch-embedding family ({@code tessera/patch_embed.h}), fp32 only: the runtime's
 * {@link dev.tessera.runtime.PatchEmbedding} computes F16/BF16 on the CPU by converting to F32 first.
 * Arguments have been validated by the caller; this class only checks the dtype and maps shapes.
 */
final class CpuPatchEmbed {
    private CpuPatchEmbed() {}

    private static long addr(Tensor t) {
        return t == null ? 0 : t.address();
    }

    private static void f32(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32) {
                throw new IllegalArgumentException(op + " on the CPU needs F32 tensors, got " + t.describe());
            }
        }
    }

    static void patchify(Tensor x, int ph, int pw, Tensor cols) {
        f32("patchify", x, cols);
        long lead = cols.dim(1) - (x.dim(2) / ph) * (x.dim(3) / pw);
        NativeStatus.check(tsr_cpu_patchify_f32(x.address(), cols.address(), x.dim(0), x.dim(1), x.dim(2), x.dim(3),
                ph, pw, lead), "tsr_cpu_patchify_f32");
    }

    static void im2col1d(Tensor x, int kernel, int stride, int padding, Tensor cols) {
        f32("im2col1d", x, cols);
        NativeStatus.check(tsr_cpu_im2col_1d_f32(x.address(), cols.address(), x.dim(0), x.dim(1), x.dim(2), kernel,
                stride, padding), "tsr_cpu_im2col_1d_f32");
    }

    static void finish(Tensor out, Tensor bias, Tensor cls, Tensor pos) {
        f32("patchFinish", out, bias, cls, pos);
        long l = out.dim(1) - (cls == null ? 0 : 1);
        NativeStatus.check(tsr_cpu_patch_finish_f32(out.address(), addr(bias), addr(cls), addr(pos), out.dim(0), l,
                out.dim(2)), "tsr_cpu_patch_finish_f32");
    }

    static void biasChannelsFirst(Tensor out, Tensor bias) {
        f32("biasChannelsFirst", out, bias);
        NativeStatus.check(tsr_cpu_bias_channels_first_f32(out.address(), bias.address(), out.dim(0), out.dim(1),
                out.dim(2)), "tsr_cpu_bias_channels_first_f32");
    }
}
