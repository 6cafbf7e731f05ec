package dev.tessera.bench;

import dev.tessera.models.bert.BertConfig;
import dev.tessera.models.bert.BertModel;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
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
 * all-MiniLM-L6-v2-shaped BERT encoder (6 layers, 384 wide, 12 heads, FFN 1536, vocab 30522) on CUDA: sentences/s
 * at batch 1, 8 and 32 with 128 tokens, fp32 (and tf32 matmuls with {@code --precision tf32}). The real weights
 * do not fit the GPU bundle, so the weights are random (seeded) and written to {@code <out dir>/minilm-random/}
 * (HF names, {@code model.safetensors} + {@code config.json}) for the PyTorch peer
 * ({@code bench/gpu/minilm_torch.py}), which runs the same weights on the same card after this program. Timed
 * with CUDA events (see {@link GpuBench#time}); the forward pass includes uploading the token ids and mask; the
 * hidden states stay on the device.
 *
 * <pre>bench/gpu/run.sh  (bench_pair minilm)</pre>
 */
public final class GpuMiniLmBench {
    private GpuMiniLmBench() {}

    static final BertConfig MINILM = new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu");

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuMiniLmBench [--batches 1,8,32] [--seq 128] [--reps 5]"
                + " [--target-ms 200] [--device cuda:0] [--precision fp32|tf32] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int[] batches = cli.getInts("--batches", 1, 8, 32);
        int seq = cli.getInt("--seq", 128);
        int reps = cli.getInt("--reps", 5);
        double targetMs = cli.getDouble("--target-ms", 200);
        String dev = cli.get("--device", "cuda:0");
        String precision = cli.get("--precision", "fp32");
        Path out = cli.getPath("--out", Path.of(System.getenv().getOrDefault("OUT", "."), "gpu-minilm-tessera.json"));
        Map<String, Object> doc = GpuBench.header("MiniLM-shaped BERT encoder forward (last hidden state), " + seq + " tokens, " + precision
                + ", random weights shared with the PyTorch peer");
        doc.put("method", "per batch: 3 warm-up calls, calibration, then " + reps + " repetitions of N back-to-back"
                + " BertModel.forward calls (ids/mask uploaded each call) between CUDA events; best repetition;"
                + " sentences/s = batch / time");
        Device device = GpuBench.device("GpuMiniLmBench", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        Ops.setDefaultMatmulPrecision("tf32".equals(precision) ? MatmulPrecision.TF32 : MatmulPrecision.FP32);

        Map<String, Tensor> weights = randomWeights(MINILM, 2026);
        Path wdir = out.toAbsolutePath().getParent().resolve("minilm-random");
        Files.createDirectories(wdir);
        Safetensors.write(wdir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
        Files.writeString(wdir.resolve("config.json"), "{\"model_type\": \"bert\", \"vocab_size\": 30522,"
                + " \"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12,"
                + " \"intermediate_size\": 1536, \"max_position_embeddings\": 512, \"type_vocab_size\": 2,"
                + " \"layer_norm_eps\": 1e-12, \"hidden_act\": \"gelu\"}\n", StandardCharsets.UTF_8);
        doc.put("weights", wdir.toString());
        List<Object> rows = new ArrayList<>();
        try (TensorSource src = TensorSource.of(weights, "random MiniLM-shaped weights");
                BertModel model = BertModel.load(src, MINILM, device)) {
            weights.values().forEach(Tensor::close);
            System.out.printf("%-6s %10s %10s %14s%n", "batch", "best ms", "median ms", "sentences/s");
            for (int b : batches) {
                SplittableRandom r = new SplittableRandom(7 + b);
                int[] ids = new int[b * seq];
                int[] mask = new int[b * seq];
                for (int i = 0; i < ids.length; i++) {
                    int t = i % seq;
                    ids[i] = t == 0 ? 101 : t == seq - 1 ? 102 : 1000 + r.nextInt(29000);
                    mask[i] = 1;
                }
                final int s = seq;
                double[] t = GpuBench.time(cuda, device, () -> {
                    try (Scope sc = Tessera.scope()) {
                        model.forward(Tensor.ofInts(ids, device, b, s), Tensor.ofInts(mask, device, b, s), null);
                    }
                }, targetMs, reps, 3);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("batch", b);
                row.put("seq", seq);
                row.put("iters", (int) t[0]);
                row.put("bestMs", t[1]);
                row.put("medianMs", t[2]);
                row.put("sentencesPerS", b / (t[1] / 1e3));
                rows.add(row);
                System.out.printf(Locale.ROOT, "%-6d %10.3f %10.3f %14.1f%n", b, t[1], t[2], b / (t[1] / 1e3));
            }
        }
        doc.put("results", rows);
        GpuBench.write(out, doc);
        System.out.println("wrote " + out);
    }

    /** Seeded random weights with HF names (LayerNorm scales near 1), F32 on the CPU. */
    static Map<String, Tensor> randomWeights(BertConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        int h = c.hiddenSize();
        int f = c.intermediateSize();
        BenchUtil.putUniform(m, r, "embeddings.word_embeddings.weight", 0.05, 0, c.vocabSize(), h);
        BenchUtil.putUniform(m, r, "embeddings.position_embeddings.weight", 0.05, 0, c.maxPositions(), h);
        BenchUtil.putUniform(m, r, "embeddings.token_type_embeddings.weight", 0.05, 0, c.typeVocabSize(), h);
        BenchUtil.putUniform(m, r, "embeddings.LayerNorm.weight", 0.1, 1, h);
        BenchUtil.putUniform(m, r, "embeddings.LayerNorm.bias", 0.1, 0, h);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            for (String n : new String[] {"attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense"}) {
                BenchUtil.putUniform(m, r, p + n + ".weight", 0.05, 0, h, h);
                BenchUtil.putUniform(m, r, p + n + ".bias", 0.02, 0, h);
            }
            BenchUtil.putUniform(m, r, p + "intermediate.dense.weight", 0.05, 0, f, h);
            BenchUtil.putUniform(m, r, p + "intermediate.dense.bias", 0.02, 0, f);
            BenchUtil.putUniform(m, r, p + "output.dense.weight", 0.05, 0, h, f);
            BenchUtil.putUniform(m, r, p + "output.dense.bias", 0.02, 0, h);
            for (String n : new String[] {"attention.output.LayerNorm", "output.LayerNorm"}) {
                BenchUtil.putUniform(m, r, p + n + ".weight", 0.1, 1, h);
                BenchUtil.putUniform(m, r, p + n + ".bias", 0.1, 0, h);
            }
        }
        return m;
    }
}
