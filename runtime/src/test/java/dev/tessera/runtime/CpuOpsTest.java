package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertAllFinite;
import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static dev.tessera.runtime.TestSupport.hex16;
import static dev.tessera.runtime.TestSupport.poisonNextAllocation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.runtime.testing.ScopePerTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Every op of {@link Ops} on the CPU backend against the float64 {@link Reference64}. */
@ExtendWith(ScopePerTest.class)
class CpuOpsTest {
    static final double F32_TOL = 1e-5;
    static final double HALF_TOL = 1e-2;
    static final int[] ROWS = {1, 3, 17};
    static final int[] COLS = {1, 7, 33, 100, 1000, 4097};

    static Stream<Arguments> sizes() {
        List<Arguments> a = new ArrayList<>();
        for (int r : ROWS) {
            for (int c : COLS) {
                a.add(Arguments.of(r, c));
            }
        }
        return a.stream();
    }

    static long seed(int rows, int cols, int salt) {
        return 1_000_003L * rows + 7919L * cols + salt;
    }

    static Tensor f32(float[] data, long... shape) {
        return Tensor.of(data, Device.CPU, shape);
    }

    // ------------------------------------------------------------------ elementwise

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void binarySameShape(int rows, int cols) {
        Random rnd = new Random(seed(rows, cols, 1));
        float[] a = Reference64.gaussian(rnd, rows * cols, 2);
        float[] b = Reference64.awayFromZero(rnd, rows * cols, 0.25, 3);
        Tensor ta = f32(a, rows, cols);
        Tensor tb = f32(b, rows, cols);
        for (BinaryOp op : BinaryOp.values()) {
            poisonNextAllocation((long) rows * cols);
            Tensor out = Ops.binary(op, ta, tb);
            assertShape(out, rows, cols);
            assertRel(out.toFloatArray(), Reference64.binary(op, a, b), F32_TOL, op + " " + rows + "x" + cols);
        }
        // the named entry points are the same ops
        assertRel(Ops.add(ta, tb).toFloatArray(), Reference64.binary(BinaryOp.ADD, a, b), F32_TOL, "add");
        assertRel(Ops.sub(ta, tb).toFloatArray(), Reference64.binary(BinaryOp.SUB, a, b), F32_TOL, "sub");
        assertRel(Ops.mul(ta, tb).toFloatArray(), Reference64.binary(BinaryOp.MUL, a, b), F32_TOL, "mul");
        assertRel(Ops.div(ta, tb).toFloatArray(), Reference64.binary(BinaryOp.DIV, a, b), F32_TOL, "div");
    }

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void binaryRowBroadcast(int rows, int cols) {
        Random rnd = new Random(seed(rows, cols, 2));
        float[] x = Reference64.gaussian(rnd, rows * cols, 1.5);
        float[] row = Reference64.awayFromZero(rnd, cols, 0.25, 3);
        float[] x2 = new float[2 * rows * cols];
        System.arraycopy(x, 0, x2, 0, x.length);
        float[] more = Reference64.gaussian(rnd, rows * cols, 1.5);
        System.arraycopy(more, 0, x2, x.length, x.length);
        Tensor tx = f32(x2, 2, rows, cols); // 3-D: broadcast over all leading dims
        Tensor tr = f32(row, cols);
        for (BinaryOp op : BinaryOp.values()) {
            poisonNextAllocation(2L * rows * cols);
            Tensor out = Ops.binary(op, tx, tr);
            assertShape(out, 2, rows, cols);
            assertRel(out.toFloatArray(), Reference64.binaryRow(op, x2, row), F32_TOL, "row " + op);
        }
    }

    @Test
    void binaryIntoPoisonedOutAndInPlace() {
        Random rnd = new Random(3);
        float[] a = Reference64.gaussian(rnd, 17 * 33, 1);
        float[] b = Reference64.awayFromZero(rnd, 17 * 33, 0.5, 2);
        Tensor ta = f32(a, 17, 33);
        Tensor tb = f32(b, 17, 33);
        for (BinaryOp op : BinaryOp.values()) {
            Tensor out = TestSupport.nanTensor(Device.CPU, 17, 33);
            Ops.binary(op, ta, tb, out);
            assertRel(out.toFloatArray(), Reference64.binary(op, a, b), F32_TOL, "out " + op);
        }
        // out aliasing a (documented in the C API)
        Tensor acc = f32(a, 17, 33);
        Ops.binary(BinaryOp.MUL, acc, tb, acc);
        assertRel(acc.toFloatArray(), Reference64.binary(BinaryOp.MUL, a, b), F32_TOL, "in place mul");
        // row broadcast into a preallocated out
        float[] row = Reference64.awayFromZero(rnd, 33, 0.5, 2);
        Tensor out = TestSupport.nanTensor(Device.CPU, 17, 33);
        Ops.binary(BinaryOp.DIV, ta, f32(row, 33), out);
        assertRel(out.toFloatArray(), Reference64.binaryRow(BinaryOp.DIV, a, row), F32_TOL, "row div out");
    }

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void affine(int rows, int cols) {
        float[] x = Reference64.gaussian(new Random(seed(rows, cols, 4)), rows * cols, 1);
        Tensor tx = f32(x, rows, cols);
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.affine(tx, -1.75f, 0.625f).toFloatArray(), Reference64.affine(x, -1.75, 0.625), F32_TOL, "affine");
        assertRel(Ops.scale(tx, 3.5f).toFloatArray(), Reference64.affine(x, 3.5, 0), F32_TOL, "scale");
    }

    // ------------------------------------------------------------------ norms

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void layerNorm(int rows, int cols) {
        Random rnd = new Random(seed(rows, cols, 5));
        float[] x = Reference64.gaussian(rnd, rows * cols, 2);
        for (int i = 0; i < x.length; i++) {
            x[i] += 3f; // a mean far from 0 exercises the variance computation
        }
        float[] g = Reference64.gaussian(rnd, cols, 1);
        float[] b = Reference64.gaussian(rnd, cols, 1);
        Tensor tx = f32(x, rows, cols);
        Tensor tg = f32(g, cols);
        Tensor tb = f32(b, cols);
        float eps = 1e-5f;
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.layerNorm(tx, tg, tb, eps).toFloatArray(), Reference64.layerNorm(x, g, b, cols, eps), F32_TOL,
                "layerNorm gamma+beta");
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.layerNorm(tx, null, null, eps).toFloatArray(), Reference64.layerNorm(x, null, null, cols, eps),
                F32_TOL, "layerNorm plain");
        assertRel(Ops.layerNorm(tx, tg, null, eps).toFloatArray(), Reference64.layerNorm(x, g, null, cols, eps),
                F32_TOL, "layerNorm gamma only");
        assertRel(Ops.layerNorm(tx, null, tb, eps).toFloatArray(), Reference64.layerNorm(x, null, b, cols, eps),
                F32_TOL, "layerNorm beta only");
    }

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void rmsNorm(int rows, int cols) {
        Random rnd = new Random(seed(rows, cols, 6));
        float[] x = Reference64.gaussian(rnd, rows * cols, 2);
        float[] g = Reference64.gaussian(rnd, cols, 1);
        Tensor tx = f32(x, rows, cols);
        float eps = 1e-6f;
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.rmsNorm(tx, f32(g, cols), eps).toFloatArray(), Reference64.rmsNorm(x, g, cols, eps), F32_TOL,
                "rmsNorm gamma");
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.rmsNorm(tx, null, eps).toFloatArray(), Reference64.rmsNorm(x, null, cols, eps), F32_TOL,
                "rmsNorm plain");
    }

    @Test
    void normsOfHigherRankInputsWorkOverTheLastDim() {
        Random rnd = new Random(7);
        float[] x = Reference64.gaussian(rnd, 2 * 3 * 5 * 7, 1);
        float[] g = Reference64.gaussian(rnd, 7, 1);
        Tensor tx = f32(x, 2, 3, 5, 7);
        Tensor ln = Ops.layerNorm(tx, f32(g, 7), null, 1e-5f);
        assertShape(ln, 2, 3, 5, 7);
        assertRel(ln.toFloatArray(), Reference64.layerNorm(x, g, null, 7, 1e-5), F32_TOL, "layerNorm 4-D");
        assertRel(Ops.rmsNorm(tx, f32(g, 7), 1e-5f).toFloatArray(), Reference64.rmsNorm(x, g, 7, 1e-5), F32_TOL,
                "rmsNorm 4-D");
    }

    @Test
    void nanInputGivesNanInItsRowOnly() {
        int rows = 3;
        int cols = 33;
        float[] x = Reference64.gaussian(new Random(8), rows * cols, 1);
        x[cols + 5] = Float.NaN; // row 1
        Tensor tx = f32(x, rows, cols);
        checkNanRow("softmax", Ops.softmax(tx).toFloatArray(), Reference64.softmax(x, cols, 0), rows, cols);
        checkNanRow("layerNorm", Ops.layerNorm(tx, null, null, 1e-5f).toFloatArray(),
                Reference64.layerNorm(x, null, null, cols, 1e-5), rows, cols);
        checkNanRow("rmsNorm", Ops.rmsNorm(tx, null, 1e-5f).toFloatArray(), Reference64.rmsNorm(x, null, cols, 1e-5),
                rows, cols);
        // a NaN among the visible keys of a causal row, too
        Tensor causal = f32(x, 1, rows, cols);
        float[] sc = Ops.softmax(causal, true).toFloatArray();
        for (int c = 0; c < cols; c++) {
            if (c <= 1 + (cols - rows)) {
                assertTrue(Float.isNaN(sc[cols + c]), "causal softmax: visible element " + c + " of the NaN row");
            }
        }
    }

    private static void checkNanRow(String op, float[] out, double[] ref, int rows, int cols) {
        for (int c = 0; c < cols; c++) {
            assertTrue(Float.isNaN(out[cols + c]), op + ": element " + c + " of the row holding a NaN is " + out[cols + c]
                    + ", expected NaN");
        }
        for (int r = 0; r < rows; r++) {
            if (r == 1) {
                continue;
            }
            float[] o = new float[cols];
            double[] e = new double[cols];
            System.arraycopy(out, r * cols, o, 0, cols);
            System.arraycopy(ref, r * cols, e, 0, cols);
            assertRel(o, e, F32_TOL, op + " row " + r + " beside a NaN row");
        }
    }

    // ------------------------------------------------------------------ softmax

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void softmax(int rows, int cols) {
        float[] x = Reference64.gaussian(new Random(seed(rows, cols, 9)), rows * cols, 3);
        poisonNextAllocation((long) rows * cols);
        Tensor out = Ops.softmax(f32(x, rows, cols));
        assertRel(out.toFloatArray(), Reference64.softmax(x, cols, 0), F32_TOL, "softmax");
    }

    @Test
    void softmaxOfLargeLogitsDoesNotOverflow() {
        float[] x = Reference64.gaussian(new Random(10), 5 * 100, 40);
        for (int i = 0; i < 100; i++) {
            x[i] += 500; // row 0 far above exp's range
            x[100 + i] -= 500; // row 1 far below
        }
        assertRel(Ops.softmax(f32(x, 5, 100)).toFloatArray(), Reference64.softmax(x, 100, 0), F32_TOL, "softmax ±500");
    }

    static Stream<Arguments> causalShapes() {
        return Stream.of(Arguments.of(1, 5, 9), Arguments.of(3, 5, 9), Arguments.of(2, 5, 5), Arguments.of(1, 1, 1),
                Arguments.of(4, 1, 7), Arguments.of(2, 7, 7), Arguments.of(3, 17, 33), Arguments.of(2, 33, 33),
                Arguments.of(2, 16, 1000));
    }

    @ParameterizedTest(name = "batch {0}, q {1}, k {2}")
    @MethodSource("causalShapes")
    void causalSoftmaxIsBottomRightAligned(int batch, int q, int k) {
        float[] x = Reference64.gaussian(new Random(seed(q, k, 11 + batch)), batch * q * k, 3);
        poisonNextAllocation((long) batch * q * k);
        Tensor out = Ops.softmax(f32(x, batch, q, k), true);
        assertShape(out, batch, q, k);
        float[] o = out.toFloatArray();
        assertRel(o, Reference64.softmax(x, k, q), F32_TOL, "causal softmax");
        // masked entries are exactly 0, each row sums to 1
        for (int r = 0; r < batch * q; r++) {
            int i = r % q;
            double sum = 0;
            for (int j = 0; j < k; j++) {
                float v = o[r * k + j];
                if (j > i + (k - q)) {
                    assertEquals(0f, v, "masked entry row " + i + " col " + j);
                }
                sum += v;
            }
            assertEquals(1.0, sum, 1e-5, "row " + r + " sum");
        }
    }

    @Test
    void causalSoftmaxOfAFourDimensionalInputGroupsByQuery() {
        // [batch 2, heads 3, q 5, k 9]: the mask restarts every 5 rows
        float[] x = Reference64.gaussian(new Random(12), 2 * 3 * 5 * 9, 2);
        Tensor out = Ops.softmax(f32(x, 2, 3, 5, 9), true);
        assertRel(out.toFloatArray(), Reference64.softmax(x, 9, 5), F32_TOL, "causal softmax 4-D");
    }

    // ------------------------------------------------------------------ activations

    @ParameterizedTest(name = "[{0} x {1}]")
    @MethodSource("sizes")
    void activations(int rows, int cols) {
        float[] x = Reference64.gaussian(new Random(seed(rows, cols, 13)), rows * cols, 3);
        Tensor tx = f32(x, rows, cols);
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.gelu(tx).toFloatArray(), Reference64.gelu(x), F32_TOL, "gelu");
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.geluTanh(tx).toFloatArray(), Reference64.geluTanh(x), F32_TOL, "geluTanh");
        poisonNextAllocation((long) rows * cols);
        assertRel(Ops.silu(tx).toFloatArray(), Reference64.silu(x), F32_TOL, "silu");
    }

    @Test
    void activationsAtLargeMagnitudeStayFinite() {
        float[] x = {-1000f, -100f, -30f, -20f, -10f, -5f, 5f, 10f, 20f, 30f, 100f, 1000f, -88.7f, 88.7f, -9.5f, 9.5f};
        Tensor tx = f32(x, x.length);
        float[] g = Ops.gelu(tx).toFloatArray();
        float[] gt = Ops.geluTanh(tx).toFloatArray();
        float[] s = Ops.silu(tx).toFloatArray();
        assertAllFinite(g, "gelu(±large)");
        assertAllFinite(gt, "geluTanh(±large)");
        assertAllFinite(s, "silu(±large)");
        assertRel(g, Reference64.gelu(x), F32_TOL, "gelu(±large)");
        assertRel(gt, Reference64.geluTanh(x), F32_TOL, "geluTanh(±large)");
        assertRel(s, Reference64.silu(x), F32_TOL, "silu(±large)");
        // the negative tail tends to 0, not below it by more than rounding
        for (int i = 0; i < 4; i++) {
            assertTrue(Math.abs(g[i]) < 1e-6 && Math.abs(gt[i]) < 1e-6, "gelu(" + x[i] + ") = " + g[i] + ", " + gt[i]);
        }
    }

    @Test
    void geluNearZeroAndMidRange() {
        // small |x| (relative accuracy where gelu ≈ x/2) and the range where erf's approximation is hardest
        float[] x = Reference64.uniform(new Random(14), 4096, -6, 6);
        for (int i = 0; i < 256; i++) {
            x[i] *= 1e-4f;
        }
        Tensor tx = f32(x, x.length);
        assertRel(Ops.gelu(tx).toFloatArray(), Reference64.gelu(x), F32_TOL, "gelu uniform");
        assertRel(Ops.geluTanh(tx).toFloatArray(), Reference64.geluTanh(x), F32_TOL, "geluTanh uniform");
        float[] small = new float[256];
        System.arraycopy(x, 0, small, 0, 256);
        assertRel(Ops.gelu(f32(small, 256)).toFloatArray(), Reference64.gelu(small), F32_TOL, "gelu tiny");
        assertRel(Ops.silu(f32(small, 256)).toFloatArray(), Reference64.silu(small), F32_TOL, "silu tiny");
    }

    // ------------------------------------------------------------------ embedding, transpose

    @ParameterizedTest(name = "dim {0}")
    @MethodSource("embeddingDims")
    void embedding(int dim) {
        Random rnd = new Random(15 + dim);
        int vocab = 50;
        float[] table = Reference64.gaussian(rnd, vocab * dim, 1);
        Tensor tt = f32(table, vocab, dim);
        long[] ids = new long[3 * 7];
        int[] ids32 = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i == 0 ? 0 : i == 1 ? vocab - 1 : rnd.nextInt(vocab);
            ids32[i] = (int) ids[i];
        }
        double[] ref = Reference64.embedding(ids, table, dim);
        poisonNextAllocation(3L * 7 * dim);
        Tensor o32 = Ops.embedding(Tensor.ofInts(ids32, Device.CPU, 3, 7), tt);
        assertShape(o32, 3, 7, dim);
        assertRel(o32.toFloatArray(), ref, 0, "embedding I32");
        poisonNextAllocation(3L * 7 * dim);
        Tensor o64 = Ops.embedding(Tensor.ofLongs(ids, Device.CPU, 3, 7), tt);
        assertShape(o64, 3, 7, dim);
        assertRel(o64.toFloatArray(), ref, 0, "embedding I64");
    }

    static Stream<Integer> embeddingDims() {
        return Stream.of(1, 7, 33, 4097);
    }

    @Test
    void embeddingOfScalarAndNonContiguousIds() {
        float[] table = Reference64.gaussian(new Random(16), 10 * 4, 1);
        Tensor tt = f32(table, 10, 4);
        Tensor one = Ops.embedding(Tensor.ofInts(new int[] {7}, Device.CPU, 1), tt);
        assertShape(one, 1, 4);
        assertRel(one.toFloatArray(), Reference64.embedding(new long[] {7}, table, 4), 0, "embedding [1]");
        // a transposed view of ids is gathered first
        Tensor ids = Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, Device.CPU, 2, 3).t(); // [[1,4],[2,5],[3,6]]
        Tensor o = Ops.embedding(ids, tt);
        assertShape(o, 3, 2, 4);
        assertRel(o.toFloatArray(), Reference64.embedding(new long[] {1, 4, 2, 5, 3, 6}, table, 4), 0,
                "embedding of a view");
    }

    @Test
    void copyToWritesTheElementsIntoAReusedArray() {
        Random r = new Random(21);
        float[] x = new float[3 * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Tensor t = Tensor.of(x, Device.CPU, 3, 5);
        Tensor view = t.transpose(0, 1); // [5, 3], not contiguous: copied in row-major order of the view
        float[] want = Reference64.transposed(x, 3, 5);
        float[] dst = new float[20];
        java.util.Arrays.fill(dst, -7f);
        assertSame(dst, view.copyTo(dst, 3));
        for (int i = 0; i < dst.length; i++) {
            float expect = i >= 3 && i < 18 ? want[i - 3] : -7f;
            assertEquals(expect, dst[i], "element " + i + " (offset 3, 15 elements, the rest untouched)");
        }
        // other dtypes convert as toFloatArray does, and a reused array is overwritten call after call
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            Tensor c = Ops.convert(t, dt);
            float[] again = new float[15];
            for (int k = 0; k < 2; k++) {
                assertArrayEquals(c.toFloatArray(), c.copyTo(again), dt + " call " + k);
            }
        }
        Tensor ints = Tensor.ofInts(new int[] {3, -1, 7}, Device.CPU, 3);
        assertArrayEquals(new float[] {3, -1, 7}, ints.copyTo(new float[3]));
        assertArrayEquals(new float[0], Tensor.zeros(DType.F32, Device.CPU, 0, 4).copyTo(new float[0]));
        // bad destinations are refused before anything is written
        float[] small = new float[14];
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> t.copyTo(small));
        assertTrue(e.getMessage().contains("15 elements") && e.getMessage().contains("14"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> t.copyTo(new float[20], 6));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> t.copyTo(new float[20], -1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> t.copyTo(null));
        Tensor closed = Tensor.of(new float[] {1, 2}, Device.CPU, 2);
        closed.close();
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> closed.copyTo(new float[2]));
    }

    @Test
    void transposeLastTwoDims() {
        float[] x = Reference64.gaussian(new Random(17), 2 * 3 * 5 * 7, 1);
        Tensor tx = f32(x, 2, 3, 5, 7);
        poisonNextAllocation(x.length);
        Tensor out = Ops.transpose(tx);
        assertShape(out, 2, 3, 7, 5);
        assertTrue(out.isContiguous());
        assertRel(out.toFloatArray(), Reference64.transposeLast2(x, 5, 7), 0, "transpose [2,3,5,7]");
        // odd sizes, including degenerate 1-row / 1-col matrices
        for (int[] rc : new int[][] {{1, 1}, {1, 9}, {9, 1}, {33, 17}, {64, 100}}) {
            float[] y = Reference64.gaussian(new Random(rc[0] * 100 + rc[1]), 3 * rc[0] * rc[1], 1);
            Tensor ty = Ops.transpose(f32(y, 3, rc[0], rc[1]));
            assertShape(ty, 3, rc[1], rc[0]);
            assertRel(ty.toFloatArray(), Reference64.transposeLast2(y, rc[0], rc[1]), 0,
                    "transpose " + rc[0] + "x" + rc[1]);
        }
        // the same data through a transposed view + contiguous()
        assertRel(tx.transpose(-1, -2).contiguous().toFloatArray(), Reference64.transposeLast2(x, 5, 7), 0,
                "transpose view contiguous");
    }

    @Test
    void transposeOfOtherElementSizes() {
        int r = 5;
        int c = 7;
        long[] l = new long[2 * r * c];
        int[] iv = new int[2 * r * c];
        float[] f = new float[2 * r * c];
        Random rnd = new Random(18);
        for (int i = 0; i < l.length; i++) {
            l[i] = rnd.nextInt(1 << 12) - (1 << 11); // exact in F16; BF16 rounds, the bits move as-is
            iv[i] = (int) l[i];
            f[i] = l[i];
        }
        double[] ref = Reference64.transposeLast2(f, r, c);
        assertRel(Ops.transpose(Tensor.ofLongs(l, Device.CPU, 2, r, c)).toFloatArray(), ref, 0, "transpose I64");
        assertRel(Ops.transpose(Tensor.ofInts(iv, Device.CPU, 2, r, c)).toFloatArray(), ref, 0, "transpose I32");
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            Tensor h = f32(f, 2, r, c).to(dt);
            float[] hv = h.toFloatArray();
            Tensor th = Ops.transpose(h);
            assertEquals(dt, th.dtype());
            assertRel(th.toFloatArray(), Reference64.transposeLast2(hv, r, c), 0, "transpose " + dt);
        }
    }

    // ------------------------------------------------------------------ conversion

    @Test
    void f16ToF32IsExactForEveryBitPattern() {
        short[] bits = new short[65536];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (short) i;
        }
        Tensor h = TestSupport.rawHalfTensor(DType.F16, bits);
        Tensor f = Ops.convert(h, DType.F32);
        assertEquals(DType.F32, f.dtype());
        int[] got = TestSupport.rawF32Bits(f);
        for (int i = 0; i < bits.length; i++) {
            float want = Reference64.f16BitsToFloat(bits[i]);
            float g = Float.intBitsToFloat(got[i]);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(g), "f16 " + hex16(i) + " (NaN) → " + g);
            } else if (Float.floatToRawIntBits(want) != got[i]) {
                fail("f16 " + hex16(i) + " → " + g + " (0x" + Integer.toHexString(got[i]) + "), expected " + want);
            }
        }
    }

    @Test
    void bf16ToF32IsExactForEveryBitPattern() {
        short[] bits = new short[65536];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (short) i;
        }
        Tensor h = TestSupport.rawHalfTensor(DType.BF16, bits);
        int[] got = TestSupport.rawF32Bits(Ops.convert(h, DType.F32));
        for (int i = 0; i < bits.length; i++) {
            float want = Reference64.bf16BitsToFloat(bits[i]);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(Float.intBitsToFloat(got[i])), "bf16 " + hex16(i) + " (NaN)");
            } else if (Float.floatToRawIntBits(want) != got[i]) {
                fail("bf16 " + hex16(i) + " → " + Float.intBitsToFloat(got[i]) + ", expected " + want);
            }
        }
    }

    /** Special values, ties, subnormals, overflow and a sweep over all float exponents. */
    static float[] conversionInputs() {
        List<Float> v = new ArrayList<>();
        float[] specials = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffa00000), Float.intBitsToFloat(0x7f800001),
            1f, -1f, 1f / 3, 0.1f, 65504f, 65519f, 65519.996f, 65520f, 65536f, 1e6f, -1e6f, Float.MAX_VALUE,
            -Float.MAX_VALUE, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1.000002p-25f, 0x1p-26f, 0x1.8p-24f, 0x1.4p-24f,
            0x1p-14f, 0x1.ff8p-15f, 0x1.ffcp-15f, 0x1p-15f, 6.1e-5f, 1e-7f, 1e-8f, Float.MIN_VALUE, -Float.MIN_VALUE,
            Float.MIN_NORMAL, 0x1.fffffep-127f, 1f + 0x1p-11f, 1f + 0x1.8p-10f, 1f + 0x1p-8f, 1f + 0x1.8p-7f,
            1f + 0x1p-9f, 1f + 0x1.000002p-11f, 2049f, 2051f, 3.3895314e38f, 3.3961776e38f, 0x1.fep127f,
            0x1.ff0000p127f, 0x1.fe8p127f, 0x1.fdp127f};
        for (float f : specials) {
            v.add(f);
            v.add(-f);
        }
        // all float bit patterns, strided by a prime: every exponent, many mantissas, both signs
        for (long bits = 0; bits <= 0xffffffffL; bits += 4099L * 101) {
            v.add(Float.intBitsToFloat((int) bits));
        }
        // halfway cases of f16 and bf16 around many exponents
        Random rnd = new Random(19);
        for (int e = -30; e <= 20; e++) {
            for (int i = 0; i < 8; i++) {
                int h = rnd.nextInt(1 << 10);
                v.add(Math.scalb((1024 + h + 0.5f) / 1024f, e));
                int b = rnd.nextInt(1 << 7);
                v.add(Math.scalb((128 + b + 0.5f) / 128f, e));
            }
        }
        // gaussians at many scales
        for (double s : new double[] {1e-7, 1e-5, 1e-3, 1, 100, 3e4, 1e30}) {
            for (float f : Reference64.gaussian(rnd, 256, s)) {
                v.add(f);
            }
        }
        if (v.size() % 2 == 1) {
            v.add(1.5f);
        }
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void f32ToHalfIsRoundToNearestEvenBitExact(DType dt) {
        float[] x = conversionInputs();
        Tensor h = Ops.convert(f32(x, x.length), dt);
        assertEquals(dt, h.dtype());
        short[] got = TestSupport.rawHalfBits(h);
        float[] back = h.toFloatArray();
        float[] back2 = Ops.convert(h, DType.F32).toFloatArray();
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < x.length; i++) {
            short want = dt == DType.F16 ? Reference64.toF16Bits(x[i]) : Reference64.toBf16Bits(x[i]);
            float wantF = dt == DType.F16 ? Reference64.f16BitsToFloat(want) : Reference64.bf16BitsToFloat(want);
            boolean ok = Float.isNaN(x[i]) ? isHalfNaN(got[i], dt) && Float.isNaN(back[i]) && Float.isNaN(back2[i])
                    : got[i] == want && Float.floatToRawIntBits(back[i]) == Float.floatToRawIntBits(wantF)
                            && Float.floatToRawIntBits(back2[i]) == Float.floatToRawIntBits(wantF);
            if (!ok && bad++ < 10) {
                sb.append(String.format("%n  %s (0x%08x) → %s, expected %s (round trip %s)", x[i],
                        Float.floatToRawIntBits(x[i]), hex16(got[i]), hex16(want), back[i]));
            }
        }
        if (bad > 0) {
            fail("F32 → " + dt + ": " + bad + " of " + x.length + " conversions differ from round-to-nearest-even:" + sb);
        }
    }

    static boolean isHalfNaN(short bits, DType dt) {
        int b = bits & 0xffff;
        return dt == DType.F16 ? (b & 0x7c00) == 0x7c00 && (b & 0x3ff) != 0 : (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0;
    }

    @Test
    void halfToHalfConversionRoundsOnce() {
        short[] bits = new short[65536];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (short) i;
        }
        // F16 → BF16
        short[] toBf = TestSupport.rawHalfBits(Ops.convert(TestSupport.rawHalfTensor(DType.F16, bits), DType.BF16));
        // BF16 → F16
        short[] toF16 = TestSupport.rawHalfBits(Ops.convert(TestSupport.rawHalfTensor(DType.BF16, bits), DType.F16));
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < bits.length; i++) {
            float f16 = Reference64.f16BitsToFloat(bits[i]);
            float bf = Reference64.bf16BitsToFloat(bits[i]);
            boolean ok1 = Float.isNaN(f16) ? isHalfNaN(toBf[i], DType.BF16) : toBf[i] == Reference64.toBf16Bits(f16);
            boolean ok2 = Float.isNaN(bf) ? isHalfNaN(toF16[i], DType.F16) : toF16[i] == Reference64.toF16Bits(bf);
            if ((!ok1 || !ok2) && bad++ < 10) {
                sb.append(String.format("%n  %s: f16→bf16 %s (want %s), bf16→f16 %s (want %s)", hex16(i),
                        hex16(toBf[i]), hex16(Reference64.toBf16Bits(f16)), hex16(toF16[i]),
                        hex16(Reference64.toF16Bits(bf))));
            }
        }
        if (bad > 0) {
            fail(bad + " half↔half conversions differ:" + sb);
        }
    }

    @Test
    void convertToTheSameDtypeIsACopy() {
        float[] x = Reference64.gaussian(new Random(20), 64, 1);
        Tensor t = f32(x, 8, 8);
        Tensor c = Ops.convert(t, DType.F32);
        assertRel(c.toFloatArray(), x, 0, "F32 → F32");
        Tensor h = Ops.convert(t, DType.BF16);
        Tensor h2 = Ops.convert(h, DType.BF16);
        assertArrayEquals(TestSupport.rawHalfBits(h), TestSupport.rawHalfBits(h2));
        // and of a non-contiguous view
        Tensor v = Ops.convert(t.t(), DType.F16);
        assertShape(v, 8, 8);
        assertRel(v.toFloatArray(), Reference64.round(Reference64.transposed(x, 8, 8), DType.F16), 0, "convert view");
        assertSame(DType.F16, t.to(DType.F16).dtype());
    }

    // ------------------------------------------------------------------ F16 / BF16 tensors on the CPU

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void opsOnHalfTensorsComputeInF32(DType dt) {
        Random rnd = new Random(21 + dt.ordinal());
        int rows = 17;
        int cols = 33;
        int n = rows * cols;
        float[] a = Reference64.gaussian(rnd, n, 2);
        float[] b = Reference64.awayFromZero(rnd, n, 0.5, 2);
        float[] g = Reference64.gaussian(rnd, cols, 1);
        float[] be = Reference64.gaussian(rnd, cols, 1);
        float[] ar = Reference64.round(a, dt);
        float[] br = Reference64.round(b, dt);
        float[] gr = Reference64.round(g, dt);
        float[] ber = Reference64.round(be, dt);
        Tensor ta = f32(a, rows, cols).to(dt);
        Tensor tb = f32(b, rows, cols).to(dt);
        Tensor tg = f32(g, cols).to(dt);
        Tensor tbe = f32(be, cols).to(dt);
        assertRel(ta.toFloatArray(), ar, 0, dt + " storage");

        for (BinaryOp op : BinaryOp.values()) {
            Tensor o = Ops.binary(op, ta, tb);
            assertEquals(dt, o.dtype());
            assertRel(o.toFloatArray(), Reference64.binary(op, ar, br), HALF_TOL, dt + " " + op);
            assertRel(Ops.binary(op, ta, tg).toFloatArray(), Reference64.binaryRow(op, ar, gr), HALF_TOL,
                    dt + " row " + op);
        }
        check(dt, Ops.affine(ta, 0.75f, -0.5f), Reference64.affine(ar, 0.75, -0.5), "affine");
        check(dt, Ops.layerNorm(ta, tg, tbe, 1e-5f), Reference64.layerNorm(ar, gr, ber, cols, 1e-5), "layerNorm");
        check(dt, Ops.layerNorm(ta, null, null, 1e-5f), Reference64.layerNorm(ar, null, null, cols, 1e-5),
                "layerNorm plain");
        check(dt, Ops.rmsNorm(ta, tg, 1e-5f), Reference64.rmsNorm(ar, gr, cols, 1e-5), "rmsNorm");
        check(dt, Ops.softmax(ta), Reference64.softmax(ar, cols, 0), "softmax");
        Tensor causal = ta.reshape(1, rows, cols);
        check(dt, Ops.softmax(causal, true), Reference64.softmax(ar, cols, rows), "causal softmax");
        check(dt, Ops.gelu(ta), Reference64.gelu(ar), "gelu");
        check(dt, Ops.geluTanh(ta), Reference64.geluTanh(ar), "geluTanh");
        check(dt, Ops.silu(ta), Reference64.silu(ar), "silu");
        check(dt, Ops.transpose(ta), Reference64.transposeLast2(ar, rows, cols), "transpose");

        long[] ids = {3, 0, 16, 5, 5};
        check(dt, Ops.embedding(Tensor.ofLongs(ids, Device.CPU, 5), ta), Reference64.embedding(ids, ar, cols),
                "embedding");

        // matmul and its view forms
        float[] w = Reference64.gaussian(rnd, cols * 9, 1);
        float[] wr = Reference64.round(w, dt);
        Tensor tw = f32(w, cols, 9).to(dt);
        check(dt, Ops.matmul(ta, tw), Reference64.matmul(ar, wr, rows, cols, 9), "matmul");
        Tensor twT = f32(Reference64.transposed(w, cols, 9), 9, cols).to(dt); // [9, cols]
        check(dt, Ops.matmul(ta, twT.t()), Reference64.matmul(ar, wr, rows, cols, 9), "matmul b.t()");
        check(dt, Ops.matmul(tb.t(), ta), Reference64.matmul(Reference64.transposed(br, rows, cols), ar, cols, rows, cols),
                "matmul a.t()");
        check(dt, Ops.matmul(ta.slice(1, 2, 30), tw.slice(0, 2, 30)),
                Reference64.matmul(sliceCols(ar, rows, cols, 2, 30), sliceRows(wr, 9, 2, 30), rows, 28, 9),
                "matmul sliced");
        Tensor batched = ta.reshape(1, rows, cols);
        check(dt, Ops.matmul(batched, tw), Reference64.matmul(ar, wr, rows, cols, 9), "matmul broadcast b");
        // batched, broadcast (with a permuted a whose batch dims do not collapse) and a batched transposed b
        float[] a3 = Reference64.gaussian(rnd, 3 * 4 * 5, 1);
        float[] b3 = Reference64.gaussian(rnd, 3 * 5 * 6, 1);
        float[] a3r = Reference64.round(a3, dt);
        float[] b3r = Reference64.round(b3, dt);
        Tensor ta3 = f32(a3, 3, 4, 5).to(dt);
        Tensor tb3 = f32(b3, 3, 5, 6).to(dt);
        check(dt, Ops.matmul(ta3, tb3), Reference64.matmul(a3r, b3r, 3, 4, 5, 6, false), "batched matmul");
        check(dt, Ops.matmul(ta3, tb3.transpose(1, 2).contiguous().transpose(1, 2)),
                Reference64.matmul(a3r, b3r, 3, 4, 5, 6, false), "batched matmul, b view");
        float[] a4 = Reference64.gaussian(rnd, 2 * 3 * 4 * 5, 1);
        Tensor ta4 = f32(a4, 2, 3, 4, 5).to(dt).transpose(0, 1);
        float[] a4r = ta4.contiguous().toFloatArray();
        float[] w56 = Reference64.round(Reference64.gaussian(rnd, 30, 1), dt);
        check(dt, Ops.matmul(ta4, f32(w56, 5, 6).to(dt)), Reference64.matmul(a4r, w56, 6, 4, 5, 6, true),
                "broadcast matmul, permuted a");
        float[] bias = Reference64.gaussian(rnd, 9, 1);
        check(dt, Ops.linear(ta, twT, f32(bias, 9).to(dt)),
                Reference64.linear(ar, Reference64.round(Reference64.transposed(w, cols, 9), dt), Reference64.round(bias, dt),
                        cols, 9), "linear");
    }

    private static void check(DType dt, Tensor out, double[] ref, String what) {
        assertEquals(dt, out.dtype(), what + " dtype");
        assertRel(out.toFloatArray(), ref, HALF_TOL, dt + " " + what);
    }

    static float[] sliceCols(float[] x, int rows, int cols, int from, int to) {
        float[] out = new float[rows * (to - from)];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x, r * cols + from, out, r * (to - from), to - from);
        }
        return out;
    }

    static float[] sliceRows(float[] x, int cols, int from, int to) {
        float[] out = new float[(to - from) * cols];
        System.arraycopy(x, from * cols, out, 0, out.length);
        return out;
    }

    // ------------------------------------------------------------------ matmul

    static Stream<Arguments> matmulSizes() {
        return Stream.of(Arguments.of(1, 1, 1), Arguments.of(7, 5, 3), Arguments.of(64, 33, 17),
                Arguments.of(128, 256, 64), Arguments.of(1, 33, 7), Arguments.of(9, 1, 4), Arguments.of(5, 17, 1));
    }

    @ParameterizedTest(name = "m {0}, k {1}, n {2}")
    @MethodSource("matmulSizes")
    void matmulPlainAndTransposedViews(int m, int k, int n) {
        Random rnd = new Random(seed(m, k, n));
        float[] a = Reference64.gaussian(rnd, m * k, 1);
        float[] b = Reference64.gaussian(rnd, k * n, 1);
        double[] ref = Reference64.matmul(a, b, m, k, n);
        poisonNextAllocation((long) m * n);
        Tensor c = Ops.matmul(f32(a, m, k), f32(b, k, n));
        assertShape(c, m, n);
        assertRel(c.toFloatArray(), ref, F32_TOL, "matmul");
        // transposed views (stored as [k, m] / [n, k]) go to BLAS as transposes
        Tensor aT = f32(Reference64.transposed(a, m, k), k, m).t();
        Tensor bT = f32(Reference64.transposed(b, k, n), n, k).t();
        assertShape(aT, m, k);
        assertFalse(m > 1 && k > 1 && aT.isContiguous());
        poisonNextAllocation((long) m * n);
        assertRel(Ops.matmul(aT, f32(b, k, n)).toFloatArray(), ref, F32_TOL, "matmul a.t()");
        poisonNextAllocation((long) m * n);
        assertRel(Ops.matmul(f32(a, m, k), bT).toFloatArray(), ref, F32_TOL, "matmul b.t()");
        poisonNextAllocation((long) m * n);
        assertRel(Ops.matmul(aT, bT).toFloatArray(), ref, F32_TOL, "matmul a.t() b.t()");
        // explicit FP32 precision is the CPU's only mode; TF32 requests compute in fp32 here too
        assertRel(Ops.matmul(aT, bT, Backend.MatmulPrecision.FP32).toFloatArray(), ref, F32_TOL, "matmul FP32");
        assertRel(Ops.matmul(aT, bT, Backend.MatmulPrecision.TF32).toFloatArray(), ref, F32_TOL, "matmul TF32 on cpu");
    }

    @Test
    void matmulBatched() {
        Random rnd = new Random(22);
        float[] a = Reference64.gaussian(rnd, 3 * 4 * 5, 1);
        float[] b = Reference64.gaussian(rnd, 3 * 5 * 6, 1);
        poisonNextAllocation(3 * 4 * 6);
        Tensor c = Ops.matmul(f32(a, 3, 4, 5), f32(b, 3, 5, 6));
        assertShape(c, 3, 4, 6);
        assertRel(c.toFloatArray(), Reference64.matmul(a, b, 3, 4, 5, 6, false), F32_TOL, "batched");
        // batched with b as a transposed view of [3, 6, 5]
        float[] bT = new float[b.length];
        for (int p = 0; p < 3; p++) {
            float[] one = new float[30];
            System.arraycopy(b, p * 30, one, 0, 30);
            System.arraycopy(Reference64.transposed(one, 5, 6), 0, bT, p * 30, 30);
        }
        Tensor bv = f32(bT, 3, 6, 5).transpose(1, 2);
        assertRel(Ops.matmul(f32(a, 3, 4, 5), bv).toFloatArray(), Reference64.matmul(a, b, 3, 4, 5, 6, false), F32_TOL,
                "batched b view");
    }

    @Test
    void matmulBroadcastsA2DRightOperand() {
        Random rnd = new Random(23);
        float[] a = Reference64.gaussian(rnd, 2 * 3 * 4 * 5, 1);
        float[] b = Reference64.gaussian(rnd, 5 * 6, 1);
        Tensor ta = f32(a, 2, 3, 4, 5);
        poisonNextAllocation(2 * 3 * 4 * 6);
        Tensor c = Ops.matmul(ta, f32(b, 5, 6));
        assertShape(c, 2, 3, 4, 6);
        double[] ref = Reference64.matmul(a, b, 6, 4, 5, 6, true);
        assertRel(c.toFloatArray(), ref, F32_TOL, "broadcast");
        // non-contiguous a whose batch dims do not collapse: [3,2,4,5] view of [2,3,4,5]
        Tensor perm = ta.transpose(0, 1);
        Tensor cp = Ops.matmul(perm, f32(b, 5, 6));
        assertShape(cp, 3, 2, 4, 6);
        float[] aPerm = perm.contiguous().toFloatArray();
        assertRel(cp.toFloatArray(), Reference64.matmul(aPerm, b, 6, 4, 5, 6, true), F32_TOL, "broadcast, permuted a");
        // and the same permuted a against a batched b
        float[] bb = Reference64.gaussian(rnd, 3 * 2 * 5 * 6, 1);
        Tensor cb = Ops.matmul(perm, f32(bb, 3, 2, 5, 6));
        assertRel(cb.toFloatArray(), Reference64.matmul(aPerm, bb, 6, 4, 5, 6, false), F32_TOL, "batched, permuted a");
    }

    @Test
    void matmulOfSlicedNonContiguousInputs() {
        Random rnd = new Random(24);
        int m = 13;
        int k = 21;
        int n = 11;
        float[] bigA = Reference64.gaussian(rnd, (m + 4) * (k + 6), 1);
        float[] bigB = Reference64.gaussian(rnd, (k + 3) * (n + 8), 1);
        Tensor tA = f32(bigA, m + 4, k + 6);
        Tensor tB = f32(bigB, k + 3, n + 8);
        Tensor a = tA.slice(0, 3, 3 + m).slice(1, 4, 4 + k); // row stride k+6
        Tensor b = tB.slice(0, 1, 1 + k).slice(1, 5, 5 + n);
        assertFalse(a.isContiguous());
        assertFalse(b.isContiguous());
        float[] av = a.toFloatArray();
        float[] bv = b.toFloatArray();
        assertRel(av, sliceCols(sliceRows(bigA, k + 6, 3, 3 + m), m, k + 6, 4, 4 + k), 0, "toFloatArray of a slice");
        double[] ref = Reference64.matmul(av, bv, m, k, n);
        assertRel(Ops.matmul(a, b).toFloatArray(), ref, F32_TOL, "sliced");
        // a transposed view with a leading dimension larger than its rows: [k, m+4] sliced to [k, m], then .t()
        Tensor at = f32(java.util.Arrays.copyOf(bigA, k * (m + 4)), k, m + 4).slice(1, 2, 2 + m).t(); // [m, k], strides (1, m+4)
        assertArrayEquals(new long[] {1, m + 4}, at.strides());
        float[] atv = at.toFloatArray();
        assertRel(atv, Reference64.transposed(sliceCols(sliceRows(bigA, m + 4, 0, k), k, m + 4, 2, 2 + m), k, m), 0,
                "toFloatArray of a sliced transposed view");
        assertRel(Ops.matmul(at, b).toFloatArray(), Reference64.matmul(atv, bv, m, k, n), F32_TOL, "sliced transposed a");
        Tensor bt = f32(java.util.Arrays.copyOf(bigB, n * (k + 3)), n, k + 3).slice(1, 1, 1 + k).t(); // [k, n], strides (1, k+3)
        float[] btv = bt.toFloatArray();
        assertRel(Ops.matmul(a, bt).toFloatArray(), Reference64.matmul(av, btv, m, k, n), F32_TOL, "sliced transposed b");
        // batched slices: [3, 4, 8] → [3, 4, 5]
        float[] big3 = Reference64.gaussian(rnd, 3 * 4 * 8, 1);
        Tensor s3 = f32(big3, 3, 4, 8).slice(2, 1, 6);
        float[] s3v = s3.toFloatArray();
        float[] w = Reference64.gaussian(rnd, 3 * 5 * 2, 1);
        assertRel(Ops.matmul(s3, f32(w, 3, 5, 2)).toFloatArray(), Reference64.matmul(s3v, w, 3, 4, 5, 2, false),
                F32_TOL, "batched slice");
        assertRel(Ops.matmul(s3, f32(w, 3, 5, 2).slice(2, 0, 1)).toFloatArray(),
                Reference64.matmul(s3v, columns(w, 3 * 5, 2, 0, 1), 3, 4, 5, 1, false), F32_TOL, "batched slice n=1");
    }

    private static float[] columns(float[] x, int rows, int cols, int from, int to) {
        return sliceCols(x, rows, cols, from, to);
    }

    @Test
    void linear() {
        Random rnd = new Random(25);
        int in = 33;
        int out = 17;
        float[] x = Reference64.gaussian(rnd, 3 * 4 * in, 1);
        float[] w = Reference64.gaussian(rnd, out * in, 1.0 / Math.sqrt(in));
        float[] bias = Reference64.gaussian(rnd, out, 1);
        Tensor tw = f32(w, out, in);
        Tensor y = Ops.linear(f32(x, 3, 4, in), tw, f32(bias, out));
        assertShape(y, 3, 4, out);
        assertRel(y.toFloatArray(), Reference64.linear(x, w, bias, in, out), F32_TOL, "linear 3-D + bias");
        Tensor y2 = Ops.linear(f32(x, 12, in), tw, null);
        assertShape(y2, 12, out);
        assertRel(y2.toFloatArray(), Reference64.linear(x, w, null, in, out), F32_TOL, "linear 2-D");
        float[] x1 = new float[in];
        System.arraycopy(x, 0, x1, 0, in);
        Tensor y1 = Ops.linear(f32(x1, in), tw, f32(bias, out));
        assertShape(y1, out);
        assertRel(y1.toFloatArray(), Reference64.linear(x1, w, bias, in, out), F32_TOL, "linear 1-D");
    }

    @Test
    void zeroSizeTensors() {
        Tensor e = f32(new float[0], 3, 0);
        Tensor e2 = f32(new float[0], 0, 5);
        assertTrue(e.isContiguous(), "a fresh empty tensor is contiguous");
        assertEquals(0, Ops.add(e, e).toFloatArray().length);
        Tensor out = Tensor.empty(DType.F32, Device.CPU, 0, 5);
        Ops.binary(BinaryOp.MUL, e2, e2, out);
        assertShape(Ops.softmax(e), 3, 0);
        assertShape(Ops.softmax(e2), 0, 5);
        assertShape(Ops.softmax(f32(new float[0], 0, 4), true), 0, 4);
        assertShape(Ops.layerNorm(e, null, null, 1e-5f), 3, 0);
        assertShape(Ops.rmsNorm(e2, null, 1e-5f), 0, 5);
        assertShape(Ops.gelu(e), 3, 0);
        assertShape(Ops.transpose(e), 0, 3);
        assertShape(Ops.convert(e, DType.BF16), 3, 0);
        assertShape(Ops.matmul(e2, f32(new float[10], 5, 2)), 0, 2);
        assertShape(Ops.embedding(Tensor.ofInts(new int[0], Device.CPU, 0), f32(new float[] {1, 2, 3, 4}, 2, 2)), 0, 2);
        // k = 0: an empty sum is 0
        float[] k0 = Ops.matmul(f32(new float[0], 2, 0), f32(new float[0], 0, 3)).toFloatArray();
        assertArrayEquals(new float[6], k0);
        assertShape(f32(new float[] {1, 2, 3, 4}, 2, 2).slice(1, 1, 1), 2, 0);
    }

    // ------------------------------------------------------------------ views

    @Test
    void viewsShareStorageAndReadBackCorrectly() {
        float[] x = Reference64.gaussian(new Random(26), 4 * 6, 1);
        Tensor t = f32(x, 4, 6);
        Tensor r = t.reshape(-1, 3);
        assertShape(r, 8, 3);
        assertTrue(r.isContiguous());
        assertRel(r.toFloatArray(), x, 0, "reshape(-1, 3)");
        assertShape(t.reshape(2, -1, 4), 2, 3, 4);
        assertShape(t.reshape(-1), 24);

        Tensor s = t.slice(1, 2, 5); // [4, 3]
        assertShape(s, 4, 3);
        assertFalse(s.isContiguous());
        assertRel(s.toFloatArray(), sliceCols(x, 4, 6, 2, 5), 0, "slice cols");
        Tensor sr = t.slice(0, 1, 3);
        assertTrue(sr.isContiguous());
        assertRel(sr.toFloatArray(), sliceRows(x, 6, 1, 3), 0, "slice rows");
        assertShape(t.slice(-1, 0, 0), 4, 0);

        Tensor tr = t.transpose(0, 1);
        assertShape(tr, 6, 4);
        assertArrayEquals(new long[] {1, 6}, tr.strides());
        assertRel(tr.toFloatArray(), Reference64.transposed(x, 4, 6), 0, "transpose view");
        Tensor c = tr.contiguous();
        assertTrue(c.isContiguous());
        assertRel(c.toFloatArray(), Reference64.transposed(x, 4, 6), 0, "contiguous()");
        assertRel(c.reshape(-1).toFloatArray(), Reference64.transposed(x, 4, 6), 0, "contiguous().reshape");
        // a slice of a transposed view
        assertRel(tr.slice(0, 1, 4).toFloatArray(), sliceRows(Reference64.transposed(x, 4, 6), 4, 1, 4), 0,
                "slice of transpose");

        // writes through the parent are seen by views (shared storage), not by copies
        float[] y = Reference64.gaussian(new Random(27), 24, 1);
        t.copyFrom(y);
        assertRel(r.toFloatArray(), y, 0, "reshape view after write");
        assertRel(s.toFloatArray(), sliceCols(y, 4, 6, 2, 5), 0, "slice view after write");
        assertRel(c.toFloatArray(), Reference64.transposed(x, 4, 6), 0, "copy unchanged after write");
    }

    @Test
    void opsOnViewsGatherFirst() {
        Random rnd = new Random(28);
        float[] x = Reference64.gaussian(rnd, 6 * 10, 2);
        Tensor v = f32(x, 6, 10).t(); // [10, 6] non-contiguous
        float[] xv = Reference64.transposed(x, 6, 10);
        assertRel(Ops.softmax(v).toFloatArray(), Reference64.softmax(xv, 6, 0), F32_TOL, "softmax of view");
        assertRel(Ops.layerNorm(v, null, null, 1e-5f).toFloatArray(), Reference64.layerNorm(xv, null, null, 6, 1e-5),
                F32_TOL, "layerNorm of view");
        assertRel(Ops.gelu(v).toFloatArray(), Reference64.gelu(xv), F32_TOL, "gelu of view");
        float[] y = Reference64.gaussian(rnd, 60, 1);
        assertRel(Ops.add(v, f32(y, 10, 6)).toFloatArray(), Reference64.binary(BinaryOp.ADD, xv, y), F32_TOL,
                "add of view");
        assertRel(Ops.transpose(v).toFloatArray(), x, 0, "transpose of a transposed view");
    }

    @Test
    void factoriesAndHostCopies() {
        Tensor z = Tensor.zeros(DType.F32, Device.CPU, 3, 5);
        for (float f : z.toFloatArray()) {
            assertEquals(0f, f);
        }
        int[] ints = {5, -3, 7, 2_000_000_000};
        assertArrayEquals(ints, Tensor.ofInts(ints, Device.CPU, 2, 2).toIntArray());
        Function<long[], float[]> toF = l -> {
            float[] f = new float[l.length];
            for (int i = 0; i < l.length; i++) {
                f[i] = l[i];
            }
            return f;
        };
        long[] longs = {1L << 40, -5, 0, 3};
        assertArrayEquals(toF.apply(longs), Tensor.ofLongs(longs, Device.CPU, 4).toFloatArray());
        float[] x = Reference64.gaussian(new Random(29), 12, 1);
        Tensor t = f32(x, 3, 4);
        Tensor copy = t.to(Device.CPU);
        assertRel(copy.toFloatArray(), x, 0, "to(cpu)");
        assertEquals(Device.CPU, copy.device());
    }
}
