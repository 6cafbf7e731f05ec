package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/rbm.h}: the RBM kernels (Philox sampling, fused
 * bias + sigmoid + Bernoulli sample, Gaussian and replicated-softmax units, bias-gradient reductions,
 * momentum / decay update, free energy, squared error). Same conventions as
 * {@link dev.tessera.bindings.TesseraNative}: raw addresses ({@code long}), a {@code cudaStream_t} as
 * {@code long} for {@code tsr_cuda_*}, status codes to check with
 * {@link dev.tessera.bindings.NativeStatus#check}. Seeds and counter offsets are unsigned 64-bit values
 * passed as {@code long}. Only the runtime calls this class, after validating every argument.
 */
@Platform(include = {"tessera/tessera.h", "tessera/rbm.h"}, link = "tessera")
public final class RbmNative {
    static {
        // libtessera itself is packaged once, beside TesseraNative: load it first so this JNI library
        // links against the already-loaded copy.
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    private RbmNative() {}

    /** {@code TSR_RBM_BINARY}, {@code TSR_RBM_GAUSSIAN}, {@code TSR_RBM_SOFTMAX}. */
    public static final int BINARY = 0;
    public static final int GAUSSIAN = 1;
    public static final int SOFTMAX = 2;
    /** {@code TSR_RBM_MAX_TOTAL}: the largest row total of replicated-softmax units. */
    public static final int MAX_TOTAL = 1 << 24;

    // ---- CPU ----
    public static native int tsr_cpu_philox4x32_10(@Cast("const uint32_t*") int[] counter,
            @Cast("const uint32_t*") int[] key, @Cast("uint32_t*") int[] out);
    public static native int tsr_cpu_rbm_uniform(@Cast("uint64_t") long seed, @Cast("uint64_t") long offset,
            @Cast("float*") long out, long n);
    public static native int tsr_cpu_rbm_sigmoid_sample(@Cast("const float*") long pre,
            @Cast("const float*") long bias, @Cast("const float*") long biasScale, @Cast("const float*") long extra,
            @Cast("float*") long prob, @Cast("float*") long sample, long rows, long cols,
            @Cast("uint64_t") long seed, @Cast("uint64_t") long offset);
    public static native int tsr_cpu_rbm_gaussian_sample(@Cast("const float*") long pre,
            @Cast("const float*") long bias, @Cast("float*") long mean, @Cast("float*") long sample, long rows,
            long cols, @Cast("uint64_t") long seed, @Cast("uint64_t") long offset);
    public static native int tsr_cpu_rbm_softmax_sample(@Cast("const float*") long pre,
            @Cast("const float*") long bias, @Cast("const float*") long totals, @Cast("float*") long prob,
            @Cast("float*") long mean, @Cast("float*") long sample, @Cast("float*") long workspace, long rows,
            long cols, @Cast("uint64_t") long seed, @Cast("uint64_t") long offset);
    public static native int tsr_cpu_rbm_row_sums(@Cast("const float*") long x, @Cast("float*") long out, long rows,
            long cols);
    public static native int tsr_cpu_rbm_col_stats(@Cast("const float*") long pos, @Cast("const float*") long posScale,
            long posRows, float alphaPos, @Cast("const float*") long neg, @Cast("const float*") long negScale,
            long negRows, float alphaNeg, @Cast("float*") long out, long cols);
    public static native int tsr_cpu_rbm_update(@Cast("float*") long param, @Cast("float*") long velocity,
            @Cast("const float*") long grad, long n, float lr, float momentum, float decay);
    public static native int tsr_cpu_rbm_free_energy(int visibleType, @Cast("const float*") long v,
            @Cast("const float*") long pre, @Cast("const float*") long vbias, @Cast("const float*") long hbias,
            @Cast("const float*") long totals, @Cast("float*") long out, long rows, long nv, long nh);
    public static native int tsr_cpu_rbm_sq_error(@Cast("const float*") long a, @Cast("const float*") long b,
            @Cast("float*") long out, long rows, long cols);

    // ---- CUDA ----
    public static native int tsr_cuda_rbm_uniform(@Cast("uint64_t") long seed, @Cast("uint64_t") long offset,
            @Cast("float*") long out, long n, @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_sigmoid_sample(@Cast("const float*") long pre,
            @Cast("const float*") long bias, @Cast("const float*") long biasScale, @Cast("const float*") long extra,
            @Cast("float*") long prob, @Cast("float*") long sample, long rows, long cols,
            @Cast("uint64_t") long seed, @Cast("uint64_t") long offset, @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_gaussian_sample(@Cast("const float*") long pre,
            @Cast("const float*") long bias, @Cast("float*") long mean, @Cast("float*") long sample, long rows,
            long cols, @Cast("uint64_t") long seed, @Cast("uint64_t") long offset, @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_softmax_sample(@Cast("const float*") long pre,
            @Cast("const float*") long bias, @Cast("const float*") long totals, @Cast("float*") long prob,
            @Cast("float*") long mean, @Cast("float*") long sample, @Cast("float*") long workspace, long rows,
            long cols, @Cast("uint64_t") long seed, @Cast("uint64_t") long offset, @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_row_sums(@Cast("const float*") long x, @Cast("float*") long out, long rows,
            long cols, @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_col_stats(@Cast("const float*") long pos,
            @Cast("const float*") long posScale, long posRows, float alphaPos, @Cast("const float*") long neg,
            @Cast("const float*") long negScale, long negRows, float alphaNeg, @Cast("float*") long out, long cols,
            @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_update(@Cast("float*") long param, @Cast("float*") long velocity,
            @Cast("const float*") long grad, long n, float lr, float momentum, float decay,
            @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_free_energy(int visibleType, @Cast("const float*") long v,
            @Cast("const float*") long pre, @Cast("const float*") long vbias, @Cast("const float*") long hbias,
            @Cast("const float*") long totals, @Cast("float*") long out, long rows, long nv, long nh,
            @Cast("void*") long stream);
    public static native int tsr_cuda_rbm_sq_error(@Cast("const float*") long a, @Cast("const float*") long b,
            @Cast("float*") long out, long rows, long cols, @Cast("void*") long stream);
}
