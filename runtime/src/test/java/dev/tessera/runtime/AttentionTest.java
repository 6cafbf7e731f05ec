package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Attention} on the CPU against an independent float64 reference, {@code softmax(Q·Kᵀ·scale + masks)·V}
 * computed row by row in double (bound fp32 ≤ 1e-5 relative), on seeded random data of odd sizes; plus the
 * argument checks, which must throw before any native call.
 */
class AttentionTest {
    private Scope scope;

    @BeforeEach
    void open() {
        scope = Tessera.scope();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    // ------------------------------------------------------------------ reference

    static float[] random(Random rnd, int n, double amp) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * amp);
        }
        return a;
    }

    /**
     * float64 attention. q [B, Hq, Sq, D]; k, v [B, Hkv, Sk, D] stored with {@code cap} rows per head; mask [B, Sk]
     * (0 = padding) or null. Rows that see no key are zero.
     */
    static double[] reference(float[] q, float[] k, float[] v, int b, int hq, int hkv, int sq, int sk, int d, int cap,
            int[] mask, double scale, boolean causal) {
        double[] out = new double[b * hq * sq * d];
        int group = hq / hkv;
        double[] s = new double[sk];
        double[] acc = new double[d];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < hq; h++) {
                int kvBase = ((bi * hkv + h / group) * cap) * d;
                for (int i = 0; i < sq; i++) {
                    int qBase = ((bi * hq + h) * sq + i) * d;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < sk; j++) {
                        boolean seen = (mask == null || mask[bi * sk + j] != 0) && (!causal || j <= i + sk - sq);
                        if (!seen) {
                            s[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) q[qBase + c] * k[kvBase + j * d + c];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    java.util.Arrays.fill(acc, 0);
                    double l = 0;
                    if (max != Double.NEGATIVE_INFINITY) {
                        for (int j = 0; j < sk; j++) {
                            if (s[j] == Double.NEGATIVE_INFINITY) {
                                continue;
                            }
                            double p = Math.exp(s[j] - max);
                            l += p;
                            for (int c = 0; c < d; c++) {
                                acc[c] += p * v[kvBase + j * d + c];
                            }
                        }
                    }
                    for (int c = 0; c < d; c++) {
                        out[qBase + c] = l > 0 ? acc[c] / l : 0.0;
                    }
                }
            }
        }
        return out;
    }

    /** One random case: runs the op on {@code device} and checks it against the reference. */
    static double check(Device device, DType dtype, long seed, int b, int hq, int hkv, int sq, int sk, int d,
            boolean causal, boolean withMask, double tol) {
        Random rnd = new Random(seed);
        float[] q = random(rnd, b * hq * sq * d, 1.0);
        float[] k = random(rnd, b * hkv * sk * d, 1.0);
        float[] v = random(rnd, b * hkv * sk * d, 1.0);
        int[] mask = null;
        if (withMask) {
            mask = new int[b * sk];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = rnd.nextInt(4) == 0 ? 0 : 1;
            }
            mask[0] = 1;
        }
        double scale = 1.0 / Math.sqrt(d);
        double[] ref = reference(q, k, v, b, hq, hkv, sq, sk, d, sk, mask, scale, causal);
        Tensor tq = Tensor.of(q, device, b, hq, sq, d).to(dtype);
        Tensor tk = Tensor.of(k, device, b, hkv, sk, d).to(dtype);
        Tensor tv = Tensor.of(v, device, b, hkv, sk, d).to(dtype);
        Attention.Options opt = Attention.Options.defaults().withCausal(causal);
        if (mask != null) {
            opt = opt.withKeyPaddingMask(Tensor.ofInts(mask, device, b, sk));
        }
        TestSupport.poisonNextAllocation((long) b * hq * sq * d);
        Tensor out = Attention.scaledDotProduct(tq, tk, tv, opt);
        assertShape(out, b, hq, sq, d);
        assertEquals(dtype, out.dtype());
        return assertRel(out.toFloatArray(), ref, tol, String.format("attention %s B%d Hq%d Hkv%d Sq%d Sk%d D%d causal=%s mask=%s",
                dtype, b, hq, hkv, sq, sk, d, causal, withMask));
    }

    // ------------------------------------------------------------------ correctness

    @ParameterizedTest(name = "B{1} Hq{2} Hkv{3} Sq{4} Sk{5} D{6} causal={7} mask={8}")
    @CsvSource({
        // self-attention at the odd sizes
        "1, 2, 3, 3, 1, 1, 64, false, false",
        "2, 2, 3, 3, 7, 7, 32, false, false",
        "3, 1, 2, 2, 197, 197, 80, false, false",
        "4, 1, 2, 2, 197, 197, 128, true, false",
        "5, 1, 2, 2, 1500, 1500, 64, false, false",
        "6, 1, 2, 2, 1500, 1500, 64, true, false",
        // cross-attention, causal with Sq < Sk, key padding, grouped-query
        "7, 2, 3, 3, 7, 33, 64, false, false",
        "8, 2, 3, 3, 7, 33, 32, true, false",
        "9, 2, 3, 3, 7, 33, 80, false, true",
        "10, 2, 4, 4, 45, 97, 128, true, true",
        "11, 2, 8, 2, 19, 70, 64, false, false",
        "12, 1, 8, 2, 37, 37, 64, true, true",
        "13, 1, 6, 1, 5, 41, 48, true, false",
        // head_dim outside the fast paths
        "14, 1, 2, 2, 9, 130, 1, false, false",
        "15, 1, 2, 2, 9, 130, 33, true, false",
        "16, 1, 2, 1, 33, 65, 256, false, true",
        "17, 1, 1, 1, 3, 200, 200, true, false",
        // decode shapes: 1..4 query rows against a long sequence (split-key path)
        "18, 1, 4, 2, 1, 3001, 64, false, false",
        "19, 2, 2, 2, 4, 2500, 128, true, true",
        // key tiles of whole vectors with no mask (the mask pass skipped), and 16 x 16 K transposes with a
        // head_dim tail and a key tail
        "20, 2, 3, 3, 128, 128, 32, false, false",
        "21, 1, 3, 3, 50, 100, 20, false, true",
        "22, 2, 2, 2, 60, 300, 72, false, false",
    })
    void matchesFloat64Reference(long seed, int b, int hq, int hkv, int sq, int sk, int d, boolean causal, boolean mask) {
        check(Device.CPU, DType.F32, seed, b, hq, hkv, sq, sk, d, causal, mask, 1e-5);
    }

    @Test
    void halfTypesOnCpuGoThroughF32() {
        check(Device.CPU, DType.BF16, 21, 1, 2, 2, 17, 29, 64, true, false, 2e-2);
        check(Device.CPU, DType.F16, 22, 1, 2, 1, 17, 29, 64, false, true, 5e-3);
    }

    @Test
    void customScaleAndI64Mask() {
        Random rnd = new Random(31);
        int b = 2, h = 2, sq = 11, sk = 23, d = 40;
        float[] q = random(rnd, b * h * sq * d, 1.0);
        float[] k = random(rnd, b * h * sk * d, 1.0);
        float[] v = random(rnd, b * h * sk * d, 1.0);
        int[] mask = new int[b * sk];
        long[] mask64 = new long[b * sk];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = i % (sk) < sk - 5 ? 1 : 0; // right padding as a tokenizer makes it
            mask64[i] = mask[i] == 0 ? 0 : 7;
        }
        double scale = 0.37;
        double[] ref = reference(q, k, v, b, h, h, sq, sk, d, sk, mask, scale, false);
        Tensor out = Attention.scaledDotProduct(Tensor.of(q, b, h, sq, d), Tensor.of(k, b, h, sk, d),
                Tensor.of(v, b, h, sk, d), Attention.Options.defaults().withScale(0.37f)
                        .withKeyPaddingMask(Tensor.ofLongs(mask64, Device.CPU, b, sk)));
        assertRel(out.toFloatArray(), ref, 1e-5, "scale 0.37, I64 mask");
    }

    @Test
    void rowsThatSeeNoKeyAreZero() {
        Random rnd = new Random(41);
        int b = 2, h = 2, sq = 9, sk = 5, d = 16; // causal with Sq > Sk: rows i < Sq - Sk see nothing
        float[] q = random(rnd, b * h * sq * d, 1.0);
        float[] k = random(rnd, b * h * sk * d, 1.0);
        float[] v = random(rnd, b * h * sk * d, 1.0);
        int[] mask = new int[b * sk];
        for (int j = 0; j < sk; j++) {
            mask[j] = 1; // batch 0 sees everything, batch 1 is all padding
        }
        double[] ref = reference(q, k, v, b, h, h, sq, sk, d, sk, mask, 1 / Math.sqrt(d), true);
        TestSupport.poisonNextAllocation((long) b * h * sq * d);
        float[] out = Attention.scaledDotProduct(Tensor.of(q, b, h, sq, d), Tensor.of(k, b, h, sk, d),
                Tensor.of(v, b, h, sk, d), Attention.Options.causalMask()
                        .withKeyPaddingMask(Tensor.ofInts(mask, Device.CPU, b, sk))).toFloatArray();
        assertRel(out, ref, 1e-5, "empty rows");
        for (int i = b * h * sq * d / 2; i < out.length; i++) {
            assertEquals(0.0f, out[i], "fully padded batch item must give zeros at " + i);
        }
        assertEquals(0.0f, out[0], "row 0 sees no key under causal Sq > Sk");
    }

    @Test
    void nanPropagates() {
        Random rnd = new Random(43);
        int sq = 3, sk = 70, d = 32;
        float[] q = random(rnd, sq * d, 1.0);
        float[] k = random(rnd, sk * d, 1.0);
        float[] v = random(rnd, sk * d, 1.0);
        q[d + 5] = Float.NaN; // row 1
        float[] out = Attention.scaledDotProduct(Tensor.of(q, 1, 1, sq, d), Tensor.of(k, 1, 1, sk, d),
                Tensor.of(v, 1, 1, sk, d)).toFloatArray();
        for (int c = 0; c < d; c++) {
            assertTrue(Float.isNaN(out[d + c]), "NaN in q row 1 must reach its output");
            assertTrue(Float.isFinite(out[c]) && Float.isFinite(out[2 * d + c]), "other rows stay finite");
        }
    }

    /** Decode against a sliced KV cache [B, Hkv, capacity, D] equals the same attention on a contiguous copy. */
    @ParameterizedTest(name = "Sq{0} len{1} D{2} causal={3}")
    @CsvSource({"1, 1777, 64, false", "4, 900, 128, true", "3, 1, 80, false", "2, 513, 64, true"})
    void decodeOnSlicedCacheEqualsContiguous(int sq, int len, int d, boolean causal) {
        Random rnd = new Random(51 + sq);
        int b = 2, hq = 4, hkv = 2, cap = 2048;
        float[] q = random(rnd, b * hq * sq * d, 1.0);
        float[] kc = random(rnd, b * hkv * cap * d, 1.0);
        float[] vc = random(rnd, b * hkv * cap * d, 1.0);
        Tensor kCache = Tensor.of(kc, b, hkv, cap, d);
        Tensor vCache = Tensor.of(vc, b, hkv, cap, d);
        Tensor tq = Tensor.of(q, b, hq, sq, d);
        Attention.Options opt = Attention.Options.defaults().withCausal(causal);
        Tensor k = kCache.slice(2, 0, len);
        assertEquals(cap, Attention.kvCapacity(k), "a sliced cache is passed with its capacity");
        Tensor viaCache = Attention.decode(tq, kCache, vCache, len, opt);
        Tensor viaCopy = Attention.scaledDotProduct(tq, k.contiguous(), vCache.slice(2, 0, len).contiguous(), opt);
        float[] a = viaCache.toFloatArray();
        float[] c = viaCopy.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToIntBits(c[i]), Float.floatToIntBits(a[i]), "element " + i);
        }
        double[] ref = reference(q, kc, vc, b, hq, hkv, sq, len, d, cap, null, 1 / Math.sqrt(d), causal);
        assertRel(a, ref, 1e-5, "decode vs float64");
    }

    @Test
    void nonContiguousInputsAreGathered() {
        Random rnd = new Random(61);
        int b = 1, h = 3, s = 13, d = 24;
        float[] q = random(rnd, b * h * s * d, 1.0);
        float[] k = random(rnd, b * h * s * d, 1.0);
        float[] v = random(rnd, b * h * s * d, 1.0);
        // k given as [B, S, H, D] transposed to [B, H, S, D] (the layout of a fused QKV projection)
        float[] kbshd = new float[k.length];
        for (int hh = 0; hh < h; hh++) {
            for (int j = 0; j < s; j++) {
                System.arraycopy(k, (hh * s + j) * d, kbshd, (j * h + hh) * d, d);
            }
        }
        Tensor kt = Tensor.of(kbshd, b, s, h, d).transpose(1, 2);
        assertEquals(-1, Attention.kvCapacity(kt));
        double[] ref = reference(q, k, v, b, h, h, s, s, d, s, null, 1 / Math.sqrt(d), false);
        Tensor out = Attention.scaledDotProduct(Tensor.of(q, b, h, s, d), kt, Tensor.of(v, b, h, s, d));
        assertRel(out.toFloatArray(), ref, 1e-5, "transposed k");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void mismatchedHeadCounts() {
        Tensor q = Tensor.empty(DType.F32, Device.CPU, 1, 6, 4, 8);
        Tensor k = Tensor.empty(DType.F32, Device.CPU, 1, 4, 5, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Attention.scaledDotProduct(q, k, k));
        assertTrue(e.getMessage().contains("head counts") && e.getMessage().contains("[1, 6, 4, 8]")
                && e.getMessage().contains("[1, 4, 5, 8]"), e.getMessage());
        Tensor v3 = Tensor.empty(DType.F32, Device.CPU, 1, 3, 5, 8);
        Tensor q6 = Tensor.empty(DType.F32, Device.CPU, 1, 6, 4, 8);
        Tensor k2 = Tensor.empty(DType.F32, Device.CPU, 1, 2, 5, 8);
        e = assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q6, k2, v3));
        assertTrue(e.getMessage().contains("k and v head counts"), e.getMessage());
    }

    @Test
    void headDimMismatch() {
        Tensor q = Tensor.empty(DType.F32, Device.CPU, 1, 2, 4, 64);
        Tensor k = Tensor.empty(DType.F32, Device.CPU, 1, 2, 5, 32);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Attention.scaledDotProduct(q, k, k));
        assertTrue(e.getMessage().contains("head_dim") && e.getMessage().contains("[1, 2, 5, 32]"), e.getMessage());
        Tensor big = Tensor.empty(DType.F32, Device.CPU, 1, 1, 2, 257);
        e = assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(big, big, big));
        assertTrue(e.getMessage().contains("head_dim"), e.getMessage());
    }

    @Test
    void maskWrongShapeOrType() {
        Tensor q = Tensor.empty(DType.F32, Device.CPU, 2, 2, 4, 8);
        Tensor k = Tensor.empty(DType.F32, Device.CPU, 2, 2, 5, 8);
        Tensor m = Tensor.ofInts(new int[8], Device.CPU, 2, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q,
                k, k, Attention.Options.defaults().withKeyPaddingMask(m)));
        assertTrue(e.getMessage().contains("[2, 5]") && e.getMessage().contains("[2, 4]"), e.getMessage());
        Tensor mf = Tensor.of(new float[10], 2, 5);
        e = assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, k, k,
                Attention.Options.defaults().withKeyPaddingMask(mf)));
        assertTrue(e.getMessage().contains("I32 or I64"), e.getMessage());
    }

    @Test
    void otherMismatches() {
        Tensor q = Tensor.empty(DType.F32, Device.CPU, 2, 2, 4, 8);
        Tensor k1 = Tensor.empty(DType.F32, Device.CPU, 1, 2, 5, 8);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, k1, k1))
                .getMessage().contains("batch"));
        Tensor r3 = Tensor.empty(DType.F32, Device.CPU, 2, 4, 8);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, r3, r3))
                .getMessage().contains("[2, 4, 8]"));
        Tensor kh = Tensor.empty(DType.F16, Device.CPU, 2, 2, 5, 8);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, kh, kh))
                .getMessage().contains("dtype"));
        Tensor k = Tensor.empty(DType.F32, Device.CPU, 2, 2, 5, 8);
        Tensor v6 = Tensor.empty(DType.F32, Device.CPU, 2, 2, 6, 8);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, k, v6))
                .getMessage().contains("sequence lengths"));
        Tensor qi = Tensor.ofInts(new int[8], Device.CPU, 1, 1, 1, 8);
        assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(qi, qi, qi));
        assertThrows(IllegalArgumentException.class,
                () -> Attention.scaledDotProduct(q, k, k, Attention.Options.defaults().withScale(Float.POSITIVE_INFINITY)));
        assertThrows(IllegalArgumentException.class, () -> Attention.decode(q, k, k, 6, null));
    }

    @Test
    void closedTensor() {
        Tensor q = Tensor.empty(DType.F32, Device.CPU, 1, 2, 4, 8);
        Tensor k = Tensor.empty(DType.F32, Device.CPU, 1, 2, 5, 8);
        Tensor v = Tensor.empty(DType.F32, Device.CPU, 1, 2, 5, 8);
        v.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Attention.scaledDotProduct(q, k, v));
        assertTrue(e.getMessage().contains("closed") && e.getMessage().contains("[1, 2, 5, 8]"), e.getMessage());
        Tensor m = Tensor.ofInts(new int[5], Device.CPU, 1, 5);
        m.close();
        assertThrows(IllegalStateException.class, () -> Attention.scaledDotProduct(q, k, k,
                Attention.Options.defaults().withKeyPaddingMask(m)));
    }

    /** The CUDA kernel knob: auto / v1 / v2 in any case, anything else refused with the value named. */
    @Test
    void cudaKernelChoiceParsesAndSets() {
        assertEquals(Attention.CudaKernel.AUTO, Attention.CudaKernel.parse("auto"));
        assertEquals(Attention.CudaKernel.V1, Attention.CudaKernel.parse("V1"));
        assertEquals(Attention.CudaKernel.V2, Attention.CudaKernel.parse(" v2 "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Attention.CudaKernel.parse("v3"));
        assertTrue(e.getMessage().contains("'v3'") && e.getMessage().contains("auto, v1 or v2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Attention.CudaKernel.parse(null));
        Attention.CudaKernel before = Attention.cudaKernel();
        try {
            Attention.setCudaKernel(Attention.CudaKernel.V2);
            assertEquals(Attention.CudaKernel.V2, Attention.cudaKernel());
            Attention.setCudaKernel(null);
            assertEquals(Attention.CudaKernel.AUTO, Attention.cudaKernel());
        } finally {
            Attention.setCudaKernel(before);
        }
    }
}
