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

    private static void checkAgainstPyTorch(BertModel m, String what) throws Exception {
        Npy.Array ids = Npy.read(DIR.resolve("ids.npy"));
        int[] mask = Npy.read(DIR.resolve("mask.npy")).ints();
        float[] ref = Npy.read(DIR.resolve("hidden.npy")).requireFloats();
        long[] sh = ids.shape();
        try (Scope s = Tessera.scope()) {
            assertEquals(2, m.config().positionOffset());
            assertEquals(12, m.config().maxTokens());
            float[] out = m.forward(Tensor.ofInts(ids.ints(), Device.CPU, sh), Tensor.ofInts(mask, Device.CPU, sh), null)
                    .toFloatArray();
            int h = 32;
            double num = 0, den = 0;
            for (int t = 0; t < mask.length; t++) {
                if (mask[t] == 0) {
                    continue; // padding rows: transformers gives them position padding_idx; no real token sees them
                }
                for (int j = 0; j < h; j++) {
                    double d = out[t * h + j] - ref[t * h + j];
                    num += d * d;
                    den += (double) ref[t * h + j] * ref[t * h + j];
                }
            }
            double e = Math.sqrt(num / den);
            System.out.printf("RoBERTa positions (%s): rel err vs PyTorch %.3g%n", what, e);
            assertTrue(e <= 1e-5, "rel err " + e);
            // 13 tokens need positions 2..14, past the 14-row table
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(Tensor.ofInts(new int[13], Device.CPU, 1, 13), null, null));
            assertTrue(x.getMessage().contains("exceeds max_position_embeddings 14 - 2"), x.getMessage());
        }
    }
}
