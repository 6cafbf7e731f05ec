package dev.tessera.bindings.blas;

import static org.bytedeco.openblas.global.openblas.*;

import dev.tessera.bindings.Addresses;
import org.bytedeco.javacpp.Loader;

/** Typed facade over the bytedeco OpenBLAS preset for row-major single-precision GEMM. */
public final class OpenBlas {
    private static volatile boolean loaded;
    /** Last value given to {@link #setThreads}; 0 while OpenBLAS runs on its default. */
    private static volatile int requested;

    /** null while not probed; "" when OpenBLAS loads; else why it does not. */
    private static volatile String unavailable;

    private OpenBlas() {}

    /**
     * Whether the bytedeco OpenBLAS preset is on the class path and its native library loads here. Probed once;
     * never throws. Callers without it (a slimmed-down deployment, the GPU bundle) fall back to Tessera's own GEMM.
     */
    public static boolean available() {
        String u = unavailable;
        if (u == null) {
            synchronized (OpenBlas.class) {
                if (unavailable == null) {
                    try {
                        load();
                        unavailable = "";
                    } catch (LinkageError | RuntimeException e) {
                        unavailable = e.getClass().getSimpleName() + ": " + e.getMessage();
                    }
                }
                u = unavailable;
            }
        }
        return u.isEmpty();
    }

    /** Why {@link #available()} is false ("" when it is true). */
    public static String unavailableReason() {
        available();
        return unavailable;
    }

    private static void load() {
        if (!loaded) {
            synchronized (OpenBlas.class) {
                if (!loaded) {
                    Loader.load(org.bytedeco.openblas.global.openblas.class);
                    loaded = true;
                }
            }
        }
    }

    /**
     * Row-major {@code C = alpha op(A) op(B) + beta C}: op(A) m×k, op(B) k×n, C m×n; lda/ldb/ldc are the
     * row strides of the stored matrices. Arguments must have been validated by the caller.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
            long b, int ldb, float beta, long c, int ldc) {
        load();
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, Addresses.floats(a), lda, Addresses.floats(b), ldb, beta, Addresses.floats(c), ldc);
    }

    /** Threads OpenBLAS uses: the value set with {@link #setThreads}, else its default (one per core). */
    public static int threads() {
        load();
        int n = blas_get_num_threads();
        return n > 0 ? n : Runtime.getRuntime().availableProcessors();
    }

    /** Sets OpenBLAS's thread count for the whole process ({@code openblas_set_num_threads}); n >= 1. */
    public static void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("OpenBLAS threads must be >= 1, got " + n);
        }
        load();
        blas_set_num_threads(n);
        requested = n;
    }

    /** The value last given to {@link #setThreads} in this process, 0 if never called (OpenBLAS's default). */
    public static int requestedThreads() {
        return requested;
    }

    /** Preset version of the bundled OpenBLAS, as pinned in the parent POM. */
    public static String version() {
        Package p = org.bytedeco.openblas.global.openblas.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return v == null ? "unknown" : v;
    }
}
