package dev.tessera.bench;

import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.Versions;
import dev.tessera.bindings.blas.OpenBlas;
import java.io.IOException;
import java.nio.file.Files;
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
import java.util.TreeMap;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the CPU JMH benchmarks ({@link MatmulBench}, {@link RoundTripBench}) and writes
 * {@code bench/results/cpu-matmul.json}: machine, OpenBLAS version, GFLOP/s of Tessera's matmul and of
 * OpenBLAS called directly with their ratio per size, and the Java→native round-trip times. Prints a
 * short table last, with the goals (ratio ≥ 0.95 at 1024, ≥ 0.90 at 256; a tiny op under 2 µs).
 *
 * <pre>
 * java -cp "bench/target/tessera-bench-*.jar:bench/target/lib/*" dev.tessera.bench.BenchMain [options]
 *   --forks N          JMH forks (1)
 *   --warmup N         warm-up iterations (2)      --warmup-time T   each, e.g. 1s, 500ms (1s)
 *   --iterations N     measured iterations (3)     --time T          each (1s)
 *   --sizes 256,1024   matmul sizes                --only matmul|roundtrip
 *   --out FILE         (bench/results/cpu-matmul.json)
 *   --jmh-json FILE    JMH's own JSON (bench/target/jmh-cpu.json)
 * </pre>
 */
public final class BenchMain {
    /** Goals from the issue: Ops.matmul / OpenBLAS GFLOP/s by size, and the tiny op's time. */
    static final Map<Integer, Double> RATIO_GOALS = Map.of(256, 0.90, 1024, 0.95);
    static final double TINY_OP_GOAL_NS = 2000;

    private BenchMain() {}

    public static void main(String[] args) throws RunnerException, IOException {
        BenchArgs cli = BenchArgs.parse(args, "BenchMain [--forks N] [--warmup N] [--warmup-time 1s] [--iterations N]"
                + " [--time 1s] [--sizes 256,1024] [--only all|matmul|roundtrip] [--out FILE] [--jmh-json FILE]");
        if (cli.help()) {
            return;
        }
        int forks = cli.getInt("--forks", 1);
        int warmup = cli.getInt("--warmup", 2);
        int iterations = cli.getInt("--iterations", 3);
        TimeValue warmupTime = cli.get("--warmup-time", TimeValue.seconds(1), TimeValue::fromString);
        TimeValue time = cli.get("--time", TimeValue.seconds(1), TimeValue::fromString);
        String sizes = cli.get("--sizes", "256,1024");
        String only = cli.get("--only", "all");
        Path out = cli.getPath("--out", Path.of("bench/results/cpu-matmul.json"));
        Path jmhJson = cli.getPath("--jmh-json", Path.of("bench/target/jmh-cpu.json"));
        if (!only.equals("all") && !only.equals("matmul") && !only.equals("roundtrip")) {
            throw new IllegalArgumentException("--only must be all, matmul or roundtrip, got " + only);
        }

        ChainedOptionsBuilder ob = new OptionsBuilder()
                .forks(forks)
                .warmupIterations(warmup)
                .warmupTime(warmupTime)
                .measurementIterations(iterations)
                .measurementTime(time)
                .threads(1)
                .jvmArgsAppend("-Xmx2g")
                .param("size", sizes.split(","))
                .shouldFailOnError(true);
        if (!only.equals("roundtrip")) {
            ob.include("^" + MatmulBench.class.getName().replace(".", "\\.") + "\\.");
        }
        if (!only.equals("matmul")) {
            ob.include("^" + RoundTripBench.class.getName().replace(".", "\\.") + "\\.");
        }
        if (jmhJson != null) {
            Path parent = jmhJson.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            ob.result(jmhJson.toString()).resultFormat(ResultFormatType.JSON);
        }
        Collection<RunResult> results = new Runner(ob.build()).run();

        Map<String, Object> doc = describe(forks, warmup, warmupTime, iterations, time);
        // benchmark name -> size ("" for none) -> [ns per op, error ns]
        Map<String, Map<String, double[]>> ns = new TreeMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            String cls = r.getParams().getBenchmark();
            cls = cls.substring(0, cls.lastIndexOf('.'));
            cls = cls.substring(cls.lastIndexOf('.') + 1);
            String size = r.getParams().getParam("size");
            Result<?> p = r.getPrimaryResult();
            double f = nanosPer(p.getScoreUnit());
            List<Double> its = new ArrayList<>();
            for (BenchmarkResult br : r.getBenchmarkResults()) {
                for (IterationResult ir : br.getIterationResults()) {
                    its.add(ir.getPrimaryResult().getScore() * f);
                }
            }
            Collections.sort(its);
            double median = its.isEmpty() ? Double.NaN : its.size() % 2 == 1 ? its.get(its.size() / 2)
                    : (its.get(its.size() / 2 - 1) + its.get(its.size() / 2)) / 2;
            double best = its.isEmpty() ? Double.NaN : its.get(0);
            ns.computeIfAbsent(cls + "." + name, k -> new TreeMap<>())
                    .put(size == null ? "" : size, new double[] {p.getScore() * f, p.getScoreError() * f, median, best});
        }

        List<Object> matmul = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "%n%-6s %14s %14s %14s %8s %8s %8s %8s  %s%n", "n", "Ops.matmul", "backend.gemm",
                "cblas_sgemm", "ratio", "median", "best", "goal", "(GFLOP/s from the mean; ratio = Ops.matmul /"
                + " cblas_sgemm; median, best: the same from the median / fastest iterations)"));
        for (String s : sizes.split(",")) {
            if (only.equals("roundtrip")) {
                break;
            }
            int n = Integer.parseInt(s.trim());
            double flop = 2.0 * n * n * n;
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("size", n);
            row.put("flopPerCall", flop);
            double[] gf = new double[3];
            double[] gfMed = new double[3];
            double[] gfBest = new double[3];
            String[] names = {"tensorMatmul", "backendGemm", "rawOpenBlasSgemm"};
            for (int j = 0; j < names.length; j++) {
                double[] t = ns.getOrDefault("MatmulBench." + names[j], Map.of()).get(s.trim());
                Map<String, Object> m = new LinkedHashMap<>();
                if (t != null) {
                    gf[j] = flop / t[0];
                    gfMed[j] = flop / t[2];
                    gfBest[j] = flop / t[3];
                    m.put("timeUs", t[0] / 1e3);
                    m.put("errorUs", t[1] / 1e3);
                    m.put("medianUs", t[2] / 1e3);
                    m.put("bestUs", t[3] / 1e3);
                    m.put("gflops", gf[j]);
                    m.put("gflopsMedian", gfMed[j]);
                    m.put("gflopsBest", flop / t[3]);
                }
                row.put(names[j], m);
            }
            double ratio = gf[2] > 0 ? gf[0] / gf[2] : Double.NaN;
            double ratioGemm = gf[2] > 0 ? gf[1] / gf[2] : Double.NaN;
            double ratioMedian = gfMed[2] > 0 ? gfMed[0] / gfMed[2] : Double.NaN;
            double ratioBest = gfBest[2] > 0 ? gfBest[0] / gfBest[2] : Double.NaN;
            Double goal = RATIO_GOALS.get(n);
            row.put("ratio", ratio);
            row.put("ratioMedian", ratioMedian);
            row.put("ratioBest", ratioBest);
            row.put("ratioBackendGemm", ratioGemm);
            row.put("goal", goal);
            row.put("meetsGoal", goal == null ? null : ratio >= goal);
            row.put("note", "tensorMatmul includes allocating and closing the n*n output (Ops has no out= matmul);"
                    + " backendGemm writes into a preallocated tensor");
            matmul.add(row);
            table.append(String.format(Locale.ROOT, "%-6d %14.1f %14.1f %14.1f %8.3f %8.3f %8.3f %8s  %s%n", n, gf[0], gf[1],
                    gf[2], ratio, ratioMedian, ratioBest, goal == null ? "-" : String.format(Locale.ROOT, ">=%.2f", goal),
                    goal == null ? "" : ratio >= goal ? "ok" : "BELOW GOAL"));
        }
        doc.put("matmul", matmul);

        Map<String, Object> rt = new LinkedHashMap<>();
        if (!only.equals("matmul")) {
            table.append(String.format(Locale.ROOT, "%nround trip (ns/op):%n"));
            for (String name : new String[] {"noop", "tinyAdd", "tinyAddAlloc"}) {
                double[] t = ns.getOrDefault("RoundTripBench." + name, Map.of()).get("");
                Map<String, Object> m = new LinkedHashMap<>();
                if (t != null) {
                    m.put("ns", t[0]);
                    m.put("errorNs", t[1]);
                    table.append(String.format(Locale.ROOT, "  %-13s %10.1f ± %.1f%s%n", name, t[0], t[1],
                            name.equals("noop") ? "" : t[0] < TINY_OP_GOAL_NS ? "   (goal < 2000: ok)"
                                    : "   (goal < 2000: ABOVE GOAL)"));
                }
                rt.put(name, m);
            }
            rt.put("elements", RoundTripBench.N);
            rt.put("goalNs", TINY_OP_GOAL_NS);
            Object tiny = ((Map<?, ?>) rt.get("tinyAdd")).get("ns");
            rt.put("meetsGoal", tiny == null ? null : (Double) tiny < TINY_OP_GOAL_NS);
        }
        doc.put("roundTrip", rt);

        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(out, Json.write(doc));
        System.out.print(table);
        System.out.println();
        System.out.println("wrote " + out + (jmhJson != null ? " (JMH's own JSON: " + jmhJson + ")" : ""));
    }

    private static Map<String, Object> describe(int forks, int warmup, TimeValue warmupTime, int iterations,
            TimeValue time) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("cpu", HostInfo.cpu());
        doc.put("java", HostInfo.java());
        doc.put("tessera", Versions.tessera());
        Map<String, Object> nat = new LinkedHashMap<>();
        try {
            nat.put("version", NativeLibrary.version());
            nat.put("cpuSimd", NativeLibrary.cpuSimd());
            nat.put("cpuThreads", NativeLibrary.cpuThreads());
        } catch (Throwable t) {
            nat.put("error", String.valueOf(t));
        }
        doc.put("libtessera", nat);
        Map<String, Object> blas = new LinkedHashMap<>();
        try {
            blas.put("preset", Versions.all().get("openblas"));
            blas.put("version", org.bytedeco.openblas.global.openblas.OPENBLAS_VERSION.trim());
            blas.put("threads", OpenBlas.threads());
            blas.put("OPENBLAS_NUM_THREADS", System.getenv("OPENBLAS_NUM_THREADS"));
        } catch (Throwable t) {
            blas.put("error", String.valueOf(t));
        }
        doc.put("openblas", blas);
        Map<String, Object> jmh = new LinkedHashMap<>();
        jmh.put("forks", forks);
        jmh.put("warmup", warmup + " x " + warmupTime);
        jmh.put("measurement", iterations + " x " + time);
        jmh.put("mode", "average time, 1 thread");
        doc.put("jmh", jmh);
        return doc;
    }

    /** Nanoseconds per unit of a JMH average-time score unit such as "us/op". */
    static double nanosPer(String unit) {
        String u = unit.endsWith("/op") ? unit.substring(0, unit.length() - 3) : unit;
        return switch (u) {
            case "ns" -> 1;
            case "us" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "min" -> 60e9;
            default -> throw new IllegalStateException("unexpected JMH score unit " + unit);
        };
    }
}
