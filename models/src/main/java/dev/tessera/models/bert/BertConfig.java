package dev.tessera.models.bert;

import dev.tessera.models.nn.Activation;
import dev.tessera.models.nn.HfConfig;
import dev.tessera.runtime.FusedActivation;

/**
 * The shape of a BERT-family encoder, as in a Hugging Face {@code config.json} (BertModel names). Immutable.
 *
 * @param vocabSize rows of the word embedding ({@code vocab_size})
 * @param hiddenSize model width ({@code hidden_size})
 * @param numLayers encoder layers ({@code num_hidden_layers})
 * @param numHeads attention heads ({@code num_attention_heads}); must divide {@code hiddenSize}
 * @param intermediateSize FFN width ({@code intermediate_size})
 * @param maxPositions rows of the position embedding ({@code max_position_embeddings})
 * @param typeVocabSize rows of the token-type embedding ({@code type_vocab_size})
 * @param layerNormEps epsilon of every LayerNorm ({@code layer_norm_eps})
 * @param hiddenAct FFN activation: {@code gelu} (erf form), {@code gelu_new} / {@code gelu_pytorch_tanh} /
 *     {@code gelu_fast} (tanh form), {@code quick_gelu}, {@code silu} / {@code swish} or {@code relu}
 * @param positionOffset the position id of the first token: 0 for BERT; {@code pad_token_id + 1} (2) for RoBERTa-style
 *     encoders ({@code roberta}, {@code xlm-roberta}, {@code camembert}), whose position ids start after the
 *     padding index, so that their longest input is {@code max_position_embeddings - 2}
 */
public record BertConfig(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize,
        int maxPositions, int typeVocabSize, double layerNormEps, String hiddenAct, int positionOffset) {

    /** A BERT config (position ids from 0). */
    public BertConfig(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize,
            int maxPositions, int typeVocabSize, double layerNormEps, String hiddenAct) {
        this(vocabSize, hiddenSize, numLayers, numHeads, intermediateSize, maxPositions, typeVocabSize, layerNormEps,
                hiddenAct, 0);
    }

    public BertConfig {
        if (vocabSize < 1 || hiddenSize < 1 || numLayers < 0 || numHeads < 1 || intermediateSize < 1
                || maxPositions < 1 || typeVocabSize < 1) {
            throw new IllegalArgumentException("BertConfig: sizes must be positive: " + describe(vocabSize, hiddenSize,
                    numLayers, numHeads, intermediateSize, maxPositions, typeVocabSize));
        }
        if (positionOffset < 0 || positionOffset >= maxPositions) {
            throw new IllegalArgumentException("BertConfig: position offset " + positionOffset
                    + " must be in [0, max_position_embeddings " + maxPositions + ")");
        }
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("BertConfig: hidden_size " + hiddenSize
                    + " is not a multiple of num_attention_heads " + numHeads);
        }
        if (!(layerNormEps >= 0) || Double.isInfinite(layerNormEps)) {
            throw new IllegalArgumentException("BertConfig: layer_norm_eps must be finite and >= 0, got " + layerNormEps);
        }
        if (hiddenAct == null) {
            hiddenAct = "gelu";
        }
        try {
            Activation.fused(hiddenAct);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("BertConfig: unsupported hidden_act \"" + hiddenAct
                    + "\" (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu, silu, swish, relu)");
        }
    }

    /**
     * Reads a {@code config.json} (BERT defaults for the optional keys). A {@code distilbert} config is read with its
     * own keys ({@code dim}, {@code n_layers}, {@code n_heads}, {@code hidden_dim}, {@code activation}; LayerNorm eps
     * 1e-12 as in DistilBERT) and one token type.
     */
    public static BertConfig from(HfConfig c) {
        String type = c.getString("model_type", "bert");
        if (type.equals("distilbert")) {
            if (c.getBoolean("sinusoidal_pos_embds", false)) {
                org.slf4j.LoggerFactory.getLogger(BertConfig.class).debug("{}: sinusoidal position embeddings are read"
                        + " from the checkpoint like learned ones", c);
            }
            return new BertConfig(c.getInt("vocab_size"), c.getInt("dim", 768), c.getInt("n_layers", 6),
                    c.getInt("n_heads", 12), c.getInt("hidden_dim", 3072), c.getInt("max_position_embeddings", 512), 1,
                    1e-12, c.getString("activation", "gelu"), 0);
        }
        if (!type.equals("bert") && !type.equals("roberta") && !type.equals("xlm-roberta")
                && !type.equals("distilbert") && !type.equals("electra")) {
            // still try: many BERT-style encoders use other model_type names with the same keys
            org.slf4j.LoggerFactory.getLogger(BertConfig.class).debug("{}: model_type {} treated as BERT", c, type);
        }
        return new BertConfig(c.getInt("vocab_size"), c.getInt("hidden_size"), c.getInt("num_hidden_layers"),
                c.getInt("num_attention_heads"), c.getInt("intermediate_size"),
                c.getInt("max_position_embeddings", 512), c.getInt("type_vocab_size", 2),
                c.getDouble("layer_norm_eps", 1e-12), c.getString("hidden_act", "gelu"),
                type.equals("roberta") || type.equals("xlm-roberta") || type.equals("camembert")
                        ? c.getInt("pad_token_id", 1) + 1 : 0);
    }

    /** The longest input in tokens: {@code max_position_embeddings - positionOffset}. */
    public int maxTokens() {
        return maxPositions - positionOffset;
    }

    /** Width of one attention head. */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Whether the FFN uses the tanh approximation of GELU. */
    /** The FFN activation as the GEMM epilogue runs it (the tanh GELU names are one function). */
    public FusedActivation activation() {
        return Activation.fused(hiddenAct);
    }

    private static String describe(int... v) {
        return java.util.Arrays.toString(v);
    }
}
