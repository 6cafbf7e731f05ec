package dev.tessera.bench;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * GPU side of the Llama benchmark pair in {@code bench/gpu/run.sh} (peer: {@code bench/gpu/llama_transformers.py},
 * Hugging Face transformers on the same card and the same checkpoint): prefill and decode tokens/s of the
 * ~0.85B random-weight Llama of {@link LlamaBench} in BF16, batch 1. The F32 checkpoint is written to
 * {@code --checkpoint DIR} when it is not there yet (and left for the peer, which removes it). Wall-clock timing
 * of each pass including the greedy pick copied to the host (as transformers' {@code generate} does); one warm-up
 * then {@code --reps} runs, medians.
 *
 * <pre>
 * java -cp ... dev.tessera.bench.GpuLlamaBench --checkpoint /tmp/tessera-llama-gpu [--prompt 512] [--decode 128]
 *     [--reps 3] [--device cuda:0] [--out gpu-llama-tessera.json]
 * </pre>
 */
public final class GpuLlamaBench {
    private GpuLlamaBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuLlamaBench [--checkpoint DIR] [--prompt 512] [--decode 128]"
                + " [--reps 3] [--device cuda:0] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int prompt = cli.getInt("--prompt", 512);
        int decode = cli.getInt("--decode", 128);
        int reps = cli.getInt("--reps", 3);
        String spec = cli.get("--device", "cuda:0");
        Path ckpt = cli.getPath("--checkpoint", Path.of(System.getProperty("java.io.tmpdir"), "tessera-llama-gpu"));
        Path out = cli.getPath("--out", Path.of("gpu-llama-tessera.json"));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("impl", "tessera");
        doc.put("benchmark", "Llama-style decoder (hidden 2048, 16 layers, 32/8 heads, intermediate 5632, vocab 32000), "
                + "bf16, batch 1: prefill and decode tokens/s");
        doc.put("date", Instant.now().toString());
        Device device = GpuBench.device("GpuLlamaBench", spec, doc, out);
        if (!Files.isRegularFile(ckpt.resolve("model.safetensors"))) {
            Files.createDirectories(ckpt);
            LlamaBench.writeCheckpoint(ckpt, 2048, 5632, 16, 32, 8, 32000, prompt + decode + 64);
        }
        int[] ids = new SplittableRandom(7).ints(prompt, 3, 32000).toArray();
        Map<String, Object> r = LlamaBench.runTessera(ckpt, device, DType.BF16, ids, decode, reps);
        doc.put("prompt_tokens", prompt);
        doc.put("decode_tokens", decode);
        doc.putAll(r); // prefill_ms, prefill_tokens_per_s, decode_ms_per_token, decode_tokens_per_s, bests, last_token
        doc.put("method", "one warm-up then " + reps + " runs, medians, wall clock including the greedy pick on the host");
        System.out.printf("tessera bf16: prefill %d tokens %.2f ms (%.0f tok/s), decode %.3f ms/token (%.1f tok/s)%n",
                prompt, (double) r.get("prefill_ms"), (double) r.get("prefill_tokens_per_s"),
                (double) r.get("decode_ms_per_token"), (double) r.get("decode_tokens_per_s"));
        GpuBench.write(out, doc);
    }
}
