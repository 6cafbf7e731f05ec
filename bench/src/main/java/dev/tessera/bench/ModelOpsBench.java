package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.UnaryOp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The ops the model pipelines added (RoPE on a transposed projection view, KV-cache append with
 * {@code copyInto}, concat, the unary table, logSoftmax, argmax, last-dim sum, broadcast mul) on the CPU, fp32,
 * against PyTorch on the CPU ({@code bench/python/model_ops_peer.py}, Debian python3-torch, timed in its own
 * process in the same run, same shapes and layouts). Writes {@code bench/results/model-ops-cpu.json} with both
 * sides and the ratios (PyTorch ms / Tessera ms: above 1 means Tessera is faster).
 *
 * <pre>
 * java -cp "bench/target/tessera-bench-*.jar:bench/target/lib/*" dev.tessera.bench.ModelOpsBench
 *      [--threads 2] [--reps 5] [--iters 10] [--python /usr/bin/python3] [--out bench/results/model-ops-cpu.json]
 * </pre>
 */
public final class ModelOpsBench {
    private ModelOpsBench() {}

    static Tensor rnd(long seed, long... shape) {
        int n = Math.toIntExact(Arrays.stream(shape).reduce(1, (x, y) -> x * y));
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(a, Device.CPU, shape);
    }

    private static double[] time(Supplier<Object> op, int warmup, int reps, int iters) {
        // at least `warmup` calls and 300 ms: three calls had left the Java side of a microsecond op interpreted
        // (kv_append measured 8 us a call, 1.3 us once compiled)
        BenchUtil.warmUp(() -> close(op.get()), warmup, 300);
        double[] t = new double[reps];
        for (int k = 0; k < reps; k++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                close(op.get());
            }
            t[k] = (System.nanoTime() - t0) / 1e6 / iters;
        }
        Arrays.sort(t);
        return new double[] {t[0], t[reps / 2]};
    }

    private static void close(Object o) {
        if (o instanceof Tensor t) {
            t.close();
        }
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "ModelOpsBench [--threads 2] [--reps 5] [--iters 10] [--python PATH]"
                + " [--out FILE]");
        if (cli.help()) {
            return;
        }
        int threads = cli.getInt("--threads", 2);
        int reps = cli.getInt("--reps", 5);
        int iters = cli.getInt("--iters", 10);
        String python = cli.get("--python", "/usr/bin/python3");
        Path out = cli.getPath("--out", Path.of("bench/results/model-ops-cpu.json"));
        TesseraNative.tsr_cpu_set_threads(threads);
        Tensor xp = rnd(1, 1, 512, 32, 128);
        Tensor x = xp.transpose(1, 2);
        Tensor cos = rnd(2, 512, 64);
        Tensor sin = rnd(3, 512, 64);
        Tensor cache = rnd(4, 1, 8, 4096, 128);
        Tensor k = rnd(5, 1, 16, 8, 128);
        Tensor kv = k.transpose(1, 2);
        Tensor slot = cache.slice(2, 1000, 1016);
        Tensor ca = rnd(6, 1, 576, 4096);
        Tensor cb = rnd(7, 1, 64, 4096);
        Tensor u = rnd(8, 4 * 1024 * 1024);
        Tensor logits = rnd(9, 8, 32000);
        Tensor big = rnd(10, 8, 128256);
        Tensor s = rnd(11, 4096, 1024);
        Tensor bm = rnd(12, 8, 512, 1024);
        Tensor bf = rnd(13, 8, 512, 1);
        Map<String, Supplier<Object>> cases = new LinkedHashMap<>();
        cases.put("rope", () -> Ops.rope(x, cos, sin));
        cases.put("kv_append", () -> {
            Ops.copyInto(kv, slot);
            return null;
        });
        cases.put("concat", () -> Ops.concat(1, ca, cb));
        cases.put("sigmoid", () -> Ops.sigmoid(u));
        cases.put("exp", () -> Ops.exp(u));
        cases.put("quick_gelu", () -> Ops.unary(UnaryOp.QUICK_GELU, u));
        cases.put("log_softmax", () -> Ops.logSoftmax(logits));
        cases.put("argmax", () -> Ops.argmaxLastDim(big));
        cases.put("sum_last", () -> Ops.sumLastDim(s));
        cases.put("bcast_mul", () -> Ops.binary(BinaryOp.MUL, bm, bf));
        Map<String, double[]> ours = new LinkedHashMap<>();
        for (var e : cases.entrySet()) {
            ours.put(e.getKey(), time(e.getValue(), 3, reps, iters));
        }

        List<String> cmd = new ArrayList<>(List.of(python, BenchUtil.peerScript("model_ops_peer.py").toString(), "--threads", "" + threads,
                "--reps", "" + reps, "--iters", "" + iters));
        BenchUtil.PeerRun peerRun = BenchUtil.runPeer(cmd);
        String peerOut = peerRun.out();
        int rc = peerRun.exit();

        Map<String, Object> res = new LinkedHashMap<>();
        res.put("benchmark", "model-pipeline ops on the CPU, fp32 (shapes: see bench/python/model_ops_peer.py)");
        res.put("date", ZonedDateTime.now().toString());
        res.put("host", HostInfo.cpu());
        res.put("java", HostInfo.java());
        res.put("simd", TesseraNative.tsr_cpu_simd().getString());
        res.put("threads", threads);
        try {
            res.put("load_average", Files.readString(Path.of("/proc/loadavg")).trim()); // shared build hosts
        } catch (java.io.IOException | RuntimeException e) {
            res.put("load_average", "unknown");
        }
        Map<String, Object> table = new LinkedHashMap<>();
        StringBuilder summary = new StringBuilder();
        for (var e : ours.entrySet()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("tessera_best_ms", e.getValue()[0]);
            row.put("tessera_median_ms", e.getValue()[1]);
            if (rc == 0) {
                double peer = BenchUtil.bestMs(peerOut, e.getKey());
                row.put("pytorch_best_ms", peer);
                row.put("ratio", peer / e.getValue()[0]);
                summary.append(String.format("%-12s tessera %8.3f ms  pytorch %8.3f ms  -> %5.2fx%n", e.getKey(),
                        e.getValue()[0], peer, peer / e.getValue()[0]));
            } else {
                summary.append(String.format("%-12s tessera %8.3f ms%n", e.getKey(), e.getValue()[0]));
            }
            table.put(e.getKey(), row);
        }
        res.put("cases", table);
        if (rc == 0) {
            res.put("pytorch_raw", peerOut.trim());
        } else {
            res.put("pytorch_error", "peer exited with status " + rc);
        }
        res.put("method", "best of " + reps + " repetitions of " + iters + " calls after warm-up (Tessera: at least 3"
                + " calls and 300 ms, for the JIT; PyTorch: 3 calls), per side;"
                + " results allocated and freed per call on both sides; ratio = pytorch best ms / tessera best ms"
                + " (> 1: tessera faster). On a loaded host (see load_average) both sides are noisy; rerun for"
                + " figures to quote.");
        System.out.print(summary);
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, Json.write(res) + "\n");
        System.out.println("wrote " + out);
    }
}
