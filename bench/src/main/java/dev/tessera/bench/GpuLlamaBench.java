package dev.tessera.bench;

import dev.tessera.models.llama.KvCache;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
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
        double[] pre = new double[reps];
        double[] step = new double[reps];
        int last = -1;
        try (LlamaForCausalLM m = LlamaForCausalLM.load(ckpt, device, DType.BF16)) {
            for (int r = -1; r < reps; r++) {
                try (KvCache cache = m.newCache(1, prompt + decode)) {
                    long a = System.nanoTime();
                    int next;
                    try (Tensor lg = m.forward(new int[][] {ids}, null, cache, false)) {
                        next = Ops.argmaxLastDim(lg)[0];
                    }
                    long b = System.nanoTime();
                    for (int i = 0; i < decode; i++) {
                        try (Tensor lg = m.forward(new int[][] {{next}}, null, cache, false)) {
                            next = Ops.argmaxLastDim(lg)[0];
                        }
                    }
                    long c = System.nanoTime();
                    last = next;
                    if (r >= 0) {
                        pre[r] = (b - a) / 1e6;
                        step[r] = (c - b) / 1e6 / decode;
                    }
                }
            }
        }
        Arrays.sort(pre);
        Arrays.sort(step);
        doc.put("prompt_tokens", prompt);
        doc.put("decode_tokens", decode);
        doc.put("prefill_ms", pre[reps / 2]);
        doc.put("prefill_tokens_per_s", prompt / (pre[reps / 2] / 1e3));
        doc.put("decode_ms_per_token", step[reps / 2]);
        doc.put("decode_tokens_per_s", 1e3 / step[reps / 2]);
        doc.put("last_token", last);
        doc.put("method", "one warm-up then " + reps + " runs, medians, wall clock including the greedy pick on the host");
        System.out.printf("tessera bf16: prefill %d tokens %.2f ms (%.0f tok/s), decode %.3f ms/token (%.1f tok/s)%n",
                prompt, pre[reps / 2], prompt / (pre[reps / 2] / 1e3), step[reps / 2], 1e3 / step[reps / 2]);
        GpuBench.write(out, doc);
    }
}
