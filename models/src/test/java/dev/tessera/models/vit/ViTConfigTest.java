package dev.tessera.models.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.nn.HfConfig;
import org.junit.jupiter.api.Test;

/** config.json parsing of the ViT: size forms transformers accepts, and the bounds on what a config may name. */
class ViTConfigTest {
    private static ViTConfig parse(String json) throws Exception {
        return ViTConfig.from(HfConfig.of(new ObjectMapper().readTree(json), "test config"));
    }

    private static final String SIZES = "\"hidden_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
            + " \"intermediate_size\": 64, ";

    /** image_size and patch_size as [h, w] pairs (transformers' ViT takes both forms): equal sides read as the int. */
    @Test
    void sizesMayBeSquarePairs() throws Exception {
        ViTConfig pairs = parse("{" + SIZES + "\"image_size\": [48, 48], \"patch_size\": [8, 8]}");
        ViTConfig ints = parse("{" + SIZES + "\"image_size\": 48, \"patch_size\": 8}");
        assertEquals(ints, pairs);
        assertEquals(36, pairs.numPatches());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("{" + SIZES + "\"image_size\": [32, 48], \"patch_size\": 8}"));
        assertTrue(e.getMessage().contains("image_size [32,48] is not supported") && e.getMessage().contains("square"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> parse("{" + SIZES + "\"patch_size\": [8]}"));
        assertThrows(IllegalArgumentException.class, () -> parse("{" + SIZES + "\"patch_size\": [8.5, 8.5]}"));
    }

    /** Label counts past 2^20 are refused in one line before anything is allocated (a key of 2e9 ran out of memory). */
    @Test
    void labelCountsAreBounded() throws Exception {
        assertEquals(3, parse("{" + SIZES + "\"id2label\": {\"2\": \"c\", \"0\": \"a\"}}").labels().size());
        assertEquals("LABEL_1", parse("{" + SIZES + "\"id2label\": {\"2\": \"c\", \"0\": \"a\"}}").labels().get(1));
        for (String bad : new String[] {"\"id2label\": {\"2000000000\": \"x\"}", "\"id2label\": {\"-1\": \"x\"}",
            "\"num_labels\": 2000000000", "\"num_labels\": 0"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("{" + SIZES + bad + "}"),
                    bad);
            assertTrue(e.getMessage().contains("outside"), e.getMessage());
        }
    }
}
