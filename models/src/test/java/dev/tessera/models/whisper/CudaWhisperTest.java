package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tessera;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whisper on CUDA against the committed float64 PyTorch reference of {@link WhisperParityTest} (two random-weight
 * checkpoints, 80 and 128 mels): encoder output and the decoder's full-pass logits, F32 (≤ 1e-4, and the same
 * greedy tokens without timestamps) and BF16 (≤ 5e-2). Skipped, with the reason, where CUDA is unavailable.
 */
class CudaWhisperTest {
    @ParameterizedTest
    @ValueSource(strings = {"tiny-a", "tiny-b"})
    void encoderAndDecoderOnCuda(String name) throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        Path d = WhisperParityTest.fixtureDir(name);
        float[] refEnc = Npy.read(d.resolve("encoder.npy")).requireFloats();
        int[] prompt = Npy.read(d.resolve("prompt.npy")).ints();
        float[] refLogits = Npy.read(d.resolve("logits.npy")).requireFloats();
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            double tol = dt == DType.F32 ? 1e-4 : 5e-2;
            try (WhisperModel m = WhisperModel.load(d, cuda, dt);
                    Tensor mel = Fixtures.npyTensor(d.resolve("features.npy")); Tensor enc = m.encode(mel)) {
                double e = Fixtures.relErr(enc.toFloatArray(), refEnc);
                System.out.printf("cuda whisper %s %s: encoder rel err %.3g%n", name, dt, e);
                assertTrue(e <= tol, name + " " + dt + ": encoder rel err " + e);
                try (WhisperCache c = m.newCache(enc, prompt.length);
                        Tensor l = m.decode(new int[][] {prompt}, c, true)) {
                    e = Fixtures.relErr(l.toFloatArray(), refLogits);
                    System.out.printf("cuda whisper %s %s: decoder logits rel err %.3g%n", name, dt, e);
                    assertTrue(e <= tol, name + " " + dt + ": decoder logits rel err " + e);
                }
                if (dt == DType.F32) {
                    WhisperDecoder dec = new WhisperDecoder(m);
                    int[] exp = Npy.read(d.resolve("greedy_notimestamps.npy")).ints();
                    WhisperDecoder.Result r = dec.decode(enc, dec.prompt("en", "transcribe", false), false, 1, 0, 32, 0);
                    assertArrayEquals(WhisperParityTest.strip(exp, m.config().eosTokenId()), r.tokens(),
                            name + ": greedy without timestamps on CUDA");
                }
            }
        }
    }

    /**
     * Word alignment on CUDA (F32) against the numpy reference of {@link WordTimestampsTest}: the DTW input within
     * 2e-4, the same path and words, for every alignment case.
     */
    @Test
    void wordAlignmentOnCudaMatchesTheReference(@TempDir Path dir) throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        int n = 0;
        for (JsonNode c : WordTimestampsTest.json("alignment_cases.json.gz")) {
            String name = c.get("name").asText();
            Path m = WordTimestampsTest.checkpoint(c, dir);
            Tokenizer t;
            try {
                t = Tokenizer.load(m.resolve("tokenizer.json"));
            } catch (RuntimeException | LinkageError e) { // a GPU bundle without the DJL tokenizers
                org.junit.jupiter.api.Assumptions.abort("no tokenizer here: " + e);
                return;
            }
            try (WhisperModel model = WhisperModel.load(m, cuda, DType.F32); Tokenizer tok = t;
                    Scope scope = Tessera.scope()) {
                Tensor mel = Fixtures.npyTensor(WordTimestampsTest.WORDS.resolve(c.get("features").asText()));
                if (mel.rank() == 2) {
                    mel = mel.reshape(1, mel.dim(0), mel.dim(1));
                }
                Tensor enc = model.encode(mel);
                String lang = c.get("language").asText();
                int[] sot = new WhisperDecoder(model).prompt(lang, c.get("task").asText(), true);
                WordTimestamps.Alignment a = WordTimestamps.findAlignment(model, tok, enc, sot,
                        WordTimestampsTest.ints(c.get("text_tokens")), c.get("num_frames").asInt(), lang);
                double worst = 0;
                for (int i = 0; i < a.matrix().length; i++) {
                    for (int j = 0; j < a.matrix()[i].length; j++) {
                        worst = Math.max(worst, Math.abs(a.matrix()[i][j] - c.get("matrix").get(i).get(j).asDouble()));
                    }
                }
                System.out.printf("cuda word alignment %s: matrix max abs err %.3g%n", name, worst);
                assertTrue(worst < 2e-4, name + ": " + worst);
                assertArrayEquals(WordTimestampsTest.ints(c.get("time_indices")), a.timeIndices(), name);
                assertArrayEquals(WordTimestampsTest.ints(c.get("text_indices")), a.textIndices(), name);
                n++;
            }
        }
        assertTrue(n >= 12);
    }
}
