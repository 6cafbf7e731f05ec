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

    @Test
    void unsupportedSetupsAreNamed() throws IOException {
        write("1_Pooling/config.json", poolingJson(true, true, false));
        String e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("[MEAN, CLS]") && e.contains("exactly one"), e);

        write("1_Pooling/config.json", "{\"pooling_mode_mean_sqrt_len_tokens\": true}");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("pooling_mode_mean_sqrt_len_tokens"), e);

        write("1_Pooling/config.json", poolingJson(false, true, false));
        write("modules.json", "[" + TRANSFORMER + ", {\"idx\": 1, \"path\": \"1_Pooling\","
                + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"path\": \"2_Dense\","
                + " \"type\": \"sentence_transformers.models.Dense\"}]");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("sentence_transformers.models.Dense") && e.contains("not supported"), e);

        write("modules.json", "{\"not\": \"a list\"}");
        e = assertThrows(IllegalArgumentException.class, () -> Pooling.Setup.read(dir)).getMessage();
        assertTrue(e.contains("JSON array"), e);
    }

    @Test
    void modeNamesParse() {
        assertEquals(Pooling.CLS, Pooling.parse("CLS"));
        assertEquals(Pooling.MEAN, Pooling.parse(" mean "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pooling.parse("sum")).getMessage()
                .contains("mean, cls or max"));
    }
}
