package dev.tessera.models.whisper;

import dev.tessera.models.text.PyStrings;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Word-level timestamps, by openai-whisper's method ({@code whisper/timing.py}): the decoder is run once more over a
 * window's text (teacher-forced, without timestamps); the cross-attention of the checkpoint's alignment heads, a
 * softmax over the window's audio positions, normalized per audio position over the tokens, median-filtered (width
 * 7) and averaged over the heads, gives a token × time matrix; dynamic time warping through it assigns each token a
 * time; tokens are grouped into words (on spaces, or on whole characters for Chinese, Japanese, Thai, Lao, Burmese
 * and Cantonese), punctuation is merged into its neighbours and a few guards bound the length of words at sentence
 * and segment boundaries. A word's probability is the mean of its tokens' probabilities in that pass.
 *
 * <p>{@link Transcriber.Options#withWordTimestamps(boolean)} turns it on in a transcription; the steps are exposed
 * (package-private) for tests.
 */
public final class WordTimestamps {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WordTimestamps.class);
    /** Punctuation merged into the following word when it stands alone before it (openai-whisper's default). */
    public static final String PREPEND_PUNCTUATIONS = "\"'\u201c\u00bf([{-";
    /** Punctuation merged into the preceding word (openai-whisper's default). */
    public static final String APPEND_PUNCTUATIONS = "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001";
    static final int MEDIAN_FILTER_WIDTH = 7;
    /** Encoder positions per second: 16 kHz / hop 160 / conv stride 2. */
    static final double POSITIONS_PER_SECOND = 50;
    private static final String PY_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    private static final String SENTENCE_END_MARKS = ".\u3002!\uff01?\uff1f";
    private static final Set<String> CHARACTER_LANGUAGES = Set.of("zh", "ja", "th", "lo", "my", "yue");
    private static final char REPLACEMENT = '\ufffd';

    private WordTimestamps() {}

    /** A timed word: its text (with its leading space), start and end in seconds, and mean token probability. */
    public record Word(String word, double start, double end, double probability) {}

    /** A word before punctuation is merged: mutable, as the merge moves text and tokens between neighbours. */
    static final class Timing {
        String word;
        int[] tokens;
        double start;
        double end;
        final double probability;

        Timing(String word, int[] tokens, double start, double end, double probability) {
            this.word = word;
            this.tokens = tokens;
            this.start = start;
            this.end = end;
            this.probability = probability;
        }

        @Override
        public String toString() {
            return "'" + word + "' " + start + "-" + end + " p " + probability;
        }
    }

    /** Tokens grouped into words (each group's text decoded). */
    record Split(List<String> words, List<int[]> tokens) {}

    /** What {@link #findAlignment} computed, kept for tests. */
    record Alignment(double[][] matrix, int[] textIndices, int[] timeIndices, double[] tokenProbs, List<Timing> words) {}

    /**
     * One window's segments with their words and bounds moved to them, and the end of the last speech (seconds): the
     * last word's end, else the last segment's ({@link #end}), else the {@code lastSpeech} given; the next window's
     * call takes it as its {@code lastSpeech}.
     */
    public record Timed(List<Transcriber.Segment> segments, double lastSpeechTimestamp) {}

    // ------------------------------------------------------------------ alignment

    /**
     * Aligns {@code textTokens} (a window's text, no timestamps) with the window's audio: {@code encoded} is the
     * window's encoder output {@code [1, positions, d]}, {@code sotSequence} the {@code <|startoftranscript|>},
     * language and task tokens, {@code numFrames} the window's mel frames holding audio (not padding).
     */
    static Alignment findAlignment(WhisperModel model, Tokenizer tokenizer, Tensor encoded, int[] sotSequence,
            int[] textTokens, int numFrames, String language) {
        WhisperConfig cfg = model.config();
        if (textTokens.length == 0 || numFrames / 2 < 1) { // no text, or no audio position (a window of one frame)
            return new Alignment(new double[0][], new int[0], new int[0], new double[0], List.of());
        }
        if (cfg.noTimestampsTokenId() < 0) {
            throw new IllegalArgumentException("word timestamps need the checkpoint's <|notimestamps|> token "
                    + "(no_timestamps_token_id in generation_config.json)");
        }
        int eot = cfg.eosTokenId();
        int[] ids = new int[sotSequence.length + textTokens.length + 2];
        System.arraycopy(sotSequence, 0, ids, 0, sotSequence.length);
        ids[sotSequence.length] = cfg.noTimestampsTokenId();
        System.arraycopy(textTokens, 0, ids, sotSequence.length + 1, textTokens.length);
        ids[ids.length - 1] = eot;
        if (ids.length > cfg.maxTargetPositions()) {
            // only a checkpoint whose context is shorter than a window's text (not Whisper's 448 against at most
            // 224 new tokens a window) gets here
            LOG.warn("word timestamps: {} alignment tokens exceed the decoder's context of {}; this window gets no words",
                    ids.length, cfg.maxTargetPositions());
            return new Alignment(new double[0][], new int[0], new int[0], new double[0], List.of());
        }
        int[][] heads = cfg.alignmentHeadPairs();
        double[] probs = new double[textTokens.length];
        int positions = Math.min(numFrames / 2, (int) encoded.dim(1));
        double[][] mean = new double[ids.length][positions];
        try (Scope scope = Tessera.scope()) {
            Tensor logits = model.crossAttentionScores(encoded, ids, heads,
                    (pair, scores) -> addHead(mean, scores, positions, heads.length)); // [1, S, vocab]
            // p(text token i) under the softmax over the text vocabulary [0, eot) at the position before it
            int from = sotSequence.length;
            Tensor logp = Ops.logSoftmax(logits.slice(1, from, from + textTokens.length).slice(2, 0, eot));
            for (int i = 0; i < textTokens.length; i++) {
                probs[i] = Math.exp(logp.slice(1, i, i + 1).slice(2, textTokens[i], textTokens[i] + 1).toFloatArray()[0]);
            }
        }
        double[][] matrix = Arrays.copyOfRange(mean, sotSequence.length, ids.length - 1);
        double[][] neg = new double[matrix.length][];
        for (int i = 0; i < matrix.length; i++) {
            neg[i] = new double[matrix[i].length];
            for (int j = 0; j < neg[i].length; j++) {
                neg[i][j] = -matrix[i][j];
            }
        }
        int[][] path = dtw(neg);
        int[] all = Arrays.copyOf(textTokens, textTokens.length + 1);
        all[textTokens.length] = eot;
        Split split = splitToWordTokens(tokenizer, all, language, eot);
        return new Alignment(matrix, path[0], path[1], probs, timings(split, path[0], path[1], probs));
    }

    /**
     * Adds one head's share to {@code mean [token][position]}: its first {@code positions} audio positions kept, a
     * softmax over them, each position standardized over the tokens (population standard deviation), a median filter
     * of width 7 along time, divided by the number of {@code heads}.
     */
    static void addHead(double[][] mean, float[][] head, int positions, int heads) {
        int tokens = head.length;
        int m = Math.min(positions, head[0].length);
        double[][] w = new double[tokens][m];
        // rows are independent in the softmax and the median filter: split over the common pool (each element's sums
        // keep their order, so the result does not depend on the split)
        java.util.stream.IntStream.range(0, tokens).parallel().forEach(t -> {
            double max = Double.NEGATIVE_INFINITY;
            for (int f = 0; f < m; f++) {
                max = Math.max(max, head[t][f]);
            }
            double sum = 0;
            for (int f = 0; f < m; f++) {
                w[t][f] = Math.exp(head[t][f] - max);
                sum += w[t][f];
            }
            for (int f = 0; f < m; f++) {
                w[t][f] /= sum;
            }
        });
        // each position standardized over the tokens (sums in token order, row by row)
        double[] mu = new double[m];
        double[] var = new double[m];
        for (double[] row : w) {
            for (int f = 0; f < m; f++) {
                mu[f] += row[f];
            }
        }
        for (int f = 0; f < m; f++) {
            mu[f] /= tokens;
        }
        for (double[] row : w) {
            for (int f = 0; f < m; f++) {
                double d = row[f] - mu[f];
                var[f] += d * d;
            }
        }
        for (int f = 0; f < m; f++) {
            var[f] = Math.sqrt(var[f] / tokens);
        }
        java.util.stream.IntStream.range(0, tokens).parallel().forEach(t -> {
            double[] row = w[t];
            for (int f = 0; f < m; f++) {
                row[f] = (row[f] - mu[f]) / var[f];
            }
            double[] filtered = new double[m];
            medianFilter(row, MEDIAN_FILTER_WIDTH, filtered);
            double[] out = mean[t];
            for (int f = 0; f < m; f++) {
                out[f] += filtered[f] / heads;
            }
        });
    }

    /**
     * A median filter of odd {@code width} with reflected edges ({@code x[-k] = x[k]}); a row no longer than
     * {@code width / 2} is returned as it is, as the reference does.
     */
    static double[] medianFilter(double[] x, int width) {
        double[] out = new double[x.length];
        medianFilter(x, width, out);
        return out;
    }

    /** As {@link #medianFilter(double[], int)}, into {@code out}. */
    static void medianFilter(double[] x, int width, double[] out) {
        int pad = width / 2;
        int n = x.length;
        if (n <= pad) {
            System.arraycopy(x, 0, out, 0, n);
            return;
        }
        double[] win = new double[width];
        for (int i = 0; i < n; i++) {
            if (width == 7 && i >= pad && i + pad < n && median7(x, i - pad, out, i)) {
                continue;
            }
            for (int k = 0; k < width; k++) {
                int j = i - pad + k;
                if (j < 0) {
                    j = -j;
                } else if (j >= n) {
                    j = 2 * (n - 1) - j;
                }
                win[k] = x[j];
            }
            Arrays.sort(win);
            out[i] = win[pad];
        }
    }

    /**
     * The median of {@code x[from .. from + 6]} into {@code out[at]} by a 16-comparator sorting network (Knuth); false
     * (nothing written) where a value is NaN, which the general path orders as the reference's sort does.
     */
    private static boolean median7(double[] x, int from, double[] out, int at) {
        double a0 = x[from], a1 = x[from + 1], a2 = x[from + 2], a3 = x[from + 3], a4 = x[from + 4], a5 = x[from + 5],
                a6 = x[from + 6];
        if (Double.isNaN(a0 + a1 + a2 + a3 + a4 + a5 + a6)) {
            return false;
        }
        double t;
        t = Math.min(a0, a6); a6 = Math.max(a0, a6); a0 = t;
        t = Math.min(a2, a3); a3 = Math.max(a2, a3); a2 = t;
        t = Math.min(a4, a5); a5 = Math.max(a4, a5); a4 = t;
        t = Math.min(a0, a2); a2 = Math.max(a0, a2); a0 = t;
        t = Math.min(a1, a4); a4 = Math.max(a1, a4); a1 = t;
        t = Math.min(a3, a6); a6 = Math.max(a3, a6); a3 = t;
        t = Math.min(a0, a1); a1 = Math.max(a0, a1); a0 = t;
        t = Math.min(a2, a5); a5 = Math.max(a2, a5); a2 = t;
        t = Math.min(a3, a4); a4 = Math.max(a3, a4); a3 = t;
        t = Math.min(a1, a2); a2 = Math.max(a1, a2); a1 = t;
        t = Math.min(a4, a6); a6 = Math.max(a4, a6); a4 = t;
        t = Math.min(a2, a3); a3 = Math.max(a2, a3); a2 = t;
        t = Math.min(a4, a5); a5 = Math.max(a4, a5); a4 = t;
        t = Math.min(a1, a2); a2 = Math.max(a1, a2); a1 = t;
        t = Math.min(a3, a4); a4 = Math.max(a3, a4); a3 = t;
        out[at] = a3;
        return true;
    }

    /**
     * Dynamic time warping through the cost {@code x [N][M]} (openai-whisper's {@code dtw_cpu}: accumulated costs held
     * in float32, a diagonal step preferred only when strictly cheapest, then a vertical one, else horizontal):
     * returns {@code {tokenIndices, timeIndices}} of the path from (0, 0) to (N - 1, M - 1).
     */
    static int[][] dtw(double[][] x) {
        int n = x.length;
        int m = n == 0 ? 0 : x[0].length;
        float[][] cost = new float[n + 1][m + 1];
        byte[][] trace = new byte[n + 1][m + 1];
        for (float[] row : cost) {
            Arrays.fill(row, Float.POSITIVE_INFINITY);
        }
        for (byte[] row : trace) {
            Arrays.fill(row, (byte) -1);
        }
        cost[0][0] = 0;
        for (int j = 1; j <= m; j++) {
            for (int i = 1; i <= n; i++) {
                float c0 = cost[i - 1][j - 1];
                float c1 = cost[i - 1][j];
                float c2 = cost[i][j - 1];
                float c;
                byte t;
                if (c0 < c1 && c0 < c2) {
                    c = c0;
                    t = 0;
                } else if (c1 < c0 && c1 < c2) {
                    c = c1;
                    t = 1;
                } else {
                    c = c2;
                    t = 2;
                }
                cost[i][j] = (float) (x[i - 1][j - 1] + c);
                trace[i][j] = t;
            }
        }
        Arrays.fill(trace[0], (byte) 2);
        for (int i = 0; i <= n; i++) {
            trace[i][0] = 1;
        }
        List<int[]> path = new ArrayList<>();
        int i = n;
        int j = m;
        while (i > 0 || j > 0) {
            path.add(new int[] {i - 1, j - 1});
            switch (trace[i][j]) {
                case 0 -> {
                    i--;
                    j--;
                }
                case 1 -> i--;
                case 2 -> j--;
                default -> throw new IllegalStateException("dtw: no step recorded at (" + i + ", " + j + ")");
            }
        }
        int[] ti = new int[path.size()];
        int[] tj = new int[path.size()];
        for (int k = 0; k < path.size(); k++) {
            int[] p = path.get(path.size() - 1 - k);
            ti[k] = p[0];
            tj[k] = p[1];
        }
        return new int[][] {ti, tj};
    }

    /**
     * Words with their times from the path: a token's time is where the path first reaches its row; a word runs
     * from its first token's time to the next word's. The last group is {@code <|endoftext|>}'s; fewer than two
     * groups give no words.
     */
    private static List<Timing> timings(Split split, int[] textIdx, int[] timeIdx, double[] probs) {
        List<int[]> groups = split.tokens();
        if (groups.size() <= 1) {
            return List.of();
        }
        List<Double> jumpTimes = new ArrayList<>();
        for (int k = 0; k < textIdx.length; k++) {
            if (k == 0 || textIdx[k] != textIdx[k - 1]) {
                jumpTimes.add(timeIdx[k] / POSITIONS_PER_SECOND);
            }
        }
        int[] bounds = new int[groups.size()];
        for (int g = 1; g < groups.size(); g++) {
            bounds[g] = bounds[g - 1] + groups.get(g - 1).length;
        }
        List<Timing> out = new ArrayList<>();
        for (int g = 0; g + 1 < groups.size(); g++) {
            double p = 0;
            for (int k = bounds[g]; k < bounds[g + 1]; k++) {
                p += probs[k];
            }
            out.add(new Timing(split.words().get(g), groups.get(g), jumpTimes.get(bounds[g]), jumpTimes.get(bounds[g + 1]),
                    p / (bounds[g + 1] - bounds[g])));
        }
        return out;
    }

    // ------------------------------------------------------------------ words

    /**
     * Groups {@code tokens} into words: for Chinese, Japanese, Thai, Lao, Burmese and Cantonese at every whole
     * character, else a new word at a piece starting with a space, at punctuation and at special tokens (openai-whisper's
     * {@code split_to_word_tokens}).
     */
    static Split splitToWordTokens(Tokenizer tokenizer, int[] tokens, String language, int eot) {
        Split pieces = splitOnUnicode(tokenizer, tokens);
        if (language != null && CHARACTER_LANGUAGES.contains(language)) {
            return pieces;
        }
        List<String> words = new ArrayList<>();
        List<int[]> groups = new ArrayList<>();
        for (int k = 0; k < pieces.words().size(); k++) {
            String sub = pieces.words().get(k);
            int[] toks = pieces.tokens().get(k);
            boolean special = toks[0] >= eot;
            boolean space = sub.startsWith(" ");
            boolean punct = PY_PUNCTUATION.contains(PyStrings.strip(sub));
            if (special || space || punct || words.isEmpty()) {
                words.add(sub);
                groups.add(toks);
            } else {
                int last = words.size() - 1;
                words.set(last, words.get(last) + sub);
                groups.set(last, concat(groups.get(last), toks));
            }
        }
        return new Split(words, groups);
    }

    /**
     * Cuts {@code tokens} where the text decoded so far ends on a whole character: a piece whose decoding ends in a
     * replacement character is continued unless the full text has a replacement character there too.
     */
    static Split splitOnUnicode(Tokenizer tokenizer, int[] tokens) {
        int[] full = tokenizer.decode(tokens, false).codePoints().toArray();
        List<String> words = new ArrayList<>();
        List<int[]> groups = new ArrayList<>();
        int start = 0;
        int offset = 0;
        for (int k = 0; k < tokens.length; k++) {
            int[] current = Arrays.copyOfRange(tokens, start, k + 1);
            String decoded = tokenizer.decode(current, false);
            int[] cps = decoded.codePoints().toArray();
            int rep = -1;
            for (int c = 0; c < cps.length; c++) {
                if (cps[c] == REPLACEMENT) {
                    rep = c;
                    break;
                }
            }
            if (rep < 0 || (offset + rep < full.length && full[offset + rep] == REPLACEMENT)) {
                words.add(decoded);
                groups.add(current);
                start = k + 1;
                offset += cps.length;
            }
        }
        return new Split(words, groups);
    }

    /**
     * Merges standalone punctuation into its neighbours (openai-whisper's {@code merge_punctuations}): an opening mark
     * with a leading space ({@code prepended}) into the word after it, a closing mark ({@code appended}) into the word
     * before it unless that ends with a space. The emptied entries stay, with no text and no tokens.
     */
    static void mergePunctuations(List<Timing> alignment, String prepended, String appended) {
        int i = alignment.size() - 2;
        int j = alignment.size() - 1;
        while (i >= 0) {
            Timing prev = alignment.get(i);
            Timing next = alignment.get(j);
            if (prev.word.startsWith(" ") && prepended.contains(PyStrings.strip(prev.word))) {
                moveInto(prev, next, true);
            } else {
                j = i;
            }
            i--;
        }
        i = 0;
        j = 1;
        while (j < alignment.size()) {
            Timing prev = alignment.get(i);
            Timing next = alignment.get(j);
            if (!prev.word.endsWith(" ") && appended.contains(next.word)) {
                moveInto(next, prev, false);
            } else {
                i = j;
            }
            j++;
        }
    }

    /**
     * Moves {@code from}'s text and tokens into its neighbour {@code into} (in front of them when {@code from} stands
     * before it), leaving {@code from} empty.
     */
    private static void moveInto(Timing from, Timing into, boolean fromBefore) {
        into.word = fromBefore ? from.word + into.word : into.word + from.word;
        into.tokens = fromBefore ? concat(from.tokens, into.tokens) : concat(into.tokens, from.tokens);
        from.word = "";
        from.tokens = new int[0];
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    // ------------------------------------------------------------------ segments

    /**
     * Adds words to one window's {@code segments} (openai-whisper's {@code add_word_timestamps}): aligns their text
     * tokens together, bounds words longer than twice the median word (at most 0.7 s) at sentence ends, merges
     * punctuation, hands the words to their segments and moves each segment's bounds to its words' (keeping a
     * segment's own start or end where its first or last word would stretch past it by more than 0.5 s; the first
     * word after a pause longer than four median words is shortened). {@code seekFrames} is the window's first
     * frame; {@code numFrames} its mel frames that hold audio; {@code lastSpeech} the end of the speech before it
     * (seconds, 0 at the start). {@code encoded} is the window's encoder output {@code [1, positions, d_model]};
     * {@code language} a code or English name (null: English), {@code task} transcribe or translate.
     */
    public static Timed addWordTimestamps(WhisperModel model, Tokenizer tokenizer, Tensor encoded, String language,
            String task, List<Transcriber.Segment> segments, long seekFrames, int numFrames, double lastSpeech) {
        return addWordTimestamps(model, tokenizer, encoded, language, task, segments, seekFrames, numFrames, lastSpeech,
                PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS);
    }

    /** As above, merging {@code prepend} / {@code append} punctuation instead of openai-whisper's defaults. */
    public static Timed addWordTimestamps(WhisperModel model, Tokenizer tokenizer, Tensor encoded, String language,
            String task, List<Transcriber.Segment> segments, long seekFrames, int numFrames, double lastSpeech,
            String prepend, String append) {
        if (prepend == null || append == null) {
            throw new IllegalArgumentException("word timestamps: punctuation strings must not be null (\"\" merges none)");
        }
        if (model == null || tokenizer == null || encoded == null || segments == null) {
            throw new IllegalArgumentException("word timestamps need a model, its tokenizer, the window's encoder states and"
                    + " its segments (one of them is null)");
        }
        if (numFrames < 0 || numFrames > model.config().melFrames()) {
            throw new IllegalArgumentException("word timestamps: numFrames must be in [0, " + model.config().melFrames()
                    + "], got " + numFrames);
        }
        int[] sot = new WhisperDecoder(model).prompt(language, task, true);
        String lang = model.config().isMultilingual() && language != null ? WhisperLanguages.code(language) : "en";
        return addWords(model, tokenizer, encoded, sot, lang, segments, seekFrames, numFrames, lastSpeech, prepend, append);
    }

    /** As the public form, with the {@code <|startoftranscript|>} sequence given and {@code language} a code. */
    static Timed addWords(WhisperModel model, Tokenizer tokenizer, Tensor encoded, int[] sotSequence,
            String language, List<Transcriber.Segment> segments, long seekFrames, int numFrames, double lastSpeech,
            String prepend, String append) {
        if (segments.isEmpty()) {
            return new Timed(segments, lastSpeech);
        }
        int eot = model.config().eosTokenId();
        List<int[]> perSegment = new ArrayList<>();
        int total = 0;
        for (Transcriber.Segment s : segments) {
            int[] t = Arrays.stream(s.tokens()).filter(x -> x < eot).toArray();
            perSegment.add(t);
            total += t.length;
        }
        int[] text = new int[total];
        int at = 0;
        for (int[] t : perSegment) {
            System.arraycopy(t, 0, text, at, t.length);
            at += t.length;
        }
        List<Timing> alignment = findAlignment(model, tokenizer, encoded, sotSequence, text, numFrames, language).words();
        return place(segments, perSegment, alignment, seekFrames, lastSpeech, prepend, append);
    }

    /** The steps of {@link #addWordTimestamps} after the alignment (which it changes in place). */
    static Timed place(List<Transcriber.Segment> segments, List<int[]> perSegment, List<Timing> alignment, long seekFrames,
            double lastSpeech, String prepend, String append) {
        double[] durations = alignment.stream().mapToDouble(t -> t.end - t.start).filter(d -> d != 0).sorted().toArray();
        double median = 0;
        if (durations.length > 0) {
            int n = durations.length;
            median = n % 2 == 1 ? durations[n / 2] : (durations[n / 2 - 1] + durations[n / 2]) / 2;
        }
        median = Math.min(0.7, median);
        double maxDuration = median * 2;
        if (durations.length > 0) {
            for (int i = 1; i < alignment.size(); i++) {
                Timing w = alignment.get(i);
                if (w.end - w.start > maxDuration) {
                    if (SENTENCE_END_MARKS.contains(w.word)) {
                        w.end = w.start + maxDuration;
                    } else if (SENTENCE_END_MARKS.contains(alignment.get(i - 1).word)) {
                        w.start = w.end - maxDuration;
                    }
                }
            }
        }
        mergePunctuations(alignment, prepend, append);
        double offset = seekFrames * 160 / (double) Transcriber.SAMPLE_RATE;
        int wordIndex = 0;
        List<Transcriber.Segment> out = new ArrayList<>();
        for (int si = 0; si < segments.size(); si++) {
            Transcriber.Segment seg = segments.get(si);
            int textTokens = perSegment.get(si).length;
            int saved = 0;
            List<double[]> times = new ArrayList<>(); // start, end
            List<Timing> words = new ArrayList<>();
            while (wordIndex < alignment.size() && saved < textTokens) {
                Timing t = alignment.get(wordIndex);
                if (!t.word.isEmpty()) {
                    words.add(t);
                    times.add(new double[] {round2(offset + t.start), round2(offset + t.end)});
                }
                saved += t.tokens.length;
                wordIndex++;
            }
            double segStart = seg.start();
            double segEnd = seg.end();
            if (!words.isEmpty()) {
                double[] first = times.get(0);
                if (first[1] - lastSpeech > median * 4 && (first[1] - first[0] > maxDuration
                        || (times.size() > 1 && times.get(1)[1] - first[0] > maxDuration * 2))) {
                    if (times.size() > 1 && times.get(1)[1] - times.get(1)[0] > maxDuration) {
                        double boundary = Math.max(times.get(1)[1] / 2, times.get(1)[1] - maxDuration);
                        first[1] = boundary;
                        times.get(1)[0] = boundary;
                    }
                    first[0] = Math.max(0, first[1] - maxDuration);
                }
                if (segStart < first[1] && segStart - 0.5 > first[0]) {
                    first[0] = Math.max(0, Math.min(first[1] - median, segStart));
                } else {
                    segStart = first[0];
                }
                double[] last = times.get(times.size() - 1);
                if (segEnd > last[0] && segEnd + 0.5 < last[1]) {
                    last[1] = Math.max(last[0] + median, segEnd);
                } else {
                    segEnd = last[1];
                }
                lastSpeech = segEnd;
            }
            List<Word> list = new ArrayList<>(words.size());
            for (int k = 0; k < words.size(); k++) {
                list.add(new Word(words.get(k).word, times.get(k)[0], times.get(k)[1], words.get(k).probability));
            }
            out.add(new Transcriber.Segment(segStart, segEnd, seg.text(), seg.tokens(), seg.window(), List.copyOf(list)));
        }
        double end = end(out);
        return new Timed(out, Double.isNaN(end) ? lastSpeech : end);
    }

    /**
     * The reference's {@code round(t, 2)} on a numpy float64, which numpy computes as {@code rint(t * 100) / 100}
     * (half to even on the scaled value).
     */
    static double round2(double x) {
        return Math.rint(x * 100) / 100;
    }

    /** Punctuation that {@link #isAnomaly} leaves out (openai-whisper's list, tested as a substring). */
    private static final String ANOMALY_PUNCTUATION = "\"'\u201c\u00bf([{-\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001";

    /**
     * How unlike speech a word looks (openai-whisper's {@code word_anomaly_score}): 1 for a probability below 0.15,
     * plus {@code (0.133 − d) · 15} for a duration {@code d} under 0.133 s, plus {@code d − 2} over 2 s.
     */
    static double anomalyScore(Word w) {
        double d = w.end() - w.start();
        double score = 0;
        if (w.probability() < 0.15) {
            score += 1.0;
        }
        if (d < 0.133) {
            score += (0.133 - d) * 15;
        }
        if (d > 2.0) {
            score += d - 2.0;
        }
        return score;
    }

    /**
     * Whether a segment looks hallucinated: the anomaly scores of its first 8 words that are not punctuation sum to 3
     * or more, or to nearly one a word. A segment without words (or none) is not.
     */
    static boolean isAnomaly(Transcriber.Segment s) {
        if (s == null || s.words().isEmpty()) {
            return false;
        }
        double score = 0;
        int n = 0;
        for (Word w : s.words()) {
            if (ANOMALY_PUNCTUATION.contains(w.word())) {
                continue;
            }
            if (n == 8) {
                break;
            }
            score += anomalyScore(w);
            n++;
        }
        return score >= 3 || score + 0.01 >= n;
    }

    private static Transcriber.Segment nextWithWords(List<Transcriber.Segment> segs, int from) {
        for (int i = from; i < segs.size(); i++) {
            if (!segs.get(i).words().isEmpty()) {
                return segs.get(i);
            }
        }
        return null;
    }

    /**
     * Where the transcription goes after a window's word timestamps (frames of 10 ms): {@code seek} the next window's
     * start; {@code skipWindow}: the window's segments are dropped (a leading hallucination after silence);
     * {@code keptSegments}: how many of them stay; {@code lastSpeech}: the end of the last speech so far.
     */
    record Next(long seek, boolean skipWindow, int keptSegments, double lastSpeech) {}

    /**
     * openai-whisper's steps after {@code add_word_timestamps}: the next window starts at the last word's end (unless
     * the window ended on a single timestamp or that end is not past the window's start); with a
     * {@code silenceThreshold} (seconds; NaN: off, its default) it does so only when the silence left in the window is
     * longer than the threshold (else after the window), skips a window whose first worded segment looks hallucinated
     * and starts after a silence longer than the threshold (to that segment's start), and cuts the window at a
     * hallucinated-looking segment with silence (or hallucinations, or the window's edge) on both sides (to its start,
     * or to the end of the audio when less than the threshold remains after it).
     *
     * @param segments the window's segments with their words
     * @param seek the window's first frame
     * @param segmentSize its frames of audio
     * @param windowFrames the model's window (3000)
     * @param contentFrames the audio's frames
     * @param singleTimestampEnding whether the window's tokens end with one timestamp
     * @param seekByTimestamps where the timestamps put the next window
     * @param lastSpeech the end of the speech before the window
     */
    static Next next(List<Transcriber.Segment> segments, long seek, int segmentSize, int windowFrames, long contentFrames,
            boolean singleTimestampEnding, long seekByTimestamps, double lastSpeech, double silenceThreshold) {
        double timeOffset = seek * 160 / (double) Transcriber.SAMPLE_RATE;
        double windowEnd = (seek + windowFrames) * 160 / (double) Transcriber.SAMPLE_RATE;
        double segmentDuration = segmentSize * 160 / (double) Transcriber.SAMPLE_RATE;
        double contentDuration = contentFrames * 160 / (double) Transcriber.SAMPLE_RATE;
        long next = seekByTimestamps;
        double lastWordEnd = end(segments);
        boolean pastStart = !singleTimestampEnding && lastWordEnd > timeOffset;
        if (pastStart) {
            next = (long) Math.rint(lastWordEnd * 100);
        }
        int kept = segments.size();
        if (!Double.isNaN(silenceThreshold)) {
            double threshold = silenceThreshold;
            if (pastStart) {
                next = windowEnd - lastWordEnd > threshold ? (long) Math.rint(lastWordEnd * 100) : seek + segmentSize;
            }
            Transcriber.Segment first = nextWithWords(segments, 0);
            if (first != null && isAnomaly(first)) {
                double gap = first.start() - timeOffset;
                if (gap > threshold) {
                    return new Next(seek + (long) Math.rint(gap * 100), true, 0, lastSpeech);
                }
            }
            double halLastEnd = lastSpeech;
            for (int si = 0; si < segments.size(); si++) {
                Transcriber.Segment s = segments.get(si);
                if (s.words().isEmpty()) {
                    continue;
                }
                if (isAnomaly(s)) {
                    Transcriber.Segment following = nextWithWords(segments, si + 1);
                    double halNextStart = following != null ? following.words().get(0).start() : timeOffset + segmentDuration;
                    boolean silenceBefore = s.start() - halLastEnd > threshold || s.start() < threshold
                            || s.start() - timeOffset < 2.0;
                    boolean silenceAfter = halNextStart - s.end() > threshold || isAnomaly(following)
                            || windowEnd - s.end() < 2.0;
                    if (silenceBefore && silenceAfter) {
                        next = (long) Math.rint(Math.max(timeOffset + 1, s.start()) * 100);
                        if (contentDuration - s.end() < threshold) {
                            next = contentFrames;
                        }
                        kept = si;
                        break;
                    }
                }
                halLastEnd = s.end();
            }
        }
        double end = end(segments.subList(0, kept));
        return new Next(next, false, kept, Double.isNaN(end) ? lastSpeech : end);
    }

    /**
     * The end of the last word of {@code segments}, else the last segment's end; NaN without segments
     * (openai-whisper's {@code get_end}).
     */
    static double end(List<Transcriber.Segment> segments) {
        for (int i = segments.size() - 1; i >= 0; i--) {
            List<Word> w = segments.get(i).words();
            if (!w.isEmpty()) {
                return w.get(w.size() - 1).end();
            }
        }
        return segments.isEmpty() ? Double.NaN : segments.get(segments.size() - 1).end();
    }
}
