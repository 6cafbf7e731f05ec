package dev.tessera.models.clip;

import dev.tessera.models.nn.HfConfig;

/**
 * The text tower of a CLIP checkpoint ({@code text_config}); missing keys take transformers' {@code CLIPTextConfig}
 * defaults ({@code eos_token_id} 49407). {@code eosTokenId} is where a text is pooled, except that the legacy 2 means
 * "at the largest id" ({@link ClipTextModel#poolPositions}).
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
        int maxPositions, double layerNormEps, String hiddenAct, int eosTokenId) {
    public ClipTextConfig {
        if (hiddenSize <= 0 || numHeads <= 0 || hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("text_config: hidden_size " + hiddenSize
                    + " must be a positive multiple of num_attention_heads " + numHeads);
        }
        if (vocabSize <= 0 || numLayers <= 0 || intermediateSize <= 0 || maxPositions <= 0) {
            throw new IllegalArgumentException("text_config: vocab_size, num_hidden_layers, intermediate_size and "
                    + "max_position_embeddings must be > 0");
        }
        dev.tessera.models.nn.Activation.check(hiddenAct);
    }

    /** Reads the text tower's fields from the {@code text_config} node. */
    public static ClipTextConfig from(HfConfig c) {
        return new ClipTextConfig(c.getInt("vocab_size", 49408), c.getInt("hidden_size", 512),
                c.getInt("intermediate_size", 2048), c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 8), c.getInt("max_position_embeddings", 77),
                c.getDouble("layer_norm_eps", 1e-5), c.getString("hidden_act", "quick_gelu"),
                c.getInt("eos_token_id", ClipTextModel.CLIP_EOT));
    }
}
