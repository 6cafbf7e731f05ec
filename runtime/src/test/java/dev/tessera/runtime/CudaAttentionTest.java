package dev.tessera.runtime;

import static dev.tessera.runtime.AttentionTest.random;
import static dev.tessera.runtime.AttentionTest.reference;
import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Attention} on CUDA against the CPU op (libtessera's CPU kernel, checked by {@link AttentionTest}) and,
 * for the smaller cases, the float64 reference: F32 (SIMT kernel, split-KV decode) ≤ 1e-5; F16 / BF16
 * (tensor-core kernel for head_dim ≤ 128, SIMT beyond, split-KV for decode) ≤ 1e-2 against the fp32 result.
 * Device outputs are poisoned with NaN first (a NaN block of the output's size is allocated and released; the
 * caching allocator hands it back). Skipped, with the reason, where CUDA is unavailable.
 */
class CudaAttentionTest extends CudaTestBase {

    private static void poisonGpu(DType dtype, long n) {
        try (Tensor t = TestSupport.nanTensor(GPU, n); Tensor c = t.to(dtype)) {
            // released: the next allocation of this size class reuses the NaN bytes
        }
    }

    /** Runs one case on CPU (F32) and CUDA (dtype) and compares. */
    static void compare(DType dtype, long seed, int b, int hq, int hkv, int sq, int sk, int d, int cap, int len,
            boolean causal, boolean mask, double tol, boolean withRef) {
        Random rnd = new Random(seed);
        float[] q = random(rnd, b * hq * sq * d, 1.0);
        float[] kc = random(rnd, b * hkv * cap * d, 1.0);
        float[] vc = random(rnd, b * hkv * cap * d, 1.0);
        int[] m = null;
        if (mask) {
            m = new int[b * len];
            for (int i = 0; i < m.length; i++) {
                m[i] = rnd.nextInt(5) == 0 ? 0 : 1;
            }
        }
        Attention.Options cpuOpt = Attention.Options.defaults().withCausal(causal);
        Attention.Options gpuOpt = cpuOpt;
        if (m != null) {
            cpuOpt = cpuOpt.withKeyPaddingMask(Tensor.ofInts(m, Device.CPU, b, len));
            gpuOpt = gpuOpt.withKeyPaddingMask(Tensor.ofInts(m, GPU, b, len));
        }
        Tensor cpu = Attention.decode(Tensor.of(q, b, hq, sq, d), Tensor.of(kc, b, hkv, cap, d),
                Tensor.of(vc, b, hkv, cap, d), len, cpuOpt);
        Tensor gq = Tensor.of(q, GPU, b, hq, sq, d).to(dtype);
        Tensor gk = Tensor.of(kc, GPU, b, hkv, cap, d).to(dtype);
        Tensor gv = Tensor.of(vc, GPU, b, hkv, cap, d).to(dtype);
        poisonGpu(dtype, (long) b * hq * sq * d);
        Tensor gpu = Attention.decode(gq, gk, gv, len, gpuOpt);
        assertShape(gpu, b, hq, sq, d);
        String what = String.format("cuda %s B%d Hq%d Hkv%d Sq%d Sk%d(cap %d) D%d causal=%s mask=%s", dtype, b, hq,
                hkv, sq, len, cap, d, causal, mask);
        float[] g = gpu.toFloatArray();
        assertRel(g, cpu.toFloatArray(), tol, what + " vs CPU");
        if (withRef) {
            assertRel(g, reference(q, kc, vc, b, hq, hkv, sq, len, d, cap, m, 1 / Math.sqrt(d), causal),
                    tol, what + " vs float64");
        }
    }

    @ParameterizedTest(name = "F32 B{1} Hq{2} Hkv{3} Sq{4} Sk{5} D{6} causal={7} mask={8}")
    @CsvSource({
        "1, 1, 2, 2, 1, 1, 64, false, false",
        "2, 2, 3, 3, 7, 7, 32, false, false",
        "3, 1, 2, 2, 197, 197, 80, true, false",
        "4, 1, 2, 2, 1500, 1500, 64, false, false",
        "5, 2, 3, 3, 7, 33, 64, true, true",
        "6, 2, 8, 2, 19, 70, 128, false, true",
        "7, 1, 2, 1, 33, 65, 256, true, false",
        "8, 1, 2, 2, 9, 130, 1, false, false",
        "9, 1, 4, 2, 1, 3001, 64, false, false",
        "10, 2, 8, 1, 4, 2500, 128, true, true",
        "11, 1, 2, 2, 9, 5, 48, true, false",
    })
    void f32MatchesCpuAndReference(long seed, int b, int hq, int hkv, int sq, int sk, int d, boolean causal,
            boolean mask) {
        compare(DType.F32, seed, b, hq, hkv, sq, sk, d, sk, sk, causal, mask, 1e-5, (long) sq * sk * d * hq * b < 5e7);
    }

    @ParameterizedTest(name = "{0} B{2} Hq{3} Hkv{4} Sq{5} Sk{6} D{7} causal={8} mask={9}")
    @CsvSource({
        "BF16, 21, 2, 4, 4, 197, 197, 64, false, false",
        "BF16, 22, 1, 2, 2, 1500, 1500, 64, true, false",
        "BF16, 23, 2, 4, 4, 130, 257, 128, true, true",
        "BF16, 24, 1, 8, 2, 77, 77, 128, false, false",
        "BF16, 25, 2, 3, 3, 7, 33, 80, false, true",
        "BF16, 26, 1, 2, 2, 65, 40, 32, true, false",
        "BF16, 27, 1, 2, 2, 33, 300, 256, true, false",
        "BF16, 28, 1, 4, 2, 1, 4000, 128, false, false",
        "BF16, 29, 3, 8, 8, 3, 1025, 64, true, true",
        "F16, 31, 2, 4, 4, 197, 197, 64, true, false",
        "F16, 32, 1, 4, 2, 100, 300, 128, false, true",
        "F16, 33, 1, 2, 2, 50, 50, 40, false, false",
        "F16, 34, 2, 2, 2, 2, 777, 96, true, false",
    })
    void halfMatchesCpu(DType dtype, long seed, int b, int hq, int hkv, int sq, int sk, int d, boolean causal,
            boolean mask) {
        compare(dtype, seed, b, hq, hkv, sq, sk, d, sk, sk, causal, mask, 1e-2, false);
    }

    @Test
    void decodeOnSlicedCache() {
        compare(DType.F32, 41, 2, 8, 2, 1, 1777, 64, 4096, 1777, false, false, 1e-5, true);
        compare(DType.BF16, 42, 2, 8, 2, 4, 900, 128, 2048, 900, true, true, 1e-2, false);
        compare(DType.BF16, 43, 1, 4, 4, 37, 300, 64, 512, 300, true, false, 1e-2, false); // mma path, cache view
        compare(DType.F16, 44, 1, 4, 4, 37, 300, 128, 512, 300, false, true, 1e-2, false);
    }
}
