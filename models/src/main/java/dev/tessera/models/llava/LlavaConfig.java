package dev.tessera.models.llava;

import dev.tessera.models.llama.LlamaConfig;
import dev.tessera.models.nn.HfConfig;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A LLaVA ({@code LlavaForConditionalGeneration}) {@code config.json}: the CLIP vision tower ({@code vision_config}),
 * the Llama-style language model ({@code text_config}) and how they meet. Immutable.
 *
 * @param vision the CLIP vision encoder
 * @param text the decoder
 * @param imageTokenIndex {@code image_token_index}: the id of the {@code <image>} placeholder
 * @param featureLayers {@code vision_feature_layer}: index (or indices, concatenated) into the tower's hidden states
 *     (0 = embeddings after the pre-norm, i = after layer i, negative from the end: -2 = the penultimate layer)
 * @param selectStrategy {@code vision_feature_select_strategy}: "default" drops the CLS row, "full" keeps it
 * @param projectorAct {@code projector_hidden_act}: any name of {@code Activation.NAMES} or
 *     {@code Activation.ELEMENTWISE} (gelu, gelu_pytorch_tanh, quick_gelu, silu, relu, tanh, sigmoid, mish, ...)
 * @param projectorBias {@code multimodal_projector_bias}
 */
public record LlavaConfig(VisionConfig vision, LlamaConfig text, int imageTokenIndex, int[] featureLayers,
        String selectStrategy, String projectorAct, boolean projectorBias) {

    /**
     * CLIP vision encoder settings ({@code CLIPVisionConfig}).
     */
    public record VisionConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int imageSize,
            int patchSize, int numChannels, double layerNormEps, String hiddenAct) {
        public VisionConfig {
            if (hiddenSize <= 0 || numHeads <= 0 || hiddenSize % numHeads != 0) {
                throw new IllegalArgumentException("vision_config: hidden_size " + hiddenSize
                        + " must be a positive multiple of num_attention_heads " + numHeads);
            }
            if (patchSize <= 0 || imageSize < patchSize) {
                throw new IllegalArgumentException("vision_config: patch_size " + patchSize + " must be in [1, image_size "
                        + imageSize + "]");
            }
            if (numLayers <= 0 || intermediateSize <= 0) {
                throw new IllegalArgumentException("vision_config: num_hidden_layers and intermediate_size must be > 0");
            }
        }

        /** The same tower as a {@link dev.tessera.models.clip.ClipVisionConfig}. */
        public dev.tessera.models.clip.ClipVisionConfig toClip() {
            return new dev.tessera.models.clip.ClipVisionConfig(hiddenSize, intermediateSize, numLayers, numHeads,
                    imageSize, patchSize, numChannels, layerNormEps, hiddenAct, 0);
        }

        /** Patches per image side squared. */
        public int numPatches() {
            int s = imageSize / patchSize;
            return s * s;
        }

        static VisionConfig from(HfConfig c) {
            return new VisionConfig(c.getInt("hidden_size", 768), c.getInt("intermediate_size", 3072),
                    c.getInt("num_hidden_layers", 12), c.getInt("num_attention_heads", 12), c.getInt("image_size", 224),
                    c.getInt("patch_size", 32), c.getInt("num_channels", 3), c.getDouble("layer_norm_eps", 1e-5),
                    c.getString("hidden_act", "quick_gelu"));
        }
    }

    public LlavaConfig {
        featureLayers = featureLayers.clone();
        if (featureLayers.length == 0) {
            throw new IllegalArgumentException("vision_feature_layer must name at least one layer");
        }
        for (int l : featureLayers) {
            int idx = l < 0 ? vision.numLayers() + 1 + l : l;
            if (idx < 0 || idx > vision.numLayers()) {
                throw new IllegalArgumentException("vision_feature_layer " + l + " is outside the tower's "
                        + (vision.numLayers() + 1) + " hidden states");
            }
        }
        if (!selectStrategy.equals("default") && !selectStrategy.equals("full")) {
            throw new IllegalArgumentException("vision_feature_select_strategy must be \"default\" or \"full\", got \""
                    + selectStrategy + "\"");
        }
    }

    @Override
    public int[] featureLayers() {
        return featureLayers.clone();
    }

    /** The hidden-state index (0..numLayers) of each feature layer. */
    public int[] featureLayerIndices() {
        int[] out = new int[featureLayers.length];
        for (int i = 0; i < out.length; i++) {
            int l = featureLayers[i];
            out[i] = l < 0 ? vision.numLayers() + 1 + l : l;
        }
        return out;
    }

    /** Feature rows per image: the patches, plus the CLS row with the "full" strategy. */
    public int tokensPerImage() {
        return vision.numPatches() + (selectStrategy.equals("full") ? 1 : 0);
    }

    public static LlavaConfig read(Path dir) {
        return from(HfConfig.read(dir));
    }

    public static LlavaConfig from(HfConfig c) {
        String type = c.getString("model_type", "llava");
        if (!type.equals("llava")) {
            throw new IllegalArgumentException(c + ": model_type \"" + type + "\" is not llava");
        }
        HfConfig vc = c.child("vision_config");
        String vt = vc.getString("model_type", "clip_vision_model");
        if (!vt.equals("clip_vision_model")) {
            throw new IllegalArgumentException(c + ": vision tower \"" + vt + "\" is not supported (CLIP only)");
        }
        int[] layers;
        if (c.has("vision_feature_layer") && c.json().get("vision_feature_layer").isArray()) {
            layers = c.getIntArray("vision_feature_layer");
        } else {
            layers = new int[] {c.getInt("vision_feature_layer", -2)};
        }
        LlamaConfig text = LlamaConfig.from(c.child("text_config"));
        // transformers builds a LLaVA's generation config from the top-level keys first and text_config's only where
        // those are unset, so a top-level eos_token_id wins (a generation_config.json wins over both)
        int[] ids = c.getIntOrIntArray("eos_token_id");
        if (ids.length > 0) {
            text = text.withEosTokenIds(ids);
        }
        return new LlavaConfig(VisionConfig.from(vc), text,
                c.getInt("image_token_index", c.getInt("image_token_id", 32000)), layers,
                c.getString("vision_feature_select_strategy", "default"), c.getString("projector_hidden_act", "gelu"),
                c.getBoolean("multimodal_projector_bias", true));
    }

    @Override
    public String toString() {
        return "LlavaConfig[vision=" + vision + ", text=" + text + ", imageToken=" + imageTokenIndex + ", featureLayers="
                + Arrays.toString(featureLayers) + ", strategy=" + selectStrategy + ", projectorAct=" + projectorAct + "]";
    }
}
