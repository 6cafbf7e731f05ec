package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.PatchEmbedNative.*;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.runtime.Tensor;

/**
 * CUDA kernels of the patch-embedding family ({@code tessera/patch_embed.h}) on the backend's stream:
 * F32, F16, BF16 storage, fp32 arithmetic, asynchronous. Arguments have been validated by the caller
 * ({@link dev.tessera.runtime.PatchEmbedding}).
 */
final class CudaPatchEmbed {
    private CudaPatchEmbed() {}

    private static long addr(Tensor t) {
        return t == null ? 0 : t.address();
    }

    static void patchify(Tensor x, int ph, int pw, Tensor cols, long stream) {
        long lead = cols.dim(1) - (x.dim(2) / ph) * (x.dim(3) / pw);
        NativeStatus.check(tsr_cuda_patchify(x.dtype().code(), x.address(), cols.address(), x.dim(0), x.dim(1),
                x.dim(2), x.dim(3), ph, pw, lead, stream), "tsr_cuda_patchify");
    }

    static void im2col1d(Tensor x, int kernel, int stride, int padding, Tensor cols, long stream) {
        NativeStatus.check(tsr_cuda_im2col_1d(x.dtype().code(), x.address(), cols.address(), x.dim(0), x.dim(1),
                x.dim(2), kernel, stride, padding, stream), "tsr_cuda_im2col_1d");
    }

    static void finish(Tensor out, Tensor bias, Tensor cls, Tensor pos, long stream) {
        long l = out.dim(1) - (cls == null ? 0 : 1);
        NativeStatus.check(tsr_cuda_patch_finish(out.dtype().code(), out.address(), addr(bias), addr(cls), addr(pos),
                out.dim(0), l, out.dim(2), stream), "tsr_cuda_patch_finish");
    }

    static void biasChannelsFirst(Tensor out, Tensor bias, long stream) {
        NativeStatus.check(tsr_cuda_bias_channels_first(out.dtype().code(), out.address(), bias.address(), out.dim(0),
                out.dim(1), out.dim(2), stream), "tsr_cuda_bias_channels_first");
    }
}
