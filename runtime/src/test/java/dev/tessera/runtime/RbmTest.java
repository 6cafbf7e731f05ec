package dev.tessera.runtime;

import static dev.tessera.runtime.RbmReference.d;
import static dev.tessera.runtime.TestSupport.assertRel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.io.Idx;
import dev.tessera.runtime.rbm.ContrastiveDivergence;
import dev.tessera.runtime.rbm.Rbm;
import dev.tessera.runtime.rbm.RbmConfig;
import dev.tessera.runtime.rbm.RbmGradient;
import dev.tessera.runtime.rbm.RbmParams;
import dev.tessera.runtime.rbm.VisibleType;
import dev.tessera.runtime.testing.ScopePerTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The RBM ops on the CPU against independent float64 references written here: Philox known answers,
 * sampler statistics (4σ), free energy / mean-field passes / reconstruction error, whole CD-k steps
 * with the same uniforms, the CD-k gradient against the exact gradient of a tiny RBM (all 2^10 states),
 * determinism over thread counts, MNIST training, and bad input.
 */
@ExtendWith(ScopePerTest.class)
class RbmTest {
    static final Device CPU = Device.CPU;
    static float[] randn(SplittableRandom r, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (std * Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
        }
        return a;
    }

    static float[] bits(SplittableRandom r, int n, double p) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextDouble() < p ? 1f : 0f;
        }
        return a;
    }

    // ------------------------------------------------------------------ (c) Philox

    static final int[][][] KAT = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{-1, -1, -1, -1}, {-1, -1}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
            {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };

    @Test
    void philoxKnownAnswers() {
        for (int[][] kat : KAT) {
            assertArrayEquals(kat[2], RbmReference.philox(kat[0], kat[1]), "Java reference Philox");
            assertArrayEquals(kat[2], Rbm.philox4x32(kat[0], kat[1]), "native Philox");
        }
    }

    @Test
    void uniformsFollowTheCounterLayout() {
        long[][] cases = {{0, 0}, {42, 1000}, {0x123456789abcdefL, (1L << 32) - 37}, {-1L, -200}};
        for (long[] c : cases) {
            int n = 1001;
            float[] got = Rbm.uniform(c[0], c[1], n, CPU).toFloatArray();
            for (int i = 0; i < n; i++) {
                float want = RbmReference.uniform(c[0], c[1] + i);
                assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[i]),
                        "uniform " + i + " of seed " + c[0] + " offset " + c[1]);
                assertTrue(got[i] >= 0 && got[i] < 1);
            }
        }
    }

    // ------------------------------------------------------------------ (b) samplers

    @Test
    void bernoulliMeansWithin4SigmaAndDecisionsMatchUniforms() {
        SplittableRandom r = new SplittableRandom(7);
        int n = 6000;
        int cols = 13;
        float[] row = randn(r, cols, 2.0);
        float[] bias = randn(r, cols, 0.5);
        float[] pre = new float[n * cols];
        for (int i = 0; i < n; i++) {
            System.arraycopy(row, 0, pre, i * cols, cols);
        }
        long seed = 99;
        long offset = 12345;
        try (Rbm.Sample s = Rbm.sigmoidSample(Tensor.of(pre, n, cols), Tensor.of(bias, cols), null, seed, offset)) {
            float[] p = s.mean().toFloatArray();
            float[] x = s.sample().toFloatArray();
            double[] pref = new double[n * cols];
            for (int i = 0; i < pref.length; i++) {
                pref[i] = RbmReference.sigmoid((double) pre[i] + bias[i % cols]);
            }
            assertRel(p, pref, 1e-6, "sigmoid probabilities");
            int mismatches = 0;
            for (int i = 0; i < x.length; i++) {
                double u = RbmReference.uniform(seed, offset + i);
                if (Math.abs(u - pref[i]) > 1e-6 && (x[i] == 1f) != (u < pref[i])) {
                    mismatches++;
                }
                assertTrue(x[i] == 0f || x[i] == 1f, "sample " + i + " is " + x[i]);
            }
            assertEquals(0, mismatches, "Bernoulli decisions that disagree with u < p away from ties");
            for (int c = 0; c < cols; c++) {
                double mean = 0;
                for (int i = 0; i < n; i++) {
                    mean += x[i * cols + c];
                }
                mean /= n;
                double q = pref[c];
                double sigma = Math.sqrt(q * (1 - q) / n);
                assertTrue(Math.abs(mean - q) <= 4 * sigma + 1e-12,
                        "column " + c + ": mean " + mean + " vs p " + q + " (4σ = " + 4 * sigma + ")");
            }
        }
    }

    @Test
    void gaussianMeanAndVarianceWithin4Sigma() {
        int rows = 500;
        int cols = 401;
        SplittableRandom r = new SplittableRandom(3);
        float[] pre = randn(r, rows * cols, 1.0);
        float[] bias = randn(r, cols, 1.0);
        try (Rbm.Sample s = Rbm.gaussianSample(Tensor.of(pre, rows, cols), Tensor.of(bias, cols), 5, 77)) {
            float[] m = s.mean().toFloatArray();
            float[] x = s.sample().toFloatArray();
            double[] mref = new double[m.length];
            double[] xref = new double[m.length];
            double sum = 0;
            double sq = 0;
            int n = m.length;
            for (int i = 0; i < n; i++) {
                mref[i] = (double) pre[i] + bias[i % cols];
                xref[i] = mref[i] + RbmReference.normal(5, 77 + i);
                double z = x[i] - m[i];
                sum += z;
                sq += z * z;
            }
            assertRel(m, mref, 1e-7, "Gaussian means");
            assertRel(x, xref, 1e-5, "Gaussian samples vs float64 Box-Muller of the same uniforms");
            double mean = sum / n;
            double var = sq / n - mean * mean;
            assertTrue(Math.abs(mean) <= 4 / Math.sqrt(n), "noise mean " + mean);
            assertTrue(Math.abs(var - 1) <= 4 * Math.sqrt(2.0 / n), "noise variance " + var);
        }
    }

    @Test
    void multinomialCountsSumToTotalsAndMatchProbabilities() {
        int rows = 400;
        int cols = 29;
        SplittableRandom r = new SplittableRandom(11);
        float[] row = randn(r, cols, 1.5);
        row[3] = -1e30f; // a category of probability 0 is never drawn
        float[] pre = new float[rows * cols];
        float[] totals = new float[rows];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(row, 0, pre, i * cols, cols);
            totals[i] = i % 7 == 0 ? 0 : 1 + r.nextInt(300);
        }
        totals[1] = 37.4f; // rounds to 37
        try (Rbm.Sample s = Rbm.softmaxSample(Tensor.of(pre, rows, cols), null, Tensor.of(totals, rows), 21, 5)) {
            float[] p = s.mean().toFloatArray();
            float[] counts = s.sample().toFloatArray();
            double mx = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                mx = Math.max(mx, v);
            }
            double z = 0;
            for (float v : row) {
                z += Math.exp(v - mx);
            }
            double[] pref = new double[rows * cols];
            for (int i = 0; i < pref.length; i++) {
                pref[i] = Math.exp(row[i % cols] - mx) / z;
            }
            assertRel(p, pref, 1e-6, "softmax probabilities");
            double total = 0;
            double[] agg = new double[cols];
            for (int i = 0; i < rows; i++) {
                double rs = 0;
                for (int c = 0; c < cols; c++) {
                    float k = counts[i * cols + c];
                    assertTrue(k >= 0 && k == Math.rint(k), "count " + k);
                    rs += k;
                    agg[c] += k;
                }
                assertEquals(Math.rint(totals[i]), rs, "row " + i + " counts sum to its total");
                total += rs;
            }
            assertEquals(0, agg[3], "a zero-probability category was drawn");
            for (int c = 0; c < cols; c++) {
                double q = pref[c];
                double sigma = Math.sqrt(total * q * (1 - q));
                assertTrue(Math.abs(agg[c] - total * q) <= 4 * sigma + 1e-9,
                        "category " + c + ": " + agg[c] + " draws vs expected " + total * q + " (4σ = " + 4 * sigma + ")");
            }
        }
    }

    // ------------------------------------------------------------------ free energy, mean-field passes

    @Test
    void freeEnergyUpDownAndReconstructionMatchFloat64() {
        int b = 17;
        int nv = 23;
        int nh = 11;
        SplittableRandom r = new SplittableRandom(5);
        float[] w = randn(r, nv * nh, 0.5);
        float[] vb = randn(r, nv, 0.5);
        float[] hb = randn(r, nh, 0.5);
        for (VisibleType type : VisibleType.values()) {
            float[] v = switch (type) {
                case BINARY -> bits(r, b * nv, 0.4);
                case GAUSSIAN -> randn(r, b * nv, 1.0);
                case SOFTMAX -> {
                    float[] cnt = new float[b * nv];
                    for (int i = 0; i < cnt.length; i++) {
                        cnt[i] = r.nextInt(4);
                    }
                    yield cnt;
                }
            };
            float[] extra = randn(r, b * nh, 0.3);
            try (RbmParams p = RbmParams.of(w, vb, hb, nv, nh, CPU)) {
                Tensor tv = Tensor.of(v, b, nv);
                double[] tot = new double[b];
                for (int i = 0; i < b; i++) {
                    for (int c = 0; c < nv; c++) {
                        tot[i] += v[i * nv + c];
                    }
                }
                double[] pre = RbmReference.mm(d(v), d(w), b, nv, nh);
                // up with doubled input and an extra pre-activation
                double[] upRef = new double[b * nh];
                double[] fRef = new double[b];
                double[] hMf = new double[b * nh];
                for (int i = 0; i < b; i++) {
                    double s = type == VisibleType.SOFTMAX ? tot[i] : 1;
                    double f = 0;
                    for (int j = 0; j < nh; j++) {
                        double x = pre[i * nh + j] + s * hb[j];
                        upRef[i * nh + j] = RbmReference.sigmoid(2 * pre[i * nh + j] + s * hb[j] + extra[i * nh + j]);
                        hMf[i * nh + j] = RbmReference.sigmoid(x);
                        f -= RbmReference.softplus(x);
                    }
                    for (int c = 0; c < nv; c++) {
                        double x = v[i * nv + c];
                        f += type == VisibleType.GAUSSIAN ? 0.5 * (x - vb[c]) * (x - vb[c]) : -vb[c] * x;
                    }
                    fRef[i] = f;
                }
                assertRel(Rbm.up(p, type, tv, Tensor.of(extra, b, nh), 2f).toFloatArray(), upRef, 1e-5, type + " up");
                assertRel(Rbm.freeEnergy(p, type, tv).toFloatArray(), fRef, 1e-5, type + " free energy");
                // down from the mean-field hidden, and the reconstruction error
                double[] dpre = RbmReference.mm(hMf, RbmReference.transpose(d(w), nv, nh), b, nh, nv);
                double[] downRef = new double[b * nv];
                double[] errRef = new double[b];
                for (int i = 0; i < b; i++) {
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < nv; c++) {
                        dpre[i * nv + c] += vb[c];
                        mx = Math.max(mx, dpre[i * nv + c]);
                    }
                    double z = 0;
                    for (int c = 0; c < nv; c++) {
                        z += Math.exp(dpre[i * nv + c] - mx);
                    }
                    for (int c = 0; c < nv; c++) {
                        double x = dpre[i * nv + c];
                        double m = switch (type) {
                            case BINARY -> RbmReference.sigmoid(x);
                            case GAUSSIAN -> x;
                            case SOFTMAX -> tot[i] * Math.exp(x - mx) / z;
                        };
                        downRef[i * nv + c] = m;
                        errRef[i] += (v[i * nv + c] - m) * (v[i * nv + c] - m);
                    }
                }
                Tensor h = Tensor.of(toF(hMf), b, nh);
                Tensor totals = type == VisibleType.SOFTMAX ? Tensor.of(toF(tot), b) : null;
                assertRel(Rbm.down(p, type, h, null, totals).toFloatArray(), downRef, 1e-5, type + " down");
                assertRel(Rbm.reconstructionErrors(p, type, tv).toFloatArray(), errRef, 1e-5,
                        type + " reconstruction error");
            }
        }
    }

    static float[] toF(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    // ------------------------------------------------------------------ whole steps vs float64

    /** Runs `steps` CD-k steps on the device and on the float64 reference; seeds with sampling ties are skipped. */
    static void checkStepsAgainstReference(Device dev, boolean gaussian, int k, int steps, double tol) {
        int b = 16;
        int nv = 23;
        int nh = 11;
        SplittableRandom r = new SplittableRandom(gaussian ? 17 : 13);
        float[] w = randn(r, nv * nh, 0.3);
        float[] vb = randn(r, nv, 0.3);
        float[] hb = randn(r, nh, 0.3);
        float[] v = gaussian ? randn(r, b * nv, 1) : bits(r, b * nv, 0.3);
        float lr = 0.05f;
        float mom = 0.7f;
        float decay = 0.01f;
        float q = 0.1f;
        float lambda = 0.5f;
        long seed = 1000;
        RbmReference.Step ref;
        do { // a Bernoulli decision within 1e-5 of its threshold could differ with fp32 rounding: next seed
            seed++;
            ref = RbmReference.cdSteps(v, b, nv, nh, w, vb, hb, k, gaussian, lr, mom, decay, q, lambda, seed, steps);
        } while (ref.minGap < 1e-5);
        RbmConfig cfg = RbmConfig.defaults().withVisibleType(gaussian ? VisibleType.GAUSSIAN : VisibleType.BINARY)
                .withK(k).withLearningRate(lr).withMomentum(mom).withWeightDecay(decay).withSparsity(q, lambda)
                .withSeed(seed);
        try (RbmParams p = RbmParams.of(w, vb, hb, nv, nh, dev);
                ContrastiveDivergence cd = new ContrastiveDivergence(p, cfg)) {
            Tensor batch = Tensor.of(v, dev, b, nv);
            for (int i = 0; i < steps; i++) {
                cd.step(batch);
            }
            assertEquals(ref.offset, cd.rngOffset(), "Philox counters consumed");
            assertRel(p.weights().toFloatArray(), ref.w, tol, "W after " + steps + " steps");
            assertRel(p.visibleBias().toFloatArray(), ref.vb, tol, "vbias after " + steps + " steps");
            assertRel(p.hiddenBias().toFloatArray(), ref.hb, tol, "hbias after " + steps + " steps");
        }
    }

    @Test
    void binaryCdStepsMatchFloat64Reference() {
        checkStepsAgainstReference(CPU, false, 2, 3, 1e-5);
    }

    @Test
    void gaussianCdStepMatchesFloat64Reference() {
        checkStepsAgainstReference(CPU, true, 1, 2, 1e-5);
    }

    // ------------------------------------------------------------------ (a) exact gradient of a tiny RBM

    static final int TNV = 6;
    static final int TNH = 4;

    /** Exact ascent direction [dW (24), db (6), dc (4)] of the mean log-likelihood of `data`. */
    static double[] exactGradient(float[] w, float[] vb, float[] hb, float[][] data) {
        double[] g = new double[TNV * TNH + TNV + TNH];
        // positive phase (exact: p(h|v) for each data vector)
        for (float[] v : data) {
            for (int j = 0; j < TNH; j++) {
                double x = hb[j];
                for (int i = 0; i < TNV; i++) {
                    x += v[i] * w[i * TNH + j];
                }
                double ph = RbmReference.sigmoid(x);
                for (int i = 0; i < TNV; i++) {
                    g[i * TNH + j] += v[i] * ph / data.length;
                }
                g[TNV * TNH + TNV + j] += ph / data.length;
            }
            for (int i = 0; i < TNV; i++) {
                g[TNV * TNH + i] += v[i] / (double) data.length;
            }
        }
        // negative phase: enumerate all 2^(6+4) joint states
        double z = 0;
        double[] m = new double[g.length];
        for (int sv = 0; sv < (1 << TNV); sv++) {
            for (int sh = 0; sh < (1 << TNH); sh++) {
                double e = 0;
                for (int i = 0; i < TNV; i++) {
                    if ((sv >> i & 1) == 0) {
                        continue;
                    }
                    e += vb[i];
                    for (int j = 0; j < TNH; j++) {
                        if ((sh >> j & 1) == 1) {
                            e += w[i * TNH + j];
                        }
                    }
                }
                for (int j = 0; j < TNH; j++) {
                    if ((sh >> j & 1) == 1) {
                        e += hb[j];
                    }
                }
                double pr = Math.exp(e); // unnormalised: exp(-E)
                z += pr;
                for (int i = 0; i < TNV; i++) {
                    int vi = sv >> i & 1;
                    m[TNV * TNH + i] += pr * vi;
                    for (int j = 0; j < TNH; j++) {
                        m[i * TNH + j] += pr * vi * (sh >> j & 1);
                    }
                }
                for (int j = 0; j < TNH; j++) {
                    m[TNV * TNH + TNV + j] += pr * (sh >> j & 1);
                }
            }
        }
        for (int i = 0; i < g.length; i++) {
            g[i] -= m[i] / z;
        }
        return g;
    }

    static double[] flat(RbmGradient g) {
        float[] a = g.weights().toFloatArray();
        float[] b = g.visibleBias().toFloatArray();
        float[] c = g.hiddenBias().toFloatArray();
        double[] o = new double[a.length + b.length + c.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i];
        }
        for (int i = 0; i < b.length; i++) {
            o[a.length + i] = b[i];
        }
        for (int i = 0; i < c.length; i++) {
            o[a.length + b.length + i] = c[i];
        }
        return o;
    }

    static double dist(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }
        return Math.sqrt(s);
    }

    static double norm(double[] a) {
        return dist(a, new double[a.length]);
    }

    /**
     * CD-k from the data approaches the exact gradient as k grows. Statistics: with N chains, each
     * entry of the estimate is the exact positive term minus a mean of N terms in [0, 1] (variance ≤ 1/4),
     * so the sampling error has E|noise|² ≤ 34 / (4N) and |noise| ≤ 2 sqrt(34 / (4N)) ≈ 0.026 for N = 50,000
     * except with negligible probability (a chi-square-like sum at 4× its mean bound). The tolerance
     * for k = 50 (well mixed for these weights) is that noise bound plus 2% of |g| for the remaining
     * CD bias; CD-1 must be worse than k = 50 by more than twice the noise bound.
     */
    @Test
    void cdkApproachesExactGradientOfTinyRbm() {
        SplittableRandom r = new SplittableRandom(2024);
        float[] w = randn(r, TNV * TNH, 1.0);
        float[] vb = randn(r, TNV, 0.5);
        float[] hb = randn(r, TNH, 0.5);
        float[][] data = {{1, 1, 1, 0, 0, 0}, {0, 0, 0, 1, 1, 1}, {1, 0, 1, 0, 1, 0}, {1, 1, 0, 0, 1, 1},
            {0, 1, 1, 1, 0, 0}};
        double[] exact = exactGradient(w, vb, hb, data);
        int n = 50_000;
        float[] batch = new float[n * TNV];
        for (int i = 0; i < n; i++) {
            System.arraycopy(data[i % data.length], 0, batch, i * TNV, TNV);
        }
        double noise = 2 * Math.sqrt(exact.length / (4.0 * n));
        int[] ks = {1, 5, 50};
        double[] err = new double[ks.length];
        try (RbmParams p = RbmParams.of(w, vb, hb, TNV, TNH, CPU)) {
            Tensor tb = Tensor.of(batch, n, TNV);
            for (int t = 0; t < ks.length; t++) {
                try (ContrastiveDivergence cd = new ContrastiveDivergence(p,
                        RbmConfig.defaults().withK(ks[t]).withSeed(500 + t));
                        RbmGradient g = cd.gradient(tb)) {
                    err[t] = dist(flat(g), exact);
                }
            }
            // PCD: the chains keep mixing across calls (no update: gradient() leaves the parameters alone)
            double pcdErr;
            try (ContrastiveDivergence pcd = new ContrastiveDivergence(p,
                    RbmConfig.defaults().withK(10).withPersistent(true, 0).withSeed(77))) {
                for (int i = 0; i < 9; i++) {
                    pcd.gradient(tb).close();
                }
                try (RbmGradient g = pcd.gradient(tb)) {
                    pcdErr = dist(flat(g), exact);
                }
            }
            double gn = norm(exact);
            String report = String.format("|g| = %.4f, noise bound %.4f, |CD-k - g|: k=1 %.4f, k=5 %.4f, k=50 %.4f,"
                    + " PCD-10 after 100 sweeps %.4f", gn, noise, err[0], err[1], err[2], pcdErr);
            System.out.println("RbmTest tiny RBM: " + report);
            assertTrue(gn > 10 * noise, "the exact gradient must dominate the noise: " + report);
            assertTrue(err[0] > err[2] + 2 * noise, "CD-1 should be clearly biased: " + report);
            assertTrue(err[2] <= noise + 0.02 * gn, "CD-50 should match the exact gradient: " + report);
            assertTrue(pcdErr <= noise + 0.02 * gn, "PCD should match the exact gradient: " + report);
        }
    }

    // ------------------------------------------------------------------ (d) determinism

    static float[][] trainFew(int threads, long seed) {
        int prev = TesseraNative.tsr_cpu_threads();
        TesseraNative.tsr_cpu_set_threads(threads);
        try (Scope s = Tessera.scope()) {
            SplittableRandom r = new SplittableRandom(1);
            int nv = 700;
            int nh = 300;
            int b = 100;
            Tensor batch = Tensor.of(bits(r, b * nv, 0.3), b, nv);
            RbmConfig cfg = RbmConfig.defaults().withK(2).withMomentum(0.5f).withWeightDecay(1e-3f)
                    .withSparsity(0.1f, 0.1f).withSeed(seed);
            try (RbmParams p = RbmParams.init(nv, nh, 0.01f, 3, CPU); ContrastiveDivergence cd =
                    new ContrastiveDivergence(p, cfg)) {
                for (int i = 0; i < 4; i++) {
                    cd.step(batch);
                }
                return new float[][] {p.weights().toFloatArray(), p.visibleBias().toFloatArray(),
                    p.hiddenBias().toFloatArray()};
            }
        } finally {
            TesseraNative.tsr_cpu_set_threads(prev);
        }
    }

    @Test
    void sameSeedSameParametersWithOneAndTwoThreads() {
        float[][] a1 = trainFew(1, 5);
        float[][] b1 = trainFew(1, 5);
        float[][] a2 = trainFew(2, 5);
        float[][] b2 = trainFew(2, 5);
        float[][] other = trainFew(2, 6);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(a1[i], b1[i], "1 thread, run to run");
            assertArrayEquals(a2[i], b2[i], "2 threads, run to run");
            assertArrayEquals(a1[i], a2[i], "1 thread vs 2 threads");
        }
        assertTrue(dist(d(a1[0]), d(other[0])) > 0, "another seed should give other parameters");
    }

    // ------------------------------------------------------------------ (e) MNIST

    static Path mnist(String name) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("data/mnist").resolve(name);
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IllegalStateException("data/mnist/" + name + " not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void mnistCd1LowersReconstructionErrorEachEpoch() throws IOException {
        Idx.Array images = Idx.read(mnist("train-images-idx3-ubyte.gz"));
        Idx.Array labels = Idx.read(mnist("train-labels-idx1-ubyte.gz"));
        Idx.Array test = Idx.read(mnist("t10k-images-idx3-ubyte.gz"));
        assertArrayEquals(new int[] {3000, 28, 28}, images.dims());
        assertArrayEquals(new int[] {3000}, labels.dims());
        assertEquals(Idx.Type.UBYTE, images.type());
        int nTrain = 2000;
        int b = 100;
        Tensor all = images.toTensor(1f / 255f, CPU);
        Tensor heldOut = test.toTensor(1f / 255f, CPU);
        RbmConfig cfg = RbmConfig.defaults().withLearningRate(0.1f).withMomentum(0.5f).withWeightDecay(2e-4f)
                .withSeed(2026);
        List<Double> errs = new ArrayList<>();
        long t0 = System.nanoTime();
        try (RbmParams p = RbmParams.init(784, 500, 0.01f, 1, CPU); ContrastiveDivergence cd =
                new ContrastiveDivergence(p, cfg)) {
            errs.add(Rbm.reconstructionError(p, VisibleType.BINARY, heldOut));
            for (int epoch = 0; epoch < 3; epoch++) {
                for (int s = 0; s < nTrain; s += b) {
                    try (Tensor batch = all.slice(0, s, s + b)) {
                        cd.step(batch);
                    }
                }
                errs.add(Rbm.reconstructionError(p, VisibleType.BINARY, heldOut));
            }
        }
        System.out.printf("RbmTest MNIST 784x500 CD-1, 2000 digits, 3 epochs in %.1f s: held-out reconstruction"
                + " error per digit %s%n", (System.nanoTime() - t0) / 1e9, errs);
        for (int i = 1; i < errs.size(); i++) {
            assertTrue(errs.get(i) < errs.get(i - 1), "reconstruction error must fall every epoch: " + errs);
        }
        assertTrue(errs.get(3) < 0.5 * errs.get(0), "training should at least halve the error: " + errs);
    }

    @Test
    void idxRejectsBadHeadersClearly() {
        byte[] wrongMagic = {1, 0, 8, 1, 0, 0, 0, 1, 5};
        IOException e = assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(wrongMagic), "x.idx"));
        assertTrue(e.getMessage().contains("x.idx") && e.getMessage().contains("magic"), e.getMessage());
        byte[] badType = {0, 0, 7, 1, 0, 0, 0, 1, 5};
        e = assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(badType), "t.idx"));
        assertTrue(e.getMessage().contains("type 0x7"), e.getMessage());
        byte[] shortData = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3};
        e = assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(shortData), "s.idx"));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("needs 6"), e.getMessage());
    }

    // ------------------------------------------------------------------ (f) bad input

    @Test
    void badInputIsRejectedBeforeNativeCalls() {
        try (RbmParams p = RbmParams.init(5, 3, 0.1f, 1, CPU)) {
            ContrastiveDivergence cd = new ContrastiveDivergence(p, RbmConfig.defaults());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cd.step(Tensor.of(new float[12], 3, 4)));
            assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("nv = 5"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Rbm.up(p, VisibleType.BINARY,
                    Tensor.of(new float[10], 2, 5), Tensor.of(new float[4], 2, 2), 1f));
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[2, 2]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Rbm.down(p, VisibleType.BINARY,
                    Tensor.of(new float[10], 2, 5), null, null));
            assertTrue(e.getMessage().contains("nh = 3") && e.getMessage().contains("[2, 5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Rbm.softmaxSample(Tensor.of(new float[6], 2, 3),
                    null, Tensor.of(new float[3], 3), 1, 0));
            assertTrue(e.getMessage().contains("totals") && e.getMessage().contains("[2]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> cd.step(Tensor.zeros(DType.F16, CPU, 2, 5)));
            assertTrue(e.getMessage().contains("F32"), e.getMessage());
            cd.close();
            assertThrows(IllegalStateException.class, () -> cd.step(Tensor.of(new float[10], 2, 5)));
        }
        e2("k", () -> RbmConfig.defaults().withK(0));
        e2("learningRate", () -> RbmConfig.defaults().withLearningRate(-0.1f));
        e2("learningRate", () -> RbmConfig.defaults().withLearningRate(Float.NaN));
        e2("momentum", () -> RbmConfig.defaults().withMomentum(1f));
        e2("weightDecay", () -> RbmConfig.defaults().withWeightDecay(-1f));
        e2("sparsityTarget", () -> RbmConfig.defaults().withSparsity(1.5f, 0.1f));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RbmParams.copyOf(Tensor.of(new float[6], 2, 3), Tensor.of(new float[3], 3), Tensor.of(new float[3], 3)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("vbias [3]"), e.getMessage());
        RbmParams closed = RbmParams.init(4, 2, 0.1f, 1, CPU);
        closed.close();
        IllegalStateException s = assertThrows(IllegalStateException.class,
                () -> new ContrastiveDivergence(closed, RbmConfig.defaults()));
        assertTrue(s.getMessage().contains("closed") && s.getMessage().contains("nv 4"), s.getMessage());
        assertThrows(IllegalStateException.class, () -> Rbm.freeEnergy(closed, VisibleType.BINARY,
                Tensor.of(new float[4], 1, 4)));
        try (RbmParams p = RbmParams.init(4, 2, 0.1f, 1, CPU)) {
            ContrastiveDivergence cd = new ContrastiveDivergence(p, RbmConfig.defaults());
            p.close();
            assertThrows(IllegalStateException.class, () -> cd.step(Tensor.of(new float[4], 1, 4)));
        }
    }

    private static void e2(String word, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(word), e.getMessage());
    }
}
