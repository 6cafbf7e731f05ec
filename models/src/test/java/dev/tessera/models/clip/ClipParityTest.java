package dev.tessera.models.clip;

import dev.tessera.models.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CLIP image/text embeddings, logits_per_image and a chosen vision hidden state vs the float64 torch reference of
 * src/test/resources/vision/make_fixtures.py on three random checkpoints (legacy argmax and eos_token_id pooling,
 * quick_gelu and gelu, patch size 8 / 6 / 7; clip-c at a Hugging Face-initialised weight scale).
 */
class ClipParityTest {
    static Path fixtureDir(String name) {
        return Fixtures.resource("vision/" + name);
    }


    static int[][] ids(Path dir) throws Exception {
        Npy.Array a = Npy.read(dir.resolve("text_ids.npy"));
        int[] flat = a.ints();
        int rows = (int) a.shape()[0];
        int cols = (int) a.shape()[1];
        int[][] out = new int[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.stream(flat, r * cols, (r + 1) * cols).filter(v -> v >= 0).toArray();
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"clip-a", "clip-b", "clip-c"})
    void embeddingsAndLogitsMatchReference(String name) throws Exception {
        Path dir = fixtureDir(name);
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        int[][] ids = ids(dir);
        try (ClipModel m = ClipModel.load(dir, Device.CPU, null); Tensor pixels = Tensor.of(px.requireFloats(), px.shape())) {
            try (Tensor img = m.imageEmbeds(pixels); Tensor txt = m.textEmbeds(ids)) {
                double ri = Fixtures.relErr(img.toFloatArray(), Npy.read(dir.resolve("image_embeds.npy")).requireFloats());
                double rt = Fixtures.relErr(txt.toFloatArray(), Npy.read(dir.resolve("text_embeds.npy")).requireFloats());
                System.out.printf("%s: image embeds rel err %.3g, text embeds rel err %.3g%n", name, ri, rt);
                assertTrue(ri <= 1e-4, "image rel err " + ri);
                assertTrue(rt <= 1e-4, "text rel err " + rt);
            }
            float[][] l = m.logitsPerImage(pixels, ids);
            float[] flat = new float[l.length * l[0].length];
            for (int i = 0; i < l.length; i++) {
                System.arraycopy(l[i], 0, flat, i * l[0].length, l[0].length);
            }
            double rl = Fixtures.relErr(flat, Npy.read(dir.resolve("logits_per_image.npy")).requireFloats());
            System.out.printf("%s: logits_per_image rel err %.3g%n", name, rl);
            assertTrue(rl <= 1e-4, "logits rel err " + rl);
            float[][] p = m.zeroShot(pixels, ids);
            for (float[] row : p) {
                assertEquals(1.0, row[0] + row[1] + row[2], 1e-5);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"clip-a", "clip-b", "clip-c"})
    void visionTowerAloneGivesHiddenStates(String name) throws Exception {
        Path dir = fixtureDir(name);
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        try (ClipVisionModel v = ClipVisionModel.load(dir, Device.CPU, null);
                Tensor pixels = Tensor.of(px.requireFloats(), px.shape());
                Tensor h = v.forward(pixels, -2)) {
            double r = Fixtures.relErr(h.toFloatArray(), Npy.read(dir.resolve("hidden_m2.npy")).requireFloats());
            System.out.printf("%s: vision hidden state -2 rel err %.3g%n", name, r);
            assertTrue(r <= 1e-4, "rel err " + r);
            assertThrows(IllegalArgumentException.class, () -> v.forward(pixels, v.config().numLayers() + 1));
        }
    }

    /**
     * Older transformers releases wrote {@code text_config_dict} / {@code vision_config_dict} (LAION's OpenCLIP
     * conversions among them), which {@code CLIPConfig} takes over {@code text_config} / {@code vision_config}: the
     * fixture's towers moved there, with misleading plain configs beside them, still give the reference embeddings.
     */
    @Test
    void towerConfigDictsTakePrecedenceAsInTransformers(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path src = fixtureDir("clip-b");
        com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(src.resolve("config.json").toFile());
        for (String tower : new String[] {"text_config", "vision_config"}) {
            cfg.set(tower + "_dict", cfg.get(tower));
            cfg.putObject(tower).put("hidden_act", "relu").put("layer_norm_eps", 0.5).put("num_hidden_layers", 7)
                    .put("hidden_size", 8);
        }
        java.nio.file.Files.copy(src.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        om.writeValue(tmp.resolve("config.json").toFile(), cfg);
        Npy.Array px = Npy.read(src.resolve("pixels.npy"));
        try (ClipModel m = ClipModel.load(tmp, Device.CPU, null); Tensor pixels = Tensor.of(px.requireFloats(), px.shape());
                Tensor img = m.imageEmbeds(pixels); Tensor txt = m.textEmbeds(ids(src))) {
            assertTrue(Fixtures.relErr(img.toFloatArray(), Npy.read(src.resolve("image_embeds.npy")).requireFloats())
                    < 1e-4);
            assertTrue(Fixtures.relErr(txt.toFloatArray(), Npy.read(src.resolve("text_embeds.npy")).requireFloats())
                    < 1e-4);
        }
        // and the vision tower alone reads the same
        try (ClipVisionModel v = ClipVisionModel.load(tmp, Device.CPU, null)) {
            assertEquals(cfg.get("vision_config_dict").get("hidden_size").asInt(), v.config().hiddenSize());
        }
    }

    @Test
    void memoryFlatOverManyZeroShotCalls() throws Exception {
        Path dir = fixtureDir("clip-b");
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        int[][] ids = ids(dir);
        dev.tessera.runtime.Backend cpu = dev.tessera.runtime.Backends.get(Device.CPU);
        try (ClipModel m = ClipModel.load(dir, Device.CPU, null); Tensor pixels = Tensor.of(px.requireFloats(), px.shape())) {
            m.zeroShot(pixels, ids);
            long before = cpu.memoryStats(Device.CPU).allocatedBytes();
            for (int i = 0; i < 40; i++) {
                m.zeroShot(pixels, ids);
                try (Tensor h = m.vision().forward(pixels, -2)) {
                    assertEquals(3, h.rank());
                }
            }
            assertEquals(before, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes allocated after 40 calls");
        }
    }

    @Test
    void badInputs() throws Exception {
        Path dir = fixtureDir("clip-a");
        try (ClipModel m = ClipModel.load(dir, Device.CPU, null)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.textEmbeds(new int[][] {new int[17]}));
            assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.textEmbeds(new int[][] {{1, 500}}));
            assertTrue(e.getMessage().contains("vocab"), e.getMessage());
            try (Tensor wrong = Tensor.of(new float[3 * 8 * 8], 1, 3, 8, 8)) {
                e = assertThrows(IllegalArgumentException.class, () -> m.imageEmbeds(wrong));
                assertTrue(e.getMessage().contains("[N, 3, 32, 32]"), e.getMessage());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ClipModel.load(fixtureDir("vit-a"), Device.CPU, null));
    }
    /**
     * Long texts are cut as transformers' {@code truncation=True} cuts them: to the tokenizer's {@code model_max_length}
     * where it is below {@code max_position_embeddings} (16 here), else to the positions, end token kept.
     */
    @Test
    void longTextsAreCutToTheTokenizersModelMaxLength(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path src = fixtureDir("clip-a");
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
            java.nio.file.Files.copy(src.resolve(f), tmp.resolve(f));
        }
        String text = String.join(" ", java.util.Collections.nCopies(30, "a photo of cat"));
        try (ClipModel m = ClipModel.load(tmp, Device.CPU, null); dev.tessera.models.text.Tokenizer tok = m.tokenizer()) {
            int[] full = tok.encode(text, true);
            int[] cut = m.tokenize(tok, java.util.List.of(text))[0];
            assertEquals(16, cut.length);
            assertEquals(full[full.length - 1], cut[15]);
            assertArrayEquals(java.util.Arrays.copyOf(full, 15), java.util.Arrays.copyOf(cut, 15));
            java.nio.file.Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"model_max_length\": 7}");
            cut = m.tokenize(tok, java.util.List.of(text, "a cat"))[0];
            assertEquals(7, cut.length);
            assertEquals(full[full.length - 1], cut[6]);
            assertArrayEquals(java.util.Arrays.copyOf(full, 6), java.util.Arrays.copyOf(cut, 6));
            java.nio.file.Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"model_max_length\": 1e30}");
            assertEquals(16, m.tokenize(tok, java.util.List.of(text))[0].length);
        }
    }
}
