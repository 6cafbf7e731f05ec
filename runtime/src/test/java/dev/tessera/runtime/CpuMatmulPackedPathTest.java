package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Products large enough to take the CPU backend's pack-B-per-call path (native GEMM on the library's pool, see
 * CpuBackend.gemm) against a float64 reference: row-major and transposed B, a strided A (a column slice),
 * sizes that are not multiples of the tile.
 */
class CpuMatmulPackedPathTest {
    @ParameterizedTest
    @CsvSource({"128,128,128", "130,257,200", "300,129,65", "17,1000,333", "256,256,256"})
    void matchesFloat64Reference(int m, int k, int n) {
        float[] a = PatchEmbeddingTest.random(m * k, m * 31L + k);
        float[] b = PatchEmbeddingTest.random(k * n, n * 17L + k);
        double[] ref = Reference64.matmul(a, b, m, k, n);
        try (Scope s = Tessera.scope()) {
            Tensor ta = Tensor.of(a, Device.CPU, m, k);
            Tensor tb = Tensor.of(b, Device.CPU, k, n);
            Tensor c = Ops.matmul(ta, tb);
            assertEquals(m, c.dim(0));
            assertEquals(n, c.dim(1));
            TestSupport.assertRel(c.toFloatArray(), ref, 1e-5, "matmul " + m + "x" + k + "x" + n);
            // B given as the transposed view of its [n, k] transpose
            Tensor bt = Tensor.of(Reference64.transposed(b, k, n), Device.CPU, n, k);
            TestSupport.assertRel(Ops.matmul(ta, bt.t()).toFloatArray(), ref, 1e-5, "matmul b.t()");
            // A as a column slice of a wider matrix (row stride k + 5)
            float[] wide = new float[m * (k + 5)];
            for (int i = 0; i < m; i++) {
                System.arraycopy(a, i * k, wide, i * (k + 5) + 5, k);
            }
            Tensor aw = Tensor.of(wide, Device.CPU, m, k + 5).slice(1, 5, k + 5);
            TestSupport.assertRel(Ops.matmul(aw, tb).toFloatArray(), ref, 1e-5, "matmul strided a");
        }
    }
}
