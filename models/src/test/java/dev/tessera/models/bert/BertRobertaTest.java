package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.io.Npy;
import dev.tessera.runtime.onnx.OnnxModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * RoBERTa-type checkpoints ({@code model_type} roberta / xlm-roberta / camembert) take position ids from
 * {@code padding_idx + 1}; they used to load as BERT with positions from 0 (34 % error on the QA case of
 * docs/verification.md). Reference: {@code src/test/resources/bert/make_roberta_fixture.py}.
 */
class BertRobertaTest {
    private static final Path DIR = Path.of("src/test/resources/bert/roberta");

    @Test
    void positionsStartAfterThePaddingIndex() throws Exception {
        try (BertModel m = BertModel.fromSafetensors(DIR, Device.CPU)) {
            checkAgainstPyTorch(m, "safetensors");
        }
    }

    /**
     * The same model exported to ONNX as transformers' RobertaModel computes it: positions from the ids in the graph
     * (cumsum of non-padding tokens + padding index), token types from a buffer of zeros, no token_type_ids input.
     * The import reads the padding index from the graph.
     */
    @Test
    void onnxExportWithPositionsComputedFromTheIds() throws Exception {
        try (BertModel m = BertModel.fromOnnx(OnnxModel.read(DIR.resolve("onnx/model.onnx")), null, Device.CPU)) {
            assertEquals(1, m.config().typeVocabSize());
            assertEquals(14, m.config().maxPositions());
            checkAgainstPyTorch(m, "onnx");
        }
    }

    /**
     * Relative error of {@code m}'s last hidden states on the fixture's ids.npy / mask.npy against its hidden.npy, over
     * the real (unmasked) tokens only: padding rows are no result (transformers gives RoBERTa's the padding index as
     * position, which no real token sees).
     */
    static double realTokenError(BertModel m, Path dir) throws java.io.IOException {
        Npy.Array ids = Npy.read(dir.resolve("ids.npy"));
        int[] mask = Npy.read(dir.resolve("mask.npy")).ints();
        float[] ref = Npy.read(dir.resolve("hidden.npy")).requireFloats();
        long[] sh = ids.shape();
        int h = m.config().hiddenSize();
        try (Scope s = Tessera.scope()) {
            float[] out = m.forward(Tensor.ofInts(ids.ints(), Device.CPU, sh), Tensor.ofInts(mask, Device.CPU, sh), null)
                    .toFloatArray();
            double num = 0, den = 0;
            for (int t = 0; t < mask.length; t++) {
                for (int j = 0; mask[t] != 0 && j < h; j++) {
                    double d = out[t * h + j] - ref[t * h + j];
                    num += d * d;
                    den += (double) ref[t * h + j] * ref[t * h + j];
                }
            }
            return Math.sqrt(num / den);
        }
    }

    private static void checkAgainstPyTorch(BertModel m, String what) throws Exception {
        assertEquals(2, m.config().positionOffset());
        assertEquals(12, m.config().maxTokens());
        double e = realTokenError(m, DIR);
        System.out.printf("RoBERTa positions (%s): rel err vs PyTorch %.3g%n", what, e);
        assertTrue(e <= 1e-5, "rel err " + e);
        try (Scope s = Tessera.scope()) {
            // 13 tokens need positions 2..14, past the 14-row table
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(Tensor.ofInts(new int[13], Device.CPU, 1, 13), null, null));
            assertTrue(x.getMessage().contains("exceeds max_position_embeddings 14 - 2"), x.getMessage());
        }
    }
}
