package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.LogMelConfig.MelNorm;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.backend.CudaBackend;
import dev.tessera.runtime.LogMelConfig.MelScale;
import dev.tessera.runtime.LogMelConfig.Window;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Log-mel on CUDA (framing kernel, cuFFT R2C, power and mel projection fused in one kernel or as a power kernel and
 * a cuBLAS GEMM, log/clamp kernels) against the CPU path, which {@link LogMelTest} checks against float64 references and torchaudio golden files.
 * Skipped, with the reason, where CUDA is unavailable ({@link RequiresCuda}, and the assumption below).
 */
class CudaLogMelTest extends CudaTestBase {

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 97, 400, 512, 1000, 4099})
    void rfftMatchesCpu(int n) {
        int rows = 33;
        float[] x = LogMelTest.noise(n * 3L, rows * n, 1.0);
        try (Tensor c = Tensor.of(x, Device.CPU, rows, n); Tensor g = Tensor.of(x, GPU, rows, n);
                Tensor rc = LogMel.rfft(c); Tensor rg = LogMel.rfft(g)) {
            assertRel(rg.toFloatArray(), rc.toFloatArray(), 1e-5, "rfft n=" + n);
        }
    }

    /**
     * More (n, rows) shapes than cuFFT's plan cache holds (8 by default: {@code Cufft.MAX_PLANS_PROPERTY}), then the
     * first ones again: the least recently used plans are destroyed and made again, and every transform still equals
     * the CPU's.
     */
    @Test
    void rfftOfMoreShapesThanThePlanCacheHoldsMatchesCpu() {
        int[][] shapes = new int[14][];
        for (int i = 0; i < shapes.length; i++) {
            shapes[i] = new int[] {i % 2 == 0 ? 400 : 97 + i, 5 + 37 * i};
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int[] sh : shapes) {
                int n = sh[0];
                int rows = sh[1];
                float[] x = LogMelTest.noise(n * 7L + rows, rows * n, 1.0);
                try (Tensor c = Tensor.of(x, Device.CPU, rows, n); Tensor g = Tensor.of(x, GPU, rows, n);
                        Tensor rc = LogMel.rfft(c); Tensor rg = LogMel.rfft(g)) {
                    assertRel(rg.toFloatArray(), rc.toFloatArray(), 1e-5,
                            "rfft n=" + n + " rows=" + rows + " pass " + pass);
                }
            }
        }
    }

    /**
     * A long loop of unpadded clips, every one of another length (a cuFFT plan for each: more than the cache keeps):
     * the device memory outside the caching allocator (cuFFT's plans and work areas, among others) and the
     * allocator's own bytes in use stay where they were after the first round. With a plan kept per length for
     * ever, the first would fall by a work area per clip.
     */
    @Test
    void deviceMemoryStaysFlatOverClipsOfManyLengths() {
        Backend b = Backends.get(GPU);
        LogMelConfig cfg = LogMelConfig.whisper().unpadded();
        int[] round = {0};
        Runnable clips = () -> {
            for (int i = 0; i < 24; i++) {
                int n = 50_000 + 1_600 * (24 * round[0] + i); // 10 frames more each time: a new cuFFT batch
                float[] audio = LogMelTest.signal(60 + i, n);
                try (Tensor g = LogMel.compute(audio, cfg, GPU)) {
                    assertEquals(n / 160, g.dim(1), "frames of a clip of " + n + " samples");
                }
            }
            round[0]++;
        };
        clips.run();
        b.synchronize(GPU);
        long outside0 = outsideAllocator(b);
        Backend.MemoryStats warm = b.memoryStats(GPU);
        for (int r = 0; r < 3; r++) {
            clips.run();
        }
        b.synchronize(GPU);
        long outside1 = outsideAllocator(b);
        Backend.MemoryStats after = b.memoryStats(GPU);
        assertEquals(warm.allocatedBytes(), after.allocatedBytes(), "device bytes allocated after 72 more clips");
        // cuFFT plans come and go (at most 8 kept): what they hold outside the allocator does not pile up
        assertTrue(outside1 - outside0 < 64L << 20, () -> "device memory outside the allocator grew by "
                + (outside1 - outside0) / (1 << 20) + " MiB over 72 clips of new lengths");
    }

    /** Device bytes in use that the caching allocator did not reserve (cuFFT and cuBLAS work areas, the context). */
    private static long outsideAllocator(Backend b) {
        CudaRuntime.DeviceInfo d = CudaRuntime.deviceInfo(GPU.index());
        return d.totalMemory() - d.freeMemory() - b.memoryStats(GPU).reservedBytes();
    }

    @ParameterizedTest
    @ValueSource(ints = {80, 128})
    void whisperBatchMatchesCpu(int nMels) {
        List<float[]> clips = List.of(LogMelTest.signal(11, 160_000), LogMelTest.signal(12, 37_123),
                LogMelTest.signal(13, 480_000));
        LogMelConfig cfg = LogMelConfig.whisper(nMels);
        List<Tensor> cpu = LogMel.compute(clips, cfg, Device.CPU);
        List<Tensor> gpu = LogMel.compute(clips, cfg, GPU);
        try {
            for (int i = 0; i < clips.size(); i++) {
                TestSupport.assertShape(gpu.get(i), nMels, 3000);
                float[] g = gpu.get(i).toFloatArray();
                TestSupport.assertAllFinite(g, "cuda log-mel");
                assertRel(g, cpu.get(i).toFloatArray(), 1e-5, "clip " + i + ", " + nMels + " mels");
                assertMaxAbs(g, cpu.get(i).toFloatArray(), 1e-4, "clip " + i);
            }
        } finally {
            cpu.forEach(Tensor::close);
            gpu.forEach(Tensor::close);
        }
    }

    @Test
    void unpaddedAndGeneralConfigMatchCpu() {
        float[] audio = LogMelTest.signal(21, 12_345);
        LogMelConfig[] cfgs = {
            LogMelConfig.whisper().unpadded(),
            LogMelConfig.whisper().unpadded().withStft(257, 100, 200, Window.HAMMING, false)
                    .withMel(16000, 24, 50, 7000, MelScale.HTK, MelNorm.NONE).withFinish(1, true, 1e-6f, false, false),
        };
        for (LogMelConfig cfg : cfgs) {
            try (Tensor c = LogMel.compute(audio, cfg, Device.CPU); Tensor g = LogMel.compute(audio, cfg, GPU)) {
                TestSupport.assertShape(g, c.shape());
                assertRel(g.toFloatArray(), c.toFloatArray(), 1e-5, cfg.toString());
            }
        }
    }

    /**
     * The fused power + mel kernel and the power kernel + cuBLAS GEMM it replaced give the CPU's features, on the
     * Whisper shapes, a magnitude spectrogram of 129 bins with an HTK filterbank, and a spectrum past the fused
     * kernel's largest (n_fft 1024: 513 bins, where the GEMM path runs either way).
     */
    @Test
    void fusedMelAndGemmMelMatchCpu() {
        float[] audio = LogMelTest.signal(41, 48_123);
        LogMelConfig[] cfgs = {
            LogMelConfig.whisper(80).unpadded(),
            LogMelConfig.whisper(128).unpadded(),
            LogMelConfig.whisper().unpadded().withStft(257, 100, 200, Window.HAMMING, false)
                    .withMel(16000, 24, 50, 7000, MelScale.HTK, MelNorm.NONE).withFinish(1, true, 1e-6f, false, false),
            LogMelConfig.whisper().unpadded().withStft(1024, 256, 1024, Window.HANN, true)
                    .withMel(16000, 96, 0, 8000, MelScale.SLANEY, MelNorm.SLANEY),
        };
        for (LogMelConfig cfg : cfgs) {
            try (Tensor c = LogMel.compute(audio, cfg, Device.CPU)) {
                float[] ref = c.toFloatArray();
                onBothMelPaths(path -> {
                    try (Tensor g = LogMel.compute(audio, cfg, GPU)) {
                        TestSupport.assertShape(g, c.shape());
                        assertRel(g.toFloatArray(), ref, 1e-5, path + cfg);
                        assertMaxAbs(g.toFloatArray(), ref, 1e-4, path + cfg);
                    }
                });
            }
        }
    }

    /** Runs {@code check} with the fused mel kernel, then with the power kernel + cuBLAS GEMM (its name given). */
    private static void onBothMelPaths(java.util.function.Consumer<String> check) {
        for (boolean fused : new boolean[] {true, false}) {
            CudaBackend.setFusedMel(fused);
            try {
                check.accept(fused ? "fused mel, " : "GEMM mel, ");
            } finally {
                CudaBackend.setFusedMel(true);
            }
        }
    }

    /**
     * A budget that holds one or two clips' temporaries makes the batch run in passes (clip lengths and outputs sliced
     * per pass); the features equal one pass's, on both mel paths, for padded clips with lengths and unpadded ones.
     */
    @Test
    void passesOfFewClipsGiveTheSameFeatures() {
        int n = 40_000;
        float[] data = LogMelTest.signal(51, 5 * n);
        long[] lengths = {n, 20_001, 7_777, n, 12_345};
        LogMelConfig[] cfgs = {LogMelConfig.whisper(), LogMelConfig.whisper(128).unpadded()};
        for (LogMelConfig cfg : cfgs) {
            onBothMelPaths(path -> {
                try (Tensor xg = Tensor.of(data, GPU, 5, n)) {
                    long[] lens = cfg.padded() ? lengths : null;
                    float[] whole;
                    try (Tensor g = LogMel.compute(xg, lens, cfg)) {
                        whole = g.toFloatArray();
                    }
                    long frames = cfg.frames(cfg.padded() ? cfg.padToSamples() : n);
                    long perClip = frames * (cfg.nFft() + 3L * cfg.bins()) * 4;
                    for (long budget : new long[] {perClip, 2 * perClip + 1}) {
                        CudaBackend.setLogMelPassBytes(budget);
                        try (Tensor g = LogMel.compute(xg, lens, cfg)) {
                            assertRel(g.toFloatArray(), whole, 1e-6,
                                    path + "passes of " + budget / perClip + " clips, " + cfg);
                        } finally {
                            CudaBackend.setLogMelPassBytes(1L << 30);
                        }
                    }
                }
            });
        }
    }

    @Test
    void tensorApiWithLengthsMatchesCpu() {
        int n = 50_000;
        float[] data = LogMelTest.signal(31, 2 * n);
        long[] lengths = {n, 20_001};
        LogMelConfig cfg = LogMelConfig.whisper();
        try (Tensor xc = Tensor.of(data, Device.CPU, 2, n); Tensor xg = Tensor.of(data, GPU, 2, n);
                Tensor c = LogMel.compute(xc, lengths, cfg); Tensor g = LogMel.compute(xg, lengths, cfg)) {
            assertRel(g.toFloatArray(), c.toFloatArray(), 1e-5, "tensor api");
        }
    }

    static void assertMaxAbs(float[] got, float[] ref, double tol, String what) {
        double worst = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Float.isNaN(got[i]) ? Double.POSITIVE_INFINITY : Math.abs(got[i] - ref[i]);
            worst = Math.max(worst, d);
        }
        final double w = worst;
        assertTrue(w <= tol, () -> what + ": max abs error " + w + " > " + tol);
    }
}
