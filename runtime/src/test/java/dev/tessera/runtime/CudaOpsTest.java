package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.bindings.cuda.CudaOutOfMemoryException;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.backend.CudaBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op on CUDA against the same op on the CPU (which {@link CpuOpsTest} checks against the float64
 * reference), as ggml's test-backend-ops does. Inputs are made on the CPU, rounded to the storage type
 * there and copied, so both backends see identical bits. Bounds: fp32 ≤ 1e-5, TF32 matmul ≤ 5e-3,
 * F16/BF16 ≤ 1e-2. GPU outputs are poisoned with NaN before each op (the caching allocator hands the
 * poisoned block back), so an element a kernel forgets to write fails.
 *
 * <p>Skipped, with the reason, where CUDA is unavailable ({@link RequiresCuda}).
 */
class CudaOpsTest extends CudaTestBase {
    static final double F32_TOL = 1e-5;
    static final double TF32_TOL = 5e-3;
    static final double HALF_TOL = 1e-2;


    static CudaBackend cuda() {
        return (CudaBackend) Backends.forType(Device.Type.CUDA);
    }

    // ------------------------------------------------------------------ helpers

    static Tensor cpu(float[] data, long... shape) {
        return Tensor.of(data, Device.CPU, shape);
    }

    /** A CPU tensor in {@code dt} (rounded there) and its copy on the GPU: identical bits on both. */
    static Tensor[] pair(float[] data, DType dt, long... shape) {
        Tensor c = cpu(data, shape);
        if (dt != DType.F32) {
            c = Ops.convert(c, dt);
        }
        Tensor g = c.to(GPU);
        assertEquals(GPU, g.device());
        assertEquals(dt, g.dtype());
        return new Tensor[] {c, g};
    }

    /**
     * Empties the GPU cache, then leaves exactly one cached block of the size of a {@code dt} tensor of
     * {@code shape}, filled with NaN: the next allocation of that size (the op's output) receives it.
     */
    static void poisonGpu(DType dt, long... shape) {
        long n = Shape.numel(shape);
        if (n == 0 || n > (1 << 24)) {
            return;
        }
        cuda().synchronize(GPU);
        cuda().allocator(GPU).emptyCache();
        float[] nan = new float[(int) n];
        Arrays.fill(nan, Float.NaN);
        try (Scope s = Tessera.scope()) {
            Tensor host = cpu(nan, shape);
            if (dt != DType.F32) {
                host = Ops.convert(host, dt);
            }
            host.to(GPU); // closed with s: its block goes back to the cache
        }
        cuda().synchronize(GPU);
    }

    /**
     * The CPU-side matmul reference in float64 (not the CPU backend: the GPU bundle carries no
     * OpenBLAS), rounded to a's dtype. a [..., m, k] · b [..., k, n] or b [k, n]; views allowed.
     */
    static Tensor mm(Tensor a, Tensor b) {
        long[] as = a.shape();
        int m = (int) as[as.length - 2];
        int k = (int) as[as.length - 1];
        int n = (int) b.dim(-1);
        int batch = (int) (a.numel() / Math.max(1L, (long) m * k));
        boolean broadcast = b.rank() == 2;
        double[] r = Reference64.matmul(a.toFloatArray(), b.toFloatArray(), batch, m, k, n, broadcast);
        float[] f = new float[r.length];
        for (int i = 0; i < r.length; i++) {
            f[i] = (float) r[i];
        }
        long[] os = as.clone();
        os[os.length - 1] = n;
        Tensor t = cpu(f, os);
        return a.dtype() == DType.F32 ? t : Ops.convert(t, a.dtype());
    }

    /** float64 reference of linear (x · wᵀ + bias), rounded to x's dtype. */
    static Tensor lin(Tensor x, Tensor w, Tensor bias) {
        int in = (int) w.dim(1);
        int outF = (int) w.dim(0);
        double[] r = Reference64.linear(x.toFloatArray(), w.toFloatArray(), bias == null ? null : bias.toFloatArray(),
                in, outF);
        float[] f = new float[r.length];
        for (int i = 0; i < r.length; i++) {
            f[i] = (float) r[i];
        }
        long[] os = x.shape();
        os[os.length - 1] = outF;
        Tensor t = cpu(f, os);
        return x.dtype() == DType.F32 ? t : Ops.convert(t, x.dtype());
    }

    /** GPU result vs CPU result: device, dtype, shape, then relative error. */
    static void same(Tensor g, Tensor c, double tol, String what) {
        assertEquals(GPU, g.device(), what + ": device");
        assertEquals(c.dtype(), g.dtype(), what + ": dtype");
        assertArrayEquals(c.shape(), g.shape(), what + ": shape");
        float[] ref = c.toFloatArray();
        for (float v : ref) {
            if (Float.isNaN(v)) {
                fail(what + ": the CPU result has NaN (see CpuOpsTest)");
            }
        }
        assertRel(g.toFloatArray(), Reference64.toDouble(ref), tol, what + " (cuda vs cpu)");
    }

    static double tol(DType dt) {
        return dt == DType.F32 ? F32_TOL : HALF_TOL;
    }

    static Stream<Arguments> sizesAndTypes() {
        List<Arguments> a = new ArrayList<>();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int r : CpuOpsTest.ROWS) {
                for (int c : CpuOpsTest.COLS) {
                    a.add(Arguments.of(dt, r, c));
                }
            }
            a.add(Arguments.of(dt, 1000, 1000));
            a.add(Arguments.of(dt, 4096, 33));
        }
        return a.stream();
    }

    // ------------------------------------------------------------------ elementwise, norms, softmax, activations

    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @MethodSource("sizesAndTypes")
    void elementwise(DType dt, int rows, int cols) {
        Random rnd = new Random(CpuOpsTest.seed(rows, cols, 100 + dt.ordinal()));
        Tensor[] a = pair(Reference64.gaussian(rnd, rows * cols, 2), dt, rows, cols);
        Tensor[] b = pair(Reference64.awayFromZero(rnd, rows * cols, 0.25, 3), dt, rows, cols);
        Tensor[] row = pair(Reference64.awayFromZero(rnd, cols, 0.25, 3), dt, cols);
        for (BinaryOp op : BinaryOp.values()) {
            poisonGpu(dt, rows, cols);
            same(Ops.binary(op, a[1], b[1]), Ops.binary(op, a[0], b[0]), tol(dt), dt + " " + op);
            poisonGpu(dt, rows, cols);
            same(Ops.binary(op, a[1], row[1]), Ops.binary(op, a[0], row[0]), tol(dt), dt + " row " + op);
        }
        poisonGpu(dt, rows, cols);
        same(Ops.affine(a[1], -1.75f, 0.625f), Ops.affine(a[0], -1.75f, 0.625f), tol(dt), dt + " affine");
        poisonGpu(dt, rows, cols);
        same(Ops.gelu(a[1]), Ops.gelu(a[0]), tol(dt), dt + " gelu");
        poisonGpu(dt, rows, cols);
        same(Ops.geluTanh(a[1]), Ops.geluTanh(a[0]), tol(dt), dt + " geluTanh");
        poisonGpu(dt, rows, cols);
        same(Ops.silu(a[1]), Ops.silu(a[0]), tol(dt), dt + " silu");
        // into a preallocated, poisoned out, and in place
        if (dt == DType.F32) {
            Tensor out = TestSupport.nanTensor(GPU, rows, cols);
            Ops.binary(BinaryOp.SUB, a[1], b[1], out);
            same(out, Ops.sub(a[0], b[0]), F32_TOL, "sub into out");
            Tensor acc = a[1].to(GPU);
            Ops.binary(BinaryOp.MUL, acc, b[1], acc);
            same(acc, Ops.mul(a[0], b[0]), F32_TOL, "in-place mul");
        }
    }

    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @MethodSource("sizesAndTypes")
    void normsAndSoftmax(DType dt, int rows, int cols) {
        Random rnd = new Random(CpuOpsTest.seed(rows, cols, 200 + dt.ordinal()));
        float[] x = Reference64.gaussian(rnd, rows * cols, 2);
        for (int i = 0; i < x.length; i++) {
            x[i] += 1.5f;
        }
        Tensor[] t = pair(x, dt, rows, cols);
        Tensor[] g = pair(Reference64.gaussian(rnd, cols, 1), dt, cols);
        Tensor[] b = pair(Reference64.gaussian(rnd, cols, 1), dt, cols);
        double tol = tol(dt);
        poisonGpu(dt, rows, cols);
        same(Ops.layerNorm(t[1], g[1], b[1], 1e-5f), Ops.layerNorm(t[0], g[0], b[0], 1e-5f), tol, dt + " layerNorm");
        poisonGpu(dt, rows, cols);
        same(Ops.layerNorm(t[1], null, null, 1e-5f), Ops.layerNorm(t[0], null, null, 1e-5f), tol,
                dt + " layerNorm plain");
        same(Ops.layerNorm(t[1], g[1], null, 1e-5f), Ops.layerNorm(t[0], g[0], null, 1e-5f), tol,
                dt + " layerNorm gamma");
        same(Ops.layerNorm(t[1], null, b[1], 1e-5f), Ops.layerNorm(t[0], null, b[0], 1e-5f), tol,
                dt + " layerNorm beta");
        poisonGpu(dt, rows, cols);
        same(Ops.rmsNorm(t[1], g[1], 1e-6f), Ops.rmsNorm(t[0], g[0], 1e-6f), tol, dt + " rmsNorm");
        poisonGpu(dt, rows, cols);
        same(Ops.rmsNorm(t[1], null, 1e-6f), Ops.rmsNorm(t[0], null, 1e-6f), tol, dt + " rmsNorm plain");
        poisonGpu(dt, rows, cols);
        same(Ops.softmax(t[1]), Ops.softmax(t[0]), tol, dt + " softmax");
        if (rows <= cols) {
            Tensor c3 = t[0].reshape(1, rows, cols);
            Tensor g3 = t[1].reshape(1, rows, cols);
            poisonGpu(dt, 1, rows, cols);
            same(Ops.softmax(g3, true), Ops.softmax(c3, true), tol, dt + " causal softmax q " + rows + " k " + cols);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void causalSoftmaxShapes(DType dt) {
        int[][] shapes = {{1, 5, 9}, {3, 5, 9}, {2, 5, 5}, {1, 1, 1}, {4, 1, 7}, {2, 33, 33}, {2, 16, 1000},
            {8, 128, 128}, {2, 64, 4097}};
        for (int[] s : shapes) {
            float[] x = Reference64.gaussian(new Random(s[0] * 1000 + s[1] * 10 + s[2]), s[0] * s[1] * s[2], 3);
            Tensor[] t = pair(x, dt, s[0], s[1], s[2]);
            poisonGpu(dt, s[0], s[1], s[2]);
            Tensor g = Ops.softmax(t[1], true);
            same(g, Ops.softmax(t[0], true), tol(dt), dt + " causal " + Arrays.toString(s));
            // masked entries exactly 0 on the GPU too
            float[] o = g.toFloatArray();
            int q = s[1];
            int k = s[2];
            for (int r = 0; r < s[0] * q; r++) {
                for (int j = r % q + (k - q) + 1; j < k; j++) {
                    assertEquals(0f, o[r * k + j], "masked entry row " + r + " col " + j);
                }
            }
        }
    }

    @Test
    void nanPropagatesLikeOnTheCpu() {
        float[] x = Reference64.gaussian(new Random(300), 3 * 100, 1);
        x[100 + 42] = Float.NaN;
        Tensor[] t = pair(x, DType.F32, 3, 100);
        for (Function<Tensor, Tensor> op : List.<Function<Tensor, Tensor>>of(Ops::softmax,
                v -> Ops.layerNorm(v, null, null, 1e-5f), v -> Ops.rmsNorm(v, null, 1e-5f))) {
            float[] g = op.apply(t[1]).toFloatArray();
            float[] c = op.apply(t[0]).toFloatArray();
            for (int i = 0; i < g.length; i++) {
                if (Float.isNaN(c[i]) != Float.isNaN(g[i])) {
                    fail("element " + i + ": cpu " + c[i] + ", cuda " + g[i]);
                }
            }
            assertTrue(Float.isNaN(g[100]), "the NaN row is NaN on the GPU");
        }
    }

    @Test
    void activationsAtLargeMagnitude() {
        float[] x = {-1000f, -100f, -30f, -20f, -10f, -5f, 5f, 10f, 20f, 30f, 100f, 1000f, -88.7f, 88.7f, -9.5f, 9.5f};
        Tensor[] t = pair(x, DType.F32, x.length);
        same(Ops.gelu(t[1]), Ops.gelu(t[0]), F32_TOL, "gelu ±large");
        same(Ops.geluTanh(t[1]), Ops.geluTanh(t[0]), F32_TOL, "geluTanh ±large");
        same(Ops.silu(t[1]), Ops.silu(t[0]), F32_TOL, "silu ±large");
        TestSupport.assertAllFinite(Ops.geluTanh(t[1]).toFloatArray(), "cuda geluTanh");
    }

    // ------------------------------------------------------------------ gather, layout, conversion

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void embedding(DType dt) {
        Random rnd = new Random(400 + dt.ordinal());
        for (int dim : new int[] {1, 7, 33, 4097}) {
            int vocab = 50;
            Tensor[] table = pair(Reference64.gaussian(rnd, vocab * dim, 1), dt, vocab, dim);
            long[] ids = new long[3 * 7];
            int[] ids32 = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i == 0 ? 0 : i == 1 ? vocab - 1 : rnd.nextInt(vocab);
                ids32[i] = (int) ids[i];
            }
            Tensor c = Ops.embedding(Tensor.ofLongs(ids, Device.CPU, 3, 7), table[0]);
            Tensor g64 = Tensor.ofLongs(ids, GPU, 3, 7);
            Tensor g32 = Tensor.ofInts(ids32, GPU, 3, 7);
            poisonGpu(dt, 3, 7, dim);
            same(Ops.embedding(g64, table[1]), c, 0, dt + " embedding I64 dim " + dim);
            poisonGpu(dt, 3, 7, dim);
            same(Ops.embedding(g32, table[1]), c, 0, dt + " embedding I32 dim " + dim);
            // ids as a non-contiguous view
            same(Ops.embedding(g64.t(), table[1]), Ops.embedding(Tensor.ofLongs(ids, Device.CPU, 3, 7).t(), table[0]),
                    0, dt + " embedding of transposed ids");
        }
    }

    @Test
    void embeddingIdOutOfRangeOnTheGpu() {
        Tensor table = Tensor.of(Reference64.gaussian(new Random(401), 40, 1), GPU, 10, 4);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Ops.embedding(Tensor.ofInts(new int[] {0, 9, 3, 10, 2}, GPU, 5), table));
        assertTrue(e.getMessage().contains("position 3"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class,
                () -> Ops.embedding(Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 1L << 33}, GPU, 2, 3), table));
        assertTrue(e.getMessage().contains("position 5"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class,
                () -> Ops.embedding(Tensor.ofLongs(new long[] {-1}, GPU, 1), table));
        assertTrue(e.getMessage().contains("position 0"), e.getMessage());
        // the backend is still usable after the error
        same(Ops.embedding(Tensor.ofInts(new int[] {3}, GPU, 1), table),
                Ops.embedding(Tensor.ofInts(new int[] {3}, Device.CPU, 1), table.to(Device.CPU)), 0, "after error");
    }

    @Test
    void transposeAndStridedCopy() {
        Random rnd = new Random(500);
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int[] s : new int[][] {{2, 3, 5, 7}, {1, 1, 1, 1}, {1, 3, 1, 9}, {2, 1, 64, 100}, {1, 1, 1000, 33}}) {
                Tensor[] t = pair(Reference64.gaussian(rnd, s[0] * s[1] * s[2] * s[3], 1), dt, s[0], s[1], s[2], s[3]);
                poisonGpu(dt, s[0], s[1], s[3], s[2]);
                same(Ops.transpose(t[1]), Ops.transpose(t[0]), 0, dt + " transpose " + Arrays.toString(s));
                // strided copies of views
                same(t[1].transpose(0, 2).contiguous(), t[0].transpose(0, 2).contiguous(), 0, dt + " permuted copy");
                same(t[1].slice(3, 0, Math.max(1, s[3] / 2)).contiguous(),
                        t[0].slice(3, 0, Math.max(1, s[3] / 2)).contiguous(), 0, dt + " sliced copy");
            }
        }
        long[] l = new long[2 * 5 * 7];
        int[] iv = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = rnd.nextInt(1 << 20) - (1 << 19);
            iv[i] = (int) l[i];
        }
        same(Ops.transpose(Tensor.ofLongs(l, GPU, 2, 5, 7)), Ops.transpose(Tensor.ofLongs(l, Device.CPU, 2, 5, 7)), 0,
                "transpose I64");
        same(Ops.transpose(Tensor.ofInts(iv, GPU, 2, 5, 7)), Ops.transpose(Tensor.ofInts(iv, Device.CPU, 2, 5, 7)), 0,
                "transpose I32");
        assertArrayEquals(Tensor.ofInts(iv, GPU, 2, 5, 7).t().contiguous().toIntArray(),
                Tensor.ofInts(iv, Device.CPU, 2, 5, 7).t().contiguous().toIntArray());
    }

    @Test
    void halfToF32ConversionOfEveryBitPattern() {
        short[] bits = new short[65536];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (short) i;
        }
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            Tensor h = TestSupport.rawHalfTensor(dt, bits);
            int[] c = TestSupport.rawF32Bits(Ops.convert(h, DType.F32));
            int[] g = TestSupport.rawF32Bits(Ops.convert(h.to(GPU), DType.F32).to(Device.CPU));
            for (int i = 0; i < bits.length; i++) {
                float cf = Float.intBitsToFloat(c[i]);
                float gf = Float.intBitsToFloat(g[i]);
                boolean ok = Float.isNaN(cf) ? Float.isNaN(gf) : c[i] == g[i];
                if (!ok) {
                    fail(dt + " " + hex16(i) + " → cuda " + gf + ", cpu " + cf);
                }
            }
            // and to the other 16-bit type
            DType other = dt == DType.F16 ? DType.BF16 : DType.F16;
            short[] cc = TestSupport.rawHalfBits(Ops.convert(h, other));
            short[] gg = TestSupport.rawHalfBits(Ops.convert(h.to(GPU), other).to(Device.CPU));
            for (int i = 0; i < bits.length; i++) {
                boolean ok = CpuOpsTest.isHalfNaN(cc[i], other) ? CpuOpsTest.isHalfNaN(gg[i], other) : cc[i] == gg[i];
                if (!ok) {
                    fail(dt + " → " + other + " " + hex16(i) + ": cuda " + hex16(gg[i]) + ", cpu " + hex16(cc[i]));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void f32ToHalfOnTheGpuIsRoundToNearestEven(DType dt) {
        float[] x = CpuOpsTest.conversionInputs();
        Tensor g = Ops.convert(Tensor.of(x, GPU, x.length), dt);
        assertEquals(GPU, g.device());
        short[] got = TestSupport.rawHalfBits(g.to(Device.CPU));
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < x.length; i++) {
            short want = dt == DType.F16 ? Reference64.toF16Bits(x[i]) : Reference64.toBf16Bits(x[i]);
            boolean ok = Float.isNaN(x[i]) ? CpuOpsTest.isHalfNaN(got[i], dt) : got[i] == want;
            if (!ok && bad++ < 10) {
                sb.append(String.format("%n  %s (0x%08x) → %s, expected %s", x[i], Float.floatToRawIntBits(x[i]),
                        hex16(got[i]), hex16(want)));
            }
        }
        if (bad > 0) {
            fail("cuda F32 → " + dt + ": " + bad + " of " + x.length + " differ:" + sb);
        }
        // and back: F16/BF16 → F32 on the GPU is exact
        float[] back = Ops.convert(g, DType.F32).toFloatArray();
        float[] ref = Reference64.round(x, dt);
        for (int i = 0; i < x.length; i++) {
            boolean ok = Float.isNaN(ref[i]) ? Float.isNaN(back[i])
                    : Float.floatToRawIntBits(ref[i]) == Float.floatToRawIntBits(back[i]);
            if (!ok) {
                fail("round trip of " + x[i] + ": " + back[i] + ", expected " + ref[i]);
            }
        }
    }

    // ------------------------------------------------------------------ matmul

    static Stream<Arguments> matmulCases() {
        List<Arguments> a = new ArrayList<>();
        int[][] sizes = {{1, 1, 1}, {7, 5, 3}, {64, 33, 17}, {128, 256, 64}, {1, 33, 7}, {9, 1, 4}, {5, 17, 1},
            {256, 512, 384}};
        for (int[] s : sizes) {
            a.add(Arguments.of(DType.F32, MatmulPrecision.FP32, s[0], s[1], s[2]));
            a.add(Arguments.of(DType.F32, MatmulPrecision.TF32, s[0], s[1], s[2]));
            a.add(Arguments.of(DType.F16, MatmulPrecision.FP32, s[0], s[1], s[2]));
            a.add(Arguments.of(DType.BF16, MatmulPrecision.FP32, s[0], s[1], s[2]));
        }
        return a.stream();
    }

    static double matmulTol(DType dt, MatmulPrecision p) {
        return dt != DType.F32 ? HALF_TOL : p == MatmulPrecision.TF32 ? TF32_TOL : F32_TOL;
    }

    @ParameterizedTest(name = "{0} {1} m {2} k {3} n {4}")
    @MethodSource("matmulCases")
    void matmulPlainAndTransposed(DType dt, MatmulPrecision p, int m, int k, int n) {
        Random rnd = new Random(CpuOpsTest.seed(m, k, n));
        float[] a = Reference64.gaussian(rnd, m * k, 1);
        float[] b = Reference64.gaussian(rnd, k * n, 1);
        double tol = matmulTol(dt, p);
        Tensor[] ta = pair(a, dt, m, k);
        Tensor[] tb = pair(b, dt, k, n);
        Tensor[] taT = pair(Reference64.transposed(a, m, k), dt, k, m);
        Tensor[] tbT = pair(Reference64.transposed(b, k, n), dt, n, k);
        Tensor ref = mm(ta[0], tb[0]);
        poisonGpu(dt, m, n);
        same(Ops.matmul(ta[1], tb[1], p), ref, tol, "matmul");
        poisonGpu(dt, m, n);
        same(Ops.matmul(taT[1].t(), tb[1], p), ref, tol, "matmul a.t()");
        poisonGpu(dt, m, n);
        same(Ops.matmul(ta[1], tbT[1].t(), p), ref, tol, "matmul b.t()");
        poisonGpu(dt, m, n);
        same(Ops.matmul(taT[1].t(), tbT[1].t(), p), ref, tol, "matmul a.t() b.t()");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("precisions")
    void matmulBatchedBroadcastAndSliced(DType dt, MatmulPrecision p) {
        Random rnd = new Random(600 + dt.ordinal());
        double tol = matmulTol(dt, p);
        Tensor[] a = pair(Reference64.gaussian(rnd, 3 * 4 * 5, 1), dt, 3, 4, 5);
        Tensor[] b = pair(Reference64.gaussian(rnd, 3 * 5 * 6, 1), dt, 3, 5, 6);
        poisonGpu(dt, 3, 4, 6);
        same(Ops.matmul(a[1], b[1], p), mm(a[0], b[0]), tol, "batched");
        same(Ops.matmul(a[1], b[1].transpose(1, 2).contiguous().transpose(1, 2), p), mm(a[0], b[0]), tol,
                "batched, b as a transposed view");

        Tensor[] a4 = pair(Reference64.gaussian(rnd, 2 * 3 * 4 * 5, 1), dt, 2, 3, 4, 5);
        Tensor[] w = pair(Reference64.gaussian(rnd, 5 * 6, 1), dt, 5, 6);
        poisonGpu(dt, 2, 3, 4, 6);
        same(Ops.matmul(a4[1], w[1], p), mm(a4[0], w[0]), tol, "broadcast b");
        same(Ops.matmul(a4[1].transpose(0, 1), w[1], p), mm(a4[0].transpose(0, 1), w[0]), tol,
                "broadcast b, permuted a");

        Tensor[] bigA = pair(Reference64.gaussian(rnd, 17 * 27, 1), dt, 17, 27);
        Tensor[] bigB = pair(Reference64.gaussian(rnd, 24 * 19, 1), dt, 24, 19);
        same(Ops.matmul(bigA[1].slice(0, 3, 16).slice(1, 4, 25), bigB[1].slice(0, 1, 22).slice(1, 5, 16), p),
                mm(bigA[0].slice(0, 3, 16).slice(1, 4, 25), bigB[0].slice(0, 1, 22).slice(1, 5, 16)), tol,
                "sliced");
        same(Ops.matmul(bigA[1].slice(1, 2, 15).t(), bigA[1].slice(1, 3, 14), p),
                mm(bigA[0].slice(1, 2, 15).t(), bigA[0].slice(1, 3, 14)), tol, "sliced transposed");
        Tensor[] big3 = pair(Reference64.gaussian(rnd, 3 * 4 * 8, 1), dt, 3, 4, 8);
        same(Ops.matmul(big3[1].slice(2, 1, 6), b[1], p), mm(big3[0].slice(2, 1, 6), b[0]), tol,
                "batched slice");

        Tensor[] x = pair(Reference64.gaussian(rnd, 3 * 4 * 33, 1), dt, 3, 4, 33);
        Tensor[] lw = pair(Reference64.gaussian(rnd, 17 * 33, 0.2), dt, 17, 33);
        Tensor[] lb = pair(Reference64.gaussian(rnd, 17, 1), dt, 17);
        if (p == MatmulPrecision.FP32) {
            same(Ops.linear(x[1], lw[1], lb[1]), lin(x[0], lw[0], lb[0]), tol, "linear");
            same(Ops.linear(x[1], lw[1], null), lin(x[0], lw[0], null), tol, "linear, no bias");
        }
    }

    static Stream<Arguments> precisions() {
        return Stream.of(Arguments.of(DType.F32, MatmulPrecision.FP32), Arguments.of(DType.F32, MatmulPrecision.TF32),
                Arguments.of(DType.F16, MatmulPrecision.FP32), Arguments.of(DType.BF16, MatmulPrecision.FP32));
    }

    @Test
    void defaultPrecisionSwitchesToTf32() {
        MatmulPrecision old = Ops.defaultMatmulPrecision();
        try {
            Random rnd = new Random(700);
            Tensor[] a = pair(Reference64.gaussian(rnd, 64 * 128, 1), DType.F32, 64, 128);
            Tensor[] b = pair(Reference64.gaussian(rnd, 128 * 32, 1), DType.F32, 128, 32);
            Ops.setDefaultMatmulPrecision(MatmulPrecision.TF32);
            same(Ops.matmul(a[1], b[1]), mm(a[0], b[0]), TF32_TOL, "default TF32");
            Ops.setDefaultMatmulPrecision(MatmulPrecision.FP32);
            same(Ops.matmul(a[1], b[1]), mm(a[0], b[0]), F32_TOL, "default FP32");
        } finally {
            Ops.setDefaultMatmulPrecision(old);
        }
    }

    @Test
    void zeroSizeTensorsLaunchNothingBad() {
        // an empty grid is a launch error on CUDA: kernels must return early on n == 0
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            Tensor e = pair(new float[0], dt, 3, 0)[1];
            Tensor e2 = pair(new float[0], dt, 0, 5)[1];
            assertArrayEquals(new long[] {3, 0}, Ops.add(e, e).shape());
            assertArrayEquals(new long[] {0, 5}, Ops.binary(BinaryOp.DIV, e2, pair(new float[5], dt, 5)[1]).shape());
            assertArrayEquals(new long[] {3, 0}, Ops.affine(e, 2f, 1f).shape());
            assertArrayEquals(new long[] {3, 0}, Ops.softmax(e).shape());
            assertArrayEquals(new long[] {0, 5}, Ops.softmax(e2, true).shape());
            assertArrayEquals(new long[] {3, 0}, Ops.layerNorm(e, null, null, 1e-5f).shape());
            assertArrayEquals(new long[] {0, 5}, Ops.rmsNorm(e2, null, 1e-5f).shape());
            assertArrayEquals(new long[] {3, 0}, Ops.gelu(e).shape());
            assertArrayEquals(new long[] {3, 0}, Ops.silu(e).shape());
            assertArrayEquals(new long[] {0, 3}, Ops.transpose(e).shape());
            assertArrayEquals(new long[] {3, 0}, Ops.convert(e, DType.F32).shape());
            assertArrayEquals(new long[] {0, 2}, Ops.matmul(e2, pair(new float[10], dt, 5, 2)[1]).shape());
            assertArrayEquals(new float[6], Ops.matmul(pair(new float[0], dt, 2, 0)[1], pair(new float[0], dt, 0, 3)[1])
                    .toFloatArray(), "k = 0 gives zeros");
            assertArrayEquals(new long[] {0, 2},
                    Ops.embedding(Tensor.ofInts(new int[0], GPU, 0), pair(new float[] {1, 2, 3, 4}, dt, 2, 2)[1]).shape());
            assertEquals(0, e.t().contiguous().toFloatArray().length);
        }
        cuda().synchronize(GPU);
    }

    // ------------------------------------------------------------------ devices and copies

    @Test
    void tensorsOnDifferentDevicesAreRefused() {
        Tensor c = cpu(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor g = c.to(GPU);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.add(c, g));
        assertTrue(e.getMessage().contains("cpu") && e.getMessage().contains("cuda:0")
                && e.getMessage().contains("F32[2, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(g, c.t()));
        assertTrue(e.getMessage().contains("different devices"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Ops.embedding(Tensor.ofInts(new int[] {0}, Device.CPU, 1), g));
        assertTrue(e.getMessage().contains("cuda:0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.layerNorm(g, cpu(new float[3], 3), null, 1e-5f));
        assertTrue(e.getMessage().contains("cuda:0") && e.getMessage().contains("cpu"), e.getMessage());
        int n = cuda().deviceCount();
        assertThrows(IllegalArgumentException.class, () -> Tensor.empty(DType.F32, Device.cuda(n), 2));
    }

    @Test
    void copiesBetweenDevicesAreExact() {
        float[] x = Reference64.gaussian(new Random(800), 1000 * 33, 1);
        Tensor g = Tensor.of(x, GPU, 1000, 33);
        assertRel(g.toFloatArray(), x, 0, "round trip");
        assertRel(g.to(GPU).toFloatArray(), x, 0, "device to device");
        assertRel(g.t().toFloatArray(), Reference64.transposed(x, 1000, 33), 0, "view to host");
        assertRel(g.t().to(Device.CPU).toFloatArray(), Reference64.transposed(x, 1000, 33), 0, "view to cpu");
        Tensor z = Tensor.zeros(DType.F32, GPU, 17, 5);
        for (float f : z.toFloatArray()) {
            assertEquals(0f, f);
        }
        Tensor h = Tensor.empty(DType.F32, GPU, 3);
        h.copyFrom(new float[] {1, 2, 3});
        assertArrayEquals(new float[] {1, 2, 3}, h.toFloatArray());
        float[] into = {9, 9, 9, 9, 9};
        h.copyTo(into, 1);
        assertArrayEquals(new float[] {9, 1, 2, 3, 9}, into, "copyTo from the device into a reused array");
    }

    // ------------------------------------------------------------------ memory

    @Test
    void hotLoopNeedsNoRawDeviceMalloc() {
        CudaBackend cb = cuda();
        Random rnd = new Random(900);
        Tensor x = Tensor.of(Reference64.gaussian(rnd, 64 * 256, 1), GPU, 64, 256);
        Tensor w = Tensor.of(Reference64.gaussian(rnd, 256 * 256, 0.05), GPU, 256, 256);
        Tensor gm = Tensor.of(Reference64.gaussian(rnd, 256, 1), GPU, 256);
        Tensor ids = Tensor.ofInts(new int[] {1, 5, 9}, GPU, 3);
        for (int i = 0; i < 50; i++) {
            step(x, w, gm, ids, i);
        }
        cb.synchronize(GPU);
        Backend.MemoryStats warm = cb.memoryStats(GPU);
        long mallocs = cb.allocator(GPU).rawMallocs();
        for (int i = 0; i < 3000; i++) {
            step(x, w, gm, ids, i);
        }
        cb.synchronize(GPU);
        Backend.MemoryStats after = cb.memoryStats(GPU);
        assertEquals(mallocs, cb.allocator(GPU).rawMallocs(), "cudaMalloc on the hot path");
        assertEquals(warm.allocatedBytes(), after.allocatedBytes(), "device bytes still allocated after the loop");
        assertEquals(warm.reservedBytes(), after.reservedBytes(), "the cache grew during the loop");
    }

    private static void step(Tensor x, Tensor w, Tensor g, Tensor ids, int i) {
        try (Scope s = Tessera.scope()) {
            Tensor y = Ops.layerNorm(Ops.add(x, x), g, null, 1e-5f);
            Tensor z = Ops.gelu(Ops.matmul(y, w));
            Tensor p = Ops.softmax(z.reshape(4, 16, 256), true);
            Tensor h = Ops.convert(p, DType.BF16);
            Tensor e = Ops.embedding(ids, w);
            Tensor t = Ops.transpose(z.slice(0, 0, 8));
            if (i % 500 == 0) {
                assertTrue(Float.isFinite(h.toFloatArray()[0]) && Float.isFinite(e.toFloatArray()[0])
                        && Float.isFinite(t.toFloatArray()[0]));
            }
        }
    }

    @Test
    void outOfMemoryIsTypedAndRecoverable() {
        CudaBackend cb = cuda();
        long before = cb.memoryStats(GPU).allocatedBytes();
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> Tensor.empty(DType.F32, GPU, 1L << 40)); // 4 TiB
        assertTrue(e.getMessage().contains("cudaMalloc"), e.getMessage());
        assertEquals(before, cb.memoryStats(GPU).allocatedBytes());
        // the device still works
        float[] x = {1, 2, 3};
        assertArrayEquals(x, Tensor.of(x, GPU, 3).toFloatArray());
    }

    @Test
    void emptyCacheReturnsCachedBlocks() {
        CudaBackend cb = cuda();
        try (Scope s = Tessera.scope()) {
            for (int i = 0; i < 8; i++) {
                Tensor.empty(DType.F32, GPU, 1 << (10 + i));
            }
        }
        cb.synchronize(GPU);
        Backend.MemoryStats st = cb.memoryStats(GPU);
        assertTrue(st.reservedBytes() > st.allocatedBytes());
        cb.allocator(GPU).emptyCache();
        assertEquals(cb.memoryStats(GPU).allocatedBytes(), cb.memoryStats(GPU).reservedBytes());
        assertTrue(cb.availability().reason().isEmpty());
    }
}
