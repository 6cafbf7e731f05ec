package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.nn.HfConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** config.json parsing: defaults, eos lists, rope scaling (Llama 3.1's values), clear errors. */
class LlamaConfigTest {
    static LlamaConfig parse(String json) throws Exception {
        return LlamaConfig.from(HfConfig.of(new ObjectMapper().readTree(json), "test config"));
    }

    /**
     * transformers 5 writes theta and the scaling into {@code rope_parameters} (no top-level rope_theta): read from
     * there (it ran with theta 10000 and no scaling), equal to the same values in the older keys.
     */
    @Test
    void ropeParametersOfTransformers5() throws Exception {
        String sizes = "\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 96, \"num_hidden_layers\": 1,"
                + " \"vocab_size\": 100, ";
        LlamaConfig v5 = parse("{" + sizes + "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 50.0}}");
        assertEquals(50.0, v5.ropeTheta());
        assertEquals(null, v5.ropeScaling());
        LlamaConfig v5l3 = parse("{" + sizes + "\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0,"
                + " \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                + " \"original_max_position_embeddings\": 16}}");
        LlamaConfig v4l3 = parse("{" + sizes + "\"rope_theta\": 500000.0, \"rope_scaling\": {\"rope_type\": \"llama3\","
                + " \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                + " \"original_max_position_embeddings\": 16}}");
        assertEquals(500000.0, v5l3.ropeTheta());
        assertArrayEquals(v4l3.inverseFrequencies(), v5l3.inverseFrequencies());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("{" + sizes + "\"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 1e4}}"));
        assertTrue(e.getMessage().contains("rope_parameters type \"longrope\""), e.getMessage());
    }

    /**
     * YaRN's inverse frequencies and cos / sin factor as transformers 5.18 computes them (make_yarn_fixture.py: 8
     * rope dicts: truncated or not, mscale / mscale_all_dim, a given attention factor and betas, a null factor, a
     * top-level original_max_position_embeddings that wins over the dict's, a Qwen-sized head, a factor below 1),
     * through rope_scaling and through transformers 5's rope_parameters alike.
     */
    @Test
    void yarnMatchesTransformers() throws Exception {
        com.fasterxml.jackson.databind.JsonNode f = new ObjectMapper().readTree(
                LlamaParityTest.fixtureDir("yarn_cases.json").toFile());
        assertEquals(8, f.get("cases").size());
        for (com.fasterxml.jackson.databind.JsonNode c : f.get("cases")) {
            com.fasterxml.jackson.databind.node.ObjectNode cfg = c.get("config").deepCopy();
            cfg.put("intermediate_size", 96).put("num_hidden_layers", 1);
            List<LlamaConfig> forms = new java.util.ArrayList<>(List.of(LlamaConfig.from(HfConfig.of(cfg, "case"))));
            com.fasterxml.jackson.databind.node.ObjectNode v5 = cfg.deepCopy();
            com.fasterxml.jackson.databind.node.ObjectNode rp = ((com.fasterxml.jackson.databind.node.ObjectNode)
                    v5.remove("rope_scaling")).put("rope_theta", cfg.get("rope_theta").asDouble());
            v5.remove("rope_theta");
            v5.set("rope_parameters", rp);
            forms.add(LlamaConfig.from(HfConfig.of(v5, "case (rope_parameters)")));
            for (LlamaConfig lc : forms) {
                float[] inv = lc.inverseFrequencies();
                assertEquals(c.get("inv_freq").size(), inv.length);
                for (int i = 0; i < inv.length; i++) {
                    float want = (float) c.get("inv_freq").get(i).asDouble();
                    assertEquals(want, inv[i], Math.ulp(want), c.get("config") + " inv_freq[" + i + "]");
                }
                assertEquals(c.get("attention_factor").asDouble(), lc.ropeAttentionFactor(), 1e-12, c.toString());
            }
        }
        assertEquals(1.0, parse("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 96,"
                + " \"num_hidden_layers\": 1, \"vocab_size\": 100}").ropeAttentionFactor(), "no scaling: 1");
        // as transformers 5 reads them (found against 5.18's generate): with both keys, rope_scaling is the one taken;
        // a rope_theta inside it wins over the top-level one; "truncate": null is Python's None, no truncation; a
        // negative beta is refused (transformers fails on math.log there)
        String sizes = "\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 96,"
                + " \"num_hidden_layers\": 1, \"vocab_size\": 100, \"max_position_embeddings\": 256, ";
        String yarn = "\"rope_type\": \"yarn\", \"factor\": 4.0, \"original_max_position_embeddings\": 32";
        LlamaConfig both = parse("{" + sizes + "\"rope_scaling\": {" + yarn + "}, \"rope_parameters\": {\"rope_type\":"
                + " \"default\", \"rope_theta\": 10000.0}}");
        assertEquals("yarn", both.ropeScaling().type());
        LlamaConfig inner = parse("{" + sizes + "\"rope_theta\": 10000, \"rope_scaling\": {" + yarn + ", \"rope_theta\": 500.0}}");
        assertEquals(500.0, inner.ropeTheta());
        LlamaConfig none = parse("{" + sizes + "\"rope_scaling\": {" + yarn + ", \"truncate\": null}}");
        LlamaConfig off = parse("{" + sizes + "\"rope_scaling\": {" + yarn + ", \"truncate\": false}}");
        LlamaConfig on = parse("{" + sizes + "\"rope_scaling\": {" + yarn + "}}");
        assertArrayEquals(off.inverseFrequencies(), none.inverseFrequencies());
        assertTrue(!java.util.Arrays.equals(on.inverseFrequencies(), none.inverseFrequencies()));
        IllegalArgumentException beta = assertThrows(IllegalArgumentException.class,
                () -> parse("{" + sizes + "\"rope_scaling\": {" + yarn + ", \"beta_fast\": -1}}"));
        assertTrue(beta.getMessage().contains("beta_fast"), beta.getMessage());
    }

    /**
     * Mistral's sliding_window (and Qwen2's with use_sliding_window) bounds the context: attention here is not windowed,
     * and within the window windowed and full causal attention agree. Qwen2 without use_sliding_window and Llama
     * configs ignore the key, as transformers does.
     */
    @Test
    void aSlidingWindowBoundsTheContext() throws Exception {
        String sizes = "\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 96, \"num_hidden_layers\": 1,"
                + " \"vocab_size\": 100, \"max_position_embeddings\": 64, \"num_key_value_heads\": 2, ";
        assertEquals(8, parse("{" + sizes + "\"model_type\": \"mistral\", \"sliding_window\": 8}").contextLength());
        assertEquals(64, parse("{" + sizes + "\"model_type\": \"mistral\", \"sliding_window\": null}").contextLength());
        assertEquals(64, parse("{" + sizes + "\"model_type\": \"mistral\", \"sliding_window\": 4096}").contextLength());
        assertEquals(64, parse("{" + sizes + "\"model_type\": \"qwen2\", \"use_sliding_window\": false,"
                + " \"sliding_window\": 4}").contextLength());
        // Qwen2 slides only in its layers from max_window_layers (default 28) on, or those layer_types names: one
        // layer of a default config does not slide (transformers attends over everything there)
        assertEquals(64, parse("{" + sizes + "\"model_type\": \"qwen2\", \"use_sliding_window\": true,"
                + " \"sliding_window\": 4}").contextLength());
        assertEquals(4, parse("{" + sizes + "\"model_type\": \"qwen2\", \"use_sliding_window\": true,"
                + " \"sliding_window\": 4, \"max_window_layers\": 0}").contextLength());
        assertEquals(4, parse("{" + sizes + "\"model_type\": \"qwen2\", \"use_sliding_window\": true,"
                + " \"sliding_window\": 4, \"layer_types\": [\"sliding_attention\"]}").contextLength());
        assertEquals(64, parse("{" + sizes + "\"model_type\": \"qwen2\", \"use_sliding_window\": true,"
                + " \"sliding_window\": 4, \"max_window_layers\": 0, \"layer_types\": [\"full_attention\"]}")
                .contextLength());
        // Mistral without the key: MistralConfig's 4096
        assertEquals(4096, parse("{\"model_type\": \"mistral\"}").contextLength());
        assertEquals(131072, parse("{\"model_type\": \"mistral\", \"sliding_window\": null}").contextLength());
        assertEquals(32768, parse("{\"model_type\": \"qwen2\", \"use_sliding_window\": true, \"sliding_window\": null,"
                + " \"max_window_layers\": 0}").contextLength());
        assertEquals(64, parse("{" + sizes + "\"sliding_window\": 4}").contextLength());
        LlamaConfig m = parse("{" + sizes + "\"model_type\": \"mistral\", \"sliding_window\": 8}");
        assertEquals(8, m.withExtraEos(new int[] {3}).contextLength());
    }

    @Test
    void llama31RopeScalingMatchesTheFormula() throws Exception {
        LlamaConfig c = parse("{\"hidden_size\": 4096, \"num_attention_heads\": 32, \"num_key_value_heads\": 8,"
                + "\"intermediate_size\": 14336, \"num_hidden_layers\": 32, \"vocab_size\": 128256, \"rope_theta\": 500000.0,"
                + "\"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
                + "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
                + "\"max_position_embeddings\": 131072, \"eos_token_id\": [128001, 128008, 128009], \"bos_token_id\": 128000}");
        assertEquals(128, c.headDim());
        assertArrayEquals(new int[] {128001, 128008, 128009}, c.eosTokenIds());
        assertTrue(c.isEos(128009));
        float[] inv = c.inverseFrequencies();
        assertEquals(64, inv.length);
        // high frequencies unchanged, low ones divided by the factor, the band between smoothly interpolated
        assertEquals(1.0f, inv[0], 1e-7);
        double base = 1.0 / Math.pow(500000.0, 2.0 * 63 / 128);
        assertEquals(base / 8, inv[63], base * 1e-5);
        int i = 32; // wavelength between 8192/4 and 8192: smoothed
        double f = 1.0 / Math.pow(500000.0, 2.0 * i / 128);
        double wavelen = 2 * Math.PI / f;
        assertTrue(wavelen > 2048 && wavelen < 8192, "pick a medium frequency: " + wavelen);
        double smooth = (8192 / wavelen - 1) / 3;
        assertEquals((1 - smooth) * f / 8 + smooth * f, inv[i], f * 1e-5);
    }

    /**
     * Keys a config leaves out take the defaults of its model_type's transformers class (a Mistral text_config saved
     * by transformers 4 omits num_key_value_heads and intermediate_size), and Mistral / Qwen2 layers have fixed biases
     * whatever attention_bias / mlp_bias say.
     */
    @Test
    void eachModelTypeHasItsOwnDefaultsAndBiases() throws Exception {
        LlamaConfig m = parse("{\"model_type\": \"mistral\", \"attention_bias\": true, \"mlp_bias\": true}");
        assertEquals(List.of(32000, 14336, 8, 131072), List.of(m.vocabSize(), m.intermediateSize(), m.numKvHeads(),
                m.maxPositionEmbeddings()));
        assertEquals(List.of(false, false, false), List.of(m.attentionBias(), m.oProjBias(), m.mlpBias()));
        LlamaConfig q = parse("{\"model_type\": \"qwen2\", \"num_attention_heads\": 64, \"mlp_bias\": true,"
                + " \"attention_bias\": false}");
        assertEquals(List.of(151936, 22016, 32, 32768), List.of(q.vocabSize(), q.intermediateSize(), q.numKvHeads(),
                q.maxPositionEmbeddings()));
        assertEquals(List.of(true, false, false), List.of(q.attentionBias(), q.oProjBias(), q.mlpBias()));
        // an explicit null is the heads, as the classes' __post_init__ reads it
        assertEquals(4, parse("{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                + " \"num_key_value_heads\": null}").numKvHeads());
        LlamaConfig l = parse("{\"num_attention_heads\": 16, \"hidden_size\": 1024, \"attention_bias\": true,"
                + " \"mlp_bias\": true}");
        assertEquals(List.of(32000, 11008, 16, 2048), List.of(l.vocabSize(), l.intermediateSize(), l.numKvHeads(),
                l.maxPositionEmbeddings()));
        assertEquals(List.of(true, true, true), List.of(l.attentionBias(), l.oProjBias(), l.mlpBias()));
    }

    @Test
    void defaultsAndErrors() throws Exception {
        LlamaConfig d = parse("{\"vocab_size\": 32064}");
        assertEquals(4096, d.hiddenSize());
        assertEquals(32, d.numKvHeads());
        assertEquals(128, d.headDim());
        // dynamic NTK is the default rope up to max_position_embeddings, where the context ends here
        assertArrayEquals(d.inverseFrequencies(),
                parse("{\"vocab_size\": 32064, \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}}")
                        .inverseFrequencies());
        IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0,"
                        + " \"original_max_position_embeddings\": 1024}}"));
        assertTrue(e1.getMessage().contains("dynamic"), e1.getMessage());
        IllegalArgumentException longrope = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"rope_scaling\": {\"rope_type\": \"longrope\", \"factor\": 4.0}}"));
        assertTrue(longrope.getMessage().contains("\"longrope\" is not supported"), longrope.getMessage());
        // model types sharing Llama's weight names but not its maths are refused, not run wrong
        for (String t : new String[] {"granite", "smollm3", "olmo", "llava_next", "gemma"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> parse("{\"model_type\": \"" + t + "\"}"), t);
            assertTrue(e.getMessage().contains("\"" + t + "\" is not supported"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("{\"partial_rotary_factor\": 0.5}"))
                .getMessage().contains("partial_rotary_factor"));
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> parse("{\"hidden_act\": \"gelu\"}"));
        assertTrue(e2.getMessage().contains("gelu"), e2.getMessage());
        IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"num_attention_heads\": 32, \"num_key_value_heads\": 5}"));
        assertTrue(e3.getMessage().contains("num_key_value_heads"), e3.getMessage());
        LlamaConfig q = parse("{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                + " \"num_key_value_heads\": 4}");
        assertTrue(q.attentionBias());
        assertTrue(!q.oProjBias());
    }
}
