package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.models.whisper.Transcriber;
import dev.tessera.models.whisper.WhisperDecoder;
import dev.tessera.models.whisper.WhisperLanguages;
import dev.tessera.models.whisper.WhisperModel;
import dev.tessera.models.whisper.WordTimestamps;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.audio.AudioStream;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tessera transcribe}: speech to text with a Hugging Face Whisper checkpoint. */
@Command(name = "transcribe", mixinStandardHelpOptions = true,
        description = "Transcribe (or translate to English) audio or video files with a Whisper checkpoint.")
public final class TranscribeCommand implements Callable<Integer> {
    @Parameters(paramLabel = "AUDIO", arity = "0..*", description = "Audio or video files (anything FFmpeg reads).")
    List<Path> audio = new ArrayList<>();

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Whisper checkpoint: config.json, generation_config.json, model.safetensors, tokenizer.json.")
    Path model;

    @Option(names = "--language", paramLabel = "xx", description = "Spoken language: a code (de) or its English name"
            + " (German), as openai-whisper takes it (default: detected).")
    String language;

    @Option(names = "--task", defaultValue = "transcribe", description = "transcribe or translate (default ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--beam", defaultValue = "5", description = "Beam size; 1 = greedy (default ${DEFAULT-VALUE}).")
    int beam;

    @Option(names = "--best-of", paramLabel = "N", defaultValue = "5", description = "Samples drawn per window when a"
            + " fallback temperature above 0 is used; the most likely is kept (default ${DEFAULT-VALUE}).")
    int bestOf;

    @Mixin
    DeviceOptions.DeviceOption device;

    @Option(names = "--format", defaultValue = "txt", description = "txt, srt, vtt, tsv, json, or all (every one of them,"
            + " with --output-dir) (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = {"--output-dir", "-o"}, paramLabel = "DIR", description = "Write each input's transcript to DIR/NAME.EXT"
            + " (NAME: the input's file name without its extension; EXT: the format, or each format with --format all)"
            + " instead of standard output. DIR is created if missing; a file is written when its input is done.")
    Path outputDir;

    @Option(names = "--no-timestamps", description = "Decode without timestamp tokens (one segment per window).")
    boolean noTimestamps;

    @Option(names = "--max-tokens", defaultValue = "224",
            description = "Most tokens decoded per 30 s window (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--features", paramLabel = "FILE.npy",
            description = "Precomputed log-mel features float32 [n_mels, frames] or [1, n_mels, frames] instead of audio:"
                    + " one window or less is decoded once at temperature 0; longer features (e.g. of"
                    + " 'tessera logmel --no-pad') are transcribed long-form, window by window, as their audio is.")
    Path features;

    @Option(names = "--batch", defaultValue = "4", paramLabel = "N",
            description = "Files transcribed together: their current 30 s windows go through the encoder and decoder as one"
                    + " batch; output stays per file, in input order, and equal to one file at a time (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--condition-on-previous-text", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Give each window the text decoded before it as a <|startofprev|> prompt (default on; a window"
                    + " decoded at a temperature above 0.5 starts afresh). --no-condition-on-previous-text turns it off.")
    boolean conditionOnPreviousText;

    @Option(names = "--carry-initial-prompt", description = "Put --initial-prompt before every window's context, not only"
            + " the first (openai-whisper's carry_initial_prompt; the previous text then gets what room is left).")
    boolean carryInitialPrompt;

    @Option(names = "--clip-timestamps", paramLabel = "S,E,...",
            description = "Transcribe only these clips: start,end,start,end,... seconds, increasing (the last end may be"
                    + " left out: the end of the file); as openai-whisper's --clip_timestamps.")
    String clipTimestamps;

    @Option(names = "--initial-prompt", paramLabel = "TEXT",
            description = "Text placed before the first window's prompt (names, spelling, punctuation style).")
    String initialPrompt;

    @Option(names = "--no-speech-threshold", defaultValue = "0.6", paramLabel = "P",
            description = "Skip a window when p(<|nospeech|>) is above P and its average log-prob is not above"
                    + " --logprob-threshold; 'none' = never (default ${DEFAULT-VALUE}).")
    String noSpeechThreshold;

    @Option(names = "--logprob-threshold", defaultValue = "-1.0", paramLabel = "L",
            description = "Decode a window again at a higher temperature when its average log-prob is below L;"
                    + " 'none' = never (default ${DEFAULT-VALUE}).")
    String logprobThreshold;

    @Option(names = "--compression-ratio-threshold", defaultValue = "2.4", paramLabel = "R",
            description = "Decode a window again at a higher temperature when the gzip compression ratio of its text is"
                    + " above R (repetition); 'none' = never (default ${DEFAULT-VALUE}).")
    String compressionRatioThreshold;

    @Option(names = "--dtype", paramLabel = "TYPE", description = "f32 (default), bf16 or int8: on cpu how the model's "
            + "matrices are held (bf16: half the memory, each product the f32 product on the rounded weights; int8: "
            + "a quarter, with a scale per output feature; the arithmetic stays f32, decoding gets faster); or "
            + "int8-dynamic: int8 weights and activations (each token on its own scale), the encoder and decoder layers "
            + "in int32 arithmetic (AVX-512 VNNI). On cuda: f32.")
    String dtype;

    @Option(names = "--word-timestamps", description = "Time every word (openai-whisper's method: cross-attention"
            + " alignment; one more decoder pass per window): json gets each segment's words with start, end and"
            + " probability, srt/vtt cues follow the words, and each window starts after the last word.")
    boolean wordTimestamps;

    @Option(names = "--prepend-punctuations", paramLabel = "CHARS", description = "With --word-timestamps: punctuation"
            + " merged into the following word (default: openai-whisper's \"'\u201c\u00bf([{-).")
    String prependPunctuations;

    @Option(names = "--append-punctuations", paramLabel = "CHARS", description = "With --word-timestamps: punctuation"
            + " merged into the preceding word (default: openai-whisper's \"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001).")
    String appendPunctuations;

    @Option(names = "--hallucination-silence-threshold", paramLabel = "SECONDS", description = "(needs --word-timestamps)"
            + " Skip silence around what looks like a hallucination (improbable, too short or too long words): a window moves"
            + " on to its last word only when more than SECONDS of silence follow, and a hallucinated-looking segment"
            + " between silences longer than SECONDS is dropped (openai-whisper's option; default off).")
    Double hallucinationSilenceThreshold;

    @Option(names = "--highlight-words", description = "(needs --word-timestamps) srt/vtt: a cue per word with that word"
            + " underlined.")
    boolean highlightWords;

    @Option(names = "--max-line-width", paramLabel = "N", description = "(needs --word-timestamps) srt/vtt: break lines"
            + " longer than N characters.")
    Integer maxLineWidth;

    @Option(names = "--max-line-count", paramLabel = "N", description = "(needs --word-timestamps and --max-line-width)"
            + " srt/vtt: at most N lines a cue; cues then run across segments and also break at pauses over 3 s.")
    Integer maxLineCount;

    @Option(names = "--max-words-per-line", paramLabel = "N", description = "(needs --word-timestamps; no effect with"
            + " --max-line-width) srt/vtt: at most N words a cue.")
    Integer maxWordsPerLine;

    /** {@code --clip-timestamps}: comma-separated seconds ("" or none: the whole file). */
    static double[] clips(String v) {
        if (v == null || v.isBlank()) {
            return new double[0];
        }
        String[] parts = v.split(",", -1);
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Double.parseDouble(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--clip-timestamps takes start,end,... in seconds, got \"" + v + "\"");
            }
        }
        try {
            return Transcriber.Options.defaults().withClipTimestamps(out).clipTimestamps();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--clip-timestamps: " + e.getMessage(), e);
        }
    }

    static double threshold(String flag, String v) {
        if (v.equalsIgnoreCase("none") || v.equalsIgnoreCase("off")) {
            return Double.NaN;
        }
        try {
            double d = Double.parseDouble(v);
            if (Double.isFinite(d)) {
                return d;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(flag + " must be a finite number or 'none', got " + v);
    }

    @Override
    public Integer call() throws Exception {
        if (!format.equals("all") && !TranscriptWriter.FORMATS.contains(format)) {
            throw new IllegalArgumentException("--format must be txt, srt, vtt, tsv, json or all, got " + format);
        }
        if (format.equals("all") && outputDir == null) {
            throw new IllegalArgumentException("--format all writes a file per format: give --output-dir DIR");
        }
        if (audio.isEmpty() == (features == null)) {
            throw new IllegalArgumentException("give audio files or --features FILE.npy (one of them)");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        }
        if (bestOf < 1) {
            throw new IllegalArgumentException("--best-of must be >= 1, got " + bestOf);
        }
        if (!task.equals("transcribe") && !task.equals("translate")) {
            throw new IllegalArgumentException("--task must be transcribe or translate, got " + task);
        }
        if (beam < 1) {
            throw new IllegalArgumentException("--beam must be >= 1, got " + beam);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        }
        checkWordOptions();
        Transcriber.Options opt = Transcriber.Options.defaults().withLanguage(language).withTask(task).withBeam(beam)
                .withBestOf(bestOf).withTimestamps(!noTimestamps).withMaxTokensPerWindow(maxTokens)
                .withThresholds(threshold("--compression-ratio-threshold", compressionRatioThreshold),
                        threshold("--logprob-threshold", logprobThreshold), threshold("--no-speech-threshold", noSpeechThreshold))
                .withConditionOnPreviousText(conditionOnPreviousText).withInitialPrompt(initialPrompt)
                .withCarryInitialPrompt(carryInitialPrompt).withClipTimestamps(clips(clipTimestamps))
                .withWordTimestamps(wordTimestamps).withPunctuations(prependPunctuations, appendPunctuations)
                .withHallucinationSilenceThreshold(hallucinationSilenceThreshold == null ? Double.NaN
                        : hallucinationSilenceThreshold);
        double[] durations = new double[audio.size()];
        for (int i = 0; i < audio.size(); i++) {
            Path a = audio.get(i);
            if (!Files.isRegularFile(a)) {
                throw new IllegalArgumentException(Files.isDirectory(a) ? a + " is a folder: give audio files"
                        : "no such file: " + a);
            }
            // every file checked before the first is decoded (without FFmpeg: its name only, each WAV is read once,
            // when its turn comes; no duration, so no progress line)
            if (AudioFiles.ffmpegLoads()) {
                durations[i] = AudioDecoder.probe(a).durationSeconds();
            } else {
                AudioFiles.requireWav(a);
                durations[i] = Double.NaN;
            }
        }
        List<Path> inputs = features != null ? List.of(features) : audio;
        if (outputDir != null) {
            checkOutputDir(inputs);
        }
        Device dev = device.resolve();
        DType dt = DType.F32;
        boolean dynamicInt8 = DeviceOptions.isDynamicInt8(dtype);
        if (dynamicInt8 && !dev.isCpu()) {
            throw new IllegalArgumentException("--dtype int8-dynamic runs on the cpu, not " + dev);
        }
        if (dtype != null && !dynamicInt8) {
            try {
                dt = DType.parseStorage(dtype);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dtype: " + e.getMessage(), e);
            }
            if (dt == DType.F16 || dt != DType.F32 && !dev.isCpu()) {
                throw new IllegalArgumentException("--dtype " + dtype + ": Whisper takes f32, bf16, int8 or int8-dynamic"
                        + " on the cpu, f32 on " + dev);
            }
        }
        Path tokFile = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) {
            throw new IllegalArgumentException("no tokenizer.json in " + model + " (Whisper needs its tokenizer to print text)");
        }
        PrintStream out = System.out;
        if (outputDir == null) {
            out.print(TranscriptWriter.header(format));
        }
        ObjectMapper json = new ObjectMapper();
        ArrayNode files = json.createArrayNode();
        try (WhisperModel m = WhisperModel.load(model, dev, dt, dynamicInt8); Tokenizer tok = Tokenizer.load(tokFile)) {
            var langs = m.config().langToId();
            if (language != null && m.config().isMultilingual() && !langs.containsKey(WhisperLanguages.code(language))) {
                throw new IllegalArgumentException("--language: this checkpoint does not know \"" + language + "\" (a code"
                        + " such as " + String.join(", ", langs.keySet().stream().sorted().limit(8).toList())
                        + "..., or the language's English name)");
            }
            String lang = Transcriber.languageFor(m.config(), opt.language());
            if (lang != null && !lang.equals(opt.language())) {
                System.err.println("tessera: " + model + " is an English-only model: transcribing in English, not \""
                        + language + "\"");
                opt = opt.withLanguage(lang);
            }
            Transcriber tr = new Transcriber(m, tok);
            if (features != null) {
                TranscriptWriter w = outputDir == null ? writer(format) : null;
                Transcriber.Transcript t = fromFeatures(m, tok, tr, opt, w == null ? null : seg -> {
                    out.print(w.segment(seg));
                    out.flush();
                });
                if (outputDir != null) {
                    writeFiles(features, t, json);
                } else {
                    out.print(w.finish());
                }
                files.add(toJson(json, features.toString(), t, wordTimestamps));
            } else {
                List<Transcriber.Transcript> ts = transcribeFiles(tr, opt, durations, out, json);
                for (int i = 0; i < ts.size(); i++) {
                    files.add(toJson(json, audio.get(i).toString(), ts.get(i), wordTimestamps));
                }
            }
        }
        if (format.equals("json") && outputDir == null) {
            out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(files.size() == 1 ? files.get(0) : files));
        }
        return 0;
    }

    /**
     * Refuses, before any decoding, an output folder that is a file or cannot be made, and inputs that would write the
     * same file (the same name without extension).
     */
    private void checkOutputDir(List<Path> inputs) throws IOException {
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw new IllegalArgumentException("--output-dir " + outputDir + " is a file, not a folder");
        }
        java.util.Map<String, Path> seen = new java.util.HashMap<>();
        for (Path p : inputs) {
            Path prev = seen.put(baseName(p), p);
            if (prev != null) {
                throw new IllegalArgumentException(prev + " and " + p + " would both write " + outputDir.resolve(baseName(p))
                        + ".*: give them different names or transcribe them in two runs");
            }
        }
        Files.createDirectories(outputDir);
    }

    /** The input's file name without its last extension (openai-whisper's output name). */
    static String baseName(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /** The formats written: {@code --format}, or all of them. */
    private List<String> formats() {
        return format.equals("all") ? TranscriptWriter.FORMATS : List.of(format);
    }

    private TranscriptWriter writer(String fmt) {
        return new TranscriptWriter(fmt, wordTimestamps
                ? new WordCues(maxLineWidth, maxLineCount, maxWordsPerLine, highlightWords) : null);
    }

    /**
     * Writes {@code t} to {@code --output-dir} in each format (each file through a temporary file moved into place, so
     * a file there is whole) and names them on stderr.
     */
    private void writeFiles(Path input, Transcriber.Transcript t, ObjectMapper json) throws IOException {
        List<String> written = new ArrayList<>();
        for (String fmt : formats()) {
            String text;
            if (fmt.equals("json")) {
                text = json.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(json, input.toString(), t,
                        wordTimestamps)) + "\n";
            } else {
                TranscriptWriter w = writer(fmt);
                StringBuilder b = new StringBuilder(TranscriptWriter.header(fmt));
                for (Transcriber.Segment seg : t.segments()) {
                    b.append(w.segment(seg));
                }
                text = b.append(w.finish()).toString();
            }
            Path target = outputDir.resolve(baseName(input) + "." + fmt);
            Path tmp = Files.createTempFile(outputDir, "." + baseName(input), ".part");
            try {
                Files.writeString(tmp, text, java.nio.charset.StandardCharsets.UTF_8);
                Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            written.add(target.toString());
        }
        System.err.println("tessera: " + input.getFileName() + " -> " + String.join(", ", written));
    }

    /**
     * Transcribes the audio files {@code --batch} at a time. Text is printed as it is decoded for the first unfinished
     * file; later files' text waits until the files before them are done, so the output is in input order.
     */
    private List<Transcriber.Transcript> transcribeFiles(Transcriber tr, Transcriber.Options opt, double[] durations,
            PrintStream out, ObjectMapper json) throws IOException {
        int n = audio.size();
        StringBuilder[] held = new StringBuilder[n];
        boolean[] done = new boolean[n];
        int[] head = {0};
        boolean console = System.console() != null;
        List<Transcriber.SourceOpener> openers = new ArrayList<>();
        for (Path a : audio) {
            openers.add(() -> {
                if (!AudioFiles.ffmpegLoads()) { // a 16 kHz WAV, read whole without FFmpeg
                    return Transcriber.SampleSource.of(AudioFiles.readWithoutFfmpeg(a).samples());
                }
                AudioStream s = AudioDecoder.open(a, Transcriber.SAMPLE_RATE);
                return new Transcriber.SampleSource() {
                    @Override
                    public int read(float[] buf, int off, int len) throws IOException {
                        return s.read(buf, off, len);
                    }

                    @Override
                    public void close() {
                        s.close();
                    }
                };
            });
        }
        TranscriptWriter[] writers = new TranscriptWriter[n];
        for (int i = 0; i < n; i++) {
            held[i] = new StringBuilder();
            writers[i] = outputDir == null ? writer(format) : null; // (to a folder: written whole when a file is done)
        }
        List<Transcriber.Transcript> result = tr.transcribe(openers, opt, batch, new Transcriber.Listener() {
            @Override
            public void onSegment(int file, Transcriber.Segment seg) {
                if (writers[file] != null) {
                    print(file, writers[file].segment(seg));
                }
            }

            private void print(int file, String text) {
                if (file == head[0]) {
                    out.print(text);
                    out.flush();
                } else {
                    held[file].append(text);
                }
            }

            @Override
            public void onProgress(int file, double seconds) {
                if (console && durations[file] > 60) {
                    int pct = (int) Math.min(100, 100 * seconds / durations[file]);
                    System.err.printf("\r[%-40s] %3d%% %s", "#".repeat(pct * 40 / 100), pct, audio.get(file).getFileName());
                    if (pct >= 100) {
                        System.err.println();
                    }
                }
            }

            @Override
            public void onDone(int file, Transcriber.Transcript t) {
                if (writers[file] != null) {
                    print(file, writers[file].finish());
                } else {
                    try {
                        writeFiles(audio.get(file), t, json);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException("cannot write the transcript of " + audio.get(file) + " to "
                                + outputDir + ": " + e.getMessage(), e);
                    }
                }
                done[file] = true;
                while (head[0] < n && done[head[0]]) {
                    head[0]++;
                    if (head[0] < n) {
                        out.print(held[head[0]]);
                        held[head[0]].setLength(0);
                        out.flush();
                    }
                }
            }
        });
        return result;
    }

    /**
     * Transcribes {@code --features}: one window or less decoded once at temperature 0 (a single segment), longer
     * features long-form by {@link Transcriber#transcribeFeatures}; {@code onSegment} (may be null) sees each segment.
     */
    private Transcriber.Transcript fromFeatures(WhisperModel m, Tokenizer tok, Transcriber tr, Transcriber.Options opt,
            java.util.function.Consumer<Transcriber.Segment> onSegment) throws IOException {
        Npy.Array arr = Npy.read(features);
        long[] shape = arr.shape();
        int mels = m.config().numMelBins();
        if (!((shape.length == 2 && shape[0] == mels) || (shape.length == 3 && shape[0] == 1 && shape[1] == mels))) {
            throw new IllegalArgumentException(features + ": features must be a float array [" + mels + ", frames] or [1, " + mels
                    + ", frames], got shape " + java.util.Arrays.toString(shape));
        }
        if (arr.dtype() != Npy.DType.F32) {
            throw new IllegalArgumentException(features + ": features must be a float array (float32; float16 and float64 "
                    + "are converted), got " + arr.dtype() + " " + java.util.Arrays.toString(shape));
        }
        float[] data = arr.requireFloats();
        long frames = shape[shape.length - 1];
        int want = m.config().melFrames();
        if (frames > want) {
            return tr.transcribeFeatures(data, (int) frames, opt, onSegment == null ? null : new Transcriber.Listener() {
                @Override
                public void onSegment(int file, Transcriber.Segment s) {
                    onSegment.accept(s);
                }
            });
        }
        if (frames == 0) {
            throw new IllegalArgumentException(features + ": the features have no frames");
        }
        double[] clips = opt.clipTimestamps();
        if (clips.length > 1 || clips.length == 1 && clips[0] != 0) { // ("0", openai-whisper's default, is the whole file)
            throw new IllegalArgumentException("--clip-timestamps needs audio or features longer than one window ("
                    + want + " frames); " + features + " has " + frames + " (decoded once, whole)");
        }
        long use = Math.min(frames, want);
        float[] padded = Transcriber.padToWindow(data, mels, (int) frames, want);
        WhisperDecoder dec = new WhisperDecoder(m);
        try (Tensor mel = Tensor.of(padded, m.device(), 1, mels, want); Tensor enc = m.encode(mel)) {
            String lang = opt.language() != null ? opt.language() : dec.detectLanguage(enc).get(0).getKey();
            int[] initial = Transcriber.initialPromptTokens(tok, opt.initialPrompt());
            WhisperDecoder.Result r = dec.decode(enc, dec.prompt(lang, opt.task(), opt.timestamps(), initial), opt.timestamps(),
                    opt.beam(), 0, opt.maxTokensPerWindow(), 0);
            if (r.noSpeechProb() > opt.noSpeechThreshold() && !(r.avgLogProb() > opt.logProbThreshold())) {
                return new Transcriber.Transcript(lang, List.of()); // no speech
            }
            String text = tok.decode(java.util.Arrays.stream(r.tokens()).filter(x -> x < m.config().eosTokenId()).toArray(), true);
            Transcriber.Segment seg = new Transcriber.Segment(0, use * 0.01, text, r.tokens(),
                    new Transcriber.Window(0, 0, r.avgLogProb(), Double.NaN, r.noSpeechProb())); // greedy or beam at T 0
            if (wordTimestamps) {
                seg = WordTimestamps.addWordTimestamps(m, tok, enc, lang, opt.task(), List.of(seg), 0, (int) use, 0,
                        opt.prependPunctuations(), opt.appendPunctuations())
                        .segments().get(0);
            }
            if (onSegment != null) {
                onSegment.accept(seg);
            }
            return new Transcriber.Transcript(lang, List.of(seg));
        }
    }

    /**
     * The word options need --word-timestamps (an error, as openai-whisper's command line makes it); the ones without
     * effect are warned about.
     */
    private void checkWordOptions() {
        for (var o : List.of(new Object[] {"--highlight-words", highlightWords ? Boolean.TRUE : null},
                new Object[] {"--max-line-width", maxLineWidth}, new Object[] {"--max-line-count", maxLineCount},
                new Object[] {"--max-words-per-line", maxWordsPerLine},
                new Object[] {"--hallucination-silence-threshold", hallucinationSilenceThreshold})) {
            if (o[1] != null && !wordTimestamps) {
                throw new IllegalArgumentException(o[0] + " needs --word-timestamps");
            }
        }
        for (var o : List.of(new Object[] {"--max-line-width", maxLineWidth}, new Object[] {"--max-line-count", maxLineCount},
                new Object[] {"--max-words-per-line", maxWordsPerLine})) {
            if (o[1] != null && (Integer) o[1] < 1) {
                throw new IllegalArgumentException(o[0] + " must be >= 1, got " + o[1]);
            }
        }
        if (hallucinationSilenceThreshold != null && !(hallucinationSilenceThreshold >= 0
                && hallucinationSilenceThreshold < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("--hallucination-silence-threshold must be >= 0 seconds, got "
                    + hallucinationSilenceThreshold);
        }
        if (maxLineCount != null && maxLineWidth == null) {
            System.err.println("tessera: --max-line-count has no effect without --max-line-width");
        }
        if (maxWordsPerLine != null && maxLineWidth != null) {
            System.err.println("tessera: --max-words-per-line has no effect with --max-line-width");
        }
        if (wordTimestamps && task.equals("translate")) {
            System.err.println("tessera: word-level timestamps on translations may not be reliable");
        }
        if (wordTimestamps && !List.of("srt", "vtt", "all").contains(format) && (highlightWords || maxLineWidth != null
                || maxWordsPerLine != null || maxLineCount != null)) {
            System.err.println("tessera: the line and highlight options shape srt/vtt cues; --format " + format
                    + " ignores them");
        }
    }

    /** A cue time as openai-whisper formats it ({@link TranscriptWriter#time}). */
    static String time(double sec, boolean srt) {
        return TranscriptWriter.time(sec, srt);
    }

    private static ObjectNode toJson(ObjectMapper json, String source, Transcriber.Transcript t, boolean withWords) {
        ObjectNode o = json.createObjectNode();
        o.put("file", source);
        o.put("language", t.language());
        o.put("text", t.text());
        ArrayNode segs = o.putArray("segments");
        int id = 0;
        for (Transcriber.Segment s : t.segments()) {
            // openai-whisper's segment fields ("words" with word timestamps)
            ObjectNode j = segs.addObject();
            j.put("id", id++);
            Transcriber.Window w = s.window();
            if (w.seek() >= 0) {
                j.put("seek", w.seek());
            } else {
                j.putNull("seek");
            }
            j.put("start", Math.round(s.start() * 1000) / 1000.0);
            j.put("end", Math.round(s.end() * 1000) / 1000.0);
            j.put("text", s.text());
            ArrayNode ids = j.putArray("tokens");
            for (int tid : s.tokens()) {
                ids.add(tid);
            }
            number(j, "temperature", w.temperature());
            number(j, "avg_logprob", w.avgLogProb());
            number(j, "compression_ratio", w.compressionRatio());
            number(j, "no_speech_prob", w.noSpeechProb());
            if (withWords) {
                ArrayNode words = j.putArray("words");
                for (WordTimestamps.Word wd : s.words()) {
                    ObjectNode o2 = words.addObject();
                    o2.put("word", wd.word());
                    o2.put("start", wd.start());
                    o2.put("end", wd.end());
                    o2.put("probability", wd.probability());
                }
            }
        }
        return o;
    }

    /** {@code key: v}, or null where {@code v} is not known (NaN). */
    private static void number(ObjectNode j, String key, double v) {
        if (Double.isFinite(v)) {
            j.put(key, v);
        } else {
            j.putNull(key);
        }
    }
}
