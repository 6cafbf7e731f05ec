package dev.tessera.models.whisper;

import dev.tessera.models.nn.HfConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Whisper checkpoint's configuration ({@code WhisperForConditionalGeneration}'s {@code config.json}, plus the
 * decoding facts of {@code generation_config.json} when present). Immutable.
 *
 * @param dModel {@code d_model}
 * @param encoderLayers {@code encoder_layers}
 * @param encoderHeads {@code encoder_attention_heads}
 * @param encoderFfn {@code encoder_ffn_dim}
 * @param decoderLayers {@code decoder_layers}
 * @param decoderHeads {@code decoder_attention_heads}
 * @param decoderFfn {@code decoder_ffn_dim}
 * @param numMelBins {@code num_mel_bins}: 80, or 128 for large-v3
 * @param maxSourcePositions {@code max_source_positions}: encoder positions (1500 = 30 s; the input has twice
 *     as many mel frames)
 * @param maxTargetPositions {@code max_target_positions}: the decoder's context (448)
 * @param vocabSize {@code vocab_size}
 * @param decoderStartTokenId {@code decoder_start_token_id}: {@code <|startoftranscript|>}
 * @param eosTokenId {@code eos_token_id}: {@code <|endoftext|>}
 * @param suppressTokens {@code suppress_tokens}: never generated
 * @param beginSuppressTokens {@code begin_suppress_tokens}: not generated as the first token (blank, EOT)
 * @param noTimestampsTokenId {@code <|notimestamps|>} (from the generation config; -1 if unknown)
 * @param langToId language code ({@code "en"}) → token id; empty for English-only checkpoints
 * @param taskToId {@code "transcribe"}/{@code "translate"} → token id
 * @param isMultilingual whether the checkpoint has language tokens
 * @param maxInitialTimestampIndex the first timestamp may be at most this many 0.02 s steps (50 = 1 s)
 * @param prevSotTokenId {@code <|startofprev|>}, which opens the previous window's text before
 *     {@code <|startoftranscript|>} ({@code prev_sot_token_id} of the generation config; else the token two before
 *     {@code <|notimestamps|>}, where every Whisper vocabulary has it); -1 if unknown
 * @param noSpeechTokenId {@code <|nospeech|>} ({@code <|nocaptions|>} in the older vocabularies), whose probability
 *     right after {@code <|startoftranscript|>} says the window has no speech ({@code no_speech_token_id} of the
 *     generation config; else the token before {@code <|notimestamps|>}, as Hugging Face derives it); -1 if unknown
 * @param alignmentHeads the decoder's cross-attention heads whose attention follows the audio, {@code [layer, head]}
 *     pairs ({@code alignment_heads} of the generation config), for word-level timestamps; empty: every head of the
 *     second half of the decoder layers (openai-whisper's rule for a checkpoint without them)
 */
public record WhisperConfig(int dModel, int encoderLayers, int encoderHeads, int encoderFfn, int decoderLayers,
        int decoderHeads, int decoderFfn, int numMelBins, int maxSourcePositions, int maxTargetPositions,
        int vocabSize, int decoderStartTokenId, int eosTokenId, int[] suppressTokens, int[] beginSuppressTokens,
        int noTimestampsTokenId, Map<String, Integer> langToId, Map<String, Integer> taskToId, boolean isMultilingual,
        int maxInitialTimestampIndex, int prevSotTokenId, int noSpeechTokenId, int[][] alignmentHeads) {

    /** A config without alignment heads (the default rule picks them). */
    public WhisperConfig(int dModel, int encoderLayers, int encoderHeads, int encoderFfn, int decoderLayers,
            int decoderHeads, int decoderFfn, int numMelBins, int maxSourcePositions, int maxTargetPositions,
            int vocabSize, int decoderStartTokenId, int eosTokenId, int[] suppressTokens, int[] beginSuppressTokens,
            int noTimestampsTokenId, Map<String, Integer> langToId, Map<String, Integer> taskToId, boolean isMultilingual,
            int maxInitialTimestampIndex, int prevSotTokenId, int noSpeechTokenId) {
        this(dModel, encoderLayers, encoderHeads, encoderFfn, decoderLayers, decoderHeads, decoderFfn, numMelBins,
                maxSourcePositions, maxTargetPositions, vocabSize, decoderStartTokenId, eosTokenId, suppressTokens,
                beginSuppressTokens, noTimestampsTokenId, langToId, taskToId, isMultilingual, maxInitialTimestampIndex,
                prevSotTokenId, noSpeechTokenId, new int[0][]);
    }

    /** A config whose {@code <|startofprev|>} and {@code <|nospeech|>} sit where Whisper's vocabularies put them. */
    public WhisperConfig(int dModel, int encoderLayers, int encoderHeads, int encoderFfn, int decoderLayers,
            int decoderHeads, int decoderFfn, int numMelBins, int maxSourcePositions, int maxTargetPositions,
            int vocabSize, int decoderStartTokenId, int eosTokenId, int[] suppressTokens, int[] beginSuppressTokens,
            int noTimestampsTokenId, Map<String, Integer> langToId, Map<String, Integer> taskToId,
            boolean isMultilingual, int maxInitialTimestampIndex) {
        this(dModel, encoderLayers, encoderHeads, encoderFfn, decoderLayers, decoderHeads, decoderFfn, numMelBins,
                maxSourcePositions, maxTargetPositions, vocabSize, decoderStartTokenId, eosTokenId, suppressTokens,
                beginSuppressTokens, noTimestampsTokenId, langToId, taskToId, isMultilingual, maxInitialTimestampIndex,
                noTimestampsTokenId >= 2 ? noTimestampsTokenId - 2 : -1, noTimestampsTokenId >= 1 ? noTimestampsTokenId - 1 : -1);
    }

    public WhisperConfig {
        suppressTokens = suppressTokens.clone();
        beginSuppressTokens = beginSuppressTokens.clone();
        langToId = Map.copyOf(langToId);
        taskToId = Map.copyOf(taskToId);
        alignmentHeads = alignmentHeads == null ? new int[0][] : alignmentHeads.clone();
        for (int i = 0; i < alignmentHeads.length; i++) {
            int[] p = alignmentHeads[i];
            check(p != null && p.length == 2, "alignment_heads must be [layer, head] pairs");
            check(p[0] >= 0 && p[0] < decoderLayers && p[1] >= 0 && p[1] < decoderHeads, "alignment head ["
                    + p[0] + ", " + p[1] + "] outside decoder_layers " + decoderLayers + " x decoder_attention_heads "
                    + decoderHeads);
            alignmentHeads[i] = p.clone();
        }
        check(dModel > 0 && encoderLayers >= 0 && decoderLayers > 0, "d_model and layer counts must be positive");
        check(encoderHeads > 0 && dModel % encoderHeads == 0,
                "d_model " + dModel + " must be divisible by encoder_attention_heads " + encoderHeads);
        check(decoderHeads > 0 && dModel % decoderHeads == 0,
                "d_model " + dModel + " must be divisible by decoder_attention_heads " + decoderHeads);
        check(numMelBins > 0, "num_mel_bins must be positive");
        check(maxSourcePositions > 0 && maxTargetPositions > 0, "max positions must be positive");
        check(vocabSize > 0, "vocab_size must be positive");
        check(decoderStartTokenId >= 0 && decoderStartTokenId < vocabSize, "decoder_start_token_id outside the vocabulary");
        check(eosTokenId >= 0 && eosTokenId < vocabSize, "eos_token_id outside the vocabulary");
        check(prevSotTokenId < vocabSize && noSpeechTokenId < vocabSize,
                "<|startofprev|> / <|nospeech|> ids outside the vocabulary");
    }

    private static void check(boolean ok, String msg) {
        if (!ok) {
            throw new IllegalArgumentException("Whisper config: " + msg);
        }
    }

    /**
     * The alignment heads as {@code [layer, head]} pairs sorted by layer then head, duplicates dropped: those of the
     * checkpoint, else every head of layers {@code decoder_layers / 2} and up.
     */
    public int[][] alignmentHeadPairs() {
        java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
        if (alignmentHeads.length == 0) {
            for (int l = decoderLayers / 2; l < decoderLayers; l++) {
                for (int h = 0; h < decoderHeads; h++) {
                    set.add(l * decoderHeads + h);
                }
            }
        } else {
            for (int[] p : alignmentHeads) {
                set.add(p[0] * decoderHeads + p[1]);
            }
        }
        return set.stream().map(i -> new int[] {i / decoderHeads, i % decoderHeads}).toArray(int[][]::new);
    }

    @Override
    public int[][] alignmentHeads() {
        int[][] c = new int[alignmentHeads.length][];
        for (int i = 0; i < c.length; i++) {
            c[i] = alignmentHeads[i].clone();
        }
        return c;
    }

    /** Mel frames the encoder takes for a full window: {@code 2 · max_source_positions} (3000 = 30 s). */
    public int melFrames() {
        return 2 * maxSourcePositions;
    }

    /** The first timestamp token ({@code <|0.00|>}): the one after {@code <|notimestamps|>}. */
    public int timestampBegin() {
        return noTimestampsTokenId < 0 ? -1 : noTimestampsTokenId + 1;
    }

    /** Seconds per timestamp step. */
    public static final double TIME_PRECISION = 0.02;

    /** Reads {@code dir/config.json} and, when present, {@code dir/generation_config.json}. */
    public static WhisperConfig read(Path dir) {
        HfConfig c = HfConfig.read(dir);
        Path gen = (Files.isDirectory(dir) ? dir : dir.getParent()).resolve("generation_config.json");
        HfConfig g = Files.isRegularFile(gen) ? HfConfig.read(gen) : null;
        return from(c, g);
    }

    /** Builds the config from parsed {@code config.json} and optional {@code generation_config.json}. */
    public static WhisperConfig from(HfConfig c, HfConfig g) {
        String type = c.getString("model_type", "whisper");
        if (!type.equals("whisper")) {
            throw new IllegalArgumentException(c.where() + ": model_type is \"" + type + "\", not \"whisper\"");
        }
        int vocab = c.getInt("vocab_size");
        int eos = c.getInt("eos_token_id", 50257);
        int sot = c.getInt("decoder_start_token_id", 50258);
        int[] suppress = g != null && g.has("suppress_tokens") ? g.getIntArray("suppress_tokens")
                : c.getIntArray("suppress_tokens");
        int[] begin = g != null && g.has("begin_suppress_tokens") ? g.getIntArray("begin_suppress_tokens")
                : c.getIntArray("begin_suppress_tokens");
        Map<String, Integer> langs = new LinkedHashMap<>();
        Map<String, Integer> tasks = new LinkedHashMap<>();
        int noTs = -1;
        boolean multi = false;
        int maxInit = 50;
        int prevSot = -1;
        int noSpeech = -1;
        int[][] heads = new int[0][];
        if (g != null) {
            if (g.has("alignment_heads") && g.json().get("alignment_heads").isArray()) {
                var a = g.json().get("alignment_heads");
                heads = new int[a.size()][];
                for (int i = 0; i < a.size(); i++) {
                    var p = a.get(i);
                    if (!p.isArray() || p.size() != 2 || !p.get(0).canConvertToInt() || !p.get(1).canConvertToInt()
                            || !p.get(0).isIntegralNumber() || !p.get(1).isIntegralNumber()) {
                        throw new IllegalArgumentException(g.where() + ": alignment_heads must be a list of [layer, head] "
                                + "integer pairs, got " + p + " at index " + i);
                    }
                    heads[i] = new int[] {p.get(0).intValue(), p.get(1).intValue()};
                }
            }
            prevSot = g.getInt("prev_sot_token_id", -1);
            noSpeech = g.getInt("no_speech_token_id", -1);
            noTs = g.getInt("no_timestamps_token_id", -1);
            g.child("lang_to_id").json().fields().forEachRemaining(e -> langs.put(strip(e.getKey()), e.getValue().intValue()));
            g.child("task_to_id").json().fields().forEachRemaining(e -> tasks.put(e.getKey(), e.getValue().intValue()));
            multi = g.getBoolean("is_multilingual", !langs.isEmpty());
            maxInit = (int) Math.round(g.getDouble("max_initial_timestamp_index", 50));
        }
        if (noTs < 0) {
            // The classic vocabularies: <|notimestamps|> sits 1,501 + 1 tokens before the end.
            noTs = vocab - 1501 - 1 >= 0 && vocab >= 51864 ? vocab - 1502 : -1;
        }
        if (prevSot < 0 && noTs >= 2) {
            prevSot = noTs - 2;
        }
        if (noSpeech < 0 && noTs >= 1) {
            noSpeech = noTs - 1;
        }
        return new WhisperConfig(c.getInt("d_model"), c.getInt("encoder_layers"), c.getInt("encoder_attention_heads"),
                c.getInt("encoder_ffn_dim"), c.getInt("decoder_layers"), c.getInt("decoder_attention_heads"),
                c.getInt("decoder_ffn_dim"), c.getInt("num_mel_bins", 80), c.getInt("max_source_positions", 1500),
                c.getInt("max_target_positions", 448), vocab, sot, eos, suppress, begin, noTs, langs, tasks, multi,
                maxInit, prevSot, noSpeech, heads);
    }

    private static String strip(String langToken) {
        // "<|en|>" → "en"
        return langToken.startsWith("<|") && langToken.endsWith("|>") ? langToken.substring(2, langToken.length() - 2)
                : langToken;
    }

    @Override
    public String toString() {
        return "Whisper(d_model=" + dModel + ", enc " + encoderLayers + "x" + encoderHeads + "h, dec " + decoderLayers
                + "x" + decoderHeads + "h, mels " + numMelBins + ", vocab " + vocabSize + ")";
    }
}
