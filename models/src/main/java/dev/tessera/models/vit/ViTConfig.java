package dev.tessera.models.vit;

import dev.tessera.models.nn.HfConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A ViT config.json ({@code model_type} "vit"): any image size, patch size, width, depth, heads, MLP width,
 * {@code layer_norm_eps}, {@code hidden_act}, {@code qkv_bias}, and {@code id2label} (the classes of
 * {@link ViTForImageClassification}, in index order; "LABEL_i" where missing).
 */
public record ViTConfig(int hiddenSize, int numLayers, int numHeads, int intermediateSize, int imageSize,
        int patchSize, int numChannels, double layerNormEps, String hiddenAct, boolean qkvBias, List<String> labels) {
    public ViTConfig {
        if (hiddenSize <= 0 || numHeads <= 0 || hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize
                    + " must be a positive multiple of num_attention_heads " + numHeads);
        }
        if (patchSize <= 0 || imageSize < patchSize) {
            throw new IllegalArgumentException("patch_size " + patchSize + " must be in [1, image_size " + imageSize + "]");
        }
        if (numLayers <= 0 || intermediateSize <= 0 || numChannels <= 0) {
            throw new IllegalArgumentException("num_hidden_layers, intermediate_size and num_channels must be > 0");
        }
        dev.tessera.models.nn.Activation.check(hiddenAct);
        labels = List.copyOf(labels);
    }

    /**
     * Patches per image: (image_size / patch_size)², rounded down as transformers' ViT does: where the patch size
     * does not divide the image size, the last {@code image_size % patch_size} rows and columns are not seen.
     */
    public int numPatches() {
        int s = imageSize / patchSize;
        return s * s;
    }

    /**
     * {@code image_size} / {@code patch_size}: an integer, or (as transformers' ViT also takes) a pair {@code [h, w]};
     * a pair of two different sides is refused, this ViT being square.
     */
    private static int side(HfConfig c, String key, int dflt) {
        com.fasterxml.jackson.databind.JsonNode n = c.has(key) ? c.json().get(key) : null;
        if (n != null && n.isArray()) {
            if (n.size() != 2 || !n.get(0).canConvertToInt() || !n.get(0).isIntegralNumber()
                    || !n.get(1).isIntegralNumber() || n.get(0).intValue() != n.get(1).intValue()) {
                throw new IllegalArgumentException(c + ": " + key + " " + n + " is not supported (an integer, or a pair"
                        + " of two equal sides: this ViT is square)");
            }
            return n.get(0).intValue();
        }
        return c.getInt(key, dflt);
    }

    /** The most classes a config may name (ImageNet-21k has 21,843). */
    static final int MAX_LABELS = 1 << 20;

    /** Reads config.json fields (transformers' ViTConfig defaults where absent). */
    public static ViTConfig from(HfConfig c) {
        String type = c.getString("model_type", "vit");
        if (!type.equals("vit")) {
            throw new IllegalArgumentException(c + ": model_type \"" + type + "\" is not a ViT (model_type \"vit\")");
        }
        List<String> labels = new ArrayList<>();
        if (c.has("id2label")) {
            Map<String, String> m = c.getStringMap("id2label");
            int n = 0;
            for (String k : m.keySet()) {
                int id;
                try {
                    id = Integer.parseInt(k);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(c + ": id2label key \"" + k + "\" is not an integer");
                }
                if (id < 0 || id >= MAX_LABELS) { // the classifier's rows are checked against the count at load
                    throw new IllegalArgumentException(c + ": id2label key " + id + " is outside [0, " + MAX_LABELS
                            + ")");
                }
                n = Math.max(n, id + 1);
            }
            for (int i = 0; i < n; i++) {
                labels.add(m.getOrDefault(Integer.toString(i), "LABEL_" + i));
            }
        } else {
            int numLabels = c.getInt("num_labels", 2);
            if (numLabels < 1 || numLabels > MAX_LABELS) {
                throw new IllegalArgumentException(c + ": num_labels " + numLabels + " is outside [1, " + MAX_LABELS
                        + "]");
            }
            for (int i = 0; i < numLabels; i++) {
                labels.add("LABEL_" + i);
            }
        }
        return new ViTConfig(c.getInt("hidden_size", 768), c.getInt("num_hidden_layers", 12),
                c.getInt("num_attention_heads", 12), c.getInt("intermediate_size", 3072), side(c, "image_size", 224),
                side(c, "patch_size", 16), c.getInt("num_channels", 3), c.getDouble("layer_norm_eps", 1e-12),
                c.getString("hidden_act", "gelu"), c.getBoolean("qkv_bias", true), labels);
    }
}
