package dev.tessera.runtime;

import static dev.tessera.runtime.CudaOpsTest.cpu;
import static dev.tessera.runtime.CudaOpsTest.cuda;
import static dev.tessera.runtime.CudaOpsTest.pair;
import static dev.tessera.runtime.CudaOpsTest.poisonGpu;
import static dev.tessera.runtime.TestSupport.assertRel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.backend.CudaProfiler;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CUDA paths the encoders (ViT, CLIP, BERT) spend their time in, against float64 references or the CPU's
 * exact copies: the fused linear epilogue (bias + activation + residual after the cuBLAS GEMM) for every
 * activation, the vectorised strided copies of a q|k|v head split and of the heads' transpose back, the
 * register-cached LayerNorm at encoder widths, uploads from Java arrays through pinned staging (asynchronous,
 * the array reusable at once), and the op profiler. F32, F16, BF16. Skipped, with the reason, where CUDA is
 * unavailable.
 */
class CudaEncoderOpsTest extends CudaTestBase {

    private static double act64(FusedActivation a, double x) {
        return switch (a) {
            case NONE -> x;
            case GELU -> Reference64.gelu(x);
            case GELU_TANH -> Reference64.geluTanh(x);
            case SILU -> Reference64.silu(x);
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case RELU -> Math.max(0, x);
        };
    }

    /** float64 act(x · wᵀ + bias) + residual from the (dtype-rounded) inputs as floats. */
    private static double[] linear64(float[] x, float[] w, float[] bias, FusedActivation act, float[] res, int k,
            int n) {
        double[] y = Reference64.linear(x, w, bias, k, n);
        for (int i = 0; i < y.length; i++) {
            y[i] = act64(act, y[i]) + (res == null ? 0 : res[i]);
        }
        return y;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void fusedLinearEpilogueMatchesFloat64(DType dt) {
        linearCases(dt);
    }

    /** The cuBLASLt experiment (bias epilogue, residual as C) on the same cases; it must serve some of them. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void cublasLtLinearMatchesFloat64(DType dt) {
        dev.tessera.runtime.backend.CudaBackend backend = cuda();
        CudaProfiler prof = backend.startProfiling();
        dev.tessera.runtime.backend.CudaBackend.setCublasLt(true);
        try {
            prof.reset();
            linearCases(dt);
            List<String> kinds = prof.snapshot().stream().map(CudaProfiler.Row::kind).toList();
            assertTrue(kinds.stream().anyMatch(k -> k.startsWith("cublasLt " + dt.name().toLowerCase())),
                    "cuBLASLt served no call: " + kinds);
        } finally {
            dev.tessera.runtime.backend.CudaBackend.setCublasLt(false);
            backend.stopProfiling();
        }
    }

    private static void linearCases(DType dt) {
        Random rnd = new Random(900 + dt.ordinal());
        int[][] sizes = {{37, 96, 64}, {5, 3, 7}, {130, 768, 48}, {1, 8, 16}};
        for (int[] mnk : sizes) {
            int m = mnk[0], n = mnk[1], k = mnk[2];
            Tensor[] x = pair(Reference64.gaussian(rnd, m * k, 1), dt, m, k);
            Tensor[] w = pair(Reference64.gaussian(rnd, n * k, 1 / Math.sqrt(k)), dt, n, k);
            Tensor[] b = pair(Reference64.gaussian(rnd, n, 0.5), dt, n);
            Tensor[] r = pair(Reference64.gaussian(rnd, m * n, 1), dt, m, n);
            for (FusedActivation act : FusedActivation.values()) {
                for (int variant = 0; variant < 4; variant++) {
                    boolean withBias = (variant & 1) != 0;
                    boolean withRes = (variant & 2) != 0;
                    try (Scope s = Tessera.scope()) {
                        poisonGpu(dt, m, n);
                        Tensor y = Ops.linear(x[1], w[1], withBias ? b[1] : null, act, withRes ? r[1] : null);
                        assertEquals(GPU, y.device());
                        assertEquals(dt, y.dtype());
                        assertArrayEquals(new long[] {m, n}, y.shape());
                        double[] ref = linear64(x[0].toFloatArray(), w[0].toFloatArray(),
                                withBias ? b[0].toFloatArray() : null, act, withRes ? r[0].toFloatArray() : null, k, n);
                        // F32: the GEMM in fp32 (default precision); halves: one rounding of the product, one of
                        // the epilogue's result
                        assertRel(y.toFloatArray(), ref, dt == DType.F32 ? 1e-5 : 1.5e-2,
                                dt + " " + Arrays.toString(mnk) + " " + act + " bias " + withBias + " residual "
                                        + withRes);
                    }
                }
            }
        }
    }

    @Test
    void fusedLinearEpilogueOnAStridedInputAndWeightView() {
        Random rnd = new Random(907);
        int m = 9, k = 24, n = 40;
        Tensor[] xw = pair(Reference64.gaussian(rnd, m * 2 * k, 1), DType.F32, m, 2 * k);
        Tensor[] w = pair(Reference64.gaussian(rnd, k * n, 0.3), DType.F32, k, n); // Wᵀ stored: view w.T
        Tensor[] b = pair(Reference64.gaussian(rnd, n, 0.5), DType.F32, n);
        Tensor xg = xw[1].slice(1, k, 2 * k);
        Tensor xc = xw[0].slice(1, k, 2 * k).contiguous();
        Tensor y = Ops.linear(xg, w[1].transpose(0, 1), b[1], FusedActivation.GELU, null);
        double[] ref = linear64(xc.toFloatArray(), w[0].transpose(0, 1).contiguous().toFloatArray(),
                b[0].toFloatArray(), FusedActivation.GELU, null, k, n);
        assertRel(y.toFloatArray(), ref, 1e-5, "strided x, transposed weight");
        dev.tessera.runtime.backend.CudaBackend.setFusedEpilogue(false); // the A/B switch: a pass per term
        try {
            Tensor y2 = Ops.linear(xg, w[1].transpose(0, 1), b[1], FusedActivation.GELU, null);
            assertRel(y2.toFloatArray(), ref, 1e-5, "strided x, transposed weight, unfused epilogue");
        } finally {
            dev.tessera.runtime.backend.CudaBackend.setFusedEpilogue(true);
        }
        dev.tessera.bindings.cuda.Cublas.setPlainGemmForOne(false); // the A/B switch: strided-batched, batch 1
        try {
            Tensor y3 = Ops.linear(xg, w[1].transpose(0, 1), b[1], FusedActivation.GELU, null);
            assertRel(y3.toFloatArray(), ref, 1e-5, "strided x, transposed weight, strided-batched GEMM");
        } finally {
            dev.tessera.bindings.cuda.Cublas.setPlainGemmForOne(true);
        }
    }

    @Test
    void fusedLinearEpilogueKeepsNaN() {
        float[] x = {1, Float.NaN, 2, 3};
        Tensor[] t = pair(x, DType.BF16, 2, 2);
        Tensor[] w = pair(new float[] {1, 0, 0, 1}, DType.BF16, 2, 2);
        Tensor[] b = pair(new float[] {0.5f, -0.5f}, DType.BF16, 2);
        for (FusedActivation act : FusedActivation.values()) {
            float[] y = Ops.linear(t[1], w[1], b[1], act, null).toFloatArray();
            assertTrue(Float.isNaN(y[0]) && Float.isNaN(y[1]), act + ": the NaN row must stay NaN: "
                    + Arrays.toString(y));
            assertTrue(!Float.isNaN(y[2]) && !Float.isNaN(y[3]), act + ": the finite row must stay finite");
        }
    }

    /** A CPU tensor of {@code dt} holding the (small) integers {@code data} exactly. */
    private static Tensor hostTensor(int[] data, DType dt, long... shape) {
        if (dt == DType.I32) {
            return Tensor.ofInts(data, Device.CPU, shape);
        }
        if (dt == DType.I64) {
            return Tensor.ofLongs(Arrays.stream(data).asLongStream().toArray(), Device.CPU, shape);
        }
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = data[i];
        }
        Tensor c = cpu(f, shape);
        return dt == DType.F32 ? c : Ops.convert(c, dt);
    }

    /** q|k|v [B, S, 3H, D] split into heads [B, H, S, D] (three copies) and the heads transposed back. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "I32", "I64"})
    void headSplitAndMergeCopiesAreExact(DType dt) {
        Random rnd = new Random(910 + dt.ordinal());
        int[][] shapes = {{2, 197, 12, 64}, {3, 5, 2, 3}, {1, 7, 4, 8}, {2, 9, 3, 1}, {4, 33, 6, 12}, {2, 3, 2, 2}};
        for (int[] sh : shapes) {
            int b = sh[0], s = sh[1], h = sh[2], d = sh[3];
            int[] data = new int[b * s * 3 * h * d];
            for (int i = 0; i < data.length; i++) {
                data[i] = rnd.nextInt(2000) - 1000; // exact in every dtype
            }
            try (Scope sc = Tessera.scope()) {
                Tensor c = hostTensor(data, dt, b, s, 3L * h, d);
                Tensor g = c.to(GPU);
                // all three at once, as models' Heads.splitQkv: [B, S, 3, H, D] -> [3, B, H, S, D]
                Tensor allC = c.reshape(b, s, 3, h, d).transpose(0, 2).transpose(1, 2).transpose(2, 3).contiguous();
                Tensor allG = g.reshape(b, s, 3, h, d).transpose(0, 2).transpose(1, 2).transpose(2, 3).contiguous();
                assertArrayEquals(allC.toFloatArray(), allG.toFloatArray(), dt + " " + Arrays.toString(sh)
                        + " split in one copy");
                for (int part = 0; part < 3; part++) {
                    Tensor hc = c.slice(2, (long) part * h, (long) (part + 1) * h).transpose(1, 2).contiguous();
                    Tensor hg = g.slice(2, (long) part * h, (long) (part + 1) * h).transpose(1, 2).contiguous();
                    assertArrayEquals(hc.toFloatArray(), hg.toFloatArray(), dt + " " + Arrays.toString(sh) + " part "
                            + part);
                    // back: [B, H, S, D] -> [B, S, H, D]
                    Tensor mc = hc.transpose(1, 2).contiguous();
                    Tensor mg = hg.transpose(1, 2).contiguous();
                    assertArrayEquals(mc.toFloatArray(), mg.toFloatArray(), dt + " " + Arrays.toString(sh)
                            + " merge " + part);
                    // view to view: into a slice of a bigger buffer
                    Tensor dstC = Tensor.zeros(dt, Device.CPU, b, s, 2L * h, d);
                    Tensor dstG = Tensor.zeros(dt, GPU, b, s, 2L * h, d);
                    Ops.copyInto(hc.transpose(1, 2), dstC.slice(2, h, 2L * h));
                    Ops.copyInto(hg.transpose(1, 2), dstG.slice(2, h, 2L * h));
                    assertArrayEquals(dstC.toFloatArray(), dstG.toFloatArray(), dt + " " + Arrays.toString(sh)
                            + " copyInto " + part);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void layerNormAtEncoderWidths(DType dt) {
        Random rnd = new Random(920 + dt.ordinal());
        int[] widths = {8, 48, 64, 96, 100, 384, 768, 1024, 2048, 2056, 4096};
        for (int cols : widths) {
            int rows = 33;
            float[] x = Reference64.gaussian(rnd, rows * cols, 2);
            for (int i = 0; i < x.length; i++) {
                x[i] += 3f;
            }
            try (Scope s = Tessera.scope()) {
                Tensor[] t = pair(x, dt, rows, cols);
                Tensor[] g = pair(Reference64.gaussian(rnd, cols, 1), dt, cols);
                Tensor[] b = pair(Reference64.gaussian(rnd, cols, 1), dt, cols);
                float[] xr = t[0].toFloatArray();
                double tol = dt == DType.F32 ? 1e-5 : 1e-2;
                poisonGpu(dt, rows, cols);
                assertRel(Ops.layerNorm(t[1], g[1], b[1], 1e-5f).toFloatArray(),
                        Reference64.layerNorm(xr, g[0].toFloatArray(), b[0].toFloatArray(), cols, 1e-5), tol,
                        dt + " cols " + cols);
                assertRel(Ops.layerNorm(t[1], null, null, 1e-12f).toFloatArray(),
                        Reference64.layerNorm(xr, null, null, cols, 1e-12), tol, dt + " cols " + cols + " plain");
                assertRel(Ops.layerNorm(t[1], g[1], null, 1e-5f).toFloatArray(),
                        Reference64.layerNorm(xr, g[0].toFloatArray(), null, cols, 1e-5), tol,
                        dt + " cols " + cols + " gamma only");
            }
        }
        // NaN stays in its row
        float[] x = new float[4 * 768];
        Arrays.fill(x, 1f);
        x[768 + 5] = Float.NaN;
        for (int i = 0; i < x.length; i += 3) {
            x[i] = 2f;
        }
        float[] y = Ops.layerNorm(pair(x, dt, 4, 768)[1], null, null, 1e-5f).toFloatArray();
        for (int r = 0; r < 4; r++) {
            boolean nan = Float.isNaN(y[r * 768 + 100]);
            assertEquals(r == 1, nan, "row " + r + " NaN");
        }
    }

    @Test
    void uploadsFromJavaArraysAreQueuedAndTheArrayIsReusableAtOnce() {
        int n = 10_000_003; // 40 MB: a large staging buffer
        float[] a = new float[n];
        List<Tensor> up = new java.util.ArrayList<>();
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < n; i += 997) {
                a[i] = round * 1000 + i % 1000;
            }
            a[n - 1] = -round;
            up.add(Tensor.of(a, GPU, n)); // no wait for the stream; a is overwritten right after
        }
        int[] ids = new int[777];
        long[] longs = new long[33];
        for (int round = 0; round < 50; round++) { // many small uploads in a row
            Arrays.fill(ids, round);
            Arrays.fill(longs, -round);
            Tensor ti = Tensor.ofInts(ids, GPU, ids.length);
            Tensor tl = Tensor.ofLongs(longs, GPU, longs.length);
            if (round % 7 == 0) {
                float[] fi = ti.toFloatArray();
                float[] fl = tl.toFloatArray();
                assertEquals(round, fi[0]);
                assertEquals(round, fi[776]);
                assertEquals(-round, fl[32]);
            }
        }
        for (int round = 0; round < 5; round++) {
            float[] back = up.get(round).toFloatArray();
            for (int i = 0; i < n - 1; i += 997) {
                assertEquals(round * 1000 + i % 1000, back[i], "round " + round + " element " + i);
            }
            assertEquals(-round, back[n - 1], "round " + round + " last");
        }
        float[] empty = new float[0];
        assertEquals(0, Tensor.of(empty, GPU, 0).toFloatArray().length);
    }

    @Test
    void profilerTimesEachOpKind() {
        var backend = cuda();
        CudaProfiler prof = backend.startProfiling();
        try {
            prof.reset();
            Random rnd = new Random(930);
            Tensor[] x = pair(Reference64.gaussian(rnd, 64 * 32, 1), DType.BF16, 64, 32);
            Tensor[] w = pair(Reference64.gaussian(rnd, 48 * 32, 0.2), DType.BF16, 48, 32);
            Tensor[] b = pair(Reference64.gaussian(rnd, 48, 0.2), DType.BF16, 48);
            Tensor y = Ops.linear(x[1], w[1], b[1], FusedActivation.GELU, null);
            Ops.layerNorm(y, null, null, 1e-5f);
            backend.synchronize(GPU);
            List<CudaProfiler.Row> rows = prof.snapshot();
            List<String> kinds = rows.stream().map(CudaProfiler.Row::kind).toList();
            assertTrue(kinds.contains("gemm bf16 64x48x32"), kinds.toString());
            assertTrue(kinds.contains("linear epilogue +bias gelu"), kinds.toString());
            assertTrue(kinds.contains("layer norm"), kinds.toString());
            for (CudaProfiler.Row r : rows) {
                assertTrue(r.calls() >= 1 && r.totalMs() >= 0 && Double.isFinite(r.totalMs()), r.toString());
            }
            assertTrue(prof.table(1, 0).contains("sum of ops"));
        } finally {
            backend.stopProfiling();
        }
    }
}
