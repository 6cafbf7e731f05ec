package dev.tessera.runtime;

import static dev.tessera.runtime.CudaOpsTest.pair;
import static dev.tessera.runtime.CudaOpsTest.poisonGpu;
import static dev.tessera.runtime.CudaOpsTest.same;
import static dev.tessera.runtime.CudaOpsTest.tol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.runtime.CpuModelOpsTest.View;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The model-pipeline ops (copyInto, concat, unary table, RoPE, last-dim reductions) on CUDA against the same
 * ops on the CPU (checked against float64 by {@link CpuModelOpsTest}); copies are compared index-exactly.
 * Skipped, with the reason, where CUDA is unavailable.
 */
class CudaModelOpsTest extends CudaTestBase {

    @ParameterizedTest
    @EnumSource(DType.class)
    void copyIntoBetweenRandomViews(DType dt) {
        Random rnd = new Random(200 + dt.ordinal());
        for (int trial = 0; trial < 40; trial++) {
            int rank = 1 + rnd.nextInt(5);
            long[] shape = new long[rank];
            for (int k = 0; k < rank; k++) {
                shape[k] = 1 + rnd.nextInt(trial < 30 ? 5 : 40);
            }
            try (Scope s = Tessera.scope()) {
                View src = CpuModelOpsTest.randomView(rnd, shape, dt, GPU);
                View dst = CpuModelOpsTest.randomView(rnd, shape, dt, GPU);
                Ops.copyInto(src.view(), dst.view());
                assertArrayEquals(CpuModelOpsTest.expectedCopy(src, dst), dst.base().toFloatArray(),
                        dt + " trial " + trial + " shape " + Arrays.toString(shape));
            }
        }
    }

    @Test
    void copyIntoKvCacheSliceAndOverlappingViews() {
        Random rnd = new Random(201);
        int b = 2, h = 3, cap = 64, d = 16, pos = 40, n = 5;
        float[] cache = Reference64.gaussian(rnd, b * h * cap * d, 1);
        float[] kNew = Reference64.gaussian(rnd, b * n * h * d, 1);
        for (boolean transposed : new boolean[] {false, true}) {
            Tensor[] tc = pair(cache, DType.F32, b, h, cap, d);
            Tensor[] tk = pair(kNew, DType.F32, transposed ? new long[] {b, n, h, d} : new long[] {b, h, n, d});
            Tensor kc = transposed ? tk[0].transpose(1, 2) : tk[0];
            Tensor kg = transposed ? tk[1].transpose(1, 2) : tk[1];
            Ops.copyInto(kc, tc[0].slice(2, pos, pos + n));
            Ops.copyInto(kg, tc[1].slice(2, pos, pos + n));
            assertArrayEquals(tc[0].toFloatArray(), tc[1].toFloatArray(), "kv cache, transposed " + transposed);
        }
        float[] x = Reference64.gaussian(rnd, 10 * 6, 1);
        Tensor[] t = pair(x, DType.F32, 10, 6);
        Ops.copyInto(t[1].slice(0, 0, 9), t[1].slice(0, 1, 10));
        float[] want = x.clone();
        System.arraycopy(x, 0, want, 6, 9 * 6);
        assertArrayEquals(want, t[1].toFloatArray());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void concatMatchesTheCpu(DType dt) {
        Random rnd = new Random(202 + dt.ordinal());
        Tensor[] a = pair(Reference64.gaussian(rnd, 2 * 3 * 4, 1), dt, 2, 3, 4);
        Tensor[] b = pair(Reference64.gaussian(rnd, 2 * 5 * 4, 1), dt, 2, 5, 4);
        for (int dim : new int[] {1, -2}) {
            Tensor c = Ops.concat(dim, a[0], b[0], a[0]);
            Tensor g = Ops.concat(dim, a[1], b[1], a[1]);
            same(g, c, 0, dt + " concat");
        }
        Tensor c = Ops.concat(2, a[0].transpose(1, 2).contiguous().transpose(1, 2), a[0]);
        Tensor g = Ops.concat(2, a[1].transpose(1, 2).contiguous().transpose(1, 2), a[1]);
        same(g, c, 0, dt + " concat of views");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void unaryMatchesTheCpu(DType dt) {
        for (UnaryOp op : UnaryOp.values()) {
            for (int n : new int[] {1, 7, 1000, 70_001}) {
                Random rnd = new Random(31L * n + op.ordinal());
                float[] x = op == UnaryOp.EXP && dt == DType.F16 ? Reference64.gaussian(rnd, n, 2)
                        : CpuModelOpsTest.unaryInput(op, rnd, n);
                Tensor[] t = pair(x, dt, n);
                poisonGpu(dt, n);
                same(Ops.unary(op, t[1]), Ops.unary(op, t[0]), tol(dt), dt + " " + op + " n=" + n);
            }
        }
        float inf = Float.POSITIVE_INFINITY;
        float[] sp = {Float.NaN, inf, -inf, 0f, -0f, -1f, 1f, 2f};
        for (UnaryOp op : UnaryOp.values()) {
            Tensor[] t = pair(sp, DType.F32, sp.length);
            assertArrayEquals(Ops.unary(op, t[0]).toFloatArray(), Ops.unary(op, t[1]).toFloatArray(), 1e-6f,
                    "special values " + op);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void ropeMatchesTheCpu(DType dt) {
        int[][] shapes = {{1, 1, 1, 2}, {2, 3, 5, 8}, {1, 32, 7, 128}, {2, 8, 300, 64}};
        for (int[] sh : shapes) {
            int b = sh[0], h = sh[1], s = sh[2], d = sh[3];
            Random rnd = new Random(Arrays.hashCode(sh) + dt.ordinal());
            float[] x = Reference64.gaussian(rnd, b * s * h * d, 1);
            Tensor[] cos = pair(Reference64.uniform(rnd, s * d / 2, -1, 1), DType.F32, s, d / 2);
            Tensor[] sin = pair(Reference64.uniform(rnd, s * d / 2, -1, 1), DType.F32, s, d / 2);
            Tensor[] xc = pair(x, dt, b, h, s, d);
            poisonGpu(dt, b, h, s, d);
            same(Ops.rope(xc[1], cos[1], sin[1]), Ops.rope(xc[0], cos[0], sin[0]), tol(dt), dt + " rope");
            Tensor[] xv = pair(x, dt, b, s, h, d);
            same(Ops.rope(xv[1].transpose(1, 2), cos[1], sin[1]), Ops.rope(xv[0].transpose(1, 2), cos[0], sin[0]),
                    tol(dt), dt + " rope of a view");
            Tensor[] cb = pair(Reference64.uniform(rnd, b * s * d / 2, -1, 1), DType.F32, b, s, d / 2);
            Tensor[] sb = pair(Reference64.uniform(rnd, b * s * d / 2, -1, 1), DType.F32, b, s, d / 2);
            same(Ops.rope(xc[1], cb[1], sb[1]), Ops.rope(xc[0], cb[0], sb[0]), tol(dt), dt + " rope per batch");
        }
        Tensor x = Tensor.zeros(DType.F32, GPU, 1, 1, 2, 4);
        Tensor cpuCos = Tensor.zeros(DType.F32, Device.CPU, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(x, cpuCos, cpuCos));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void reductionsMatchTheCpu(DType dt) {
        for (int rows : new int[] {1, 3, 600}) {
            for (int cols : new int[] {1, 7, 33, 1000, 1025, 4097, 50_000}) {
                if ((long) rows * cols > 3_000_000) {
                    continue;
                }
                Random rnd = new Random(rows * 10_007L + cols + dt.ordinal());
                float[] x = Reference64.gaussian(rnd, rows * cols, 2);
                Tensor[] t = pair(x, dt, rows, cols);
                poisonGpu(dt, rows);
                same(Ops.sumLastDim(t[1]), Ops.sumLastDim(t[0]), tol(dt), dt + " sum " + rows + "x" + cols);
                same(Ops.meanLastDim(t[1]), Ops.meanLastDim(t[0]), tol(dt), dt + " mean " + rows + "x" + cols);
                assertArrayEquals(Ops.argmaxLastDim(t[0]), Ops.argmaxLastDim(t[1]),
                        dt + " argmax " + rows + "x" + cols);
                poisonGpu(dt, rows, cols);
                same(Ops.logSoftmax(t[1]), Ops.logSoftmax(t[0]), tol(dt), dt + " logSoftmax " + rows + "x" + cols);
                if (rows > 1) {
                    same(Ops.mean(t[1], 0), Ops.mean(t[0], 0), tol(dt), dt + " mean over dim 0");
                }
            }
        }
        float inf = Float.POSITIVE_INFINITY;
        float nan = Float.NaN;
        float[] x = {1, 3, 3, 2, -inf, -inf, -inf, -inf, 1, nan, 5, nan, nan, 1, 2, 3, 0, inf, inf, 1, -5, -4, -4, -7};
        Tensor[] t = pair(x, dt, 6, 4);
        assertArrayEquals(new int[] {1, 0, 1, 0, 1, 1}, Ops.argmaxLastDim(t[1]), dt + " ties / NaN");
        float[] longRow = new float[5000];
        longRow[4000] = 7;
        longRow[123] = 7;
        assertArrayEquals(new int[] {123}, Ops.argmaxLastDim(pair(longRow, dt, 5000)[1]));
        longRow[4999] = nan;
        assertArrayEquals(new int[] {4999}, Ops.argmaxLastDim(pair(longRow, dt, 5000)[1]));
        Tensor empty = Tensor.empty(dt, GPU, 3, 0);
        assertEquals(3, Ops.sumLastDim(empty).numel());
        assertArrayEquals(new float[3], Ops.sumLastDim(empty).toFloatArray());
    }
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void binaryBroadcastMatchesTheCpu(DType dt) {
        Random rnd = new Random(250 + dt.ordinal());
        for (int trial = 0; trial < 40; trial++) {
            long[][] p = CpuModelOpsTest.broadcastPair(rnd, trial);
            Tensor[] a = pair(Reference64.gaussian(rnd, (int) Shape.numel(p[0]), 2), dt, p[0]);
            Tensor[] b = pair(Reference64.awayFromZero(rnd, (int) Shape.numel(p[1]), 0.25, 3), dt, p[1]);
            for (BinaryOp op : BinaryOp.values()) {
                poisonGpu(dt, p[2]);
                same(Ops.binary(op, a[1], b[1]), Ops.binary(op, a[0], b[0]), tol(dt), dt + " " + op);
            }
        }
        Tensor[] x = pair(Reference64.gaussian(rnd, 2 * 5 * 7, 1), dt, 2, 5, 7);
        Tensor[] f = pair(Reference64.awayFromZero(rnd, 2 * 5, 0.5, 2), dt, 2, 5, 1);
        same(Ops.div(x[1].transpose(1, 2), f[1].transpose(1, 2)), Ops.div(x[0].transpose(1, 2), f[0].transpose(1, 2)),
                tol(dt), dt + " views");
    }
    @Test
    void matmulBroadcastsBatchDimsOfB() {
        Random rnd = new Random(260);
        int b = 2, h = 3, m = 5, k = 7, n = 4;
        float[] a = Reference64.gaussian(rnd, b * h * m * k, 1);
        float[] bh = Reference64.gaussian(rnd, h * k * n, 1);
        Tensor out = Ops.matmul(Tensor.of(a, GPU, b, h, m, k), Tensor.of(bh, GPU, 1, h, k, n));
        assertArrayEquals(new long[] {b, h, m, n}, out.shape());
        double[] want = new double[b * h * m * n];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                double[] one = Reference64.matmul(Arrays.copyOfRange(a, (bi * h + hi) * m * k, (bi * h + hi + 1) * m * k),
                        Arrays.copyOfRange(bh, hi * k * n, (hi + 1) * k * n), m, k, n);
                System.arraycopy(one, 0, want, (bi * h + hi) * m * n, m * n);
            }
        }
        TestSupport.assertRel(out.toFloatArray(), want, CudaOpsTest.F32_TOL, "[B,H] x [1,H] on cuda");
    }
}
