package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.io.Npy;
import dev.tessera.runtime.testing.TestWav;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera transcribe} on the random tiny Whisper checkpoint of the models tests (a 2 s window, synthetic
 * vocabulary given a word-level tokenizer.json here): features and audio paths, output formats, bad input.
 */
class TranscribeCommandTest {
    static final Path SRC = Paths.get("../models/src/test/resources/whisper/tiny-a").toAbsolutePath().normalize();
    @TempDir
    static Path tmp;
    static Path model;

    static ChatCommandTest.Run run(String... args) {
        return ChatCommandTest.run(null, args);
    }

    @BeforeAll
    static void makeModel() throws Exception {
        model = Files.createDirectories(tmp.resolve("whisper-tiny"));
        for (String f : new String[] {"config.json", "generation_config.json", "model.safetensors"}) {
            Files.copy(SRC.resolve(f), model.resolve(f));
        }
        // Word-level vocabulary over the 411 ids: w0..w299, then the special tokens and timestamps.
        Files.copy(SRC.resolveSibling("tiny-word-tokenizer.json"), model.resolve("tokenizer.json"));
    }

    @Test
    void featuresGiveTheReferenceGreedyTokens() throws Exception {
        ChatCommandTest.Run r = run("transcribe", "--model", model.toString(), "--features", SRC.resolve("features.npy").toString(),
                "--beam", "1", "--language", "en", "--max-tokens", "32", "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        int[] want = Npy.read(SRC.resolve("greedy_timestamps.npy")).ints();
        JsonNode toks = o.get("segments").get(0).get("tokens");
        int n = want.length > 0 && want[want.length - 1] == 300 ? want.length - 1 : want.length;
        assertEquals(n, toks.size(), r.out());
        for (int i = 0; i < n; i++) {
            assertEquals(want[i], toks.get(i).asInt(), "token " + i);
        }
        assertEquals("en", o.get("language").asText());
    }

    /**
     * --dtype int8 / bf16 (matrices held so on the CPU): the greedy tokens are the library's on the model loaded so;
     * f16 and unknown names refused in one line.
     */
    @Test
    void storedMatricesGiveTheLibrarysTokens() throws Exception {
        for (String dt : new String[] {"int8", "bf16", "int8-dynamic"}) {
            boolean dynamic = dt.equals("int8-dynamic");
            ChatCommandTest.Run r = run("transcribe", "--model", model.toString(), "--features",
                    SRC.resolve("features.npy").toString(), "--beam", "1", "--language", "en", "--max-tokens", "32",
                    "--format", "json", "--dtype", dt);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains(dynamic ? "quantized for dynamic INT8" : "matrices stored as " + (dt.equals("int8")
                    ? "I8" : "BF16")), r.err());
            JsonNode toks = new ObjectMapper().readTree(r.out()).get("segments").get(0).get("tokens");
            int[] want;
            try (dev.tessera.models.whisper.WhisperModel m = dev.tessera.models.whisper.WhisperModel.load(model,
                    dev.tessera.runtime.Device.CPU, dynamic ? null : dev.tessera.runtime.DType.parseStorage(dt), dynamic);
                    dev.tessera.runtime.Tensor mel = dev.tessera.runtime.Tensor.of(
                            Npy.read(SRC.resolve("features.npy")).requireFloats(), dev.tessera.runtime.Device.CPU,
                            Npy.read(SRC.resolve("features.npy")).shape());
                    dev.tessera.runtime.Tensor enc = m.encode(mel)) {
                dev.tessera.models.whisper.WhisperDecoder dec = new dev.tessera.models.whisper.WhisperDecoder(m);
                want = dec.decode(enc, dec.prompt("en", "transcribe", true), true, 1, 0, 32, 0).tokens();
            }
            int n = want.length > 0 && want[want.length - 1] == 300 ? want.length - 1 : want.length;
            assertEquals(n, toks.size(), dt + ": " + r.out());
            for (int i = 0; i < n; i++) {
                assertEquals(want[i], toks.get(i).asInt(), dt + " token " + i);
            }
        }
        ChatCommandTest.Run f16 = run("transcribe", "--model", model.toString(), "--features",
                SRC.resolve("features.npy").toString(), "--dtype", "f16");
        assertEquals(2, f16.code(), f16.err());
        assertTrue(f16.err().strip().startsWith("error: --dtype f16: Whisper takes f32, bf16, int8 or int8-dynamic"),
                f16.err());
        ChatCommandTest.Run int4 = run("transcribe", "--model", model.toString(), "--features",
                SRC.resolve("features.npy").toString(), "--dtype", "int4");
        assertEquals(2, int4.code(), int4.err());
        assertTrue(int4.err().contains("unknown dtype 'int4'"), int4.err());
    }

    /**
     * An English-only checkpoint (generation_config is_multilingual false) asked for another language transcribes in
     * English and says so, as openai-whisper does (it reported "de" while decoding English).
     */
    @Test
    void anEnglishOnlyModelTranscribesInEnglish() throws Exception {
        Path en = Files.createDirectories(tmp.resolve("english-only"));
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
            Files.copy(model.resolve(f), en.resolve(f));
        }
        com.fasterxml.jackson.databind.node.ObjectNode g = (com.fasterxml.jackson.databind.node.ObjectNode)
                new ObjectMapper().readTree(model.resolve("generation_config.json").toFile());
        g.put("is_multilingual", false);
        new ObjectMapper().writeValue(en.resolve("generation_config.json").toFile(), g);
        ChatCommandTest.Run r = run("transcribe", "--model", en.toString(), "--features",
                SRC.resolve("features.npy").toString(), "--beam", "1", "--language", "de", "--max-tokens", "8",
                "--format", "json");
        assertEquals(0, r.code(), r.err());
        assertEquals("en", new ObjectMapper().readTree(r.out()).get("language").asText(), r.out());
        assertTrue(r.err().contains("English-only model"), r.err());
    }

    /**
     * {@code a} with each segment's {@code avg_logprob} and {@code no_speech_prob} replaced by the other's where the
     * two agree to 1e-5 (relative), so that an equality check tells only real differences.
     */
    private static JsonNode withoutLogProbs(JsonNode a, JsonNode b) {
        JsonNode copy = a.deepCopy();
        for (int f = 0; f < copy.size() && f < b.size(); f++) {
            JsonNode sa = copy.get(f).get("segments");
            JsonNode sb = b.get(f).get("segments");
            for (int i = 0; i < sa.size() && i < sb.size(); i++) {
                for (String k : new String[] {"avg_logprob", "no_speech_prob"}) {
                    double x = sa.get(i).get(k).asDouble();
                    double y = sb.get(i).get(k).asDouble();
                    if (Math.abs(x - y) <= 1e-5 * Math.max(Math.abs(x), Math.abs(y))) {
                        ((com.fasterxml.jackson.databind.node.ObjectNode) sa.get(i)).put(k, 0.0);
                    }
                }
            }
        }
        return copy;
    }

    @Test
    void audioInEveryFormat() throws Exception {
        Random rnd = new Random(5);
        float[] x = new float[16_000 * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * 220 * i / 16_000.0) + 0.05 * rnd.nextGaussian());
        }
        Path a = TestWav.write16k(tmp.resolve("tone.wav"), x);
        ChatCommandTest.Run j = run("transcribe", a.toString(), "--model", model.toString(), "--beam", "2", "--format", "json");
        assertEquals(0, j.code(), j.err());
        JsonNode o = new ObjectMapper().readTree(j.out());
        double prevEnd = 0;
        int id = 0;
        for (JsonNode s : o.get("segments")) {
            double st = s.get("start").asDouble();
            double en = s.get("end").asDouble();
            assertTrue(st >= 0 && st <= en && en <= 5.0 + 2.0, "segment times " + s);
            // openai-whisper's fields: the window's first frame, the kept decoding's temperature, log-prob, ratio
            assertEquals(id++, s.get("id").asInt(), s.toString());
            long seek = s.get("seek").asLong();
            assertTrue(seek >= 0 && seek * 0.01 <= st + 1e-9, "seek " + s);
            double temp = s.get("temperature").asDouble(); // one of the fallback schedule's 0, 0.2, ..., 1
            assertTrue(temp >= 0 && temp <= 1 && Math.abs(temp * 5 - Math.round(temp * 5)) < 1e-9, s.toString());
            assertTrue(s.get("avg_logprob").asDouble() <= 0 && s.get("compression_ratio").asDouble() > 0, s.toString());
            double ns = s.get("no_speech_prob").asDouble();
            assertTrue(ns >= 0 && ns <= 1, s.toString());
            assertTrue(st >= prevEnd - 1e-9 || prevEnd == 0, "segments in order " + o);
            prevEnd = Math.max(prevEnd, st);
        }
        ChatCommandTest.Run srt = run("transcribe", a.toString(), "--model", model.toString(), "--beam", "1", "--format", "srt");
        assertEquals(0, srt.code(), srt.err());
        if (!srt.out().isBlank()) {
            assertTrue(srt.out().startsWith("1\n00:00:"), srt.out());
            assertTrue(srt.out().contains(" --> "), srt.out());
        }
        ChatCommandTest.Run vtt = run("transcribe", a.toString(), "--model", model.toString(), "--beam", "1", "--format", "vtt");
        assertEquals(0, vtt.code(), vtt.err());
        assertTrue(vtt.out().startsWith("WEBVTT"), vtt.out());
        // cue times as openai-whisper writes them: VTT without hours below one hour, SRT always with them
        assertTrue(vtt.out().lines().anyMatch(l -> l.matches("\\d\\d:\\d\\d\\.\\d{3} --> \\d\\d:\\d\\d\\.\\d{3}")), vtt.out());
        assertTrue(srt.out().lines().anyMatch(l -> l.matches("\\d\\d:\\d\\d:\\d\\d,\\d{3} --> \\d\\d:\\d\\d:\\d\\d,\\d{3}")),
                srt.out());
        assertEquals("00:05.000", TranscribeCommand.time(5.0, false));
        assertEquals("01:02:03.457", TranscribeCommand.time(3723.4567, false));
        assertEquals("00:00:05,000", TranscribeCommand.time(5.0, true));
        // Silence and a 0.1 s clip: empty or short output, no error.
        Path silence = TestWav.write16k(tmp.resolve("silence.wav"), new float[16_000 * 3]);
        ChatCommandTest.Run s = run("transcribe", silence.toString(), "--model", model.toString(), "--format", "json");
        assertEquals(0, s.code(), s.err());
        assertTrue(new ObjectMapper().readTree(s.out()).get("segments").isArray(), "silence is decoded: " + s.out());
        float[] shortClip = new float[1600];
        System.arraycopy(x, 0, shortClip, 0, shortClip.length);
        ChatCommandTest.Run sh = run("transcribe", TestWav.write16k(tmp.resolve("short.wav"), shortClip).toString(), "--model", model.toString(),
                "--beam", "1", "--format", "txt");
        assertEquals(0, sh.code(), sh.err());
    }

    static float[] tone(double seconds, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[(int) (16_000 * seconds)];
        double f = 150 + 200 * rnd.nextDouble();
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * f * i / 16_000.0) + 0.05 * rnd.nextGaussian());
        }
        return x;
    }

    /**
     * Where FFmpeg cannot load, 16 kHz WAV files are read by WavReader: the transcripts (several files in a batch,
     * one of them longer than a 30 s window) equal those read through FFmpeg; another format is refused in one line.
     */
    @Test
    void withoutFfmpegA16kHzWavGivesTheSameTranscript() throws Exception {
        Path[] files = {TestWav.write16k(tmp.resolve("n1.wav"), tone(34.5, 5)), TestWav.write16k(tmp.resolve("n2.wav"), tone(2.2, 6))};
        String[] args = {"transcribe", files[0].toString(), files[1].toString(), "--model", model.toString(), "--beam",
            "2", "--batch", "2", "--format", "json"};
        ChatCommandTest.Run with = run(args);
        assertEquals(0, with.code(), with.err());
        System.setProperty("tessera.audio.noFfmpeg", "true");
        try {
            ChatCommandTest.Run without = run(args);
            assertEquals(0, without.code(), without.err());
            assertEquals(new ObjectMapper().readTree(with.out()), new ObjectMapper().readTree(without.out()));
            Path mp3 = Files.write(tmp.resolve("x.mp3"), new byte[64]);
            ChatCommandTest.Run refused = run("transcribe", mp3.toString(), "--model", model.toString());
            assertEquals(2, refused.code(), refused.err());
            assertEquals(1, refused.err().strip().lines().count(), refused.err());
            assertTrue(refused.err().contains("FFmpeg cannot be loaded here"), refused.err());
        } finally {
            System.clearProperty("tessera.audio.noFfmpeg");
        }
        assertTrue(new ObjectMapper().readTree(with.out()).get(0).get("segments").size() > 0, with.out());
    }

    /**
     * Features longer than a window ({@code tessera logmel --no-pad} of a 7.7 s file; the fixture's windows are 2 s)
     * are transcribed long-form: the same JSON and SRT as the audio itself (not only the first window, as before).
     */
    @Test
    void longFeaturesFromLogmelNoPadGiveTheAudiosTranscript() throws Exception {
        Path a = TestWav.write16k(tmp.resolve("long.wav"), tone(7.7, 9));
        Path f = tmp.resolve("long-mel.npy");
        ChatCommandTest.Run lm = run("logmel", a.toString(), "--out", f.toString(), "--no-pad");
        assertEquals(0, lm.code(), lm.err());
        assertEquals(List.of(80L, 770L), java.util.Arrays.stream(Npy.read(f).shape()).boxed().toList());
        for (String fmt : new String[] {"json", "srt"}) {
            String[] common = {"--model", model.toString(), "--beam", "1", "--language", "en", "--format", fmt};
            ChatCommandTest.Run audioRun = run(concat(new String[] {"transcribe", a.toString()}, common));
            ChatCommandTest.Run featRun = run(concat(new String[] {"transcribe", "--features", f.toString()}, common));
            assertEquals(0, audioRun.code(), audioRun.err());
            assertEquals(0, featRun.code(), featRun.err());
            if (fmt.equals("srt")) {
                assertEquals(audioRun.out(), featRun.out());
                continue;
            }
            com.fasterxml.jackson.databind.node.ArrayNode x = new ObjectMapper().createArrayNode();
            com.fasterxml.jackson.databind.node.ArrayNode y = new ObjectMapper().createArrayNode();
            x.add(new ObjectMapper().readTree(audioRun.out()));
            y.add(new ObjectMapper().readTree(featRun.out()));
            ((com.fasterxml.jackson.databind.node.ObjectNode) x.get(0)).remove("file");
            ((com.fasterxml.jackson.databind.node.ObjectNode) y.get(0)).remove("file");
            assertTrue(x.get(0).get("segments").size() > 3, audioRun.out());
            assertTrue(x.get(0).get("segments").get(x.get(0).get("segments").size() - 1).get("start").asDouble() > 4,
                    "segments past the first windows: " + audioRun.out());
            assertEquals(withoutLogProbs(x, y), withoutLogProbs(y, x), "features and audio give the same JSON");
        }
        // --clip-timestamps: the same clips of the audio and of its features; windows only inside the clips
        String[] clipped = {"--model", model.toString(), "--beam", "1", "--language", "en", "--format", "json",
            "--clip-timestamps", "0.5,2.55, 2.6,4.4,6"};
        JsonNode ca = new ObjectMapper().readTree(run(concat(new String[] {"transcribe", a.toString()}, clipped)).out());
        JsonNode cf = new ObjectMapper().readTree(run(concat(new String[] {"transcribe", "--features", f.toString()},
                clipped)).out());
        ((com.fasterxml.jackson.databind.node.ObjectNode) ca).remove("file");
        ((com.fasterxml.jackson.databind.node.ObjectNode) cf).remove("file");
        com.fasterxml.jackson.databind.node.ArrayNode cx = new ObjectMapper().createArrayNode().add(ca);
        com.fasterxml.jackson.databind.node.ArrayNode cy = new ObjectMapper().createArrayNode().add(cf);
        assertEquals(withoutLogProbs(cx, cy), withoutLogProbs(cy, cx), "clipped features and audio");
        assertTrue(ca.get("segments").size() >= 3, ca.toString());
        for (JsonNode seg : ca.get("segments")) {
            int seek = seg.get("seek").asInt();
            assertTrue(seek >= 50 && seek < 255 || seek >= 260 && seek < 440 || seek >= 600, "window at " + seek);
        }
        for (String bad : new String[] {"1,x", "5,3", "-1", "nan"}) {
            ChatCommandTest.Run r = run("transcribe", a.toString(), "--model", model.toString(), "--clip-timestamps", bad);
            assertEquals(2, r.code(), bad + ": " + r.err());
            assertTrue(r.err().strip().startsWith("error: --clip-timestamps"), r.err());
        }
        ChatCommandTest.Run oneWindow = run("transcribe", "--features", SRC.resolve("features.npy").toString(), "--model",
                model.toString(), "--clip-timestamps", "0.5,1");
        assertEquals(2, oneWindow.code(), oneWindow.err());
        assertTrue(oneWindow.err().contains("longer than one window"), oneWindow.err());
    }

    @Test
    void batchOfFilesEqualsOneAtATimeInInputOrder() throws Exception {
        Path[] files = {TestWav.write16k(tmp.resolve("b1.wav"), tone(5.3, 1)), TestWav.write16k(tmp.resolve("b2.wav"), tone(1.1, 2)),
            TestWav.write16k(tmp.resolve("b3.wav"), tone(3.7, 3))};
        for (String fmt : new String[] {"json", "srt"}) {
            StringBuilder alone = new StringBuilder();
            com.fasterxml.jackson.databind.node.ArrayNode aloneJson = new ObjectMapper().createArrayNode();
            for (Path f : files) {
                ChatCommandTest.Run r = run("transcribe", f.toString(), "--model", model.toString(), "--beam", "2", "--format", fmt);
                assertEquals(0, r.code(), r.err());
                if (fmt.equals("json")) {
                    aloneJson.add(new ObjectMapper().readTree(r.out()));
                } else {
                    alone.append(r.out());
                }
            }
            ChatCommandTest.Run r = run("transcribe", files[0].toString(), files[1].toString(), files[2].toString(), "--model",
                    model.toString(), "--beam", "2", "--batch", "2", "--format", fmt);
            assertEquals(0, r.code(), r.err());
            if (fmt.equals("json")) {
                // the same JSON but for the windows' log-probabilities, which batched products round differently
                JsonNode batched = new ObjectMapper().readTree(r.out());
                assertEquals(withoutLogProbs(aloneJson, batched), withoutLogProbs(batched, aloneJson),
                        "batched JSON equals one file at a time");
                assertTrue(aloneJson.get(0).get("segments").size() > 0, r.out());
            } else {
                assertEquals(alone.toString(), r.out(), "batched SRT equals one file at a time, in input order");
            }
        }
    }

    @Test
    void conditioningPromptAndThresholdFlags() throws Exception {
        Path a = TestWav.write16k(tmp.resolve("c.wav"), tone(6.5, 4));
        String[] base = {"transcribe", a.toString(), "--model", model.toString(), "--beam", "1", "--format", "json",
            "--language", "en"};
        JsonNode on = new ObjectMapper().readTree(run(base).out());
        ChatCommandTest.Run off = run(concat(base, "--no-condition-on-previous-text"));
        assertEquals(0, off.code(), off.err());
        ChatCommandTest.Run onExplicit = run(concat(base, "--condition-on-previous-text"));
        assertEquals(on, new ObjectMapper().readTree(onExplicit.out()), "on by default");
        ChatCommandTest.Run prompt = run(concat(base, "--initial-prompt", "w5 w6 w7"));
        assertEquals(0, prompt.code(), prompt.err());
        // the initial prompt carried to every window (the prompt rule itself: WordTimestampsTest against Python):
        // the first window is decoded as without carrying
        ChatCommandTest.Run carried = run(concat(base, "--initial-prompt", "w5 w6 w7", "--carry-initial-prompt"));
        assertEquals(0, carried.code(), carried.err());
        assertEquals(new ObjectMapper().readTree(prompt.out()).get("segments").get(0),
                new ObjectMapper().readTree(carried.out()).get("segments").get(0), carried.out());
        assertTrue(on.get("segments").size() > 0, on.toString());
        // p(no speech) > 0 always, and no window's average log-prob is above 0: every window is skipped.
        ChatCommandTest.Run silent = run(concat(base, "--no-speech-threshold", "0", "--logprob-threshold", "0"));
        assertEquals(0, silent.code(), silent.err());
        assertEquals(0, new ObjectMapper().readTree(silent.out()).get("segments").size(), silent.out());
        ChatCommandTest.Run none = run(concat(base, "--no-speech-threshold", "none", "--logprob-threshold", "none",
                "--compression-ratio-threshold", "none"));
        assertEquals(0, none.code(), none.err());
        assertTrue(new ObjectMapper().readTree(none.out()).get("segments").size() > 0, none.out());
        ChatCommandTest.Run bad = run(concat(base, "--no-speech-threshold", "loud"));
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("error: ") && bad.err().contains("--no-speech-threshold"), bad.err());
        bad = run(concat(base, "--batch", "0"));
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("--batch"), bad.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * --word-timestamps on audio (a byte-level tokenizer for the tiny vocabulary, so words have spaces): json segments
     * carry words inside their segment's window whose text spells the segment's; srt and vtt cues are the words' (one
     * cue per segment, from its first word's start to its last word's end), --highlight-words underlines each word in
     * turn, --max-words-per-line 2 cuts cues at two words; the word options without --word-timestamps are refused.
     */
    @Test
    void wordTimestampsInJsonAndCues() throws Exception {
        Path m = Files.createDirectories(tmp.resolve("whisper-bpe"));
        for (String f : new String[] {"config.json", "generation_config.json", "model.safetensors"}) {
            Files.copy(SRC.resolve(f), m.resolve(f));
        }
        Files.copy(SRC.resolveSibling("words/tiny-bpe-tokenizer.json"), m.resolve("tokenizer.json"));
        Path a = TestWav.write16k(tmp.resolve("words.wav"), tone(6.5, 21));
        String[] common = {"transcribe", a.toString(), "--model", m.toString(), "--beam", "1", "--language", "en",
                "--max-tokens", "20", "--no-condition-on-previous-text", "--word-timestamps"};
        ChatCommandTest.Run j = run(concat(common, "--format", "json"));
        assertEquals(0, j.code(), j.err());
        JsonNode segs = new ObjectMapper().readTree(j.out()).get("segments");
        List<double[]> spans = new java.util.ArrayList<>();
        int words = 0;
        for (JsonNode s : segs) {
            JsonNode ws = s.get("words");
            assertTrue(ws.isArray(), s.toString());
            if (ws.isEmpty()) {
                continue;
            }
            double t0 = s.get("seek").asLong() / 100.0;
            StringBuilder text = new StringBuilder();
            for (JsonNode w : ws) {
                double st = w.get("start").asDouble();
                double en = w.get("end").asDouble();
                assertTrue(st >= t0 - 1e-9 && st <= en && en <= t0 + 2.0 + 1e-9, "word " + w + " in window " + t0);
                assertEquals(Math.round(st * 100) / 100.0, st, 1e-12, "times at 10 ms: " + w);
                double p = w.get("probability").asDouble();
                assertTrue(p > 0 && p <= 1, w.toString());
                text.append(w.get("word").asText());
                words++;
            }
            if (s.get("text").asText().indexOf('\ufffd') < 0) {
                assertEquals(s.get("text").asText(), text.toString(), "words spell the segment");
            }
            spans.add(new double[] {ws.get(0).get("start").asDouble(), ws.get(ws.size() - 1).get("end").asDouble(), ws.size()});
        }
        assertTrue(words > 3, j.out());
        ChatCommandTest.Run srt = run(concat(common, "--format", "srt"));
        assertEquals(0, srt.code(), srt.err());
        List<String> times = srt.out().lines().filter(l -> l.contains(" --> ")).toList();
        assertEquals(spans.size(), times.size(), srt.out());
        for (int k = 0; k < spans.size(); k++) {
            assertEquals(TranscribeCommand.time(spans.get(k)[0], true) + " --> " + TranscribeCommand.time(spans.get(k)[1], true),
                    times.get(k), srt.out());
        }
        ChatCommandTest.Run hl = run(concat(common, "--format", "vtt", "--highlight-words"));
        assertEquals(0, hl.code(), hl.err());
        long underlined = hl.out().lines().filter(l -> l.contains("<u>")).count();
        assertEquals(words, underlined, "a cue per word: " + hl.out());
        ChatCommandTest.Run two = run(concat(common, "--format", "vtt", "--max-words-per-line", "2"));
        assertEquals(0, two.code(), two.err());
        long cues = two.out().lines().filter(l -> l.contains(" --> ")).count();
        long want = spans.stream().mapToLong(sp -> ((long) sp[2] + 1) / 2).sum();
        assertEquals(want, cues, two.out());
        // skipping silence around hallucinations (its rules are checked in WordTimestampsTest): runs; bad values refused
        ChatCommandTest.Run hal = run(concat(common, "--format", "json", "--hallucination-silence-threshold", "0.5"));
        assertEquals(0, hal.code(), hal.err());
        assertTrue(new ObjectMapper().readTree(hal.out()).get("segments").isArray(), hal.out());
        ChatCommandTest.Run neg = run(concat(common, "--hallucination-silence-threshold", "-1"));
        assertNotEquals(0, neg.code());
        assertTrue(neg.err().contains(">= 0 seconds"), neg.err());
        for (String opt : new String[] {"--highlight-words", "--max-line-width=20", "--max-words-per-line=3",
                "--hallucination-silence-threshold=2"}) {
            ChatCommandTest.Run r = run("transcribe", a.toString(), "--model", m.toString(), opt);
            assertNotEquals(0, r.code());
            assertTrue(r.err().contains(opt.replaceAll("=.*", "") + " needs --word-timestamps"), r.err());
        }
        ChatCommandTest.Run zero = run(concat(common, "--max-line-width", "0"));
        assertNotEquals(0, zero.code());
        assertTrue(zero.err().contains("--max-line-width must be >= 1"), zero.err());
    }

    /**
     * --output-dir: each input's transcript in each format of --format all, each file equal to what standard output
     * gets for that input alone in that format; tsv rows are the json segments' times in integer milliseconds;
     * clashing names, a file as folder and --format all without a folder are refused before decoding.
     */
    @Test
    void outputDirWritesEveryFormatPerInput() throws Exception {
        Path a = TestWav.write16k(tmp.resolve("first.wav"), tone(3.5, 31));
        Path b = TestWav.write16k(tmp.resolve("second.wav"), tone(2.5, 32));
        Path out = tmp.resolve("out/sub");
        String[] common = {"--model", model.toString(), "--beam", "1", "--language", "en", "--max-tokens", "20"};
        ChatCommandTest.Run r = run(concat(new String[] {"transcribe", a.toString(), b.toString(), "--format", "all",
                "--output-dir", out.toString()}, common));
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out(), "nothing on stdout with --output-dir");
        for (Path in : new Path[] {a, b}) {
            String base = in.getFileName().toString().replace(".wav", "");
            for (String fmt : new String[] {"txt", "srt", "vtt", "tsv", "json"}) {
                Path f = out.resolve(base + "." + fmt);
                assertTrue(Files.isRegularFile(f), f + " written; stderr: " + r.err());
                ChatCommandTest.Run alone = run(concat(new String[] {"transcribe", in.toString(), "--format", fmt}, common));
                assertEquals(0, alone.code(), alone.err());
                if (fmt.equals("json")) {
                    assertEquals(new ObjectMapper().readTree(alone.out()), new ObjectMapper().readTree(f.toFile()), f.toString());
                } else {
                    assertEquals(alone.out(), Files.readString(f), f.toString());
                }
            }
            JsonNode segs = new ObjectMapper().readTree(out.resolve(base + ".json").toFile()).get("segments");
            List<String> rows = Files.readAllLines(out.resolve(base + ".tsv"));
            assertEquals("start\tend\ttext", rows.get(0));
            int k = 1;
            for (JsonNode s : segs) {
                if (s.get("text").asText().isBlank()) {
                    continue;
                }
                String[] cols = rows.get(k++).split("\t", -1);
                assertEquals(Math.rint(s.get("start").asDouble() * 1000), Double.parseDouble(cols[0]), 1.0, "tsv start");
                assertEquals(Math.rint(s.get("end").asDouble() * 1000), Double.parseDouble(cols[1]), 1.0, "tsv end");
                assertEquals(s.get("text").asText().strip(), cols[2]);
            }
            assertEquals(rows.size(), k, "a tsv row per non-blank segment");
        }
        // refused before decoding
        Path other = Files.createDirectories(tmp.resolve("elsewhere"));
        Path clash = TestWav.write16k(other.resolve("first.wav"), tone(1, 33));
        r = run(concat(new String[] {"transcribe", a.toString(), clash.toString(), "-o", out.toString()}, common));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("would both write"), r.err());
        r = run(concat(new String[] {"transcribe", a.toString(), "-o", a.toString()}, common));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("is a file, not a folder"), r.err());
        r = run(concat(new String[] {"transcribe", a.toString(), "--format", "all"}, common));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--output-dir"), r.err());
    }

    @Test
    void badInputExitsNonZeroWithOneLine() throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.mp3"), "not audio\n".repeat(50));
        ChatCommandTest.Run r = run("transcribe", text.toString(), "--model", model.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().strip().lines().anyMatch(l -> l.startsWith("error: ") && l.contains("notes.mp3")), r.err());
        r = run("transcribe", tmp.toString(), "--model", model.toString()); // once "no such file: DIR"
        assertNotEquals(0, r.code());
        assertTrue(r.err().strip().equals("error: " + tmp + " is a folder: give audio files"), r.err());
        float[] nan = new float[80 * 200];
        nan[3] = Float.NaN;
        Path f = tmp.resolve("nan.npy");
        Npy.writeFloats(f, nan, 80, 200);
        r = run("transcribe", "--features", f.toString(), "--model", model.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("error: ") && r.err().contains("NaN"), r.err());
        Path g = tmp.resolve("mels.npy");
        Npy.writeFloats(g, new float[128 * 10], 128, 10);
        r = run("transcribe", "--features", g.toString(), "--model", model.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("[80, frames]"), r.err());
        // a 0-d array (np.save of a scalar) once ran into an ArrayIndexOutOfBoundsException; int features are named
        Path scalar = tmp.resolve("scalar.npy");
        Npy.writeFloats(scalar, new float[] {1f});
        Path ints = tmp.resolve("ints.npy");
        Npy.writeInts(ints, new int[80 * 4], 80, 4);
        for (Path p : new Path[] {scalar, ints}) {
            r = run("transcribe", "--features", p.toString(), "--model", model.toString());
            assertNotEquals(0, r.code());
            List<String> errors = r.err().lines().filter(l -> l.startsWith("error: ")).toList();
            assertTrue(errors.size() == 1 && errors.get(0).startsWith("error: " + p), r.err());
        }
        assertTrue(r.err().contains("got I32 [80, 4]"), r.err());
        r = run("transcribe", "--model", model.toString());
        assertNotEquals(0, r.code());
        r = run("transcribe", text.toString(), "--model", model.toString(), "--format", "doc");
        assertNotEquals(0, r.code());
    }
}
