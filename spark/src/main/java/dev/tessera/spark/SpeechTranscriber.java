package dev.tessera.spark;

import dev.tessera.models.hub.ModelResolver;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.models.whisper.Transcriber;
import dev.tessera.models.whisper.WhisperModel;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.SystemInfo;
import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.audio.WavReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Speech recognition of a binary column of audio files (anything FFmpeg decodes; 16 kHz WAV only where FFmpeg cannot
 * load) with a Whisper checkpoint ({@link Transcriber}: openai-whisper's long-form decoding, temperature fallback and
 * segmentation, as {@code tessera transcribe} does), appended as
 * {@code struct<text: string, language: string, segments: array<struct<start: double, end: double, text: string>>>}:
 * <pre>{@code
 * Dataset<Row> audio = spark.read().format("binaryFile").option("pathGlobFilter", "*.mp3").load("/data/calls");
 * Dataset<Row> out = new SpeechTranscriber().setModel("/models/whisper-base").setLanguage("en")
 *         .setErrorCol("error").transform(audio).select("path", "transcription.text", "error");
 * }</pre>
 * The files of a batch are decoded window by window together; each transcript equals the one of that file alone.
 */
public final class SpeechTranscriber extends InferenceStage<SpeechTranscriber> {
    private static final long serialVersionUID = 1L;
    /** A segment of the output column. */
    public static final StructType SEGMENT = new StructType()
            .add("start", DataTypes.DoubleType, false)
            .add("end", DataTypes.DoubleType, false)
            .add("text", DataTypes.StringType, false);
    /** The output column's type. */
    public static final StructType TRANSCRIPTION = new StructType()
            .add("text", DataTypes.StringType, false)
            .add("language", DataTypes.StringType, true)
            .add("segments", DataTypes.createArrayType(SEGMENT, false), false);
    /** A timed word ({@link #setWordTimestamps}): its text with its leading space, times in seconds, probability. */
    public static final StructType WORD = new StructType()
            .add("word", DataTypes.StringType, false)
            .add("start", DataTypes.DoubleType, false)
            .add("end", DataTypes.DoubleType, false)
            .add("probability", DataTypes.DoubleType, false);
    /** A segment with its words. */
    public static final StructType SEGMENT_WITH_WORDS = SEGMENT.add("words", DataTypes.createArrayType(WORD, false), false);
    /** The output column's type with word timestamps. */
    public static final StructType TRANSCRIPTION_WITH_WORDS = new StructType()
            .add("text", DataTypes.StringType, false)
            .add("language", DataTypes.StringType, true)
            .add("segments", DataTypes.createArrayType(SEGMENT_WITH_WORDS, false), false);

    private String language;
    private String task = "transcribe";
    private int beam = Transcriber.Options.defaults().beam();
    private boolean timestamps = true;
    private String dtype;
    private boolean wordTimestamps;
    private String initialPrompt;
    private boolean carryInitialPrompt;
    private double hallucinationSilenceThreshold = Double.NaN;

    /** Input {@code content}, output {@code transcription}, 8 files per batch, openai-whisper's defaults otherwise. */
    public SpeechTranscriber() {
        super("content", "transcription", 8);
    }

    /** The spoken language (a code such as {@code de} or an English name); null (default): detected per file. */
    public SpeechTranscriber setLanguage(String lang) {
        if (lang != null) {
            Transcriber.Options.defaults().withLanguage(lang); // checks the name
        }
        this.language = lang;
        return this;
    }

    /** {@code transcribe} (default) or {@code translate} (to English). */
    public SpeechTranscriber setTask(String t) {
        Transcriber.Options.defaults().withTask(t);
        this.task = t;
        return this;
    }

    /** Beam width at temperature 0 (default 5, openai-whisper's CLI; 1 is greedy). */
    public SpeechTranscriber setBeam(int b) {
        Transcriber.Options.defaults().withBeam(b);
        this.beam = b;
        return this;
    }

    /** Timestamp tokens, so that segments carry their times (default true). */
    public SpeechTranscriber setTimestamps(boolean ts) {
        this.timestamps = ts;
        return this;
    }

    /**
     * Word-level timestamps (default off), as {@code tessera transcribe --word-timestamps}: each segment of the output
     * gets {@code words: array<struct<word, start, end, probability>>} ({@link #TRANSCRIPTION_WITH_WORDS}), segment
     * bounds follow the words, and each window starts after its last word.
     */
    public SpeechTranscriber setWordTimestamps(boolean w) {
        this.wordTimestamps = w;
        return this;
    }

    public boolean getWordTimestamps() {
        return wordTimestamps;
    }

    /**
     * Text before the first window's context (names, spelling, style), as {@code tessera transcribe --initial-prompt};
     * with {@code carry} before every window's ({@code --carry-initial-prompt}). Null: none.
     */
    public SpeechTranscriber setInitialPrompt(String prompt, boolean carry) {
        this.initialPrompt = prompt;
        this.carryInitialPrompt = carry;
        return this;
    }

    /**
     * With word timestamps, skip silence around what looks like a hallucination ({@code tessera transcribe
     * --hallucination-silence-threshold}, seconds; NaN, the default: off).
     */
    public SpeechTranscriber setHallucinationSilenceThreshold(double seconds) {
        Transcriber.Options.defaults().withHallucinationSilenceThreshold(seconds); // checks the value
        this.hallucinationSilenceThreshold = seconds;
        return this;
    }

    /**
     * {@code f32} (null, the default), {@code bf16} or {@code int8}: on CPU executors how the model's matrices are held
     * (half or a quarter of their memory, the arithmetic still f32), as {@code tessera transcribe --dtype}; or
     * {@code int8-dynamic}: the linear layers quantized on load, int8 weights and activations; CUDA executors refuse
     * anything but f32 when the model loads.
     */
    public SpeechTranscriber setDType(String name) {
        if (name != null && !dynamicInt8(name) && DType.parseStorage(name) == DType.F16) {
            throw new IllegalArgumentException("dtype f16 is not offered for Whisper: f32, bf16, int8 or int8-dynamic");
        }
        this.dtype = name;
        return this;
    }

    public String getDType() {
        return dtype;
    }

    public String getLanguage() {
        return language;
    }

    public String getTask() {
        return task;
    }

    public int getBeam() {
        return beam;
    }

    @Override
    protected DataType inputType() {
        return DataTypes.BinaryType;
    }

    @Override
    protected String inputHint() {
        return " (encoded audio files, e.g. the content column of spark.read().format(\"binaryFile\"))";
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(DataTypes.createStructField(getOutputCol(), wordTimestamps ? TRANSCRIPTION_WITH_WORDS : TRANSCRIPTION,
                true));
    }

    @Override
    protected BatchFunction batchFunction(StructType input) {
        String spec = getModel();
        String lang = language;
        String tk = task;
        int bm = beam;
        boolean ts = timestamps;
        String dt = dtype;
        boolean words = wordTimestamps;
        String prompt = initialPrompt;
        boolean carry = carryInitialPrompt;
        double hallucination = hallucinationSilenceThreshold;
        if (!Double.isNaN(hallucination) && !words) {
            throw new IllegalArgumentException("setHallucinationSilenceThreshold needs setWordTimestamps(true)");
        }
        return (inputs, rows, names, device, values, errors) -> {
            Loaded m = ExecutorModels.get("whisper", spec, device, dt == null ? "" : dt,
                    () -> Loaded.load(spec, device, dt == null || dynamicInt8(dt) ? DType.F32
                            : DType.parseStorage(dt), dynamicInt8(dt)));
            Transcriber.Options opt = Transcriber.Options.defaults().withLanguage(lang).withTask(tk).withBeam(bm)
                    .withTimestamps(ts).withWordTimestamps(words).withInitialPrompt(prompt).withCarryInitialPrompt(carry)
                    .withHallucinationSilenceThreshold(hallucination);
            String forced = Transcriber.languageFor(m.model.config(), opt.language());
            if (forced != null) {
                opt = opt.withLanguage(forced); // an English-only checkpoint transcribes in English
            }
            List<float[]> audio = new ArrayList<>();
            List<Integer> decoded = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                try {
                    audio.add(decode((byte[]) inputs.get(i), names.get(i)));
                    decoded.add(i);
                } catch (IOException | RuntimeException e) {
                    errors[i] = e.getMessage() == null ? e.toString() : e.getMessage();
                }
            }
            if (audio.isEmpty()) {
                return;
            }
            List<Transcriber.Transcript> out = m.transcriber.transcribeAll(audio, opt, audio.size(),
                    new Transcriber.Listener() {});
            for (int j = 0; j < out.size(); j++) {
                Transcriber.Transcript t = out.get(j);
                Row[] segs = new Row[t.segments().size()];
                for (int s = 0; s < segs.length; s++) {
                    Transcriber.Segment g = t.segments().get(s);
                    if (words) {
                        Row[] ws = new Row[g.words().size()];
                        for (int k = 0; k < ws.length; k++) {
                            var w = g.words().get(k);
                            ws[k] = RowFactory.create(w.word(), w.start(), w.end(), w.probability());
                        }
                        segs[s] = RowFactory.create(g.start(), g.end(), g.text(), ws);
                    } else {
                        segs[s] = RowFactory.create(g.start(), g.end(), g.text());
                    }
                }
                values[decoded.get(j)] = new Object[] {RowFactory.create(t.text(), t.language(), segs)};
            }
        };
    }

    /** Mono samples at 16 kHz: through FFmpeg, or a 16 kHz WAV read directly where FFmpeg cannot load. */
    static float[] decode(byte[] bytes, String name) throws IOException {
        if (bytes.length == 0) {
            throw new IllegalArgumentException("cannot decode audio " + name + ": the file is empty");
        }
        if (SystemInfo.loadProblem(SystemInfo.FFMPEG_PRESET) == null) {
            try {
                return AudioDecoder.decode(new ByteArrayInputStream(bytes), Transcriber.SAMPLE_RATE);
            } catch (IOException e) {
                throw new IOException("cannot decode audio " + name + ": " + e.getMessage(), e);
            }
        }
        WavReader.Audio a = WavReader.read(bytes, name);
        if (a.sampleRate() != Transcriber.SAMPLE_RATE) {
            throw new IOException(name + ": sample rate is " + a.sampleRate() + " Hz; without FFmpeg only 16 kHz WAV"
                    + " files are read");
        }
        return a.samples();
    }

    /** A Whisper checkpoint, its tokenizer and a transcriber over both. */
    private static final class Loaded implements AutoCloseable {
        final WhisperModel model;
        final Tokenizer tokenizer;
        final Transcriber transcriber;

        private Loaded(WhisperModel model, Tokenizer tokenizer) {
            this.model = model;
            this.tokenizer = tokenizer;
            this.transcriber = new Transcriber(model, tokenizer);
        }

        static Loaded load(String spec, Device device, DType dtype, boolean dynamicInt8) {
            Path dir = ModelResolver.resolveDefault(spec);
            Path tok = dir.resolve("tokenizer.json");
            if (!Files.isRegularFile(tok)) {
                throw new IllegalArgumentException("no tokenizer.json in " + dir + " (Whisper needs its tokenizer)");
            }
            if ((dtype != DType.F32 || dynamicInt8) && !device.isCpu()) {
                throw new IllegalArgumentException("Whisper's " + (dynamicInt8 ? "int8-dynamic" : dtype) + " matrices are a"
                        + " CPU form; on " + device + " it runs in F32");
            }
            WhisperModel m = WhisperModel.load(dir, device, dtype, dynamicInt8);
            Tokenizer t = null;
            try {
                t = Tokenizer.load(tok);
                return new Loaded(m, t);
            } catch (RuntimeException e) {
                if (t != null) {
                    t.close();
                }
                m.close();
                throw e;
            }
        }

        @Override
        public void close() {
            try {
                model.close();
            } finally {
                tokenizer.close();
            }
        }
    }
}
