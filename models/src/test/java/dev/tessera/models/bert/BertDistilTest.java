package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A random DistilBERT checkpoint (transformers' names and config keys, a masked-LM head beside the encoder) against
 * the PyTorch BERT computation without the token-type term ({@code make_distilbert_fixture.py}).
 */
class BertDistilTest {
    private static final Path DIR = Path.of("src/test/resources/bert/distilbert");

    @Test
    void distilBertCheckpointsLoadAsBertWithoutTokenTypes() throws Exception {
        try (BertModel m = BertModel.fromSafetensors(DIR, Device.CPU)) {
            check(m, "safetensors");
        }
    }

    /** Its ONNX export: no token_type_ids input and no token-type Gather in the graph. */
    @Test
    void onnxExportWithoutTokenTypes() throws Exception {
        try (BertModel m = BertModel.fromOnnx(OnnxModel.read(DIR.resolve("onnx/model.onnx")), null, Device.CPU)) {
            check(m, "onnx");
        }
    }

    private static void check(BertModel m, String what) throws Exception {
        BertConfig c = m.config();
        assertEquals(java.util.List.of(24, 2, 3, 40, 1), java.util.List.of(c.hiddenSize(), c.numLayers(), c.numHeads(),
                c.intermediateSize(), c.typeVocabSize()));
        double e = BertRobertaTest.realTokenError(m, DIR);
        System.out.printf("DistilBERT (%s): rel err vs PyTorch %.3g%n", what, e);
        assertTrue(e <= 1e-5, "rel err " + e);
    }

    @Test
    void aMissingTensorIsNamedAsDistilBertNamesIt() {
        BertConfig cfg = BertConfig.from(dev.tessera.models.nn.HfConfig.read(DIR));
        Map<String, Tensor> t = new HashMap<>();
        try (Scope s = Tessera.scope();
                TensorSource src = TensorSource.safetensors(DIR.resolve("model.safetensors"))) {
            for (String n : src.names()) {
                if (!n.equals("distilbert.transformer.layer.1.ffn.lin2.bias")) {
                    t.put(n, src.load(n, Device.CPU, null));
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BertModel.load(TensorSource.of(t, "partial"), cfg, Device.CPU));
            assertTrue(e.getMessage().contains("distilbert.transformer.layer.1.ffn.lin2.bias"), e.getMessage());
        }
    }
}
