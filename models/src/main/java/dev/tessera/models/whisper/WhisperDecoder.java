package dev.tessera.models.whisper;

import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Token-level decoding of 30 s windows: language detection, greedy, temperature sampling and beam search with
 * Whisper's {@link LogitRules}, and the no-speech probability. Works on encoder states from
 * {@link WhisperModel#encode}; text, segments and long-form seeking live in {@link Transcriber}.
 *
 * <p>Several windows (of different files) decode as one batch ({@link #decodeBatch}): prompts of different
 * lengths are left-padded in the cache (each row keeps its own positions and never attends to its padding), a row
 * that ends (end of text, or its token budget) leaves the batch and its cache rows are dropped, so it costs
 * nothing afterwards. Beam search runs {@code beam × windows} rows as one batch. Each row decodes as it would
 * alone: the same rules, the same budget, the same per-row random stream when sampling.
 */
public final class WhisperDecoder {
    private final WhisperModel model;
    private final WhisperConfig cfg;
    private final int prevSotId;
    private final int noSpeechId;

    /** A decoder with the {@code <|startofprev|>} and {@code <|nospeech|>} ids of the model's config. */
    public WhisperDecoder(WhisperModel model) {
        this(model, model.config().prevSotTokenId(), model.config().noSpeechTokenId());
    }

    /** A decoder with the given {@code <|startofprev|>} and {@code <|nospeech|>} ids (-1: none), e.g. the tokenizer's. */
    public WhisperDecoder(WhisperModel model, int prevSotId, int noSpeechId) {
        this.model = model;
        this.cfg = model.config();
        if (prevSotId >= cfg.vocabSize() || noSpeechId >= cfg.vocabSize()) {
            throw new IllegalArgumentException("<|startofprev|> " + prevSotId + " / <|nospeech|> " + noSpeechId
                    + " outside the vocabulary of " + cfg.vocabSize());
        }
        this.prevSotId = prevSotId;
        this.noSpeechId = noSpeechId;
    }

    /**
     * One decoded window: the sampled tokens (prompt excluded, EOT excluded), their summed log-probability, whether
     * it ended with {@code <|endoftext|>}, and the probability of {@code <|nospeech|>} at the first step after
     * {@code <|startoftranscript|>} (softmax of the raw logits there; NaN when the prompt has no
     * {@code <|startoftranscript|>} or the checkpoint no {@code <|nospeech|>}).
     */
    public record Result(int[] tokens, double sumLogProb, boolean endedWithEot, double noSpeechProb) {
        public Result(int[] tokens, double sumLogProb, boolean endedWithEot) {
            this(tokens, sumLogProb, endedWithEot, Double.NaN);
        }

        /**
         * The summed log-probability (of {@code <|endoftext|>} too where the window ended with it) over
         * {@code tokens.length + 1}, as openai-whisper averages for its fallback and no-speech tests.
         */
        public double avgLogProb() {
            return sumLogProb / (tokens.length + 1);
        }
    }

    /**
     * The prompt: {@code <|startoftranscript|>}, language and task tokens (multilingual), {@code <|notimestamps|>}.
     * {@code language} is a code or an English name ({@link WhisperLanguages}); null: English.
     */
    public int[] prompt(String language, String task, boolean timestamps) {
        List<Integer> p = new ArrayList<>();
        p.add(cfg.decoderStartTokenId());
        if (cfg.isMultilingual()) {
            String lang = language == null ? "en" : WhisperLanguages.code(language);
            Integer lt = cfg.langToId().get(lang);
            if (lt == null) {
                throw new IllegalArgumentException("unknown language \"" + language + "\"; this checkpoint knows "
                        + cfg.langToId().keySet() + " (a code, or the language's English name)");
            }
            p.add(lt);
            String t = task == null ? "transcribe" : task;
            Integer tt = cfg.taskToId().get(t);
            if (tt == null) {
                throw new IllegalArgumentException("unknown task \"" + t + "\"; expected one of " + cfg.taskToId().keySet());
            }
            p.add(tt);
        } else if (task != null && task.equals("translate")) {
            throw new IllegalArgumentException("an English-only checkpoint cannot translate");
        }
        if (!timestamps) {
            if (cfg.noTimestampsTokenId() < 0) {
                throw new IllegalArgumentException("this checkpoint has no <|notimestamps|> token in its generation config");
            }
            p.add(cfg.noTimestampsTokenId());
        }
        return p.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The prompt conditioned on earlier text: {@code <|startofprev|>}, the last {@code max_target_positions / 2 - 1}
     * tokens of {@code previous}, then {@link #prompt(String, String, boolean)} (as the reference implementation
     * builds it). Without previous tokens (null or empty) it is the plain prompt.
     */
    public int[] prompt(String language, String task, boolean timestamps, int[] previous) {
        int[] sot = prompt(language, task, timestamps);
        if (previous == null || previous.length == 0) {
            return sot;
        }
        if (prevSotId < 0) {
            throw new IllegalArgumentException("this checkpoint has no <|startofprev|> token: cannot condition on previous text");
        }
        int keep = Math.min(previous.length, cfg.maxTargetPositions() / 2 - 1);
        int[] p = new int[1 + keep + sot.length];
        p[0] = prevSotId;
        for (int i = 0; i < keep; i++) {
            int t = previous[previous.length - keep + i];
            if (t < 0 || t >= cfg.vocabSize()) {
                throw new IllegalArgumentException("previous-text token " + t + " outside the vocabulary [0, "
                        + cfg.vocabSize() + ")");
            }
            p[1 + i] = t;
        }
        System.arraycopy(sot, 0, p, 1 + keep, sot.length);
        return p;
    }

    /** Language codes by probability (highest first) for the first row of {@code encoded [B, frames, d]}. */
    public List<Map.Entry<String, Double>> detectLanguage(Tensor encoded) {
        return detectLanguages(encoded).get(0);
    }

    /** Per row of {@code encoded [B, frames, d]}: language codes by probability, highest first (one decoder step). */
    public List<List<Map.Entry<String, Double>>> detectLanguages(Tensor encoded) {
        int b = (int) encoded.dim(0);
        List<List<Map.Entry<String, Double>>> out = new ArrayList<>();
        if (!cfg.isMultilingual() || cfg.langToId().isEmpty()) {
            for (int i = 0; i < b; i++) {
                out.add(List.of(Map.entry("en", 1.0)));
            }
            return out;
        }
        int[][] sot = new int[b][];
        Arrays.fill(sot, new int[] {cfg.decoderStartTokenId()});
        float[] all;
        try (WhisperCache c = model.newCache(encoded, 1); Tensor l = model.decode(sot, c, false)) {
            all = l.toFloatArray();
        }
        int v = cfg.vocabSize();
        for (int r = 0; r < b; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int id : cfg.langToId().values()) {
                max = Math.max(max, all[r * v + id]);
            }
            double z = 0;
            for (int id : cfg.langToId().values()) {
                z += Math.exp(all[r * v + id] - max);
            }
            List<Map.Entry<String, Double>> row = new ArrayList<>();
            for (var e : cfg.langToId().entrySet()) {
                row.add(Map.entry(e.getKey(), Math.exp(all[r * v + e.getValue()] - max) / z));
            }
            row.sort(Map.Entry.<String, Double>comparingByValue().reversed());
            out.add(row);
        }
        return out;
    }

    /**
     * Decodes after {@code prompt} (which may start with previous-text context) for up to {@code maxNew} tokens:
     * greedy when {@code temperature == 0} and {@code beam <= 1}, beam search when {@code beam > 1} (at
     * temperature 0), sampling at {@code temperature > 0} with {@code seed}.
     */
    public Result decode(Tensor encoded, int[] prompt, boolean timestamps, int beam, double temperature, int maxNew,
            long seed) {
        if (encoded.dim(0) != 1) {
            throw new IllegalArgumentException("decode takes one window's encoder states [1, frames, d], got "
                    + encoded.describe());
        }
        return decodeBatch(encoded, new int[][] {prompt}, timestamps, beam, temperature, maxNew, seed).get(0);
    }

    /**
     * Decodes the windows of {@code encoded [B, frames, d]} together, row {@code i} after {@code prompts[i]}
     * (prompts may differ in length and content; each must hold the same number of tokens after its
     * {@code <|startoftranscript|>}, as prompts made by {@link #prompt} with the same task and timestamp setting
     * do). Results are in row order and equal to decoding each row alone with {@link #decode}.
     */
    public List<Result> decodeBatch(Tensor encoded, int[][] prompts, boolean timestamps, int beam, double temperature,
            int maxNew, long seed) {
        long[] seeds = new long[prompts == null ? 0 : prompts.length];
        Arrays.fill(seeds, seed);
        return decodeBatch(encoded, prompts, timestamps, beam, temperature, maxNew, seeds);
    }

    /**
     * As {@link #decodeBatch(Tensor, int[][], boolean, int, double, int, long)}, row {@code i} sampling from its own
     * random stream seeded with {@code seeds[i]} (several samples of one window in one batch: best-of-n).
     */
    public List<Result> decodeBatch(Tensor encoded, int[][] prompts, boolean timestamps, int beam, double temperature,
            int maxNew, long[] seeds) {
        if (prompts == null || seeds == null || seeds.length != prompts.length) {
            throw new IllegalArgumentException("decodeBatch: one seed per prompt needed, got "
                    + (seeds == null ? "null" : seeds.length) + " for " + (prompts == null ? "null" : prompts.length));
        }
        if (encoded == null || encoded.isClosed() || encoded.rank() != 3 || encoded.dim(2) != cfg.dModel()) {
            throw new IllegalArgumentException("decodeBatch needs encoder states [batch, frames, d_model = " + cfg.dModel()
                    + "], got " + (encoded == null ? "null" : encoded.describe()));
        }
        if (prompts.length != encoded.dim(0)) {
            throw new IllegalArgumentException("decodeBatch: " + prompts.length + " prompts for encoder states "
                    + encoded.describe());
        }
        if (beam < 1 || maxNew < 1) {
            throw new IllegalArgumentException("beam and max new tokens must be >= 1, got " + beam + ", " + maxNew);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        for (int[] p : prompts) {
            if (p == null || p.length == 0 || p.length >= cfg.maxTargetPositions()) {
                throw new IllegalArgumentException("prompt of " + (p == null ? 0 : p.length)
                        + " tokens does not fit the decoder context " + cfg.maxTargetPositions());
            }
        }
        LogitRules rules = new LogitRules(cfg, timestamps, LogitRules.controlTokens(cfg, prevSotId, noSpeechId));
        int[] budget = new int[prompts.length];
        for (int i = 0; i < prompts.length; i++) {
            budget[i] = Math.min(maxNew, cfg.maxTargetPositions() - prompts[i].length);
        }
        try (Prefill pf = prefill(encoded, prompts, budget)) {
            if (beam > 1 && temperature == 0) {
                return beamSearch(pf, prompts.length, rules, beam, budget);
            }
            return sample(pf, prompts.length, rules, temperature, budget, seeds);
        }
    }

    /** The cache after the prompts, the logits for each row's first sampled token, the no-speech probabilities. */
    private record Prefill(WhisperCache cache, float[] logits, double[] noSpeech) implements AutoCloseable {
        @Override
        public void close() {
            cache.close();
        }
    }

    /**
     * Runs the prompts left-padded to the longest. When every prompt has the same number of tokens after its
     * {@code <|startoftranscript|>}, that token is the last of a first call, whose logits give p(no speech).
     */
    private Prefill prefill(Tensor encoded, int[][] prompts, int[] budget) {
        int b = prompts.length;
        int longest = 0;
        int maxBudget = 0;
        for (int i = 0; i < b; i++) {
            longest = Math.max(longest, prompts[i].length);
            maxBudget = Math.max(maxBudget, budget[i]);
        }
        int[] pad = new int[b];
        int tail = -1;
        for (int i = 0; i < b; i++) {
            pad[i] = longest - prompts[i].length;
            int sot = lastIndexOf(prompts[i], cfg.decoderStartTokenId());
            int t = sot < 0 ? -2 : prompts[i].length - 1 - sot;
            tail = i == 0 ? t : (tail == t ? t : -2);
        }
        int maxPad = Arrays.stream(pad).max().orElse(0);
        WhisperCache cache = model.newCache(encoded, longest + maxBudget, maxPad);
        try {
            cache.padLeft(pad);
            int[][] padded = new int[b][longest];
            for (int i = 0; i < b; i++) {
                Arrays.fill(padded[i], 0, pad[i], prompts[i][0]); // masked slots: any valid token
                System.arraycopy(prompts[i], 0, padded[i], pad[i], prompts[i].length);
            }
            double[] noSpeech = new double[b];
            Arrays.fill(noSpeech, Double.NaN);
            float[] logits;
            if (tail < 0) {
                logits = run(padded, 0, longest, cache);
            } else {
                logits = run(padded, 0, longest - tail, cache);
                int ns = noSpeechId;
                if (ns >= 0) {
                    int v = cfg.vocabSize();
                    for (int i = 0; i < b; i++) {
                        double[] lp = logSoftmax(Arrays.copyOfRange(logits, i * v, i * v + v), 1.0);
                        noSpeech[i] = Math.exp(lp[ns]);
                    }
                }
                if (tail > 0) {
                    logits = run(padded, longest - tail, longest, cache);
                }
            }
            return new Prefill(cache, logits, noSpeech);
        } catch (RuntimeException e) {
            cache.close();
            throw e;
        }
    }

    private float[] run(int[][] ids, int from, int to, WhisperCache cache) {
        int[][] part = new int[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            part[i] = Arrays.copyOfRange(ids[i], from, to);
        }
        try (Tensor l = model.decode(part, cache, false)) {
            return l.toFloatArray();
        }
    }

    /** Greedy ({@code temperature == 0}) or sampling, row {@code i} from its own random stream seeded {@code seeds[i]}. */
    private List<Result> sample(Prefill pf, int n, LogitRules rules, double temperature, int[] budget, long[] seeds) {
        int v = cfg.vocabSize();
        int[][] out = new int[n][];
        int[] count = new int[n];
        double[] sum = new double[n];
        boolean[] eot = new boolean[n];
        Random[] rnd = new Random[n];
        for (int i = 0; i < n; i++) {
            out[i] = new int[budget[i]];
            rnd[i] = new Random(seeds[i]);
        }
        int[] live = new int[n]; // cache row k holds sequence live[k]
        for (int i = 0; i < n; i++) {
            live[i] = i;
        }
        float[] all = pf.logits();
        while (true) {
            int[] keep = new int[live.length];
            int kept = 0;
            for (int k = 0; k < live.length; k++) {
                int i = live[k];
                float[] logits = Arrays.copyOfRange(all, k * v, k * v + v);
                rules.apply(logits, out[i], count[i]);
                double[] lp = logSoftmax(logits, 1.0);
                int t = temperature == 0 ? argmax(logits) : sample(logits, temperature, rnd[i]);
                if (Double.isInfinite(lp[t])) {
                    continue; // every token suppressed (cannot happen with sane rules)
                }
                sum[i] += lp[t];
                if (t == cfg.eosTokenId()) {
                    eot[i] = true;
                    continue;
                }
                out[i][count[i]++] = t;
                if (count[i] < budget[i]) {
                    keep[kept++] = k;
                }
            }
            if (kept == 0) {
                break;
            }
            int[] from = Arrays.copyOf(keep, kept);
            pf.cache().reorder(from); // finished rows leave the batch
            int[] nextLive = new int[kept];
            int[][] next = new int[kept][];
            for (int k = 0; k < kept; k++) {
                nextLive[k] = live[from[k]];
                next[k] = new int[] {out[nextLive[k]][count[nextLive[k]] - 1]};
            }
            live = nextLive;
            try (Tensor l = model.decode(next, pf.cache(), false)) {
                all = l.toFloatArray();
            }
        }
        List<Result> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            results.add(new Result(Arrays.copyOf(out[i], count[i]), sum[i], eot[i], pf.noSpeech()[i]));
        }
        return results;
    }

    private record Hyp(int[] tokens, double logProb, int row, boolean done) {}

    /** One window's beam search state; {@code row} of a live hypothesis is relative to the window's first cache row. */
    private static final class Beam {
        List<Hyp> live = new ArrayList<>();
        final List<Hyp> finished = new ArrayList<>();
        int base; // first cache row of this window
        boolean over;
    }

    /**
     * Beam search with {@code beam} hypotheses per window, all windows' hypotheses in one batch, as openai-whisper's
     * {@code BeamSearchDecoder} (patience 1) and {@code MaximumLikelihoodRanker} (no length penalty) decide: each step
     * extends every live hypothesis by its {@code beam + 1} most likely tokens; a window's search ends when
     * {@code beam} hypotheses have finished or its token budget is spent (then the live ones fill the finished list
     * up to {@code beam}, the most likely first); the result is the finished hypothesis with the largest
     * log-probability / length, the length counting the tokens before {@code <|endoftext|>}.
     */
    private List<Result> beamSearch(Prefill pf, int n, LogitRules rules, int beam, int[] budget) {
        int v = cfg.vocabSize();
        Beam[] st = new Beam[n];
        for (int i = 0; i < n; i++) {
            st[i] = new Beam();
            st[i].live.add(new Hyp(new int[0], 0, 0, false));
            st[i].base = i;
        }
        float[] all = pf.logits();
        for (int step = 0; ; step++) {
            List<Integer> from = new ArrayList<>();
            List<int[]> next = new ArrayList<>();
            for (int f = 0; f < n; f++) {
                Beam b = st[f];
                if (b.over) {
                    continue;
                }
                List<Hyp> cand = new ArrayList<>();
                for (Hyp h : b.live) {
                    int row = b.base + h.row();
                    float[] lg = Arrays.copyOfRange(all, row * v, row * v + v);
                    rules.apply(lg, h.tokens(), h.tokens().length);
                    double[] lp = logSoftmax(lg, 1.0);
                    for (int t : topK(lp, beam + 1)) {
                        if (Double.isInfinite(lp[t])) {
                            continue;
                        }
                        boolean done = t == cfg.eosTokenId();
                        int[] toks = done ? h.tokens() : append(h.tokens(), t);
                        cand.add(new Hyp(toks, h.logProb() + lp[t], h.row(), done));
                    }
                }
                // Walking down the ranking: a candidate ending in <|endoftext|> is finished (kept while the window has
                // fewer than `beam`), any other stays live, until `beam` are live; the finished ones ranked below
                // the last live one are dropped.
                cand.sort(Comparator.comparingDouble(Hyp::logProb).reversed());
                List<Hyp> nextLive = new ArrayList<>();
                for (Hyp c : cand) {
                    if (!c.done()) {
                        nextLive.add(c);
                        if (nextLive.size() == beam) {
                            break;
                        }
                    } else if (b.finished.size() < beam) {
                        b.finished.add(c);
                    }
                }
                if (b.finished.size() >= beam || nextLive.isEmpty() || step + 1 >= budget[f]) {
                    b.over = true;
                    // fewer than `beam` finished: the live hypotheses join them, the most likely first
                    for (Hyp h : nextLive.isEmpty() ? b.live : nextLive) {
                        if (b.finished.size() >= beam) {
                            break;
                        }
                        b.finished.add(h);
                    }
                    continue;
                }
                // The window's rows continue the chosen hypotheses (a short list repeats its last one).
                int newBase = from.size();
                List<Hyp> live = new ArrayList<>();
                for (int i = 0; i < beam; i++) {
                    Hyp h = nextLive.get(Math.min(i, nextLive.size() - 1));
                    from.add(b.base + h.row());
                    next.add(new int[] {h.tokens()[h.tokens().length - 1]});
                    if (i < nextLive.size()) {
                        live.add(new Hyp(h.tokens(), h.logProb(), i, false));
                    }
                }
                b.live = live;
                b.base = newBase;
            }
            if (from.isEmpty()) {
                break;
            }
            pf.cache().reorder(from.stream().mapToInt(Integer::intValue).toArray());
            try (Tensor l = model.decode(next.toArray(new int[0][]), pf.cache(), false)) {
                all = l.toFloatArray();
            }
        }
        List<Result> out = new ArrayList<>(n);
        for (int f = 0; f < n; f++) {
            // the largest log-probability / length (tokens before <|endoftext|>), the first on a tie
            Hyp best = st[f].finished.get(0);
            for (Hyp h : st[f].finished) {
                if (rankScore(h.logProb(), h.tokens()) > rankScore(best.logProb(), best.tokens())) {
                    best = h;
                }
            }
            out.add(new Result(best.tokens(), best.logProb(), best.done(), pf.noSpeech()[f]));
        }
        return out;
    }

    /**
     * How the reference ranks finished candidates (beam hypotheses, best-of-n samples): summed log-probability over
     * the tokens before {@code <|endoftext|>} (openai-whisper's {@code MaximumLikelihoodRanker} without a length
     * penalty).
     */
    static double rankScore(double sumLogProb, int[] tokens) {
        return sumLogProb / Math.max(1, tokens.length);
    }

    private static int lastIndexOf(int[] a, int x) {
        for (int i = a.length - 1; i >= 0; i--) {
            if (a[i] == x) {
                return i;
            }
        }
        return -1;
    }

    static int[] append(int[] a, int t) {
        int[] b = Arrays.copyOf(a, a.length + 1);
        b[a.length] = t;
        return b;
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }

    static double[] logSoftmax(float[] a, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : a) {
            max = Math.max(max, x / temperature);
        }
        double z = 0;
        for (float x : a) {
            z += Math.exp(x / temperature - max);
        }
        double lz = max + Math.log(z);
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] / temperature - lz;
        }
        return out;
    }

    private static int sample(float[] logits, double temperature, Random rnd) {
        double[] lp = logSoftmax(logits, temperature);
        double u = rnd.nextDouble();
        double c = 0;
        int last = 0;
        for (int i = 0; i < lp.length; i++) {
            if (Double.isInfinite(lp[i])) {
                continue;
            }
            c += Math.exp(lp[i]);
            last = i;
            if (u < c) {
                return i;
            }
        }
        return last;
    }

    /** Indices of the {@code k} largest values, largest first (ties: lower index first). */
    static int[] topK(double[] lp, int k) {
        int m = Math.min(k, lp.length);
        int[] idx = new int[m];
        int size = 0;
        for (int i = 0; i < lp.length; i++) {
            if (size == m && !(lp[i] > lp[idx[m - 1]])) {
                continue;
            }
            int j = size < m ? size++ : m - 1;
            while (j > 0 && lp[i] > lp[idx[j - 1]]) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = i;
        }
        return Arrays.copyOf(idx, size);
    }
}
