package dev.tessera.models.clip;

import dev.tessera.models.nn.HfConfig;

/**
 * The vision tower of a CLIP checkpoint ({@code vision_config} of a {@code clip} config.json, or the whole
 * config.json of a {@code clip_vision_model}). Defaults are those of transformers' {@code CLIPVisionConfig}.
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int imageSize,
        int patchSize, int numChannels, double layerNormEps, String hiddenAct, int projectionDim) {
    public ClipVisionConfig {
        if (hiddenSize <= 0 || numHeads <= 0 || hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("vision_config: hidden_size " + hiddenSize
                    + " must be a positive multiple of num_attention_heads " + numHeads);
        }
        if (patchSize <= 0 || imageSize < patchSize) {
            throw new IllegalArgumentException("vision_config: patch_size " + patchSize + " must be in [1, image_size "
                    + imageSize + "]");
        }
        if (numLayers <= 0 || intermediateSize <= 0 || numChannels <= 0) {
            throw new IllegalArgumentException(
                    "vision_config: num_hidden_layers, intermediate_size and num_channels must be > 0");
        }
        dev.tessera.models.nn.Activation.check(hiddenAct);
    }

    /** Patches per image: (image_size / patch_size)². */
    public int numPatches() {
        int s = imageSize / patchSize;
        return s * s;
    }

    /** Reads the vision tower's fields from {@code c} (the {@code vision_config} node or a vision-only config). */
    public static ClipVisionConfig from(HfConfig c, int projectionDim) {
        return new ClipVisionConfig(c.getInt("hidden_size", 768), c.getInt("intermediate_size", 3072),
                c.getInt("num_hidden_layers", 12), c.getInt("num_attention_heads", 12), c.getInt("image_size", 224),
                c.getInt("patch_size", 32), c.getInt("num_channels", 3), c.getDouble("layer_norm_eps", 1e-5),
                c.getString("hidden_act", "quick_gelu"), c.getInt("projection_dim", projectionDim));
    }
}
