package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.PatchEmbedding.Layout;
import dev.tessera.runtime.testing.ScopePerTest;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link PatchEmbedding} on the CPU against a direct float64 Conv2d / Conv1d written here with loops
 * (no im2col, no GEMM), by relative error ‖out − ref‖/‖ref‖ ≤ 1e-5 in fp32; random seeded data, odd sizes,
 * outputs poisoned with NaN before each op; plus the bad-input checks.
 */
@ExtendWith(ScopePerTest.class)
class PatchEmbeddingTest {
    static final double F32_TOL = 1e-5;

    // ------------------------------------------------------------------ float64 references

    static float[] random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }

    /**
     * Conv2d(kernel = stride = (ph, pw)) of x [n, c, h, w] with w [d, c, ph, pw] and bias, flattened to
     * [n, L, d], then the class token as row 0 and pos [R, d] added; bias, cls, pos may be null.
     */
    static double[] conv2dRef(float[] x, int n, int c, int h, int w, float[] wt, int d, int ph, int pw, float[] bias,
            float[] cls, float[] pos) {
        int hp = h / ph;
        int wp = w / pw;
        int l = hp * wp;
        int rows = l + (cls != null ? 1 : 0);
        double[] out = new double[n * rows * d];
        for (int b = 0; b < n; b++) {
            for (int oy = 0; oy < hp; oy++) {
                for (int ox = 0; ox < wp; ox++) {
                    int row = (cls != null ? 1 : 0) + oy * wp + ox;
                    for (int o = 0; o < d; o++) {
                        double s = bias != null ? bias[o] : 0;
                        for (int ci = 0; ci < c; ci++) {
                            for (int i = 0; i < ph; i++) {
                                for (int j = 0; j < pw; j++) {
                                    s += (double) x[((b * c + ci) * h + oy * ph + i) * w + ox * pw + j]
                                            * wt[((o * c + ci) * ph + i) * pw + j];
                                }
                            }
                        }
                        out[(b * rows + row) * d + o] = s;
                    }
                }
            }
            if (cls != null) {
                for (int o = 0; o < d; o++) {
                    out[b * rows * d + o] = cls[o];
                }
            }
            if (pos != null) {
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < d; o++) {
                        out[(b * rows + r) * d + o] += pos[r * d + o];
                    }
                }
            }
        }
        return out;
    }

    /** Conv1d of x [n, c, t] with w [d, c, k], bias, stride, zero padding → [n, tOut, d] or [n, d, tOut]. */
    static double[] conv1dRef(float[] x, int n, int c, int t, float[] wt, int d, int k, float[] bias, int stride,
            int pad, boolean channelsFirst) {
        int tOut = (t + 2 * pad - k) / stride + 1;
        double[] out = new double[n * tOut * d];
        for (int b = 0; b < n; b++) {
            for (int to = 0; to < tOut; to++) {
                for (int o = 0; o < d; o++) {
                    double s = bias != null ? bias[o] : 0;
                    for (int ci = 0; ci < c; ci++) {
                        for (int kk = 0; kk < k; kk++) {
                            int p = to * stride - pad + kk;
                            if (p >= 0 && p < t) {
                                s += (double) x[(b * c + ci) * t + p] * wt[(o * c + ci) * k + kk];
                            }
                        }
                    }
                    out[channelsFirst ? (b * d + o) * tOut + to : (b * tOut + to) * d + o] = s;
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ 2-D

    /** n, c, h, w, d, ph, pw. */
    static Stream<Arguments> shapes2d() {
        return Stream.of(Arguments.of(2, 3, 224, 224, 64, 16, 16), // ViT-B/16 geometry, small D
                Arguments.of(3, 1, 12, 12, 5, 4, 4), // C = 1, P = 4
                Arguments.of(3, 2, 6, 9, 7, 2, 3), // ph != pw
                Arguments.of(1, 5, 7, 10, 3, 7, 5), // one patch row, odd everything
                Arguments.of(2, 3, 32, 48, 33, 16, 16));
    }

    @ParameterizedTest(name = "n={0} c={1} {2}x{3} d={4} patch {5}x{6}")
    @MethodSource("shapes2d")
    void embed2dMatchesConv2dWithClsPosBias(int n, int c, int h, int w, int d, int ph, int pw) {
        check2d(n, c, h, w, d, ph, pw, true, true, true, 11);
    }

    @ParameterizedTest(name = "bias={0} cls={1} pos={2}")
    @MethodSource("flags")
    void embed2dEveryOptionalCombination(boolean bias, boolean cls, boolean pos) {
        check2d(3, 2, 6, 9, 7, 2, 3, bias, cls, pos, 21);
        check2d(3, 1, 12, 12, 5, 4, 4, bias, cls, pos, 22);
    }

    static Stream<Arguments> flags() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int m = 0; m < 8; m++) {
            b.add(Arguments.of((m & 1) != 0, (m & 2) != 0, (m & 4) != 0));
        }
        return b.build();
    }

    static double check2d(int n, int c, int h, int w, int d, int ph, int pw, boolean withBias, boolean withCls,
            boolean withPos, long seed) {
        int l = (h / ph) * (w / pw);
        int rows = l + (withCls ? 1 : 0);
        float[] x = random(n * c * h * w, seed);
        float[] wt = random(d * c * ph * pw, seed + 1);
        float[] bias = withBias ? random(d, seed + 2) : null;
        float[] cls = withCls ? random(d, seed + 3) : null;
        float[] pos = withPos ? random(rows * d, seed + 4) : null;
        Tensor tx = Tensor.of(x, n, c, h, w);
        Tensor tw = Tensor.of(wt, d, c, ph, pw);
        Tensor tb = bias == null ? null : Tensor.of(bias, d);
        Tensor tc = cls == null ? null : Tensor.of(cls, 1, 1, d); // HF layout
        Tensor tp = pos == null ? null : Tensor.of(pos, 1, rows, d);
        TestSupport.poisonNextAllocation((long) n * rows * d);
        Tensor out = PatchEmbedding.embed2d(tx, tw, tb, tc, tp);
        assertShape(out, n, rows, d);
        String what = String.format("embed2d n=%d c=%d %dx%d d=%d patch %dx%d bias=%b cls=%b pos=%b", n, c, h, w, d,
                ph, pw, withBias, withCls, withPos);
        double e = assertRel(out.toFloatArray(), conv2dRef(x, n, c, h, w, wt, d, ph, pw, bias, cls, pos), F32_TOL, what);
        System.out.printf("%s: rel err %.3e%n", what, e);
        return e;
    }

    @Test
    void embed2dGathersNonContiguousInputs() {
        int n = 2, c = 3, h = 8, w = 12, d = 9, ph = 4, pw = 3;
        float[] x = random(n * c * h * w, 5);
        float[] wt = random(d * c * ph * pw, 6);
        // images given as a transposed view of a [n, c, w, h] tensor
        float[] xt = new float[x.length];
        for (int b = 0; b < n * c; b++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    xt[(b * w + j) * h + i] = x[(b * h + i) * w + j];
                }
            }
        }
        Tensor view = Tensor.of(xt, n, c, w, h).transpose(2, 3);
        assertTrue(!view.isContiguous());
        Tensor out = PatchEmbedding.embed2d(view, Tensor.of(wt, d, c, ph, pw), Tensor.of(random(d, 7), d));
        assertRel(out.toFloatArray(), conv2dRef(x, n, c, h, w, wt, d, ph, pw, random(d, 7), null, null), F32_TOL,
                "embed2d of a non-contiguous view");
    }

    @Test
    void embed2dBf16OnCpuComputesInF32() {
        int n = 2, c = 3, h = 16, w = 16, d = 12, ph = 4, pw = 4;
        float[] x = random(n * c * h * w, 31);
        float[] wt = random(d * c * ph * pw, 32);
        float[] bias = random(d, 33);
        Tensor out = PatchEmbedding.embed2d(Tensor.of(x, n, c, h, w).to(DType.BF16),
                Tensor.of(wt, d, c, ph, pw).to(DType.BF16), Tensor.of(bias, d).to(DType.BF16));
        assertEquals(DType.BF16, out.dtype());
        assertRel(out.toFloatArray(), conv2dRef(x, n, c, h, w, wt, d, ph, pw, bias, null, null), 1e-2, "bf16 embed2d");
    }

    @Test
    void patchifyLaysOutColumnsLikeTheConv2dWeight() {
        int n = 2, c = 3, h = 6, w = 10, ph = 3, pw = 5;
        float[] x = random(n * c * h * w, 41);
        Tensor cols = PatchEmbedding.patchify(Tensor.of(x, n, c, h, w), ph, pw);
        int l = (h / ph) * (w / pw);
        int k = c * ph * pw;
        assertShape(cols, n, l, k);
        float[] got = cols.toFloatArray();
        double[] ref = new double[got.length];
        for (int b = 0; b < n; b++) {
            for (int p = 0; p < l; p++) {
                int py = p / (w / pw);
                int px = p % (w / pw);
                for (int ci = 0; ci < c; ci++) {
                    for (int i = 0; i < ph; i++) {
                        for (int j = 0; j < pw; j++) {
                            ref[(b * l + p) * k + (ci * ph + i) * pw + j] =
                                    x[((b * c + ci) * h + py * ph + i) * w + px * pw + j];
                        }
                    }
                }
            }
        }
        assertRel(got, ref, 0, "patchify");
    }

    // ------------------------------------------------------------------ 1-D

    /** n, c, t, d, k, stride, pad. */
    static Stream<Arguments> shapes1d() {
        return Stream.of(Arguments.of(2, 5, 15, 6, 3, 1, 1), // T odd, stride 1
                Arguments.of(2, 5, 16, 6, 3, 1, 1), // T even
                Arguments.of(3, 4, 15, 7, 3, 2, 1), // stride 2, T odd
                Arguments.of(3, 4, 16, 7, 3, 2, 1), // stride 2, T even
                Arguments.of(1, 3, 9, 5, 3, 1, 0), // no padding
                Arguments.of(2, 2, 4, 3, 5, 3, 2), // kernel longer than T, padding makes it fit
                Arguments.of(2, 80, 301, 64, 3, 2, 1)); // Whisper's second conv geometry, small sizes
    }

    @ParameterizedTest(name = "n={0} c={1} t={2} d={3} k={4} stride={5} pad={6}")
    @MethodSource("shapes1d")
    void conv1dMatchesDirectConv1dBothLayouts(int n, int c, int t, int d, int k, int stride, int pad) {
        check1d(n, c, t, d, k, stride, pad, true, 51);
        check1d(n, c, t, d, k, stride, pad, false, 52);
    }

    static void check1d(int n, int c, int t, int d, int k, int stride, int pad, boolean withBias, long seed) {
        float[] x = random(n * c * t, seed);
        float[] wt = random(d * c * k, seed + 1);
        float[] bias = withBias ? random(d, seed + 2) : null;
        int tOut = (t + 2 * pad - k) / stride + 1;
        assertEquals(tOut, PatchEmbedding.outputLength1d(t, k, stride, pad));
        Tensor tx = Tensor.of(x, n, c, t);
        Tensor tw = Tensor.of(wt, d, c, k);
        Tensor tb = bias == null ? null : Tensor.of(bias, d);
        for (Layout layout : Layout.values()) {
            boolean cf = layout == Layout.CHANNELS_FIRST;
            TestSupport.poisonNextAllocation((long) n * tOut * d);
            Tensor out = PatchEmbedding.conv1d(tx, tw, tb, stride, pad, layout);
            if (cf) {
                assertShape(out, n, d, tOut);
            } else {
                assertShape(out, n, tOut, d);
            }
            String what = String.format("conv1d n=%d c=%d t=%d d=%d k=%d stride=%d pad=%d bias=%b %s", n, c, t, d, k,
                    stride, pad, withBias, layout);
            double e = assertRel(out.toFloatArray(), conv1dRef(x, n, c, t, wt, d, k, bias, stride, pad, cf), F32_TOL,
                    what);
            System.out.printf("%s: rel err %.3e%n", what, e);
        }
    }

    @Test
    void im2col1dZeroPadsOutsideTheInput() {
        int n = 2, c = 3, t = 7, k = 3, stride = 2, pad = 1;
        float[] x = random(n * c * t, 61);
        Tensor cols = PatchEmbedding.im2col1d(Tensor.of(x, n, c, t), k, stride, pad);
        int tOut = (t + 2 * pad - k) / stride + 1;
        assertShape(cols, n, tOut, c * k);
        float[] got = cols.toFloatArray();
        double[] ref = new double[got.length];
        for (int b = 0; b < n; b++) {
            for (int to = 0; to < tOut; to++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int kk = 0; kk < k; kk++) {
                        int p = to * stride - pad + kk;
                        ref[(b * tOut + to) * c * k + ci * k + kk] = p >= 0 && p < t ? x[(b * c + ci) * t + p] : 0;
                    }
                }
            }
        }
        assertRel(got, ref, 0, "im2col1d");
    }

    @Test
    void nanPropagates() {
        float[] x = random(1 * 2 * 4 * 4, 71);
        x[5] = Float.NaN; // pixel (0, 1, 1) of channel 0: patch 0 of a 2x2 patching
        float[] out = PatchEmbedding.embed2d(Tensor.of(x, 1, 2, 4, 4), Tensor.of(random(3 * 2 * 2 * 2, 72), 3, 2, 2, 2),
                null).toFloatArray();
        for (int o = 0; o < 3; o++) {
            assertTrue(Float.isNaN(out[o]), "patch 0 must be NaN");
            assertTrue(Float.isFinite(out[3 + o]), "patch 1 must stay finite");
        }
    }

    @Test
    void emptyBatchGivesEmptyResult() {
        Tensor out = PatchEmbedding.embed2d(Tensor.empty(DType.F32, Device.CPU, 0, 3, 8, 8),
                Tensor.of(random(4 * 3 * 4 * 4, 1), 4, 3, 4, 4), null, Tensor.of(random(4, 2), 4), null);
        assertShape(out, 0, 5, 4);
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void patchSizeNotDividingTheImageIsRejected() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 225, 224);
        Tensor w = Tensor.zeros(DType.F32, Device.CPU, 8, 3, 16, 16);
        var e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w, null));
        assertTrue(e.getMessage().contains("16x16") && e.getMessage().contains("225x224"), e.getMessage());
        Tensor x2 = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 224, 230);
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x2, w, null));
        assertTrue(e.getMessage().contains("224x230"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.patchify(x, 16, 16));
        assertTrue(e.getMessage().contains("225x224"), e.getMessage());
    }

    @Test
    void weightShapeMismatchNamesTheShapes() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 2, 3, 32, 32);
        Tensor w = Tensor.zeros(DType.F32, Device.CPU, 8, 4, 16, 16);
        var e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w, null));
        assertTrue(e.getMessage().contains("[8, 4, 16, 16]") && e.getMessage().contains("[2, 3, 32, 32]"),
                e.getMessage());
        Tensor w3 = Tensor.zeros(DType.F32, Device.CPU, 8, 3, 16);
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w3, null));
        assertTrue(e.getMessage().contains("[8, 3, 16]"), e.getMessage());
        Tensor w2 = Tensor.zeros(DType.F32, Device.CPU, 8, 3, 16, 16);
        Tensor bias = Tensor.zeros(DType.F32, Device.CPU, 7);
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w2, bias));
        assertTrue(e.getMessage().contains("[7]") && e.getMessage().contains("[8]"), e.getMessage());
        Tensor cls = Tensor.zeros(DType.F32, Device.CPU, 2, 8);
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w2, null, cls, null));
        assertTrue(e.getMessage().contains("[2, 8]"), e.getMessage());
        Tensor x1 = Tensor.zeros(DType.F32, Device.CPU, 2, 3, 20);
        Tensor k1 = Tensor.zeros(DType.F32, Device.CPU, 6, 5, 3);
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(x1, k1, null, 1, 1));
        assertTrue(e.getMessage().contains("[6, 5, 3]") && e.getMessage().contains("[2, 3, 20]"), e.getMessage());
    }

    @Test
    void positionEmbeddingsOfTheWrongLengthAreRejected() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 32, 32); // 4 patches
        Tensor w = Tensor.zeros(DType.F32, Device.CPU, 8, 3, 16, 16);
        Tensor cls = Tensor.zeros(DType.F32, Device.CPU, 8);
        Tensor pos4 = Tensor.zeros(DType.F32, Device.CPU, 4, 8); // needs 5 rows with a class token
        var e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w, null, cls, pos4));
        assertTrue(e.getMessage().contains("[4, 8]") && e.getMessage().contains("[5, 8]"), e.getMessage());
        Tensor pos5 = Tensor.zeros(DType.F32, Device.CPU, 1, 5, 8); // needs 4 rows without
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w, null, null, pos5));
        assertTrue(e.getMessage().contains("[1, 5, 8]") && e.getMessage().contains("[4, 8]"), e.getMessage());
        Tensor posD = Tensor.zeros(DType.F32, Device.CPU, 5, 9);
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w, null, cls, posD));
    }

    @Test
    void closedTensorsAreRejected() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 32, 32);
        Tensor w = Tensor.zeros(DType.F32, Device.CPU, 8, 3, 16, 16);
        Tensor b = Tensor.zeros(DType.F32, Device.CPU, 8);
        b.close();
        var e = assertThrows(IllegalStateException.class, () -> PatchEmbedding.embed2d(x, w, b));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        Tensor pos = Tensor.zeros(DType.F32, Device.CPU, 4, 8);
        pos.close();
        assertThrows(IllegalStateException.class, () -> PatchEmbedding.embed2d(x, w, null, null, pos));
        x.close();
        assertThrows(IllegalStateException.class, () -> PatchEmbedding.embed2d(x, w, null));
        Tensor x1 = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 9);
        Tensor k1 = Tensor.zeros(DType.F32, Device.CPU, 4, 3, 3);
        k1.close();
        assertThrows(IllegalStateException.class, () -> PatchEmbedding.conv1d(x1, k1, null, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(null, w, null));
    }

    @Test
    void badConv1dArgumentsAreRejected() {
        Tensor x = Tensor.zeros(DType.F32, Device.CPU, 1, 3, 4);
        Tensor k = Tensor.zeros(DType.F32, Device.CPU, 4, 3, 7);
        var e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(x, k, null, 1, 1));
        assertTrue(e.getMessage().contains("kernel 7") && e.getMessage().contains("[1, 3, 4]"), e.getMessage());
        Tensor k3 = Tensor.zeros(DType.F32, Device.CPU, 4, 3, 3);
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(x, k3, null, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(x, k3, null, 1, -1));
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(x, k3, null, 1, 1, null));
        Tensor kb = Tensor.zeros(DType.BF16, Device.CPU, 4, 3, 3);
        e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(x, kb, null, 1, 1));
        assertTrue(e.getMessage().contains("dtype"), e.getMessage());
        Tensor ids = Tensor.ofInts(new int[12], Device.CPU, 1, 3, 4);
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.conv1d(ids, k3, null, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.im2col1d(x, 7, 1, 1));
    }
}
