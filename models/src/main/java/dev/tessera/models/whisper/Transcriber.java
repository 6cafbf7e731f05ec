package dev.tessera.models.whisper;

import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Speech to text with a {@link WhisperModel}: 16 kHz mono audio is cut into windows of the model's length
 * (30 s), each turned into log-mel features, encoded once and decoded with {@link WhisperDecoder}; with
 * timestamps the next window starts at the last complete segment's end (timestamp-based seeking), so long audio
 * (streamed, any length) is transcribed window by window in bounded memory.
 *
 * <p>Per window: decoding at temperature 0 (beam search of {@link Options#beam()} or greedy), and when the result
 * looks degenerate (gzip compression ratio above {@link Options#compressionRatioThreshold()} or average log-prob
 * below {@link Options#logProbThreshold()}) again at each higher temperature of {@link Options#temperatures()}
 * (sampling). A window that is digital silence (RMS below 1e-5) gives no segment and is not decoded.
 *
 * <p>Log-mel features are computed per window (the window's audio, zero-padded to the window length), as Hugging
 * Face's feature extractor does for each 30 s chunk.
 */
public final class Transcriber {
    private static final Logger LOG = LoggerFactory.getLogger(Transcriber.class);
    public static final int SAMPLE_RATE = 16_000;
    private static final int HOP = 160;

    private final WhisperModel model;
    private final Tokenizer tokenizer;
    private final WhisperDecoder decoder;
    private final WhisperConfig cfg;

    /** Decoding options; {@link #defaults()} follows the reference command line (beam 5, fallback temperatures). */
    public record Options(String language, String task, boolean timestamps, int beam, double[] temperatures,
            double compressionRatioThreshold, double logProbThreshold, int maxTokensPerWindow, long seed) {
        public Options {
            if (beam < 1) {
                throw new IllegalArgumentException("beam must be >= 1, got " + beam);
            }
            if (task != null && !task.equals("transcribe") && !task.equals("translate")) {
                throw new IllegalArgumentException("task must be transcribe or translate, got " + task);
            }
            temperatures = temperatures == null || temperatures.length == 0 ? new double[] {0} : temperatures.clone();
        }

        public static Options defaults() {
            return new Options(null, "transcribe", true, 5, new double[] {0, 0.2, 0.4, 0.6, 0.8, 1.0}, 2.4, -1.0, 224, 0);
        }

        public Options withLanguage(String l) {
            return new Options(l, task, timestamps, beam, temperatures, compressionRatioThreshold, logProbThreshold,
                    maxTokensPerWindow, seed);
        }

        public Options withTask(String t) {
            return new Options(language, t, timestamps, beam, temperatures, compressionRatioThreshold, logProbThreshold,
                    maxTokensPerWindow, seed);
        }

        public Options withBeam(int b) {
            return new Options(language, task, timestamps, b, temperatures, compressionRatioThreshold, logProbThreshold,
                    maxTokensPerWindow, seed);
        }

        public Options withTimestamps(boolean ts) {
            return new Options(language, task, ts, beam, temperatures, compressionRatioThreshold, logProbThreshold,
                    maxTokensPerWindow, seed);
        }

        public Options withMaxTokensPerWindow(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max tokens per window must be >= 1, got " + n);
            }
            return new Options(language, task, timestamps, beam, temperatures, compressionRatioThreshold, logProbThreshold,
                    n, seed);
        }

        public Options withTemperatures(double... t) {
            return new Options(language, task, timestamps, beam, t, compressionRatioThreshold, logProbThreshold,
                    maxTokensPerWindow, seed);
        }
    }

    /** One piece of the transcript: times in seconds from the start of the audio, text, and its token ids. */
    public record Segment(double start, double end, String text, int[] tokens) {}

    /** The whole transcript. */
    public record Transcript(String language, List<Segment> segments) {
        public String text() {
            StringBuilder sb = new StringBuilder();
            for (Segment s : segments) {
                sb.append(s.text());
            }
            return sb.toString().strip();
        }
    }

    /** A source of 16 kHz mono samples (e.g. {@code AudioStream::read}); returns -1 at the end. */
    @FunctionalInterface
    public interface SampleSource {
        int read(float[] buf, int off, int len) throws IOException;
    }

    public Transcriber(WhisperModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.decoder = new WhisperDecoder(model);
        this.cfg = model.config();
    }

    /** Samples of one window (30 s for real checkpoints). */
    public int windowSamples() {
        return cfg.melFrames() * HOP;
    }

    /** Transcribes in-memory audio. */
    public Transcript transcribe(float[] audio, Options opt, Consumer<Segment> onSegment) {
        int[] pos = {0};
        try {
            return transcribe((b, off, len) -> {
                if (pos[0] >= audio.length) {
                    return -1;
                }
                int n = Math.min(len, audio.length - pos[0]);
                System.arraycopy(audio, pos[0], b, off, n);
                pos[0] += n;
                return n;
            }, opt, onSegment, null);
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
        int win = windowSamples();
        float[] buf = new float[win];
        int filled = 0;
        long offset = 0; // samples before buf[0]
        boolean eof = false;
        String language = opt.language();
        List<Segment> segments = new ArrayList<>();
        LogMelConfig mel = LogMelConfig.whisper(cfg.numMelBins()).withPadToSamples(win);
        while (true) {
            while (!eof && filled < win) {
                int r = source.read(buf, filled, win - filled);
                if (r < 0) {
                    eof = true;
                } else {
                    filled += r;
                }
            }
            if (filled == 0) {
                break;
            }
            for (int i = 0; i < filled; i++) {
                if (!Float.isFinite(buf[i])) {
                    throw new IllegalArgumentException("audio sample " + (offset + i) + " is " + buf[i]);
                }
            }
            int consumed;
            if (rms(buf, filled) < 1e-5) {
                consumed = filled; // digital silence: nothing to say
            } else {
                float[] chunk = Arrays.copyOf(buf, filled);
                try (Tensor m = LogMel.compute(chunk, mel, model.device());
                        Tensor m3 = m.reshape(1, cfg.numMelBins(), cfg.melFrames());
                        Tensor enc = model.encode(m3)) {
                    if (language == null) {
                        language = decoder.detectLanguage(enc).get(0).getKey();
                        LOG.info("detected language: {}", language);
                    }
                    WhisperDecoder.Result r = decodeWithFallback(enc, language, opt);
                    consumed = split(r.tokens(), offset, filled, opt.timestamps(), segments, onSegment);
                }
            }
            consumed = Math.max(1, Math.min(consumed, filled));
            offset += consumed;
            System.arraycopy(buf, consumed, buf, 0, filled - consumed);
            filled -= consumed;
            if (progress != null) {
                progress.accept(offset / (double) SAMPLE_RATE);
            }
            if (eof && filled == 0) {
                break;
            }
        }
        return new Transcript(language == null ? "en" : language, List.copyOf(segments));
    }

    private WhisperDecoder.Result decodeWithFallback(Tensor enc, String language, Options opt) {
        int[] prompt = decoder.prompt(language, opt.task(), opt.timestamps());
        WhisperDecoder.Result best = null;
        for (double t : opt.temperatures()) {
            WhisperDecoder.Result r = decoder.decode(enc, prompt, opt.timestamps(), t == 0 ? opt.beam() : 1, t,
                    opt.maxTokensPerWindow(), opt.seed());
            best = r;
            String text = tokenizer.decode(textTokens(r.tokens()), true);
            double cr = compressionRatio(text);
            if (cr <= opt.compressionRatioThreshold() && r.avgLogProb() >= opt.logProbThreshold()) {
                break;
            }
            LOG.debug("window at temperature {}: compression ratio {}, avg log-prob {}; falling back", t, cr, r.avgLogProb());
        }
        return best;
    }

    /** Splits a window's tokens into segments; returns the samples consumed (where the next window starts). */
    private int split(int[] tokens, long offset, int filled, boolean timestamps, List<Segment> out,
            Consumer<Segment> onSegment) {
        double t0 = offset / (double) SAMPLE_RATE;
        int tsBegin = cfg.timestampBegin();
        if (!timestamps || tsBegin < 0) {
            emit(new Segment(t0, t0 + filled / (double) SAMPLE_RATE, tokenizer.decode(tokens, true), tokens), out, onSegment);
            return filled;
        }
        List<Integer> cuts = new ArrayList<>(); // index i where tokens[i-1] and tokens[i] are both timestamps
        for (int i = 1; i < tokens.length; i++) {
            if (tokens[i] >= tsBegin && tokens[i - 1] >= tsBegin) {
                cuts.add(i);
            }
        }
        boolean singleEnding = tokens.length >= 2 && tokens[tokens.length - 1] >= tsBegin
                && tokens[tokens.length - 2] < tsBegin;
        if (!cuts.isEmpty()) {
            if (singleEnding) {
                cuts.add(tokens.length);
            }
            int last = 0;
            for (int c : cuts) {
                int[] seg = Arrays.copyOfRange(tokens, last, c);
                if (seg.length >= 2 && seg[0] >= tsBegin) {
                    double s = t0 + (seg[0] - tsBegin) * WhisperConfig.TIME_PRECISION;
                    double e = t0 + (seg[seg.length - 1] - tsBegin) * WhisperConfig.TIME_PRECISION;
                    emit(new Segment(s, e, tokenizer.decode(textTokens(seg), true), seg), out, onSegment);
                }
                last = c;
            }
            if (singleEnding) {
                return filled; // the speech runs to the window's end
            }
            int lastTs = tokens[last - 1] - tsBegin;
            return (int) Math.round(lastTs * WhisperConfig.TIME_PRECISION * SAMPLE_RATE);
        }
        double end = t0 + filled / (double) SAMPLE_RATE;
        for (int i = tokens.length - 1; i >= 0; i--) {
            if (tokens[i] >= tsBegin && tokens[i] != tokens[0]) {
                end = t0 + (tokens[i] - tsBegin) * WhisperConfig.TIME_PRECISION;
                break;
            }
        }
        int[] text = textTokens(tokens);
        if (text.length > 0) {
            emit(new Segment(t0, end, tokenizer.decode(text, true), tokens), out, onSegment);
        }
        return filled;
    }

    private void emit(Segment s, List<Segment> out, Consumer<Segment> onSegment) {
        out.add(s);
        if (onSegment != null) {
            onSegment.accept(s);
        }
    }

    private int[] textTokens(int[] tokens) {
        return Arrays.stream(tokens).filter(t -> t < cfg.eosTokenId()).toArray();
    }

    private static double rms(float[] a, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[i] * a[i];
        }
        return Math.sqrt(s / Math.max(1, n));
    }

    /** Bytes of the text over bytes of its gzip: repetitive (hallucinated) text compresses well. */
    static double compressionRatio(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (b.length == 0) {
            return 0;
        }
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(bo)) {
            z.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.length / (double) bo.size();
    }
}
