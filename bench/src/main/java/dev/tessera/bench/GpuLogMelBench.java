package dev.tessera.bench;

import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.backend.CudaBackend;
import dev.tessera.runtime.backend.CudaProfiler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Whisper log-mel of a batch of clips of 30 s on a CUDA device ({@link LogMel#compute(Tensor, long[], LogMelConfig)}
 * on a device [batch, 480000] tensor: framing kernel, batched R2C cuFFT, power and mel projection in one kernel,
 * log/clamp kernels; and again with {@link CudaBackend#setFusedMel} off: a power kernel and a cuBLAS mel GEMM),
 * timed as {@code bench/gpu/logmel_torch.py} times torch.stft + mel matmul + log/clamp ({@link GpuBench#time}: CUDA
 * events around {@code --reps} repetitions of {@code --calls} back-to-back calls after warm-up calls); best and
 * median ms per call. Before timing, clip 0 is checked against the CPU path (max abs error
 * ≤ 1e-4 on the final features). After the timings, a profiled pass of each path gives the GPU time per stage (CUDA
 * events around each queued op: framing, cuFFT, mel projection, finish), printed and in the JSON.
 *
 * <pre>GpuLogMelBench [--batch 64] [--n-mels 80,128] [--device cuda:0] [--reps 5] [--calls 5] [--out gpu-logmel-tessera.json]</pre>
 * Exit status: 0 ran and passed the check, 1 a check failed or a case threw, 3 CUDA unavailable.
 */
public final class GpuLogMelBench {
    private GpuLogMelBench() {}

    /** Whether clip 0 of the device batch is within 1e-4 (max abs) of the CPU path's features {@code ref}. */
    private static boolean check(Tensor audio, LogMelConfig cfg, float[] ref, String what) {
        try (Tensor o = LogMel.compute(audio, null, cfg)) {
            float[] g = o.toFloatArray();
            double worst = 0;
            for (int i = 0; i < ref.length; i++) {
                worst = Math.max(worst, Float.isNaN(g[i]) ? Double.POSITIVE_INFINITY : Math.abs(g[i] - ref[i]));
            }
            boolean pass = worst <= 1e-4;
            System.out.printf("check %s: max abs error vs CPU %.3g %s%n", what, worst, pass ? "ok" : "FAIL");
            return pass;
        }
    }

    /**
     * GPU ms per call of each stage (framing, cuFFT, mel projection, finish: a profiled pass of {@code calls} calls
     * after the timings, {@link GpuBench#profile}), printed as a table; as JSON object members.
     */
    private static String stages(CudaBackend cuda, Device device, Runnable call, int calls, String what) {
        CudaProfiler prof = GpuBench.profile(cuda, device, call, calls);
        System.out.printf("GPU time per stage, %s (%d calls):%n%s", what, calls, prof.table(calls, 0));
        StringBuilder sb = new StringBuilder("{");
        for (CudaProfiler.Row r : prof.snapshot()) {
            if (sb.length() > 1) sb.append(", ");
            sb.append(String.format(Locale.ROOT, "\"%s\": %.4f", r.kind().replace("\"", "'"), r.totalMs() / calls));
        }
        return sb.append("}").toString();
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuLogMelBench [--batch 64] [--n-mels 80,128] [--device cuda:0]"
                + " [--reps 5] [--calls 5] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int batch = cli.getInt("--batch", 64);
        String mels = cli.get("--n-mels", "80,128");
        String dev = cli.get("--device", "cuda:0");
        int reps = cli.getInt("--reps", 5);
        int calls = cli.getInt("--calls", 5);
        Path out = cli.getPath("--out", Path.of("gpu-logmel-tessera.json"));
        Device device = Device.parse(dev);
        Backend be = Backends.forType(Device.Type.CUDA);
        if (!be.availability().available() || !(be instanceof CudaBackend cuda)) {
            System.err.println("GpuLogMelBench: CUDA unavailable: " + be.availability().reason());
            System.exit(3);
            return;
        }
        int n = LogMelConfig.WHISPER_SAMPLES;
        SplittableRandom r = new SplittableRandom(1234);
        float[] x = new float[Math.multiplyExact(batch, n)];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble(-1, 1) * 0.2);
        boolean ok = true;
        StringBuilder rows = new StringBuilder();
        try (Tensor audio = Tensor.of(x, device, batch, n)) {
            for (String m : mels.split(",")) {
                int nMels = Integer.parseInt(m.trim());
                LogMelConfig cfg = LogMelConfig.whisper(nMels);
                float[] ref;
                try (Tensor one = LogMel.compute(Arrays.copyOf(x, n), cfg, Device.CPU)) {
                    ref = one.toFloatArray();
                }
                // the default path (power and mel projection fused) and the power kernel + cuBLAS GEMM beside it
                ok &= check(audio, cfg, ref, nMels + " mels");
                Runnable call = () -> LogMel.compute(audio, null, cfg).close();
                // {iters, best, median, wall} ms per call: CUDA events, as the peer times itself
                double[] fused = GpuBench.time(cuda, device, call, 0, reps, calls);
                String fusedStages = stages(cuda, device, call, calls, nMels + " mels, power + mel fused");
                CudaBackend.setFusedMel(false);
                double[] gemm;
                String gemmStages;
                try {
                    ok &= check(audio, cfg, ref, nMels + " mels, GEMM mel path");
                    gemm = GpuBench.time(cuda, device, call, 0, reps, calls);
                    gemmStages = stages(cuda, device, call, calls, nMels + " mels, power kernel + cuBLAS GEMM");
                } finally {
                    CudaBackend.setFusedMel(true);
                }
                System.out.printf("log-mel %d x 30 s, %d mels: best %.3f ms, median %.3f ms per batch (power + mel fused);"
                        + " GEMM mel path best %.3f ms, median %.3f ms%n", batch, nMels, fused[1], fused[2], gemm[1],
                        gemm[2]);
                if (rows.length() > 0) rows.append(",\n");
                rows.append(String.format("    {\"n_mels\": %d, \"batch\": %d, \"best_ms\": %.4f, \"median_ms\": %.4f,"
                        + " \"gemm_mel_best_ms\": %.4f, \"gemm_mel_median_ms\": %.4f,\n     \"stages_ms\": %s,\n"
                        + "     \"gemm_mel_stages_ms\": %s}", nMels, batch, fused[1], fused[2], gemm[1], gemm[2],
                        fusedStages, gemmStages));
            }
        } catch (RuntimeException e) {
            e.printStackTrace();
            ok = false;
        }
        String card = "";
        try {
            card = CudaRuntime.deviceInfo(device.index()).name();
        } catch (RuntimeException e) {
            card = "unknown";
        }
        String json = "{\n  \"date\": \"" + Instant.now() + "\",\n  \"impl\": \"tessera\",\n  \"device\": \"" + card
                + "\",\n  \"what\": \"Whisper log-mel, batch of 30 s clips (framing + cuFFT R2C + power and mel projection fused + log/clamp;"
                + " gemm_mel_*: power kernel + cuBLAS mel GEMM instead)\",\n"
                + "  \"results\": [\n" + rows + "\n  ]\n}\n";
        Files.writeString(out, json);
        System.out.println("wrote " + out);
        System.exit(ok ? 0 : 1);
    }
}
