package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.rbm.ContrastiveDivergence;
import dev.tessera.runtime.rbm.Rbm;
import dev.tessera.runtime.rbm.RbmConfig;
import dev.tessera.runtime.rbm.RbmParams;
import dev.tessera.runtime.rbm.VisibleType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The RBM kernels on CUDA against the CPU kernels (which RbmTest checks against float64) and, for whole
 * CD steps (GEMMs included), against the float64 reference of RbmReference driven by the same Philox
 * uniforms: the GPU bundle carries no OpenBLAS, so nothing here needs the CPU GEMM. Uniforms must be
 * bit-identical; probabilities within 1e-5; Bernoulli decisions may differ only at ties (|u - p| < 1e-5);
 * parameters after CD steps within 1e-5 of the reference (seeds with a tie are skipped by the reference).
 * Skipped, with the reason, where CUDA is unavailable.
 */
class CudaRbmTest extends CudaTestBase {
    @Test
    void uniformsBitIdenticalToCpu() {
        long[][] cases = {{0, 0}, {7, (1L << 32) - 500}, {0xfeedfacecafebeefL, 123456789}};
        for (long[] c : cases) {
            int n = 100_003;
            float[] gpu = Rbm.uniform(c[0], c[1], n, GPU).toFloatArray();
            float[] cpu = Rbm.uniform(c[0], c[1], n, Device.CPU).toFloatArray();
            assertArrayEquals(cpu, gpu, "uniforms seed " + c[0] + " offset " + c[1]);
            for (int i = 0; i < n; i += 997) {
                assertEquals(RbmReference.uniform(c[0], c[1] + i), gpu[i]);
            }
        }
    }

    @Test
    void samplersMatchCpu() {
        int rows = 257;
        int cols = 301;
        SplittableRandom r = new SplittableRandom(9);
        float[] pre = RbmTest.randn(r, rows * cols, 2);
        float[] bias = RbmTest.randn(r, cols, 0.5);
        float[] extra = RbmTest.randn(r, rows * cols, 0.5);
        Tensor cp = Tensor.of(pre, rows, cols);
        Tensor cb = Tensor.of(bias, cols);
        Tensor ce = Tensor.of(extra, rows, cols);
        Tensor gp = Tensor.of(pre, GPU, rows, cols);
        Tensor gb = Tensor.of(bias, GPU, cols);
        Tensor ge = Tensor.of(extra, GPU, rows, cols);
        // Bernoulli
        try (Rbm.Sample c = Rbm.sigmoidSample(cp, cb, ce, 3, 40); Rbm.Sample g = Rbm.sigmoidSample(gp, gb, ge, 3, 40)) {
            float[] pc = c.mean().toFloatArray();
            float[] pg = g.mean().toFloatArray();
            assertRel(pg, pc, 1e-5, "CUDA sigmoid probabilities vs CPU");
            float[] sc = c.sample().toFloatArray();
            float[] sg = g.sample().toFloatArray();
            for (int i = 0; i < sc.length; i++) {
                float u = RbmReference.uniform(3, 40 + i);
                if (Math.abs(u - pc[i]) > 1e-5) {
                    assertEquals(sc[i], sg[i], "Bernoulli decision " + i + " (u " + u + ", p " + pc[i] + ")");
                }
            }
        }
        // Gaussian
        try (Rbm.Sample c = Rbm.gaussianSample(cp, cb, 4, 0); Rbm.Sample g = Rbm.gaussianSample(gp, gb, 4, 0)) {
            assertRel(g.mean().toFloatArray(), c.mean().toFloatArray(), 1e-7, "CUDA Gaussian mean");
            assertRel(g.sample().toFloatArray(), c.sample().toFloatArray(), 1e-5, "CUDA Gaussian samples vs CPU");
        }
        // softmax + multinomial
        float[] totals = new float[rows];
        for (int i = 0; i < rows; i++) {
            totals[i] = r.nextInt(500);
        }
        try (Rbm.Sample c = Rbm.softmaxSample(cp, cb, Tensor.of(totals, rows), 5, 9);
                Rbm.Sample g = Rbm.softmaxSample(gp, gb, Tensor.of(totals, GPU, rows), 5, 9)) {
            assertRel(g.mean().toFloatArray(), c.mean().toFloatArray(), 1e-5, "CUDA softmax probabilities");
            float[] kc = c.sample().toFloatArray();
            float[] kg = g.sample().toFloatArray();
            double diff = 0;
            double all = 0;
            for (int i = 0; i < rows; i++) {
                double s = 0;
                for (int j = 0; j < cols; j++) {
                    s += kg[i * cols + j];
                    diff += Math.abs(kg[i * cols + j] - kc[i * cols + j]);
                }
                assertEquals(totals[i], s, "CUDA multinomial row " + i + " sums to its total");
                all += s;
            }
            // same uniforms, CDFs equal to a few ulp: at most a handful of draws land in another bin
            assertTrue(diff <= 1e-3 * all + 4, "multinomial counts CUDA vs CPU differ by " + diff + " of " + all);
        }
    }

    @Test
    void binaryCdStepsMatchFloat64Reference() {
        RbmTest.checkStepsAgainstReference(GPU, false, 2, 3, 1e-5);
    }

    @Test
    void gaussianCdStepMatchesFloat64Reference() {
        RbmTest.checkStepsAgainstReference(GPU, true, 1, 2, 1e-5);
    }

    @Test
    void freeEnergyAndReconstructionMatchCpuKernels() {
        int b = 33;
        int nv = 47;
        int nh = 19;
        SplittableRandom r = new SplittableRandom(12);
        float[] w = RbmTest.randn(r, nv * nh, 0.4);
        float[] vb = RbmTest.randn(r, nv, 0.4);
        float[] hb = RbmTest.randn(r, nh, 0.4);
        float[] v = RbmTest.bits(r, b * nv, 0.5);
        try (RbmParams pg = RbmParams.of(w, vb, hb, nv, nh, GPU)) {
            Tensor tv = Tensor.of(v, GPU, b, nv);
            for (VisibleType t : VisibleType.values()) {
                // float64 references of the same quantities (no CPU GEMM needed)
                double[] pre = RbmReference.mm(RbmReference.d(v), RbmReference.d(w), b, nv, nh);
                double[] f = new double[b];
                double[] up = new double[b * nh];
                for (int i = 0; i < b; i++) {
                    double s = 0;
                    for (int c = 0; c < nv; c++) {
                        s += v[i * nv + c];
                    }
                    double hs = t == VisibleType.SOFTMAX ? s : 1;
                    for (int j = 0; j < nh; j++) {
                        double x = pre[i * nh + j] + hs * hb[j];
                        f[i] -= RbmReference.softplus(x);
                        up[i * nh + j] = RbmReference.sigmoid(x);
                    }
                    for (int c = 0; c < nv; c++) {
                        f[i] += t == VisibleType.GAUSSIAN ? 0.5 * (v[i * nv + c] - vb[c]) * (v[i * nv + c] - vb[c])
                                : -vb[c] * v[i * nv + c];
                    }
                }
                assertRel(Rbm.freeEnergy(pg, t, tv).toFloatArray(), f, 1e-5, t + " CUDA free energy");
                assertRel(Rbm.up(pg, t, tv, null, 1f).toFloatArray(), up, 1e-5, t + " CUDA up");
                float[] errs = Rbm.reconstructionErrors(pg, t, tv).toFloatArray();
                TestSupport.assertAllFinite(errs, t + " CUDA reconstruction errors");
            }
        }
    }

    @Test
    void persistentChainsStayOnDeviceAndTrain() {
        int nv = 64;
        int nh = 32;
        SplittableRandom r = new SplittableRandom(4);
        Tensor batch = Tensor.of(RbmTest.bits(r, 50 * nv, 0.2), GPU, 50, nv);
        try (RbmParams p = RbmParams.init(nv, nh, 0.01f, 2, GPU); ContrastiveDivergence cd =
                new ContrastiveDivergence(p, RbmConfig.defaults().withK(3).withPersistent(true, 80).withSeed(3))) {
            double before = Rbm.reconstructionError(p, VisibleType.BINARY, batch);
            for (int i = 0; i < 50; i++) {
                cd.step(batch);
            }
            assertEquals(GPU, cd.chains().device());
            assertArrayEquals(new long[] {80, nv}, cd.chains().shape());
            double after = Rbm.reconstructionError(p, VisibleType.BINARY, batch);
            assertTrue(after < before, "PCD on CUDA should lower the reconstruction error: " + before + " -> " + after);
        }
    }
}
