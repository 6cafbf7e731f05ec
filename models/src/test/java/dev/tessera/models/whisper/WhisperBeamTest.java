package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.models.Fixtures;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Beam search against the reference of resources/whisper/make_fixtures.py ({@code beam_search}: openai-whisper's
 * semantics, written there from its description) on the two random checkpoints with {@code <|endoftext|>}'s embedding
 * row doubled, so that hypotheses finish early and the search has finished and live hypotheses to weigh: which
 * finished ones are kept, the live ones filling the list when the budget is spent, and the ranking by
 * log-probability / length without {@code <|endoftext|>}. Alone and as two windows of one batch.
 */
class WhisperBeamTest {
    private static final String KEY = "model.decoder.embed_tokens.weight";

    /** The checkpoint in {@code dir} with the embedding row of {@code <|endoftext|>} times 2 (exact in float32). */
    static WhisperModel withEotDoubled(Path dir) {
        WhisperConfig cfg = WhisperConfig.read(dir);
        Map<String, Tensor> tensors = new HashMap<>();
        try (TensorSource src = TensorSource.safetensors(dir)) {
            for (String name : src.names()) {
                tensors.put(name, src.load(name, Device.CPU, DType.F32));
            }
            Tensor emb = tensors.get(KEY);
            float[] w = emb.toFloatArray();
            int d = (int) emb.dim(1);
            for (int j = 0; j < d; j++) {
                w[cfg.eosTokenId() * d + j] *= 2;
            }
            tensors.put(KEY, Tensor.of(w, Device.CPU, emb.shape()));
            emb.close();
            try (TensorSource doubled = TensorSource.of(tensors, dir + " with <|endoftext|> doubled")) {
                return WhisperModel.fromSource(cfg, doubled, Device.CPU, DType.F32);
            }
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-a", "tiny-b"})
    void beamSearchMatchesTheReference(String name) throws Exception {
        Path d = Fixtures.resource("whisper/" + name);
        try (WhisperModel m = withEotDoubled(d); Tensor mel = Fixtures.npyTensor(d.resolve("features.npy"));
                Tensor enc = m.encode(mel); Tensor two = Ops.concat(0, enc, enc)) {
            WhisperDecoder dec = new WhisperDecoder(m);
            for (Object[] c : new Object[][] {{5, false}, {3, true}, {2, false}}) {
                int beam = (int) c[0];
                boolean ts = (boolean) c[1];
                String file = "beam" + beam + "_eot2_" + (ts ? "timestamps" : "notimestamps");
                int[] want = Npy.read(d.resolve(file + ".npy")).ints();
                double lp = Npy.read(d.resolve(file + "_logprob.npy")).requireFloats()[0];
                String what = name + " beam " + beam + (ts ? " with timestamps" : "");
                int[] prompt = dec.prompt("en", "transcribe", ts);
                WhisperDecoder.Result r = dec.decode(enc, prompt, ts, beam, 0, 32, 0);
                assertArrayEquals(want, r.tokens(), what);
                assertEquals(lp, r.sumLogProb(), 1e-4 * Math.max(1, Math.abs(lp)), what + ": summed log-probability");
                List<WhisperDecoder.Result> both = dec.decodeBatch(two, new int[][] {prompt, prompt}, ts, beam, 0, 32, 0);
                for (int i = 0; i < 2; i++) {
                    assertArrayEquals(want, both.get(i).tokens(), what + ", window " + i + " of a batch");
                }
            }
        }
    }
}
