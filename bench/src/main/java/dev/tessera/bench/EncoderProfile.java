package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PackedWeight;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Op-by-op time of one transformer encoder forward (the ops BertModel / ViT run per layer, with their shapes) on
 * the CPU: each op timed alone, in a loop, on random data, and multiplied by its count per forward. Prints the
 * breakdown for the fused path (packed weights, bias / GELU / residual fused into the GEMM) and for the unfused
 * one (matmul, then bias add, GELU and residual add as separate passes), so the share of each op type is visible,
 * and the projections of all layers run with each layer's own weights (read from memory as in a real forward).
 *
 * <pre>TESSERA_NUM_THREADS=2 java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     dev.tessera.bench.EncoderProfile [minilm|vit] [--batch 1]</pre>
 */
public final class EncoderProfile {
    private EncoderProfile() {}

    private record Row(String op, double ms, int perForward) {}

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "minilm";
        if (which.equals("vitmodel")) {
            vitModel(java.nio.file.Path.of(args[1]));
            return;
        }
        int batch = 1;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--batch")) {
                batch = Integer.parseInt(args[++i]);
            }
        }
        boolean vit = which.equals("vit");
        long h = vit ? 768 : 384;
        long inter = 4 * h;
        long heads = 12;
        long s = vit ? 197 : 128;
        int layers = vit ? 12 : 6;
        long d = h / heads;
        long m = batch * s;
        SplittableRandom r = new SplittableRandom(7);
        System.out.printf(Locale.ROOT, "%s encoder, batch %d, %d rows, %d layers, hidden %d, threads %d, load %s%n",
                which, batch, m, layers, h, TesseraNative.tsr_cpu_threads(), load());
        try (Scope scope = Tessera.scope()) {
            Tensor x = rand(r, m, h);
            Tensor wqkv = rand(r, 3 * h, h);
            Tensor wo = rand(r, h, h);
            Tensor wup = rand(r, inter, h);
            Tensor wdown = rand(r, h, inter);
            Tensor bqkv = rand(r, 3 * h);
            Tensor bh = rand(r, h);
            Tensor bi = rand(r, inter);
            Tensor gamma = rand(r, h);
            Tensor xi = rand(r, m, inter);
            PackedWeight pqkv = PackedWeight.pack(wqkv);
            PackedWeight po = PackedWeight.pack(wo);
            PackedWeight pup = PackedWeight.pack(wup);
            PackedWeight pdown = PackedWeight.pack(wdown);
            Tensor qkv = Ops.linear(x, wqkv, bqkv).reshape(batch, s, 3 * heads, d);
            Tensor q = qkv.slice(2, 0, heads).transpose(1, 2);
            Tensor k = qkv.slice(2, heads, 2 * heads).transpose(1, 2);
            Tensor v = qkv.slice(2, 2 * heads, 3 * heads).transpose(1, 2);
            Tensor qc = q.contiguous();
            Tensor kc = k.contiguous();
            Tensor vc = v.contiguous();
            Tensor att = Attention.scaledDotProduct(qc, kc, vc);
            List<Row> fused = new ArrayList<>();
            fused.add(new Row("linear qkv +bias [" + m + "x" + h + "]x[" + h + "x" + 3 * h + "]",
                    time(() -> Ops.linear(x, pqkv, bqkv, null, null)), layers));
            // BertModel on the CPU: attention reads the q, k, v views of the projection in place and returns the
            // [B, S, H, D] layout, so the head split and merge copy nothing (rows with 0 calls: the former path)
            fused.add(new Row("attention (q,k,v views of the projection)", time(() -> Attention.scaledDotProduct(q, k,
                    v)), layers));
            fused.add(new Row("(attention on contiguous q,k,v)", time(() -> Attention.scaledDotProduct(qc, kc, vc)), 0));
            fused.add(new Row("(copies: q,k,v views -> contiguous)", time(() -> {
                q.contiguous();
                k.contiguous();
                v.contiguous();
            }), 0));
            fused.add(new Row("(copy: attention out transpose)", time(() -> att.transpose(1, 2).contiguous()), 0));
            fused.add(new Row("linear o +bias +residual", time(() -> Ops.linear(x, po, bh, null, x)), layers));
            fused.add(new Row("layer norm [" + m + "x" + h + "]", time(() -> Ops.layerNorm(x, gamma, bh, 1e-12f)),
                    2 * layers));
            fused.add(new Row("linear up +bias +gelu", time(() -> Ops.linear(x, pup, bi, FusedActivation.GELU, null)),
                    layers));
            fused.add(new Row("linear down +bias +residual", time(() -> Ops.linear(xi, pdown, bh, null, x)), layers));
            // not part of the forward: the up projection without its activation, to show what the GELU costs
            fused.add(new Row("(linear up +bias, no activation)", time(() -> Ops.linear(x, pup, bi, null, null)), 0));
            List<Row> plain = new ArrayList<>();
            plain.add(new Row("matmul qkv (Ops.matmul)", time(() -> Ops.matmul(x, wqkv.t())), layers));
            plain.add(new Row("matmul o (Ops.matmul)", time(() -> Ops.matmul(x, wo.t())), layers));
            plain.add(new Row("matmul up (Ops.matmul)", time(() -> Ops.matmul(x, wup.t())), layers));
            plain.add(new Row("matmul down (Ops.matmul)", time(() -> Ops.matmul(xi, wdown.t())), layers));
            plain.add(new Row("bias add [m x 3h] + [m x h] x2 + [m x 4h]", time(() -> {
                Ops.add(x, bh);
                Ops.add(x, bh);
                Ops.add(x, bh);
                Ops.add(x, bh);
                Ops.add(x, bh);
                Ops.add(x, bh);
                Ops.add(xi, bi);
            }), layers));
            plain.add(new Row("residual add x2", time(() -> {
                Ops.add(x, x);
                Ops.add(x, x);
            }), layers));
            plain.add(new Row("gelu [m x 4h]", time(() -> Ops.gelu(xi)), layers));
            plain.add(new Row("empty op (Java + JNI overhead)", time(() -> Ops.add(bh, bh)), 20 * layers));
            print("fused path (packed weights)", fused, m, h, inter);
            // The rows above repeat one op on one weight, which then stays in cache; a forward reads each layer's
            // own weights from memory once. The four projections of every layer, each layer with its own weights:
            double oneWeight = 0;
            for (Row row : fused) {
                if (row.op.startsWith("linear")) {
                    oneWeight += row.ms * row.perForward;
                }
            }
            List<PackedWeight[]> perLayer = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                perLayer.add(new PackedWeight[] {PackedWeight.pack(rand(r, 3 * h, h)), PackedWeight.pack(rand(r, h, h)),
                    PackedWeight.pack(rand(r, inter, h)), PackedWeight.pack(rand(r, h, inter))});
            }
            double ownWeights = time(() -> {
                for (PackedWeight[] w : perLayer) {
                    Ops.linear(x, w[0], bqkv, null, null);
                    Ops.linear(x, w[1], bh, null, x);
                    Ops.linear(x, w[2], bi, FusedActivation.GELU, null);
                    Ops.linear(xi, w[3], bh, null, x);
                }
            });
            System.out.printf(Locale.ROOT, "%nthe %d layers' projections, each layer its own weights (%.0f MB): %.2f ms"
                    + " (the rows above, one weight in cache: %.2f ms)%n", layers,
                    layers * 4.0 * (4 * h * h + 2 * h * inter) / 1e6, ownWeights, oneWeight);
            print("unfused path (Ops.matmul: weights packed per call, then separate passes)", plain, m, h, inter);
        }
    }

    /** Whole ViT model (a directory from bench/python/vit_export.py): logits, and the patch stem alone. */
    private static void vitModel(java.nio.file.Path dir) {
        SplittableRandom r = new SplittableRandom(5);
        try (dev.tessera.models.vit.ViTForImageClassification m =
                dev.tessera.models.vit.ViTForImageClassification.load(dir, Device.CPU, null);
                Scope scope = Tessera.scope()) {
            Tensor x = rand(r, 1, 3, 224, 224);
            Tensor pw = rand(r, 768, 3, 16, 16);
            Tensor pb = rand(r, 768);
            Tensor cls = rand(r, 1, 1, 768);
            Tensor pos = rand(r, 1, 197, 768);
            System.out.printf(Locale.ROOT, "ViT-B/16 batch 1, load %s%n", load());
            System.out.printf(Locale.ROOT, "logits (whole model)   %8.2f ms%n", time(() -> m.logits(x)));
            System.out.printf(Locale.ROOT, "features               %8.2f ms%n", time(() -> m.features(x)));
            System.out.printf(Locale.ROOT, "patch stem (embed2d)   %8.2f ms%n",
                    time(() -> dev.tessera.runtime.PatchEmbedding.embed2d(x, pw, pb, cls, pos)));
        }
    }

    private static void print(String title, List<Row> rows, long m, long h, long inter) {
        double total = 0;
        for (Row row : rows) {
            total += row.ms * row.perForward;
        }
        System.out.printf(Locale.ROOT, "%n%s%n%-52s %10s %6s %12s %6s%n", title, "op", "ms/call", "calls", "ms/forward",
                "%");
        for (Row row : rows) {
            System.out.printf(Locale.ROOT, "%-52s %10.3f %6d %12.2f %5.1f%%%n", row.op, row.ms, row.perForward,
                    row.ms * row.perForward, 100 * row.ms * row.perForward / total);
        }
        System.out.printf(Locale.ROOT, "%-52s %10s %6s %12.2f%n", "sum", "", "", total);
        double gemmFlops = 2.0 * m * h * (3 * h + h + 2 * inter);
        System.out.printf(Locale.ROOT, "GEMM flops per layer %.3f G%n", gemmFlops / 1e9);
    }

    private static double time(Runnable op) {
        BenchUtil.warmUp(() -> {
            try (Scope s = Tessera.scope()) {
                op.run();
            }
        }, 20, 300);
        double[] t = new double[7];
        for (int k = 0; k < t.length; k++) {
            long t0 = System.nanoTime();
            int reps = 10;
            for (int i = 0; i < reps; i++) {
                try (Scope s = Tessera.scope()) {
                    op.run();
                }
            }
            t[k] = (System.nanoTime() - t0) / 1e6 / reps;
        }
        return BenchUtil.median(t);
    }

    private static Tensor rand(SplittableRandom r, long... shape) {
        int n = 1;
        for (long x : shape) {
            n *= (int) x;
        }
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() - 0.5) * 0.1f;
        }
        return Tensor.of(a, Device.CPU, shape);
    }

    private static String load() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }

}
