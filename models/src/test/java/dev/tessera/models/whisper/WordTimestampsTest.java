package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.Fixtures;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Word-level timestamps against an independent numpy reference written from openai-whisper's published algorithm
 * ({@code resources/whisper/words/make_words.py}): the word split on Whisper's real multilingual vocabulary, and on
 * the two random tiny checkpoints the alignment matrix, the DTW path, token probabilities, words and the segment
 * rules; plus properties of the DTW and of the transcription loop.
 */
class WordTimestampsTest {
    static final Path WORDS = Fixtures.resource("whisper/words");

    static JsonNode json(String name) throws Exception {
        try (java.io.InputStream in = Files.newInputStream(WORDS.resolve(name))) {
            return new ObjectMapper().readTree(name.endsWith(".gz") ? new java.util.zip.GZIPInputStream(in) : in);
        }
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    @Test
    void wordSplitMatchesTheReferenceOnWhispersVocabulary(@TempDir Path dir) throws Exception {
        JsonNode cases = json("split_cases.json");
        int n = 0;
        try (Tokenizer tok = Tokenizer.load(WhisperTokenizerTest.unpack(dir))) {
            for (JsonNode c : cases) {
                String name = c.get("name").asText();
                WordTimestamps.Split s = WordTimestamps.splitToWordTokens(tok, ints(c.get("tokens")),
                        c.get("language").asText(), 50257);
                List<String> want = new ArrayList<>();
                c.get("words").forEach(w -> want.add(w.asText()));
                assertEquals(want, s.words(), name);
                assertEquals(c.get("word_tokens").size(), s.tokens().size(), name);
                for (int i = 0; i < s.tokens().size(); i++) {
                    assertArrayEquals(ints(c.get("word_tokens").get(i)), s.tokens().get(i), name + " word " + i);
                }
                n++;
            }
        }
        assertTrue(n >= 30, "split cases: " + n);
    }

    /** A copy of the case's checkpoint with the byte-level tiny tokenizer and, where given, its alignment heads. */
    static Path checkpoint(JsonNode c, Path dir) throws Exception {
        Path src = WORDS.resolve(c.get("model").asText()).normalize();
        Path m = Files.createDirectories(dir.resolve(c.get("name").asText()));
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(src.resolve(f), m.resolve(f));
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode gen = (ObjectNode) om.readTree(src.resolve("generation_config.json").toFile());
        if (c.hasNonNull("alignment_heads")) {
            gen.set("alignment_heads", c.get("alignment_heads"));
        }
        om.writeValue(m.resolve("generation_config.json").toFile(), gen);
        Files.copy(WORDS.resolve("tiny-bpe-tokenizer.json"), m.resolve("tokenizer.json"));
        return m;
    }

    @Test
    void alignmentWordsAndSegmentsMatchTheReference(@TempDir Path dir) throws Exception {
        JsonNode cases = json("alignment_cases.json.gz");
        int n = 0;
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            Path m = checkpoint(c, dir);
            try (WhisperModel model = WhisperModel.load(m); Tokenizer tok = Tokenizer.load(m.resolve("tokenizer.json"));
                    Scope scope = Tessera.scope()) {
                Tensor mel = Fixtures.npyTensor(WORDS.resolve(c.get("features").asText()));
                if (mel.rank() == 2) {
                    mel = mel.reshape(1, mel.dim(0), mel.dim(1));
                }
                Tensor enc = model.encode(mel);
                String lang = c.get("language").asText();
                int[] sot = new WhisperDecoder(model).prompt(lang, c.get("task").asText(), true);
                int numFrames = c.get("num_frames").asInt();
                WordTimestamps.Alignment a = WordTimestamps.findAlignment(model, tok, enc, sot,
                        ints(c.get("text_tokens")), numFrames, lang);
                JsonNode wantM = c.get("matrix");
                assertEquals(wantM.size(), a.matrix().length, name + ": matrix rows");
                double worst = 0;
                for (int i = 0; i < a.matrix().length; i++) {
                    assertEquals(wantM.get(i).size(), a.matrix()[i].length, name + ": matrix columns");
                    for (int j = 0; j < a.matrix()[i].length; j++) {
                        worst = Math.max(worst, Math.abs(a.matrix()[i][j] - wantM.get(i).get(j).asDouble()));
                    }
                }
                assertTrue(worst < 2e-4, name + ": alignment matrix max abs error " + worst);
                assertArrayEquals(ints(c.get("text_indices")), a.textIndices(), name + ": DTW token indices");
                assertArrayEquals(ints(c.get("time_indices")), a.timeIndices(), name + ": DTW time indices");
                for (int i = 0; i < a.tokenProbs().length; i++) {
                    assertEquals(c.get("token_probs").get(i).asDouble(), a.tokenProbs()[i], 1e-5, name + ": p(token " + i + ")");
                }
                JsonNode wantA = c.get("alignment");
                assertEquals(wantA.size(), a.words().size(), name + ": words " + a.words());
                for (int i = 0; i < wantA.size(); i++) {
                    WordTimestamps.Timing t = a.words().get(i);
                    JsonNode w = wantA.get(i);
                    assertEquals(w.get("word").asText(), t.word, name + " word " + i);
                    assertArrayEquals(ints(w.get("tokens")), t.tokens, name + " word " + i);
                    assertEquals(w.get("start").asDouble(), t.start, 1e-9, name + " word " + i);
                    assertEquals(w.get("end").asDouble(), t.end, 1e-9, name + " word " + i);
                    assertEquals(w.get("probability").asDouble(), t.probability, 1e-5, name + " word " + i);
                }
                // the whole step, segments in and out
                List<Transcriber.Segment> segs = new ArrayList<>();
                for (JsonNode s : c.get("segments")) {
                    int[] toks = ints(s.get("tokens"));
                    segs.add(new Transcriber.Segment(s.get("start").asDouble(), s.get("end").asDouble(), "text", toks,
                            new Transcriber.Window(s.get("seek").asLong(), 0, 0, 0, 0)));
                }
                WordTimestamps.Timed timed = WordTimestamps.addWords(model, tok, enc, sot, lang, segs,
                        c.get("seek").asLong(), numFrames, c.get("last_speech_timestamp").asDouble(),
                        WordTimestamps.PREPEND_PUNCTUATIONS, WordTimestamps.APPEND_PUNCTUATIONS);
                JsonNode wantS = c.get("segments_out");
                assertEquals(wantS.size(), timed.segments().size(), name);
                for (int k = 0; k < wantS.size(); k++) {
                    Transcriber.Segment got = timed.segments().get(k);
                    JsonNode ws = wantS.get(k);
                    assertEquals(ws.get("start").asDouble(), got.start(), 1e-9, name + " segment " + k + " start");
                    assertEquals(ws.get("end").asDouble(), got.end(), 1e-9, name + " segment " + k + " end");
                    assertEquals(ws.get("words").size(), got.words().size(), name + " segment " + k + ": " + got.words());
                    for (int i = 0; i < got.words().size(); i++) {
                        WordTimestamps.Word w = got.words().get(i);
                        JsonNode ww = ws.get("words").get(i);
                        assertEquals(ww.get("word").asText(), w.word(), name + " segment " + k + " word " + i);
                        assertEquals(ww.get("start").asDouble(), w.start(), 1e-9, name + " segment " + k + " word " + i);
                        assertEquals(ww.get("end").asDouble(), w.end(), 1e-9, name + " segment " + k + " word " + i);
                        assertEquals(ww.get("probability").asDouble(), w.probability(), 1e-5, name + " segment " + k);
                    }
                }
                assertEquals(c.get("last_speech_timestamp_out").asDouble(), timed.lastSpeechTimestamp(), 1e-9, name);
                // no punctuation to merge: the segments' words are find_alignment's, in order (but for a lone space,
                // which the reference's substring test still merges into the next word: "" contains "")
                List<String> unmerged = new ArrayList<>();
                WordTimestamps.addWords(model, tok, enc, sot, lang, segs, c.get("seek").asLong(), numFrames,
                        c.get("last_speech_timestamp").asDouble(), "", "").segments()
                        .forEach(sg -> sg.words().forEach(w -> unmerged.add(w.word())));
                List<String> wantWords = new ArrayList<>();
                String carry = "";
                for (int k = 0; k < wantA.size(); k++) {
                    String word = wantA.get(k).get("word").asText();
                    if (word.startsWith(" ") && word.isBlank() && k + 1 < wantA.size()) {
                        carry += word;
                    } else {
                        wantWords.add(carry + word);
                        carry = "";
                    }
                }
                assertEquals(wantWords, unmerged, name + ": words without merging");
                // where the next window starts: the timestamps' rule (Transcriber.split), then the last word's end
                long seek = c.get("seek").asLong();
                int[] window = ints(c.get("window_tokens"));
                int consumed = new Transcriber(model, tok).split(window, seek * 160, numFrames * 160, new ArrayList<>());
                boolean single = Transcriber.singleTimestampEnding(window, model.config().timestampBegin());
                assertEquals(c.get("single_timestamp_ending").asBoolean(), single, name);
                WordTimestamps.Next next = WordTimestamps.next(timed.segments(), seek, numFrames, model.config().melFrames(),
                        seek + 100_000, single, seek + consumed / 160, c.get("last_speech_timestamp").asDouble(), Double.NaN);
                assertEquals(c.get("seek_out").asLong(), next.seek(), name + ": next seek");
                assertEquals(c.get("last_speech_timestamp_out").asDouble(), next.lastSpeech(), 1e-9, name);
                n++;
            }
        }
        assertTrue(n >= 12, "alignment cases: " + n);
    }

    /**
     * What happens after a window's words (the next window's start, a dropped window, a cut, the last speech time),
     * with and without openai-whisper's hallucination-silence threshold, against an independent reference of that
     * block of its transcribe loop ({@code words/make_hallucination.py}): 218 cases, every branch and exact ties.
     */
    @Test
    void nextWindowAndHallucinationSkipsMatchTheReference() throws Exception {
        int n = 0;
        for (JsonNode c : json("hallucination_cases.json.gz")) {
            String name = c.get("name").asText();
            List<Transcriber.Segment> segs = new ArrayList<>();
            for (JsonNode s : c.get("segments")) {
                List<WordTimestamps.Word> words = new ArrayList<>();
                for (JsonNode w : s.get("words")) {
                    words.add(new WordTimestamps.Word(w.get("word").asText(), w.get("start").asDouble(), w.get("end").asDouble(),
                            w.get("probability").asDouble()));
                }
                segs.add(new Transcriber.Segment(s.get("start").asDouble(), s.get("end").asDouble(), "t", new int[0],
                        Transcriber.Window.UNKNOWN, words));
            }
            WordTimestamps.Next next = WordTimestamps.next(segs, c.get("seek").asLong(), c.get("segment_size").asInt(),
                    c.get("n_frames").asInt(), c.get("content_frames").asLong(), c.get("single_timestamp_ending").asBoolean(),
                    c.get("seek_before_words").asLong(), c.get("last_speech_timestamp").asDouble(),
                    c.hasNonNull("threshold") ? c.get("threshold").asDouble() : Double.NaN);
            String why = name + " " + c.get("branches");
            assertEquals(c.get("seek_out").asLong(), next.seek(), why + ": seek");
            assertEquals(c.get("skipped_window").asBoolean(), next.skipWindow(), why + ": skipped");
            assertEquals(c.get("kept_segments").asInt(), next.keptSegments(), why + ": kept");
            assertEquals(c.get("last_speech_timestamp_out").asDouble(), next.lastSpeech(), 0, why + ": last speech");
            n++;
        }
        assertTrue(n >= 200, "cases: " + n);
    }

    /**
     * The prompt with the initial prompt carried to every window ({@code Options.withCarryInitialPrompt}) against
     * openai-whisper's expression evaluated by Python itself ({@code words/make_carry_prompt.py}: 120 cases, 50 of
     * them where the initial prompt leaves no room, i.e. Python's {@code [-0:]} and negative slices).
     */
    @Test
    void carriedInitialPromptMatchesPythonSlicing() throws Exception {
        int n = 0;
        for (JsonNode c : json("carry_prompt_cases.json")) {
            List<Integer> all = new ArrayList<>();
            c.get("all").forEach(t -> all.add(t.asInt()));
            int[] got = Transcriber.carriedPrompt(ints(c.get("initial")), all, c.get("reset_since").asInt(),
                    c.get("context").asInt());
            assertArrayEquals(ints(c.get("prompt")), got, "case " + n);
            n++;
        }
        assertTrue(n >= 100);
    }

    /**
     * The DTW path starts at (0, 0), ends at (N-1, M-1), moves by unit steps, and its cost is the minimum over all
     * monotone paths (an independent dynamic programme in double, with no tie rules).
     */
    @Test
    void dtwFindsAMinimalMonotonePath() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(9);
            int m = 1 + r.nextInt(30);
            double[][] x = new double[n][m];
            for (double[] row : x) {
                for (int j = 0; j < m; j++) {
                    row[j] = r.nextGaussian();
                }
            }
            int[][] p = WordTimestamps.dtw(x);
            int len = p[0].length;
            assertEquals(0, p[0][0]);
            assertEquals(0, p[1][0]);
            assertEquals(n - 1, p[0][len - 1]);
            assertEquals(m - 1, p[1][len - 1]);
            double cost = x[0][0];
            for (int k = 1; k < len; k++) {
                int di = p[0][k] - p[0][k - 1];
                int dj = p[1][k] - p[1][k - 1];
                assertTrue((di == 1 || di == 0) && (dj == 1 || dj == 0) && di + dj > 0, "step " + di + "," + dj);
                cost += x[p[0][k]][p[1][k]];
            }
            double[][] best = new double[n][m];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    double prev = i == 0 && j == 0 ? 0 : Double.POSITIVE_INFINITY;
                    if (i > 0) {
                        prev = Math.min(prev, best[i - 1][j]);
                    }
                    if (j > 0) {
                        prev = Math.min(prev, best[i][j - 1]);
                    }
                    if (i > 0 && j > 0) {
                        prev = Math.min(prev, best[i - 1][j - 1]);
                    }
                    best[i][j] = x[i][j] + prev;
                }
            }
            assertEquals(best[n - 1][m - 1], cost, 1e-4 * (1 + Math.abs(cost)), "trial " + trial);
        }
    }

    @Test
    void medianFilterReflectsAtTheEdges() {
        double[] x = {5, 1, 4, 2, 8, 7, 3, 6, 0, 9};
        Random r = new Random(3);
        for (int trial = 0; trial < 50; trial++) {
            double[] v = trial == 0 ? x : r.doubles(4 + r.nextInt(20)).toArray();
            double[] got = WordTimestamps.medianFilter(v, 7);
            for (int i = 0; i < v.length; i++) {
                double[] w = new double[7];
                for (int k = -3; k <= 3; k++) {
                    int j = Math.abs(i + k); // reflect at 0 without repeating the edge
                    if (j >= v.length) {
                        j = 2 * (v.length - 1) - j;
                    }
                    w[k + 3] = v[j];
                }
                Arrays.sort(w);
                assertEquals(w[3], got[i], 0, "trial " + trial + " at " + i);
            }
        }
        double[] shortRow = {3, 1, 2};
        assertArrayEquals(shortRow, WordTimestamps.medianFilter(shortRow, 7), "a row of <= 3 is left as it is");
    }

    @Test
    void pythonRounding() {
        // numpy's round(x, 2): rint(x * 100) / 100, half to even on the scaled value
        assertEquals(0.12, WordTimestamps.round2(0.125), 0);
        assertEquals(0.38, WordTimestamps.round2(0.375), 0);
        assertEquals(2.68, WordTimestamps.round2(2.675), 0); // 2.675 * 100 is 267.5 in doubles (Python's round: 2.67)
        assertEquals(1.3, WordTimestamps.round2(1.3000000000000003), 0);
        assertEquals(299.98, WordTimestamps.round2(299.985), 0); // 29998.5 exactly: to even (Python's round gives 299.99)
    }

    /**
     * Through the transcription loop on the tiny checkpoint, without timestamp tokens: every window's segment gets
     * words inside the window, the segment spans its words, and the next window starts at the last word's end (in
     * 10 ms frames), as openai-whisper moves on with word timestamps.
     */
    @Test
    void transcriptionMovesOnAfterTheLastWord(@TempDir Path dir) throws Exception {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("name", "loop");
        c.put("model", "../tiny-a");
        c.putNull("alignment_heads");
        Path m = checkpoint(c, dir);
        Random r = new Random(11);
        float[] audio = new float[16000 * 7 + 1234];
        for (int i = 0; i < audio.length; i++) {
            audio[i] = (float) (0.1 * r.nextGaussian() + 0.3 * Math.sin(i * 0.05 * (1 + i / 40000.0)));
        }
        try (WhisperModel model = WhisperModel.load(m); Tokenizer tok = Tokenizer.load(m.resolve("tokenizer.json"))) {
            Transcriber tr = new Transcriber(model, tok);
            Transcriber.Options opt = Transcriber.Options.defaults().withLanguage("en").withBeam(1).withTemperatures(0)
                    .withThresholds(Double.NaN, Double.NaN, Double.NaN).withTimestamps(false)
                    .withConditionOnPreviousText(false).withMaxTokensPerWindow(20);
            Transcriber.Transcript plain = tr.transcribe(audio, opt, s -> {});
            Transcriber.Transcript words = tr.transcribe(audio, opt.withWordTimestamps(true), s -> {});
            assertTrue(plain.segments().stream().allMatch(s -> s.words().isEmpty()), "no words unless asked");
            List<Transcriber.Segment> segs = words.segments();
            assertTrue(segs.size() >= 3, "windows: " + segs.size());
            int moved = 0;
            for (int k = 0; k < segs.size(); k++) {
                Transcriber.Segment s = segs.get(k);
                double t0 = s.window().seek() / 100.0;
                List<WordTimestamps.Word> ws = s.words();
                if (s.text().isEmpty()) {
                    assertTrue(ws.isEmpty());
                    continue;
                }
                assertFalse(ws.isEmpty(), "segment " + k + " has words");
                for (WordTimestamps.Word w : ws) {
                    assertTrue(w.start() >= t0 - 1e-9 && w.start() <= w.end() && w.end() <= t0 + 2.0 + 1e-9,
                            "segment " + k + ": " + w + " outside its window at " + t0);
                    assertTrue(w.probability() > 0 && w.probability() <= 1, w.toString());
                }
                assertEquals(ws.get(0).start(), s.start(), 1e-9, "segment " + k + " starts with its first word");
                assertEquals(ws.get(ws.size() - 1).end(), s.end(), 1e-9, "segment " + k + " ends with its last word");
                if (k + 1 < segs.size()) {
                    double lastEnd = ws.get(ws.size() - 1).end();
                    long next = segs.get(k + 1).window().seek();
                    long want = lastEnd > t0 ? (long) Math.rint(lastEnd * 100) : s.window().seek() + 200;
                    assertEquals(Math.max(want, s.window().seek() + 1), next, "window after segment " + k);
                    moved += want < s.window().seek() + 200 ? 1 : 0;
                }
                if (s.text().indexOf('\ufffd') < 0) { // (pieces of a broken UTF-8 sequence decode differently alone)
                    assertEquals(String.join("", ws.stream().map(WordTimestamps.Word::word).toList()), s.text(),
                            "segment " + k + ": its words spell its text");
                }
            }
            assertTrue(moved > 0, "some window should end before its 2 s: " + segs);
            // with a hallucination-silence threshold (the random model's improbable words all look hallucinated, so windows
            // are dropped and cut): the loop ends, windows move forward, segments stay inside the audio
            for (double threshold : new double[] {0, 0.3, 1.0}) {
                List<Transcriber.Segment> h = tr.transcribe(audio, opt.withWordTimestamps(true)
                        .withHallucinationSilenceThreshold(threshold), x -> {}).segments();
                assertTrue(h.size() < segs.size(), "threshold " + threshold + ": windows dropped or cut: " + h);
                long lastSeek = -1;
                for (Transcriber.Segment sg : h) {
                    assertTrue(sg.window().seek() >= lastSeek, "threshold " + threshold + ": windows move forward " + h);
                    lastSeek = sg.window().seek();
                    assertTrue(sg.end() <= audio.length / 16000.0 + 2.0, "threshold " + threshold + ": " + sg);
                }
            }
            // files decoded together (windows in one encoder call, words from their rows) get the words they get alone
            List<float[]> files = List.of(audio, Arrays.copyOfRange(audio, 5000, 60000), Arrays.copyOf(audio, 40000));
            List<Transcriber.Transcript> together = tr.transcribeAll(files, opt.withWordTimestamps(true), 3, null);
            for (int i = 0; i < files.size(); i++) {
                List<Transcriber.Segment> alone = tr.transcribeAll(List.of(files.get(i)), opt.withWordTimestamps(true), 1,
                        null).get(0).segments();
                List<Transcriber.Segment> batched = together.get(i).segments();
                assertEquals(alone.size(), batched.size(), "file " + i);
                for (int k = 0; k < alone.size(); k++) {
                    assertEquals(alone.get(k).words(), batched.get(k).words(), "file " + i + " segment " + k);
                    assertEquals(alone.get(k).start(), batched.get(k).start(), 0, "file " + i + " segment " + k);
                    assertEquals(alone.get(k).end(), batched.get(k).end(), 0, "file " + i + " segment " + k);
                }
            }
        }
    }

    @Test
    void badInputIsRefused(@TempDir Path dir) throws Exception {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("name", "bad");
        c.put("model", "../tiny-b");
        ArrayNode heads = c.putArray("alignment_heads");
        heads.addArray().add(5).add(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WhisperModel.load(checkpoint(c, dir)));
        assertTrue(e.getMessage().contains("alignment head [5, 0]"), e.getMessage());
        c.put("name", "good");
        c.putNull("alignment_heads");
        Path m = checkpoint(c, dir);
        try (WhisperModel model = WhisperModel.load(m); Tokenizer tok = Tokenizer.load(m.resolve("tokenizer.json"));
                Scope scope = Tessera.scope()) {
            Tensor enc = Tensor.zeros(dev.tessera.runtime.DType.F32, dev.tessera.runtime.Device.CPU, 2,
                    model.config().maxSourcePositions(), model.config().dModel());
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                    () -> model.crossAttentionScores(enc, new int[] {301, 302}, new int[][] {{0, 0}}, (p, x) -> { }));
            assertTrue(e2.getMessage().contains("[1, positions, d_model]"), e2.getMessage());
            Tensor one = enc.slice(0, 0, 1);
            IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class,
                    () -> model.crossAttentionScores(one, new int[model.config().maxTargetPositions() + 1], new int[][] {{0, 0}},
                            (p, x) -> { }));
            assertTrue(e3.getMessage().contains("max_target_positions"), e3.getMessage());
            IllegalArgumentException e4 = assertThrows(IllegalArgumentException.class,
                    () -> WordTimestamps.addWordTimestamps(model, tok, one, "en", "transcribe", List.of(), 0,
                            model.config().melFrames() + 2, 0));
            assertTrue(e4.getMessage().contains("numFrames"), e4.getMessage());
            assertEquals(List.of(), WordTimestamps.addWordTimestamps(model, tok, one, "en", "transcribe", List.of(), 0, 10, 0)
                    .segments());
            // a window of one frame has no audio position to align to: its segment keeps its bounds, without words
            Transcriber.Segment seg = new Transcriber.Segment(0, 0.01, "w", new int[] {310, 5, 6, 311});
            Transcriber.Segment got = WordTimestamps.addWordTimestamps(model, tok, one, "en", "transcribe", List.of(seg), 0,
                    1, 0).segments().get(0);
            assertTrue(got.words().isEmpty() && got.start() == 0 && got.end() == 0.01, got.toString());
        }
    }
}
