package dev.tessera.bench;

import dev.tessera.models.llama.ChatBatch;
import dev.tessera.models.llama.ChatSession;
import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.llama.GenerationConfig;
import dev.tessera.models.llama.Generator;
import dev.tessera.models.llama.KvCache;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Many one-turn chats answered one at a time (a {@link ChatSession} each, as the Spark {@code TextGenerator} did
 * before batching) against {@link ChatBatch} at several batch sizes, on the CPU with a random-weight Llama written to
 * a temporary directory (the shape of {@link LlamaBench}'s by default). {@code --prompts} prompts of random token ids
 * with lengths spread over [{@code --min-len}, {@code --max-len}], greedy, {@code --new} tokens each (no eos, so every
 * reply has the same length), then again under a {@code max_length} cap that gives the shorter prompts longer replies
 * (rows of a batch end at different steps and leave it). The replies of every mode are checked to be the same tokens
 * as one at a time. Reports generated tokens/s per mode and the ratio batched / one at a time (&gt; 1:
 * batching is faster); writes {@code bench/results/chat-batch-cpu.json}.
 *
 * <pre>
 * mvn -q -B -o package -DskipTests -Dtessera.cuda=OFF -pl bench -am
 * java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" dev.tessera.bench.ChatBatchBench
 *     [--prompts 16] [--min-len 16] [--max-len 96] [--new 32] [--batches 4,8,16] [--reps 2] [--layers 16]
 *     [--hidden 2048] [--intermediate 5632] [--heads 32] [--kv-heads 8] [--vocab 32000] [--out FILE]
 * </pre>
 */
public final class ChatBatchBench {
    private ChatBatchBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "ChatBatchBench [--prompts 16] [--min-len 16] [--max-len 96] [--new 32]"
                + " [--batches 4,8,16] [--reps 2] [--layers 16] [--hidden 2048] [--intermediate 5632] [--heads 32]"
                + " [--kv-heads 8] [--vocab 32000] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int n = cli.getInt("--prompts", 16);
        int minLen = cli.getInt("--min-len", 16);
        int maxLen = cli.getInt("--max-len", 96);
        int newTokens = cli.getInt("--new", 32);
        int reps = cli.getInt("--reps", 2);
        LlamaBench.Shape shape = LlamaBench.Shape.of(cli);
        int[] batches = Arrays.stream(cli.get("--batches", "4,8,16").split(",")).mapToInt(Integer::parseInt).toArray();
        Path out = cli.getPath("--out", Path.of("bench/results/chat-batch-cpu.json"));
        if (n < 1 || minLen < 1 || maxLen < minLen || newTokens < 1 || reps < 1) {
            throw new IllegalArgumentException("need --prompts >= 1, 1 <= --min-len <= --max-len, --new >= 1, --reps >= 1");
        }
        Path dir = Files.createTempDirectory("tessera-chat-batch-bench");
        try {
            long params = shape.write(dir, maxLen + 2 * newTokens + 8);
            System.out.printf("checkpoint: %.2f B parameters%n", params / 1e9);
            SplittableRandom r = new SplittableRandom(11);
            List<int[]> prompts = new ArrayList<>();
            int promptTokens = 0;
            for (int i = 0; i < n; i++) {
                int len = minLen + (n == 1 ? 0 : (int) ((long) (maxLen - minLen) * i / (n - 1)));
                prompts.add(r.ints(len, 3, shape.vocab()).toArray());
                promptTokens += len;
            }
            java.util.Collections.shuffle(prompts, new java.util.Random(5)); // arrival order is not length order
            Map<String, Object> scenarios = new LinkedHashMap<>();
            try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, null)) {
                Generator g = new Generator(m, null);
                List<ChatBatch.Turn> turns = new ArrayList<>();
                for (int[] p : prompts) {
                    turns.add(new ChatBatch.Turn(new FixedTokens(m, p), null, Message.user("")));
                }
                GenerationConfig same = GenerationConfig.greedy(newTokens).withUseEos(false);
                Map<String, Object> a = scenario(g, turns, same, batches, reps);
                a.put("config", "greedy, " + newTokens + " new tokens each (no eos)");
                scenarios.put("equal_budgets", a);
                // a max_length cap: the longest prompt gets newTokens / 2, the shortest 2 * newTokens (rows end apart)
                int cap = maxLen + newTokens / 2;
                GenerationConfig varied = GenerationConfig.greedy(Math.min(2 * newTokens, cap - minLen))
                        .withUseEos(false).withMaxLength(cap);
                Map<String, Object> b = scenario(g, turns, varied, batches, reps);
                b.put("config", "greedy, max_length " + cap + " (prompt + reply), at most " + varied.maxNewTokens()
                        + " new tokens: replies of " + varied.budgetAfter(maxLen) + ".." + varied.budgetAfter(minLen)
                        + " tokens");
                scenarios.put("varied_budgets", b);
            }
            Map<String, Object> result = HostInfo.header("many one-turn chats: ChatBatch (batched prefill + decode) vs"
                    + " a ChatSession per chat, CPU, F32, random weights, greedy");
            result.put("model", shape.describe(params));
            result.put("prompts", n);
            result.put("prompt_lengths", minLen + ".." + maxLen + " (spread evenly, shuffled)");
            result.put("prompt_tokens", promptTokens);
            result.put("method", "one warm-up then " + reps + " timed runs per mode, median wall time of the whole set;"
                    + " tokens/s counts generated tokens only; same_tokens: every reply equals the one-at-a-time reply");
            result.put("loadavg", LlamaBench.loadavg());
            result.put("scenarios", scenarios);
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            Files.writeString(out, Json.write(result));
            System.out.println("wrote " + out);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One at a time, then ChatBatch at each batch size: tokens/s and whether every reply is the same. */
    private static Map<String, Object> scenario(Generator g, List<ChatBatch.Turn> turns, GenerationConfig cfg,
            int[] batches, int reps) {
        Map<String, Object> modes = new LinkedHashMap<>();
        List<int[]> reference = new ArrayList<>();
        double[] times = new double[reps];
        int generated = 0;
        for (int rep = -1; rep < reps; rep++) {
            long t0 = System.nanoTime();
            List<int[]> got = new ArrayList<>();
            for (ChatBatch.Turn t : turns) {
                try (ChatSession s = new ChatSession(g, t.backend(), null, 0)) {
                    got.add(s.send(t.user(), cfg, null).tokens());
                }
            }
            if (rep >= 0) {
                times[rep] = (System.nanoTime() - t0) / 1e9;
            } else {
                reference = got;
                for (int[] r : got) {
                    generated += r.length;
                }
            }
        }
        Map<String, Object> one = mode(times, turns.size(), generated, true);
        double oneAtATime = (double) one.get("generated_tokens_per_s");
        modes.put("one_at_a_time", one);
        System.out.printf("one at a time: %.1f tokens/s%n", oneAtATime);
        for (int b : batches) {
            ChatBatch batch = new ChatBatch(g, b);
            double[] bt = new double[reps];
            boolean same = true;
            for (int rep = -1; rep < reps; rep++) {
                long t0 = System.nanoTime();
                List<ChatBatch.Reply> got = batch.answer(turns, cfg);
                if (rep >= 0) {
                    bt[rep] = (System.nanoTime() - t0) / 1e9;
                }
                for (int i = 0; i < turns.size(); i++) {
                    same &= Arrays.equals(reference.get(i), got.get(i).result().tokens());
                }
            }
            Map<String, Object> o = mode(bt, turns.size(), generated, same);
            double tps = (double) o.get("generated_tokens_per_s");
            o.put("ratio_over_one_at_a_time", tps / oneAtATime);
            modes.put("batch_" + b, o);
            System.out.printf("batch %d: %.1f tokens/s (%.2fx), same tokens: %s%n", b, tps, tps / oneAtATime, same);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("generated_tokens", generated);
        out.put("modes", modes);
        return out;
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static Map<String, Object> mode(double[] seconds, int n, int generated, boolean same) {
        Map<String, Object> o = new LinkedHashMap<>();
        double med = median(seconds);
        o.put("seconds_median", med);
        o.put("seconds", Arrays.stream(seconds).boxed().toList());
        o.put("generated_tokens_per_s", generated / med);
        o.put("chats_per_s", n / med);
        o.put("same_tokens", same);
        return o;
    }

    /** A backend whose prompt is a fixed token sequence (the benchmark needs no tokenizer or template). */
    private record FixedTokens(LlamaForCausalLM model, int[] ids) implements ChatSession.Backend {
        @Override
        public int[] tokens(List<Message> messages) {
            return ids.clone();
        }

        @Override
        public Tensor prefill(KvCache cache, int[] tokens) {
            return model.forward(new int[][] {Arrays.copyOfRange(tokens, cache.length(), tokens.length)}, null, cache,
                    false);
        }

        @Override
        public Tensor embeds(int[] tokens) {
            return model.embed(new int[][] {tokens});
        }
    }
}
