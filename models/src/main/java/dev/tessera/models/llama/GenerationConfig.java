package dev.tessera.models.llama;

import java.util.List;

/**
 * How {@link Generator} picks tokens. Immutable; start from {@link #greedy(int)} or {@link #sampling} and
 * adjust with the {@code with...} methods. The logits go through, in this order (as Hugging Face's
 * {@code generate}): repetition penalty, temperature, top-k, top-p; then greedy argmax when
 * {@code temperature == 0}, else a draw from the remaining distribution with a {@link java.util.SplittableRandom}
 * seeded by {@code seed} (one stream per sequence: the same seed gives the same text).
 *
 * @param maxNewTokens tokens to generate at most (also bounded by the KV cache / context)
 * @param temperature 0 = greedy; &gt; 0 divides the logits
 * @param topK keep the k most likely tokens (0 = all)
 * @param topP keep the smallest set of most likely tokens whose probability reaches p (1 = all)
 * @param repetitionPenalty &gt; 1 discourages tokens already in the prompt or the output (1 = off)
 * @param seed seed of the sampler
 * @param stopTokens token ids that end a sequence besides the model's {@code eos_token_id}s
 * @param stopStrings texts that end a sequence (the text is cut before them)
 * @param useEos whether the model's eos ids stop generation
 * @param maxLength a cap on the prompt and the generated tokens together (0 = none), as transformers'
 *     {@code max_length}: at most {@code maxLength - prompt length} tokens; a prompt of {@code maxLength} tokens or
 *     more is refused, as transformers' {@code generate} refuses it
 */
public record GenerationConfig(int maxNewTokens, double temperature, int topK, double topP, double repetitionPenalty,
        long seed, List<Integer> stopTokens, List<String> stopStrings, boolean useEos, int maxLength) {

    public GenerationConfig {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
        }
        if (maxLength < 0) {
            throw new IllegalArgumentException("maxLength must be >= 0 (0: no cap), got " + maxLength);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetitionPenalty must be finite and > 0, got " + repetitionPenalty);
        }
        stopTokens = stopTokens == null ? List.of() : List.copyOf(stopTokens);
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }

    /** A config without a total-length cap ({@code maxLength} 0). */
    public GenerationConfig(int maxNewTokens, double temperature, int topK, double topP, double repetitionPenalty,
            long seed, List<Integer> stopTokens, List<String> stopStrings, boolean useEos) {
        this(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopTokens, stopStrings, useEos, 0);
    }

    /**
     * The tokens a continuation of a {@code promptLength}-token input may have: {@code maxNewTokens}, and under a
     * {@code maxLength} cap at most {@code maxLength - promptLength}.
     *
     * @throws IllegalArgumentException when the input alone reaches {@code maxLength}
     */
    public int budgetAfter(int promptLength) {
        if (maxLength == 0) {
            return maxNewTokens;
        }
        if (promptLength >= maxLength) {
            throw new IllegalArgumentException("the input has " + promptLength + " tokens, and maxLength (prompt and "
                    + "answer together: generation_config.json max_length) is " + maxLength + ": nothing is left to "
                    + "generate (give a number of new tokens instead, e.g. --max-tokens)");
        }
        return Math.min(maxNewTokens, maxLength - promptLength);
    }

    /** Greedy decoding of up to {@code maxNewTokens}, stopping at the model's eos ids. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0, 0, 1, 1, 0, List.of(), List.of(), true);
    }

    /** Sampling at {@code temperature} with top-p {@code topP} and {@code seed}. */
    public static GenerationConfig sampling(int maxNewTokens, double temperature, double topP, long seed) {
        return new GenerationConfig(maxNewTokens, temperature, 0, topP, 1, seed, List.of(), List.of(), true);
    }

    public GenerationConfig withMaxNewTokens(int n) {
        return new GenerationConfig(n, temperature, topK, topP, repetitionPenalty, seed, stopTokens, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withTemperature(double t) {
        return new GenerationConfig(maxNewTokens, t, topK, topP, repetitionPenalty, seed, stopTokens, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withTopK(int k) {
        return new GenerationConfig(maxNewTokens, temperature, k, topP, repetitionPenalty, seed, stopTokens, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withTopP(double p) {
        return new GenerationConfig(maxNewTokens, temperature, topK, p, repetitionPenalty, seed, stopTokens, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withRepetitionPenalty(double r) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, r, seed, stopTokens, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withSeed(long s) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, s, stopTokens, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withStopTokens(List<Integer> ids) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, ids, stopStrings, useEos, maxLength);
    }

    public GenerationConfig withStopStrings(List<String> s) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopTokens, s, useEos, maxLength);
    }

    /** This config with a total-length cap of {@code n} tokens, prompt included (0: none). */
    public GenerationConfig withMaxLength(int n) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopTokens,
                stopStrings, useEos, n);
    }

    public GenerationConfig withUseEos(boolean u) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, stopTokens, stopStrings, u, maxLength);
    }
}
