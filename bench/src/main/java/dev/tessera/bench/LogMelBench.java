package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Whisper log-mel of 30 s of 16 kHz audio on the CPU ({@link LogMel#compute(Tensor, long[], LogMelConfig)}: native
 * mixed-radix FFT at n_fft 400, fused mel projection, log/clamp; output allocation included), beside torchaudio on
 * the CPU ({@code bench/python/logmel_peer.py}, Debian PyTorch 1.13, same maths, timed in-process) run in the same
 * invocation with the same thread count. {@link #main} runs both and writes {@code bench/results/logmel-cpu.json}:
 *
 * <pre>java -cp bench/target/tessera-bench-*.jar:bench/target/lib/* dev.tessera.bench.LogMelBench [--out FILE] [--python /usr/bin/python3]</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LogMelBench {
    @Param({"80", "128"})
    public int nMels;

    private Tensor audio;
    private LogMelConfig cfg;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom r = new SplittableRandom(1234);
        float[] x = new float[LogMelConfig.WHISPER_SAMPLES];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble(-1, 1) * 0.2);
        audio = Tensor.of(x, Device.CPU, 1, x.length);
        cfg = LogMelConfig.whisper(nMels);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        audio.close();
    }

    @Benchmark
    public float logMel30s() {
        try (Tensor out = LogMel.compute(audio, null, cfg)) {
            return out.numel();
        }
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "LogMelBench [--out FILE] [--python /usr/bin/python3]"
                + " [--peer bench/python/logmel_peer.py]");
        if (cli.help()) {
            return;
        }
        Path out = cli.getPath("--out", Path.of("bench/results/logmel-cpu.json"));
        String python = cli.get("--python", "/usr/bin/python3");
        Path peer = cli.getPath("--peer", Path.of("bench/python/logmel_peer.py"));
        int threads = TesseraNative.tsr_cpu_threads();
        var opts = new OptionsBuilder().include(LogMelBench.class.getName() + ".logMel30s").forks(1)
                .warmupIterations(3).warmupTime(TimeValue.seconds(1)).measurementIterations(5)
                .measurementTime(TimeValue.seconds(1)).build();
        StringBuilder rows = new StringBuilder();
        for (RunResult rr : new Runner(opts).run()) {
            String mels = rr.getParams().getParam("nMels");
            double ours = rr.getPrimaryResult().getScore();
            String peerJson = runPeer(python, peer, mels, threads);
            double peerMs = Double.parseDouble(peerJson.replaceAll(".*\"median_ms\": ([0-9.eE+-]+).*", "$1"));
            double peerBest = Double.parseDouble(peerJson.replaceAll(".*\"best_ms\": ([0-9.eE+-]+).*", "$1"));
            double ratio = peerMs / ours;
            System.out.printf("log-mel 30 s, %s mels: tessera %.3f ms, torchaudio %.3f ms (median) -> %.2fx%n", mels, ours,
                    peerMs, ratio);
            if (rows.length() > 0) rows.append(",\n");
            rows.append(String.format("    {\"n_mels\": %s, \"tessera_ms\": %.4f, \"tessera_error_ms\": %.4f, "
                    + "\"torchaudio_median_ms\": %.4f, \"speedup_vs_torchaudio\": %.3f, \"speedup_vs_torchaudio_best\": %.3f,\n"
                    + "     \"peer\": %s}", mels, ours, rr.getPrimaryResult().getScoreError(), peerMs, ratio, peerBest / ours,
                    peerJson.trim()));
        }
        String json = "{\n  \"date\": \"" + Instant.now() + "\",\n  \"what\": \"Whisper log-mel of 30 s of 16 kHz audio"
                + " (480,000 samples -> [n_mels, 3000]), CPU, same thread count for both\",\n  \"cpu_simd\": \""
                + TesseraNative.tsr_cpu_simd().getString() + "\",\n  \"threads\": " + threads
                + ",\n  \"processors\": " + Runtime.getRuntime().availableProcessors() + ",\n  \"jmh\": \"1 fork, 3 x 1 s warm-up, 5 x 1 s"
                + " measurement, average time\",\n  \"results\": [\n" + rows + "\n  ]\n}\n";
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        Files.writeString(out, json);
        System.out.println("wrote " + out);
    }

    private static String runPeer(String python, Path peer, String mels, int threads) throws Exception {
        return BenchUtil.runPeer(java.util.List.of(python, peer.toString(), "--n-mels", mels, "--threads",
                Integer.toString(threads))).orThrow();
    }
}
