package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.bindings.Versions;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.PatchEmbedding;
import dev.tessera.runtime.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The ViT-B/16 patch-embedding stem on the CPU (N=8, 3×224×224 → 196×768, weight [768, 3, 16, 16]), Tessera
 * against PyTorch's CPU {@code conv2d} (Debian python3-torch, {@code bench/python/patch_embed_peer.py}) in the
 * same run, with the same thread count.
 *
 * <ul>
 *   <li>{@code conv}: {@link PatchEmbedding#embed2d(Tensor, Tensor, Tensor)} (patch gather + one OpenBLAS GEMM +
 *       bias) → [8, 196, 768]; peer: {@code F.conv2d(x, w, b, stride=16).flatten(2).transpose(1, 2).contiguous()}.</li>
 *   <li>{@code stem}: the same plus class token and position embeddings → [8, 197, 768]; peer: conv2d, flatten,
 *       transpose, {@code cat([cls, ·]) + pos}.</li>
 *   <li>{@code gemmOnly}: the GEMM of {@code conv} alone into a preallocated output (what the gather and finish
 *       cost on top of BLAS).</li>
 * </ul>
 * Each call allocates and closes its result, as the peer does. {@link #main} runs the peer, JMH, the peer again
 * (the faster peer run counts: the build machines are shared), and writes {@code bench/results/patch-embed-cpu.json}
 * with both sides and the ratios (peer time / Tessera time: above 1 means Tessera is faster).
 *
 * <pre>
 * java -cp "bench/target/tessera-bench-*.jar:bench/target/lib/*" dev.tessera.bench.PatchEmbeddingBench
 *      [--warmup 3] [--iterations 5] [--time 2s] [--python /usr/bin/python3] [--out bench/results/patch-embed-cpu.json]
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PatchEmbeddingBench {
    static final int N = 8;
    static final int C = 3;
    static final int HW = 224;
    static final int P = 16;
    static final int D = 768;
    static final int L = (HW / P) * (HW / P);

    private Tensor x;
    private Tensor w;
    private Tensor b;
    private Tensor cls;
    private Tensor pos;
    private Tensor cols;
    private Tensor w2;
    private Tensor out;
    private Backend cpu;

    @Setup(Level.Trial)
    public void setup() {
        x = Tensor.of(random(N * C * HW * HW, 1), Device.CPU, N, C, HW, HW);
        w = Tensor.of(random(D * C * P * P, 2), Device.CPU, D, C, P, P);
        b = Tensor.of(random(D, 3), Device.CPU, D);
        cls = Tensor.of(random(D, 4), Device.CPU, 1, 1, D);
        pos = Tensor.of(random((L + 1) * D, 5), Device.CPU, 1, L + 1, D);
        cols = PatchEmbedding.patchify(x, P, P);
        w2 = w.reshape(D, C * P * P);
        out = Tensor.empty(DType.F32, Device.CPU, N, L, D);
        cpu = Backends.get(Device.CPU);
    }

    static float[] random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : new Tensor[] {x, w, b, cls, pos, cols, w2, out}) {
            t.close();
        }
    }

    @Benchmark
    public long conv() {
        try (Tensor o = PatchEmbedding.embed2d(x, w, b)) {
            return o.numel();
        }
    }

    @Benchmark
    public long stem() {
        try (Tensor o = PatchEmbedding.embed2d(x, w, b, cls, pos)) {
            return o.numel();
        }
    }

    @Benchmark
    public void gemmOnly() {
        int k = C * P * P;
        cpu.gemm(false, true, N * L, D, k, 1f, cols, k, 0, w2, k, 0, 0f, out, D, 0, 1, Backend.MatmulPrecision.FP32);
    }

    // ------------------------------------------------------------------ driver

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "PatchEmbeddingBench [--warmup 3] [--iterations 5] [--time 2s]"
                + " [--python /usr/bin/python3] [--peer bench/python/patch_embed_peer.py] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int warmup = cli.getInt("--warmup", 3);
        int iterations = cli.getInt("--iterations", 5);
        TimeValue time = cli.get("--time", TimeValue.seconds(2), TimeValue::fromString);
        String python = cli.get("--python", "/usr/bin/python3");
        Path peer = cli.getPath("--peer", Path.of("bench/python/patch_embed_peer.py"));
        Path outFile = cli.getPath("--out", Path.of("bench/results/patch-embed-cpu.json"));
        int threads = TesseraNative.tsr_cpu_threads();
        String loadBefore = BenchUtil.loadAverage();
        // the peer runs before and after JMH; the faster of its two runs counts (other work on a shared
        // machine slows either side at random, so each side gets its best conditions)
        String peerBefore = runPeer(python, peer, threads);
        Collection<RunResult> results = BenchUtil.runJmh(PatchEmbeddingBench.class, warmup, iterations, time);
        Map<String, double[]> ours = new LinkedHashMap<>(); // name -> {mean ms, median ms, best ms}
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            List<Double> its = new ArrayList<>();
            for (BenchmarkResult br : r.getBenchmarkResults()) {
                for (IterationResult ir : br.getIterationResults()) {
                    its.add(ir.getPrimaryResult().getScore());
                }
            }
            Collections.sort(its);
            ours.put(name, new double[] {r.getPrimaryResult().getScore(), its.get(its.size() / 2), its.get(0)});
        }

        String peerAfter = runPeer(python, peer, threads);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "ViT-B/16 patch embedding, CPU fp32");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", Versions.tessera());
        doc.put("java", HostInfo.java());
        doc.put("cpu", HostInfo.cpu());
        doc.put("threads", threads);
        doc.put("loadAverageBefore", loadBefore);
        doc.put("loadAverageAfter", BenchUtil.loadAverage());
        doc.put("simd", TesseraNative.tsr_cpu_simd().getString());
        doc.put("shape", Map.of("n", N, "c", C, "h", HW, "w", HW, "patch", P, "d", D, "l", L));
        double flop = 2.0 * N * L * D * C * P * P;
        doc.put("flopPerCall", flop);
        doc.put("method", "JMH average time, 1 fork, " + warmup + " warm-up + " + iterations + " measured iterations of "
                + time + "; each call allocates and closes its result. Peer: " + peer + " with torch threads = "
                + threads + ", timed in-process (perf_counter), run before and after JMH, the run with the lower"
                + " median counts. ratio = peer median ms / Tessera median ms, ratioBest = the same from the fastest"
                + " repetitions (> 1: Tessera faster)");
        List<Object> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-9s %12s %12s %12s %10s %10s%n", "case",
                "tessera ms", "best ms", "torch ms", "ratio", "ratioBest"));
        for (String name : new String[] {"conv", "stem", "gemmOnly"}) {
            double[] t = ours.get(name);
            if (t == null) {
                continue;
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("case", name);
            row.put("tesseraMs", t[0]);
            row.put("tesseraMedianMs", t[1]);
            row.put("tesseraBestMs", t[2]);
            row.put("tesseraGflops", flop / (t[0] * 1e-3) / 1e9);
            double[] p = faster(peerCase(peerBefore, name), peerCase(peerAfter, name));
            if (p != null) {
                row.put("torchBestMs", p[0]);
                row.put("torchMedianMs", p[1]);
                row.put("ratio", p[1] / t[1]);
                row.put("ratioBest", p[0] / t[2]);
            }
            rows.add(row);
            table.append(String.format(Locale.ROOT, "%-9s %12.3f %12.3f %12s %10s %10s%n", name, t[0], t[2],
                    p == null ? "-" : String.format(Locale.ROOT, "%.3f", p[1]),
                    p == null ? "-" : String.format(Locale.ROOT, "%.3f", p[1] / t[1]),
                    p == null ? "-" : String.format(Locale.ROOT, "%.3f", p[0] / t[2])));
        }
        doc.put("results", rows);
        doc.put("peerRawBefore", peerBefore == null ? "unavailable" : peerBefore.trim());
        doc.put("peerRawAfter", peerAfter == null ? "unavailable" : peerAfter.trim());
        BenchUtil.writeJson(outFile, doc);
        System.out.print(table);
        System.out.println("(ratio = torch median / Tessera median ms; ratioBest from the fastest iterations)");
        System.out.println("wrote " + outFile);
    }


    private static String runPeer(String python, Path script, int threads) {
        try {
            BenchUtil.PeerRun r = BenchUtil.runPeer(List.of(python, script.toString(), "--threads", Integer.toString(threads)));
            if (r.exit() != 0) {
                System.err.println("peer exited with " + r.exit() + ": " + r.out());
                return null;
            }
            return r.out();
        } catch (IOException e) {
            System.err.println("peer could not run: " + e);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The run with the lower median of two peer results ({best ms, median ms}, either may be null). */
    private static double[] faster(double[] a, double[] b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return a[1] <= b[1] ? a : b;
    }

    /** {best ms, median ms} of one case of the peer's JSON, or null. */
    private static double[] peerCase(String json, String name) {
        if (json == null) {
            return null;
        }
        Matcher m = Pattern.compile("\"case\": \"" + Pattern.quote(name)
                + "\", \"msBest\": ([0-9.eE+-]+), \"msMedian\": ([0-9.eE+-]+)").matcher(json);
        return m.find() ? new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))} : null;
    }
}
