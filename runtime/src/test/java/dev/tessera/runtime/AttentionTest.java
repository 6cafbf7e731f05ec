package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.jni.AttentionNative;
import dev.tessera.runtime.testing.ScopePerTest;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Attention} on the CPU against an independent float64 reference, {@code softmax(Q·Kᵀ·scale + masks)·V}
 * computed row by row in double (bound fp32 ≤ 1e-5 relative), on seeded random data of odd sizes; plus the
 * argument checks, which must throw before any native call.
 */
@ExtendWith(ScopePerTest.class)
class AttentionTest {
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

    /**
     * The work is cut into (row block, key chunk) tasks; key chunks (decode against a long cache, few rows) are
     * merged by log-sum-exp, which changes a row's sums. Whether and how the keys are cut depends on the problem,
     * not on the pool: every thread count gives the same bits, each matching float64.
     */
    @Test
    void everyThreadCountGivesTheSameBits() {
        int[][] cases = { // b, hq, hkv, sq, sk, d, causal, mask
            {1, 4, 2, 1, 3001, 64, 0, 0}, {1, 1, 1, 1, 600, 32, 0, 1}, {2, 2, 2, 4, 2500, 128, 1, 1},
            {1, 6, 6, 1, 1500, 64, 0, 0}, {1, 1, 1, 300, 1400, 64, 1, 0}, {1, 2, 1, 97, 197, 80, 0, 1},
            {3, 12, 12, 40, 40, 32, 0, 1}};
        int prev = dev.tessera.bindings.TesseraNative.tsr_cpu_threads();
        try {
            for (int[] c : cases) {
                int b = c[0], hq = c[1], hkv = c[2], sq = c[3], sk = c[4], d = c[5];
                boolean causal = c[6] != 0;
                Random rnd = new Random(31 + sk);
                float[] q = random(rnd, b * hq * sq * d, 1.0);
                float[] k = random(rnd, b * hkv * sk * d, 1.0);
                float[] v = random(rnd, b * hkv * sk * d, 1.0);
                int[] mask = null;
                if (c[7] != 0) {
                    mask = new int[b * sk];
                    for (int i = 0; i < mask.length; i++) {
                        mask[i] = rnd.nextInt(5) == 0 ? 0 : 1;
                    }
                    mask[0] = 1;
                }
                double[] ref = reference(q, k, v, b, hq, hkv, sq, sk, d, sk, mask, 1.0 / Math.sqrt(d), causal);
                Attention.Options opt = Attention.Options.defaults().withCausal(causal);
                if (mask != null) {
                    opt = opt.withKeyPaddingMask(Tensor.ofInts(mask, Device.CPU, b, sk));
                }
                Tensor tq = Tensor.of(q, b, hq, sq, d);
                Tensor tk = Tensor.of(k, b, hkv, sk, d);
                Tensor tv = Tensor.of(v, b, hkv, sk, d);
                float[] first = null;
                for (int threads : new int[] {1, 2, 3, 5, 8, 16}) {
                    dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(threads);
                    String what = String.format("threads=%d B%d Hq%d Hkv%d Sq%d Sk%d D%d causal=%s mask=%s", threads,
                            b, hq, hkv, sq, sk, d, causal, mask != null);
                    float[] y = Attention.scaledDotProduct(tq, tk, tv, opt).toFloatArray();
                    assertRel(y, ref, 1e-5, what);
                    if (first == null) {
                        first = y;
                    } else {
                        assertArrayEquals(first, y, what + ": same bits as 1 thread");
                    }
                }
            }
        } finally {
            dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(prev);
        }
    }

    /**
     * One query row with fewer KV heads than query heads: the CPU kernel runs each KV head's query heads as the rows
     * of one block (each K / V tile read once per group). The bits must be those of the same call with K / V
     * repeated per query head, and match float64; q as a contiguous tensor and as the heads of a [B, 1, Hq·D]
     * projection, K / V as a cache sliced to its length, with and without the key split, causal and masked.
     */
    @Test
    void groupedQueryDecodeEqualsRepeatedKvHeads() {
        int[][] cases = { // b, hq, hkv, len, cap, d, causal, mask
            {1, 8, 2, 300, 320, 64, 0, 0}, {2, 32, 8, 2000, 2048, 128, 1, 0}, {1, 6, 1, 777, 800, 48, 0, 1},
            {3, 4, 2, 1, 8, 32, 1, 0}, {1, 12, 4, 530, 530, 80, 1, 1}};
        for (int[] c : cases) {
            int b = c[0], hq = c[1], hkv = c[2], len = c[3], cap = c[4], d = c[5], group = hq / hkv;
            boolean causal = c[6] != 0;
            Random rnd = new Random(7 * len + hq);
            float[] q = random(rnd, b * hq * d, 1.0);
            float[] k = random(rnd, b * hkv * cap * d, 1.0);
            float[] v = random(rnd, b * hkv * cap * d, 1.0);
            float[] kRep = new float[b * hq * len * d];
            float[] vRep = new float[kRep.length];
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < hq; h++) {
                    System.arraycopy(k, (bi * hkv + h / group) * cap * d, kRep, (bi * hq + h) * len * d, len * d);
                    System.arraycopy(v, (bi * hkv + h / group) * cap * d, vRep, (bi * hq + h) * len * d, len * d);
                }
            }
            int[] mask = null;
            Attention.Options opt = Attention.Options.defaults().withCausal(causal);
            if (c[7] != 0) {
                mask = new int[b * len];
                for (int i = 0; i < mask.length; i++) {
                    mask[i] = rnd.nextInt(3) == 0 ? 0 : 1;
                }
                opt = opt.withKeyPaddingMask(Tensor.ofInts(mask, Device.CPU, b, len));
            }
            String what = String.format("B%d Hq%d Hkv%d len%d D%d causal=%s mask=%s", b, hq, hkv, len, d, causal,
                    mask != null);
            double[] ref = reference(q, k, v, b, hq, hkv, 1, len, d, cap, mask, 1.0 / Math.sqrt(d), causal);
            Tensor kCache = Tensor.of(k, b, hkv, cap, d);
            Tensor vCache = Tensor.of(v, b, hkv, cap, d);
            float[] repeated = Attention.scaledDotProduct(Tensor.of(q, b, hq, 1, d), Tensor.of(kRep, b, hq, len, d),
                    Tensor.of(vRep, b, hq, len, d), opt).toFloatArray();
            assertRel(repeated, ref, 1e-5, what + " repeated K/V");
            float[] grouped = Attention.decode(Tensor.of(q, b, hq, 1, d), kCache, vCache, len, opt).toFloatArray();
            assertRel(grouped, ref, 1e-5, what);
            assertArrayEquals(repeated, grouped, what + ": same bits as K/V repeated per query head");
            Tensor heads = Tensor.of(q, b, 1, hq, d).transpose(1, 2); // [B, Hq, 1, D], heads d floats apart
            float[] fromView = Attention.decode(heads, kCache, vCache, len, opt).contiguous().toFloatArray();
            assertArrayEquals(repeated, fromView, what + ": q as a projection's heads");
        }
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
        assertFalse(k.isContiguous(), "a sliced cache is a strided view, read in place");
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
    void transposedKeysAreReadInPlace() {
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
        assertFalse(kt.isContiguous());
        double[] ref = reference(q, k, v, b, h, h, s, s, d, s, null, 1 / Math.sqrt(d), false);
        Tensor out = Attention.scaledDotProduct(Tensor.of(q, b, h, s, d), kt, Tensor.of(v, b, h, s, d));
        assertRel(out.toFloatArray(), ref, 1e-5, "transposed k");
    }

    // ------------------------------------------------------------------ strided views

    /**
     * Heads {@code [h0, h0 + h)} of a {@code [B, S, W, D]} buffer (W heads per row, as a fused projection's output
     * reshaped) as a {@code [B, h, S, D]} array: the values the view {@code buf.slice(2, h0, h0 + h).transpose(1, 2)}
     * holds, gathered by index arithmetic here.
     */
    static float[] headsOf(float[] buf, int b, int s, int w, int h0, int h, int d) {
        float[] out = new float[b * h * s * d];
        for (int bi = 0; bi < b; bi++) {
            for (int hh = 0; hh < h; hh++) {
                for (int i = 0; i < s; i++) {
                    System.arraycopy(buf, ((bi * s + i) * w + h0 + hh) * d, out, ((bi * h + hh) * s + i) * d, d);
                }
            }
        }
        return out;
    }

    /** {@code [B, h, S, D]} view of heads {@code [h0, h0 + h)} of {@code buf [B, S, W, D]}. */
    static Tensor headView(Tensor buf, int h0, int h) {
        try (Tensor sl = buf.slice(2, h0, h0 + h)) {
            return sl.transpose(1, 2);
        }
    }

    /**
     * q, k, v as strided views, against the float64 reference. layout "qkv": q, k, v are head slices of ONE
     * {@code [B, S, Hq + 2·Hkv, D]} buffer (a fused projection; needs Sq == Sk); "kv": q from a {@code [B, Sq, Hq, D]}
     * buffer, k and v from one {@code [B, Sk, 2·Hkv, D]} buffer (cross attention); "cache": q as for "kv", k and v
     * slices of {@code [B, Hkv, capacity, D]} caches (another layout than q's).
     */
    @ParameterizedTest(name = "{9}: B{1} Hq{2} Hkv{3} Sq{4} Sk{5} D{6} causal={7} mask={8}")
    @CsvSource({
        "101, 2, 12, 12, 128, 128, 32, false, true, qkv", // MiniLM's layer
        "102, 3, 4, 4, 7, 7, 64, true, false, qkv",
        "103, 2, 3, 3, 197, 197, 64, false, false, qkv", // ViT-B/16's sequence
        "104, 2, 8, 2, 37, 37, 48, true, true, qkv", // grouped-query
        "105, 2, 6, 1, 19, 19, 32, false, true, qkv", // multi-query
        "106, 2, 4, 4, 1, 1, 64, false, false, qkv", // one row: any row stride
        "107, 1, 1, 1, 7, 7, 20, true, false, qkv", // one head
        "108, 2, 4, 4, 7, 33, 64, false, true, kv", // cross attention
        "109, 2, 4, 2, 45, 97, 40, true, true, kv",
        "110, 1, 4, 4, 197, 7, 33, false, false, kv",
        // key split (with 2+ threads: B·Hq·query blocks < 2·threads, Sk >= 512): merged into a strided out
        "111, 1, 2, 2, 2, 1200, 64, false, false, kv",
        "112, 1, 2, 1, 3, 1500, 32, true, true, kv",
        "113, 1, 2, 1, 4, 900, 128, false, true, cache", // decode shapes against a cache, q heads inside rows
        "115, 2, 4, 2, 4, 900, 64, true, true, cache",
        "114, 1, 4, 4, 33, 600, 64, true, false, cache",
    })
    void stridedViewsMatchFloat64Reference(long seed, int b, int hq, int hkv, int sq, int sk, int d, boolean causal,
            boolean withMask, String layout) {
        Random rnd = new Random(seed);
        float[] q, k, v;
        Tensor tq, tk, tv;
        int cap = sk;
        if (layout.equals("qkv")) {
            int w = hq + 2 * hkv;
            float[] buf = random(rnd, b * sq * w * d, 1.0);
            q = headsOf(buf, b, sq, w, 0, hq, d);
            k = headsOf(buf, b, sq, w, hq, hkv, d);
            v = headsOf(buf, b, sq, w, hq + hkv, hkv, d);
            Tensor t = Tensor.of(buf, b, sq, w, d);
            tq = headView(t, 0, hq);
            tk = headView(t, hq, hkv);
            tv = headView(t, hq + hkv, hkv);
        } else {
            float[] qbuf = random(rnd, b * sq * hq * d, 1.0);
            q = headsOf(qbuf, b, sq, hq, 0, hq, d);
            tq = headView(Tensor.of(qbuf, b, sq, hq, d), 0, hq);
            if (layout.equals("kv")) {
                float[] buf = random(rnd, b * sk * 2 * hkv * d, 1.0);
                k = headsOf(buf, b, sk, 2 * hkv, 0, hkv, d);
                v = headsOf(buf, b, sk, 2 * hkv, hkv, hkv, d);
                Tensor t = Tensor.of(buf, b, sk, 2 * hkv, d);
                tk = headView(t, 0, hkv);
                tv = headView(t, hkv, hkv);
            } else {
                cap = sk + 77;
                k = random(rnd, b * hkv * cap * d, 1.0);
                v = random(rnd, b * hkv * cap * d, 1.0);
                tk = Tensor.of(k, b, hkv, cap, d).slice(2, 0, sk);
                tv = Tensor.of(v, b, hkv, cap, d).slice(2, 0, sk);
            }
        }
        int[] mask = null;
        Attention.Options opt = Attention.Options.defaults().withCausal(causal);
        if (withMask) {
            mask = new int[b * sk];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = rnd.nextInt(4) == 0 ? 0 : 1;
            }
            mask[0] = 1;
            opt = opt.withKeyPaddingMask(Tensor.ofInts(mask, Device.CPU, b, sk));
        }
        if (hq > 1 && sq > 1) {
            assertFalse(tq.isContiguous(), "q must be a strided view");
        }
        double[] ref = reference(q, k, v, b, hq, hkv, sq, sk, d, cap, mask, 1 / Math.sqrt(d), causal);
        TestSupport.poisonNextAllocation((long) b * hq * sq * d);
        Tensor out = Attention.scaledDotProduct(tq, tk, tv, opt);
        assertShape(out, b, hq, sq, d);
        if (hq > 1 && sq > 1) {
            // q's heads are inside its rows: out is the [B, Hq, Sq, D] view of a contiguous [B, Sq, Hq, D] tensor
            assertArrayEquals(new long[] {(long) sq * hq * d, d, (long) hq * d, 1}, out.strides());
        } else {
            assertTrue(out.isContiguous());
        }
        assertRel(out.toFloatArray(), ref, 1e-5, String.format("strided %s B%d Hq%d Hkv%d Sq%d Sk%d D%d causal=%s mask=%s",
                layout, b, hq, hkv, sq, sk, d, causal, withMask));
    }

    /** The result follows q's layout; {@code out.transpose(1, 2).contiguous()} is then free (same storage). */
    @Test
    void outputFollowsLayoutOfQ() {
        Random rnd = new Random(121);
        int b = 2, h = 3, s = 5, d = 8;
        Tensor buf = Tensor.of(random(rnd, b * s * 3 * h * d, 1.0), b, s, 3 * h, d);
        Tensor q = headView(buf, 0, h), k = headView(buf, h, h), v = headView(buf, 2 * h, h);
        Tensor out = Attention.scaledDotProduct(q, k, v);
        assertArrayEquals(new long[] {s * h * d, d, h * d, 1}, out.strides());
        assertFalse(out.isContiguous());
        Tensor tr = out.transpose(1, 2);
        Tensor rows = tr.contiguous();
        assertSame(out.storage(), rows.storage(), "contiguous() of the [B, S, H, D] view must not copy");
        assertEquals(out.address(), rows.address());
        float[] expect = Attention.scaledDotProduct(q.contiguous(), k.contiguous(), v.contiguous()).toFloatArray();
        assertArrayEquals(expect, out.toFloatArray(), "same result as on contiguous copies");
        Tensor flat = rows.reshape(b, s, h * d); // what a model feeds its output projection
        assertSame(out.storage(), flat.storage());
        // out owns its storage alone: closing it (and its views) frees it
        tr.close();
        rows.close();
        flat.close();
        Storage st = out.storage();
        out.close();
        assertTrue(st.isFreed(), "the result's storage has no other owner");

        // contiguous q (heads outside rows) -> contiguous out, even with strided k / v
        Tensor qc = q.contiguous();
        Tensor o2 = Attention.scaledDotProduct(qc, k, v);
        assertTrue(o2.isContiguous());
        assertArrayEquals(expect, o2.toFloatArray());
        // one head or one row: both layouts are the same memory; out is contiguous
        Tensor q1 = headView(buf, 0, 1);
        assertTrue(Attention.scaledDotProduct(q1, headView(buf, h, 1), headView(buf, 2 * h, 1)).isContiguous());
        // half types (through F32 on the CPU) follow the same rule
        Tensor bufH = buf.to(DType.BF16);
        Tensor oh = Attention.scaledDotProduct(headView(bufH, 0, h), headView(bufH, h, h), headView(bufH, 2 * h, h));
        assertEquals(DType.BF16, oh.dtype());
        assertArrayEquals(new long[] {s * h * d, d, h * d, 1}, oh.strides());
        assertRel(oh.toFloatArray(), expect, 2e-2, "bf16 strided");
    }

    /** A view whose head_dim is not unit stride is copied first (the kernels need unit-stride rows). */
    @Test
    void nonUnitLastStrideIsCopied() {
        Random rnd = new Random(131);
        int b = 2, h = 2, sq = 9, sk = 13, d = 16;
        float[] q = random(rnd, b * h * sq * d, 1.0);
        float[] k = random(rnd, b * h * sk * d, 1.0);
        float[] v = random(rnd, b * h * sk * d, 1.0);
        double[] ref = reference(q, k, v, b, h, h, sq, sk, d, sk, null, 1 / Math.sqrt(d), true);
        // [B, H, D, S] buffers transposed to [B, H, S, D]: stride of head_dim = S
        Tensor tq = transposedLast2(q, b, h, sq, d);
        Tensor tk = transposedLast2(k, b, h, sk, d);
        assertEquals(sq, tq.strides()[3]);
        Tensor out = Attention.scaledDotProduct(tq, tk, Tensor.of(v, b, h, sk, d), true);
        assertTrue(out.isContiguous());
        assertRel(out.toFloatArray(), ref, 1e-5, "non-unit last stride");
    }

    /** {@code [b, h, s, d]} values held as a {@code [b, h, d, s]} tensor, returned as its transpose(2, 3) view. */
    static Tensor transposedLast2(float[] x, int b, int h, int s, int d) {
        float[] t = new float[x.length];
        for (int bh = 0; bh < b * h; bh++) {
            for (int i = 0; i < s; i++) {
                for (int c = 0; c < d; c++) {
                    t[(bh * d + c) * s + i] = x[(bh * s + i) * d + c];
                }
            }
        }
        return Tensor.of(t, b, h, d, s).transpose(2, 3);
    }

    /**
     * The native entry points directly: the contiguous form is the strided form with contiguous strides (same bits);
     * bad strides are refused with a message naming them, before anything is read.
     */
    @Test
    void nativeStridedEntryPoint() {
        Random rnd = new Random(141);
        int b = 1, h = 2, hkv = 1, sq = 5, sk = 600, d = 32, cap = 700;
        Tensor q = Tensor.of(random(rnd, b * h * sq * d, 1.0), b, h, sq, d);
        Tensor k = Tensor.of(random(rnd, b * hkv * cap * d, 1.0), b, hkv, cap, d);
        Tensor v = Tensor.of(random(rnd, b * hkv * cap * d, 1.0), b, hkv, cap, d);
        Tensor o1 = Tensor.zeros(DType.F32, Device.CPU, b, h, sq, d);
        Tensor o2 = Tensor.zeros(DType.F32, Device.CPU, b, h, sq, d);
        float scale = 0.2f;
        NativeStatus.check(AttentionNative.tsr_cpu_attention_f32(q.address(), k.address(), v.address(), o1.address(),
                b, h, hkv, sq, sk, d, cap, 0, 0, scale, 1), "tsr_cpu_attention_f32");
        NativeStatus.check(AttentionNative.tsr_cpu_attention_strided_f32(q.address(), h * sq * d, sq * d, d,
                k.address(), hkv * cap * d, cap * d, d, v.address(), hkv * cap * d, cap * d, d, o2.address(),
                h * sq * d, sq * d, d, b, h, hkv, sq, sk, d, 0, 0, scale, 1), "tsr_cpu_attention_strided_f32");
        float[] a = o1.toFloatArray(), c = o2.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToIntBits(a[i]), Float.floatToIntBits(c[i]), "element " + i);
        }
        // row stride of k below head_dim
        int rc = AttentionNative.tsr_cpu_attention_strided_f32(q.address(), h * sq * d, sq * d, d, k.address(), 0, 0,
                d - 1, v.address(), 0, cap * d, d, o2.address(), h * sq * d, sq * d, d, b, h, hkv, sq, sk, d, 0, 0,
                scale, 0);
        assertEquals(NativeStatus.ERR_ARG, rc);
        String msg = NativeStatus.lastError();
        assertTrue(msg.contains("row stride 31 of k") && msg.contains("head_dim 32"), msg);
        // negative stride
        rc = AttentionNative.tsr_cpu_attention_strided_f32(q.address(), h * sq * d, -sq * d, d, k.address(), 0, 0, d,
                v.address(), 0, 0, d, o2.address(), h * sq * d, sq * d, d, b, h, hkv, sq, sk, d, 0, 0, scale, 0);
        assertEquals(NativeStatus.ERR_ARG, rc);
        msg = NativeStatus.lastError();
        assertTrue(msg.contains("negative stride for q"), msg);
        // out strides mapping two heads to the same rows
        rc = AttentionNative.tsr_cpu_attention_strided_f32(q.address(), h * sq * d, sq * d, d, k.address(), 0, 0, d,
                v.address(), 0, 0, d, o2.address(), h * sq * d, d, d, b, h, hkv, sq, sk, d, 0, 0, scale, 0);
        assertEquals(NativeStatus.ERR_ARG, rc);
        msg = NativeStatus.lastError();
        assertTrue(msg.contains("out strides") && msg.contains("overlap"), msg);
        // k and v with one row each: any row stride is fine (never used)
        NativeStatus.check(AttentionNative.tsr_cpu_attention_strided_f32(q.address(), h * sq * d, sq * d, d,
                k.address(), 0, 0, 0, v.address(), 0, 0, 0, o2.address(), h * sq * d, sq * d, d, b, h, hkv, sq, 1, d,
                0, 0, scale, 0), "one key");
        float[] one = o2.toFloatArray(), v0 = java.util.Arrays.copyOf(v.toFloatArray(), d);
        for (int r = 0; r < b * h * sq; r++) {
            for (int x = 0; x < d; x++) {
                assertEquals(v0[x], one[r * d + x], 1e-6f, "one key: every row is v[0]");
            }
        }
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

    /** The CUDA kernel knob: auto / v1 / v2 / wgmma in any case, anything else refused with the value named. */
    @Test
    void cudaKernelChoiceParsesAndSets() {
        assertEquals(Attention.CudaKernel.AUTO, Attention.CudaKernel.parse("auto"));
        assertEquals(Attention.CudaKernel.V1, Attention.CudaKernel.parse("V1"));
        assertEquals(Attention.CudaKernel.V2, Attention.CudaKernel.parse(" v2 "));
        assertEquals(Attention.CudaKernel.WGMMA, Attention.CudaKernel.parse("WGMMA"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Attention.CudaKernel.parse("v3"));
        assertTrue(e.getMessage().contains("'v3'") && e.getMessage().contains("auto, v1, v2 or wgmma"), e.getMessage());
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
