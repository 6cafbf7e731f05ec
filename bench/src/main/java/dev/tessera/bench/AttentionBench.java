package dev.tessera.bench;

import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Fused attention on the CPU (B=1, H=12, D=64, seq 197 = ViT-B/16 and 1500 = Whisper's encoder, fp32), against the
 * OpenBLAS-composed baseline built from our own ops in the same JMH run:
 * {@code Ops.matmul(q, k.t())} → {@code Ops.scale(·, 1/√D)} → {@code Ops.softmax} → {@code Ops.matmul(p, v)}
 * (two batched GEMMs and two passes over the [H, S, S] score matrix). Both allocate and close their results.
 * {@link #main} runs JMH and writes {@code bench/results/attention-cpu.json} with both sides and the ratios
 * (composed time / fused time: above 1 means the fused kernel is faster).
 *
 * <pre>
 * java -cp "bench/target/tessera-bench-*.jar:bench/target/lib/*" dev.tessera.bench.AttentionBench
 *      [--warmup 3] [--iterations 5] [--time 1s] [--out bench/results/attention-cpu.json]
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class AttentionBench {
    static final int B = 1;
    static final int H = 12;
    static final int D = 64;

    @Param({"197", "1500"})
    public int seq;

    private Tensor q;
    private Tensor k;
    private Tensor v;

    @Setup(Level.Trial)
    public void setup() {
        q = Tensor.of(random(B * H * seq * D, 1), Device.CPU, B, H, seq, D);
        k = Tensor.of(random(B * H * seq * D, 2), Device.CPU, B, H, seq, D);
        v = Tensor.of(random(B * H * seq * D, 3), Device.CPU, B, H, seq, D);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        q.close();
        k.close();
        v.close();
    }

    static float[] random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    @Benchmark
    public long fused() {
        try (Tensor o = Attention.scaledDotProduct(q, k, v)) {
            return o.numel();
        }
    }

    @Benchmark
    public long composed() {
        try (Tensor kt = k.t();
                Tensor s = Ops.matmul(q, kt);
                Tensor ss = Ops.scale(s, (float) (1 / Math.sqrt(D)));
                Tensor p = Ops.softmax(ss);
                Tensor o = Ops.matmul(p, v)) {
            return o.numel();
        }
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "AttentionBench [--warmup 3] [--iterations 5] [--time 1s] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int warmup = cli.getInt("--warmup", 3);
        int iterations = cli.getInt("--iterations", 5);
        TimeValue time = cli.get("--time", TimeValue.seconds(1), TimeValue::fromString);
        Path outFile = cli.getPath("--out", Path.of("bench/results/attention-cpu.json"));
        String loadBefore = BenchUtil.loadAverage();
        Collection<RunResult> results = BenchUtil.runJmh(AttentionBench.class, warmup, iterations, time);
        Map<String, Double> ms = new LinkedHashMap<>(); // "fused@197" -> mean ms
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1) + "@" + r.getParams().getParam("seq");
            ms.put(name, r.getPrimaryResult().getScore());
        }
        Map<String, Object> doc = HostInfo.header("fused attention vs OpenBLAS-composed attention, CPU fp32, B=1 H=12 D=64");
        doc.put("loadAverageBefore", loadBefore); // /proc/loadavg: other work on the host skews both sides
        doc.put("loadAverageAfter", BenchUtil.loadAverage());
        doc.put("method", "JMH average time, 1 fork, " + warmup + " warm-up + " + iterations + " measured iterations of "
                + time + ", both variants in the same run; composed = Ops.matmul(q, k.t()) -> Ops.scale -> Ops.softmax"
                + " -> Ops.matmul(p, v) (OpenBLAS sgemm); ratio = composed ms / fused ms (> 1: fused faster)");
        List<Object> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-6s %12s %14s %8s %12s%n", "seq",
                "fused ms", "composed ms", "ratio", "fused GF/s"));
        for (int s : new int[] {197, 1500}) {
            Double f = ms.get("fused@" + s);
            Double c = ms.get("composed@" + s);
            if (f == null || c == null) {
                continue;
            }
            double flop = 4.0 * B * H * (double) s * s * D;
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("seq", s);
            row.put("fusedMs", f);
            row.put("composedMs", c);
            row.put("ratio", c / f);
            row.put("fusedGflops", flop / (f * 1e-3) / 1e9);
            row.put("composedGflops", flop / (c * 1e-3) / 1e9);
            rows.add(row);
            table.append(String.format(Locale.ROOT, "%-6d %12.3f %14.3f %8.2f %12.1f%n", s, f, c, c / f,
                    flop / (f * 1e-3) / 1e9));
        }
        doc.put("results", rows);
        System.out.println(table);
        BenchUtil.writeJson(outFile, doc);
        System.out.println("wrote " + outFile);
    }

}
