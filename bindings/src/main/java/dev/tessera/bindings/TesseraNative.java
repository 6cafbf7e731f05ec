package dev.tessera.bindings;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of libtessera's C API (the headers in {@code native/include/tessera/}); JavaCPP generates and
 * compiles the JNI for this class during the build and packages it with {@code libtessera.so}.
 *
 * <p>Pointers cross as raw addresses ({@code long}): host addresses for {@code tsr_cpu_*}, device
 * addresses and a {@code cudaStream_t} for {@code tsr_cuda_*}. Nothing above the bindings layer calls
 * this class: every argument must have been validated by the runtime before the call (see
 * {@code dev.tessera.runtime}). Each call returns a status code; use {@link NativeStatus#check}.
 */
@Platform(include = {"tessera/tessera.h", "tessera/core.h"}, link = "tessera")
public final class TesseraNative {
    static {
        Loader.load();
    }

    private TesseraNative() {}

    // ---- tessera.h ----
    public static native @Cast("const char*") org.bytedeco.javacpp.BytePointer tsr_version();
    public static native @Cast("const char*") org.bytedeco.javacpp.BytePointer tsr_cpu_simd();
    public static native int tsr_cpu_threads();
    public static native void tsr_cpu_set_threads(int n);
    public static native int tsr_cuda_compiled();
    public static native @Cast("const char*") org.bytedeco.javacpp.BytePointer tsr_cuda_archs();
    public static native @Cast("const char*") org.bytedeco.javacpp.BytePointer tsr_last_error();
    public static native int tsr_noop(int x);
    public static native int tsr_call_int_int(@Cast("void*") long fn, int arg);
    public static native @Cast("void*") long tsr_host_alloc(long bytes);
    public static native void tsr_host_free(@Cast("void*") long p);

    // ---- core.h, CPU ----
    public static native int tsr_cpu_binary_f32(int op, @Cast("const float*") long a, @Cast("const float*") long b,
            @Cast("float*") long out, long n);
    public static native int tsr_cpu_binary_row_f32(int op, @Cast("const float*") long x,
            @Cast("const float*") long row, @Cast("float*") long out, long rows, long cols);
    public static native int tsr_cpu_affine_f32(@Cast("const float*") long x, float alpha, float beta,
            @Cast("float*") long out, long n);
    public static native int tsr_cpu_layer_norm_f32(@Cast("const float*") long x, @Cast("const float*") long gamma,
            @Cast("const float*") long beta, @Cast("float*") long out, long rows, long cols, float eps);
    public static native int tsr_cpu_rms_norm_f32(@Cast("const float*") long x, @Cast("const float*") long gamma,
            @Cast("float*") long out, long rows, long cols, float eps);
    public static native int tsr_cpu_softmax_f32(@Cast("const float*") long x, @Cast("float*") long out, long rows,
            long cols, long causalQ);
    public static native int tsr_cpu_gelu_f32(@Cast("const float*") long x, @Cast("float*") long out, long n,
            int tanhApprox);
    public static native int tsr_cpu_silu_f32(@Cast("const float*") long x, @Cast("float*") long out, long n);
    public static native int tsr_cpu_embedding_f32(@Cast("const void*") long ids, int idsDtype,
            @Cast("const float*") long table, @Cast("float*") long out, long nIds, long vocab, long dim,
            @Cast("int64_t*") long[] badPos);
    public static native int tsr_cpu_transpose(@Cast("const void*") long x, @Cast("void*") long out, long batch,
            long rows, long cols, int elemSize);
    public static native int tsr_cpu_convert(@Cast("const void*") long x, int srcDtype, @Cast("void*") long out,
            int dstDtype, long n);
    public static native int tsr_cpu_strided_copy(@Cast("const void*") long src, @Cast("void*") long dst, int ndim,
            @Cast("const int64_t*") long[] shape, @Cast("const int64_t*") long[] srcStrides, int elemSize);
    public static native int tsr_cpu_copy_strided(@Cast("const void*") long src,
            @Cast("const int64_t*") long[] srcStrides, @Cast("void*") long dst,
            @Cast("const int64_t*") long[] dstStrides, int ndim, @Cast("const int64_t*") long[] shape,
            int elemSize);
    public static native int tsr_cpu_binary_strided_f32(int op, @Cast("const float*") long a,
            @Cast("const int64_t*") long[] aStrides, @Cast("const float*") long b,
            @Cast("const int64_t*") long[] bStrides, @Cast("float*") long out, int ndim,
            @Cast("const int64_t*") long[] shape);
    public static native int tsr_cpu_unary_f32(int op, @Cast("const float*") long x, @Cast("float*") long out,
            long n);
    public static native int tsr_cpu_rope_f32(@Cast("const float*") long x, long xSb, long xSh, long xSs,
            @Cast("const float*") long cos, @Cast("const float*") long sin, long csSb, @Cast("float*") long out,
            long batch, long heads, long seq, long dim);
    public static native int tsr_cpu_log_softmax_f32(@Cast("const float*") long x, @Cast("float*") long out,
            long rows, long cols);
    public static native int tsr_cpu_sum_rows_f32(@Cast("const float*") long x, @Cast("float*") long out, long rows,
            long cols, float scale);
    public static native int tsr_cpu_argmax_rows_f32(@Cast("const float*") long x, @Cast("int32_t*") long out,
            long rows, long cols);

    // ---- core.h, CUDA ----
    public static native int tsr_cuda_set_device(int device);
    public static native int tsr_cuda_binary(int op, int dtype, @Cast("const void*") long a,
            @Cast("const void*") long b, @Cast("void*") long out, long n, @Cast("void*") long stream);
    public static native int tsr_cuda_binary_row(int op, int dtype, @Cast("const void*") long x,
            @Cast("const void*") long row, @Cast("void*") long out, long rows, long cols,
            @Cast("void*") long stream);
    public static native int tsr_cuda_affine(int dtype, @Cast("const void*") long x, float alpha, float beta,
            @Cast("void*") long out, long n, @Cast("void*") long stream);
    public static native int tsr_cuda_layer_norm(int dtype, @Cast("const void*") long x,
            @Cast("const void*") long gamma, @Cast("const void*") long beta, @Cast("void*") long out, long rows,
            long cols, float eps, @Cast("void*") long stream);
    public static native int tsr_cuda_rms_norm(int dtype, @Cast("const void*") long x,
            @Cast("const void*") long gamma, @Cast("void*") long out, long rows, long cols, float eps,
            @Cast("void*") long stream);
    public static native int tsr_cuda_softmax(int dtype, @Cast("const void*") long x, @Cast("void*") long out,
            long rows, long cols, long causalQ, @Cast("void*") long stream);
    public static native int tsr_cuda_gelu(int dtype, @Cast("const void*") long x, @Cast("void*") long out, long n,
            int tanhApprox, @Cast("void*") long stream);
    public static native int tsr_cuda_silu(int dtype, @Cast("const void*") long x, @Cast("void*") long out, long n,
            @Cast("void*") long stream);
    public static native int tsr_cuda_embedding(int dtype, @Cast("const void*") long ids, int idsDtype,
            @Cast("const void*") long table, @Cast("void*") long out, long nIds, long vocab, long dim,
            @Cast("int64_t*") long badPosDev, @Cast("void*") long stream);
    public static native int tsr_cuda_transpose(@Cast("const void*") long x, @Cast("void*") long out, long batch,
            long rows, long cols, int elemSize, @Cast("void*") long stream);
    public static native int tsr_cuda_convert(@Cast("const void*") long x, int srcDtype, @Cast("void*") long out,
            int dstDtype, long n, @Cast("void*") long stream);
    public static native int tsr_cuda_strided_copy(@Cast("const void*") long src, @Cast("void*") long dst,
            int ndim, @Cast("const int64_t*") long[] shape, @Cast("const int64_t*") long[] srcStrides,
            int elemSize, @Cast("void*") long stream);
    public static native int tsr_cuda_copy_strided(@Cast("const void*") long src,
            @Cast("const int64_t*") long[] srcStrides, @Cast("void*") long dst,
            @Cast("const int64_t*") long[] dstStrides, int ndim, @Cast("const int64_t*") long[] shape,
            int elemSize, @Cast("void*") long stream);
    public static native int tsr_cuda_binary_strided(int op, int dtype, @Cast("const void*") long a,
            @Cast("const int64_t*") long[] aStrides, @Cast("const void*") long b,
            @Cast("const int64_t*") long[] bStrides, @Cast("void*") long out, int ndim,
            @Cast("const int64_t*") long[] shape, @Cast("void*") long stream);
    public static native int tsr_cuda_unary(int op, int dtype, @Cast("const void*") long x, @Cast("void*") long out,
            long n, @Cast("void*") long stream);
    public static native int tsr_cuda_rope(int dtype, @Cast("const void*") long x, long xSb, long xSh, long xSs,
            @Cast("const float*") long cos, @Cast("const float*") long sin, long csSb, @Cast("void*") long out,
            long batch, long heads, long seq, long dim, @Cast("void*") long stream);
    public static native int tsr_cuda_log_softmax(int dtype, @Cast("const void*") long x, @Cast("void*") long out,
            long rows, long cols, @Cast("void*") long stream);
    public static native int tsr_cuda_sum_rows(int dtype, @Cast("const void*") long x, @Cast("void*") long out,
            long rows, long cols, float scale, @Cast("void*") long stream);
    public static native int tsr_cuda_argmax_rows(int dtype, @Cast("const void*") long x,
            @Cast("int32_t*") long out, long rows, long cols, @Cast("void*") long stream);
}
