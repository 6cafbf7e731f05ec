package dev.tessera.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend's GEMM on sizes large enough to be split over threads (by rows, by columns for small M, by
 * batch items; see {@link CpuBackend.BlasSplit}), with transposed operands, padded leading dimensions and beta != 0,
 * against a float64 triple loop on random data; and the same cases on {@link CpuBackend#gemmNative}, the path taken
 * without OpenBLAS (alpha 1 with beta 0 and 1 go straight into C, other alpha/beta through a temporary).
 */
class CpuGemmSplitTest {
    static Stream<Arguments> cases() {
        // m, n, k, transA, transB, batch, pad, alpha, beta
        return Stream.of(
                Arguments.of(257, 150, 70, false, false, 1, 0, 0.75f, 0.0),
                Arguments.of(257, 150, 70, true, false, 1, 3, 0.75f, 0.5),
                Arguments.of(130, 97, 200, false, true, 1, 5, 0.75f, 1.0),
                Arguments.of(129, 131, 90, true, true, 2, 1, 0.75f, -0.25),
                Arguments.of(1, 3000, 700, false, false, 1, 0, 0.75f, 0.0),
                Arguments.of(3, 1000, 1000, false, true, 1, 2, 0.75f, 0.5),
                Arguments.of(4, 777, 1100, true, false, 1, 7, 0.75f, 1.0),
                Arguments.of(40, 40, 400, false, false, 5, 0, 0.75f, 0.0),
                Arguments.of(33, 47, 300, true, true, 7, 4, 0.75f, 0.75),
                Arguments.of(8, 16, 8, false, false, 1, 0, 0.75f, 0.0),
                Arguments.of(61, 45, 33, false, true, 2, 3, 1f, 0.0),
                Arguments.of(61, 45, 33, true, false, 1, 2, 1f, 1.0),
                Arguments.of(5, 9, 0, false, false, 1, 1, 1f, 0.5),
                Arguments.of(33, 20, 17, true, false, 2, 0, 0.5f, 0.25),  // C dense: one native call per operand
                // RBM-gradient-like products big enough for the native GEMM through cpu.gemm (Aᵀ, accumulate)
                Arguments.of(200, 300, 100, true, false, 1, 0, 1f, 1.0),
                Arguments.of(160, 150, 100, true, false, 1, 2, -0.01f, 1.0),
                // alpha 1, beta 1 with k over one GEMM slice (1024): C is the GEMM's residual and its output at once
                // (the first slice overwrote it before session 27)
                Arguments.of(40, 50, 1500, false, false, 1, 0, 1f, 1.0),
                Arguments.of(70, 90, 2100, true, false, 1, 3, 1f, 1.0));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesFloat64Reference(int m, int n, int k, boolean transA, boolean transB, int batch, int pad, float alpha,
            double beta) {
        Backend cpu = Backends.get(Device.CPU);
        check(m, n, k, transA, transB, batch, pad, alpha, beta, (ta, lda, strideA, tb, ldb, strideB, tc, ldc, strideC)
                -> cpu.gemm(transA, transB, m, n, k, alpha, ta, lda, strideA, tb, ldb, strideB, (float) beta, tc, ldc,
                        strideC, batch, Backend.MatmulPrecision.FP32));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void nativeGemmWithoutOpenBlasMatchesFloat64Reference(int m, int n, int k, boolean transA, boolean transB,
            int batch, int pad, float alpha, double beta) {
        check(m, n, k, transA, transB, batch, pad, alpha, beta, (ta, lda, strideA, tb, ldb, strideB, tc, ldc, strideC)
                -> {
            for (int t = 0; t < batch; t++) {
                CpuBackend.gemmNative(transA, transB, m, n, k, alpha, ta.address() + 4L * t * strideA, lda,
                        tb.address() + 4L * t * strideB, ldb, (float) beta, tc.address() + 4L * t * strideC, ldc);
            }
        });
    }

    /** As BLAS: with beta 0, C is not read (NaN there does not reach the result); alpha 0 leaves beta·C. */
    @ParameterizedTest
    @MethodSource("cases")
    void nativeGemmDoesNotReadCWhenBetaIsZero(int m, int n, int k, boolean transA, boolean transB, int batch, int pad,
            float alpha, double beta) {
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        Random rnd = new Random(7L * m + n);
        float[] a = random(rnd, Math.max(1, aRows * lda));
        float[] b = random(rnd, Math.max(1, bRows * ldb));
        float[] c = new float[m * ldc];
        java.util.Arrays.fill(c, Float.NaN);
        try (Tensor ta = Tensor.of(a, Device.CPU, a.length); Tensor tb = Tensor.of(b, Device.CPU, b.length);
                Tensor tc = Tensor.of(c, Device.CPU, c.length)) {
            CpuBackend.gemmNative(transA, transB, m, n, k, alpha, ta.address(), lda, tb.address(), ldb, 0f,
                    tc.address(), ldc);
            float[] out = tc.toFloatArray();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    assertTrue(!Float.isNaN(out[i * ldc + j]), "NaN of C read with beta 0 at " + i + "," + j);
                }
            }
            java.util.Arrays.fill(c, 2f);
            try (Tensor tc2 = Tensor.of(c, Device.CPU, c.length)) {
                CpuBackend.gemmNative(transA, transB, m, n, k, 0f, ta.address(), lda, tb.address(), ldb, -0.5f,
                        tc2.address(), ldc);
                float[] o2 = tc2.toFloatArray();
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < ldc && i * ldc + j < o2.length; j++) {
                        assertTrue(o2[i * ldc + j] == (j < n ? -1f : 2f), "alpha 0: beta*C in C, padding untouched");
                    }
                }
            }
        }
    }

    interface Gemm {
        void run(Tensor a, int lda, long strideA, Tensor b, int ldb, long strideB, Tensor c, int ldc, long strideC);
    }

    private static void check(int m, int n, int k, boolean transA, boolean transB, int batch, int pad, float alpha,
            double beta, Gemm gemm) {
        Random rnd = new Random(31L * m + 17L * n + k + batch);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        long strideA = (long) aRows * lda + pad, strideB = (long) bRows * ldb, strideC = (long) m * ldc + 2L * pad;
        float[] a = random(rnd, (int) (strideA * batch));
        float[] b = random(rnd, (int) (strideB * batch));
        float[] c0 = random(rnd, (int) (strideC * batch));
        float[] out;
        try (Tensor ta = Tensor.of(a, Device.CPU, a.length);
                Tensor tb = Tensor.of(b, Device.CPU, b.length);
                Tensor tc = Tensor.of(c0, Device.CPU, c0.length)) {
            gemm.run(ta, lda, strideA, tb, ldb, strideB, tc, ldc, strideC);
            out = tc.toFloatArray();
        }
        double num = 0, den = 0;
        for (int t = 0; t < batch; t++) {
            long oa = t * strideA, ob = t * strideB, oc = t * strideC;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double x = a[(int) (oa + (transA ? (long) p * lda + i : (long) i * lda + p))];
                        double y = b[(int) (ob + (transB ? (long) j * ldb + p : (long) p * ldb + j))];
                        s += x * y;
                    }
                    int ci = (int) (oc + (long) i * ldc + j);
                    double ref = alpha * s + (beta == 0 ? 0 : beta * c0[ci]);
                    double d = out[ci] - ref;
                    num += d * d;
                    den += ref * ref;
                }
                for (int j = n; j < ldc && oc + (long) i * ldc + j < (t + 1) * strideC; j++) {  // padding untouched
                    int ci = (int) (oc + (long) i * ldc + j);
                    assertTrue(Float.compare(out[ci], c0[ci]) == 0, "padding of C written at batch " + t + " row " + i);
                }
            }
        }
        double rel = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        assertTrue(rel < 1e-5, "rel err " + rel + " for m=" + m + " n=" + n + " k=" + k);
    }

    private static float[] random(Random rnd, int count) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) (rnd.nextGaussian());
        }
        return x;
    }
}
