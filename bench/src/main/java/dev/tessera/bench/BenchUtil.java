package dev.tessera.bench;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** Small pieces the CPU/GPU benchmark mains share: timing, medians, random weights, peer scripts and JSON. */
final class BenchUtil {
    private BenchUtil() {}

    /** Mean seconds per call of {@code reps} calls of {@code r}. */
    /**
     * Pause before a timed block when two runtimes alternate in one process: ONNX Runtime's intra-op workers spin
     * for a while after each run, so a block started right after its run shares the cores with them (MiniLM at
     * batch 8 on 2 threads: Tessera 123.3 ms timed right after ONNX Runtime, 119.5 ms after a 20 ms pause, 118.3 ms
     * after 200 ms, medians of 12 rounds in one process). Used before every timed block of every side alike.
     */
    static final long SETTLE_MS = 250;

    /** {@link #time} after a pause of {@link #SETTLE_MS}, so no worker thread of the previous block still spins. */
    static double timeSettled(Runnable r, int reps) {
        try {
            Thread.sleep(SETTLE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while settling", e);
        }
        return time(r, reps);
    }

    /**
     * Runs {@code step} at least {@code minCalls} times and for at least {@code millis} ms: before anything is timed
     * the JIT's background compiles (which take one of two cores for milliseconds), first touches of memory and the
     * cores' climb out of idle clocks are over (a first benchmark row measured at half speed without the time bound).
     */
    static void warmUp(Runnable step, int minCalls, long millis) {
        long end = System.nanoTime() + millis * 1_000_000L;
        for (int i = 0; i < minCalls || System.nanoTime() < end; i++) {
            step.run();
        }
    }

    static double time(Runnable r, int reps) {
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            r.run();
        }
        return (System.nanoTime() - t0) / 1e9 / reps;
    }

    /** The median (upper median for even lengths) of {@code v}, which is not modified. */
    /**
     * Runs the JMH benchmarks of {@code bench} (one fork, one thread, 2 GB heap, failing on an error) with
     * {@code warmup} and {@code iterations} rounds of {@code time} each.
     */
    static Collection<RunResult> runJmh(Class<?> bench, int warmup, int iterations, TimeValue time)
            throws RunnerException {
        return new Runner(new OptionsBuilder()
                .include("^" + bench.getName().replace(".", "\\.") + "\\.")
                .forks(1)
                .warmupIterations(warmup)
                .warmupTime(time)
                .measurementIterations(iterations)
                .measurementTime(time)
                .threads(1)
                .jvmArgsAppend("-Xmx2g")
                .shouldFailOnError(true)
                .build()).run();
    }

    /** Writes {@code doc} as JSON to {@code out}, creating its folder. */
    static void writeJson(Path out, Map<String, Object> doc) throws java.io.IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(out, Json.write(doc));
    }

    /**
     * The end of a CPU benchmark: {@code doc} gets the load average before ({@code loadBefore}) and now and the
     * result rows, the table is printed, the JSON written to {@code out}.
     */
    static void finish(Path out, Map<String, Object> doc, String loadBefore, Object rows, CharSequence table)
            throws java.io.IOException {
        doc.put("loadBefore", loadBefore);
        doc.put("load", loadAverage());
        doc.put("results", rows);
        System.out.println(table);
        writeJson(out, doc);
        System.out.println("wrote " + out);
    }

    /** /proc/loadavg, or "n/a" where there is none. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "n/a";
        }
    }

    /** ‖a − b‖ / ‖b‖ in float64. */
    static double relativeError(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /** Puts a CPU F32 tensor named {@code name} with values uniform in {@code offset ± scale} into {@code m}. */
    static void putUniform(Map<String, Tensor> m, SplittableRandom r, String name, double scale, double offset,
            long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (offset + scale * (2 * r.nextDouble() - 1));
        }
        m.put(name, Tensor.of(v, Device.CPU, shape));
    }

    /** A peer process's command, exit status and standard output. */
    record PeerRun(List<String> cmd, int exit, String out) {
        /** The output, or an {@link IllegalStateException} naming the command when the peer failed. */
        String orThrow() {
            if (exit != 0) {
                throw new IllegalStateException("peer " + String.join(" ", cmd) + " failed (exit " + exit + ")");
            }
            return out;
        }
    }

    /** Runs a peer (a Python script, another JVM): its standard output is collected, its standard error passes through. */
    static PeerRun runPeer(List<String> cmd) throws java.io.IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new PeerRun(List.copyOf(cmd), p.waitFor(), out);
    }

    /** {@code bench/python/<file>} found from the working directory or any parent (benches run from anywhere). */
    static Path peerScript(String file) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("bench/python/" + file);
            if (Files.exists(p)) {
                return p;
            }
        }
        return Path.of("bench/python/" + file);
    }

    /** {@code best_ms} of case {@code kase} in a peer's JSON (a tiny scan: the format is ours). */
    static double bestMs(String json, String kase) {
        int i = json.indexOf("\"" + kase + "\"");
        int j = json.indexOf("\"best_ms\"", i);
        int k = json.indexOf(':', j) + 1;
        int e = k;
        while (e < json.length() && "0123456789.eE+- ".indexOf(json.charAt(e)) >= 0) {
            e++;
        }
        return Double.parseDouble(json.substring(k, e).trim());
    }

    /**
     * Fails with how to fix it when ONNX Runtime Java (a {@code provided} dependency of this module: its 54 MB jar
     * stays out of bench/target/lib) is not on the class path; {@code who} names the caller's instructions.
     */
    static void requireOnnxRuntime(String who) {
        try {
            Class.forName("ai.onnxruntime.OrtEnvironment");
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("ONNX Runtime is not on the class path: add"
                    + " ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar (" + who
                    + ")");
        }
    }

    /** The one {@code .onnx} file of a resolved model folder. */
    static Path onlyOnnx(Path dir) throws java.io.IOException {
        java.util.List<Path> found;
        try (var s = Files.list(dir)) {
            found = s.filter(p -> p.getFileName().toString().endsWith(".onnx")).sorted().toList();
        }
        if (found.size() != 1) {
            throw new IllegalStateException(dir + ": expected one .onnx file, found " + found);
        }
        return found.get(0);
    }
}
