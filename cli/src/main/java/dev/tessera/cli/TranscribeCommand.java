package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.models.whisper.Transcriber;
import dev.tessera.models.whisper.WhisperDecoder;
import dev.tessera.models.whisper.WhisperModel;
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
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
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

    @Option(names = "--language", paramLabel = "xx", description = "Spoken language code (default: detected).")
    String language;

    @Option(names = "--task", defaultValue = "transcribe", description = "transcribe or translate (default ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--beam", defaultValue = "5", description = "Beam size; 1 = greedy (default ${DEFAULT-VALUE}).")
    int beam;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda[:N] (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--format", defaultValue = "txt", description = "txt, srt, vtt or json (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--no-timestamps", description = "Decode without timestamp tokens (one segment per window).")
    boolean noTimestamps;

    @Option(names = "--max-tokens", defaultValue = "224",
            description = "Most tokens decoded per 30 s window (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--features", paramLabel = "FILE.npy",
            description = "Precomputed log-mel features float32 [n_mels, frames] or [1, n_mels, frames] instead of audio.")
    Path features;

    @Override
    public Integer call() throws Exception {
        if (!List.of("txt", "srt", "vtt", "json").contains(format)) {
            throw new IllegalArgumentException("--format must be txt, srt, vtt or json, got " + format);
        }
        if (audio.isEmpty() == (features == null)) {
            throw new IllegalArgumentException("give audio files or --features FILE.npy (one of them)");
        }
        Device dev = Device.parse(device);
        Path tokFile = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) {
            throw new IllegalArgumentException("no tokenizer.json in " + model + " (Whisper needs its tokenizer to print text)");
        }
        PrintStream out = System.out;
        if (format.equals("vtt")) {
            out.print("WEBVTT\n\n");
        }
        ObjectMapper json = new ObjectMapper();
        ArrayNode files = json.createArrayNode();
        try (WhisperModel m = WhisperModel.load(model, dev, DType.F32); Tokenizer tok = Tokenizer.load(tokFile)) {
            Transcriber tr = new Transcriber(m, tok);
            Transcriber.Options opt = Transcriber.Options.defaults().withLanguage(language).withTask(task).withBeam(beam)
                    .withTimestamps(!noTimestamps).withMaxTokensPerWindow(maxTokens);
            if (features != null) {
                files.add(fromFeatures(m, tok, opt, json));
            } else {
                for (Path a : audio) {
                    files.add(transcribeFile(a, tr, opt, out, json));
                }
            }
        }
        if (format.equals("json")) {
            out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(files.size() == 1 ? files.get(0) : files));
        }
        return 0;
    }

    private ObjectNode transcribeFile(Path a, Transcriber tr, Transcriber.Options opt, PrintStream out, ObjectMapper json)
            throws IOException {
        if (!Files.isRegularFile(a)) {
            throw new IllegalArgumentException("no such file: " + a);
        }
        double total = AudioDecoder.probe(a).durationSeconds();
        boolean bar = total > 60 && System.console() != null;
        List<Transcriber.Segment> segs = new ArrayList<>();
        int[] n = {0};
        Transcriber.Transcript t;
        try (AudioStream s = AudioDecoder.open(a, Transcriber.SAMPLE_RATE)) {
            t = tr.transcribe(s::read, opt, seg -> {
                segs.add(seg);
                n[0]++;
                if (format.equals("txt")) {
                    out.println(seg.text().strip());
                } else if (!format.equals("json")) {
                    out.print(cue(seg, n[0]));
                }
                out.flush();
            }, done -> {
                if (bar) {
                    int pct = (int) Math.min(100, 100 * done / total);
                    System.err.printf("\r[%-40s] %3d%% %s", "#".repeat(pct * 40 / 100), pct, a.getFileName());
                }
            });
        }
        if (bar) {
            System.err.println();
        }
        return toJson(json, a.toString(), t);
    }

    private ObjectNode fromFeatures(WhisperModel m, Tokenizer tok, Transcriber.Options opt, ObjectMapper json)
            throws IOException {
        Npy.Array arr = Npy.read(features);
        long[] shape = arr.shape();
        int mels = m.config().numMelBins();
        long frames = shape[shape.length - 1];
        if (!((shape.length == 2 && shape[0] == mels) || (shape.length == 3 && shape[0] == 1 && shape[1] == mels))) {
            throw new IllegalArgumentException(features + ": features must be float32 [" + mels + ", frames] or [1, " + mels
                    + ", frames], got " + java.util.Arrays.toString(shape));
        }
        float[] data = arr.requireFloats();
        int want = m.config().melFrames();
        // Shorter features are padded to the window with their own minimum (the log floor of silence).
        float[] padded = new float[mels * want];
        long use = Math.min(frames, want);
        float floor = Float.POSITIVE_INFINITY;
        for (float x : data) {
            floor = Math.min(floor, x);
        }
        for (int c = 0; c < mels; c++) {
            for (int f = 0; f < want; f++) {
                padded[c * want + f] = f < use ? data[(int) (c * frames + f)] : floor;
            }
        }
        WhisperDecoder dec = new WhisperDecoder(m);
        try (Tensor mel = Tensor.of(padded, m.device(), 1, mels, want); Tensor enc = m.encode(mel)) {
            String lang = opt.language() != null ? opt.language() : dec.detectLanguage(enc).get(0).getKey();
            WhisperDecoder.Result r = dec.decode(enc, dec.prompt(lang, opt.task(), opt.timestamps()), opt.timestamps(),
                    opt.beam(), 0, opt.maxTokensPerWindow(), 0);
            String text = tok.decode(java.util.Arrays.stream(r.tokens()).filter(x -> x < m.config().eosTokenId()).toArray(), true);
            Transcriber.Segment seg = new Transcriber.Segment(0, use * 0.01, text, r.tokens());
            if (format.equals("txt")) {
                System.out.println(text.strip());
            } else if (!format.equals("json")) {
                System.out.print(cue(seg, 1));
            }
            return toJson(json, features.toString(), new Transcriber.Transcript(lang, List.of(seg)));
        }
    }

    private String cue(Transcriber.Segment s, int n) {
        boolean srt = format.equals("srt");
        return (srt ? n + "\n" : "") + time(s.start(), srt) + " --> " + time(s.end(), srt) + "\n" + s.text().strip() + "\n\n";
    }

    static String time(double sec, boolean comma) {
        long ms = Math.round(sec * 1000);
        return String.format(Locale.ROOT, "%02d:%02d:%02d%s%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60,
                comma ? "," : ".", ms % 1000);
    }

    private static ObjectNode toJson(ObjectMapper json, String source, Transcriber.Transcript t) {
        ObjectNode o = json.createObjectNode();
        o.put("file", source);
        o.put("language", t.language());
        o.put("text", t.text());
        ArrayNode segs = o.putArray("segments");
        for (Transcriber.Segment s : t.segments()) {
            ObjectNode j = segs.addObject();
            j.put("start", Math.round(s.start() * 1000) / 1000.0);
            j.put("end", Math.round(s.end() * 1000) / 1000.0);
            j.put("text", s.text());
            ArrayNode ids = j.putArray("tokens");
            for (int id : s.tokens()) {
                ids.add(id);
            }
        }
        return o;
    }
}
