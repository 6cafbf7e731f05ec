package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/gemm.h}: the CPU backend's linear-layer GEMM on a prepacked
 * weight (panels of {@link #TSR_GEMM_NR} output columns) with a fused epilogue (+ bias, activation, + residual),
 * and the same epilogue on its own. Same conventions as {@link dev.tessera.bindings.TesseraNative}: raw host
 * addresses, status codes, arguments validated by the runtime ({@code dev.tessera.runtime.Ops#linear}) before
 * the call.
 */
@Platform(include = {"tessera/tessera.h", "tessera/gemm.h"}, link = "tessera")
public final class GemmNative {
    static {
        // libtessera itself is packaged once, beside TesseraNative: load it first so this JNI library
        // links against the already-loaded copy.
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    private GemmNative() {}

    /** Output columns per packed panel. */
    public static final int TSR_GEMM_NR = 32;

    /** Activation codes ({@code TSR_ACT_*}). */
    public static final int TSR_ACT_NONE = 0;
    public static final int TSR_ACT_GELU = 1;
    public static final int TSR_ACT_GELU_TANH = 2;
    public static final int TSR_ACT_SILU = 3;
    public static final int TSR_ACT_QUICK_GELU = 4;
    public static final int TSR_ACT_RELU = 5;

    /** Floats of the packed form of an [n, k] weight. */
    public static native long tsr_cpu_gemm_packed_floats(long n, long k);

    public static native int tsr_cpu_gemm_pack_f32(@Cast("const float*") long w, long strideN, long strideK, long n,
            long k, @Cast("float*") long packed);

    public static native int tsr_cpu_gemm_packed_f32(@Cast("const float*") long x, long lda,
            @Cast("const float*") long packed, long m, long n, long k, @Cast("const float*") long bias, int act,
            @Cast("const float*") long residual, long ldr, @Cast("float*") long out, long ldo);

    /** Packs W into {@link #tsr_cpu_gemm_packed_floats} bfloat16 elements, each rounded to nearest even. */
    public static native int tsr_cpu_gemm_pack_bf16(@Cast("const float*") long w, long strideN, long strideK, long n,
            long k, @Cast("uint16_t*") long packed);

    /** {@link #tsr_cpu_gemm_packed_f32} on a bfloat16 pack: the bits of the fp32 product on the rounded weight. */
    public static native int tsr_cpu_gemm_packed_bf16(@Cast("const float*") long x, long lda,
            @Cast("const uint16_t*") long packed, long m, long n, long k, @Cast("const float*") long bias, int act,
            @Cast("const float*") long residual, long ldr, @Cast("float*") long out, long ldo);

    /** Bytes of the int8 form of an [n, k] weight (the int8 panels, then the per-column scales). */
    public static native long tsr_cpu_gemm_packed_s8_bytes(long n, long k);

    /** Quantizes W per output column (symmetric int8, scale max|W[j, :]| / 127) into the int8 form. */
    public static native int tsr_cpu_gemm_pack_s8(@Cast("const float*") long w, long strideN, long strideK, long n,
            long k, @Cast("void*") long packed);

    /** act(s_j · (x · q_j) + bias_j) + residual on the int8 form: the fp32 product on q, scaled, then the epilogue. */
    public static native int tsr_cpu_gemm_packed_s8(@Cast("const float*") long x, long lda,
            @Cast("const void*") long packed, long m, long n, long k, @Cast("const float*") long bias, int act,
            @Cast("const float*") long residual, long ldr, @Cast("float*") long out, long ldo);

    public static native int tsr_cpu_linear_epilogue_f32(@Cast("float*") long y, long ldy, long m, long n,
            @Cast("const float*") long bias, int act, @Cast("const float*") long residual, long ldr);
}
