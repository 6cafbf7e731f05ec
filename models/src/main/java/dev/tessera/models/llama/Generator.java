package dev.tessera.models.llama;

import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Text generation with a {@link LlamaForCausalLM}: the prompts of a batch are left-padded and prefilled in one
 * pass, then every step decodes one token per sequence against the {@link KvCache}; see
 * {@link GenerationConfig} for the sampling rules. Sequences stop at an eos / stop token, a stop string, the
 * token budget or the end of the cache; in a caller's cache finished sequences of a batch idle until all are done
 * (the cache keeps every row); in the cache {@link #generate(List, GenerationConfig, TokenListener)} makes for
 * itself they leave it once a quarter of the batch has ended. A
 * {@link TokenListener} sees each token and the new text as it is produced (streaming).
 *
 * <p>The tokenizer is optional: without one, results carry no text and stop strings cannot be used.
 */
public final class Generator {
    private final LlamaForCausalLM model;
    private final Tokenizer tokenizer;

    /** Receives each generated token of sequence {@code sequence} and the text it completes (may be empty). */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int sequence, int token, String text);
    }

    /** Why a sequence ended. */
    public enum FinishReason {
        /** an eos id or a configured stop token was produced */
        STOP_TOKEN,
        /** a stop string appeared in the text */
        STOP_STRING,
        /** the token budget or the cache / context was used up */
        LENGTH
    }

    /**
     * One generated sequence.
     *
     * @param tokens the generated ids (the stop token included when one ended it)
     * @param text the decoded text without special tokens, cut before a stop string (empty without a tokenizer)
     * @param finish why it ended
     */
    public record Result(int[] tokens, String text, FinishReason finish) {}

    public Generator(LlamaForCausalLM model, Tokenizer tokenizer) {
        if (model == null) {
            throw new IllegalArgumentException("model must not be null");
        }
        this.model = model;
        this.tokenizer = tokenizer;
    }

    public LlamaForCausalLM model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Generates a continuation of one prompt. */
    public Result generate(int[] prompt, GenerationConfig cfg, TokenListener listener) {
        return generate(List.of(prompt), cfg, listener).get(0);
    }

    /**
     * Generates continuations of several prompts in one batch (a cache sized to the longest is made and freed; rows
     * that end leave it, so the rest decode without computing for them).
     */
    public List<Result> generate(List<int[]> prompts, GenerationConfig cfg, TokenListener listener) {
        if (prompts == null || prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompts");
        }
        int maxLen = 0;
        for (int[] p : prompts) {
            model.checkContext(p.length);
            maxLen = Math.max(maxLen, p.length);
        }
        int context = model.config().contextLength();
        int capacity = (int) Math.min(context, (long) maxLen + Math.max(cfg.budgetAfter(maxLen), 1));
        try (KvCache cache = model.newCache(prompts.size(), capacity)) {
            return generate(cache, prompts, cfg, listener, true); // the cache is dropped: rows that end may leave it
        }
    }

    /**
     * Prefills {@code prompts} (left-padded to one length) into {@code cache}, which must be empty or hold a common
     * prefix for all rows, then decodes. On return the cache holds each prompt and every generated token but the
     * last (the one that ended the sequence), ready for the next turn of a conversation.
     */
    public List<Result> generate(KvCache cache, List<int[]> prompts, GenerationConfig cfg, TokenListener listener) {
        return generate(cache, prompts, cfg, listener, false);
    }

    private List<Result> generate(KvCache cache, List<int[]> prompts, GenerationConfig cfg, TokenListener listener,
            boolean compact) {
        int b = prompts.size();
        if (cache.batch() != b) {
            throw new IllegalArgumentException("cache batch " + cache.batch() + " != " + b + " prompts");
        }
        int len = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt (no tokens)");
            }
            len = Math.max(len, p.length);
        }
        if (len > cache.remaining()) {
            throw new IllegalArgumentException("the prompt has " + (cache.length() + len) + " tokens, more than the "
                    + "context of " + cache.capacity() + " tokens this cache holds (the model's context "
                    + model.config().contextLength() + ")");
        }
        int[][] ids = new int[b][len];
        boolean[][] real = new boolean[b][len];
        boolean padded = false;
        for (int i = 0; i < b; i++) {
            int[] p = prompts.get(i);
            int pad = len - p.length;
            System.arraycopy(p, 0, ids[i], pad, p.length);
            for (int j = pad; j < len; j++) {
                real[i][j] = true;
            }
            padded |= pad > 0;
        }
        float[][] last = rows(model.forward(ids, padded ? real : null, cache, false));
        // a maxLength cap counts the whole input: the cached prefix and the (padded) prompt
        return decode(cache, last, prompts, cfg.withMaxNewTokens(cfg.budgetAfter(cache.length())), null, null, listener,
                compact);
    }

    /**
     * The decode loop from the logits of each row's last position ({@code lastLogits[b][vocab]}, e.g. after a
     * LLaVA prefill); {@code histories} are the tokens so far (for the repetition penalty; ids past the vocabulary,
     * such as an image placeholder outside the language model's, take none).
     */
    public List<Result> decode(KvCache cache, float[][] lastLogits, List<int[]> histories, GenerationConfig cfg,
            TokenListener listener) {
        return decode(cache, lastLogits, histories, cfg, null, null, listener);
    }

    /**
     * As {@link #decode(KvCache, float[][], List, GenerationConfig, TokenListener)} with a token budget and a
     * sampling seed per row: row {@code i} generates at most {@code maxNewTokens[i]} (at most
     * {@code cfg.maxNewTokens()}) and samples from its own generator seeded with {@code seeds[i]}, so that its
     * tokens are those it would get alone with that budget and seed. Null arrays take the defaults: the config's
     * budget for every row, and seeds derived from {@code cfg.seed()} and the row's index.
     */
    public List<Result> decode(KvCache cache, float[][] lastLogits, List<int[]> histories, GenerationConfig cfg,
            int[] maxNewTokens, long[] seeds, TokenListener listener) {
        return decode(cache, lastLogits, histories, cfg, maxNewTokens, seeds, listener, false);
    }

    /**
     * The decode loop; with {@code compact}, rows that finished leave the cache ({@link KvCache#keepRows}) once a
     * quarter of the batch has, so the rest decode without computing for them (the cache then holds only the rows
     * still running when the last one ended: for callers that drop it after).
     */
    List<Result> decode(KvCache cache, float[][] lastLogits, List<int[]> histories, GenerationConfig cfg,
            int[] maxNewTokens, long[] seeds, TokenListener listener, boolean compact) {
        if (lastLogits == null || cfg == null) {
            throw new IllegalArgumentException("decode: logits and config must not be null");
        }
        int b = lastLogits.length;
        int v = model.config().vocabSize();
        LlamaConfig mc = model.config();
        if (b != cache.batch() || histories != null && histories.size() != b) {
            throw new IllegalArgumentException("decode: " + b + " rows of logits, " + (histories == null ? "no"
                    : histories.size()) + " histories, a cache of batch " + cache.batch());
        }
        for (int i = 0; i < b; i++) {
            if (lastLogits[i] == null || lastLogits[i].length != v) {
                throw new IllegalArgumentException("decode: logits row " + i + " must hold the vocabulary's " + v
                        + " values, got " + (lastLogits[i] == null ? "null" : lastLogits[i].length));
            }
            int[] h = histories == null ? new int[0] : histories.get(i);
            if (h == null) {
                throw new IllegalArgumentException("decode: history " + i + " is null");
            }
            for (int t : h) {
                if (t < 0) { // ids past the vocabulary are allowed (LLaVA's image token): they take no penalty
                    throw new IllegalArgumentException("decode: history " + i + " holds token " + t
                            + ", a negative id");
                }
            }
        }
        if (maxNewTokens != null && maxNewTokens.length != b || seeds != null && seeds.length != b) {
            throw new IllegalArgumentException("decode: " + b + " rows of logits, but " + (maxNewTokens == null ? b
                    : maxNewTokens.length) + " token budgets and " + (seeds == null ? b : seeds.length) + " seeds");
        }
        int[] budget = new int[b];
        for (int i = 0; i < b; i++) {
            budget[i] = maxNewTokens == null ? cfg.maxNewTokens() : Math.min(maxNewTokens[i], cfg.maxNewTokens());
            if (budget[i] < 0) {
                throw new IllegalArgumentException("decode: row " + i + " has a token budget of " + budget[i]
                        + "; it must be >= 0");
            }
        }
        if (!cfg.stopStrings().isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("stop strings need a tokenizer");
        }
        Row[] rows = new Row[b];
        for (int i = 0; i < b; i++) {
            rows[i] = new Row(v, histories == null ? new int[0] : histories.get(i), new SplittableRandom(
                    seeds != null ? seeds[i] : cfg.seed() + 0x9E3779B97F4A7C15L * i));
        }
        float[][] logits = lastLogits.clone();
        int remaining = b;
        int[] active = new int[b]; // the rows the cache holds, in its order (all of them unless compacting)
        for (int i = 0; i < b; i++) {
            active[i] = i;
        }
        for (int step = 0; remaining > 0; step++) {
            int[] next = new int[b];
            for (int i : active) {
                Row r = rows[i];
                if (r.finish != null) {
                    next[i] = r.out.isEmpty() ? 0 : r.out.get(r.out.size() - 1);
                    continue;
                }
                if (step >= budget[i]) {
                    r.finish = FinishReason.LENGTH;
                    remaining--;
                    continue;
                }
                int t = pick(logits[i], r, cfg);
                next[i] = t;
                r.out.add(t);
                r.seen[t] = true;
                boolean stopTok = (cfg.useEos() && mc.isEos(t)) || cfg.stopTokens().contains(t);
                String delta = "";
                if (tokenizer != null) {
                    String text = tokenizer.decode(r.textTokens(stopTok), true);
                    int cut = -1;
                    for (String s : cfg.stopStrings()) {
                        int at = text.indexOf(s, Math.max(0, r.emitted - s.length()));
                        if (at >= 0 && (cut < 0 || at < cut)) {
                            cut = at;
                        }
                    }
                    if (cut >= 0) {
                        r.text = text.substring(0, cut);
                        r.finish = FinishReason.STOP_STRING;
                    } else {
                        r.text = text;
                    }
                    int safe = r.finish != null || stopTok ? r.text.length() : safeLength(r.text, cfg.stopStrings());
                    if (safe > r.emitted) {
                        delta = r.text.substring(r.emitted, safe);
                        r.emitted = safe;
                    }
                }
                if (stopTok && r.finish == null) {
                    r.finish = FinishReason.STOP_TOKEN;
                }
                if (r.finish == null && step + 1 >= budget[i]) {
                    r.finish = FinishReason.LENGTH;
                }
                if (r.finish == null && cache.remaining() < 1) {
                    r.finish = FinishReason.LENGTH;
                }
                if (listener != null) {
                    listener.onToken(i, t, delta);
                }
                if (r.finish != null) {
                    remaining--;
                }
            }
            if (remaining == 0) {
                break;
            }
            if (compact && remaining <= active.length * 3 / 4) { // finished rows leave the batch
                int[] keep = new int[remaining];
                int[] still = new int[remaining];
                int n = 0;
                for (int j = 0; j < active.length; j++) {
                    if (rows[active[j]].finish == null) {
                        keep[n] = j;
                        still[n++] = active[j];
                    }
                }
                cache.keepRows(keep);
                active = still;
            }
            int[][] ids = new int[active.length][1];
            for (int j = 0; j < active.length; j++) {
                ids[j][0] = next[active[j]];
            }
            float[][] fresh = rows(model.forward(ids, null, cache, false));
            for (int j = 0; j < active.length; j++) {
                logits[active[j]] = fresh[j];
            }
        }
        List<Result> out = new ArrayList<>(b);
        for (Row r : rows) {
            out.add(new Result(r.out.stream().mapToInt(Integer::intValue).toArray(), r.text, r.finish));
        }
        return out;
    }

    /** The rows of last-position logits {@code [B, 1, vocab]} as B arrays; closes the tensor. */
    static float[][] rows(Tensor logits) {
        try (logits) {
            int b = (int) logits.dim(0);
            int v = (int) logits.dim(logits.rank() - 1);
            float[] all = logits.toFloatArray();
            float[][] out = new float[b][];
            for (int i = 0; i < b; i++) {
                out[i] = Arrays.copyOfRange(all, i * v, (i + 1) * v);
            }
            return out;
        }
    }

    /** Text length that can be shown: holds back a tail that may begin a stop string or an incomplete character. */
    private static int safeLength(String text, List<String> stops) {
        int safe = text.length();
        if (safe > 0 && text.charAt(safe - 1) == '\uFFFD') {
            safe--;
        }
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, text.length()); k > 0; k--) {
                if (text.regionMatches(text.length() - k, s, 0, k)) {
                    safe = Math.min(safe, text.length() - k);
                    break;
                }
            }
        }
        return safe;
    }

    private static final class Row {
        final boolean[] seen;
        final List<Integer> out = new ArrayList<>();
        final SplittableRandom rng;
        FinishReason finish;
        String text = "";
        int emitted;

        Row(int vocab, int[] history, SplittableRandom rng) {
            this.seen = new boolean[vocab];
            for (int t : history) {
                if (t >= 0 && t < vocab) {
                    seen[t] = true;
                }
            }
            this.rng = rng;
        }

        int[] textTokens(boolean dropLast) {
            int n = out.size() - (dropLast ? 1 : 0);
            int[] a = new int[n];
            for (int i = 0; i < n; i++) {
                a[i] = out.get(i);
            }
            return a;
        }
    }

    /** Applies penalty, temperature, top-k, top-p to {@code logits} (a copy) and picks a token. */
    static int pick(float[] logitsIn, Row row, GenerationConfig cfg) {
        int v = logitsIn.length;
        double[] l = new double[v];
        for (int i = 0; i < v; i++) {
            double x = logitsIn[i];
            if (Double.isNaN(x)) {
                throw new IllegalStateException("the model produced NaN logits");
            }
            if (cfg.repetitionPenalty() != 1 && row != null && row.seen[i]) {
                x = x > 0 ? x / cfg.repetitionPenalty() : x * cfg.repetitionPenalty();
            }
            l[i] = x;
        }
        if (cfg.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (l[i] > l[best]) {
                    best = i;
                }
            }
            return best;
        }
        for (int i = 0; i < v; i++) {
            l[i] /= cfg.temperature();
        }
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(l[b], l[a]));
        int keep = cfg.topK() > 0 ? Math.min(cfg.topK(), v) : v;
        double max = l[order[0]];
        double[] p = new double[keep];
        double sum = 0;
        for (int j = 0; j < keep; j++) {
            p[j] = Math.exp(l[order[j]] - max);
            sum += p[j];
        }
        if (cfg.topP() < 1) {
            double cum = 0;
            int n = 0;
            while (n < keep) {
                cum += p[n] / sum;
                n++;
                if (cum >= cfg.topP()) {
                    break;
                }
            }
            keep = n;
            sum = 0;
            for (int j = 0; j < keep; j++) {
                sum += p[j];
            }
        }
        double u = (row == null ? new SplittableRandom() : row.rng).nextDouble() * sum;
        for (int j = 0; j < keep; j++) {
            u -= p[j];
            if (u < 0) {
                return order[j];
            }
        }
        return order[keep - 1];
    }

    /** Test hook: the sampler on a single row of logits with a fresh seeded history. */
    static int sample(float[] logits, int[] history, GenerationConfig cfg, SplittableRandom rng) {
        Row r = new Row(logits.length, history, rng);
        return pick(logits, r, cfg);
    }
}
