package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Int8Linear} against ONNX's definitions written out here: DynamicQuantizeLinear (range widened to 0,
 * scale (max - min) / 255, zero point and values rounded half to even, clamped), then MatMulInteger with both zero
 * points in exact integer arithmetic, Cast, Mul by input scale × weight scale (fp32), Add bias. Odd sizes, both
 * weight layouts, per-column and per-tensor parameters.
 */
class Int8LinearTest {
    private static float quantScale(float[] x) {
        float lo = 0, hi = 0;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return hi == lo ? 1f : (hi - lo) / 255f;
    }

    /** The reference y (before bias, activation, residual) for x [m, k], w [k, n] int8 (inOut layout). */
    private static float[] reference(float[] x, int m, int k, byte[] w, int n, int[] zw, float[] sw) {
        float lo = 0, hi = 0;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        float s = quantScale(x);
        int zx = (int) Math.rint(Math.max(0f, Math.min(255f, 0f - lo / s)));
        int[] q = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            float v = x[i] / s;
            v = Math.max(v, -zx);
            v = Math.min(v, 255 - zx);
            q[i] = (int) Math.rint(v) + zx;
        }
        float[] y = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long acc = 0;
                for (int c = 0; c < k; c++) {
                    acc += (long) (q[i * k + c] - zx) * (w[c * n + j] - zw[j]);
                }
                y[i * n + j] = (float) (int) acc * (s * sw[j]);
            }
        }
        return y;
    }

    @Test
    void matchesTheOnnxDefinitionExactly() {
        SplittableRandom r = new SplittableRandom(3);
        int[][] sizes = {{1, 1, 1}, {3, 5, 7}, {13, 33, 17}, {40, 96, 200}, {25, 64, 384}};
        for (int[] sz : sizes) {
            int m = sz[0], n = sz[1], k = sz[2];
            float[] x = new float[m * k];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextGaussian() * 1.5 + 0.2);
            }
            byte[] w = new byte[k * n];
            for (int i = 0; i < w.length; i++) {
                w[i] = (byte) r.nextInt(-128, 128);
            }
            int[] zw = new int[n];
            float[] sw = new float[n];
            for (int j = 0; j < n; j++) {
                zw[j] = r.nextInt(-10, 11);
                sw[j] = (float) (0.001 + r.nextDouble() * 0.01);
            }
            float[] ref = reference(x, m, k, w, n, zw, sw);
            try (Scope s = Tessera.scope(); Int8Linear lin = Int8Linear.pack(w, n, k, true, zw, sw)) {
                float[] got = lin.forward(Tensor.of(x, m, k), null, null, null).toFloatArray();
                assertArrayEquals(ref, got, "m " + m + " n " + n + " k " + k);
                // the same weight given [out, in]
                byte[] wt = new byte[w.length];
                for (int c = 0; c < k; c++) {
                    for (int j = 0; j < n; j++) {
                        wt[j * k + c] = w[c * n + j];
                    }
                }
                try (Int8Linear lt = Int8Linear.pack(wt, n, k, false, zw, sw)) {
                    assertArrayEquals(ref, lt.forward(Tensor.of(x, 1, m, k), null, null, null).toFloatArray());
                }
                // bias + GELU + residual: the fp32 epilogue of Ops.linear on the same product
                float[] bias = new float[n];
                float[] res = new float[m * n];
                for (int j = 0; j < n; j++) {
                    bias[j] = (float) r.nextGaussian();
                }
                for (int i = 0; i < res.length; i++) {
                    res[i] = (float) r.nextGaussian();
                }
                float[] full = lin.forward(Tensor.of(x, m, k), Tensor.of(bias, n), FusedActivation.GELU,
                        Tensor.of(res, m, n)).toFloatArray();
                float[] pre = new float[m * n];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        pre[i * n + j] = ref[i * n + j] + bias[j];
                    }
                }
                float[] expected = Ops.add(Ops.gelu(Tensor.of(pre, m, n)), Tensor.of(res, m, n)).toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], full[i], 1e-5 * (1 + Math.abs(expected[i])), "epilogue at " + i);
                }
            }
        }
    }

    /**
     * {@link Int8Linear#quantize}: int8 per output feature, symmetric (each row's largest |w| becomes ±127, the rest
     * rounded to the nearest step, within half a step), and the layer is the one {@link Int8Linear#pack} makes of
     * those values; a zero row and a non-finite weight.
     */
    @Test
    void quantizeIsSymmetricPerOutputFeature() {
        SplittableRandom r = new SplittableRandom(21);
        int n = 11, k = 37, m = 5;
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * (1 + i / k)); // rows of different ranges
        }
        java.util.Arrays.fill(w, 4 * k, 5 * k, 0f); // row 4: zeros
        byte[] q = new byte[w.length];
        float[] sc = new float[n];
        for (int j = 0; j < n; j++) {
            double max = 0;
            for (int i = 0; i < k; i++) {
                max = Math.max(max, Math.abs(w[j * k + i]));
            }
            sc[j] = max == 0 ? 1f : (float) max / 127f;
            for (int i = 0; i < k; i++) {
                double step = w[j * k + i] / sc[j];
                q[j * k + i] = (byte) Math.round(step);
                assertTrue(Math.abs(q[j * k + i] * (double) sc[j] - w[j * k + i]) <= 0.5001 * sc[j], "within half a step");
            }
        }
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        try (Scope s = Tessera.scope(); Int8Linear a = Int8Linear.quantize(Tensor.of(w, n, k));
                Int8Linear b = Int8Linear.pack(q, n, k, false, new int[] {0}, sc)) {
            assertEquals(n, a.out());
            assertEquals(k, a.in());
            assertArrayEquals(b.forward(Tensor.of(x, m, k), null, null, null, 1, null).toFloatArray(),
                    a.forward(Tensor.of(x, m, k), null, null, null, 1, null).toFloatArray());
            assertEquals(3, a.tensors().size());
        }
        w[7] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.quantize(w, n, k));
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.quantize(new float[6], 2, 4));
        try (Scope s = Tessera.scope()) {
            assertThrows(IllegalArgumentException.class, () -> Int8Linear.quantize(Tensor.of(new float[6], 6)));
        }
    }

    /** Per-group quantization: each group gets what its valid rows alone would give; invalid rows do not count. */
    @Test
    void groupsOfRowsAreQuantizedOnTheirOwn() {
        SplittableRandom r = new SplittableRandom(9);
        int k = 40, n = 24, group = 3;
        float[] x = new float[2 * group * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int c = 0; c < k; c++) {
            x[2 * k + c] = 50f * (c % 2 == 0 ? 1 : -1); // row 2: invalid (padding), far outside the others' range
            x[4 * k + c] *= 8f;                           // row 4: valid, the second group's range is wider
        }
        boolean[] valid = {true, true, false, true, true, true};
        byte[] w = new byte[k * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) r.nextInt(-128, 128);
        }
        try (Scope s = Tessera.scope(); Int8Linear lin = Int8Linear.pack(w, n, k, true, new int[] {3},
                new float[] {0.01f})) {
            float[] got = lin.forward(Tensor.of(x, 2 * group, k), null, null, null, group, valid).toFloatArray();
            // group 1 = rows 0, 1 alone (row 2 ignored); group 2 = rows 3..5 alone
            float[] g1 = lin.forward(Tensor.of(java.util.Arrays.copyOfRange(x, 0, 2 * k), 2, k), null, null, null)
                    .toFloatArray();
            float[] g2 = lin.forward(Tensor.of(java.util.Arrays.copyOfRange(x, 3 * k, 6 * k), 3, k), null, null, null)
                    .toFloatArray();
            assertArrayEquals(g1, java.util.Arrays.copyOfRange(got, 0, 2 * n));
            assertArrayEquals(g2, java.util.Arrays.copyOfRange(got, 3 * n, 6 * n));
            // one group for everything differs (the padding row widens the range)
            float[] whole = lin.forward(Tensor.of(x, 2 * group, k), null, null, null).toFloatArray();
            assertTrue(!java.util.Arrays.equals(whole, got));
            assertThrows(IllegalArgumentException.class,
                    () -> lin.forward(Tensor.of(x, 2 * group, k), null, null, null, 4, null));
            assertThrows(IllegalArgumentException.class,
                    () -> lin.forward(Tensor.of(x, 2 * group, k), null, null, null, group, new boolean[2]));
        }
    }

    /**
     * A row with a NaN or an infinity comes out NaN, whatever the activation (ReLU included) and residual, and does not
     * widen its group's range: the other rows are what they are without it. (Quantized as ONNX Runtime does, a NaN
     * became the zero point, i.e. a finite output, and an infinity made every row of its group NaN.)
     */
    @Test
    void aNonFiniteInputRowIsNaNAndLeavesTheOthersAlone() {
        int k = 40, n = 24;
        java.util.Random r = new java.util.Random(7);
        byte[] w = new byte[k * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) r.nextInt(-128, 128);
        }
        float[] x = new float[3 * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] res = new float[3 * n];
        java.util.Arrays.fill(res, 1f);
        try (Scope s = Tessera.scope(); Int8Linear lin = Int8Linear.pack(w, n, k, true, new int[] {0},
                new float[] {0.02f})) {
            float[] rows02 = new float[2 * k];
            System.arraycopy(x, 0, rows02, 0, k);
            System.arraycopy(x, 2 * k, rows02, k, k);
            for (FusedActivation act : new FusedActivation[] {FusedActivation.NONE, FusedActivation.RELU}) {
                float[] clean = lin.forward(Tensor.of(rows02, 2, k), null, act, Tensor.of(new float[2 * n], 2, n))
                        .toFloatArray();
                for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                    for (int col : new int[] {0, 17, k - 1}) { // the vector body and the scalar tail
                        float[] xb = x.clone();
                        xb[k + col] = bad;
                        float[] got = lin.forward(Tensor.of(xb, 3, k), null, act, Tensor.of(res, 3, n)).toFloatArray();
                        for (int j = 0; j < n; j++) {
                            assertTrue(Float.isNaN(got[n + j]), act + " " + bad + " at " + col + ": out[1, " + j + "] = "
                                    + got[n + j]);
                            assertEquals(clean[j] + 1f, got[j], 0f, act + " " + bad + ": row 0");
                            assertEquals(clean[n + j] + 1f, got[2 * n + j], 0f, act + " " + bad + ": row 2");
                        }
                    }
                }
            }
        }
    }

    @Test
    void aTensorOfZerosAndPerTensorParameters() {
        try (Scope s = Tessera.scope(); Int8Linear lin = Int8Linear.pack(new byte[] {1, -2, 3, 4, 5, -6}, 2, 3, false,
                new int[] {1}, new float[] {0.5f})) {
            assertArrayEquals(new float[4], lin.forward(Tensor.of(new float[6], 2, 3), null, null, null).toFloatArray());
            float[] x = {1, 2, 3};
            float[] ref = reference(x, 1, 3, new byte[] {1, 4, -2, 5, 3, -6}, 2, new int[] {1, 1},
                    new float[] {0.5f, 0.5f});
            assertArrayEquals(ref, lin.forward(Tensor.of(x, 1, 3), null, null, null).toFloatArray());
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeNativeCalls() {
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[5], 2, 3, true, new int[1],
                new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[6], 2, 3, true, new int[3],
                new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[6], 2, 3, true, new int[1],
                new float[] {0}));
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[6], 2, 3, true, new int[] {200},
                new float[] {1}));
        // out * in wraps around to the byte count (2^59 + 1) * 32 = 32 mod 2^64: refused, not packed out of bounds
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[32], 32, (1L << 59) + 1, false,
                new int[] {0}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[2], 3, 0x5555555555555556L, false,
                new int[] {0}, new float[] {1}));
        Int8Linear lin = Int8Linear.pack(new byte[6], 2, 3, true, new int[1], new float[] {1});
        try (Scope s = Tessera.scope()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> lin.forward(Tensor.of(new float[8], 2, 4), null, null, null));
            assertTrue(e.getMessage().contains("[..., 3]"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> lin.forward(Tensor.of(new float[6], 2, 3), Tensor.of(new float[3], 3), null, null));
            assertThrows(IllegalArgumentException.class,
                    () -> lin.forward(Tensor.of(new float[6], 2, 3), null, null, Tensor.of(new float[6], 2, 3)));
        }
        lin.close();
        try (Scope s = Tessera.scope()) {
            assertThrows(IllegalStateException.class, () -> lin.forward(Tensor.of(new float[3], 1, 3), null, null,
                    null));
        }
    }
}
