package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/patch_embed.h}: 2-D patch gather and 1-D im2col, the
 * fused finish (bias, class token, position embeddings) and the channels-first bias, on the CPU (host
 * addresses, fp32) and on CUDA (device addresses, a dtype code and a {@code cudaStream_t}). Same conventions
 * as {@link dev.tessera.bindings.TesseraNative}: raw addresses, status codes, arguments validated by the
 * runtime ({@code dev.tessera.runtime.PatchEmbedding}) before the call.
 */
@Platform(include = {"tessera/tessera.h", "tessera/patch_embed.h"}, link = "tessera")
public final class PatchEmbedNative {
    static {
        // libtessera itself is packaged once, beside TesseraNative: load it first so this JNI library
        // links against the already-loaded copy.
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    private PatchEmbedNative() {}

    // ---- CPU ----
    public static native int tsr_cpu_patchify_f32(@Cast("const float*") long x, @Cast("float*") long cols, long n,
            long c, long h, long w, long ph, long pw, long lead);

    public static native int tsr_cpu_im2col_1d_f32(@Cast("const float*") long x, @Cast("float*") long cols, long n,
            long c, long t, long k, long stride, long pad);

    public static native int tsr_cpu_patch_finish_f32(@Cast("float*") long out, @Cast("const float*") long bias,
            @Cast("const float*") long cls, @Cast("const float*") long pos, long n, long l, long d);

    public static native int tsr_cpu_bias_channels_first_f32(@Cast("float*") long out,
            @Cast("const float*") long bias, long n, long d, long t);

    // ---- CUDA ----
    public static native int tsr_cuda_patchify(int dtype, @Cast("const void*") long x, @Cast("void*") long cols,
            long n, long c, long h, long w, long ph, long pw, long lead, @Cast("void*") long stream);

    public static native int tsr_cuda_im2col_1d(int dtype, @Cast("const void*") long x, @Cast("void*") long cols,
            long n, long c, long t, long k, long stride, long pad, @Cast("void*") long stream);

    public static native int tsr_cuda_patch_finish(int dtype, @Cast("void*") long out, @Cast("const void*") long bias,
            @Cast("const void*") long cls, @Cast("const void*") long pos, long n, long l, long d,
            @Cast("void*") long stream);

    public static native int tsr_cuda_bias_channels_first(int dtype, @Cast("void*") long out,
            @Cast("const void*") long bias, long n, long d, long t, @Cast("void*") long stream);
}
