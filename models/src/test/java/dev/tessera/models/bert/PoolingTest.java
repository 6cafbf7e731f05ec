package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Pooling.Setup#read}: the sentence-transformers files of a model directory, and what it refuses. */
class PoolingTest {
    @TempDir
    Path dir;

    private void write(String name, String json) throws IOException {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, json);
    }

    private static String poolingJson(boolean cls, boolean mean, boolean max) {
        return "{\"word_embedding_dimension\": 384, \"pooling_mode_cls_token\": " + cls
                + ", \"pooling_mode_mean_tokens\": " + mean + ", \"pooling_mode_max_tokens\": " + max
                + ", \"pooling_mode_mean_sqrt_len_tokens\": false}";
    }

    private static final String TRANSFORMER = "{\"idx\": 0, \"name\": \"0\", \"path\": \"\","
            + " \"type\": \"sentence_transformers.models.Transformer\"}";

    @Test
    void aDirectoryWithoutPoolingFilesMeanPoolsAndNormalises() {
        assertEquals(new Pooling.Setup(Pooling.MEAN, true), Pooling.Setup.read(dir));
    }

    /** sentence-transformers loads a plain Hugging Face folder as Transformer + mean Pooling: nothing normalises. */
    @Test
    void aHuggingFaceFolderWithoutModulesIsNotNormalised() throws IOException {
        write("config.json", "{\"model_type\": \"bert\"}");
        assertEquals(new Pooling.Setup(Pooling.MEAN, false), Pooling.Setup.read(dir));
        write("1_Pooling/config.json", poolingJson(true, false, false));
        assertEquals(new Pooling.Setup(Pooling.CLS, false), Pooling.Setup.read(dir));
    }

    @Test
    void thePoolingConfigChoosesTheMode() throws IOException {
        write("1_Pooling/config.json", poolingJson(true, false, false));
        assertEquals(new Pooling.Setup(Pooling.CLS, true), Pooling.Setup.read(dir));
        write("1_Pooling/config.json", poolingJson(false, false, true));
        assertEquals(new Pooling.Setup(Pooling.MAX, true), Pooling.Setup.read(dir));
    }

    @Test
    void theModuleListSaysWhereThePoolingIsAndWhetherToNormalise() throws IOException {
        write("pool/config.json", poolingJson(true, false, false));
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"name\": \"1\", \"path\": \"pool\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}]");
        assertEquals(new Pooling.Setup(Pooling.CLS, false), Pooling.Setup.read(dir)); // no Normalize module
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"name\": \"1\", \"path\": \"pool\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"name\": \"2\","
                + " \"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}]");
        assertEquals(new Pooling.Setup(Pooling.CLS, true), Pooling.Setup.read(dir));
    }

    /**
     * The Pooling config as sentence-transformers' constructor reads it: absent flags take its defaults (mean on),
     * several modes concatenate in its order, a {@code pooling_mode} name sets exactly one.
     */
    @Test
    void modesAreReadAsSentenceTransformersReadsThem() throws IOException {
        write("1_Pooling/config.json", "{\"word_embedding_dimension\": 64, \"pooling_mode_cls_token\": true}");
        Pooling.Setup s = Pooling.Setup.read(dir);
        assertEquals(java.util.List.of(Pooling.CLS, Pooling.MEAN), s.modes());
        assertEquals(128, s.width(64));
        write("1_Pooling/config.json", "{\"pooling_mode_lasttoken\": true, \"pooling_mode_mean_tokens\": false,"
                + " \"pooling_mode_weightedmean_tokens\": true, \"pooling_mode_max_tokens\": true,"
                + " \"pooling_mode_mean_sqrt_len_tokens\": true}");
        assertEquals(java.util.List.of(Pooling.MAX, Pooling.MEAN_SQRT_LEN, Pooling.WEIGHTED_MEAN, Pooling.LAST_TOKEN),
                Pooling.Setup.read(dir).modes());
        write("1_Pooling/config.json", "{\"pooling_mode\": \"LastToken\", \"pooling_mode_mean_tokens\": true}");
        assertEquals(new Pooling.Setup(Pooling.LAST_TOKEN, true), Pooling.Setup.read(dir));
        // sentence-transformers 6 saves several modes as a list, concatenated in the list's order
        write("1_Pooling/config.json", "{\"embedding_dimension\": 64, \"pooling_mode\": [\"mean\", \"cls\"]}");
        assertEquals(java.util.List.of(Pooling.MEAN, Pooling.CLS), Pooling.Setup.read(dir).modes());
        write("1_Pooling/config.json", "{\"pooling_mode\": [\"mean\", 3]}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage()
                .contains("list of names"));
        write("1_Pooling/config.json", "{\"word_embedding_dimension\": 64, \"pooling_mode\": null}");
        assertEquals(new Pooling.Setup(Pooling.MEAN, true), Pooling.Setup.read(dir));
    }

    @Test
    void unsupportedSetupsAreNamed() throws IOException {
        write("1_Pooling/config.json", poolingJson(false, false, false));
        String e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("every pooling mode is off"), e);
        write("1_Pooling/config.json", "{\"pooling_mode\": \"sum\"}");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("pooling_mode") && e.contains("sum"), e);

        write("1_Pooling/config.json", poolingJson(false, true, false));
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"path\": \"1_Pooling\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"path\": \"2_CNN\","
                + " \"type\": \"sentence_transformers.models.CNN\"}]");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("sentence_transformers.models.CNN") && e.contains("not supported"), e);

        write("modules.json", "{\"not\": \"a list\"}");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("JSON array"), e);
    }

    /** Writes a Dense module folder ({@code in -> out}, the given activation) with seeded weights; returns W and b. */
    static float[][] writeDense(Path folder, int in, int out, String activation) throws IOException {
        java.util.SplittableRandom r = new java.util.SplittableRandom(in * 31L + out);
        float[] w = new float[out * in];
        float[] b = new float[out];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextDouble(-1, 1) / Math.sqrt(in));
        }
        for (int i = 0; i < out; i++) {
            b[i] = (float) r.nextDouble(-0.1, 0.1);
        }
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), "{\"in_features\": " + in + ", \"out_features\": " + out
                + ", \"bias\": true, \"activation_function\": \"" + activation + "\"}");
        try (dev.tessera.runtime.Scope s = dev.tessera.runtime.Tessera.scope()) {
            dev.tessera.runtime.io.Safetensors.write(folder.resolve("model.safetensors"), java.util.Map.of(
                    "linear.weight", dev.tessera.runtime.Tensor.of(w, out, in),
                    "linear.bias", dev.tessera.runtime.Tensor.of(b, out)), java.util.Map.of());
        }
        return new float[][] {w, b};
    }

    @Test
    void denseModulesAreReadAndApplied() throws IOException {
        float[][] wb = writeDense(dir.resolve("2_Dense"), 6, 4, "torch.nn.modules.activation.Tanh");
        write("1_Pooling/config.json", poolingJson(false, true, false));
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"path\": \"1_Pooling\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"path\": \"2_Dense\","
                + " \"type\": \"sentence_transformers.models.Dense\"}]");
        Pooling.Setup setup = Pooling.Setup.read(dir);
        assertEquals(Pooling.MEAN, setup.mode());
        assertEquals(false, setup.normalize());
        assertEquals(4, setup.width(6));
        float[] x = {0.5f, -1f, 2f, 0f, 0.25f, -0.75f};
        float[] y = setup.dense().get(0).apply(x);
        for (int o = 0; o < 4; o++) {
            double s = wb[1][o];
            for (int i = 0; i < 6; i++) {
                s += wb[0][o * 6 + i] * x[i];
            }
            assertEquals(Math.tanh(s), y[o], 1e-6, "output " + o);
        }
        // an unsupported activation, and a module saved only as pytorch_model.bin, are named
        writeDense(dir.resolve("2_Dense"), 6, 4, "torch.nn.modules.activation.Softplus");
        String e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("Softplus"), e);
        // Normalize before a Dense (sentence-transformers would project the normalised vector) is refused, not reordered
        writeDense(dir.resolve("2_Dense"), 6, 4, "torch.nn.modules.activation.Tanh");
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"path\": \"1_Pooling\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"path\": \"2_Normalize\","
                + " \"type\": \"sentence_transformers.models.Normalize\"}, {\"idx\": 3, \"path\": \"2_Dense\","
                + " \"type\": \"sentence_transformers.models.Dense\"}]");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("Dense module after Normalize"), e);
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"path\": \"1_Pooling\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"path\": \"2_Dense\","
                + " \"type\": \"sentence_transformers.models.Dense\"}]");
        Files.delete(dir.resolve("2_Dense/model.safetensors"));
        writeDense(dir.resolve("3_Dense"), 6, 4, "torch.nn.modules.activation.Tanh");
        Files.writeString(dir.resolve("2_Dense/config.json"), "{\"in_features\": 6, \"out_features\": 4}");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("no model.safetensors"), e);
    }

    @Test
    void modeNamesParse() {
        assertEquals(Pooling.CLS, Pooling.parse("CLS"));
        assertEquals(Pooling.MEAN, Pooling.parse(" mean "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pooling.parse("sum")).getMessage()
                .contains("cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken"));
        assertEquals(Pooling.WEIGHTED_MEAN, Pooling.parse("weightedmean"));
        assertEquals(Pooling.WEIGHTED_MEAN, Pooling.parse("Weighted_Mean"));
        assertEquals(Pooling.LAST_TOKEN, Pooling.parse("lasttoken"));
        assertEquals(Pooling.MEAN_SQRT_LEN, Pooling.parse("mean_sqrt_len_tokens"));
    }
}
