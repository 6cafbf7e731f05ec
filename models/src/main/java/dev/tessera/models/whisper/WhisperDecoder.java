package dev.tessera.models.whisper;

import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Token-level decoding of one 30 s window: language detection, greedy, temperature sampling and beam search with
 * Whisper's {@link LogitRules}. Works on encoder states from {@link WhisperModel#encode}; text, segments and
 * long-form seeking live in {@link Transcriber}.
 */
public final class WhisperDecoder {
    private final WhisperModel model;
    private final WhisperConfig cfg;

    public WhisperDecoder(WhisperModel model) {
        this.model = model;
        this.cfg = model.config();
    }

    /** One decoded window: the sampled tokens (prompt excluded, EOT excluded), their summed log-probability. */
    public record Result(int[] tokens, double sumLogProb, boolean endedWithEot) {
        public double avgLogProb() {
            return sumLogProb / Math.max(1, tokens.length + (endedWithEot ? 1 : 0));
        }
    }

    /** The prompt: {@code <|startoftranscript|>}, language and task tokens (multilingual), {@code <|notimestamps|>}. */
    public int[] prompt(String language, String task, boolean timestamps) {
        List<Integer> p = new ArrayList<>();
        p.add(cfg.decoderStartTokenId());
        if (cfg.isMultilingual()) {
            String lang = language == null ? "en" : language;
            Integer lt = cfg.langToId().get(lang);
            if (lt == null) {
                throw new IllegalArgumentException("unknown language \"" + lang + "\"; this checkpoint knows "
                        + cfg.langToId().keySet());
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

    /** Language codes by probability (highest first) for {@code encoded [1, frames, d]}. */
    public List<Map.Entry<String, Double>> detectLanguage(Tensor encoded) {
        if (!cfg.isMultilingual() || cfg.langToId().isEmpty()) {
            return List.of(Map.entry("en", 1.0));
        }
        float[] logits;
        try (WhisperCache c = model.newCache(encoded, 1); Tensor l = model.decode(new int[][] {{cfg.decoderStartTokenId()}}, c, false)) {
            logits = l.toFloatArray();
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int id : cfg.langToId().values()) {
            max = Math.max(max, logits[id]);
        }
        double z = 0;
        for (int id : cfg.langToId().values()) {
            z += Math.exp(logits[id] - max);
        }
        List<Map.Entry<String, Double>> out = new ArrayList<>();
        for (var e : cfg.langToId().entrySet()) {
            out.add(Map.entry(e.getKey(), Math.exp(logits[e.getValue()] - max) / z));
        }
        out.sort(Map.Entry.<String, Double>comparingByValue().reversed());
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
        if (prompt.length == 0 || prompt.length >= cfg.maxTargetPositions()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the decoder context "
                    + cfg.maxTargetPositions());
        }
        int budget = Math.min(maxNew, cfg.maxTargetPositions() - prompt.length);
        LogitRules rules = new LogitRules(cfg, timestamps);
        if (beam > 1 && temperature == 0) {
            return beamSearch(encoded, prompt, rules, beam, budget);
        }
        Random rnd = new Random(seed);
        int[] out = new int[budget];
        int n = 0;
        double sum = 0;
        boolean eot = false;
        try (WhisperCache cache = model.newCache(encoded, prompt.length + budget)) {
            int[] next = prompt;
            while (n < budget) {
                float[] logits;
                try (Tensor l = model.decode(new int[][] {next}, cache, false)) {
                    logits = l.toFloatArray();
                }
                rules.apply(logits, out, n);
                double[] lp = logSoftmax(logits, 1.0);
                int t = temperature == 0 ? argmax(logits) : sample(logits, temperature, rnd);
                if (Double.isInfinite(lp[t])) {
                    break; // every token suppressed (cannot happen with sane rules)
                }
                sum += lp[t];
                if (t == cfg.eosTokenId()) {
                    eot = true;
                    break;
                }
                out[n++] = t;
                next = new int[] {t};
            }
        }
        return new Result(Arrays.copyOf(out, n), sum, eot);
    }

    private record Hyp(int[] tokens, double logProb, int cacheRow, boolean done) {}

    /** Beam search with {@code beam} hypotheses; finished hypotheses ranked by log-probability / length. */
    private Result beamSearch(Tensor encoded, int[] prompt, LogitRules rules, int beam, int budget) {
        List<Hyp> finished = new ArrayList<>();
        try (Scope scope = Tessera.scope()) {
            Tensor rep = Ops.concat(0, java.util.Collections.nCopies(beam, encoded).toArray(new Tensor[0]));
            try (WhisperCache cache = model.newCache(rep, prompt.length + budget)) {
                List<Hyp> live = new ArrayList<>();
                for (int i = 0; i < beam; i++) {
                    live.add(new Hyp(new int[0], 0, i, false));
                }
                int[][] next = new int[beam][];
                Arrays.fill(next, prompt);
                for (int step = 0; step < budget && !live.isEmpty(); step++) {
                    float[] all;
                    try (Tensor l = model.decode(next, cache, false)) {
                        all = l.toFloatArray();
                    }
                    int v = cfg.vocabSize();
                    List<Hyp> cand = new ArrayList<>();
                    int rows = step == 0 ? 1 : live.size(); // at the first step every row is the same prompt
                    for (int r = 0; r < rows; r++) {
                        Hyp h = live.get(r);
                        float[] lg = Arrays.copyOfRange(all, h.cacheRow() * v, h.cacheRow() * v + v);
                        rules.apply(lg, h.tokens(), h.tokens().length);
                        double[] lp = logSoftmax(lg, 1.0);
                        Integer[] idx = topK(lp, beam + 1);
                        for (int t : idx) {
                            if (Double.isInfinite(lp[t])) {
                                continue;
                            }
                            boolean done = t == cfg.eosTokenId();
                            int[] toks = done ? h.tokens() : append(h.tokens(), t);
                            cand.add(new Hyp(toks, h.logProb() + lp[t], h.cacheRow(), done));
                        }
                    }
                    cand.sort(Comparator.comparingDouble(Hyp::logProb).reversed());
                    List<Hyp> nextLive = new ArrayList<>();
                    for (Hyp c : cand) {
                        if (c.done()) {
                            finished.add(c);
                        } else if (nextLive.size() < beam) {
                            nextLive.add(c);
                        }
                        if (nextLive.size() == beam && finished.size() >= beam) {
                            break;
                        }
                    }
                    if (finished.size() >= beam || nextLive.isEmpty()) {
                        break;
                    }
                    // Reorder the cache: new row i continues old row nextLive[i].cacheRow.
                    int[] from = new int[beam];
                    for (int i = 0; i < beam; i++) {
                        from[i] = nextLive.get(Math.min(i, nextLive.size() - 1)).cacheRow();
                    }
                    cache.reorder(from);
                    live = new ArrayList<>();
                    for (int i = 0; i < nextLive.size(); i++) {
                        Hyp h = nextLive.get(i);
                        live.add(new Hyp(h.tokens(), h.logProb(), i, false));
                    }
                    next = new int[beam][];
                    for (int i = 0; i < beam; i++) {
                        Hyp h = live.get(Math.min(i, live.size() - 1));
                        next[i] = new int[] {h.tokens()[h.tokens().length - 1]};
                    }
                }
                if (finished.isEmpty()) {
                    finished.addAll(live);
                }
            }
        }
        Hyp best = finished.stream()
                .max(Comparator.comparingDouble(h -> h.logProb() / Math.max(1, h.tokens().length + (h.done() ? 1 : 0))))
                .orElseThrow();
        return new Result(best.tokens(), best.logProb(), best.done());
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

    private static Integer[] topK(double[] lp, int k) {
        Integer[] idx = new Integer[lp.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (x, y) -> Double.compare(lp[y], lp[x]));
        return Arrays.copyOf(idx, Math.min(k, idx.length));
    }
}
