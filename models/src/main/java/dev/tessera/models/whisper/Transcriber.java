package dev.tessera.models.whisper;

import dev.tessera.models.text.PyStrings;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.Deflater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Speech to text with a {@link WhisperModel}: 16 kHz mono audio is cut into windows of the model's length
 * (30 s), each turned into log-mel features, encoded and decoded with {@link WhisperDecoder}; with timestamps the
 * next window starts at the last complete segment's end (timestamp-based seeking), so long audio (streamed, any
 * length) is transcribed window by window in bounded memory.
 *
 * <p>Per window, as the reference implementation's {@code transcribe()}:
 * <ul>
 *   <li>the prompt carries the earlier text ({@code <|startofprev|>} + the last {@code max_target_positions / 2 - 1}
 *       tokens of the previous windows, after an optional {@link Options#initialPrompt()}) unless
 *       {@link Options#conditionOnPreviousText()} is off (then only the first window sees the initial prompt); a
 *       window decoded at a temperature above 0.5 starts the context afresh for the next one;</li>
 *   <li>decoding at temperature 0 (beam search of {@link Options#beam()} or greedy), and when the result looks
 *       degenerate (gzip compression ratio above {@link Options#compressionRatioThreshold()} or average log-prob
 *       below {@link Options#logProbThreshold()}) again at each higher temperature of
 *       {@link Options#temperatures()} (sampling), unless the window looks silent (p(no speech) above
 *       {@link Options#noSpeechThreshold()} and average log-prob below the threshold);</li>
 *   <li>the no-speech gate: a window whose p({@code <|nospeech|>}) after {@code <|startoftranscript|>} is above
 *       {@link Options#noSpeechThreshold()} and whose average log-prob is not above {@link Options#logProbThreshold()}
 *       gives no segment and is skipped whole (a window of digital silence is decoded too, as there).</li>
 * </ul>
 *
 * <p>Several files are transcribed together by {@link #transcribeAll}: the current windows of up to {@code batch}
 * files are stacked into one encoder call {@code [B, n_mels, frames]} and decoded as one batch (see
 * {@link WhisperDecoder#decodeBatch}); a file that ends hands its place to the next. Each file's result is the one
 * it gets alone.
 *
 * <p>Log-mel features: audio of one window or less is zero-padded to the window and decoded to that window's end
 * (transformers' short form: windows after a timestamp pair take the same padded features from the pair on); longer
 * audio takes its windows' frames from the whole file's features, clamped at the whole file's maximum, the last
 * window padded with 0.0 (transformers' long form and openai-whisper: {@link LongFormFeatures}); such a file is read
 * twice.
 */
public final class Transcriber {
    private static final Logger LOG = LoggerFactory.getLogger(Transcriber.class);
    public static final int SAMPLE_RATE = 16_000;
    private static final int HOP = 160;

    private final WhisperModel model;
    private final Tokenizer tokenizer;
    private final WhisperDecoder decoder;
    private final WhisperConfig cfg;
    private final boolean canCondition;

    /**
     * Decoding options; {@link #defaults()} follows the reference command line (beam 5, best of 5, fallback
     * temperatures 0 … 1.0, compression ratio 2.4, log-prob -1, no-speech 0.6, conditioned on previous text). A
     * threshold of NaN is off (as {@code None} in the reference).
     *
     * @param bestOf samples drawn per window at each temperature above 0 (one batch), the one with the largest
     *     log-probability / length kept
     * @param noSpeechThreshold a window with p(no speech) above it (and avg log-prob not above
     *     {@code logProbThreshold}) is skipped; NaN: never
     * @param conditionOnPreviousText whether each window's prompt carries the text decoded before it
     * @param initialPrompt text placed before the first window's prompt (names, spelling, style); null: none
     * @param clipTimestamps {@code start, end, start, end, ...} seconds of the clips to transcribe (the last end may
     *     be left out: the end of the audio); empty: the whole file (see {@link #withClipTimestamps})
     */
    public record Options(String language, String task, boolean timestamps, int beam, int bestOf, double[] temperatures,
            double compressionRatioThreshold, double logProbThreshold, double noSpeechThreshold,
            boolean conditionOnPreviousText, String initialPrompt, int maxTokensPerWindow, long seed,
            boolean wordTimestamps, String prependPunctuations, String appendPunctuations,
            double hallucinationSilenceThreshold, boolean carryInitialPrompt, double[] clipTimestamps) {
        /** Options of the whole file. */
        public Options(String language, String task, boolean timestamps, int beam, int bestOf, double[] temperatures,
                double compressionRatioThreshold, double logProbThreshold, double noSpeechThreshold,
                boolean conditionOnPreviousText, String initialPrompt, int maxTokensPerWindow, long seed,
                boolean wordTimestamps, String prependPunctuations, String appendPunctuations,
                double hallucinationSilenceThreshold, boolean carryInitialPrompt) {
            this(language, task, timestamps, beam, bestOf, temperatures, compressionRatioThreshold, logProbThreshold,
                    noSpeechThreshold, conditionOnPreviousText, initialPrompt, maxTokensPerWindow, seed, wordTimestamps,
                    prependPunctuations, appendPunctuations, hallucinationSilenceThreshold, carryInitialPrompt, null);
        }

        /** Options without word timestamps. */
        public Options(String language, String task, boolean timestamps, int beam, int bestOf, double[] temperatures,
                double compressionRatioThreshold, double logProbThreshold, double noSpeechThreshold,
                boolean conditionOnPreviousText, String initialPrompt, int maxTokensPerWindow, long seed) {
            this(language, task, timestamps, beam, bestOf, temperatures, compressionRatioThreshold, logProbThreshold,
                    noSpeechThreshold, conditionOnPreviousText, initialPrompt, maxTokensPerWindow, seed, false, null, null,
                    Double.NaN, false);
        }

        public Options {
            language = WhisperLanguages.code(language); // "German" or "de"
            prependPunctuations = prependPunctuations == null ? WordTimestamps.PREPEND_PUNCTUATIONS : prependPunctuations;
            appendPunctuations = appendPunctuations == null ? WordTimestamps.APPEND_PUNCTUATIONS : appendPunctuations;
            if (beam < 1) {
                throw new IllegalArgumentException("beam must be >= 1, got " + beam);
            }
            if (bestOf < 1) {
                throw new IllegalArgumentException("best of must be >= 1, got " + bestOf);
            }
            if (task != null && !task.equals("transcribe") && !task.equals("translate")) {
                throw new IllegalArgumentException("task must be transcribe or translate, got " + task);
            }
            if (maxTokensPerWindow < 1) {
                throw new IllegalArgumentException("max tokens per window must be >= 1, got " + maxTokensPerWindow);
            }
            temperatures = temperatures == null || temperatures.length == 0 ? new double[] {0} : temperatures.clone();
            for (double t : temperatures) {
                if (!(t >= 0) || Double.isInfinite(t)) {
                    throw new IllegalArgumentException("temperatures must be finite and >= 0, got " + Arrays.toString(temperatures));
                }
            }
            if (!Double.isNaN(hallucinationSilenceThreshold) && !(hallucinationSilenceThreshold >= 0
                    && hallucinationSilenceThreshold < Double.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException("the hallucination silence threshold must be finite and >= 0 seconds (NaN:"
                        + " off), got " + hallucinationSilenceThreshold);
            }
            if (Double.isInfinite(noSpeechThreshold) || Double.isInfinite(compressionRatioThreshold)) {
                throw new IllegalArgumentException("thresholds must be finite (NaN turns one off)");
            }
            clipTimestamps = clipTimestamps == null ? new double[0] : clipTimestamps.clone();
            for (int i = 0; i < clipTimestamps.length; i++) {
                double t = clipTimestamps[i];
                if (!(t >= 0) || Double.isInfinite(t) || i > 0 && t < clipTimestamps[i - 1]) {
                    throw new IllegalArgumentException("clip timestamps must be finite seconds >= 0 in increasing order"
                            + " (start, end, start, end, ...; audio is read once, front to back), got "
                            + Arrays.toString(clipTimestamps));
                }
            }
        }

        public static Options defaults() {
            return new Options(null, "transcribe", true, 5, 5, new double[] {0, 0.2, 0.4, 0.6, 0.8, 1.0}, 2.4, -1.0, 0.6,
                    true, null, 224, 0, false, null, null, Double.NaN, false, null);
        }

        /** A mutable copy of the fields, for the {@code with} methods. */
        private static final class Edit {
            String language, task, initialPrompt, prepend, append;
            boolean timestamps, condition, words, carry;
            int beam, bestOf, maxTokens;
            double[] temperatures, clips;
            double compression, logProb, noSpeech, hallucination;
            long seed;

            Edit(Options o) {
                language = o.language;
                task = o.task;
                timestamps = o.timestamps;
                beam = o.beam;
                bestOf = o.bestOf;
                temperatures = o.temperatures;
                compression = o.compressionRatioThreshold;
                logProb = o.logProbThreshold;
                noSpeech = o.noSpeechThreshold;
                condition = o.conditionOnPreviousText;
                initialPrompt = o.initialPrompt;
                maxTokens = o.maxTokensPerWindow;
                seed = o.seed;
                words = o.wordTimestamps;
                prepend = o.prependPunctuations;
                append = o.appendPunctuations;
                hallucination = o.hallucinationSilenceThreshold;
                carry = o.carryInitialPrompt;
                clips = o.clipTimestamps;
            }

            Options build() {
                return new Options(language, task, timestamps, beam, bestOf, temperatures, compression, logProb, noSpeech,
                        condition, initialPrompt, maxTokens, seed, words, prepend, append, hallucination, carry, clips);
            }
        }

        private Options with(java.util.function.Consumer<Edit> change) {
            Edit e = new Edit(this);
            change.accept(e);
            return e.build();
        }

        public Options withLanguage(String l) {
            return with(e -> e.language = l);
        }

        public Options withTask(String t) {
            return with(e -> e.task = t);
        }

        public Options withBeam(int b) {
            return with(e -> e.beam = b);
        }

        /** Samples drawn per window at a temperature above 0, the most likely kept (log-probability / length). */
        public Options withBestOf(int n) {
            return with(e -> e.bestOf = n);
        }

        public Options withTimestamps(boolean ts) {
            return with(e -> e.timestamps = ts);
        }

        public Options withMaxTokensPerWindow(int n) {
            return with(e -> e.maxTokens = n);
        }

        public Options withTemperatures(double... t) {
            return with(e -> e.temperatures = t);
        }

        /** Compression-ratio, average log-prob and no-speech thresholds (NaN: off). */
        public Options withThresholds(double compressionRatio, double logProb, double noSpeech) {
            return with(e -> {
                e.compression = compressionRatio;
                e.logProb = logProb;
                e.noSpeech = noSpeech;
            });
        }

        public Options withConditionOnPreviousText(boolean c) {
            return with(e -> e.condition = c);
        }

        public Options withInitialPrompt(String p) {
            return with(e -> e.initialPrompt = p);
        }

        /**
         * The initial prompt before every window's context, not only the first (openai-whisper's
         * {@code carry_initial_prompt}): each prompt is the initial prompt's tokens followed by the most recent text
         * decoded since the last reset, cut to what the context leaves ({@code max_target_positions / 2 − 1} tokens in
         * all, the reference's slicing). Off by default.
         */
        public Options withCarryInitialPrompt(boolean carry) {
            return with(e -> e.carry = carry);
        }

        /**
         * Word-level timestamps ({@link WordTimestamps}): each segment gets its words with their times and
         * probabilities, segment bounds move to the words', and the next window starts after the last word (as
         * openai-whisper's {@code word_timestamps=True}). One more decoder pass per window.
         */
        public Options withWordTimestamps(boolean w) {
            return with(e -> e.words = w);
        }

        /**
         * With word timestamps, the punctuation merged into the next word ({@code prepend}) and into the previous one
         * ({@code append}); null keeps openai-whisper's defaults ({@link WordTimestamps#PREPEND_PUNCTUATIONS},
         * {@link WordTimestamps#APPEND_PUNCTUATIONS}); "" merges none.
         */
        public Options withPunctuations(String prepend, String append) {
            return with(e -> {
                e.prepend = prepend;
                e.append = append;
            });
        }

        /**
         * With word timestamps: skip silence around what looks like a hallucination (openai-whisper's
         * {@code hallucination_silence_threshold}, seconds; NaN, the default, off). A window moves on to its last word
         * only when more than this much silence follows it; a window whose first worded segment looks hallucinated
         * (improbable, too short or too long words) after more than this much silence is dropped and decoded again
         * from that segment's start; a hallucinated-looking segment with silence on both sides ends the window there.
         */
        public Options withHallucinationSilenceThreshold(double seconds) {
            return with(e -> e.hallucination = seconds);
        }

        public Options withSeed(long s) {
            return with(e -> e.seed = s);
        }

        /**
         * Transcribes only the clips {@code start, end, start, end, ...} (seconds; openai-whisper's
         * {@code clip_timestamps}): each bound goes to the nearest 10 ms frame (ties to even), an odd count's last
         * clip runs to the end of the audio, and none is the whole file. A window starts at its clip's start (or where
         * the last one left off) and sees no frames past its clip's end (0.0 there, as after the end of the audio);
         * when a window moves past its clip's end the next clip begins. The text carries over from clip to clip as
         * from window to window. Bounds must be increasing (the audio is read once); a clip past the audio's end
         * gives nothing.
         */
        public Options withClipTimestamps(double... seconds) {
            return with(e -> e.clips = seconds);
        }

        /** The clips in 10 ms frames: pairs, an odd count's last end {@code contentFrames}; [0, contentFrames] if none. */
        long[] clipFrames(long contentFrames) {
            int n = clipTimestamps.length;
            long[] f = new long[n == 0 ? 2 : n + n % 2];
            for (int i = 0; i < n; i++) {
                f[i] = (long) Math.rint(clipTimestamps[i] * (SAMPLE_RATE / HOP)); // Python's round()
            }
            if (n % 2 == 1 || n == 0) {
                f[f.length - 1] = contentFrames;
            }
            return f;
        }
    }

    /**
     * One piece of the transcript: times in seconds from the start of the audio, text, its token ids, the window it
     * was decoded in, and its words with their times (empty unless word timestamps were asked for).
     */
    public record Segment(double start, double end, String text, int[] tokens, Window window,
            List<WordTimestamps.Word> words) {
        public Segment {
            words = words == null ? List.of() : List.copyOf(words);
        }

        /** A segment without words. */
        public Segment(double start, double end, String text, int[] tokens, Window window) {
            this(start, end, text, tokens, window, List.of());
        }

        /** A segment whose window is not known. */
        public Segment(double start, double end, String text, int[] tokens) {
            this(start, end, text, tokens, Window.UNKNOWN);
        }
    }

    /**
     * What openai-whisper's {@code transcribe} reports of the window a segment was decoded in: its first frame
     * ({@code seek}, 10 ms each), the temperature of the kept decoding, its average log-probability, the compression
     * ratio of its text and p(no speech).
     */
    public record Window(long seek, double temperature, double avgLogProb, double compressionRatio,
            double noSpeechProb) {
        /** Nothing known (a segment made outside a transcription). */
        public static final Window UNKNOWN = new Window(-1, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    /** The whole transcript. */
    public record Transcript(String language, List<Segment> segments, String text) {
        /** A transcript whose text is its segments' texts joined (the tokens are not decoded again). */
        public Transcript(String language, List<Segment> segments) {
            this(language, segments, segments.stream().map(Segment::text).collect(java.util.stream.Collectors.joining()));
        }
    }

    /** A source of 16 kHz mono samples (e.g. {@code AudioStream::read}); returns -1 at the end. */
    @FunctionalInterface
    public interface SampleSource extends AutoCloseable {
        int read(float[] buf, int off, int len) throws IOException;

        /** The samples of {@code audio}, read from the start (the array is not copied). */
        static SampleSource of(float[] audio) {
            int[] pos = {0};
            return (b, off, len) -> {
                if (pos[0] >= audio.length) {
                    return -1;
                }
                int n = Math.min(len, audio.length - pos[0]);
                System.arraycopy(audio, pos[0], b, off, n);
                pos[0] += n;
                return n;
            };
        }

        /** Releases the source (nothing by default). */
        @Override
        default void close() throws IOException {}
    }

    /** A source that can be read once: a file longer than one window is spooled to disk for its second pass. */
    private record OneShot(SampleSource source) implements SourceOpener {
        @Override
        public SampleSource open() {
            return source;
        }
    }

    /** Reads back a spool of big-endian floats written by {@code FileState.open}, deleting it on close. */
    private static SampleSource spooled(java.nio.file.Path file) throws IOException {
        java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(
                java.nio.file.Files.newInputStream(file), 1 << 16));
        long[] left = {java.nio.file.Files.size(file) / 4};
        return new SampleSource() {
            @Override
            public int read(float[] b, int off, int len) throws IOException {
                if (left[0] == 0) {
                    return -1;
                }
                int n = (int) Math.min(len, left[0]);
                for (int i = 0; i < n; i++) {
                    b[off + i] = in.readFloat();
                }
                left[0] -= n;
                return n;
            }

            @Override
            public void close() throws IOException {
                try {
                    in.close();
                } finally {
                    java.nio.file.Files.deleteIfExists(file);
                }
            }
        };
    }

    /**
     * Opens one input of {@link #transcribeAll} when its turn comes (it is closed when its transcript is done). A file
     * longer than one window is opened twice: once to find the maximum of its log-mel, once to transcribe it.
     */
    @FunctionalInterface
    public interface SourceOpener {
        SampleSource open() throws IOException;
    }

    /** What {@link #transcribeAll} reports, per file (its index in the input list). Every method may be left out. */
    public interface Listener {
        /** A segment of file {@code file}, as soon as its window is decoded. */
        default void onSegment(int file, Segment segment) {}

        /** Seconds of file {@code file} done so far. */
        default void onProgress(int file, double seconds) {}

        /** File {@code file} is finished. */
        default void onDone(int file, Transcript transcript) {}
    }

    /** A transcriber using the model's config for {@code <|startofprev|>} and {@code <|nospeech|>}, checked against the tokenizer. */
    public Transcriber(WhisperModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.cfg = model.config();
        int prev = special(tokenizer, cfg.prevSotTokenId(), "<|startofprev|>");
        int ns = special(tokenizer, cfg.noSpeechTokenId(), "<|nospeech|>", "<|nocaptions|>");
        this.decoder = new WhisperDecoder(model, prev, ns);
        this.canCondition = prev >= 0;
        if (!canCondition) {
            LOG.warn("no <|startofprev|> token in the tokenizer or generation config: windows are not conditioned on earlier text");
        }
    }

    /** The tokenizer's id of the first of {@code names} it knows (when the config has none or disagrees), else {@code fromConfig}. */
    private int special(Tokenizer tok, int fromConfig, String... names) {
        for (String n : names) {
            int id = tok.tokenToId(n);
            if (id >= 0 && id < cfg.vocabSize()) {
                if (fromConfig >= 0 && id != fromConfig) {
                    LOG.warn("{} is token {} in tokenizer.json but {} by the generation config; using the tokenizer's", n, id,
                            fromConfig);
                }
                return id;
            }
        }
        return fromConfig;
    }

    /** Samples of one window (30 s for real checkpoints). */
    public int windowSamples() {
        return cfg.melFrames() * HOP;
    }

    /** Transcribes in-memory audio. */
    public Transcript transcribe(float[] audio, Options opt, Consumer<Segment> onSegment) {
        return transcribeAll(List.of(audio), opt, 1, onSegment == null ? null : new Listener() {
            @Override
            public void onSegment(int file, Segment s) {
                onSegment.accept(s);
            }
        }).get(0);
    }

    /** Transcribes in-memory audio files {@code batch} at a time; transcripts in input order. */
    public List<Transcript> transcribeAll(List<float[]> audios, Options opt, int batch, Listener listener) {
        List<SourceOpener> openers = new ArrayList<>();
        for (float[] a : audios) {
            openers.add(() -> SampleSource.of(a));
        }
        try {
            return transcribe(openers, opt, batch, listener);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }


    /**
     * Transcribes audio read from {@code source} window by window; {@code onSegment} sees each segment as soon as
     * its window is decoded, {@code progress} (may be null) the seconds done so far.
     */
    public Transcript transcribe(SampleSource source, Options opt, Consumer<Segment> onSegment,
            Consumer<Double> progress) throws IOException {
        return transcribe(List.of(new OneShot(source)), opt, 1, new Listener() {
            @Override
            public void onSegment(int file, Segment s) {
                if (onSegment != null) {
                    onSegment.accept(s);
                }
            }

            @Override
            public void onProgress(int file, double seconds) {
                if (progress != null) {
                    progress.accept(seconds);
                }
            }
        }).get(0);
    }

    /**
     * Transcribes a whole file's log-mel features, {@code mel} row-major {@code [n_mels, frames]} as
     * {@code LogMel.compute(audio, LogMelConfig.whisper(n_mels).unpadded(), ...)} or {@code tessera logmel --no-pad}
     * computes them (clamped at the whole file's maximum − 8, scaled), long-form as audio is: each window takes the
     * model's {@code melFrames} frames from its seek position, the last padded with 0.0, with every option of
     * {@code opt} (fallback, conditioning, word timestamps, the hallucination-silence rule). The windows of audio
     * of more than one window are these features' frames (to ~2e-6), so the two give the same transcript. Features
     * of one window or less are padded to the window with their minimum (the clamped floor of silence) and decoded
     * as audio of one window is.
     *
     * @throws IllegalArgumentException when {@code mel} does not hold {@code n_mels × frames} values, there are no
     *     frames, or a value is NaN or infinite (before anything is decoded)
     */
    public Transcript transcribeFeatures(float[] mel, int frames, Options opt, Listener listener) {
        int nMels = cfg.numMelBins();
        if (frames < 1 || mel.length != (long) nMels * frames) {
            throw new IllegalArgumentException("features must be [" + nMels + ", frames] with frames >= 1: got "
                    + mel.length + " values for " + frames + " frames");
        }
        for (int i = 0; i < mel.length; i++) {
            if (!Float.isFinite(mel[i])) {
                throw new IllegalArgumentException("log-mel value " + i + " (mel bin " + i / frames + ", frame " + i % frames
                        + ") is " + mel[i]);
            }
        }
        int win = cfg.melFrames();
        float[] whole = frames < win ? padToWindow(mel, nMels, frames, win) : mel; // as short audio is padded
        int total = Math.max(frames, win);
        try {
            return run(List.of((i, lang, initial) -> new FileState(i, whole, total, null, lang, initial,
                    opt.carryInitialPrompt())), opt, 1, listener).get(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Features {@code [nMels, frames]} of at most one window as a window's {@code [nMels, window]}: the first
     * {@code min(frames, window)} frames, the rest their minimum (the clamped log floor of silence, which padded
     * audio gets).
     */
    public static float[] padToWindow(float[] mel, int nMels, int frames, int window) {
        float floor = Float.POSITIVE_INFINITY;
        for (float x : mel) {
            floor = Math.min(floor, x);
        }
        int use = Math.min(frames, window);
        float[] out = new float[nMels * window];
        for (int c = 0; c < nMels; c++) {
            System.arraycopy(mel, c * frames, out, c * window, use);
            Arrays.fill(out, c * window + use, (c + 1) * window, floor);
        }
        return out;
    }

    /**
     * One file being transcribed: its window buffer (the window and {@link LongFormFeatures#CONTEXT} samples after
     * it), the samples just before it, position, language and the text so far.
     */
    private final class FileState {
        final int index;
        final SourceOpener opener;
        SampleSource src;
        final int win = windowSamples();
        final float[] buf = new float[win + LongFormFeatures.CONTEXT];
        /** Samples [offset - CONTEXT, offset) (those before sample 0 unused). */
        final float[] before = new float[LongFormFeatures.CONTEXT];
        int filled;
        long offset; // samples before buf[0]
        boolean eof;
        /** The maximum of the file's log-mel and its length in samples, known after {@link #open}. */
        float fileMax;
        long total = -1;
        String language;
        final List<Segment> segments = new ArrayList<>();
        final List<Integer> allTokens = new ArrayList<>();
        int promptResetSince;
        final int[] initialPrompt;
        final boolean carryInitialPrompt;
        /** Features mode ({@link #transcribeFeatures}): the whole file's log-mel [n_mels, total / HOP]; else null. */
        final float[] mel;
        /** The clips in frames (pairs; known once the length is), the current one, its end in samples, all done. */
        long[] clips;
        int clip;
        long clipEnd = Long.MAX_VALUE;
        boolean clipsDone;
        /** The end of the last word so far (seconds), for word timestamps. */
        double lastSpeech;
        // this window
        WhisperDecoder.Result result;
        double temperature;
        double compressionRatio;

        FileState(int index, SourceOpener opener, String language, int[] initialPrompt, boolean carryInitialPrompt) {
            this(index, null, 0, opener, language, initialPrompt, carryInitialPrompt);
        }

        /** A file given as features ({@code mel} not null, {@code frames} of them) or read from {@code opener}. */
        FileState(int index, float[] mel, int frames, SourceOpener opener, String language, int[] initialPrompt,
                boolean carryInitialPrompt) {
            this.index = index;
            this.mel = mel;
            if (mel != null) {
                total = (long) frames * HOP;
            }
            this.opener = opener;
            this.language = language;
            this.initialPrompt = initialPrompt.clone();
            this.carryInitialPrompt = carryInitialPrompt;
            for (int t : initialPrompt) {
                allTokens.add(t);
            }
        }

        /**
         * Opens the source and fills the first window; a file longer than the window is read to its end once for
         * the maximum of its log-mel ({@link LongFormFeatures.Max}), then opened again (a source that cannot be
         * opened twice is spooled to a temporary file meanwhile).
         */
        void open() throws IOException {
            if (mel != null) {
                fill();
                return;
            }
            src = opener.open();
            fill();
            LongFormFeatures.Max max = new LongFormFeatures.Max(cfg.numMelBins());
            if (eof && filled <= win) {
                if (filled == 0) {
                    return; // no audio, no window
                }
                // one window or less: transformers pads the audio to a window and decodes windows of those features
                // until their end (its short-form seek loop), so this is a file of exactly one window of samples
                Arrays.fill(buf, filled, win, 0f);
                filled = win;
                max.add(buf, 0, win);
                fileMax = max.finish();
                total = win;
                return;
            }
            max.add(buf, 0, filled);
            long n = filled;
            boolean spool = opener instanceof OneShot;
            java.nio.file.Path tmp = spool ? java.nio.file.Files.createTempFile("tessera-audio-", ".f32") : null;
            try (java.io.DataOutputStream out = spool ? new java.io.DataOutputStream(new java.io.BufferedOutputStream(
                    java.nio.file.Files.newOutputStream(tmp), 1 << 16)) : null) {
                if (out != null) {
                    for (int i = 0; i < filled; i++) {
                        out.writeFloat(buf[i]);
                    }
                }
                float[] chunk = new float[1 << 16];
                int r;
                while ((r = src.read(chunk, 0, chunk.length)) >= 0) {
                    for (int i = 0; i < r; i++) {
                        if (!Float.isFinite(chunk[i])) {
                            throw new IllegalArgumentException("audio sample " + (n + i) + " is " + chunk[i]);
                        }
                        if (out != null) {
                            out.writeFloat(chunk[i]);
                        }
                    }
                    max.add(chunk, 0, r);
                    n += r;
                }
            } catch (IOException | RuntimeException e) {
                if (tmp != null) {
                    java.nio.file.Files.deleteIfExists(tmp);
                }
                throw e;
            }
            fileMax = max.finish();
            total = n;
            src.close();
            src = spool ? spooled(tmp) : opener.open();
            filled = 0;
            eof = false;
            fill();
        }

        void fill() throws IOException {
            if (mel != null) { // samples stand for frames: no buffer, only the counts
                filled = (int) Math.min(buf.length, total - offset);
                eof = offset + filled >= total;
                return;
            }
            while (!eof && filled < buf.length) {
                int r = src.read(buf, filled, buf.length - filled);
                if (r < 0) {
                    eof = true;
                } else {
                    filled += r;
                }
            }
            for (int i = 0; i < filled; i++) {
                if (!Float.isFinite(buf[i])) {
                    throw new IllegalArgumentException("audio sample " + (offset + i) + " is " + buf[i]);
                }
            }
        }

        /**
         * Moves on to sample {@code target} (at least one frame; at most to the current clip's end), past the current
         * window where it lies beyond.
         */
        void skipTo(long target) {
            target = Math.min(target, Math.max(clipEnd, offset + 1));
            do {
                consume((int) Math.min(Math.max(target - offset, 0), windowFilled()));
                try {
                    fill();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            } while (offset < target && filled > 0);
        }

        /** Samples of the current window (the context after it not counted). */
        int windowFilled() {
            return Math.min(filled, win);
        }

        /** Samples of the current window inside its clip (openai-whisper's {@code segment_size}, in samples). */
        int segmentSamples() {
            return (int) Math.min(windowFilled(), Math.max(clipEnd - offset, 0));
        }

        /**
         * Places the file in its current clip, as openai-whisper's clip loop: on to the clip's start, or to the next
         * clip once at or past its end. False when no clip is left (the file is done).
         */
        boolean enterClip(Options opt) {
            if (clips == null) {
                clips = opt.clipFrames(total / HOP);
            }
            while (clip < clips.length / 2) {
                long start = clips[2 * clip] * HOP;
                clipEnd = clips[2 * clip + 1] * HOP;
                if (offset < start && offset < clipEnd) {
                    skipTo(start);
                }
                if (offset >= clipEnd) {
                    clip++;
                    continue;
                }
                return true;
            }
            clipsDone = true;
            return false;
        }

        /**
         * Moves on by {@code n} samples of the window: at least one frame (a window whose timestamps point back to
         * its start would otherwise be decoded again forever; openai-whisper loops there), at most the window.
         */
        void consume(int n) {
            int c = Math.min(Math.max(n, HOP), windowFilled());
            if (clipEnd > offset) { // (a move past the clip's end goes to the next clip, not further)
                c = (int) Math.min(c, clipEnd - offset);
            }
            if (mel != null) {
                offset += c;
                filled -= c;
                return;
            }
            int k = LongFormFeatures.CONTEXT;
            if (c >= k) {
                System.arraycopy(buf, c - k, before, 0, k);
            } else {
                System.arraycopy(before, c, before, 0, k - c);
                System.arraycopy(buf, 0, before, k - c, c);
            }
            offset += c;
            System.arraycopy(buf, c, buf, 0, filled - c);
            filled -= c;
        }

        /** Sample {@code i} of the file, reflected at both ends as the centred STFT pads it. */
        float sample(long i) {
            if (i < 0) {
                return sample(-i);
            }
            if (total >= 0 && i >= total) {
                return sample(2 * (total - 1) - i);
            }
            return i >= offset ? buf[(int) (i - offset)] : before[(int) (i - offset + LongFormFeatures.CONTEXT)];
        }

        /** Mel frames of the current window that hold audio (openai-whisper's {@code segment_size}). */
        int contentFrames() {
            return (int) Math.min(Math.min(cfg.melFrames(), total / HOP - offset / HOP), clipEnd / HOP - offset / HOP);
        }

        /** The current window's features {@code [1, n_mels, frames]} (long form: from the whole file's). */
        Tensor features(Device device) {
            int frames = cfg.melFrames();
            int content = contentFrames();
            if (mel != null) {
                int nMels = cfg.numMelBins();
                int all = (int) (total / HOP);
                int seek = (int) (offset / HOP);
                float[] w = new float[nMels * frames]; // 0.0 after the last frame, as for audio
                for (int c = 0; c < nMels; c++) {
                    System.arraycopy(mel, c * all + seek, w, c * frames, content);
                }
                return Tensor.of(w, device, 1, nMels, frames);
            }
            float[] chunk = new float[content * HOP + 2 * LongFormFeatures.CONTEXT];
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = sample(offset - LongFormFeatures.CONTEXT + i);
            }
            return LongFormFeatures.window(chunk, content, frames, cfg.numMelBins(), fileMax, device);
        }

        boolean finished() {
            return clipsDone || eof && filled == 0;
        }

        /** The context for this window: the text since the last reset (the initial prompt counts, even unconditioned). */
        int[] previousText() {
            if (!canCondition) {
                return new int[0];
            }
            if (carryInitialPrompt) {
                return carriedPrompt(initialPrompt, allTokens, promptResetSince, cfg.maxTargetPositions());
            }
            return allTokens.subList(promptResetSince, allTokens.size()).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /**
     * Transcribes the inputs of {@code sources}, the current windows of up to {@code batch} files encoded and
     * decoded together; transcripts in input order. A file is opened when its turn comes and closed when done.
     */
    public List<Transcript> transcribe(List<SourceOpener> sources, Options opt, int batch, Listener listener)
            throws IOException {
        boolean carry = opt.carryInitialPrompt();
        List<FileMaker> files = new ArrayList<>();
        for (SourceOpener s : sources) {
            files.add((i, lang, initial) -> new FileState(i, s, lang, initial, carry));
        }
        return run(files, opt, batch, listener);
    }

    /** Makes file {@code index}'s state, with the language (null: detect) and initial prompt. */
    @FunctionalInterface
    private interface FileMaker {
        FileState make(int index, String language, int[] initialPrompt);
    }

    private List<Transcript> run(List<FileMaker> sources, Options opt, int batch, Listener listener) throws IOException {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        Listener l = listener == null ? new Listener() {} : listener;
        int[] initial = initialPromptTokens(tokenizer, opt.initialPrompt());
        Transcript[] done = new Transcript[sources.size()];
        String language = languageFor(cfg, opt.language());
        if (language != null && !language.equals(opt.language())) {
            LOG.warn("an English-only model: transcribing in English, not {}", opt.language());
        }
        List<FileState> active = new ArrayList<>();
        int nextFile = 0;
        try {
            while (nextFile < sources.size() || !active.isEmpty()) {
                while (active.size() < batch && nextFile < sources.size()) {
                    FileState f = sources.get(nextFile).make(nextFile, language, initial);
                    nextFile++;
                    active.add(f);
                    f.open();
                }
                List<FileState> ready = new ArrayList<>();
                for (FileState f : new ArrayList<>(active)) {
                    f.fill();
                    if (f.filled > 0 && !f.enterClip(opt)) {
                        l.onProgress(f.index, f.offset / (double) SAMPLE_RATE); // past its last clip: done
                    } else if (f.filled > 0 && f.eof && f.filled < HOP) {
                        // a tail shorter than one 10 ms frame (openai-whisper counts its windows in whole frames,
                        // samples // 160): nothing to say
                        f.consume(f.filled);
                        l.onProgress(f.index, f.offset / (double) SAMPLE_RATE);
                    } else if (f.filled > 0) {
                        ready.add(f);
                    }
                    if (f.finished()) {
                        finish(f, active, done, l);
                    }
                }
                if (!ready.isEmpty()) {
                    decodeWindows(ready, opt, l);
                    for (FileState f : ready) {
                        l.onProgress(f.index, f.offset / (double) SAMPLE_RATE);
                        if (f.finished()) {
                            finish(f, active, done, l);
                        }
                    }
                }
            }
        } finally {
            for (FileState f : active) {
                if (f.src != null) {
                    f.src.close();
                }
            }
        }
        return List.of(done);
    }

    private void finish(FileState f, List<FileState> active, Transcript[] done, Listener l) throws IOException {
        active.remove(f);
        if (f.src != null) {
            f.src.close();
        }
        done[f.index] = new Transcript(f.language == null ? "en" : f.language, List.copyOf(f.segments),
                transcriptText(f.segments));
        l.onDone(f.index, done[f.index]);
    }

    /** Encodes the current windows of {@code files} in one call, decodes them together and moves each file on. */
    private void decodeWindows(List<FileState> files, Options opt, Listener l) {
        int b = files.size();
        try (Scope scope = Tessera.scope()) {
            Tensor[] mels = new Tensor[b];
            for (int i = 0; i < b; i++) {
                mels[i] = files.get(i).features(model.device());
            }
            Tensor enc = model.encode(b == 1 ? mels[0] : Ops.concat(0, mels));
            List<Integer> needLang = new ArrayList<>();
            for (int i = 0; i < b; i++) {
                if (files.get(i).language == null) {
                    needLang.add(i);
                }
            }
            if (!needLang.isEmpty()) {
                List<List<Map.Entry<String, Double>>> langs = decoder.detectLanguages(rows(enc, needLang));
                for (int k = 0; k < needLang.size(); k++) {
                    FileState f = files.get(needLang.get(k));
                    f.language = langs.get(k).get(0).getKey();
                    LOG.info("file {}: detected language {}", f.index, f.language);
                }
            }
            int[][] prompts = new int[b][];
            for (int i = 0; i < b; i++) {
                FileState f = files.get(i);
                prompts[i] = decoder.prompt(f.language, opt.task(), opt.timestamps(), f.previousText());
            }
            decodeWithFallback(enc, files, prompts, opt);
            for (int i = 0; i < b; i++) {
                finishWindow(files.get(i), opt, enc, i, l);
            }
        }
    }

    /**
     * Turns a decoded window into segments (with their words when asked, from row {@code row} of the window's
     * encoder states {@code enc}) and moves the file on: past a window without speech, to the last segment's end, or
     * with word timestamps to the last word's end.
     */
    private void finishWindow(FileState f, Options opt, Tensor enc, int row, Listener l) {
        WhisperDecoder.Result r = f.result;
        boolean skip = r.noSpeechProb() > opt.noSpeechThreshold() && !(r.avgLogProb() > opt.logProbThreshold());
        if (skip) {
            LOG.debug("file {} at {} s: no speech (p {}, avg log-prob {})", f.index, f.offset / (double) SAMPLE_RATE,
                    r.noSpeechProb(), r.avgLogProb());
            f.consume(f.segmentSamples());
            return;
        }
        List<Segment> segs = new ArrayList<>();
        int consumed = split(r.tokens(), f.offset, f.segmentSamples(), segs,
                new Window(f.offset / HOP, f.temperature, r.avgLogProb(), f.compressionRatio, r.noSpeechProb()));
        if (opt.wordTimestamps()) {
            WordTimestamps.Timed timed = WordTimestamps.addWords(model, tokenizer, enc.slice(0, row, row + 1),
                    decoder.prompt(f.language, opt.task(), true), f.language, segs, f.offset / HOP, f.contentFrames(),
                    f.lastSpeech, opt.prependPunctuations(), opt.appendPunctuations());
            segs = new ArrayList<>();
            for (Segment s : timed.segments()) {
                // openai-whisper clears a segment left instantaneous or without text
                segs.add(s.start() == s.end() || PyStrings.isBlank(s.text())
                        ? new Segment(s.start(), s.end(), "", new int[0], s.window(), List.of()) : s);
            }
            // (from the words before the clearing, as the reference)
            boolean singleEnding = singleTimestampEnding(r.tokens(), firstTimestamp());
            long seekFrames = f.offset / HOP;
            WordTimestamps.Next next = WordTimestamps.next(timed.segments(), seekFrames, f.contentFrames(), cfg.melFrames(),
                    f.total / HOP, singleEnding, (f.offset + consumed) / HOP, f.lastSpeech, opt.hallucinationSilenceThreshold());
            long target = next.seek() * HOP;
            if (next.skipWindow()) {
                LOG.debug("file {} at {} s: a hallucination after silence; on from {} s", f.index, seekFrames / 100.0,
                        next.seek() / 100.0);
                f.skipTo(target);
                return;
            }
            segs = segs.subList(0, next.keptSegments());
            f.lastSpeech = next.lastSpeech();
            if (target > f.offset + f.segmentSamples()) { // beyond the window: the rest of the audio is skipped
                for (Segment s : segs) {
                    emit(f, s, l);
                }
                resetPrompt(f, opt);
                f.skipTo(target);
                return;
            }
            if (next.seek() != (f.offset + consumed) / HOP) { // (else the timestamps' sample count stays)
                consumed = (int) (target - f.offset);
            }
        }
        for (Segment s : segs) {
            emit(f, s, l);
        }
        resetPrompt(f, opt);
        f.consume(consumed);
    }

    private static void emit(FileState f, Segment s, Listener l) {
        f.segments.add(s);
        for (int t : s.tokens()) {
            f.allTokens.add(t);
        }
        l.onSegment(f.index, s);
    }

    /** A window decoded without conditioning, or at a temperature above 0.5, starts the next prompt afresh. */
    private static void resetPrompt(FileState f, Options opt) {
        if (!opt.conditionOnPreviousText() || f.temperature > 0.5) {
            f.promptResetSince = f.allTokens.size();
        }
    }

    /**
     * The previous-text prompt with the initial prompt carried (openai-whisper's {@code carry_initial_prompt}): the
     * initial prompt's tokens, then {@code all[max(initial, resetSince):][-remaining:]} with {@code remaining =
     * context / 2 − 1 − initial} in Python's slicing (0: all of them; negative: all but the first {@code −remaining}).
     */
    static int[] carriedPrompt(int[] initial, List<Integer> all, int resetSince, int context) {
        int from = Math.min(Math.max(initial.length, resetSince), all.size());
        List<Integer> rest = all.subList(from, all.size());
        int remaining = context / 2 - 1 - initial.length;
        int n = rest.size();
        int start = remaining > 0 ? Math.max(0, n - remaining) : remaining == 0 ? 0 : Math.min(n, -remaining);
        int[] out = Arrays.copyOf(initial, initial.length + n - start);
        for (int i = start; i < n; i++) {
            out[initial.length + i - start] = rest.get(i);
        }
        return out;
    }

    /** Rows {@code idx} of {@code t} along dim 0 (a view when they are all rows). */
    private static Tensor rows(Tensor t, List<Integer> idx) {
        if (idx.size() == t.dim(0)) {
            boolean all = true;
            for (int i = 0; i < idx.size(); i++) {
                all &= idx.get(i) == i;
            }
            if (all) {
                return t;
            }
        }
        Tensor[] parts = new Tensor[idx.size()];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = t.slice(0, idx.get(i), idx.get(i) + 1);
        }
        return parts.length == 1 ? parts[0] : Ops.concat(0, parts);
    }

    /**
     * Decodes every window at the first temperature, then the windows that look degenerate (and not silent) again
     * at the next one, each round as one batch; sets each file's result and temperature.
     */
    private void decodeWithFallback(Tensor enc, List<FileState> files, int[][] prompts, Options opt) {
        List<Integer> pending = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            pending.add(i);
        }
        for (double t : opt.temperatures()) {
            int[][] ps = new int[pending.size()][];
            for (int k = 0; k < ps.length; k++) {
                ps[k] = prompts[pending.get(k)];
            }
            List<WhisperDecoder.Result> rs = decodeRound(enc, pending, ps, t, opt); // freed with the window's scope
            List<Integer> again = new ArrayList<>();
            for (int k = 0; k < rs.size(); k++) {
                FileState f = files.get(pending.get(k));
                WhisperDecoder.Result r = rs.get(k);
                f.result = r;
                f.temperature = t;
                double cr = compressionRatio(decodedText(r.tokens()));
                f.compressionRatio = cr;
                boolean fallback = cr > opt.compressionRatioThreshold() || r.avgLogProb() < opt.logProbThreshold();
                if (r.noSpeechProb() > opt.noSpeechThreshold() && r.avgLogProb() < opt.logProbThreshold()) {
                    fallback = false; // silence: a higher temperature will not find words
                }
                if (fallback) {
                    LOG.debug("file {} at temperature {}: compression ratio {}, avg log-prob {}; falling back", f.index, t, cr,
                            r.avgLogProb());
                    again.add(pending.get(k));
                }
            }
            if (again.isEmpty()) {
                break;
            }
            pending = again;
        }
    }

    /**
     * One decoding round of the pending windows at temperature {@code t}, all in one batch: at 0, beam search or
     * greedy; above 0, {@code opt.bestOf()} samples of each window (sample {@code k} from the random stream
     * {@link #sampleSeed}{@code (seed, k)}), the one with the best {@link WhisperDecoder#rankScore} kept, the first
     * on a tie: the reference's best-of-n.
     */
    private List<WhisperDecoder.Result> decodeRound(Tensor enc, List<Integer> pending, int[][] prompts, double t,
            Options opt) {
        int n = t == 0 ? 1 : opt.bestOf();
        List<Integer> rowsOf = new ArrayList<>();
        int[][] ps = new int[pending.size() * n][];
        long[] seeds = new long[ps.length];
        for (int k = 0; k < pending.size(); k++) {
            for (int s = 0; s < n; s++) {
                rowsOf.add(pending.get(k));
                ps[k * n + s] = prompts[k];
                seeds[k * n + s] = sampleSeed(opt.seed(), s);
            }
        }
        List<WhisperDecoder.Result> all = decoder.decodeBatch(rows(enc, rowsOf), ps, opt.timestamps(),
                t == 0 ? opt.beam() : 1, t, opt.maxTokensPerWindow(), seeds);
        List<WhisperDecoder.Result> best = new ArrayList<>(pending.size());
        for (int k = 0; k < pending.size(); k++) {
            WhisperDecoder.Result b = all.get(k * n);
            for (int s = 1; s < n; s++) {
                WhisperDecoder.Result r = all.get(k * n + s);
                if (WhisperDecoder.rankScore(r.sumLogProb(), r.tokens()) > WhisperDecoder.rankScore(b.sumLogProb(), b.tokens())) {
                    b = r;
                }
            }
            best.add(b);
        }
        return best;
    }

    /** The seed of sample {@code k} of a window's best-of-n: sample 0 uses {@code seed} itself. */
    static long sampleSeed(long seed, int k) {
        return seed + k * 0x9E3779B97F4A7C15L;
    }

    /**
     * The language a checkpoint transcribes {@code requested} in: English on an English-only checkpoint whatever was
     * asked (openai-whisper's rule: "English-only model ... using English instead"), else the request (null: detect).
     */
    public static String languageFor(WhisperConfig cfg, String requested) {
        return requested != null && !cfg.isMultilingual() ? "en" : requested;
    }

    /**
     * Splits a window's tokens into segments (openai-whisper's rules: a segment between consecutive timestamps; the
     * next window starts at the last such segment's end, or after the whole window when the tokens end with a single
     * timestamp or hold no timestamp pair); returns the samples consumed (where the next window starts). Decoded
     * without timestamps the tokens hold none (the rules of a trained model) and make one segment; timestamps a
     * random-weight model samples there cut segments as the reference's {@code transcribe} cuts them.
     */
    int split(int[] tokens, long offset, int filled, List<Segment> out) {
        return split(tokens, offset, filled, out, Window.UNKNOWN);
    }

    /** As {@link #split(int[], long, int, List)}, each segment carrying {@code window}. */
    int split(int[] tokens, long offset, int filled, List<Segment> out, Window window) {
        double t0 = offset / (double) SAMPLE_RATE;
        // the window's content ends with its last whole 10 ms frame, as openai-whisper's segment_size counts it
        double windowEnd = t0 + filled / HOP * HOP / (double) SAMPLE_RATE;
        int tsBegin = cfg.timestampBegin();
        if (tsBegin < 0) {
            addSegment(out, t0, windowEnd, tokens, window);
            return filled;
        }
        List<Integer> cuts = new ArrayList<>(); // index i where tokens[i-1] and tokens[i] are both timestamps
        for (int i = 1; i < tokens.length; i++) {
            if (tokens[i] >= tsBegin && tokens[i - 1] >= tsBegin) {
                cuts.add(i);
            }
        }
        boolean singleEnding = singleTimestampEnding(tokens, tsBegin);
        if (!cuts.isEmpty()) {
            if (singleEnding) {
                cuts.add(tokens.length);
            }
            int last = 0;
            for (int c : cuts) {
                int[] seg = Arrays.copyOfRange(tokens, last, c);
                if (seg.length >= 2) {
                    // a first slice without an opening timestamp (sampled without the timestamp rules) starts with
                    // the window, where the reference computes a time from the text token's id
                    double s = seg[0] >= tsBegin ? t0 + (seg[0] - tsBegin) * WhisperConfig.TIME_PRECISION : t0;
                    double e = t0 + (seg[seg.length - 1] - tsBegin) * WhisperConfig.TIME_PRECISION;
                    addSegment(out, s, e, seg, window);
                }
                last = c;
            }
            if (singleEnding) {
                return filled; // the speech runs to the window's end
            }
            int lastTs = tokens[last - 1] - tsBegin;
            return (int) Math.round(lastTs * WhisperConfig.TIME_PRECISION * SAMPLE_RATE);
        }
        // No timestamp pair: one segment from the window's start to its last timestamp (even when that is the
        // opening one), or to the window's end when there is none or it is <|0.00|>, as openai-whisper and
        // transformers end it.
        double end = windowEnd;
        for (int i = tokens.length - 1; i >= 0; i--) {
            if (tokens[i] >= tsBegin) {
                if (tokens[i] != tsBegin) {
                    end = t0 + (tokens[i] - tsBegin) * WhisperConfig.TIME_PRECISION;
                }
                break;
            }
        }
        addSegment(out, t0, end, tokens, window);
        return filled;
    }

    /** Whether a window's tokens end with one timestamp after text (no speech after it, openai-whisper's rule). */
    static boolean singleTimestampEnding(int[] tokens, int timestampBegin) {
        int n = tokens.length;
        return n >= 2 && tokens[n - 1] >= timestampBegin && tokens[n - 2] < timestampBegin;
    }

    /**
     * Adds the segment of {@code tokens} unless it is instantaneous (start = end, only where timestamps were sampled
     * without their rules) or holds nothing but timestamps. A segment whose text is blank but which holds other
     * tokens (say a timestamp pair around a sampled language token) is kept, tokens and all, as transformers'
     * {@code generate} keeps it (also in the next window's prompt); openai-whisper would clear its tokens. The text
     * writers skip it.
     */
    private void addSegment(List<Segment> out, double start, double end, int[] tokens, Window window) {
        String text = tokenizer.decode(textTokens(tokens), true);
        int tsBegin = firstTimestamp();
        if (start != end && Arrays.stream(tokens).anyMatch(t -> t < tsBegin)) {
            out.add(new Segment(start, end, text, tokens, window));
        }
    }

    /**
     * The text whose compression ratio decides a fallback, as openai-whisper's decoder makes it: every token before
     * the timestamps decoded, control and language tokens written out as {@code <|de|>} (only a random-weight model
     * samples those), stripped.
     */
    private String decodedText(int[] tokens) {
        int tsBegin = firstTimestamp();
        return PyStrings.strip(tokenizer.decode(Arrays.stream(tokens).filter(t -> t < tsBegin).toArray(), false));
    }

    /**
     * A whole transcript's text as openai-whisper's {@code transcribe} returns it: every segment's tokens decoded in
     * one pass (a character split across segments is whole), timestamps left out, control and language tokens
     * written out (only random weights sample them), not stripped (it usually starts with a space).
     */
    String transcriptText(List<Segment> segments) {
        int tsBegin = firstTimestamp();
        return tokenizer.decode(segments.stream().flatMapToInt(s -> Arrays.stream(s.tokens())).filter(t -> t < tsBegin)
                .toArray(), false);
    }

    /**
     * The tokens of an initial prompt, as openai-whisper encodes it: {@code " " + prompt.strip()}; none for null or
     * the empty string (Python's falsy prompt), a lone space token for one of blanks.
     */
    public static int[] initialPromptTokens(Tokenizer tokenizer, String prompt) {
        return prompt == null || prompt.isEmpty() ? new int[0] : tokenizer.encode(" " + PyStrings.strip(prompt), false);
    }

    /** The first timestamp token, or past every id where the vocabulary has none. */
    private int firstTimestamp() {
        return cfg.timestampBegin() < 0 ? Integer.MAX_VALUE : cfg.timestampBegin();
    }

    private int[] textTokens(int[] tokens) {
        return Arrays.stream(tokens).filter(t -> t < cfg.eosTokenId()).toArray();
    }


    /**
     * Bytes of the text over bytes of its zlib stream at the default level (Python's {@code zlib.compress}, which
     * openai-whisper's compression ratio uses; a gzip stream carries 12 bytes more of header and trailer, which lowered
     * the ratio of short windows): repetitive (hallucinated) text compresses well.
     */
    static double compressionRatio(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (b.length == 0) {
            return 0;
        }
        Deflater z = new Deflater(Deflater.DEFAULT_COMPRESSION);
        try {
            z.setInput(b);
            z.finish();
            byte[] buf = new byte[b.length + 64];
            long n = 0;
            while (!z.finished()) {
                n += z.deflate(buf);
            }
            return b.length / (double) n;
        } finally {
            z.end();
        }
    }
}
