package dev.tessera.runtime;

import static dev.tessera.runtime.AttentionTest.random;
import static dev.tessera.runtime.AttentionTest.reference;
import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.bindings.jni.AttentionNative;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Attention} on CUDA against the CPU op (libtessera's CPU kernel, checked by {@link AttentionTest}) and,
 * for the smaller cases, the float64 reference: F32 (SIMT kernel, split-KV decode) ≤ 1e-5; F16 / BF16
 * (tensor-core kernel for head_dim ≤ 128, SIMT beyond, split-KV for decode) ≤ 1e-2 against the fp32 result,
 * every F16 / BF16 case with each tensor-core kernel ({@link Attention.CudaKernel#V1}, {@link
 * Attention.CudaKernel#V2}, {@link Attention.CudaKernel#WGMMA}). WGMMA first ran here on an H200 on 2026-11-29
 * (bench/results/gpu/run4-h200); on a compute capability 9.0 device AUTO takes it for most cases
 * ({@link #expectedKernel}); on any other device each of its tensor-core cases must be refused cleanly
 * ({@link UnsupportedOperationException} naming the kernel, no launch).
 * Device outputs are poisoned with NaN first (a NaN block of the output's size is allocated and released; the
 * caching allocator hands it back). Skipped, with the reason, where CUDA is unavailable.
 */
class CudaAttentionTest extends CudaTestBase {

    private static void poisonGpu(DType dtype, long n) {
        try (Tensor t = TestSupport.nanTensor(GPU, n); Tensor c = t.to(dtype)) {
            // released: the next allocation of this size class reuses the NaN bytes
        }
    }

    /** Runs one case on CPU (F32) and CUDA (dtype, the default kernel) and compares. */
    static void compare(DType dtype, long seed, int b, int hq, int hkv, int sq, int sk, int d, int cap, int len,
            boolean causal, boolean mask, double tol, boolean withRef) {
        compare(Attention.CudaKernel.AUTO, dtype, seed, b, hq, hkv, sq, sk, d, cap, len, causal, mask, tol, withRef);
    }

    /** Runs one case on CPU (F32) and CUDA (dtype, tensor-core kernel {@code kernel}) and compares. */
    static void compare(Attention.CudaKernel kernel, DType dtype, long seed, int b, int hq, int hkv, int sq, int sk,
            int d, int cap, int len, boolean causal, boolean mask, double tol, boolean withRef) {
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
        Attention.Options gpuOpt0 = cpuOpt;
        if (m != null) {
            cpuOpt = cpuOpt.withKeyPaddingMask(Tensor.ofInts(m, Device.CPU, b, len));
            gpuOpt0 = gpuOpt0.withKeyPaddingMask(Tensor.ofInts(m, GPU, b, len));
        }
        final Attention.Options gpuOpt = gpuOpt0;
        Tensor cpu = Attention.decode(Tensor.of(q, b, hq, sq, d), Tensor.of(kc, b, hkv, cap, d),
                Tensor.of(vc, b, hkv, cap, d), len, cpuOpt);
        Tensor gq = Tensor.of(q, GPU, b, hq, sq, d).to(dtype);
        Tensor gk = Tensor.of(kc, GPU, b, hkv, cap, d).to(dtype);
        Tensor gv = Tensor.of(vc, GPU, b, hkv, cap, d).to(dtype);
        poisonGpu(dtype, (long) b * hq * sq * d);
        String what = String.format("cuda %s kernel %s B%d Hq%d Hkv%d Sq%d Sk%d(cap %d) D%d causal=%s mask=%s",
                dtype, kernel, b, hq, hkv, sq, len, cap, d, causal, mask);
        Tensor gpu = runKernel(kernel, dtype, sq, d, what, () -> Attention.decode(gq, gk, gv, len, gpuOpt));
        if (gpu == null) {
            return; // refused, as it must be here
        }
        assertKernel(expectedKernel(kernel, dtype, b, hq, hkv, sq, d, 1.0f, causal), what);
        assertShape(gpu, b, hq, sq, d);
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
        // enough 16-row blocks for flash_simt_rows on an H100 / H200 (>= 2 per SM): MiniLM-like with padding,
        // GQA causal, cross-attention causal with padding and head_dim % 8 == 4, one long head_dim-128 sequence
        "12, 4, 12, 12, 128, 128, 32, false, true",
        "13, 2, 16, 4, 300, 300, 64, true, false",
        "14, 3, 8, 8, 200, 77, 36, true, true",
        "15, 1, 4, 4, 1100, 1100, 128, false, false",
    })
    void f32MatchesCpuAndReference(long seed, int b, int hq, int hkv, int sq, int sk, int d, boolean causal,
            boolean mask) {
        compare(DType.F32, seed, b, hq, hkv, sq, sk, d, sk, sk, causal, mask, 1e-5, (long) sq * sk * d * hq * b < 5e7);
    }

    /**
     * The kernel tsr_cuda_attention must pick for a request: for F32 prefill (more than 4 query rows, head_dim a
     * multiple of 4 up to 128) with at least two blocks of 16 rows per SM, SIMT_ROWS; SIMT for the other F32,
     * head_dim > 128 and 1-4 query rows; V2 when asked for, for head_dim 64 / 128 with a positive scale on a device
     * giving a block enough shared memory (cc 8.0 and 9.x; 8.6 / 8.9 only head_dim 64), and by AUTO for head_dim 128
     * without a causal mask; WGMMA when asked for on a compute capability 9.0 device for head_dim 64 / 128 with a
     * positive scale, and by AUTO on such a device (with the kernel built) for head_dim 128, head_dim 64 without a
     * causal mask and head_dim 64 causal from 4096 query rows; V1 otherwise. (The tests' buffers are fresh
     * allocations, 16-byte aligned.)
     */
    static int expectedKernel(Attention.CudaKernel kernel, DType dtype, int b, int hq, int hkv, int sq, int d,
            float scale, boolean causal) {
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(GPU.index());
        if (dtype == DType.F32 && sq > 4 && d % 4 == 0 && d <= 128) {
            long blocks16 = ((long) (hq / hkv) * sq + 15) / 16 * b * hkv;
            return blocks16 >= 2L * di.multiprocessors() ? AttentionNative.KERNEL_SIMT_ROWS
                    : AttentionNative.KERNEL_SIMT;
        }
        if (dtype == DType.F32 || d > 128 || sq <= 4) {
            return AttentionNative.KERNEL_SIMT;
        }
        if (kernel == Attention.CudaKernel.WGMMA) {
            return (d == 64 || d == 128) && scale > 0 ? AttentionNative.KERNEL_WGMMA : AttentionNative.KERNEL_V1;
        }
        boolean hopper = di.major() == 9 && di.minor() == 0 && NativeLibrary.cudaArchs().contains("sm_90a");
        if (kernel == Attention.CudaKernel.AUTO && hopper && scale > 0
                && (d == 128 || (d == 64 && (!causal || sq >= 4096)))) {
            return AttentionNative.KERNEL_WGMMA;
        }
        boolean bigSmem = di.major() >= 9 || (di.major() == 8 && di.minor() == 0);
        boolean asked = kernel == Attention.CudaKernel.V2
                || (kernel == Attention.CudaKernel.AUTO && d == 128 && !causal);
        boolean v2 = asked && (d == 64 || (d == 128 && bigSmem)) && scale > 0;
        return v2 ? AttentionNative.KERNEL_V2 : AttentionNative.KERNEL_V1;
    }

    /**
     * Whether tsr_cuda_attention must refuse the request: WGMMA (sm_90a code only) on the F16 / BF16 tensor-core path
     * (more than 4 query rows, head_dim up to 128) of a device other than compute capability 9.0, or of a library
     * built without it ({@code tsr_cuda_archs} without sm_90a).
     */
    static boolean refused(Attention.CudaKernel kernel, DType dtype, int sq, int d) {
        if (kernel != Attention.CudaKernel.WGMMA || dtype == DType.F32 || d > 128 || sq <= 4) {
            return false;
        }
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(GPU.index());
        return !(di.major() == 9 && di.minor() == 0) || !NativeLibrary.cudaArchs().contains("sm_90a");
    }

    /**
     * Runs {@code call} with the CUDA attention kernel set to {@code kernel}; where the request must be refused
     * ({@link #refused}), asserts the clean refusal (an {@link UnsupportedOperationException} naming the WGMMA
     * kernel) and returns null.
     */
    static <R> R runKernel(Attention.CudaKernel kernel, DType dtype, int sq, int d, String what, Supplier<R> call) {
        // bench/gpu/run.sh sets this when GpuWgmmaProbe failed in its own JVM: a faulting kernel would leave the
        // CUDA context unusable for every later test of this process
        Assumptions.assumeFalse(kernel == Attention.CudaKernel.WGMMA && "off".equals(System.getenv("TESSERA_TEST_WGMMA")),
                "WGMMA left out: TESSERA_TEST_WGMMA=off (the WGMMA probe of this run failed, see wgmma-probe.log)");
        if (!refused(kernel, dtype, sq, d)) {
            return withKernel(kernel, call);
        }
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> withKernel(kernel, call), what + ": WGMMA must be refused on this device");
        assertTrue(e.getMessage().contains("WGMMA"), what + ": refusal message " + e.getMessage());
        return null;
    }

    /** Asserts which kernel the last CUDA attention call of this thread queued (a silent fallback must fail). */
    static void assertKernel(int expected, String what) {
        int got = AttentionNative.tsr_cuda_attention_last_kernel();
        assertEquals(expected, got, what + ": kernel that ran (1 = V1 flash_mma,"
                + " 2 = V2 flash_mma_v2, 3 = SIMT flash_simt, 4 = SIMT_ROWS flash_simt_rows, 5 = WGMMA flash_wgmma)");
        String schedule = System.getenv("TESSERA_WGMMA_SCHEDULE");
        if (got == AttentionNative.KERNEL_WGMMA && schedule != null && schedule.startsWith("ws")) {
            // bench/gpu/run.sh runs this class again under TESSERA_WGMMA_SCHEDULE=wsp: a case that fell back to the
            // ping-pong kernel (no tensor maps) would test nothing new
            assertEquals(AttentionNative.SCHEDULE_WS, AttentionNative.tsr_cuda_attention_last_schedule(),
                    what + ": flash_wgmma schedule that ran (1 pingpong, 2 lockstep, 3 ws)");
        }
    }

    /** Runs {@code call} with the CUDA attention kernel set to {@code kernel}, restoring the previous choice. */
    static <R> R withKernel(Attention.CudaKernel kernel, Supplier<R> call) {
        Attention.CudaKernel before = Attention.cudaKernel();
        Attention.setCudaKernel(kernel);
        try {
            return call.get();
        } finally {
            Attention.setCudaKernel(before);
        }
    }

    /**
     * F16 / BF16 cases, each run with every tensor-core kernel (V1 = flash_mma, V2 = flash_mma_v2, WGMMA =
     * flash_wgmma; V2 and WGMMA fall back to V1 for head_dim other than 64 / 128, the SIMT kernel serves 1-4 query
     * rows and head_dim above 128; WGMMA is refused on devices other than compute capability 9.0).
     * Columns: dtype, seed, B, Hq, Hkv, Sq, Sk, D, causal, mask.
     */
    static final String[] HALF_CASES = {
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
        // odd sizes, both specialised head_dims, for the 128-row / double-buffered V2 tiles
        "BF16, 51, 1, 2, 2, 7, 7, 64, true, false",
        "F16, 52, 2, 3, 3, 7, 7, 128, false, true",
        "BF16, 53, 2, 3, 3, 1, 1, 128, false, false",
        "F16, 54, 1, 2, 2, 1500, 1500, 128, true, true",
        "BF16, 55, 1, 2, 2, 1500, 1500, 128, false, false",
        "F16, 56, 1, 2, 2, 1500, 1500, 64, false, true",
        // causal with Sq != Sk: Sq < Sk (cache longer than the query), Sq > Sk (leading rows see no key)
        "BF16, 57, 1, 4, 1, 197, 1500, 64, true, false",
        "BF16, 58, 1, 2, 2, 300, 130, 128, true, false",
        "F16, 59, 1, 2, 2, 1500, 700, 64, true, true",
        "BF16, 60, 2, 2, 2, 129, 200, 128, true, false",
        // cross attention, GQA, padding, ragged blocks and tiles
        "F16, 61, 2, 6, 2, 197, 197, 64, false, true",
        "BF16, 62, 1, 2, 2, 129, 129, 128, false, false",
        "BF16, 63, 1, 2, 2, 256, 1000, 64, false, true",
        "F16, 64, 3, 4, 2, 33, 65, 64, false, false",
        "BF16, 65, 1, 8, 4, 500, 77, 128, false, true",
        // head_dims V2 does not specialise (V1 serves them)
        "BF16, 66, 1, 2, 2, 197, 197, 96, true, true",
        "F16, 67, 1, 2, 2, 197, 197, 48, false, false",
        // more work tiles (query block x head x batch item) than an H100 / H200 has SMs: on flash_wgmma_ws's
        // persistent grid (TESSERA_WGMMA_SCHEDULE=wsp, bench/gpu/run.sh) each block takes several, causal ones in
        // snake rounds
        "BF16, 68, 2, 48, 16, 300, 300, 64, true, true",
        "F16, 69, 3, 32, 32, 200, 333, 128, false, false",
    };

    static Stream<Arguments> halfCases() {
        List<Arguments> out = new ArrayList<>();
        for (Attention.CudaKernel kernel : new Attention.CudaKernel[] {Attention.CudaKernel.V1,
                Attention.CudaKernel.V2, Attention.CudaKernel.WGMMA}) {
            for (String row : HALF_CASES) {
                String[] f = row.split(",");
                Object[] a = new Object[11];
                a[0] = kernel;
                a[1] = DType.valueOf(f[0].trim());
                a[2] = Long.parseLong(f[1].trim());
                for (int i = 2; i <= 7; i++) {
                    a[i + 1] = Integer.parseInt(f[i].trim());
                }
                a[9] = Boolean.parseBoolean(f[8].trim());
                a[10] = Boolean.parseBoolean(f[9].trim());
                out.add(Arguments.of(a));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} B{3} Hq{4} Hkv{5} Sq{6} Sk{7} D{8} causal={9} mask={10}")
    @MethodSource("halfCases")
    void halfMatchesCpu(Attention.CudaKernel kernel, DType dtype, long seed, int b, int hq, int hkv, int sq, int sk,
            int d, boolean causal, boolean mask) {
        compare(kernel, dtype, seed, b, hq, hkv, sq, sk, d, sk, sk, causal, mask, 1e-2, false);
    }

    @ParameterizedTest(name = "kernel {0}")
    @EnumSource(value = Attention.CudaKernel.class, names = {"V1", "V2", "WGMMA"})
    void decodeOnSlicedCache(Attention.CudaKernel kernel) {
        compare(kernel, DType.F32, 41, 2, 8, 2, 1, 1777, 64, 4096, 1777, false, false, 1e-5, true);
        compare(kernel, DType.BF16, 42, 2, 8, 2, 4, 900, 128, 2048, 900, true, true, 1e-2, false);
        // tensor-core path on a cache view (rows kv_capacity apart per head)
        compare(kernel, DType.BF16, 43, 1, 4, 4, 37, 300, 64, 512, 300, true, false, 1e-2, false);
        compare(kernel, DType.F16, 44, 1, 4, 4, 37, 300, 128, 512, 300, false, true, 1e-2, false);
        compare(kernel, DType.BF16, 45, 2, 8, 2, 200, 1000, 128, 1536, 1000, true, true, 1e-2, false);
    }

    /** Random q [b, h, sq, d], k and v [b, h, sk, d] (key row j scaled by kRowScale(j)): host arrays and GPU copies. */
    private record Qkv(float[] q, float[] k, float[] v, Tensor gq, Tensor gk, Tensor gv) {
        static Qkv of(long seed, int b, int h, int sq, int sk, int d, DType dtype,
                java.util.function.IntToDoubleFunction kRowScale) {
            Random rnd = new Random(seed);
            float[] q = random(rnd, b * h * sq * d, 1.0);
            float[] k = random(rnd, b * h * sk * d, 1.0);
            float[] v = random(rnd, b * h * sk * d, 1.0);
            for (int i = 0; i < k.length; i++) {
                k[i] *= (float) kRowScale.applyAsDouble((i / d) % sk);
            }
            return new Qkv(q, k, v, Tensor.of(q, GPU, b, h, sq, d).to(dtype), Tensor.of(k, GPU, b, h, sk, d).to(dtype),
                    Tensor.of(v, GPU, b, h, sk, d).to(dtype));
        }
    }

    /** A scale other than 1/sqrt(D), positive (V2 runs it) or negative (V2 hands it to V1), matches the CPU. */
    @ParameterizedTest(name = "{0} {1} D{2} scale {3}")
    @CsvSource({"V1, BF16, 64, 0.05", "V2, BF16, 64, 0.05", "V1, F16, 128, -0.1", "V2, F16, 128, -0.1",
        "V2, BF16, 128, 0.2", "WGMMA, BF16, 64, 0.05", "WGMMA, F16, 128, -0.1", "WGMMA, BF16, 128, 0.2"})
    void customScaleMatchesCpu(Attention.CudaKernel kernel, DType dtype, int d, float scale) {
        int b = 2, h = 2, sq = 150, sk = 170;
        Qkv x = Qkv.of(81 + d, b, h, sq, sk, d, dtype, j -> 1);
        Attention.Options opt = Attention.Options.causalMask().withScale(scale);
        float[] cpu = Attention.scaledDotProduct(Tensor.of(x.q(), b, h, sq, d), Tensor.of(x.k(), b, h, sk, d),
                Tensor.of(x.v(), b, h, sk, d), opt).toFloatArray();
        poisonGpu(dtype, (long) b * h * sq * d);
        Tensor out = runKernel(kernel, dtype, sq, d, kernel + " scale " + scale,
                () -> Attention.scaledDotProduct(x.gq(), x.gk(), x.gv(), opt));
        if (out == null) {
            return; // refused, as it must be here
        }
        float[] gpu = out.toFloatArray();
        assertKernel(expectedKernel(kernel, dtype, b, h, h, sq, d, scale, true), kernel + " scale " + scale);
        assertRel(gpu, cpu, 1e-2, "cuda " + dtype + " kernel " + kernel + " D" + d + " scale " + scale + " vs CPU");
    }

    /**
     * Keys whose magnitude grows along the sequence (row j scaled by 1 + j/50): the running max of a row keeps
     * rising by large steps on later key tiles (V2's lazily moved reference max for head_dim 64, its rescaling of O).
     */
    @ParameterizedTest(name = "{0} {1} D{2} causal={3}")
    @CsvSource({"V1, BF16, 64, false", "V2, BF16, 64, false", "V2, F16, 64, true", "V1, F16, 128, true",
        "V2, F16, 128, true", "V2, BF16, 128, false", "WGMMA, BF16, 64, false", "WGMMA, F16, 64, true",
        "WGMMA, F16, 128, true", "WGMMA, BF16, 128, false"})
    void sharpeningScoresMatchCpu(Attention.CudaKernel kernel, DType dtype, int d, boolean causal) {
        int b = 1, h = 2, sq = 260, sk = 700;
        Qkv x = Qkv.of(91 + d, b, h, sq, sk, d, dtype, j -> 1 + j / 50.0f);
        Attention.Options opt = Attention.Options.defaults().withCausal(causal);
        // the CPU reference takes the same 16-bit-rounded inputs (large scores magnify the input rounding)
        float[] cpu = Attention.scaledDotProduct(Tensor.of(x.gq().toFloatArray(), b, h, sq, d),
                Tensor.of(x.gk().toFloatArray(), b, h, sk, d), Tensor.of(x.gv().toFloatArray(), b, h, sk, d), opt)
                .toFloatArray();
        poisonGpu(dtype, (long) b * h * sq * d);
        Tensor out = runKernel(kernel, dtype, sq, d, kernel + " sharpening keys",
                () -> Attention.scaledDotProduct(x.gq(), x.gk(), x.gv(), opt));
        if (out == null) {
            return; // refused, as it must be here
        }
        float[] gpu = out.toFloatArray();
        assertKernel(expectedKernel(kernel, dtype, b, h, h, sq, d, 1.0f, causal), kernel + " sharpening keys");
        assertRel(gpu, cpu, 1e-2, "cuda " + dtype + " kernel " + kernel + " D" + d + " sharpening keys vs CPU");
    }

    /** A NaN in one query row reaches that row's output only, with each tensor-core kernel. */
    @ParameterizedTest(name = "{0} {1} D{2}")
    @CsvSource({"V1, BF16, 64", "V2, BF16, 64", "V1, F16, 128", "V2, F16, 128", "WGMMA, BF16, 64", "WGMMA, F16, 128"})
    void nanReachesOnlyItsRow(Attention.CudaKernel kernel, DType dtype, int d) {
        Random rnd = new Random(71 + d);
        int sq = 200, sk = 300;
        float[] q = random(rnd, sq * d, 1.0);
        float[] k = random(rnd, sk * d, 1.0);
        float[] v = random(rnd, sk * d, 1.0);
        int nanRow = 131;
        q[nanRow * d + 3] = Float.NaN;
        Tensor gq = Tensor.of(q, GPU, 1, 1, sq, d).to(dtype);
        Tensor gk = Tensor.of(k, GPU, 1, 1, sk, d).to(dtype);
        Tensor gv = Tensor.of(v, GPU, 1, 1, sk, d).to(dtype);
        poisonGpu(dtype, (long) sq * d);
        Tensor res = runKernel(kernel, dtype, sq, d, kernel + " NaN row", () -> Attention.scaledDotProduct(gq, gk, gv));
        if (res == null) {
            return; // refused, as it must be here
        }
        float[] out = res.toFloatArray();
        assertKernel(expectedKernel(kernel, dtype, 1, 1, 1, sq, d, 1.0f, false), kernel + " NaN row");
        for (int i = 0; i < sq; i++) {
            for (int c = 0; c < d; c++) {
                float x = out[i * d + c];
                if (i == nanRow) {
                    assertTrue(Float.isNaN(x),
                            kernel + ": NaN in q row " + nanRow + " must reach its output, col " + c + " = " + x);
                } else {
                    assertTrue(Float.isFinite(x),
                            kernel + ": row " + i + " col " + c + " must stay finite, got " + x);
                }
            }
        }
    }
}
