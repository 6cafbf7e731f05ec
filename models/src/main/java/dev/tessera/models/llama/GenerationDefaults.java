package dev.tessera.models.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.models.nn.HfConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a model's {@code generation_config.json} sets for the options a caller leaves out: {@code maxLength} is its
 * {@code max_length} where it gives no {@code max_new_tokens} (a cap on prompt and answer together), else 0. Shared
 * by {@code tessera chat} and the Spark text generator.
 */
public record GenerationDefaults(double repetitionPenalty, int maxNewTokens, int maxLength) {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationDefaults.class);
    /** Tokens generated at most when neither the caller nor the file says. */
    public static final int DEFAULT_MAX_TOKENS = 256;

    /**
     * The model's {@code generation_config.json}, read once: its {@code repetition_penalty} (1 without one), which
     * transformers' {@code generate} applies whatever the decoding, and its {@code max_new_tokens} (where
     * {@code generate} stops), else its {@code max_length} (where {@code generate} stops counting the prompt too),
     * else {@value #DEFAULT_MAX_TOKENS} new tokens; its other logits processors are named in a warning, since Tessera
     * does not apply them.
     */
    public static GenerationDefaults read(Path model) {
        Path g = model.resolve("generation_config.json");
        if (!Files.isRegularFile(g)) {
            return new GenerationDefaults(1, DEFAULT_MAX_TOKENS, 0);
        }
        HfConfig c = HfConfig.read(g);
        List<String> ignored = new ArrayList<>();
        for (String k : List.of("no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "min_new_tokens", "min_length",
                "bad_words_ids", "suppress_tokens", "begin_suppress_tokens", "forced_bos_token_id", "forced_eos_token_id",
                "sequence_bias", "exponential_decay_length_penalty")) {
            if (c.has(k) && !(c.json().get(k).isNumber() && c.json().get(k).asDouble() == 0)) {
                ignored.add(k);
            }
        }
        if (!ignored.isEmpty()) {
            LOG.warn("{}: {} not applied here (transformers' generate would)", g, ignored);
        }
        double p = c.getDouble("repetition_penalty", 1.0);
        if (!(p > 0) || Double.isInfinite(p)) {
            throw new IllegalArgumentException(g + ": repetition_penalty must be finite and > 0, got " + p);
        }
        int maxNew = DEFAULT_MAX_TOKENS;
        if (c.has("max_new_tokens")) {
            JsonNode n = c.json().get("max_new_tokens");
            if (!n.canConvertToInt() || !dev.tessera.runtime.io.JsonFiles.isWhole(n) || n.intValue() < 0) {
                throw new IllegalArgumentException(g + ": max_new_tokens must be an integer >= 0, got " + n);
            }
            maxNew = n.intValue();
        }
        int maxLength = 0;
        if (c.has("max_length") && !c.has("max_new_tokens")) {
            JsonNode n = c.json().get("max_length");
            if (!n.canConvertToInt() || !dev.tessera.runtime.io.JsonFiles.isWhole(n) || n.intValue() < 1) {
                throw new IllegalArgumentException(g + ": max_length must be an integer >= 1, got " + n);
            }
            maxLength = n.intValue();
            maxNew = Integer.MAX_VALUE; // the context bounds it too
        }
        return new GenerationDefaults(p, maxNew, maxLength);
    }
}
