package dev.tessera.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CPU backend's GEMM on sizes large enough to be split over threads (by rows, by columns for small M, by
 * batch items; see {@link CpuBackend.BlasSplit}), with transposed operands, padded leading dimensions and beta != 0,
 * against a float64 triple loop on random data.
 */
class CpuGemmSplitTest {
    @ParameterizedTest
    @CsvSource({
        // m, n, k, transA, transB, batch, pad, beta
        "257, 150, 70, false, false, 1, 0, 0",
        "257, 150, 70, true, false, 1, 3, 0.5",
        "130, 97, 200, false, true, 1, 5, 1",
        "129, 131, 90, true, true, 2, 1, -0.25",
        "1, 3000, 700, false, false, 1, 0, 0",
        "3, 1000, 1000, false, true, 1, 2, 0.5",
        "4, 777, 1100, true, false, 1, 7, 1",
        "40, 40, 400, false, false, 5, 0, 0",
        "33, 47, 300, true, true, 7, 4, 0.75",
        "8, 16, 8, false, false, 1, 0, 0",
    })
    void matchesFloat64Reference(int m, int n, int k, boolean transA, boolean transB, int batch, int pad,
            double beta) {
        Backend cpu = Backends.get(Device.CPU);
        Random rnd = new Random(31L * m + 17L * n + k + batch);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        long strideA = (long) aRows * lda + pad, strideB = (long) bRows * ldb, strideC = (long) m * ldc + 2L * pad;
        float[] a = random(rnd, (int) (strideA * batch));
        float[] b = random(rnd, (int) (strideB * batch));
        float[] c0 = random(rnd, (int) (strideC * batch));
        float alpha = 0.75f;
        float[] out;
        try (Tensor ta = Tensor.of(a, Device.CPU, a.length);
                Tensor tb = Tensor.of(b, Device.CPU, b.length);
                Tensor tc = Tensor.of(c0, Device.CPU, c0.length)) {
            cpu.gemm(transA, transB, m, n, k, alpha, ta, lda, strideA, tb, ldb, strideB, (float) beta, tc, ldc, strideC,
                    batch, Backend.MatmulPrecision.FP32);
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
        double rel = Math.sqrt(num / den);
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
