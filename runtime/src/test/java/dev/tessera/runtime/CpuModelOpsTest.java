package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static dev.tessera.runtime.TestSupport.poisonNextAllocation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.testing.ScopePerTest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ops the model pipelines need (copyInto between views, concat, the unary table, RoPE, last-dim
 * reductions, batched matmul / linear) on the CPU backend against float64 / index-exact Java references.
 */
@ExtendWith(ScopePerTest.class)
class CpuModelOpsTest {
    static final double F32_TOL = 1e-5;
    static final double HALF_TOL = 1e-2;

    static Tensor f32(float[] data, long... shape) {
        return Tensor.of(data, Device.CPU, shape);
    }

    /** A tensor of {@code dt} holding {@code data} (values rounded to dt; ints for I32/I64). */
    static Tensor typed(float[] data, DType dt, long... shape) {
        switch (dt) {
            case I32: {
                int[] v = new int[data.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (int) data[i];
                }
                return Tensor.ofInts(v, Device.CPU, shape);
            }
            case I64: {
                long[] v = new long[data.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (long) data[i];
                }
                return Tensor.ofLongs(v, Device.CPU, shape);
            }
            case I8: { // the values wrap to int8 in data too, so that the expected copies see what the tensor holds
                byte[] v = new byte[data.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (byte) data[i];
                    data[i] = v[i];
                }
                return Tensor.ofBytes(v, Device.CPU, shape);
            }
            case F32:
                return f32(data, shape);
            default:
                return f32(data, shape).to(dt);
        }
    }

    /** Integer-valued data in [-256, 256] (exact in every dtype) so that copies can be compared exactly. */
    static float[] ints(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextInt(513) - 256;
        }
        return a;
    }

    // ------------------------------------------------------------------ random views

    /** A view of {@code shape} inside a bigger random base tensor: sliced on every dim, dims permuted. */
    record View(Tensor base, float[] baseData, Tensor view) {}

    static View randomView(Random rnd, long[] shape, DType dt) {
        return randomView(rnd, shape, dt, Device.CPU);
    }

    /** As {@link #randomView(Random, long[], DType)} with the base tensor on {@code device}. */
    static View randomView(Random rnd, long[] shape, DType dt, Device device) {
        int r = shape.length;
        int[] perm = new int[r]; // base dim k holds view dim perm[k]
        for (int i = 0; i < r; i++) {
            perm[i] = i;
        }
        for (int i = r - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        long[] big = new long[r];
        long[] off = new long[r];
        for (int k = 0; k < r; k++) {
            long extra = rnd.nextInt(3);
            off[k] = extra == 0 ? 0 : rnd.nextInt((int) extra + 1);
            big[k] = shape[perm[k]] + extra;
        }
        float[] data = ints(rnd, Math.toIntExact(Shape.numel(big)));
        Tensor base = typed(data, dt, big);
        if (!device.isCpu()) {
            base = base.to(device);
        }
        Tensor v = base;
        for (int k = 0; k < r; k++) {
            v = v.slice(k, off[k], off[k] + shape[perm[k]]);
        }
        int[] label = perm.clone();
        for (int j = 0; j < r; j++) {
            int k = j;
            while (label[k] != j) {
                k++;
            }
            if (k != j) {
                v = v.transpose(j, k);
                int t = label[j];
                label[j] = label[k];
                label[k] = t;
            }
        }
        assertArrayEquals(shape, v.shape());
        return new View(base, data, v);
    }

    /** What copyInto(src, dst) must leave in dst's base: index by index through the views' strides. */
    static float[] expectedCopy(View src, View dst) {
        float[] out = dst.baseData().clone();
        long[] shape = src.view().shape();
        long[] ss = src.view().strides();
        long[] ds = dst.view().strides();
        long n = Shape.numel(shape);
        long[] idx = new long[shape.length];
        for (long i = 0; i < n; i++) {
            long so = src.view().offset();
            long dOff = dst.view().offset();
            for (int k = 0; k < shape.length; k++) {
                so += idx[k] * ss[k];
                dOff += idx[k] * ds[k];
            }
            out[(int) dOff] = src.baseData()[(int) so];
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++idx[k] < shape[k]) {
                    break;
                }
                idx[k] = 0;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ copyInto

    @ParameterizedTest
    @EnumSource(DType.class)
    void copyIntoBetweenRandomViews(DType dt) {
        Random rnd = new Random(100 + dt.ordinal());
        for (int trial = 0; trial < 40; trial++) {
            int rank = 1 + rnd.nextInt(5);
            long[] shape = new long[rank];
            for (int k = 0; k < rank; k++) {
                shape[k] = 1 + rnd.nextInt(trial < 30 ? 5 : 40);
            }
            try (Scope s = Tessera.scope()) {
                View src = randomView(rnd, shape, dt);
                View dst = randomView(rnd, shape, dt);
                Ops.copyInto(src.view(), dst.view());
                assertArrayEquals(expectedCopy(src, dst), dst.base().toFloatArray(),
                        dt + " trial " + trial + " shape " + Arrays.toString(shape));
            }
        }
    }

    @Test
    void copyIntoLargeStridedViewsUsesAllThreads() {
        Random rnd = new Random(7);
        long[] shape = {3, 257, 301};
        View src = randomView(rnd, shape, DType.F32);
        View dst = randomView(rnd, shape, DType.F32);
        Ops.copyInto(src.view(), dst.view());
        assertArrayEquals(expectedCopy(src, dst), dst.base().toFloatArray());
        // one long strided run (a column)
        View c1 = randomView(rnd, new long[] {200_000, 1}, DType.F32);
        Tensor col = Tensor.zeros(DType.F32, Device.CPU, 200_000, 2).slice(1, 1, 2);
        Ops.copyInto(c1.view(), col);
        float[] got = col.contiguous().toFloatArray();
        float[] want = c1.view().contiguous().toFloatArray();
        assertArrayEquals(want, got);
    }

    @Test
    void copyIntoAKvCacheSlice() {
        Random rnd = new Random(8);
        int b = 2, h = 3, cap = 10, d = 8, pos = 4, n = 3;
        float[] cache = Reference64.gaussian(rnd, b * h * cap * d, 1);
        float[] kNew = Reference64.gaussian(rnd, b * n * h * d, 1); // [B, S, H, D] projection output
        Tensor tCache = f32(cache, b, h, cap, d);
        Tensor k = f32(kNew, b, n, h, d).transpose(1, 2); // viewed as [B, H, S, D]
        Ops.copyInto(k, tCache.slice(2, pos, pos + n));
        float[] want = cache.clone();
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                for (int si = 0; si < n; si++) {
                    for (int j = 0; j < d; j++) {
                        want[((bi * h + hi) * cap + pos + si) * d + j] = kNew[((bi * n + si) * h + hi) * d + j];
                    }
                }
            }
        }
        assertArrayEquals(want, tCache.toFloatArray());
    }

    @Test
    void copyIntoOverlappingViewsOfOneTensorStagesTheSource() {
        Random rnd = new Random(9);
        float[] x = Reference64.gaussian(rnd, 10 * 6, 1);
        Tensor t = f32(x, 10, 6);
        Ops.copyInto(t.slice(0, 0, 9), t.slice(0, 1, 10)); // shift rows down by one
        float[] want = x.clone();
        System.arraycopy(x, 0, want, 6, 9 * 6);
        assertArrayEquals(want, t.toFloatArray());
        // a transpose onto itself (square): the staged copy gives the transpose
        float[] y = Reference64.gaussian(rnd, 7 * 7, 1);
        Tensor sq = f32(y, 7, 7);
        Ops.copyInto(sq.t(), sq);
        assertArrayEquals(Reference64.transposed(y, 7, 7), sq.toFloatArray());
    }

    @Test
    void copyIntoRejectsBadArguments() {
        Tensor a = f32(new float[12], 3, 4);
        Tensor b = f32(new float[12], 4, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.copyInto(a, b));
        assertTrue(e.getMessage().contains("shapes differ"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.copyInto(a, a.to(DType.F16)));
        assertTrue(e.getMessage().contains("dtype"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ops.copyInto(a, null));
        Tensor closed = f32(new float[12], 3, 4);
        closed.close();
        assertThrows(IllegalStateException.class, () -> Ops.copyInto(a, closed));
        assertThrows(IllegalStateException.class, () -> Ops.copyInto(closed, a));
        // a broadcast (stride 0) destination
        a.storage().retain();
        Tensor bcast = new Tensor(a.storage(), DType.F32, new long[] {3, 4}, new long[] {0, 1}, 0);
        e = assertThrows(IllegalArgumentException.class, () -> Ops.copyInto(b.t(), bcast));
        assertTrue(e.getMessage().contains("several indices"), e.getMessage());
        // zero-size copies are no-ops
        Ops.copyInto(a.slice(0, 1, 1), b.t().slice(0, 2, 2));
    }

    // ------------------------------------------------------------------ concat

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "I64"})
    void concatAlongEveryDim(DType dt) {
        Random rnd = new Random(11 + dt.ordinal());
        long[] shape = {2, 3, 4};
        for (int dim = -3; dim < 3; dim++) {
            int d = dim < 0 ? dim + 3 : dim;
            long[] sizes = {2, 0, 3, 1};
            Tensor[] parts = new Tensor[sizes.length];
            float[][] data = new float[sizes.length][];
            for (int p = 0; p < sizes.length; p++) {
                long[] s = shape.clone();
                s[d] = sizes[p];
                data[p] = ints(rnd, (int) Shape.numel(s));
                parts[p] = typed(data[p], dt, s);
            }
            // one part as a non-contiguous view
            long[] s0 = shape.clone();
            s0[d] = sizes[0];
            long[] rev = {s0[2], s0[1], s0[0]};
            float[] t0 = new float[data[0].length];
            // t0 holds part 0 transposed (dims reversed), viewed back with transpose(0, 2)
            for (int i = 0; i < s0[0]; i++) {
                for (int j = 0; j < s0[1]; j++) {
                    for (int k = 0; k < s0[2]; k++) {
                        t0[(int) ((k * rev[1] + j) * rev[2] + i)] = data[0][(int) ((i * s0[1] + j) * s0[2] + k)];
                    }
                }
            }
            parts[0] = typed(t0, dt, rev).transpose(0, 2);
            Tensor out = Ops.concat(dim, parts);
            long[] os = shape.clone();
            os[d] = 6;
            assertShape(out, os);
            assertEquals(dt, out.dtype());
            float[] got = out.toFloatArray();
            // reference: walk the output index space
            int at = 0;
            float[] want = new float[got.length];
            for (int p = 0; p < sizes.length; p++) {
                long[] s = shape.clone();
                s[d] = sizes[p];
                for (int i = 0; i < s[0]; i++) {
                    for (int j = 0; j < s[1]; j++) {
                        for (int k = 0; k < s[2]; k++) {
                            int[] o = {i, j, k};
                            o[d] += at;
                            want[(int) ((o[0] * os[1] + o[1]) * os[2] + o[2])] =
                                    data[p][(int) ((i * s[1] + j) * s[2] + k)];
                        }
                    }
                }
                at += (int) sizes[p];
            }
            assertArrayEquals(want, got, "concat dim " + dim);
        }
        // list overload
        Tensor x = typed(ints(rnd, 6), dt, 2, 3);
        assertShape(Ops.concat(0, List.of(x, x, x)), 6, 3);
    }

    @Test
    void concatRejectsBadArguments() {
        Tensor a = f32(new float[6], 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(0));
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(0, (Tensor[]) null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.concat(1, a, f32(new float[6], 3, 2)));
        assertTrue(e.getMessage().contains("sizes differ in dim 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(2, a, a));
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(-3, a, a));
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(0, a, a.to(DType.F16)));
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(0, a, f32(new float[6], 6)));
        assertThrows(IllegalArgumentException.class, () -> Ops.concat(0, a, null));
    }

    // ------------------------------------------------------------------ broadcasting binary ops

    /** float64 {@code a (op) b} with NumPy broadcasting of contiguous row-major a and b. */
    static double[] broadcastRef(BinaryOp op, float[] a, long[] sa, float[] b, long[] sb, long[] out) {
        int r = out.length;
        double[] res = new double[Math.toIntExact(Shape.numel(out))];
        long[] idx = new long[r];
        for (int i = 0; i < res.length; i++) {
            res[i] = Reference64.apply(op, a[flat(idx, sa, r)], b[flat(idx, sb, r)]);
            for (int k = r - 1; k >= 0; k--) {
                if (++idx[k] < out[k]) {
                    break;
                }
                idx[k] = 0;
            }
        }
        return res;
    }

    private static int flat(long[] idx, long[] shape, int r) {
        int off = r - shape.length;
        long f = 0;
        for (int k = 0; k < shape.length; k++) {
            f = f * shape[k] + (shape[k] == 1 ? 0 : idx[k + off]);
        }
        return (int) f;
    }

    /** Random pairs of broadcast-compatible shapes (and the broadcast shape), some large. */
    static long[][] broadcastPair(Random rnd, int trial) {
        int r = 1 + rnd.nextInt(4);
        long[] out = new long[r];
        for (int k = 0; k < r; k++) {
            out[k] = 1 + rnd.nextInt(trial % 5 == 4 ? 60 : 6);
        }
        long[][] ab = new long[2][];
        for (int t = 0; t < 2; t++) {
            int rr = 1 + rnd.nextInt(r);
            long[] s = new long[rr];
            for (int k = 0; k < rr; k++) {
                s[k] = rnd.nextInt(3) == 0 ? 1 : out[k + r - rr];
            }
            ab[t] = s;
        }
        int ro = Math.max(ab[0].length, ab[1].length);
        long[] o = new long[ro];
        for (int k = 0; k < ro; k++) {
            long da = k - (ro - ab[0].length) >= 0 ? ab[0][k - (ro - ab[0].length)] : 1;
            long db = k - (ro - ab[1].length) >= 0 ? ab[1][k - (ro - ab[1].length)] : 1;
            o[k] = Math.max(da, db);
        }
        return new long[][] {ab[0], ab[1], o};
    }

    @Test
    void binaryBroadcastsLikeNumpy() {
        Random rnd = new Random(50);
        for (int trial = 0; trial < 60; trial++) {
            long[][] p = broadcastPair(rnd, trial);
            float[] a = Reference64.gaussian(rnd, (int) Shape.numel(p[0]), 2);
            float[] b = Reference64.awayFromZero(rnd, (int) Shape.numel(p[1]), 0.25, 3);
            for (BinaryOp op : BinaryOp.values()) {
                Tensor out = Ops.binary(op, f32(a, p[0]), f32(b, p[1]));
                assertShape(out, p[2]);
                assertRel(out.toFloatArray(), broadcastRef(op, a, p[0], b, p[1], p[2]), F32_TOL,
                        op + " " + Arrays.toString(p[0]) + " with " + Arrays.toString(p[1]));
            }
        }
        // the pipelines' cases: per-row factors [B, S, 1], masks [B, 1, S], a scalar, a column of a view
        Random r2 = new Random(51);
        float[] x = Reference64.gaussian(r2, 2 * 5 * 7, 1);
        float[] f = Reference64.awayFromZero(r2, 2 * 5, 0.5, 2);
        Tensor tx = f32(x, 2, 5, 7);
        assertRel(Ops.div(tx, f32(f, 2, 5, 1)).toFloatArray(),
                broadcastRef(BinaryOp.DIV, x, new long[] {2, 5, 7}, f, new long[] {2, 5, 1}, new long[] {2, 5, 7}),
                F32_TOL, "per-row factor");
        float[] m = Reference64.gaussian(r2, 2 * 7, 1);
        assertRel(Ops.mul(tx, f32(m, 2, 1, 7)).toFloatArray(),
                broadcastRef(BinaryOp.MUL, x, new long[] {2, 5, 7}, m, new long[] {2, 1, 7}, new long[] {2, 5, 7}),
                F32_TOL, "mask");
        assertRel(Ops.add(f32(new float[] {3f}), tx).toFloatArray(),
                broadcastRef(BinaryOp.ADD, new float[] {3f}, new long[] {1}, x, new long[] {2, 5, 7},
                        new long[] {2, 5, 7}), F32_TOL, "scalar");
        // a transposed view broadcast against a column (outer product shape)
        Tensor col = f32(f, 10, 1);
        Tensor rowView = f32(x, 2, 35).slice(0, 1, 2); // [1, 35], offset view
        float[] rv = Arrays.copyOfRange(x, 35, 70);
        assertRel(Ops.sub(col, rowView).toFloatArray(),
                broadcastRef(BinaryOp.SUB, f, new long[] {10, 1}, rv, new long[] {1, 35}, new long[] {10, 35}),
                F32_TOL, "outer");
        Tensor tv = tx.transpose(1, 2); // [2, 7, 5] view
        float[] tvc = tv.contiguous().toFloatArray();
        assertRel(Ops.mul(tv, f32(f, 2, 1, 5)).toFloatArray(),
                broadcastRef(BinaryOp.MUL, tvc, new long[] {2, 7, 5}, f, new long[] {2, 1, 5}, new long[] {2, 7, 5}),
                F32_TOL, "view");
        // same-shape views are read in place too (no gather)
        float[] u = Reference64.awayFromZero(r2, 7 * 6, 0.5, 2);
        float[] w = Reference64.gaussian(r2, 6 * 7, 1);
        Tensor ut = f32(u, 7, 6).t();
        for (BinaryOp op : BinaryOp.values()) {
            assertRel(Ops.binary(op, f32(w, 6, 7), ut).toFloatArray(),
                    Reference64.binary(op, w, Reference64.transposed(u, 7, 6)), F32_TOL, "same-shape view " + op);
        }
        // in place into a (out = a) and an input overlapping out in another layout
        Tensor acc = f32(x, 2, 5, 7);
        Ops.binary(BinaryOp.MUL, acc, f32(f, 2, 5, 1), acc);
        assertRel(acc.toFloatArray(),
                broadcastRef(BinaryOp.MUL, x, new long[] {2, 5, 7}, f, new long[] {2, 5, 1}, new long[] {2, 5, 7}),
                F32_TOL, "in place");
        float[] sq = Reference64.gaussian(r2, 6 * 6, 1);
        Tensor tsq = f32(sq, 6, 6);
        Ops.binary(BinaryOp.ADD, tsq, tsq.slice(1, 0, 1), tsq); // x += x[:, :1] (column 0 is overwritten first)
        assertRel(tsq.toFloatArray(),
                broadcastRef(BinaryOp.ADD, sq, new long[] {6, 6}, sliceCols(sq, 6, 6, 0, 1), new long[] {6, 1},
                        new long[] {6, 6}), F32_TOL, "overlap");
        // out a shifted contiguous slice of the storage a is read from (rows 1..9 = rows 0..8 + b)
        float[] sh = Reference64.gaussian(r2, 10 * 4, 1);
        float[] sb = Reference64.gaussian(r2, 9 * 4, 1);
        Tensor tsh = f32(sh, 10, 4);
        Ops.binary(BinaryOp.ADD, tsh.slice(0, 0, 9), f32(sb, 9, 4), tsh.slice(0, 1, 10));
        double[] wsh = Reference64.toDouble(sh);
        double[] add = Reference64.binary(BinaryOp.ADD, Arrays.copyOf(sh, 36), sb);
        System.arraycopy(add, 0, wsh, 4, 36);
        assertRel(tsh.toFloatArray(), wsh, F32_TOL, "shifted overlap");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.add(f32(new float[6], 2, 3), f32(new float[4], 2, 2)));
        assertTrue(e.getMessage().contains("do not broadcast"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Ops.binary(BinaryOp.ADD, f32(new float[6], 2, 3), f32(new float[2], 2, 1), f32(new float[6], 6)));
    }

    static float[] sliceCols(float[] x, int rows, int cols, int from, int to) {
        return CpuOpsTest.sliceCols(x, rows, cols, from, to);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void binaryBroadcastOnHalfTensors(DType dt) {
        Random rnd = new Random(52 + dt.ordinal());
        for (int trial = 0; trial < 20; trial++) {
            long[][] p = broadcastPair(rnd, trial);
            float[] a = Reference64.round(Reference64.gaussian(rnd, (int) Shape.numel(p[0]), 2), dt);
            float[] b = Reference64.round(Reference64.awayFromZero(rnd, (int) Shape.numel(p[1]), 0.25, 3), dt);
            for (BinaryOp op : BinaryOp.values()) {
                Tensor out = Ops.binary(op, f32(a, p[0]).to(dt), f32(b, p[1]).to(dt));
                assertEquals(dt, out.dtype());
                assertRel(out.toFloatArray(), broadcastRef(op, a, p[0], b, p[1], p[2]), HALF_TOL, dt + " " + op);
            }
        }
    }

    // ------------------------------------------------------------------ unary

    /** Inputs inside the op's domain (positive for log / sqrt / rsqrt). */
    static float[] unaryInput(UnaryOp op, Random rnd, int n) {
        switch (op) {
            case LOG:
            case SQRT:
            case RSQRT:
                return Reference64.uniform(rnd, n, 1e-3, 50);
            case EXP:
                return Reference64.gaussian(rnd, n, 4);
            default:
                return Reference64.gaussian(rnd, n, 3);
        }
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOpsMatchTheFloat64Reference(UnaryOp op) {
        for (int n : new int[] {1, 7, 33, 1000, 70_001}) {
            Random rnd = new Random(31L * n + op.ordinal());
            float[] x = unaryInput(op, rnd, n);
            poisonNextAllocation(n);
            Tensor out = Ops.unary(op, f32(x, n));
            assertRel(out.toFloatArray(), Reference64.unary(op, x), F32_TOL, op + " n=" + n);
        }
        // any rank, a non-contiguous input, and out = x
        Random rnd = new Random(op.ordinal());
        float[] x = unaryInput(op, rnd, 6 * 35);
        Tensor t = f32(x, 6, 35);
        assertRel(Ops.unary(op, t.t()).toFloatArray(), Reference64.unary(op, Reference64.transposed(x, 6, 35)),
                F32_TOL, op + " view");
        Ops.unary(op, t, t);
        assertRel(t.toFloatArray(), Reference64.unary(op, x), F32_TOL, op + " in place");
    }

    @Test
    void unaryElementwiseAccuracyAndSpecialValues() {
        // per-element relative error, not just the norm: the transcendental ones across magnitudes
        float[] x = new float[4001];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((i - 2000) * 0.02); // [-40, 40]
        }
        for (UnaryOp op : new UnaryOp[] {UnaryOp.SIGMOID, UnaryOp.TANH, UnaryOp.EXP, UnaryOp.QUICK_GELU}) {
            float[] got = Ops.unary(op, f32(x, x.length)).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                double want = Reference64.unary(op, x[i]);
                double err = Math.abs(got[i] - want) / Math.max(Math.abs(want), 1e-30);
                assertTrue(err < 1e-5 || Math.abs(got[i] - want) < 1e-37, op + "(" + x[i] + ") = " + got[i] + ", want " + want);
            }
        }
        float[] pos = new float[3000];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = (float) Math.pow(10, -40 + i * 0.026); // 1e-40 (subnormal) .. 1e38
        }
        for (UnaryOp op : new UnaryOp[] {UnaryOp.LOG, UnaryOp.SQRT, UnaryOp.RSQRT}) {
            float[] got = Ops.unary(op, f32(pos, pos.length)).toFloatArray();
            for (int i = 0; i < pos.length; i++) {
                double want = Reference64.unary(op, pos[i]);
                double err = Math.abs(got[i] - want) / Math.abs(want);
                if (op == UnaryOp.RSQRT && Double.isInfinite((float) want)) {
                    continue;
                }
                assertTrue(err < 1e-6 || (op == UnaryOp.LOG && Math.abs(got[i] - want) < 1e-7),
                        op + "(" + pos[i] + ") = " + got[i] + ", want " + want);
            }
        }
        float inf = Float.POSITIVE_INFINITY;
        float nan = Float.NaN;
        float[] sp = {nan, inf, -inf, 0f, -0f, -1f, 1f, 2f};
        Tensor tsp = f32(sp, sp.length);
        assertArrayEquals(new float[] {nan, 1, 0, 0.5f, 0.5f, 0.26894143f, 0.7310586f, 0.8807971f},
                Ops.sigmoid(tsp).toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {nan, 1, -1, 0, -0f, -0.7615942f, 0.7615942f, 0.9640276f},
                Ops.tanh(tsp).toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {nan, inf, 0, 0, -0f, 0, 1, 2}, Ops.relu(tsp).toFloatArray());
        assertArrayEquals(new float[] {nan, inf, 0, 1, 1, 0.36787945f, 2.7182817f, 7.389056f},
                Ops.exp(tsp).toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {nan, inf, nan, -inf, -inf, nan, 0, 0.6931472f}, Ops.log(tsp).toFloatArray(),
                1e-7f);
        assertArrayEquals(new float[] {nan, inf, -0f, 0, -0f, (float) (-1 / (1 + Math.exp(1.702))),
            (float) (1 / (1 + Math.exp(-1.702))), (float) (2 / (1 + Math.exp(-3.404)))},
                Ops.quickGelu(tsp).toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {nan, inf, nan, 0, -0f, nan, 1, 1.4142135f},
                Ops.unary(UnaryOp.SQRT, tsp).toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {nan, 0, nan, inf, -inf, nan, 1, 0.70710677f},
                Ops.unary(UnaryOp.RSQRT, tsp).toFloatArray(), 1e-7f);
        assertArrayEquals(new float[] {nan, inf, inf, 0, 0, 1, 1, 2}, Ops.unary(UnaryOp.ABS, tsp).toFloatArray());
        assertArrayEquals(new float[] {nan, -inf, inf, -0f, 0, 1, -1, -2}, Ops.unary(UnaryOp.NEG, tsp).toFloatArray());
        assertArrayEquals(new float[] {nan, inf, inf, 0, 0, 1, 1, 4}, Ops.unary(UnaryOp.SQUARE, tsp).toFloatArray());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void unaryOnHalfTensors(DType dt) {
        for (UnaryOp op : UnaryOp.values()) {
            Random rnd = new Random(40 + op.ordinal());
            // (exp of N(0, 4²) would overflow F16's 65504)
            float[] x = Reference64.round(op == UnaryOp.EXP ? Reference64.gaussian(rnd, 257, 2)
                    : unaryInput(op, rnd, 257), dt);
            Tensor out = Ops.unary(op, f32(x, 257).to(dt));
            assertEquals(dt, out.dtype());
            assertRel(out.toFloatArray(), Reference64.unary(op, x), HALF_TOL, dt + " " + op);
        }
    }

    @Test
    void unaryRejectsBadArguments() {
        Tensor x = f32(new float[6], 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Ops.unary(null, x));
        assertThrows(IllegalArgumentException.class, () -> Ops.relu(Tensor.ofInts(new int[6], Device.CPU, 6)));
        assertThrows(IllegalArgumentException.class, () -> Ops.unary(UnaryOp.EXP, x, f32(new float[6], 3, 2)));
        assertThrows(IllegalArgumentException.class, () -> Ops.unary(UnaryOp.EXP, x, x.to(DType.F16)));
        assertThrows(IllegalArgumentException.class, () -> Ops.unary(UnaryOp.EXP, x, f32(new float[12], 2, 6).slice(1, 0, 3)));
        Tensor closed = f32(new float[6], 6);
        closed.close();
        assertThrows(IllegalStateException.class, () -> Ops.sigmoid(closed));
    }

    // ------------------------------------------------------------------ rope

    @ParameterizedTest(name = "b {0}")
    @ValueSource(ints = {1, 2})
    void ropeMatchesTheReference(int b) {
        int[][] shapes = {{1, 1, 2}, {3, 5, 8}, {4, 17, 64}, {2, 9, 128}, {8, 300, 64}};
        for (int[] hs : shapes) {
            int h = hs[0], s = hs[1], d = hs[2];
            Random rnd = new Random(b * 1000L + h * 31L + s * 7L + d);
            float[] x = Reference64.gaussian(rnd, b * h * s * d, 1);
            float[] ang = Reference64.uniform(rnd, s * d / 2, -10, 10);
            float[] cos = new float[ang.length];
            float[] sin = new float[ang.length];
            for (int i = 0; i < ang.length; i++) {
                cos[i] = (float) Math.cos(ang[i]);
                sin[i] = (float) Math.sin(ang[i]);
            }
            poisonNextAllocation((long) x.length);
            Tensor out = Ops.rope(f32(x, b, h, s, d), f32(cos, s, d / 2), f32(sin, s, d / 2));
            assertShape(out, b, h, s, d);
            double[] want = Reference64.rope(x, cos, sin, b, h, s, d, false);
            assertRel(out.toFloatArray(), want, F32_TOL, "rope " + Arrays.toString(hs));

            // x as a transposed [B, S, H, D] projection output: read in place
            float[] xbshd = new float[x.length];
            for (int bi = 0; bi < b; bi++) {
                for (int hi = 0; hi < h; hi++) {
                    for (int si = 0; si < s; si++) {
                        System.arraycopy(x, ((bi * h + hi) * s + si) * d, xbshd, ((bi * s + si) * h + hi) * d, d);
                    }
                }
            }
            Tensor view = f32(xbshd, b, s, h, d).transpose(1, 2);
            assertRel(Ops.rope(view, f32(cos, s, d / 2), f32(sin, s, d / 2)).toFloatArray(), want, F32_TOL,
                    "rope of a view " + Arrays.toString(hs));
        }
    }

    @Test
    void ropeWithPerSequenceTablesAndSlicedTables() {
        Random rnd = new Random(12);
        int b = 3, h = 4, s = 5, d = 16, maxPos = 40;
        float[] x = Reference64.gaussian(rnd, b * h * s * d, 1);
        float[] cos = Reference64.uniform(rnd, b * s * d / 2, -1, 1);
        float[] sin = Reference64.uniform(rnd, b * s * d / 2, -1, 1);
        Tensor out = Ops.rope(f32(x, b, h, s, d), f32(cos, b, s, d / 2), f32(sin, b, s, d / 2));
        assertRel(out.toFloatArray(), Reference64.rope(x, cos, sin, b, h, s, d, true), F32_TOL, "per batch");
        // rows of a precomputed table at a decode offset (slices of a [maxPos, D/2] table)
        float[] tc = Reference64.uniform(rnd, maxPos * d / 2, -1, 1);
        float[] ts = Reference64.uniform(rnd, maxPos * d / 2, -1, 1);
        int pos = 17;
        Tensor c = f32(tc, maxPos, d / 2).slice(0, pos, pos + s);
        Tensor sn = f32(ts, maxPos, d / 2).slice(0, pos, pos + s);
        float[] cRows = Arrays.copyOfRange(tc, pos * d / 2, (pos + s) * d / 2);
        float[] sRows = Arrays.copyOfRange(ts, pos * d / 2, (pos + s) * d / 2);
        assertRel(Ops.rope(f32(x, b, h, s, d), c, sn).toFloatArray(),
                Reference64.rope(x, cRows, sRows, b, h, s, d, false), F32_TOL, "sliced table");
        // a view whose last dim is not unit-stride is gathered first
        Tensor xt = f32(x, b, h, d, s).transpose(2, 3); // [b, h, s, d] with stride 1 along s
        float[] xtc = xt.contiguous().toFloatArray();
        assertRel(Ops.rope(xt, f32(cos, b, s, d / 2), f32(sin, b, s, d / 2)).toFloatArray(),
                Reference64.rope(xtc, cos, sin, b, h, s, d, true), F32_TOL, "strided last dim");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void ropeOnHalfTensors(DType dt) {
        Random rnd = new Random(13 + dt.ordinal());
        int b = 2, h = 3, s = 7, d = 32;
        float[] x = Reference64.round(Reference64.gaussian(rnd, b * s * h * d, 1), dt);
        float[] cos = Reference64.uniform(rnd, s * d / 2, -1, 1);
        float[] sin = Reference64.uniform(rnd, s * d / 2, -1, 1);
        Tensor tx = f32(x, b, s, h, d).to(dt).transpose(1, 2);
        float[] xc = tx.contiguous().toFloatArray();
        Tensor out = Ops.rope(tx, f32(cos, s, d / 2), f32(sin, s, d / 2));
        assertEquals(dt, out.dtype());
        assertRel(out.toFloatArray(), Reference64.rope(xc, cos, sin, b, h, s, d, false), HALF_TOL, dt + " rope");
    }

    @Test
    void ropeRejectsBadArguments() {
        Tensor x = f32(new float[2 * 3 * 4 * 8], 2, 3, 4, 8);
        Tensor cs = f32(new float[16], 4, 4);
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(x.reshape(6, 4, 8), cs, cs));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.rope(f32(new float[2 * 3 * 4 * 7], 2, 3, 4, 7), cs, cs));
        assertTrue(e.getMessage().contains("even"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.rope(x, f32(new float[20], 5, 4), cs));
        assertTrue(e.getMessage().contains("cos must be [4, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(x, cs, f32(new float[32], 4, 8)));
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(x, cs.to(DType.F16), cs));
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(x, cs, f32(new float[48], 3, 4, 4)));
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(x, null, cs));
        assertThrows(IllegalArgumentException.class,
                () -> Ops.rope(Tensor.ofInts(new int[2 * 3 * 4 * 8], Device.CPU, 2, 3, 4, 8), cs, cs));
    }

    // ------------------------------------------------------------------ reductions

    @Test
    void sumAndMeanOverTheLastDim() {
        for (int rows : new int[] {1, 3, 17, 600}) {
            for (int cols : new int[] {1, 7, 33, 1000, 4097}) {
                Random rnd = new Random(rows * 10_007L + cols);
                float[] x = Reference64.gaussian(rnd, rows * cols, 2);
                Tensor t = f32(x, rows, cols);
                poisonNextAllocation(rows);
                Tensor sum = Ops.sumLastDim(t);
                assertShape(sum, rows);
                assertRel(sum.toFloatArray(), Reference64.sumRows(x, cols, 1), F32_TOL, "sum " + rows + "x" + cols);
                assertRel(Ops.meanLastDim(t).toFloatArray(), Reference64.sumRows(x, cols, 1.0 / cols), F32_TOL,
                        "mean " + rows + "x" + cols);
            }
        }
        // long rows far from zero: accumulation error stays at the double level
        Random rl = new Random(140);
        float[] longRows = Reference64.gaussian(rl, 3 * 100_003, 1);
        for (int i = 0; i < longRows.length; i++) {
            longRows[i] += 1000f;
        }
        assertRel(Ops.sumLastDim(f32(longRows, 3, 100_003)).toFloatArray(), Reference64.sumRows(longRows, 100_003, 1),
                1e-7, "long rows");
        // higher rank, a view, rank 1 -> rank 0
        Random rnd = new Random(14);
        float[] x = Reference64.gaussian(rnd, 2 * 3 * 5, 1);
        Tensor t = f32(x, 2, 3, 5);
        Tensor s3 = Ops.sumLastDim(t);
        assertShape(s3, 2, 3);
        assertRel(s3.toFloatArray(), Reference64.sumRows(x, 5, 1), F32_TOL, "rank 3");
        Tensor tv = t.transpose(1, 2); // [2, 5, 3]
        float[] xv = tv.contiguous().toFloatArray();
        assertRel(Ops.meanLastDim(tv).toFloatArray(), Reference64.sumRows(xv, 3, 1.0 / 3), F32_TOL, "view");
        Tensor s0 = Ops.sumLastDim(f32(Arrays.copyOf(x, 5), 5));
        assertShape(s0);
        assertRel(s0.toFloatArray(), Reference64.sumRows(Arrays.copyOf(x, 5), 5, 1), F32_TOL, "rank 1");
        // empty last dim: sums are 0, mean is refused
        Tensor empty = Tensor.empty(DType.F32, Device.CPU, 4, 0);
        assertArrayEquals(new float[4], Ops.sumLastDim(empty).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> Ops.meanLastDim(empty));
        assertThrows(IllegalArgumentException.class, () -> Ops.sumLastDim(Tensor.ofInts(new int[3], Device.CPU, 3)));
        // NaN stays in its row
        float[] withNan = {1, 2, Float.NaN, 4, 5, 6};
        float[] sums = Ops.sumLastDim(f32(withNan, 2, 3)).toFloatArray();
        assertTrue(Float.isNaN(sums[0]));
        assertEquals(15f, sums[1]);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void sumAndMeanOfHalfTensors(DType dt) {
        Random rnd = new Random(15 + dt.ordinal());
        float[] x = Reference64.round(Reference64.gaussian(rnd, 9 * 300, 1), dt);
        Tensor t = f32(x, 9, 300).to(dt);
        Tensor sum = Ops.sumLastDim(t);
        assertEquals(dt, sum.dtype());
        assertRel(sum.toFloatArray(), Reference64.sumRows(x, 300, 1), HALF_TOL, dt + " sum");
        assertRel(Ops.meanLastDim(t).toFloatArray(), Reference64.sumRows(x, 300, 1.0 / 300), HALF_TOL, dt + " mean");
    }

    @Test
    void argmaxOverTheLastDim() {
        for (int rows : new int[] {1, 5, 300}) {
            for (int cols : new int[] {1, 2, 15, 16, 17, 1000, 32_001}) {
                Random rnd = new Random(rows * 7L + cols);
                float[] x = Reference64.gaussian(rnd, rows * cols, 3);
                assertArrayEquals(Reference64.argmaxRows(x, cols), Ops.argmaxLastDim(f32(x, rows, cols)),
                        rows + "x" + cols);
            }
        }
        float inf = Float.POSITIVE_INFINITY;
        float nan = Float.NaN;
        float[] x = {
            1, 3, 3, 2, // tie: first
            -inf, -inf, -inf, -inf, // all -inf: 0
            1, nan, 5, nan, // NaN wins, first NaN
            nan, 1, 2, 3, //
            0, inf, inf, 1, //
            -5, -4, -4, -7,
        };
        assertArrayEquals(new int[] {1, 0, 1, 0, 1, 1}, Ops.argmaxLastDim(f32(x, 6, 4)));
        assertArrayEquals(Reference64.argmaxRows(x, 4), Ops.argmaxLastDim(f32(x, 6, 4)));
        // ties far apart in a long row (vector lanes) and a NaN after the max
        float[] longRow = new float[5000];
        longRow[4000] = 7;
        longRow[123] = 7;
        assertArrayEquals(new int[] {123}, Ops.argmaxLastDim(f32(longRow, 5000)));
        longRow[4999] = nan;
        assertArrayEquals(new int[] {4999}, Ops.argmaxLastDim(f32(longRow, 5000)));
        // rank 3, views and half storage (greedy decoding on the last position)
        Random rnd = new Random(16);
        float[] logits = Reference64.gaussian(rnd, 2 * 5 * 101, 1);
        Tensor t = f32(logits, 2, 5, 101);
        assertArrayEquals(Reference64.argmaxRows(logits, 101), Ops.argmaxLastDim(t));
        Tensor last = t.slice(1, 4, 5);
        assertArrayEquals(Reference64.argmaxRows(last.contiguous().toFloatArray(), 101), Ops.argmaxLastDim(last));
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            Tensor h = t.to(dt);
            assertArrayEquals(Reference64.argmaxRows(h.toFloatArray(), 101), Ops.argmaxLastDim(h), dt.name());
        }
        assertEquals(0, Ops.argmaxLastDim(Tensor.empty(DType.F32, Device.CPU, 0, 4)).length);
        assertThrows(IllegalArgumentException.class, () -> Ops.argmaxLastDim(Tensor.empty(DType.F32, Device.CPU, 3, 0)));
        assertThrows(IllegalArgumentException.class, () -> Ops.argmaxLastDim(Tensor.ofInts(new int[3], Device.CPU, 3)));
    }

    @Test
    void logSoftmaxOverTheLastDim() {
        for (int rows : new int[] {1, 3, 17}) {
            for (int cols : new int[] {1, 7, 33, 1000, 4097}) {
                Random rnd = new Random(rows * 131L + cols);
                float[] x = Reference64.gaussian(rnd, rows * cols, 4);
                poisonNextAllocation((long) rows * cols);
                Tensor out = Ops.logSoftmax(f32(x, rows, cols));
                assertShape(out, rows, cols);
                assertRel(out.toFloatArray(), Reference64.logSoftmax(x, cols), F32_TOL, "logSoftmax " + rows + "x" + cols);
            }
        }
        // large logits do not overflow; -inf entries give -inf; NaN / all -inf rows give NaN
        float inf = Float.POSITIVE_INFINITY;
        float[] x = {1000, 999, -1000, 0, -inf, 1, 2, -inf, Float.NaN, 1, 2, 3, -inf, -inf, -inf, -inf};
        float[] got = Ops.logSoftmax(f32(x, 4, 4)).toFloatArray();
        double[] want = Reference64.logSoftmax(Arrays.copyOf(x, 8), 4);
        for (int i = 0; i < 8; i++) {
            assertEquals(want[i], got[i], 1e-6 * (1 + Math.abs(want[i])), "element " + i);
        }
        for (int i = 8; i < 16; i++) {
            assertTrue(Float.isNaN(got[i]), "element " + i + " = " + got[i]);
        }
        // a view, rank 3 and half storage
        Random rnd = new Random(60);
        float[] y = Reference64.gaussian(rnd, 2 * 5 * 9, 2);
        Tensor ty = f32(y, 2, 5, 9);
        assertRel(Ops.logSoftmax(ty).toFloatArray(), Reference64.logSoftmax(y, 9), F32_TOL, "rank 3");
        Tensor tv = ty.transpose(1, 2);
        assertRel(Ops.logSoftmax(tv).toFloatArray(), Reference64.logSoftmax(tv.contiguous().toFloatArray(), 5), F32_TOL,
                "view");
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            float[] yr = Reference64.round(y, dt);
            Tensor o = Ops.logSoftmax(f32(yr, 10, 9).to(dt));
            assertEquals(dt, o.dtype());
            assertRel(o.toFloatArray(), Reference64.logSoftmax(yr, 9), HALF_TOL, dt + " logSoftmax");
        }
        assertThrows(IllegalArgumentException.class, () -> Ops.logSoftmax(Tensor.ofInts(new int[3], Device.CPU, 3)));
    }

    @Test
    void sumAndMeanOverAnyDim() {
        Random rnd = new Random(61);
        long[] shape = {3, 4, 5, 6};
        float[] x = Reference64.gaussian(rnd, 360, 1);
        Tensor t = f32(x, shape);
        for (int dim = -4; dim < 4; dim++) {
            int d = dim < 0 ? dim + 4 : dim;
            long[] os = new long[3];
            for (int i = 0, j = 0; i < 4; i++) {
                if (i != d) {
                    os[j++] = shape[i];
                }
            }
            double[] want = new double[(int) Shape.numel(os)];
            long[] st = Shape.contiguousStrides(shape);
            for (int i = 0; i < x.length; i++) {
                long rem = i;
                long o = 0;
                for (int k = 0; k < 4; k++) {
                    long idx = rem / st[k];
                    rem %= st[k];
                    if (k != d) {
                        o = o * shape[k] + idx;
                    }
                }
                want[(int) o] += x[i];
            }
            Tensor s = Ops.sum(t, dim);
            assertShape(s, os);
            assertRel(s.toFloatArray(), want, F32_TOL, "sum dim " + dim);
            double[] wm = want.clone();
            for (int i = 0; i < wm.length; i++) {
                wm[i] /= shape[d];
            }
            assertRel(Ops.mean(t, dim).toFloatArray(), wm, F32_TOL, "mean dim " + dim);
        }
        // masked mean pooling [B, S, D] with mask [B, S, 1]
        int b = 2, sLen = 5, dd = 3;
        float[] h = Reference64.gaussian(rnd, b * sLen * dd, 1);
        float[] mask = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
        Tensor pooled = Ops.div(Ops.sum(Ops.mul(f32(h, b, sLen, dd), f32(mask, b, sLen, 1)), 1),
                Ops.sum(f32(mask, b, sLen, 1), 1));
        assertShape(pooled, b, dd);
        double[] want = new double[b * dd];
        for (int bi = 0; bi < b; bi++) {
            double n = 0;
            for (int si = 0; si < sLen; si++) {
                n += mask[bi * sLen + si];
                for (int j = 0; j < dd; j++) {
                    want[bi * dd + j] += mask[bi * sLen + si] * h[(bi * sLen + si) * dd + j];
                }
            }
            for (int j = 0; j < dd; j++) {
                want[bi * dd + j] /= n;
            }
        }
        assertRel(pooled.toFloatArray(), want, F32_TOL, "masked mean pooling");
        assertThrows(IllegalArgumentException.class, () -> Ops.sum(t, 4));
        assertThrows(IllegalArgumentException.class, () -> Ops.mean(t, -5));
        assertThrows(IllegalArgumentException.class, () -> Ops.mean(Tensor.empty(DType.F32, Device.CPU, 0, 3), 0));
    }

    // ------------------------------------------------------------------ batched matmul / linear

    @Test
    void matmulOfFourDimensionalInputsAndLinearOnThreeDimensionalInputs() {
        Random rnd = new Random(17);
        int b = 2, h = 3, m = 5, k = 7, n = 4;
        float[] a = Reference64.gaussian(rnd, b * h * m * k, 1);
        float[] bb = Reference64.gaussian(rnd, b * h * k * n, 1);
        Tensor out = Ops.matmul(f32(a, b, h, m, k), f32(bb, b, h, k, n));
        assertShape(out, b, h, m, n);
        assertRel(out.toFloatArray(), Reference64.matmul(a, bb, b * h, m, k, n, false), F32_TOL, "4-D batched");
        float[] w = Reference64.gaussian(rnd, k * n, 1);
        Tensor o2 = Ops.matmul(f32(a, b, h, m, k), f32(w, k, n));
        assertShape(o2, b, h, m, n);
        assertRel(o2.toFloatArray(), Reference64.matmul(a, w, b * h, m, k, n, true), F32_TOL, "4-D x 2-D");
        // attention-style: q [B,H,S,D] · kᵀ where k is a transposed view
        Tensor q = f32(a, b, h, m, k);
        Tensor kk = f32(a, b, h, m, k);
        float[] kt = new float[a.length];
        for (int i = 0; i < b * h; i++) {
            System.arraycopy(Reference64.transposed(Arrays.copyOfRange(a, i * m * k, (i + 1) * m * k), m, k), 0, kt,
                    i * m * k, m * k);
        }
        assertRel(Ops.matmul(q, kk.t()).toFloatArray(), Reference64.matmul(a, kt, b * h, m, k, m, false), F32_TOL,
                "q kT");
        // b's batch dims broadcast to a's: [B, H, m, k] · [1, H, k, n] and · [B, 1, k, n], a batch-of-one b
        float[] bh = Reference64.gaussian(rnd, h * k * n, 1);
        Tensor o4 = Ops.matmul(f32(a, b, h, m, k),
                f32(bh, 1, h, n, k).transpose(-1, -2)); // a transposed view of b, shared over B
        assertShape(o4, b, h, m, n);
        float[] bhT = new float[bh.length];
        for (int i = 0; i < h; i++) {
            System.arraycopy(Reference64.transposed(Arrays.copyOfRange(bh, i * k * n, (i + 1) * k * n), n, k), 0, bhT,
                    i * k * n, k * n);
        }
        double[] want4 = new double[b * h * m * n];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                double[] one = Reference64.matmul(Arrays.copyOfRange(a, (bi * h + hi) * m * k, (bi * h + hi + 1) * m * k),
                        Arrays.copyOfRange(bhT, hi * k * n, (hi + 1) * k * n), m, k, n);
                System.arraycopy(one, 0, want4, (bi * h + hi) * m * n, m * n);
            }
        }
        assertRel(o4.toFloatArray(), want4, F32_TOL, "[B,H] x [1,H] batches");
        float[] bb1 = Reference64.gaussian(rnd, b * k * n, 1);
        Tensor o7 = Ops.matmul(f32(a, b, h, m, k), f32(bb1, b, 1, k, n));
        double[] want7 = new double[b * h * m * n];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                double[] one = Reference64.matmul(Arrays.copyOfRange(a, (bi * h + hi) * m * k, (bi * h + hi + 1) * m * k),
                        Arrays.copyOfRange(bb1, bi * k * n, (bi + 1) * k * n), m, k, n);
                System.arraycopy(one, 0, want7, (bi * h + hi) * m * n, m * n);
            }
        }
        assertRel(o7.toFloatArray(), want7, F32_TOL, "[B,H] x [B,1] batches");
        Tensor o5 = Ops.matmul(f32(a, b, h, m, k), f32(w, 1, 1, k, n));
        assertShape(o5, b, h, m, n);
        assertRel(o5.toFloatArray(), Reference64.matmul(a, w, b * h, m, k, n, true), F32_TOL, "batch-of-one b");
        Tensor o6 = Ops.matmul(f32(a, b, h, m, k).transpose(0, 1), f32(w, 1, k, n)); // permuted a, [1] b
        assertShape(o6, h, b, m, n);
        assertRel(o6.toFloatArray(), Reference64.matmul(f32(a, b, h, m, k).transpose(0, 1).contiguous().toFloatArray(),
                w, b * h, m, k, n, true), F32_TOL, "permuted a, batch-of-one b");
        // a is never broadcast (as before): a 2-D a with a batched b, and batch dims that differ, are refused
        assertThrows(IllegalArgumentException.class, () -> Ops.matmul(f32(w, n, k).t().t(), f32(bb, b, h, k, n)));
        assertThrows(IllegalArgumentException.class, () -> Ops.matmul(f32(a, b, h, m, k), f32(bb, h, b, k, n)));
        assertThrows(IllegalArgumentException.class, () -> Ops.matmul(f32(a, b, 1, m, k), f32(bb, b, h, k, n)));
        // linear on [B, S, in] and on a non-contiguous [B, S, in] view
        int s = 6, in = 9, outF = 5;
        float[] x = Reference64.gaussian(rnd, b * s * in, 1);
        float[] wl = Reference64.gaussian(rnd, outF * in, 1);
        float[] bias = Reference64.gaussian(rnd, outF, 1);
        Tensor y = Ops.linear(f32(x, b, s, in), f32(wl, outF, in), f32(bias, outF));
        assertShape(y, b, s, outF);
        assertRel(y.toFloatArray(), Reference64.linear(x, wl, bias, in, outF), F32_TOL, "linear 3-D");
        Tensor xv = f32(x, s, b, in).transpose(0, 1); // [b, s, in] view
        float[] xvc = xv.contiguous().toFloatArray();
        Tensor yv = Ops.linear(xv, f32(wl, outF, in), null);
        assertShape(yv, b, s, outF);
        assertRel(yv.toFloatArray(), Reference64.linear(xvc, wl, null, in, outF), F32_TOL, "linear 3-D view");
    }
}
