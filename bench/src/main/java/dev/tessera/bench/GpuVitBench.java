package dev.tessera.bench;

import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.backend.CudaBackend;
import dev.tessera.runtime.io.Safetensors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * ViT-B/16 (224, 1000 classes) logits on CUDA, bf16 weights and activations: images/s at {@code --batch} (64).
 * Random seeded weights with HF names are written to {@code <out dir>/vit-random/} for the PyTorch peer
 * ({@code bench/gpu/vit_torch.py}, eager, bf16, same weights). Timed with CUDA events ({@link GpuBench#time});
 * pixels are uploaded (F32) and converted each call.
 *
 * <pre>bench/gpu/run.sh  (bench_pair vit)</pre>
 */
public final class GpuVitBench {
    private GpuVitBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuVitBench [--batch 64] [--reps 5] [--target-ms 200] [--device cuda:0]"
                + " [--out FILE]");
        if (cli.help()) {
            return;
        }
        int batch = cli.getInt("--batch", 64);
        int reps = cli.getInt("--reps", 5);
        double targetMs = cli.getDouble("--target-ms", 200);
        String dev = cli.get("--device", "cuda:0");
        Path out = cli.getPath("--out", Path.of(System.getenv().getOrDefault("OUT", "."), "gpu-vit-tessera.json"));
        Map<String, Object> doc = GpuBench.header("ViT-B/16 224 logits, bf16, batch " + batch + ", random weights shared with the PyTorch peer");
        doc.put("method", "3 warm-up calls, calibration, then " + reps + " repetitions of N back-to-back logits calls"
                + " (F32 pixels uploaded each call) between CUDA events; best repetition; images/s = batch / time");
        Device device = GpuBench.device("GpuVitBench", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        Path wdir = out.toAbsolutePath().getParent().resolve("vit-random");
        writeRandomCheckpoint(wdir);
        doc.put("weights", wdir.toString());
        List<Object> rows = new ArrayList<>();
        try (ViTForImageClassification m = ViTForImageClassification.load(wdir, device, DType.BF16)) {
            SplittableRandom r = new SplittableRandom(7);
            float[] px = new float[batch * 3 * 224 * 224];
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) (2 * r.nextDouble() - 1);
            }
            final int b = batch;
            double[] t = GpuBench.time(cuda, device, () -> {
                try (Scope sc = Tessera.scope()) {
                    m.logits(Tensor.of(px, device, b, 3, 224, 224));
                }
            }, targetMs, reps, 3);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("batch", batch);
            row.put("iters", (int) t[0]);
            row.put("bestMs", t[1]);
            row.put("medianMs", t[2]);
            row.put("imagesPerS", batch / (t[1] / 1e3));
            rows.add(row);
            System.out.printf(Locale.ROOT, "batch %d: best %.3f ms, median %.3f ms, %.1f images/s%n", batch, t[1], t[2],
                    batch / (t[1] / 1e3));
        }
        doc.put("results", rows);
        GpuBench.write(out, doc);
        System.out.println("wrote " + out);
    }

    /**
     * Writes a ViT-B/16 224 checkpoint with {@link #randomWeights} (seed 2026) and its {@code config.json} to
     * {@code dir} (made if missing): what the ViT benchmarks and their PyTorch peers read.
     */
    static void writeRandomCheckpoint(Path dir) throws java.io.IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> w = randomWeights(768, 12, 3072, 16, 224, 1000, 2026);
        Safetensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        w.values().forEach(Tensor::close);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"vit\", \"hidden_size\": 768,"
                + " \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"intermediate_size\": 3072,"
                + " \"image_size\": 224, \"patch_size\": 16, \"num_channels\": 3, \"layer_norm_eps\": 1e-12,"
                + " \"hidden_act\": \"gelu\", \"qkv_bias\": true, \"num_labels\": 1000}\n", StandardCharsets.UTF_8);
    }

    /** Seeded random ViT weights with HF names (LayerNorm scales near 1), F32 on the CPU. */
    static Map<String, Tensor> randomWeights(int h, int layers, int f, int patch, int image, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        int np = (image / patch) * (image / patch);
        BenchUtil.putUniform(m, r, "vit.embeddings.cls_token", 0.05, 0, 1, 1, h);
        BenchUtil.putUniform(m, r, "vit.embeddings.position_embeddings", 0.05, 0, 1, np + 1, h);
        BenchUtil.putUniform(m, r, "vit.embeddings.patch_embeddings.projection.weight", 0.05, 0, h, 3, patch, patch);
        BenchUtil.putUniform(m, r, "vit.embeddings.patch_embeddings.projection.bias", 0.02, 0, h);
        for (int l = 0; l < layers; l++) {
            String p = "vit.encoder.layer." + l + ".";
            for (String n : new String[] {"attention.attention.query", "attention.attention.key",
                "attention.attention.value", "attention.output.dense"}) {
                BenchUtil.putUniform(m, r, p + n + ".weight", 0.05, 0, h, h);
                BenchUtil.putUniform(m, r, p + n + ".bias", 0.02, 0, h);
            }
            BenchUtil.putUniform(m, r, p + "intermediate.dense.weight", 0.05, 0, f, h);
            BenchUtil.putUniform(m, r, p + "intermediate.dense.bias", 0.02, 0, f);
            BenchUtil.putUniform(m, r, p + "output.dense.weight", 0.05, 0, h, f);
            BenchUtil.putUniform(m, r, p + "output.dense.bias", 0.02, 0, h);
            for (String n : new String[] {"layernorm_before", "layernorm_after"}) {
                BenchUtil.putUniform(m, r, p + n + ".weight", 0.1, 1, h);
                BenchUtil.putUniform(m, r, p + n + ".bias", 0.1, 0, h);
            }
        }
        BenchUtil.putUniform(m, r, "vit.layernorm.weight", 0.1, 1, h);
        BenchUtil.putUniform(m, r, "vit.layernorm.bias", 0.1, 0, h);
        BenchUtil.putUniform(m, r, "classifier.weight", 0.05, 0, classes, h);
        BenchUtil.putUniform(m, r, "classifier.bias", 0.02, 0, classes);
        return m;
    }
}
