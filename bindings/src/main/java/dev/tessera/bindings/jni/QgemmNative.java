package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/qgemm.h}: the CPU backend's INT8 linear layer (ONNX Runtime's
 * dynamic quantization arithmetic: per-tensor uint8 inputs, per-column int8 weights, exact int32 products). Same
 * conventions as {@link GemmNative}: raw host addresses, status codes, arguments validated by the runtime
 * ({@code dev.tessera.runtime.Int8Linear}) before the call.
 */
@Platform(include = {"tessera/tessera.h", "tessera/gemm.h", "tessera/qgemm.h"}, link = "tessera")
public final class QgemmNative {
    static {
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    private QgemmNative() {}

    /** Output columns per packed panel. */
    public static final int TSR_QGEMM_NR = 32;

    /** 1 when the AVX-512 VNNI path runs on this CPU. */
    public static native int tsr_cpu_qgemm_vnni();

    public static native long tsr_cpu_qgemm_packed_bytes(long n, long k);

    public static native int tsr_cpu_qgemm_pack_s8(@Cast("const int8_t*") long w, long strideN, long strideK, long n,
            long k, @Cast("void*") long packed);

    public static native int tsr_cpu_quantize_u8(@Cast("const float*") long x, long m, long k, long ldx, long group,
            @Cast("const uint8_t*") long valid, @Cast("uint8_t*") long q, long ldq, @Cast("int32_t*") long rowSums,
            @Cast("float*") long scale, @Cast("int32_t*") long zeroPoint);

    public static native int tsr_cpu_qgemm_f32(@Cast("const uint8_t*") long q, long ldq,
            @Cast("const int32_t*") long rowSums, @Cast("const float*") long sx, @Cast("const int32_t*") long zx,
            @Cast("const void*") long packed, @Cast("const int32_t*") long zw, @Cast("const float*") long sw, long m,
            long n, long k, @Cast("const float*") long bias, int act, @Cast("const float*") long residual, long ldr,
            @Cast("float*") long out, long ldo);
}
