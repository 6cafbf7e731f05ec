package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PackedWeight;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The CPU linear layer on the shapes of MiniLM-L6 (128 tokens, batch 1 and 32), ViT-B/16 (197 tokens, batch 1
 * and 8), Llama 0.85B decode / prefill and Whisper's decode-step logits (vocab 51865): {@code Ops.linear} on a {@link PackedWeight} (Tessera's GEMM, native
 * pool) against {@code Ops.matmul(x, wᵀ)} (OpenBLAS single-threaded, split over the cores: the CPU backend's
 * path for unpacked weights), both without epilogue, interleaved in the same process, plus the fused
 * bias + GELU form. Reports GFLOP/s (median and best of the rounds) and the ratio OpenBLAS time / Tessera time,
 * with the load average before and after. Writes {@code bench/results/linear-cpu.json}.
 *
 * <pre>TESSERA_NUM_THREADS=2 java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     dev.tessera.bench.LinearBench [--rounds 9] [--out FILE]</pre>
 */
public final class LinearBench {
    private LinearBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "LinearBench [--rounds 9] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int rounds = cli.getInt("--rounds", 9);
        Path out = cli.getPath("--out", Path.of("bench/results/linear-cpu.json"));
        Object[][] shapes = {
            {"minilm b1 qkv", 128, 384, 1152}, {"minilm b1 o", 128, 384, 384}, {"minilm b1 up", 128, 384, 1536},
            {"minilm b1 down", 128, 1536, 384}, {"minilm b32 qkv", 4096, 384, 1152}, {"minilm b32 down", 4096, 1536, 384},
            {"vit b1 qkv", 197, 768, 2304}, {"vit b1 o", 197, 768, 768}, {"vit b1 fc1", 197, 768, 3072},
            {"vit b1 fc2", 197, 3072, 768}, {"vit b8 fc1", 1576, 768, 3072}, {"vit b8 fc2", 1576, 3072, 768},
            {"llama decode q", 1, 2048, 2048}, {"llama decode up", 1, 2048, 5632}, {"llama decode down", 1, 5632, 2048},
            {"llama prefill up", 128, 2048, 5632},
            // Whisper's logits through the tied token embedding, one decode step (packed since s3-gemm2)
            {"whisper tiny logits", 1, 384, 51865}, {"whisper base logits", 1, 512, 51865},
        };
        String loadBefore = BenchUtil.loadAverage();
        SplittableRandom r = new SplittableRandom(3);
        List<Object> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-18s %16s %12s %12s %8s %12s%n", "shape",
                "m x k x n", "tessera GF/s", "openblas GF/s", "ratio", "+bias+gelu"));
        for (Object[] s : shapes) {
            int m = (Integer) s[1];
            int k = (Integer) s[2];
            int n = (Integer) s[3];
            double flops = 2.0 * m * k * n;
            try (Scope scope = Tessera.scope()) {
                Tensor x = rand(r, m, k);
                Tensor w = rand(r, n, k);
                Tensor b = rand(r, n);
                PackedWeight pw = PackedWeight.pack(w);
                // decode-sized products: OpenBLAS on the weight stored transposed ([in, out], as the CPU backend
                // kept Llama's weights before packing: ~1.5x faster than the transposed view for m = 1)
                Tensor wt = m <= 8 ? Ops.transpose(w) : w.t();
                int reps = (int) Math.max(2, Math.min(200, 4e8 / flops));
                Runnable tess = () -> {
                    try (Scope sc = Tessera.scope()) {
                        Ops.linear(x, pw, null, null, null);
                    }
                };
                Runnable fused = () -> {
                    try (Scope sc = Tessera.scope()) {
                        Ops.linear(x, pw, b, FusedActivation.GELU, null);
                    }
                };
                Runnable blas = () -> {
                    try (Scope sc = Tessera.scope()) {
                        Ops.matmul(x, wt);
                    }
                };
                BenchUtil.warmUp(() -> {
                    tess.run();
                    blas.run();
                    fused.run();
                }, 2, 300);
                double[] tt = new double[rounds];
                double[] tb = new double[rounds];
                double[] tf = new double[rounds];
                for (int i = 0; i < rounds; i++) {
                    tt[i] = BenchUtil.time(tess, reps);
                    tb[i] = BenchUtil.time(blas, reps);
                    tf[i] = BenchUtil.time(fused, reps);
                }
                double mt = BenchUtil.median(tt);
                double mb = BenchUtil.median(tb);
                double mf = BenchUtil.median(tf);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("shape", s[0]);
                row.put("m", m);
                row.put("k", k);
                row.put("n", n);
                row.put("tesseraGflops", flops / mt / 1e9);
                row.put("tesseraBestGflops", flops / min(tt) / 1e9);
                row.put("openblasGflops", flops / mb / 1e9);
                row.put("openblasBestGflops", flops / min(tb) / 1e9);
                row.put("ratio", mb / mt);
                row.put("tesseraBiasGeluGflops", flops / mf / 1e9);
                rows.add(row);
                table.append(String.format(Locale.ROOT, "%-18s %16s %12.1f %12.1f %8.2f %12.1f%n", s[0],
                        m + "x" + k + "x" + n, flops / mt / 1e9, flops / mb / 1e9, mb / mt, flops / mf / 1e9));
            }
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "CPU linear layer: Ops.linear on a PackedWeight (Tessera GEMM) vs Ops.matmul(x, w.t())"
                + " (OpenBLAS 1 thread split over TESSERA_NUM_THREADS; for m <= 8 on the weight stored transposed [in, out]), fp32,"
                + " no epilogue; plus the fused bias+GELU form");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("java", HostInfo.java());
        doc.put("cpu", HostInfo.cpu());
        doc.put("tesseraThreads", TesseraNative.tsr_cpu_threads());
        doc.put("method", "same process, interleaved rounds of max(2, min(200, 4e8 / flops)) calls each; median of "
                + rounds + " rounds (best round also given); ratio = OpenBLAS time / Tessera time (> 1: Tessera faster)");
        doc.put("loadBefore", loadBefore);
        doc.put("loadAfter", BenchUtil.loadAverage());
        doc.put("results", rows);
        System.out.println(table);
        System.out.println("load before " + loadBefore + ", after " + BenchUtil.loadAverage());
        BenchUtil.writeJson(out, doc);
        System.out.println("wrote " + out);
    }

    private static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double x : v) {
            m = Math.min(m, x);
        }
        return m;
    }

    private static Tensor rand(SplittableRandom r, long... shape) {
        int n = 1;
        for (long x : shape) {
            n *= (int) x;
        }
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() - 0.5);
        }
        return Tensor.of(a, Device.CPU, shape);
    }

}
