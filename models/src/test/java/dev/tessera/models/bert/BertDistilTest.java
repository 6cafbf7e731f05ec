package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.io.Npy;
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
        Npy.Array ids = Npy.read(DIR.resolve("ids.npy"));
        int[] mask = Npy.read(DIR.resolve("mask.npy")).ints();
        float[] ref = Npy.read(DIR.resolve("hidden.npy")).requireFloats();
        long[] sh = ids.shape();
        try (BertModel m = BertModel.fromSafetensors(DIR, Device.CPU); Scope s = Tessera.scope()) {
            BertConfig c = m.config();
            assertEquals(24, c.hiddenSize());
            assertEquals(2, c.numLayers());
            assertEquals(3, c.numHeads());
            assertEquals(40, c.intermediateSize());
            assertEquals(1, c.typeVocabSize());
            float[] out = m.forward(Tensor.ofInts(ids.ints(), Device.CPU, sh), Tensor.ofInts(mask, Device.CPU, sh), null)
                    .toFloatArray();
            double num = 0, den = 0;
            for (int t = 0; t < mask.length; t++) {
                if (mask[t] == 0) {
                    continue; // padding rows are not part of any result
                }
                for (int j = 0; j < 24; j++) {
                    double d = out[t * 24 + j] - ref[t * 24 + j];
                    num += d * d;
                    den += (double) ref[t * 24 + j] * ref[t * 24 + j];
                }
            }
            double e = Math.sqrt(num / den);
            System.out.printf("DistilBERT: rel err vs PyTorch %.3g%n", e);
            assertTrue(e <= 1e-5, "rel err " + e);
        }
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
