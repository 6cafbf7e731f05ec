package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batches of files, conditioning on previous text and the no-speech gate, on the random tiny checkpoint of
 * {@link WhisperParityTest} (2 s windows, 411-token vocabulary given a word-level tokenizer.json here): decoding
 * windows together gives, row by row, exactly what decoding each alone gives (greedy, beam, sampling; features of
 * different lengths, prompts of different lengths), and so does transcribing files of different lengths together.
 */
class WhisperBatchTest {
    @TempDir
    static Path tmp;
    static WhisperModel model;
    static Tokenizer tok;

    @BeforeAll
    static void load() throws Exception {
        model = WhisperModel.load(WhisperParityTest.fixtureDir("tiny-a"));
        tok = Tokenizer.load(wordTokenizer(tmp.resolve("tokenizer.json"), model.config()));
    }

    @AfterAll
    static void close() {
        tok.close();
        model.close();
    }

    /** A word-level tokenizer.json over the synthetic vocabulary: w0..w299, Whisper's special tokens, timestamps. */
    static Path wordTokenizer(Path f, WhisperConfig c) throws Exception {
        String[] specials = {"<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>", "<|transcribe|>",
            "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"};
        StringBuilder vocab = new StringBuilder();
        StringBuilder added = new StringBuilder();
        for (int i = 0; i < c.vocabSize(); i++) {
            String t = i < 300 ? "w" + i : i < 310 ? specials[i - 300] : String.format(java.util.Locale.ROOT, "<|%.2f|>", (i - 310) * 0.02);
            vocab.append(i == 0 ? "" : ",").append('"').append(t).append("\":").append(i);
            if (i >= 300) {
                added.append(added.length() == 0 ? "" : ",").append("{\"id\":").append(i).append(",\"content\":\"").append(t)
                        .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}");
            }
        }
        Files.writeString(f, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[" + added
                + "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"post_processor\":null,\"decoder\":null,"
                + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{" + vocab + "},\"unk_token\":\"w0\"}}");
        return f;
    }

    /** Window features: the fixture's first {@code frames} frames, the rest the silence floor (as the CLI pads). */
    static float[] features(float[] full, int mels, int want, int frames, long seed) {
        Random r = new Random(seed);
        float[] out = new float[mels * want];
        float floor = Float.POSITIVE_INFINITY;
        for (float x : full) {
            floor = Math.min(floor, x);
        }
        for (int c = 0; c < mels; c++) {
            for (int f = 0; f < want; f++) {
                out[c * want + f] = f < frames ? full[c * want + f] + 0.3f * (float) r.nextGaussian() : floor;
            }
        }
        return out;
    }

    /**
     * Beam search reorders the KV cache every step (WhisperCache.gather): each old cache must be freed. Its row views
     * used to stay open, so every step leaked the whole previous cache, outside a scope as here (a Java API caller).
     */
    @Test
    void beamSearchLeavesNoNativeMemoryBehind() throws Exception {
        WhisperConfig c = model.config();
        int mels = c.numMelBins();
        int frames = c.melFrames();
        float[] full = Npy.read(WhisperParityTest.fixtureDir("tiny-a").resolve("features.npy")).requireFloats();
        float[] two = new float[2 * mels * frames];
        for (int i = 0; i < 2; i++) {
            System.arraycopy(features(full, mels, frames, i == 0 ? frames : 90, i), 0, two, i * mels * frames,
                    mels * frames);
        }
        WhisperDecoder dec = new WhisperDecoder(model);
        dev.tessera.runtime.Backend cpu = dev.tessera.runtime.Backends.get(dev.tessera.runtime.Device.CPU);
        try (Tensor mel = Tensor.of(two, 2, mels, frames); Tensor enc = model.encode(mel)) {
            int[][] prompts = {dec.prompt("en", "transcribe", true, null), dec.prompt("en", "transcribe", true, null)};
            dec.decodeBatch(enc, prompts, true, 3, 0, 24, 7); // warm: lazily made state
            long before = cpu.memoryStats(dev.tessera.runtime.Device.CPU).allocatedBytes();
            for (int round = 0; round < 3; round++) {
                dec.decodeBatch(enc, prompts, true, 3, 0, 24, 7);
                try (Tensor first = enc.slice(0, 0, 1)) {
                    dec.decode(first, prompts[0], false, 3, 0, 24, 7);
                }
            }
            assertEquals(before, cpu.memoryStats(dev.tessera.runtime.Device.CPU).allocatedBytes(),
                    "native bytes held after beam-search decodes");
        }
    }

    @Test
    void windowsDecodedTogetherEqualEachAlone() throws Exception {
        WhisperConfig c = model.config();
        int mels = c.numMelBins();
        int frames = c.melFrames();
        float[] full = Npy.read(WhisperParityTest.fixtureDir("tiny-a").resolve("features.npy")).requireFloats();
        int[] lengths = {frames, 70, 136, 24};
        int b = lengths.length;
        float[] all = new float[b * mels * frames];
        for (int i = 0; i < b; i++) {
            System.arraycopy(features(full, mels, frames, lengths[i], i), 0, all, i * mels * frames, mels * frames);
        }
        WhisperDecoder dec = new WhisperDecoder(model);
        // Prompts of different lengths: no previous text, short and long previous text (truncated), another short one.
        int[][] prev = {null, {17, 42, 99}, new int[40], {5, 6, 7, 8, 9, 10, 11}};
        Arrays.setAll(prev[2], k -> (13 * k + 1) % 290 + 3);
        try (Tensor mel = Tensor.of(all, b, mels, frames); Tensor enc = model.encode(mel)) {
            float[] encAll = enc.toFloatArray();
            long per = enc.numel() / b;
            Tensor[] alone = new Tensor[b];
            try {
                for (int i = 0; i < b; i++) {
                    try (Tensor one = Tensor.of(Arrays.copyOfRange(all, i * mels * frames, (i + 1) * mels * frames), 1, mels, frames)) {
                        alone[i] = model.encode(one);
                    }
                    double e = Fixtures.relErr(Arrays.copyOfRange(encAll, (int) (i * per), (int) ((i + 1) * per)), alone[i].toFloatArray());
                    assertTrue(e <= 1e-6, "encoder row " + i + " batched vs alone: rel err " + e);
                }
                for (boolean ts : new boolean[] {false, true}) {
                    int[][] prompts = new int[b][];
                    for (int i = 0; i < b; i++) {
                        prompts[i] = dec.prompt(i == 3 ? "de" : "en", "transcribe", ts, prev[i]);
                    }
                    for (int beam : new int[] {1, 3}) {
                        for (double temp : beam == 1 ? new double[] {0, 0.9} : new double[] {0}) {
                            List<WhisperDecoder.Result> batch = dec.decodeBatch(enc, prompts, ts, beam, temp, 24, 7);
                            Tensor ordered = Ops.concat(0, alone[2], alone[0], alone[3], alone[1]);
                            List<WhisperDecoder.Result> shuffled;
                            try (ordered) {
                                shuffled = dec.decodeBatch(ordered, new int[][] {prompts[2], prompts[0], prompts[3], prompts[1]}, ts,
                                        beam, temp, 24, 7);
                            }
                            int[] pos = {1, 3, 0, 2}; // where row i sits in the shuffled batch
                            for (int i = 0; i < b; i++) {
                                WhisperDecoder.Result one = dec.decode(alone[i], prompts[i], ts, beam, temp, 24, 7);
                                String what = "row " + i + " ts " + ts + " beam " + beam + " T " + temp;
                                assertArrayEquals(one.tokens(), batch.get(i).tokens(), what);
                                assertArrayEquals(one.tokens(), shuffled.get(pos[i]).tokens(), what + " (other order)");
                                assertEquals(one.sumLogProb(), batch.get(i).sumLogProb(), 1e-4 * Math.abs(one.sumLogProb()) + 1e-4, what);
                                assertEquals(one.endedWithEot(), batch.get(i).endedWithEot(), what);
                                assertEquals(one.noSpeechProb(), batch.get(i).noSpeechProb(), 1e-4 * one.noSpeechProb(), what);
                                assertTrue(one.noSpeechProb() > 0 && one.noSpeechProb() < 1, what + ": p(no speech) " + one.noSpeechProb());
                            }
                        }
                    }
                }
            } finally {
                for (Tensor t : alone) {
                    if (t != null) {
                        t.close();
                    }
                }
            }
        }
    }

    static float[] audio(double seconds, long seed) {
        Random r = new Random(seed);
        float[] x = new float[(int) Math.round(seconds * Transcriber.SAMPLE_RATE)];
        double f = 150 + 100 * r.nextDouble();
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * f * i / Transcriber.SAMPLE_RATE) * (1 + Math.sin(i / 3000.0))
                    + 0.05 * r.nextGaussian());
        }
        return x;
    }

    static void assertSameTranscript(Transcriber.Transcript want, Transcriber.Transcript got, String what) {
        assertEquals(want.language(), got.language(), what);
        assertEquals(want.segments().size(), got.segments().size(), what + ": segments " + got.segments());
        for (int k = 0; k < want.segments().size(); k++) {
            Transcriber.Segment a = want.segments().get(k);
            Transcriber.Segment g = got.segments().get(k);
            assertEquals(a.start(), g.start(), 1e-9, what + " segment " + k);
            assertEquals(a.end(), g.end(), 1e-9, what + " segment " + k);
            assertEquals(a.text(), g.text(), what + " segment " + k);
            assertArrayEquals(a.tokens(), g.tokens(), what + " segment " + k);
        }
    }

    @Test
    void filesTranscribedTogetherEqualEachAlone() {
        Transcriber tr = new Transcriber(model, tok);
        // 2 s windows: files of 1, 2, 4 and 3 windows, one silent stretch, one of 0.1 s.
        List<float[]> files = new ArrayList<>(List.of(audio(1.3, 1), audio(3.9, 2), audio(7.1, 3), new float[16_000 * 3],
                audio(0.1, 5), audio(5.2, 6)));
        Transcriber.Options fewer = Transcriber.Options.defaults().withTemperatures(0, 0.4, 0.8); // fallback, hot windows
        for (Transcriber.Options opt : new Transcriber.Options[] {
            fewer.withBeam(1).withLanguage("en"),
            fewer.withBeam(2).withInitialPrompt("w5 w6 w7"),
            fewer.withBeam(1).withTimestamps(false).withConditionOnPreviousText(false)}) {
            List<Transcriber.Transcript> alone = new ArrayList<>();
            for (float[] f : files) {
                alone.add(tr.transcribe(f, opt, null));
            }
            List<Integer> doneOrder = new ArrayList<>();
            List<List<Transcriber.Segment>> streamed = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                streamed.add(new ArrayList<>());
            }
            List<Transcriber.Transcript> together = tr.transcribeAll(files, opt, 3, new Transcriber.Listener() {
                @Override
                public void onSegment(int file, Transcriber.Segment s) {
                    streamed.get(file).add(s);
                }

                @Override
                public void onDone(int file, Transcriber.Transcript t) {
                    doneOrder.add(file);
                }
            });
            assertEquals(files.size(), together.size());
            assertEquals(files.size(), doneOrder.size(), "every file reported done once");
            for (int i = 0; i < files.size(); i++) {
                String what = "file " + i + " beam " + opt.beam() + " ts " + opt.timestamps();
                assertSameTranscript(alone.get(i), together.get(i), what);
                assertEquals(together.get(i).segments(), streamed.get(i), what + ": streamed segments");
            }
            // digital silence is decoded as openai-whisper and transformers decode it (the no-speech gate may skip
            // it; this random-weight model says something)
            assertTrue(together.get(3).segments().size() > 0, "digital silence is decoded");
            assertTrue(together.get(2).segments().size() > 0, "a 7 s file gives segments");
            // the whole text as openai-whisper's transcribe returns it: all tokens decoded in one pass (timestamps
            // left out, other special tokens written), not stripped
            int ts = model.config().timestampBegin();
            for (Transcriber.Transcript t : together) {
                int[] all = t.segments().stream().flatMapToInt(seg -> Arrays.stream(seg.tokens())).filter(x -> x < ts)
                        .toArray();
                assertEquals(tok.decode(all, false), t.text());
            }
        }
    }

    @Test
    void previousTextConditionsTheNextWindow() throws Exception {
        Transcriber tr = new Transcriber(model, tok);
        WhisperDecoder dec = new WhisperDecoder(model);
        int win = tr.windowSamples();
        float[] a = audio(3 * win / (double) Transcriber.SAMPLE_RATE, 11); // exactly 3 windows
        // Without timestamps every window is one segment of exactly one window: replay the decoder by hand.
        Transcriber.Options base = Transcriber.Options.defaults().withBeam(1).withLanguage("en").withTimestamps(false)
                .withTemperatures(0);
        int[] initial = tok.encode(" w5 w6 w7", false);
        assertArrayEquals(new int[] {5, 6, 7}, initial);
        for (int mode = 0; mode < 3; mode++) {
            Transcriber.Options opt = switch (mode) {
                case 0 -> base;
                case 1 -> base.withInitialPrompt("  w5 w6 w7 ");
                default -> base.withConditionOnPreviousText(false).withInitialPrompt("w5 w6 w7");
            };
            Transcriber.Transcript t = tr.transcribe(a, opt, null);
            assertEquals(3, t.segments().size(), "mode " + mode);
            List<Integer> history = new ArrayList<>();
            if (mode >= 1) {
                for (int x : initial) {
                    history.add(x);
                }
            }
            for (int w = 0; w < 3; w++) {
                float[] chunk = Arrays.copyOfRange(a, w * win, (w + 1) * win);
                // Unconditioned, only the first window sees the initial prompt (as the reference's prompt_reset_since).
                int[] prev = mode == 2 && w > 0 ? null : history.stream().mapToInt(Integer::intValue).toArray();
                int[] want;
                try (Tensor m = LogMel.compute(chunk, LogMelConfig.whisper(80).withPadToSamples(win), model.device());
                        Tensor m3 = m.reshape(1, 80, model.config().melFrames()); Tensor enc = model.encode(m3)) {
                    want = dec.decode(enc, dec.prompt("en", "transcribe", false, prev), false, 1, 0, 224, 0).tokens();
                }
                assertArrayEquals(want, t.segments().get(w).tokens(), "mode " + mode + " window " + w);
                for (int x : want) {
                    history.add(x);
                }
            }
        }
        // Conditioning changes what later windows decode (on this checkpoint), the first window's not.
        Transcriber.Transcript on = tr.transcribe(a, base, null);
        Transcriber.Transcript off = tr.transcribe(a, base.withConditionOnPreviousText(false), null);
        assertArrayEquals(on.segments().get(0).tokens(), off.segments().get(0).tokens());
        assertNotEquals(Arrays.toString(on.segments().get(2).tokens()), Arrays.toString(off.segments().get(2).tokens()));
    }

    /**
     * Best-of-n at a temperature above 0: the window's n samples (sample k from the stream sampleSeed(seed, k), as
     * one batch) and the one kept, the largest log-probability / length; best of 1 is sample 0.
     */
    @Test
    void bestOfKeepsTheMostLikelySample() {
        Transcriber tr = new Transcriber(model, tok);
        WhisperDecoder dec = new WhisperDecoder(model);
        int win = tr.windowSamples();
        float[] a = audio(win / (double) Transcriber.SAMPLE_RATE, 13); // one window
        Transcriber.Options opt = Transcriber.Options.defaults().withBeam(1).withLanguage("en").withTimestamps(false)
                .withTemperatures(1.0).withSeed(3);
        List<int[]> samples = new ArrayList<>();
        int best = 0;
        try (Tensor m = LogMel.compute(a, LogMelConfig.whisper(80).withPadToSamples(win), model.device());
                Tensor m3 = m.reshape(1, 80, model.config().melFrames()); Tensor enc = model.encode(m3)) {
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < 6; k++) {
                WhisperDecoder.Result r = dec.decode(enc, dec.prompt("en", "transcribe", false, new int[0]), false, 1, 1.0,
                        224, Transcriber.sampleSeed(3, k));
                samples.add(r.tokens());
                double score = r.sumLogProb() / Math.max(1, r.tokens().length);
                if (score > bestScore) {
                    bestScore = score;
                    best = k;
                }
            }
        }
        assertTrue(best > 0, "the test wants a sample other than the first to win; it won: " + best);
        // a random-weight model samples timestamps even without them; they cut segments as in the reference (and
        // the window after the last cut is decoded again: the transcript's first segments are the sample's)
        int[] first = segmentTokens(tr, samples.get(0), win);
        int[] kept = segmentTokens(tr, samples.get(best), win);
        assertFalse(Arrays.equals(first, kept), "the test wants samples whose segments differ");
        int[] one = segmentTokens(tr.transcribe(a, opt.withBestOf(1), null));
        int[] six = segmentTokens(tr.transcribe(a, opt.withBestOf(6), null));
        assertArrayEquals(first, Arrays.copyOf(one, Math.min(one.length, first.length)), "best of 1 = sample 0");
        assertArrayEquals(kept, Arrays.copyOf(six, Math.min(six.length, kept.length)), "best of 6 keeps sample " + best);
        assertThrows(IllegalArgumentException.class, () -> opt.withBestOf(0));
    }

    /** The tokens of the segments one window's {@code tokens} make, in order. */
    private static int[] segmentTokens(Transcriber tr, int[] tokens, int win) {
        List<Transcriber.Segment> out = new ArrayList<>();
        tr.split(tokens, 0, win, out);
        return out.stream().flatMapToInt(seg -> Arrays.stream(seg.tokens())).toArray();
    }

    /** The tokens of a one-window transcript's segments, in order. */
    private static int[] segmentTokens(Transcriber.Transcript t) {
        return t.segments().stream().flatMapToInt(seg -> Arrays.stream(seg.tokens())).toArray();
    }

    /**
     * The compression ratio of the fallback test: text bytes over the bytes of Python's {@code zlib.compress(text)}
     * (openai-whisper's), sizes from CPython 3.11's zlib: {@code len(zlib.compress(s.encode()))}.
     */
    @Test
    void compressionRatioIsTheReferencesZlibRatio() {
        Object[][] cases = {{"hello world", 11, 19}, {" w5 w6 w7 w7 w7 w7 w7 w7 w7 w7 w7 w7 w7 w7 w7 w7", 48, 19},
            {"The quick brown fox jumps over the lazy dog. ".repeat(3), 135, 55},
            {"\u00fcn\u00efc\u00f6d\u00e9 text, with punctuation!", 35, 44}, {"a", 1, 9}};
        for (Object[] c : cases) {
            assertEquals((int) c[1] / (double) (int) c[2], Transcriber.compressionRatio((String) c[0]), 1e-12, (String) c[0]);
        }
        assertEquals(0, Transcriber.compressionRatio(""));
        // 2.53 here: above the default threshold 2.4, so this window falls back (its gzip ratio, 1.55, did not)
        assertTrue(Transcriber.compressionRatio((String) cases[1][0]) > 2.4);
    }

    /** Languages by code or English name (any case) or the reference's aliases, as openai-whisper's CLI takes them. */
    @Test
    void languagesByCodeOrName() {
        assertEquals("de", WhisperLanguages.code("German"));
        assertEquals("de", WhisperLanguages.code(" DE "));
        assertEquals("es", WhisperLanguages.code("Castilian"));
        assertEquals("zh", WhisperLanguages.code("mandarin"));
        assertEquals("ht", WhisperLanguages.code("Haitian Creole"));
        assertEquals("xx", WhisperLanguages.code("xx"));
        WhisperDecoder dec = new WhisperDecoder(model);
        assertArrayEquals(dec.prompt("de", "transcribe", true), dec.prompt("German", "transcribe", true));
        assertEquals("en", Transcriber.Options.defaults().withLanguage("English").language());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dec.prompt("Klingon", "transcribe", true));
        assertTrue(e.getMessage().contains("Klingon") && e.getMessage().contains("en"), e.getMessage());
    }

    /** A window's tokens cut into segments, and where the next window starts, as openai-whisper and transformers do. */
    @Test
    void windowTokensSplitIntoSegmentsAsTheReference() {
        Transcriber tr = new Transcriber(model, tok);
        int ts = model.config().timestampBegin(); // <|0.00|>; <|k * 0.02|> = ts + k
        int win = tr.windowSamples(); // 2 s
        long offset = 16_000; // the window starts 1 s into the file
        // pairs, then a single timestamp at the end: segments at the pairs, the next window after this one
        List<Transcriber.Segment> out = new ArrayList<>();
        int used = tr.split(new int[] {ts + 5, 7, 8, ts + 20, ts + 20, 9, ts + 40, ts + 40, 10, ts + 60}, offset, win, out);
        assertEquals(win, used);
        assertEquals(3, out.size());
        assertSegment(out.get(0), 1.1, 1.4, ts + 5, 7, 8, ts + 20);
        assertSegment(out.get(1), 1.4, 1.8, ts + 20, 9, ts + 40);
        assertSegment(out.get(2), 1.8, 2.2, ts + 40, 10, ts + 60);
        // pairs, then text without a closing timestamp: the next window starts at the last pair (0.8 s in)
        out.clear();
        used = tr.split(new int[] {ts, 7, ts + 40, ts + 40, 9, 9}, offset, win, out);
        assertEquals(40 * 320, used);
        assertEquals(1, out.size());
        assertSegment(out.get(0), 1.0, 1.8, ts, 7, ts + 40);
        // no pair, only an opening timestamp: one segment ending at that timestamp (the references' rule)
        out.clear();
        used = tr.split(new int[] {ts + 30, 7, 8, 9}, offset, win, out);
        assertEquals(win, used);
        assertSegment(out.get(0), 1.0, 1.6, ts + 30, 7, 8, 9);
        // no pair, <|0.00|> only: the segment runs to the window's end (here a last window of 1.5 s)
        out.clear();
        used = tr.split(new int[] {ts, 7, 8}, offset, 24_000, out);
        assertEquals(24_000, used);
        assertSegment(out.get(0), 1.0, 2.5, ts, 7, 8);
        // without timestamps: the whole window
        out.clear();
        used = tr.split(new int[] {7, 8}, offset, win, out);
        assertEquals(win, used);
        assertSegment(out.get(0), 1.0, 3.0, 7, 8);
        // a last window of 48,088 samples ends with its last whole 10 ms frame (300 frames: 3.00 s), as openai-whisper
        // counts it (segment_size in frames), not at 3.0055 s
        out.clear();
        used = tr.split(new int[] {7, 8}, offset, 48_088, out);
        assertEquals(48_088, used);
        assertSegment(out.get(0), 1.0, 4.0, 7, 8);
        out.clear();
        tr.split(new int[] {ts, 7, 8}, offset, 48_088, out);
        assertSegment(out.get(0), 1.0, 4.0, ts, 7, 8);
        // timestamps sampled without their rules (a random-weight model under --no-timestamps): a first slice with no
        // opening timestamp starts with the window; an instantaneous segment is dropped, as openai-whisper clears it
        out.clear();
        used = tr.split(new int[] {7, ts + 10, ts + 10, 8, ts + 10, ts + 10, ts + 30, 9, ts + 50, ts + 50, 10}, offset, win,
                out);
        assertEquals(2, out.size());
        assertSegment(out.get(0), 1.0, 1.2, 7, ts + 10);
        assertSegment(out.get(1), 1.6, 2.0, ts + 30, 9, ts + 50);
        assertEquals(Math.round(50 * 0.02 * Transcriber.SAMPLE_RATE), used);
    }

    /**
     * A vocabulary that ends at <|notimestamps|> has no timestamp tokens: decoding with timestamps is refused (every
     * logit was masked at the first step and token 0 came out, rc 0); without them it decodes.
     */
    @Test
    void aVocabularyWithoutTimestampTokensRefusesTimestamps() {
        WhisperConfig c = model.config();
        WhisperConfig noTs = new WhisperConfig(c.dModel(), c.encoderLayers(), c.encoderHeads(), c.encoderFfn(),
                c.decoderLayers(), c.decoderHeads(), c.decoderFfn(), c.numMelBins(), c.maxSourcePositions(),
                c.maxTargetPositions(), c.noTimestampsTokenId() + 1, c.decoderStartTokenId(), c.eosTokenId(),
                new int[0], new int[0], c.noTimestampsTokenId(), c.langToId(), c.taskToId(), c.isMultilingual(),
                c.maxInitialTimestampIndex(), c.prevSotTokenId(), c.noSpeechTokenId());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LogitRules(noTs, true));
        assertTrue(e.getMessage().contains("no timestamp tokens") && e.getMessage().contains("without timestamps"),
                e.getMessage());
        new LogitRules(noTs, false);
    }

    /**
     * A tail shorter than one 10 ms frame after whole windows is no window of its own (openai-whisper's content is
     * samples // 160 frames): 2 windows + 80 samples transcribe as the 2 windows alone.
     */
    @Test
    void aTailShorterThanOneFrameIsNotAWindow() {
        Transcriber tr = new Transcriber(model, tok);
        int win = tr.windowSamples();
        float[] a = audio(2 * win / (double) Transcriber.SAMPLE_RATE, 12);
        float[] longer = Arrays.copyOf(a, a.length + 80);
        for (int i = a.length; i < longer.length; i++) {
            longer[i] = 0.3f * (float) Math.sin(i * 0.1);
        }
        Transcriber.Options opt = Transcriber.Options.defaults().withBeam(1).withLanguage("en").withTimestamps(false)
                .withTemperatures(0);
        Transcriber.Transcript want = tr.transcribe(a, opt, null);
        Transcriber.Transcript got = tr.transcribe(longer, opt, null);
        assertEquals(2, want.segments().size());
        assertEquals(want.segments().size(), got.segments().size());
        for (int i = 0; i < want.segments().size(); i++) {
            assertArrayEquals(want.segments().get(i).tokens(), got.segments().get(i).tokens(), "segment " + i);
            assertEquals(want.segments().get(i).end(), got.segments().get(i).end(), 0.0);
        }
    }

    /**
     * A segment whose text is blank but which holds tokens is kept with them (transformers' generate keeps it, also
     * in the next prompt); one of timestamps alone, or none, gives nothing.
     */
    @Test
    void blankSegmentsKeepTheirTokens() throws Exception {
        // the word-level vocabulary with token 1 decoding to a space
        Path f = wordTokenizer(tmp.resolve("blank-tokenizer.json"), model.config());
        Files.writeString(f, Files.readString(f).replace("\"w1\":1,", "\" \":1,"));
        try (Tokenizer blank = Tokenizer.load(f)) {
            assertTrue(blank.decode(new int[] {1}, true).isBlank());
            Transcriber tr = new Transcriber(model, blank);
            int ts = model.config().timestampBegin();
            List<Transcriber.Segment> out = new ArrayList<>();
            tr.split(new int[] {ts, 1, ts + 20, ts + 20, 7, ts + 40}, 0, tr.windowSamples(), out);
            assertEquals(2, out.size(), "the blank first pair is kept: " + out);
            assertSegment(out.get(0), 0.0, 0.4, ts, 1, ts + 20);
            assertSegment(out.get(1), 0.4, 0.8, ts + 20, 7, ts + 40);
            out.clear();
            tr.split(new int[] {1, 1}, 0, tr.windowSamples(), out);
            assertEquals(1, out.size(), "a blank window without timestamps keeps its tokens");
            out.clear();
            tr.split(new int[] {}, 0, tr.windowSamples(), out);
            assertTrue(out.isEmpty(), "an empty window gives no segment");
            out.clear();
            tr.split(new int[] {ts + 5, ts + 5}, 0, tr.windowSamples(), out);
            assertTrue(out.isEmpty(), "timestamps alone give no segment: " + out);
        }
    }

    private static void assertSegment(Transcriber.Segment s, double start, double end, int... tokens) {
        assertEquals(start, s.start(), 1e-9, "start of " + s);
        assertEquals(end, s.end(), 1e-9, "end of " + s);
        assertArrayEquals(tokens, s.tokens(), "tokens of " + s);
    }

    /**
     * A file longer than a window is read twice (the whole file's log-mel maximum first); a source that can be read
     * only once is spooled to a temporary file for the second pass, which is gone afterwards: the transcript is the
     * one in-memory audio gets.
     */
    @Test
    void aOneShotSourceOfLongAudioIsSpooledAndGivesTheSameTranscript() throws Exception {
        Transcriber tr = new Transcriber(model, tok);
        float[] a = audio(3.4 * tr.windowSamples() / Transcriber.SAMPLE_RATE, 21);
        Transcriber.Options opt = Transcriber.Options.defaults().withBeam(1).withLanguage("en");
        Transcriber.Transcript mem = tr.transcribe(a, opt, null);
        java.nio.file.Path tmp = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"));
        java.util.function.Supplier<Long> spools = () -> {
            try (var files = java.nio.file.Files.list(tmp)) {
                return files.filter(f -> f.getFileName().toString().startsWith("tessera-audio-")).count();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        long before = spools.get();
        Transcriber.Transcript once = tr.transcribe(Transcriber.SampleSource.of(a), opt, null, null);
        assertSameTranscript(mem, once, "one-shot source");
        assertTrue(mem.segments().size() > 1, "several windows");
        assertEquals(before, spools.get(), "the spool is deleted");
    }

    @Test
    void hotWindowsResetTheContextAndTheNoSpeechGateSkips() {
        Transcriber tr = new Transcriber(model, tok);
        WhisperDecoder dec = new WhisperDecoder(model);
        int win = tr.windowSamples();
        float[] a = audio(2 * win / (double) Transcriber.SAMPLE_RATE, 12);
        // Decoded only at T = 0.8 > 0.5: the second window must not see the first one's text.
        Transcriber.Options hot = Transcriber.Options.defaults().withBeam(1).withLanguage("en").withTimestamps(false)
                .withTemperatures(0.8).withSeed(3);
        Transcriber.Transcript t = tr.transcribe(a, hot, null);
        Transcriber.Transcript off = tr.transcribe(a, hot.withConditionOnPreviousText(false), null);
        assertSameTranscript(off, t, "T 0.8 resets the context");
        Transcriber.Options warm = hot.withTemperatures(0.4);
        Transcriber.Transcript w = tr.transcribe(a, warm, null);
        Transcriber.Transcript wOff = tr.transcribe(a, warm.withConditionOnPreviousText(false), null);
        assertNotEquals(Arrays.toString(wOff.segments().get(1).tokens()), Arrays.toString(w.segments().get(1).tokens()),
                "T 0.4 keeps the context");
        // No-speech gate: p(no speech) > threshold and avg log-prob not above the log-prob threshold → skipped.
        Transcriber.Options greedy = Transcriber.Options.defaults().withBeam(1).withLanguage("en").withTemperatures(0);
        double avg;
        try (Tensor m = LogMel.compute(Arrays.copyOf(a, win), LogMelConfig.whisper(80).withPadToSamples(win), model.device());
                Tensor m3 = m.reshape(1, 80, model.config().melFrames()); Tensor enc = model.encode(m3)) {
            WhisperDecoder.Result r = dec.decode(enc, dec.prompt("en", "transcribe", true), true, 1, 0, 224, 0);
            avg = r.avgLogProb();
            assertTrue(r.noSpeechProb() > 0 && r.noSpeechProb() < 0.5, "p(no speech) " + r.noSpeechProb());
        }
        assertTrue(tr.transcribe(a, greedy, null).segments().size() > 0);
        assertTrue(tr.transcribe(a, greedy.withThresholds(2.4, avg + 1, 0.0), null).segments().isEmpty(),
                "every window skipped as no speech");
        assertTrue(tr.transcribe(a, greedy.withThresholds(2.4, avg - 1, 0.0), null).segments().size() > 0,
                "a confident window is kept whatever p(no speech)");
        assertTrue(tr.transcribe(a, greedy.withThresholds(2.4, Double.NaN, 0.0), null).segments().isEmpty(),
                "without a log-prob threshold p(no speech) alone decides");
        assertTrue(tr.transcribe(a, greedy.withThresholds(2.4, avg + 1, Double.NaN), null).segments().size() > 0,
                "no-speech gate off");
    }

    @Test
    void badBatchInputGetsClearErrors() throws Exception {
        Transcriber tr = new Transcriber(model, tok);
        WhisperDecoder dec = new WhisperDecoder(model);
        assertThrows(IllegalArgumentException.class, () -> tr.transcribeAll(List.of(new float[10]), Transcriber.Options.defaults(), 0, null));
        try (Tensor mel = Tensor.of(new float[2 * 80 * 200], 2, 80, 200); Tensor enc = model.encode(mel)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dec.decodeBatch(enc, new int[][] {dec.prompt("en", "transcribe", true)}, true, 1, 0, 8, 0));
            assertTrue(e.getMessage().contains("1 prompts"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> dec.decodeBatch(enc, new int[][] {{301}, new int[0]}, true, 1, 0, 8, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> dec.decodeBatch(enc, new int[][] {{301}, {301}}, true, 1, Double.NaN, 8, 0));
        }
        assertThrows(IllegalArgumentException.class, () -> dec.prompt("en", "transcribe", true, new int[] {5, 99999}));
        float[] nan = audio(1, 1);
        nan[100] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> tr.transcribeAll(List.of(audio(1, 2), nan), Transcriber.Options.defaults(), 2, null));
    }

    /** The whole file's features as {@code tessera logmel --no-pad} computes them: [80, samples / 160]. */
    private static float[] wholeFileFeatures(float[] a) {
        try (Tensor t = LogMel.compute(a, LogMelConfig.whisper(80).unpadded(), dev.tessera.runtime.Device.CPU)) {
            assertEquals(80L * (a.length / 160), t.numel());
            return t.toFloatArray();
        }
    }

    /**
     * Features longer than a window are transcribed long-form as their audio is (the audio's windows are those
     * features' frames to ~2e-6): the same segments with every option (fallback and hot windows, beam with an
     * initial prompt, no timestamps, word timestamps with the hallucination-silence rule), streamed to the listener.
     * Features shorter than a window are padded with their floor: the first 135 frames of a short file's padded
     * window (the rest silence) give what the whole window gives.
     */
    @Test
    void longFeaturesAreTranscribedAsTheirAudio() {
        Transcriber tr = new Transcriber(model, tok);
        float[] a = audio(4.6 * tr.windowSamples() / Transcriber.SAMPLE_RATE, 33);
        for (int i = a.length / 3; i < a.length / 3 + 9000; i++) {
            a[i] = 0; // digital silence inside: the clamp at the file's max - 8
        }
        float[] mel = wholeFileFeatures(a);
        int frames = a.length / 160;
        Transcriber.Options fewer = Transcriber.Options.defaults().withTemperatures(0, 0.4, 0.8);
        for (Transcriber.Options opt : new Transcriber.Options[] {
            fewer.withBeam(1).withLanguage("en"),
            fewer.withBeam(2).withInitialPrompt("w5 w6 w7").withCarryInitialPrompt(true),
            fewer.withBeam(1).withTimestamps(false).withConditionOnPreviousText(false),
            fewer.withBeam(1).withMaxTokensPerWindow(20).withWordTimestamps(true),
            fewer.withBeam(1).withMaxTokensPerWindow(20).withWordTimestamps(true).withHallucinationSilenceThreshold(0.3)}) {
            Transcriber.Transcript want = tr.transcribe(a, opt, null);
            List<Transcriber.Segment> streamed = new ArrayList<>();
            List<Double> progress = new ArrayList<>();
            Transcriber.Transcript got = tr.transcribeFeatures(mel, frames, opt, new Transcriber.Listener() {
                @Override
                public void onSegment(int file, Transcriber.Segment s) {
                    streamed.add(s);
                }

                @Override
                public void onProgress(int file, double seconds) {
                    progress.add(seconds);
                }
            });
            String what = "beam " + opt.beam() + " ts " + opt.timestamps() + " words " + opt.wordTimestamps();
            assertTrue(want.segments().size() > 2, what + ": several windows' segments " + want.segments());
            assertSameTranscript(want, got, what);
            for (int k = 0; k < want.segments().size(); k++) {
                assertEquals(want.segments().get(k).words().size(), got.segments().get(k).words().size(), what);
                for (int w = 0; w < want.segments().get(k).words().size(); w++) {
                    WordTimestamps.Word x = want.segments().get(k).words().get(w);
                    WordTimestamps.Word y = got.segments().get(k).words().get(w);
                    assertEquals(x.word(), y.word(), what);
                    assertEquals(x.start(), y.start(), 1e-9, what);
                    assertEquals(x.end(), y.end(), 1e-9, what);
                    assertEquals(x.probability(), y.probability(), 1e-4, what);
                }
                assertEquals(want.segments().get(k).window().avgLogProb(), got.segments().get(k).window().avgLogProb(),
                        1e-4, what);
            }
            assertEquals(want.text(), got.text(), what);
            assertTrue(!opt.wordTimestamps() || got.segments().stream().anyMatch(s -> !s.words().isEmpty()), what);
            assertEquals(got.segments(), streamed, what + ": streamed");
            assertEquals(frames / 100.0, progress.get(progress.size() - 1), 1e-9, what + ": progress to the end");
        }
        // shorter than a window: padded with the floor
        float[] shortAudio = Arrays.copyOf(audio(1.3, 8), tr.windowSamples()); // zero-padded to the window
        float[] full = wholeFileFeatures(shortAudio);
        int win = model.config().melFrames();
        int keep = 135;
        float[] cut = new float[80 * keep];
        for (int c = 0; c < 80; c++) {
            System.arraycopy(full, c * win, cut, c * keep, keep);
        }
        Transcriber.Options opt = fewer.withBeam(1);
        Transcriber.Transcript whole = tr.transcribeFeatures(full, win, opt, null);
        assertSameTranscript(tr.transcribe(audio(1.3, 8), opt, null), whole, "short audio");
        assertSameTranscript(whole, tr.transcribeFeatures(cut, keep, opt, null), "features cut to 135 frames");
        // bad features: refused before decoding
        float[] bad = mel.clone();
        bad[80 * 7 + 3] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tr.transcribeFeatures(bad, frames, fewer, null));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> tr.transcribeFeatures(mel, frames + 1, fewer, null));
        assertTrue(e.getMessage().contains("[80, frames]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tr.transcribeFeatures(new float[0], 0, fewer, null));
    }

    /** Frames [from, to) of features [80, frames]. */
    private static float[] cut(float[] mel, int frames, int from, int to) {
        float[] out = new float[80 * (to - from)];
        for (int c = 0; c < 80; c++) {
            System.arraycopy(mel, c * frames + from, out, c * (to - from), to - from);
        }
        return out;
    }

    /**
     * Clips (openai-whisper's clip_timestamps): with the context not carried and temperature 0, each clip gives what
     * its features cut out give alone, times shifted by its start (its windows see no frame past its end: 0.0 there,
     * as after the end of a file); audio and its features give the same clipped transcript; a clip past the end or
     * empty gives nothing; bounds round as Python's round(); bad bounds are refused.
     */
    @Test
    void clipsAreTranscribedAsTheirFeaturesCutOut() {
        Transcriber tr = new Transcriber(model, tok);
        float[] a = audio(4.6 * tr.windowSamples() / Transcriber.SAMPLE_RATE, 41);
        float[] mel = wholeFileFeatures(a);
        int frames = a.length / 160;
        Transcriber.Options base = Transcriber.Options.defaults().withTemperatures(0).withBeam(1).withLanguage("en")
                .withConditionOnPreviousText(false);
        for (Transcriber.Options opt : new Transcriber.Options[] {base, base.withTimestamps(false), base.withBeam(2),
            base.withMaxTokensPerWindow(20).withWordTimestamps(true)}) {
            Transcriber.Options clipped = opt.withClipTimestamps(0.5, 2.55, 2.55, 2.55, 2.6); // (an empty clip between)
            Transcriber.Transcript got = tr.transcribeFeatures(mel, frames, clipped, null);
            List<Transcriber.Segment> want = new ArrayList<>();
            int[][] clips = {{50, 255}, {260, frames}};
            for (int[] c : clips) {
                for (Transcriber.Segment s : tr.transcribeFeatures(cut(mel, frames, c[0], c[1]), c[1] - c[0], opt, null)
                        .segments()) {
                    want.add(new Transcriber.Segment(s.start() + c[0] / 100.0, s.end() + c[0] / 100.0, s.text(), s.tokens()));
                }
            }
            String what = "beam " + opt.beam() + " ts " + opt.timestamps();
            assertSameTranscript(new Transcriber.Transcript("en", want), got, what);
            assertTrue(want.size() >= 4, what + ": " + want);
            for (Transcriber.Segment s : got.segments()) {
                long seek = s.window().seek();
                assertTrue(seek >= 50 && seek < 255 || seek >= 260, what + ": window at " + seek + " inside a clip");
            }
            assertSameTranscript(got, tr.transcribe(a, clipped, null), what + ": audio with the same clips");
        }
        assertTrue(tr.transcribeFeatures(mel, frames, base.withClipTimestamps(100), null).segments().isEmpty(),
                "a clip past the end");
        assertTrue(tr.transcribe(a, base.withClipTimestamps(1, 1, 50, 60), null).segments().isEmpty(), "empty clips");
        assertSameTranscript(tr.transcribeFeatures(mel, frames, base, null),
                tr.transcribeFeatures(mel, frames, base.withClipTimestamps(0), null), "clip 0 is the whole file");
        long[] f = base.withClipTimestamps(0.125, 0.135, 1.005, 2.675, 3.13).clipFrames(999);
        assertArrayEquals(new long[] {12, 14, 100, 268, 313, 999}, f, "Python's round(t * 100): ties to even");
        assertArrayEquals(new long[] {0, 999}, base.clipFrames(999));
        for (double[] bad : new double[][] {{2, 1}, {-1}, {Double.NaN}, {1, Double.POSITIVE_INFINITY}}) {
            assertThrows(IllegalArgumentException.class, () -> base.withClipTimestamps(bad), Arrays.toString(bad));
        }
    }
}
