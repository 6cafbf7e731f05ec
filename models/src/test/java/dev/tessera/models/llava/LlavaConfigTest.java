package dev.tessera.models.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.nn.HfConfig;
import org.junit.jupiter.api.Test;

/** LLaVA config.json parsing: llava-1.5-style defaults, feature layers, strategies, clear errors. */
class LlavaConfigTest {
    static LlavaConfig parse(String json) throws Exception {
        return LlavaConfig.from(HfConfig.of(new ObjectMapper().readTree(json), "test config"));
    }

    static final String VISION = "\"vision_config\": {\"hidden_size\": 1024, \"image_size\": 336, \"intermediate_size\": 4096,"
            + " \"model_type\": \"clip_vision_model\", \"num_attention_heads\": 16, \"num_hidden_layers\": 24,"
            + " \"patch_size\": 14, \"projection_dim\": 768}";

    @Test
    void llava15LikeConfig() throws Exception {
        LlavaConfig c = parse("{\"model_type\": \"llava\", \"image_token_index\": 32000, " + VISION + ", \"text_config\": "
                + "{\"model_type\": \"llama\", \"max_position_embeddings\": 4096, \"rms_norm_eps\": 1e-05, \"vocab_size\": 32064}}");
        assertEquals(576, c.tokensPerImage());
        assertArrayEquals(new int[] {23}, c.featureLayerIndices());
        assertEquals(4096, c.text().hiddenSize());
        assertEquals(32064, c.text().vocabSize());
        assertEquals("gelu", c.projectorAct());
        LlavaConfig full = parse("{\"model_type\": \"llava\", " + VISION + ", \"vision_feature_layer\": [-2, -5, 0],"
                + " \"vision_feature_select_strategy\": \"full\"}");
        assertEquals(577, full.tokensPerImage());
        assertArrayEquals(new int[] {23, 20, 0}, full.featureLayerIndices());
    }

    /**
     * A top-level eos_token_id wins over text_config's, as transformers builds a LLaVA's generation config from the
     * top-level keys first (found against transformers 5.18: it stopped where Tessera went on).
     */
    @Test
    void aTopLevelEosIdWinsOverTheTextConfigs() throws Exception {
        String text = "\"text_config\": {\"model_type\": \"llama\", \"vocab_size\": 300, \"eos_token_id\": 297}";
        assertArrayEquals(new int[] {297}, parse("{\"model_type\": \"llava\", " + VISION + ", " + text + "}")
                .text().eosTokenIds());
        assertArrayEquals(new int[] {278}, parse("{\"model_type\": \"llava\", \"eos_token_id\": 278, " + VISION + ", "
                + text + "}").text().eosTokenIds());
        assertArrayEquals(new int[] {5, 6}, parse("{\"model_type\": \"llava\", \"eos_token_id\": [5, 6], " + VISION
                + ", " + text + "}").text().eosTokenIds());
        assertArrayEquals(new int[] {297}, parse("{\"model_type\": \"llava\", \"eos_token_id\": null, " + VISION + ", "
                + text + "}").text().eosTokenIds());
    }

    @Test
    void errors() {
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"model_type\": \"llava\", " + VISION + ", \"vision_feature_layer\": -26}"));
        assertTrue(a.getMessage().contains("vision_feature_layer"), a.getMessage());
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"model_type\": \"llava\", \"vision_config\": {\"model_type\": \"siglip_vision_model\"}}"));
        assertTrue(b.getMessage().contains("siglip"), b.getMessage());
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"model_type\": \"llava\", " + VISION + ", \"vision_feature_select_strategy\": \"cls\"}"));
        assertTrue(c.getMessage().contains("select_strategy"), c.getMessage());
    }
}
