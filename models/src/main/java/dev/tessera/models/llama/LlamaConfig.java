package dev.tessera.models.llama;

import dev.tessera.models.nn.HfConfig;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The configuration of a Llama-style decoder, read from a Hugging Face {@code config.json}
 * ({@code LlamaForCausalLM}, also Mistral- and Qwen2-style checkpoints that share the layout). Immutable.
 *
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size}
 * @param intermediateSize {@code intermediate_size} (the SwiGLU width)
 * @param numLayers {@code num_hidden_layers}
 * @param numHeads {@code num_attention_heads}
 * @param numKvHeads {@code num_key_value_heads} (defaults to {@code num_attention_heads}; fewer = GQA)
 * @param headDim {@code head_dim} (defaults to {@code hidden_size / num_attention_heads})
 * @param rmsNormEps {@code rms_norm_eps}
 * @param ropeTheta {@code rope_theta}
 * @param ropeScaling {@code rope_scaling} (null: none)
 * @param maxPositionEmbeddings {@code max_position_embeddings}: the context length
 * @param tieWordEmbeddings {@code tie_word_embeddings}: the LM head reuses {@code embed_tokens}
 * @param attentionBias q/k/v/o projections carry a bias ({@code attention_bias}, or Qwen2's q/k/v bias)
 * @param oProjBias whether {@code o_proj} has a bias (Llama {@code attention_bias}: yes; Qwen2: no)
 * @param mlpBias {@code mlp_bias}
 * @param bosTokenId {@code bos_token_id} (-1 when absent)
 * @param eosTokenIds {@code eos_token_id}, one id or a list (empty when absent)
 * @param padTokenId {@code pad_token_id} (-1 when absent)
 * @param slidingWindow the attention window of Mistral ({@code sliding_window}) or Qwen2 with
 *     {@code use_sliding_window}; 0 for none. Attention here is not windowed, so {@link #contextLength()} stops at
 *     the window, within which windowed and full causal attention are the same.
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean oProjBias,
        boolean mlpBias,
        int bosTokenId,
        int[] eosTokenIds,
        int padTokenId,
        int slidingWindow) {

    /** A config without a sliding window. */
    public LlamaConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
            int headDim, double rmsNormEps, double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings,
            boolean tieWordEmbeddings, boolean attentionBias, boolean oProjBias, boolean mlpBias, int bosTokenId,
            int[] eosTokenIds, int padTokenId) {
        this(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, rmsNormEps, ropeTheta,
                ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, attentionBias, oProjBias, mlpBias, bosTokenId,
                eosTokenIds, padTokenId, 0);
    }

    /**
     * The most tokens a sequence may hold: {@code max_position_embeddings}, or the sliding window when shorter (beyond
     * it the reference would hide the oldest keys from each query; here every key is seen).
     */
    public int contextLength() {
        return slidingWindow > 0 ? Math.min(maxPositionEmbeddings, slidingWindow) : maxPositionEmbeddings;
    }

    /**
     * {@code rope_scaling}: {@code type} (or {@code rope_type}) "linear" (positions divided by {@code factor}),
     * "llama3" (Llama 3.1's frequency-dependent scaling with {@code low_freq_factor},
     * {@code high_freq_factor} and {@code original_max_position_embeddings}) or "yarn" (YaRN: a ramp between
     * interpolated and original frequencies from {@code beta_fast} / {@code beta_slow} rotations over
     * {@code original_max_position_embeddings}, {@code truncate}d to whole dimensions or not, and cos / sin scaled by
     * {@code attentionFactor}); "default" means none.
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositionEmbeddings, double betaFast, double betaSlow, double attentionFactor,
            boolean truncate) {
        /** A linear or llama3 scaling (no YaRN parameters; cos / sin unscaled). */
        public RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                int originalMaxPositionEmbeddings) {
            this(type, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings, 0, 0, 1, true);
        }
    }

    /** The factor transformers' rotary embedding multiplies cos and sin by (YaRN's attention factor; else 1). */
    public double ropeAttentionFactor() {
        return ropeScaling == null ? 1 : ropeScaling.attentionFactor();
    }

    public LlamaConfig {
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        check(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        check(hiddenSize > 0, "hidden_size must be > 0, got " + hiddenSize);
        check(intermediateSize > 0, "intermediate_size must be > 0, got " + intermediateSize);
        check(numLayers > 0, "num_hidden_layers must be > 0, got " + numLayers);
        check(numHeads > 0 && numKvHeads > 0 && numHeads % numKvHeads == 0,
                "num_attention_heads (" + numHeads + ") must be a positive multiple of num_key_value_heads ("
                        + numKvHeads + ")");
        check(headDim > 0 && headDim % 2 == 0 && headDim <= 256, "head_dim must be even and in [2, 256], got " + headDim);
        check(rmsNormEps > 0, "rms_norm_eps must be > 0, got " + rmsNormEps);
        check(ropeTheta > 0, "rope_theta must be > 0, got " + ropeTheta);
        check(maxPositionEmbeddings > 0, "max_position_embeddings must be > 0, got " + maxPositionEmbeddings);
        check(slidingWindow >= 0, "sliding_window must be > 0 or absent, got " + slidingWindow);
        if (ropeScaling != null) {
            check(ropeScaling.factor() > 0, "rope_scaling.factor must be > 0, got " + ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                check(ropeScaling.highFreqFactor() > ropeScaling.lowFreqFactor() && ropeScaling.lowFreqFactor() > 0,
                        "rope_scaling: need high_freq_factor > low_freq_factor > 0, got " + ropeScaling);
                check(ropeScaling.originalMaxPositionEmbeddings() > 0,
                        "rope_scaling.original_max_position_embeddings must be > 0");
            }
        }
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    /** Whether {@code id} is one of the end-of-sequence ids. */
    public boolean isEos(int id) {
        for (int e : eosTokenIds) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    /** The {@code model_type}s read as Llama-style decoders (absent: llama, as LLaVA's text_config defaults). */
    static final java.util.List<String> SUPPORTED_TYPES = java.util.List.of("llama", "mistral", "qwen2");

    /** Reads {@code dir/config.json} (or the file itself). */
    public static LlamaConfig read(Path path) {
        return from(HfConfig.read(path));
    }

    /**
     * From a parsed config ({@code config.json}, or LLaVA's {@code text_config}); absent keys take the defaults of
     * transformers' config class of its {@code model_type}: hidden 4096, 32 layers, 32 heads for all three; Llama
     * vocab 32000, intermediate 11008, kv heads = heads, 2048 positions; Mistral 32000, 14336, 8 kv heads, 131072
     * positions, window 4096; Qwen2 151936, 22016, 32 kv heads, 32768 positions.
     */
    public static LlamaConfig from(HfConfig c) {
        String declared = c.getString("model_type", "llama");
        // an allowlist: granite, smollm3, olmo, ernie4_5, ... share the weight names but not the maths (multipliers,
        // layers without rope, other norms) and would run silently wrong
        if (!SUPPORTED_TYPES.contains(declared)) {
            throw new IllegalArgumentException(c + ": model_type \"" + declared + "\" is not supported: Tessera runs "
                    + String.join(", ", SUPPORTED_TYPES) + " decoders" + (declared.startsWith("llava")
                    ? " (and model_type llava, not LLaVA-NeXT / OneVision, for images)" : ""));
        }
        if (c.has("partial_rotary_factor") && c.getDouble("partial_rotary_factor") != 1.0) {
            throw new IllegalArgumentException(c + ": partial_rotary_factor " + c.getDouble("partial_rotary_factor")
                    + " is not supported (rotary embeddings over the whole head)");
        }
        String act = c.getString("hidden_act", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw new IllegalArgumentException(c + ": hidden_act \"" + act + "\" is not supported (Llama uses silu)");
        }
        String modelType = c.getString("model_type", "llama");
        // missing keys take transformers' LlamaConfig defaults (LLaVA text_configs rely on them)
        int hidden = c.getInt("hidden_size", 4096);
        int heads = c.getInt("num_attention_heads", 32);
        if (heads <= 0) {
            throw new IllegalArgumentException(c + ": num_attention_heads must be positive, got " + heads);
        }
        if (!c.has("head_dim") && hidden % heads != 0) {
            throw new IllegalArgumentException(c + ": hidden_size " + hidden + " is not a multiple of num_attention_heads "
                    + heads + " and head_dim is not given");
        }
        int headDim = c.getInt("head_dim", hidden / heads);
        RopeScaling scaling = null;
        // transformers 5 keeps theta and the scaling together in rope_parameters; older configs have rope_theta and
        // rope_scaling at the top level
        // (with both, transformers 5 takes rope_scaling: `rope_scaling or rope_parameters`; a rope_theta inside the dict
        // it takes wins over the top-level one)
        boolean v4 = c.has("rope_scaling") && c.json().get("rope_scaling").isObject();
        boolean v5 = !v4 && c.has("rope_parameters") && c.json().get("rope_parameters").isObject();
        String ropeKey = v5 ? "rope_parameters" : "rope_scaling";
        HfConfig rs = c.has(ropeKey) && c.json().get(ropeKey).isObject() ? c.child(ropeKey) : null;
        if (rs != null) {
            String type = rs.getString("rope_type", rs.getString("type", "default"));
            switch (type) {
                case "default" -> scaling = null;
                case "dynamic" -> {
                    // dynamic NTK changes the frequencies only past the trained length, which the context here never
                    // passes (it ends at max_position_embeddings): the default rope, as transformers computes it there
                    int orig = rs.getInt("original_max_position_embeddings", c.getInt("max_position_embeddings", 2048));
                    if (orig != c.getInt("max_position_embeddings", 2048)) {
                        throw new IllegalArgumentException(c + ": " + ropeKey + " type \"dynamic\" with "
                                + "original_max_position_embeddings " + orig + " below max_position_embeddings is not "
                                + "supported");
                    }
                    scaling = null;
                }
                case "linear" -> scaling = new RopeScaling(type, rs.getDouble("factor"), 0, 0, 0);
                case "llama3" -> scaling = new RopeScaling(type, rs.getDouble("factor"), rs.getDouble("low_freq_factor"),
                        rs.getDouble("high_freq_factor"), rs.getInt("original_max_position_embeddings"));
                case "yarn" -> scaling = yarn(c, rs);
                default -> throw new IllegalArgumentException(c + ": " + ropeKey + " type \"" + type
                        + "\" is not supported (supported: default, linear, llama3, dynamic, yarn)");
            }
        }
        boolean qwen2 = modelType.equals("qwen2");
        boolean mistral = modelType.equals("mistral");
        // Mistral's and Qwen2's layers fix their biases (none; q/k/v only): attention_bias / mlp_bias are Llama's keys
        boolean llama = !qwen2 && !mistral;
        boolean attnBias = qwen2 || llama && c.getBoolean("attention_bias", false);
        int[] eos = c.getIntOrIntArray("eos_token_id");
        double theta = rs != null && rs.has("rope_theta") ? rs.getDouble("rope_theta") : c.getDouble("rope_theta", 10000.0);
        int layers = c.getInt("num_hidden_layers", 32);
        int window = slidingWindow(c, modelType, layers);
        return new LlamaConfig(
                c.getInt("vocab_size", qwen2 ? 151936 : 32000),
                hidden,
                c.getInt("intermediate_size", qwen2 ? 22016 : mistral ? 14336 : 11008),
                layers,
                heads,
                // absent: the class default; null: the heads (the classes' __post_init__)
                !c.json().has("num_key_value_heads") ? (qwen2 ? 32 : mistral ? 8 : heads)
                        : c.json().get("num_key_value_heads").isNull() ? heads : c.getInt("num_key_value_heads"),
                headDim,
                c.getDouble("rms_norm_eps", 1e-6),
                theta,
                scaling,
                c.getInt("max_position_embeddings", qwen2 ? 32768 : mistral ? 131072 : 2048),
                c.getBoolean("tie_word_embeddings", false),
                attnBias,
                attnBias && !qwen2,
                llama && c.getBoolean("mlp_bias", false),
                c.getInt("bos_token_id", -1),
                eos,
                c.getInt("pad_token_id", -1),
                window);
    }

    /**
     * The attention window as transformers reads it, 0 for none: Mistral's {@code sliding_window} (4096 when absent,
     * none when null); Qwen2's where some layer slides (its {@code layer_types}, or by default the layers from
     * {@code max_window_layers} (28) on, when {@code use_sliding_window}); none for Llama. Attention is not windowed
     * here: the context stops at the window, within which windowed and full attention agree.
     */
    private static int slidingWindow(HfConfig c, String modelType, int layers) {
        boolean isNull = c.json().has("sliding_window") && c.json().get("sliding_window").isNull(); // has() skips nulls
        switch (modelType) {
            case "mistral":
                return isNull ? 0 : c.getInt("sliding_window", 4096);
            case "qwen2": {
                if (!c.getBoolean("use_sliding_window", false) || isNull) {
                    return 0;
                }
                int window = c.getInt("sliding_window", 4096);
                boolean slides;
                if (c.has("layer_types") && c.json().get("layer_types").isArray()) {
                    slides = false;
                    for (com.fasterxml.jackson.databind.JsonNode t : c.json().get("layer_types")) {
                        slides |= "sliding_attention".equals(t.asText());
                    }
                } else {
                    slides = layers > c.getInt("max_window_layers", 28);
                }
                return slides ? window : 0;
            }
            default:
                return 0;
        }
    }

    /**
     * YaRN's parameters as transformers 5 reads them ({@code _compute_yarn_parameters} after
     * {@code standardize_rope_params}): {@code original_max_position_embeddings} from the top level of config.json, else
     * the rope dict, else {@code max_position_embeddings}; a missing {@code factor} is max / original; a missing
     * {@code attention_factor} is {@code 0.1 ln(factor) + 1} (with {@code mscale} and {@code mscale_all_dim} both
     * given, the ratio of the two such terms); {@code beta_fast} / {@code beta_slow} 32 / 1 when absent or 0.
     */
    private static RopeScaling yarn(HfConfig c, HfConfig rs) {
        int maxPos = c.getInt("max_position_embeddings", 2048);
        int orig = c.has("original_max_position_embeddings") ? c.getInt("original_max_position_embeddings")
                : rs.getInt("original_max_position_embeddings", maxPos);
        if (orig <= 0) {
            throw new IllegalArgumentException(c + ": yarn original_max_position_embeddings must be > 0, got " + orig);
        }
        double factor = rs.has("factor") ? rs.getDouble("factor") : (double) maxPos / orig;
        double attention;
        if (rs.has("attention_factor")) {
            attention = rs.getDouble("attention_factor");
        } else {
            double ms = rs.getDouble("mscale", 0);
            double msAll = rs.getDouble("mscale_all_dim", 0);
            attention = ms != 0 && msAll != 0 ? yarnMscale(factor, ms) / yarnMscale(factor, msAll)
                    : yarnMscale(factor, 1);
        }
        double fast = rs.getDouble("beta_fast", 0);
        double slow = rs.getDouble("beta_slow", 0);
        if (fast < 0 || slow < 0 || !Double.isFinite(fast) || !Double.isFinite(slow)) {
            throw new IllegalArgumentException(c + ": yarn beta_fast / beta_slow must be > 0 (0 or absent: 32 / 1), got "
                    + fast + " / " + slow);
        }
        if (!(attention > 0) || Double.isInfinite(attention)) {
            throw new IllegalArgumentException(c + ": yarn attention factor must be finite and > 0, got " + attention);
        }
        // truncate: absent is true; null is Python's None, falsy: no truncation (transformers' get("truncate", True))
        boolean truncate = !rs.json().has("truncate") || !rs.json().get("truncate").isNull() && rs.getBoolean("truncate", true);
        return new RopeScaling("yarn", factor, 0, 0, orig, fast == 0 ? 32 : fast, slow == 0 ? 1 : slow, attention,
                truncate);
    }

    private static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    /**
     * The rotary inverse frequencies {@code [headDim / 2]} after {@link #ropeScaling} (as Hugging Face's
     * {@code ROPE_INIT_FUNCTIONS} compute them, in float32).
     */
    public float[] inverseFrequencies() {
        int half = headDim / 2;
        float[] inv = new float[half];
        float[] pos = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            pos[i] = (float) Math.pow(ropeTheta, exponent);
            inv[i] = (float) (1.0 / pos[i]);
        }
        if (ropeScaling == null) {
            return inv;
        }
        double factor = ropeScaling.factor();
        if (ropeScaling.type().equals("yarn")) {
            // a ramp over the dimensions between the correction range's ends, each op in float32 as torch runs it
            double low = yarnCorrectionDim(ropeScaling.betaFast());
            double high = yarnCorrectionDim(ropeScaling.betaSlow());
            if (ropeScaling.truncate()) {
                low = Math.floor(low);
                high = Math.ceil(high);
            }
            low = Math.max(low, 0);
            high = Math.min(high, headDim - 1);
            if (low == high) {
                high += 0.001;
            }
            float span = (float) (high - low);
            for (int i = 0; i < half; i++) {
                float ramp = Math.min(Math.max(((float) i - (float) low) / span, 0f), 1f);
                float extrapolation = 1f - ramp;
                float interpolated = 1f / ((float) factor * pos[i]);
                inv[i] = interpolated * (1f - extrapolation) + inv[i] * extrapolation;
            }
            return inv;
        }
        if (ropeScaling.type().equals("linear")) {
            for (int i = 0; i < half; i++) {
                inv[i] = (float) (inv[i] / factor);
            }
            return inv;
        }
        double oldCtx = ropeScaling.originalMaxPositionEmbeddings();
        double lowWavelen = oldCtx / ropeScaling.lowFreqFactor();
        double highWavelen = oldCtx / ropeScaling.highFreqFactor();
        for (int i = 0; i < half; i++) {
            double f = inv[i];
            double wavelen = 2 * Math.PI / f;
            double scaled = wavelen > lowWavelen ? f / factor : f;
            if (wavelen >= highWavelen && wavelen <= lowWavelen) {
                double smooth = (oldCtx / wavelen - ropeScaling.lowFreqFactor())
                        / (ropeScaling.highFreqFactor() - ropeScaling.lowFreqFactor());
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            inv[i] = (float) scaled;
        }
        return inv;
    }

    /** YaRN's find_correction_dim: the dimension whose wavelength makes {@code rotations} turns in the original context. */
    private double yarnCorrectionDim(double rotations) {
        return headDim * Math.log(ropeScaling.originalMaxPositionEmbeddings() / (rotations * 2 * Math.PI))
                / (2 * Math.log(ropeTheta));
    }

    /** This config with {@code ids} added to the eos ids (e.g. from {@code generation_config.json}). */
    public LlamaConfig withExtraEos(int[] ids) {
        int[] all = java.util.stream.IntStream.concat(Arrays.stream(eosTokenIds), Arrays.stream(ids)).distinct().toArray();
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, attentionBias, oProjBias,
                mlpBias, bosTokenId, all, padTokenId, slidingWindow);
    }

    /** This config with {@code ids} as its eos ids (replacing config.json's). */
    public LlamaConfig withEosTokenIds(int[] ids) {
        if (ids == null || ids.length == 0) {
            throw new IllegalArgumentException("eos ids must be given");
        }
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, attentionBias, oProjBias,
                mlpBias, bosTokenId, Arrays.stream(ids).distinct().toArray(), padTokenId, slidingWindow);
    }

    /**
     * Reads {@code dir/config.json}; where {@code dir/generation_config.json} exists, its eos ids replace
     * config.json's, as transformers' {@code generate} takes them from the generation config alone (chat checkpoints
     * such as Llama 3 Instruct list their end-of-turn tokens there).
     */
    public static LlamaConfig readWithGenerationConfig(Path dir) {
        return withGenerationConfig(read(dir), dir);
    }

    /**
     * {@code c} with the eos ids of {@code dir/generation_config.json} when that file exists
     * ({@link #readWithGenerationConfig}); one that names none (no key, null or an empty list) leaves no eos id, as
     * transformers' {@code generate} then stops on none (it does not fall back to config.json's), which is logged.
     */
    public static LlamaConfig withGenerationConfig(LlamaConfig c, Path dir) {
        Path g = dir.resolve("generation_config.json");
        if (java.nio.file.Files.isDirectory(dir) && java.nio.file.Files.isRegularFile(g)) {
            HfConfig gc = HfConfig.read(g);
            int[] ids = gc.getIntOrIntArray("eos_token_id");
            if (ids.length == 0 && c.eosTokenIds.length > 0) {
                org.slf4j.LoggerFactory.getLogger(LlamaConfig.class).warn("{} names no eos_token_id: as in "
                        + "transformers' generate, no token ends a sequence (config.json's {} are not used)", g,
                        Arrays.toString(c.eosTokenIds));
            }
            c = new LlamaConfig(c.vocabSize, c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads,
                    c.headDim, c.rmsNormEps, c.ropeTheta, c.ropeScaling, c.maxPositionEmbeddings, c.tieWordEmbeddings,
                    c.attentionBias, c.oProjBias, c.mlpBias, c.bosTokenId, Arrays.stream(ids).distinct().toArray(),
                    c.padTokenId, c.slidingWindow);
        }
        return c;
    }

    /** Approximate parameter count (for logs and benchmarks). */
    public long parameterCount() {
        long h = hiddenSize;
        long attn = h * (long) numHeads * headDim * 2 + h * (long) numKvHeads * headDim * 2;
        long mlp = 3L * h * intermediateSize;
        long layer = attn + mlp + 2 * h;
        long emb = (long) vocabSize * h;
        return numLayers * layer + emb * (tieWordEmbeddings ? 1 : 2) + h;
    }

    @Override
    public String toString() {
        return "LlamaConfig[vocab=" + vocabSize + ", hidden=" + hiddenSize + ", intermediate=" + intermediateSize
                + ", layers=" + numLayers + ", heads=" + numHeads + "/" + numKvHeads + ", headDim=" + headDim
                + ", ropeTheta=" + ropeTheta + ", ropeScaling=" + ropeScaling + ", context=" + maxPositionEmbeddings
                + ", tied=" + tieWordEmbeddings + ", eos=" + Arrays.toString(eosTokenIds) + "]";
    }

    private static void check(boolean ok, String msg) {
        if (!ok) {
            throw new IllegalArgumentException("LlamaConfig: " + msg);
        }
    }
}
