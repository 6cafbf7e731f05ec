package dev.tessera.models.whisper;

import dev.tessera.models.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whisper against a PyTorch reference written from the published architecture (NOT Hugging Face transformers,
 * which is not installed on the build machines; see resources/whisper/make_fixtures.py), on two random-weight
 * checkpoints of different sizes and mel counts (80 and 128).
 */
class WhisperParityTest {
    static Path fixtureDir(String name) {
        return Fixtures.resource("whisper/" + name);
    }


    static int[] ints(Path f) throws Exception {
        return Npy.read(f).ints();
    }


    @ParameterizedTest
    @ValueSource(strings = {"tiny-a", "tiny-b"})
    void encoderLogitsAndGreedyMatchTheReference(String name) throws Exception {
        Path d = fixtureDir(name);
        try (WhisperModel m = WhisperModel.load(d); Tensor mel = Fixtures.npyTensor(d.resolve("features.npy"))) {
            float[] refEnc = Npy.read(d.resolve("encoder.npy")).requireFloats();
            try (Tensor enc = m.encode(mel)) {
                double e = Fixtures.relErr(enc.toFloatArray(), refEnc);
                assertTrue(e <= 1e-4, name + ": encoder rel err " + e);
                int[] prompt = ints(d.resolve("prompt.npy"));
                float[] refLogits = Npy.read(d.resolve("logits.npy")).requireFloats();
                float[] full;
                try (WhisperCache c = m.newCache(enc, prompt.length); Tensor l = m.decode(new int[][] {prompt}, c, true)) {
                    full = l.toFloatArray();
                    e = Fixtures.relErr(full, refLogits);
                    assertTrue(e <= 1e-4, name + ": decoder logits rel err " + e);
                }
                // KV-cache decoding, one token at a time, equals the full pass.
                int v = m.config().vocabSize();
                try (WhisperCache c = m.newCache(enc, prompt.length)) {
                    for (int i = 0; i < prompt.length; i++) {
                        try (Tensor l = m.decode(new int[][] {{prompt[i]}}, c, false)) {
                            float[] step = l.toFloatArray();
                            float[] ref = java.util.Arrays.copyOfRange(full, i * v, i * v + v);
                            double se = Fixtures.relErr(step, ref);
                            assertTrue(se <= 1e-5, name + ": cached step " + i + " rel err " + se);
                        }
                    }
                }
                WhisperDecoder dec = new WhisperDecoder(m);
                int[] expNoTs = ints(d.resolve("greedy_notimestamps.npy"));
                WhisperDecoder.Result r = dec.decode(enc, dec.prompt("en", "transcribe", false), false, 1, 0, 32, 0);
                assertArrayEquals(strip(expNoTs, m.config().eosTokenId()), r.tokens(), name + ": greedy without timestamps");
                int[] expTs = ints(d.resolve("greedy_timestamps.npy"));
                r = dec.decode(enc, dec.prompt("en", "transcribe", true), true, 1, 0, 32, 0);
                assertArrayEquals(strip(expTs, m.config().eosTokenId()), r.tokens(), name + ": greedy with timestamps");
                float[] lang = Npy.read(d.resolve("language_logits.npy")).requireFloats();
                List<Map.Entry<String, Double>> probs = dec.detectLanguage(enc);
                double pEn = 1 / (1 + Math.exp(lang[1] - lang[0]));
                double got = probs.stream().filter(x -> x.getKey().equals("en")).findFirst().orElseThrow().getValue();
                assertEquals(pEn, got, 1e-4, name + ": P(en)");
                // Beam search of width 3 returns a sequence without the tokens the rules suppress (openai-whisper's
                // control tokens and suppress_tokens; a random model may sample language and timestamp tokens).
                WhisperDecoder.Result b = dec.decode(enc, dec.prompt("en", "transcribe", false), false, 3, 0, 16, 0);
                java.util.Set<Integer> never = new java.util.HashSet<>();
                for (int t : LogitRules.controlTokens(m.config(), m.config().prevSotTokenId(), m.config().noSpeechTokenId())) {
                    never.add(t);
                }
                for (int t : m.config().suppressTokens()) {
                    never.add(t);
                }
                assertEquals(java.util.Set.of(301, 304, 305, 306, 307, 308, 1, 2, 7, 11, 13), never,
                        name + ": the fixture's suppressed ids (make_fixtures.py)");
                for (int t : b.tokens()) {
                    assertTrue(!never.contains(t) && t != m.config().eosTokenId(), "beam produced suppressed token " + t);
                }
                assertTrue(b.avgLogProb() >= dec.decode(enc, dec.prompt("en", "transcribe", false), false, 1, 0, 16, 0)
                        .avgLogProb() - 1e-6 || b.tokens().length > 0);
            }
        }
    }

    /**
     * Conditioning on previous text: the {@code <|startofprev|>} prompt (with the reference's truncation to the last
     * {@code max_target_positions / 2 - 1} tokens), its logits, greedy tokens with and without timestamps, and
     * p(no speech) at {@code <|startoftranscript|>}; then the same prompts of different lengths as one batch.
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-a", "tiny-b"})
    void previousTextPromptAndNoSpeechMatchTheReference(String name) throws Exception {
        Path d = fixtureDir(name);
        try (WhisperModel m = WhisperModel.load(d); Tensor mel = Fixtures.npyTensor(d.resolve("features.npy"));
                Tensor enc = m.encode(mel)) {
            WhisperDecoder dec = new WhisperDecoder(m);
            int eot = m.config().eosTokenId();
            int[] shortPrev = ints(d.resolve("prev_text_short.npy"));
            int[] longPrev = ints(d.resolve("prev_text_long.npy"));
            int[] refPrompt = ints(d.resolve("prev_prompt.npy"));
            int[] p = dec.prompt("en", "transcribe", false, shortPrev);
            int[] prompt = java.util.Arrays.copyOf(p, p.length + 3);
            prompt[p.length] = 17;
            prompt[p.length + 1] = 42;
            prompt[p.length + 2] = 99;
            assertArrayEquals(refPrompt, prompt, name + ": <|startofprev|> prompt");
            try (WhisperCache c = m.newCache(enc, prompt.length); Tensor l = m.decode(new int[][] {prompt}, c, true)) {
                double e = Fixtures.relErr(l.toFloatArray(), Npy.read(d.resolve("prev_logits.npy")).requireFloats());
                assertTrue(e <= 1e-4, name + ": logits after <|startofprev|> rel err " + e);
            }
            int[] pNoTs = dec.prompt("en", "transcribe", false, shortPrev);
            int[] pTs = dec.prompt("en", "transcribe", true, longPrev);
            assertEquals(1 + m.config().maxTargetPositions() / 2 - 1 + 3, pTs.length, "long previous text truncated");
            int[] expNoTs = strip(ints(d.resolve("prev_greedy_notimestamps.npy")), eot);
            int[] expTs = strip(ints(d.resolve("prev_greedy_timestamps.npy")), eot);
            assertArrayEquals(expNoTs, dec.decode(enc, pNoTs, false, 1, 0, 32, 0).tokens(), name + ": greedy after prev text");
            WhisperDecoder.Result rTs = dec.decode(enc, pTs, true, 1, 0, 32, 0);
            assertArrayEquals(expTs, rTs.tokens(), name + ": greedy with timestamps after long prev text");
            float[] ns = Npy.read(d.resolve("no_speech.npy")).requireFloats();
            WhisperDecoder.Result plain = dec.decode(enc, dec.prompt("en", "transcribe", true), true, 1, 0, 4, 0);
            assertEquals(ns[0], plain.noSpeechProb(), 1e-3 * ns[0], name + ": p(no speech)");
            assertEquals(ns[1], rTs.noSpeechProb(), 1e-3 * ns[1], name + ": p(no speech) after prev text");
            // The same prompts as one batch (left-padded to the longest): each row still matches the reference.
            try (Tensor two = dev.tessera.runtime.Ops.concat(0, enc, enc)) {
                List<WhisperDecoder.Result> b = dec.decodeBatch(two, new int[][] {dec.prompt("en", "transcribe", false), pNoTs},
                        false, 1, 0, 32, 0);
                assertArrayEquals(strip(ints(d.resolve("greedy_notimestamps.npy")), eot), b.get(0).tokens(), name + ": batch row 0");
                assertArrayEquals(expNoTs, b.get(1).tokens(), name + ": batch row 1");
                b = dec.decodeBatch(two, new int[][] {pTs, dec.prompt("en", "transcribe", true)}, true, 1, 0, 32, 0);
                assertArrayEquals(expTs, b.get(0).tokens(), name + ": batch row 0 with timestamps");
                assertArrayEquals(strip(ints(d.resolve("greedy_timestamps.npy")), eot), b.get(1).tokens(),
                        name + ": batch row 1 with timestamps");
                assertEquals(ns[1], b.get(0).noSpeechProb(), 1e-3 * ns[1], name + ": batched p(no speech)");
            }
        }
    }

    static int[] strip(int[] ref, int eot) {
        int n = ref.length;
        if (n > 0 && ref[n - 1] == eot) {
            n--;
        }
        return java.util.Arrays.copyOf(ref, n);
    }

    @Test
    void badInputGetsClearErrors() throws Exception {
        Path d = fixtureDir("tiny-a");
        try (WhisperModel m = WhisperModel.load(d)) {
            float[] nan = new float[80 * 200];
            nan[17] = Float.NaN;
            try (Tensor t = Tensor.of(nan, 1, 80, 200)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.encode(t));
                assertTrue(e.getMessage().contains("NaN"), e.getMessage());
            }
            try (Tensor t = Tensor.of(new float[128 * 200], 1, 128, 200)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.encode(t));
                assertTrue(e.getMessage().contains("n_mels = 80"), e.getMessage());
            }
            try (Tensor t = Tensor.of(new float[80 * 201], 1, 80, 201)) {
                assertThrows(IllegalArgumentException.class, () -> m.encode(t));
            }
            WhisperDecoder dec = new WhisperDecoder(m);
            assertThrows(IllegalArgumentException.class, () -> dec.prompt("xx", "transcribe", false));
            assertThrows(IllegalArgumentException.class, () -> dec.prompt("en", "summarise", false));
        }
    }

    @Test
    void configWithMoreLayersThanTheCheckpointSaysSoInOneLine() throws Exception {
        Path src = fixtureDir("tiny-a");
        Path tmp = Files.createTempDirectory("whisper-bad");
        try {
            for (String f : new String[] {"config.json", "generation_config.json"}) {
                Files.copy(src.resolve(f), tmp.resolve(f));
            }
            // Same checkpoint declared with 3 decoder layers: layer 2 is missing, said in one line.
            String cfg = Files.readString(src.resolve("config.json")).replace("\"decoder_layers\": 2", "\"decoder_layers\": 3");
            Files.writeString(tmp.resolve("config.json"), cfg);
            Files.copy(src.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WhisperModel.load(tmp));
            assertTrue(e.getMessage().contains("decoder_layers = 3, the checkpoint holds 2 layers (model.decoder.layers.N.*)"),
                    e.getMessage());
        } finally {
            try (Stream<Path> s = Files.list(tmp)) {
                s.forEach(p -> p.toFile().delete());
            }
            Files.deleteIfExists(tmp);
        }
    }
}
