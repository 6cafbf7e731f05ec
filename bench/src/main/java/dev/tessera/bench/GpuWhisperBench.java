package dev.tessera.bench;

import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.whisper.WhisperCache;
import dev.tessera.models.whisper.WhisperConfig;
import dev.tessera.models.whisper.WhisperModel;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Whisper on CUDA (random weights, bf16, batch 1): encoder ms for one 30 s window and greedy decode tokens/s, at
 * the tiny and base sizes; the peer is {@code bench/gpu/whisper_transformers.py} (Hugging Face transformers, same
 * config, bf16, eager) on the same card in the same run of {@code bench/gpu/run.sh}.
 */
public final class GpuWhisperBench {
    private GpuWhisperBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuWhisperBench [--sizes tiny,base] [--tokens 128] [--reps 5]"
                + " [--device cuda:0] [--out FILE]");
        if (cli.help()) {
            return;
        }
        String sizes = cli.get("--sizes", "tiny,base");
        int tokens = cli.getInt("--tokens", 128);
        int reps = cli.getInt("--reps", 5);
        String spec = cli.get("--device", "cuda:0");
        Path out = cli.getPath("--out", Path.of("gpu-whisper-tessera.json"));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("impl", "tessera");
        doc.put("benchmark", "Whisper bf16 batch 1: encoder on one 30 s window, greedy decode tokens/s with KV cache");
        doc.put("date", Instant.now().toString());
        Device device = GpuBench.device("GpuWhisperBench", spec, doc, out);
        Map<String, Object> rows = new LinkedHashMap<>();
        for (String size : sizes.split(",")) {
            WhisperConfig c = WhisperBench.config(size);
            Map<String, Tensor> w = WhisperBench.weights(c, 1);
            double[] enc = new double[reps];
            double[] tps = new double[reps];
            try (WhisperModel m = WhisperModel.fromSource(c, TensorSource.of(w, "random " + size), device, DType.BF16)) {
                w.values().forEach(Tensor::close);
                float[] mel = new float[80 * 3000];
                Random r = new Random(2);
                for (int i = 0; i < mel.length; i++) {
                    mel[i] = (float) r.nextGaussian();
                }
                try (Tensor x = Tensor.of(mel, device, 1, 80, 3000)) {
                    m.encode(x).close();
                    for (int rep = 0; rep < reps; rep++) {
                        long t0 = System.nanoTime();
                        try (Tensor e = m.encode(x)) {
                            Ops.argmaxLastDim(e.slice(1, 0, 1)); // forces completion
                            enc[rep] = (System.nanoTime() - t0) / 1e6;
                            tps[rep] = WhisperBench.decodeTps(m, e, tokens);
                        }
                    }
                }
            }
            Arrays.sort(enc);
            Arrays.sort(tps);
            rows.put(size, Map.of("encoder_ms", enc[reps / 2], "decode_tokens_per_s", tps[reps / 2]));
            System.out.printf("tessera whisper %s bf16: encoder %.2f ms, decode %.1f tokens/s%n", size, enc[reps / 2], tps[reps / 2]);
        }
        doc.put("results", rows);
        doc.put("method", "one warm-up, then medians of " + reps + "; wall clock incl. the host argmax per token");
        GpuBench.write(out, doc);
    }

}
