package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.testing.ScopePerTest;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fused linear layer ({@link Ops#linear(Tensor, Tensor, Tensor, FusedActivation, Tensor)} and its
 * {@link PackedWeight} form) on the CPU backend against a float64 Java reference: odd sizes (every tail of the
 * register tiles and panels), with and without bias, each activation, a residual, views as input, 3-D inputs.
 */
@ExtendWith(ScopePerTest.class)
class LinearTest {
    private static final double TOL = 1e-5;
    private static Tensor f32(float[] data, long... shape) {
        return Tensor.of(data, Device.CPU, shape);
    }

    /** act(x · wᵀ + bias) + res in float64 (x [rows, in], w [out, in]). */
    private static double[] reference(float[] x, float[] w, float[] bias, FusedActivation act, float[] res, int in,
            int outF) {
        double[] y = Reference64.linear(x, w, bias, in, outF);
        for (int i = 0; i < y.length; i++) {
            double v = switch (act) {
                case NONE -> y[i];
                case GELU -> Reference64.gelu(y[i]);
                case GELU_TANH -> Reference64.geluTanh(y[i]);
                case SILU -> Reference64.silu(y[i]);
                case QUICK_GELU -> Reference64.unary(UnaryOp.QUICK_GELU, y[i]);
                case RELU -> Reference64.unary(UnaryOp.RELU, y[i]);
            };
            y[i] = v + (res == null ? 0 : res[i]);
        }
        return y;
    }

    @Test
    void packedAndUnpackedMatchFloat64OnOddSizes() {
        Random rnd = new Random(11);
        int[] ms = {1, 3, 17, 130};
        int[] ks = {7, 385};
        int[] ns = {1, 33, 1000};
        FusedActivation[] acts = FusedActivation.values();
        int c = 0;
        for (int m : ms) {
            for (int k : ks) {
                for (int n : ns) {
                    FusedActivation act = acts[c % acts.length];
                    boolean withBias = c % 3 != 2;
                    boolean withRes = c % 2 == 1;
                    c++;
                    float[] x = Reference64.gaussian(rnd, m * k, 1.0);
                    float[] w = Reference64.gaussian(rnd, n * k, 1.0 / Math.sqrt(k));
                    float[] b = withBias ? Reference64.gaussian(rnd, n, 0.5) : null;
                    float[] r = withRes ? Reference64.gaussian(rnd, m * n, 1.0) : null;
                    double[] ref = reference(x, w, b, act, r, k, n);
                    String what = "m=" + m + " k=" + k + " n=" + n + " " + act + (withBias ? " +bias" : "")
                            + (withRes ? " +residual" : "");
                    Tensor xt = f32(x, m, k);
                    Tensor wt = f32(w, n, k);
                    Tensor bt = b == null ? null : f32(b, n);
                    Tensor rt = r == null ? null : f32(r, m, n);
                    try (PackedWeight pw = PackedWeight.pack(wt)) {
                        assertTrue(pw.isPacked(), "an F32 CPU weight is packed");
                        TestSupport.poisonNextAllocation((long) m * n);
                        Tensor y = Ops.linear(xt, pw, bt, act, rt);
                        TestSupport.assertShape(y, m, n);
                        assertRel(y.toFloatArray(), ref, TOL, "packed " + what);
                    }
                    TestSupport.poisonNextAllocation((long) m * n);
                    Tensor y2 = Ops.linear(xt, wt, bt, act, rt);
                    assertRel(y2.toFloatArray(), ref, TOL, "unpacked " + what);
                }
            }
        }
    }

    @Test
    void largeProductsSpanSeveralKSlicesAndRowBlocks() {
        // k > 1024 (three equal k slices, the last one shorter, partial sums through C) and m > 384 (several
        // row blocks per panel)
        Random rnd = new Random(12);
        int m = 400;
        int k = 2100;
        int n = 70;
        float[] x = Reference64.gaussian(rnd, m * k, 1.0);
        float[] w = Reference64.gaussian(rnd, n * k, 0.05);
        float[] b = Reference64.gaussian(rnd, n, 0.5);
        float[] r = Reference64.gaussian(rnd, m * n, 1.0);
        try (PackedWeight pw = PackedWeight.pack(f32(w, n, k))) {
            Tensor y = Ops.linear(f32(x, m, k), pw, f32(b, n), FusedActivation.GELU, f32(r, m, n));
            assertRel(y.toFloatArray(), reference(x, w, b, FusedActivation.GELU, r, k, n), TOL, "400x2100x70");
        }
    }

    /** x [m, k], w [n, k] and bias [n] of a random product of size {m, k, n}. */
    private record Product(int m, int k, int n, float[] x, float[] w, float[] b) {
        static Product random(Random rnd, int[] mkn) {
            int m = mkn[0];
            int k = mkn[1];
            int n = mkn[2];
            return new Product(m, k, n, Reference64.gaussian(rnd, m * k, 1.0),
                    Reference64.gaussian(rnd, n * k, 1.0 / Math.sqrt(k)), Reference64.gaussian(rnd, n, 0.5));
        }
    }

    @Test
    void rowBlocksCoverEveryRowOnceForAnyThreadCount() {
        // the packed GEMM cuts the rows into blocks balanced to the register tile, a multiple of the thread count,
        // one region of whole blocks per thread whose tail the others may take over: a row left out or computed twice (k > 1024: partial sums through C,
        // so a second pass over a row adds its product again) shows against the reference; and however the rows
        // are cut, each row is summed the same way, so every thread count gives the same bits
        Random rnd = new Random(13);
        int[][] mkn = {{1024, 96, 70}, {1001, 64, 33}, {13, 40, 32}, {25, 1100, 20}, {300, 50, 384}, {577, 33, 1},
            {40, 2100, 64}};
        int prev = dev.tessera.bindings.TesseraNative.tsr_cpu_threads();
        try {
            for (int[] c : mkn) {
                Product pr = Product.random(rnd, c);
                final int m = pr.m(), k = pr.k(), n = pr.n();
                final float[] x = pr.x(), w = pr.w(), b = pr.b();
                float[] r = Reference64.gaussian(rnd, m * n, 1.0);
                double[] ref = reference(x, w, b, FusedActivation.NONE, r, k, n);
                float[] first = null;
                try (PackedWeight pw = PackedWeight.pack(f32(w, n, k))) {
                    for (int threads : new int[] {1, 2, 3, 4, 7}) {
                        dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(threads);
                        String what = "threads=" + threads + " m=" + m + " k=" + k + " n=" + n;
                        TestSupport.poisonNextAllocation((long) m * n);
                        float[] y = Ops.linear(f32(x, m, k), pw, f32(b, n), FusedActivation.NONE, f32(r, m, n))
                                .toFloatArray();
                        assertRel(y, ref, TOL, what);
                        if (first == null) {
                            first = y;
                        } else {
                            org.junit.jupiter.api.Assertions.assertArrayEquals(first, y, what + ": same bits as 1 thread");
                        }
                    }
                }
            }
        } finally {
            dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(prev);
        }
    }

    @Test
    void threadsAtDifferentSpeedsShareTheWorkAndGiveTheSameBits() throws Exception {
        // Threads take over the tails of each other's regions: with busy Java threads competing for the cores, which
        // thread computes which tile changes from call to call (k slices included: a slice's partial sums go through
        // C and the next slice must see them). Every call must still give the reference's values and the same bits.
        Random rnd = new Random(29);
        int[][] mkn = {{197, 768, 96}, {1024, 1100, 70}, {40, 2100, 300}, {13, 64, 1000}};
        int prev = dev.tessera.bindings.TesseraNative.tsr_cpu_threads();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread[] hogs = new Thread[2];
        for (int i = 0; i < hogs.length; i++) {
            hogs[i] = new Thread(() -> {
                long v = 0;
                while (!stop.get()) {
                    v += System.nanoTime() % 7;
                }
                if (v == 42) {
                    System.out.print("");
                }
            });
            hogs[i].setDaemon(true);
        }
        try {
            for (int[] c : mkn) {
                Product pr = Product.random(rnd, c);
                final int m = pr.m(), k = pr.k(), n = pr.n();
                final float[] x = pr.x(), w = pr.w(), b = pr.b();
                double[] ref = reference(x, w, b, FusedActivation.GELU, null, k, n);
                try (PackedWeight pw = PackedWeight.pack(f32(w, n, k))) {
                    dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(1);
                    float[] first = Ops.linear(f32(x, m, k), pw, f32(b, n), FusedActivation.GELU, null).toFloatArray();
                    assertRel(first, ref, TOL, "1 thread m=" + m);
                    for (int round = 0; round < 12; round++) {
                        if (round == 4) {
                            for (Thread h : hogs) {
                                if (!h.isAlive()) {
                                    h.start();
                                }
                            }
                        }
                        int threads = 2 + round % 3;
                        dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(threads);
                        float[] y = Ops.linear(f32(x, m, k), pw, f32(b, n), FusedActivation.GELU, null).toFloatArray();
                        org.junit.jupiter.api.Assertions.assertArrayEquals(first, y,
                                "round " + round + ", threads=" + threads + " m=" + m + " k=" + k + " n=" + n
                                        + ": same bits as 1 thread");
                    }
                }
            }
        } finally {
            stop.set(true);
            for (Thread h : hogs) {
                if (h.isAlive()) {
                    h.join();
                }
            }
            dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(prev);
        }
    }

    @Test
    void callersOnSeveralJavaThreadsGetTheirOwnProducts() throws Exception {
        // One caller at a time has the pool; the others run their product's regions on their own thread. Whoever
        // runs which region, each caller gets its own product, bit for bit what it gets alone.
        Random rnd = new Random(31);
        int[][] mkn = {{197, 768, 200}, {1024, 1100, 70}, {40, 300, 2100}, {5, 64, 1000}};
        Product[] products = new Product[mkn.length];
        PackedWeight[] packed = new PackedWeight[mkn.length];
        float[][] alone = new float[mkn.length][];
        int prev = dev.tessera.bindings.TesseraNative.tsr_cpu_threads();
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(2);
            for (int i = 0; i < mkn.length; i++) {
                products[i] = Product.random(rnd, mkn[i]);
                packed[i] = PackedWeight.pack(f32(products[i].w(), products[i].n(), products[i].k()));
                alone[i] = linear(products[i], packed[i]);
                assertRel(alone[i], reference(products[i].x(), products[i].w(), products[i].b(), FusedActivation.GELU,
                        null, products[i].k(), products[i].n()), TOL, "alone, m=" + products[i].m());
            }
            java.util.List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int first = t;
                runs.add(callers.submit(() -> {
                    for (int call = 0; call < 24; call++) {
                        int i = (first + call) % mkn.length;
                        org.junit.jupiter.api.Assertions.assertArrayEquals(alone[i], linear(products[i], packed[i]),
                                "caller " + first + ", call " + call + ", m=" + products[i].m());
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : runs) {
                f.get(5, java.util.concurrent.TimeUnit.MINUTES);
            }
        } finally {
            callers.shutdownNow();
            for (PackedWeight pw : packed) {
                if (pw != null) {
                    pw.close();
                }
            }
            dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(prev);
        }
    }

    private static float[] linear(Product p, PackedWeight pw) {
        try (Tensor x = f32(p.x(), p.m(), p.k()); Tensor b = f32(p.b(), p.n());
                Tensor y = Ops.linear(x, pw, b, FusedActivation.GELU, null)) {
            return y.toFloatArray();
        }
    }

    @Test
    void viewsAndThreeDimensionalInputs() {
        Random rnd = new Random(13);
        int b = 2;
        int s = 5;
        int k = 40;
        int n = 37;
        float[] wide = Reference64.gaussian(rnd, b * s * (k + 3), 1.0);
        float[] w = Reference64.gaussian(rnd, n * k, 0.2);
        float[] bias = Reference64.gaussian(rnd, n, 0.5);
        Tensor xw = f32(wide, b, s, k + 3);
        Tensor xv = xw.slice(2, 1, k + 1);  // rows k + 3 apart: read in place
        float[] x = xv.contiguous().toFloatArray();
        Tensor weight = f32(w, n, k);
        double[] ref = reference(x, w, bias, FusedActivation.SILU, null, k, n);
        try (PackedWeight pw = PackedWeight.pack(weight)) {
            Tensor y = Ops.linear(xv, pw, f32(bias, n), FusedActivation.SILU, null);
            TestSupport.assertShape(y, b, s, n);
            assertRel(y.toFloatArray(), ref, TOL, "sliced 3-D input, packed");
            // a transposed input view (gathered) and a 1-D input
            Tensor xt = f32(Reference64.transposed(x, b * s, k), k, b * s).t();
            assertRel(Ops.linear(xt, pw, f32(bias, n), FusedActivation.SILU, null).toFloatArray(), ref, TOL,
                    "transposed input");
            float[] row = new float[k];
            System.arraycopy(x, 0, row, 0, k);
            Tensor y1 = Ops.linear(f32(row, k), pw, f32(bias, n), FusedActivation.SILU, null);
            TestSupport.assertShape(y1, n);
            assertRel(y1.toFloatArray(), reference(row, w, bias, FusedActivation.SILU, null, k, n), TOL, "1-D input");
        }
        // a weight given as a transposed view ([in, out] stored) and a residual view
        Tensor wT = f32(Reference64.transposed(w, n, k), k, n).t();
        float[] res = Reference64.gaussian(rnd, b * s * n, 1.0);
        Tensor resView = f32(Reference64.transposed(res, b * s, n), n, b * s).t();  // [b*s, n], strides [1, b*s]
        double[] ref2 = reference(x, w, null, FusedActivation.NONE, res, k, n);
        Tensor x2 = f32(x, b * s, k);
        assertRel(Ops.linear(x2, wT, null, FusedActivation.NONE, resView).toFloatArray(), ref2, TOL,
                "transposed weight and residual views, unpacked");
        try (PackedWeight pw = PackedWeight.pack(wT)) {
            assertRel(Ops.linear(x2, pw, null, null, resView).toFloatArray(), ref2, TOL,
                    "transposed weight and residual views, packed");
        }
    }

    @Test
    void nanPropagatesAndEmptySizesWork() {
        Random rnd = new Random(14);
        int m = 4;
        int k = 9;
        int n = 20;
        float[] x = Reference64.gaussian(rnd, m * k, 1.0);
        x[2 * k + 3] = Float.NaN;
        float[] w = Reference64.gaussian(rnd, n * k, 0.3);
        try (PackedWeight pw = PackedWeight.pack(f32(w, n, k))) {
            float[] y = Ops.linear(f32(x, m, k), pw, null, FusedActivation.GELU, null).toFloatArray();
            for (int j = 0; j < n; j++) {
                assertTrue(Float.isNaN(y[2 * n + j]), "row with a NaN input is NaN at " + j);
                assertFalse(Float.isNaN(y[j]), "other rows are finite");
            }
            TestSupport.assertShape(Ops.linear(Tensor.zeros(DType.F32, Device.CPU, 0, k), pw, null, null, null), 0, n);
        }
        // k = 0: the output is the bias alone
        float[] bias = {1f, -2f, 3f};
        try (PackedWeight pw = PackedWeight.pack(Tensor.zeros(DType.F32, Device.CPU, 3, 0))) {
            float[] y = Ops.linear(Tensor.zeros(DType.F32, Device.CPU, 2, 0), pw, f32(bias, 3), null, null)
                    .toFloatArray();
            assertRel(y, new double[] {1, -2, 3, 1, -2, 3}, 0, "k = 0");
        }
    }

    @Test
    void fusedActivationsAreAccurateElementwise() {
        // an identity layer (k = n = 1, weight 1) shows the epilogue's activation value by value
        int m = 4003;
        float[] x = new float[m];
        for (int i = 0; i < m - 3; i++) {
            x[i] = -12f + 24f * i / (m - 4);
        }
        x[m - 3] = Float.POSITIVE_INFINITY;
        x[m - 2] = Float.NEGATIVE_INFINITY;
        x[m - 1] = Float.NaN;
        try (PackedWeight pw = PackedWeight.pack(f32(new float[] {1f}, 1, 1))) {
            for (FusedActivation act : FusedActivation.values()) {
                float[] y = Ops.linear(f32(x, m, 1), pw, null, act, null).toFloatArray();
                double[] ref = reference(x, new float[] {1f}, null, act, null, 1, 1);
                for (int i = 0; i < m - 3; i++) {
                    double tol = 4e-7 * Math.max(1, Math.abs(x[i]));
                    if (!(Math.abs(y[i] - ref[i]) <= tol)) {
                        throw new AssertionError(act + "(" + x[i] + ") = " + y[i] + ", expected " + ref[i]);
                    }
                }
                assertEquals(Float.POSITIVE_INFINITY, y[m - 3], act + "(+inf)");
                assertTrue(act == FusedActivation.NONE ? y[m - 2] == Float.NEGATIVE_INFINITY : y[m - 2] == 0f,
                        act + "(-inf) = " + y[m - 2]);
                assertTrue(Float.isNaN(y[m - 1]), act + "(NaN) = " + y[m - 1]);
            }
        }
    }

    @Test
    void halfPrecisionWeightsRunThroughTheFp32Path() {
        Random rnd = new Random(15);
        int m = 6;
        int k = 24;
        int n = 10;
        float[] x = Reference64.round(Reference64.gaussian(rnd, m * k, 1.0), DType.BF16);
        float[] w = Reference64.round(Reference64.gaussian(rnd, n * k, 0.3), DType.BF16);
        Tensor xb = f32(x, m, k).to(DType.BF16);
        try (PackedWeight pw = PackedWeight.pack(f32(w, n, k).to(DType.BF16))) {
            assertFalse(pw.isPacked(), "a BF16 weight is kept as a view");
            Tensor y = Ops.linear(xb, pw, null, FusedActivation.RELU, null);
            assertEquals(DType.BF16, y.dtype());
            assertRel(y.to(DType.F32).toFloatArray(), reference(x, w, null, FusedActivation.RELU, null, k, n), 1e-2,
                    "bf16");
        }
    }

    /**
     * One case of the stored-weight tests: x [m, k] and bias [n] and residual [m, n] of N(0, 1), w [n, k] of N(0, 0.09);
     * SHAPES: odd sizes, decode rows, several k slices.
     */
    private record StoredCase(int m, int k, int n, float[] x, float[] w, float[] bias, float[] res) {
        static final int[][] SHAPES = {{1, 1, 1}, {1, 384, 1152}, {3, 700, 95}, {13, 37, 33}, {128, 200, 70},
            {61, 2100, 40}};

        static StoredCase draw(Random rnd, int[] mkn) {
            int m = mkn[0];
            int k = mkn[1];
            int n = mkn[2];
            float[] x = Reference64.gaussian(rnd, m * k, 1.0);
            float[] w = Reference64.gaussian(rnd, n * k, 0.3);
            float[] bias = Reference64.gaussian(rnd, n, 1.0);
            return new StoredCase(m, k, n, x, w, bias, Reference64.gaussian(rnd, m * n, 1.0));
        }
    }

    /**
     * F32 weights held as BF16 panels ({@code PackedWeight.pack(w, BF16)}): half the bytes, and every product the
     * bits of the F32 product on the weight rounded to bfloat16 (Reference64's rounding), on odd sizes, decode rows,
     * several k slices, each activation with bias and residual, and a transposed view.
     */
    @Test
    void bf16StoredWeightsGiveTheBitsOfTheRoundedWeight() {
        Random rnd = new Random(21);
        FusedActivation[] acts = FusedActivation.values();
        for (int c = 0; c < StoredCase.SHAPES.length; c++) {
            StoredCase sc = StoredCase.draw(rnd, StoredCase.SHAPES[c]);
            int m = sc.m();
            int k = sc.k();
            int n = sc.n();
            FusedActivation act = acts[c % acts.length];
            float[] x = sc.x();
            float[] w = sc.w();
            float[] bias = sc.bias();
            float[] res = sc.res();
            float[] wr = Reference64.round(w, DType.BF16);
            Tensor weight = c % 2 == 1 ? transposedView(w, n, k) : f32(w, n, k);
            try (PackedWeight bf = PackedWeight.pack(weight, DType.BF16);
                    PackedWeight rounded = PackedWeight.pack(f32(wr, n, k))) {
                String what = "m=" + m + " k=" + k + " n=" + n + " " + act;
                assertEquals(DType.BF16, bf.storage(), what);
                assertEquals(DType.F32, bf.dtype(), what);
                assertTrue(bf.toString().contains("as BF16"), bf.toString());
                assertEquals(rounded.packedBytes() / 2, bf.packedBytes(), what);
                float[] got = Ops.linear(f32(x, m, k), bf, f32(bias, n), act, f32(res, m, n)).toFloatArray();
                float[] want = Ops.linear(f32(x, m, k), rounded, f32(bias, n), act, f32(res, m, n)).toFloatArray();
                org.junit.jupiter.api.Assertions.assertArrayEquals(want, got, what);
                assertRel(got, reference(x, wr, bias, act, res, k, n), TOL, what);
            }
        }
        Tensor w = Tensor.zeros(DType.F32, Device.CPU, 5, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PackedWeight.pack(w, DType.F16));
        assertTrue(e.getMessage().contains("no F16 form"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> PackedWeight.pack(Tensor.zeros(DType.F32, Device.CPU, 0, 8), DType.BF16));
        try (PackedWeight same = PackedWeight.pack(w.to(DType.BF16), DType.BF16)) { // its own dtype: as pack(w)
            assertFalse(same.isPacked());
            assertEquals(DType.BF16, same.storage());
        }
    }

    /**
     * F32 weights held as int8 panels ({@code PackedWeight.pack(w, I8)}): a quarter of the bytes plus a scale per
     * output feature, quantized as written here from the definition (s_j = max |w_j| / 127, q = w / s_j to nearest
     * even); each product is the bits of the F32 product on q, times s_j, plus bias and residual in that order, and
     * with an activation within float64's of the dequantized weight; against the unquantized weight the outputs move
     * by the quantization only (< 2%). An all-zero feature, a transposed view, decode rows and several k slices
     * included; NaN and infinite weights and non-F32 weights are refused.
     */
    @Test
    void int8StoredWeightsGiveTheScaledProductOnTheQuantizedWeight() {
        Random rnd = new Random(23);
        FusedActivation[] acts = FusedActivation.values();
        for (int c = 0; c < StoredCase.SHAPES.length; c++) {
            StoredCase sc = StoredCase.draw(rnd, StoredCase.SHAPES[c]);
            int m = sc.m();
            int k = sc.k();
            int n = sc.n();
            FusedActivation act = c % 2 == 0 ? FusedActivation.NONE : acts[c % acts.length];
            float[] x = sc.x();
            float[] w = sc.w();
            if (n > 1) {
                java.util.Arrays.fill(w, k, 2 * k, 0f); // feature 1 all zero
            }
            float[] bias = sc.bias();
            float[] res = sc.res();
            float[] scale = new float[n];
            float[] q = new float[n * k];
            float[] deq = new float[n * k];
            for (int j = 0; j < n; j++) {
                float mx = 0f;
                for (int kk = 0; kk < k; kk++) {
                    mx = Math.max(mx, Math.abs(w[j * k + kk]));
                }
                scale[j] = mx / 127f;
                for (int kk = 0; kk < k; kk++) {
                    float v = scale[j] > 0 ? (float) Math.rint(w[j * k + kk] / scale[j]) : 0f;
                    q[j * k + kk] = Math.max(-127f, Math.min(127f, v));
                    deq[j * k + kk] = q[j * k + kk] * scale[j];
                }
            }
            Tensor weight = c % 2 == 1 ? transposedView(w, n, k) : f32(w, n, k);
            String what = "m=" + m + " k=" + k + " n=" + n + " " + act;
            try (PackedWeight i8 = PackedWeight.pack(weight, DType.I8);
                    PackedWeight qp = PackedWeight.pack(f32(q, n, k))) {
                assertEquals(DType.I8, i8.storage(), what);
                assertEquals(DType.F32, i8.dtype(), what);
                assertTrue(i8.toString().contains("as I8"), i8.toString());
                long panels = qp.packedBytes() / 4; // int8 elements, rounded up to 64 bytes, then n (padded) scales
                long padded = (n + 31) / 32 * 32;
                assertEquals((panels + 63) / 64 * 64 + 4 * padded, i8.packedBytes(), what);
                float[] got = Ops.linear(f32(x, m, k), i8, f32(bias, n), act, f32(res, m, n)).toFloatArray();
                if (act == FusedActivation.NONE) {
                    float[] y = Ops.linear(f32(x, m, k), qp, null, null, null).toFloatArray();
                    float[] want = new float[m * n];
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            float scaled = y[i * n + j] * scale[j];
                            float biased = scaled + bias[j];
                            want[i * n + j] = biased + res[i * n + j];
                        }
                    }
                    org.junit.jupiter.api.Assertions.assertArrayEquals(want, got, what);
                }
                assertRel(got, reference(x, deq, bias, act, res, k, n), TOL, what);
                double[] exact = reference(x, w, bias, act, res, k, n);
                double num = 0;
                double den = 0;
                for (int i = 0; i < got.length; i++) {
                    num += (got[i] - exact[i]) * (got[i] - exact[i]);
                    den += exact[i] * exact[i];
                }
                double rel = Math.sqrt(num / den);
                assertTrue((rel > 1e-7 || k == 1) && rel < 2e-2, what + ": moved by " + rel + " from the F32 weight");
            }
        }
        float[] bad = Reference64.gaussian(rnd, 6 * 9, 1.0);
        for (float v : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            bad[4 * 9 + 2] = v;
            RuntimeException e = assertThrows(RuntimeException.class, () -> PackedWeight.pack(f32(bad, 6, 9), DType.I8));
            assertTrue(e.getMessage().contains("output feature 4") && e.getMessage().contains("NaN or an infinity"),
                    e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PackedWeight.pack(f32(bad, 6, 9).to(DType.BF16), DType.I8));
        assertTrue(e.getMessage().contains("no I8 form of a BF16 weight"), e.getMessage());
    }

    /** w [n, k] as a transposed view of its [k, n] copy (strides k·1 apart: not contiguous). */
    private static Tensor transposedView(float[] w, int n, int k) {
        float[] t = new float[w.length];
        for (int j = 0; j < n; j++) {
            for (int kk = 0; kk < k; kk++) {
                t[kk * n + j] = w[j * k + kk];
            }
        }
        return f32(t, k, n).transpose(0, 1);
    }

    @Test
    void badArgumentsAreRejectedBeforeTheNativeCall() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 3, 8);
        Tensor w = Tensor.zeros(DType.F32, Device.CPU, 5, 8);
        PackedWeight pw = PackedWeight.pack(w);
        assertThrows(IllegalArgumentException.class, () -> PackedWeight.pack(Tensor.zeros(DType.F32, Device.CPU, 8)));
        assertThrows(IllegalArgumentException.class, () -> PackedWeight.pack(null));
        assertThrows(IllegalArgumentException.class,
                () -> Ops.linear(Tensor.zeros(DType.F32, Device.CPU, 3, 7), pw, null, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> Ops.linear(x, pw, Tensor.zeros(DType.F32, Device.CPU, 4), null, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.linear(x, pw, null, FusedActivation.GELU, Tensor.zeros(DType.F32, Device.CPU, 3, 4)));
        assertTrue(e.getMessage().contains("residual"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Ops.linear(x.to(DType.BF16), pw, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> FusedActivation.of("mish"));
        assertEquals(FusedActivation.GELU_TANH, FusedActivation.of("gelu_pytorch_tanh"));
        pw.close();
        pw.close();  // idempotent
        assertThrows(IllegalStateException.class, () -> Ops.linear(x, pw, null, null, null));
    }
}
