package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.nn.HfConfig;
import org.junit.jupiter.api.Test;

/** config.json parsing: defaults, eos lists, rope scaling (Llama 3.1's values), clear errors. */
class LlamaConfigTest {
    static LlamaConfig parse(String json) throws Exception {
        return LlamaConfig.from(HfConfig.of(new ObjectMapper().readTree(json), "test config"));
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

    @Test
    void defaultsAndErrors() throws Exception {
        LlamaConfig d = parse("{\"vocab_size\": 32064}");
        assertEquals(4096, d.hiddenSize());
        assertEquals(32, d.numKvHeads());
        assertEquals(128, d.headDim());
        IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}}"));
        assertTrue(e1.getMessage().contains("dynamic"), e1.getMessage());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> parse("{\"hidden_act\": \"gelu\"}"));
        assertTrue(e2.getMessage().contains("gelu"), e2.getMessage());
        IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"num_attention_heads\": 32, \"num_key_value_heads\": 5}"));
        assertTrue(e3.getMessage().contains("num_key_value_heads"), e3.getMessage());
        LlamaConfig q = parse("{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4}");
        assertTrue(q.attentionBias());
        assertTrue(!q.oProjBias());
    }
}
