package dev.tessera.models.whisper;

/**
 * Whisper's rules on the next-token logits (applied on the host, in place, before argmax or sampling), those of
 * openai-whisper's decoder (which transformers' Whisper {@code generate} reproduces with a checkpoint's
 * {@code generation_config.json}):
 * <ul>
 *   <li>{@code suppress_tokens} never, nor the control tokens openai-whisper always adds to them:
 *       {@code <|startoftranscript|>}, {@code <|startofprev|>}, {@code <|startoflm|>}, {@code <|nospeech|>} and the
 *       two task tokens. Language tokens are not suppressed (a trained model does not pick them mid-text; a
 *       random-weight one may, as in the reference), and a segment's text skips them;</li>
 *   <li>{@code begin_suppress_tokens} (blank, EOT) not as the first sampled token;</li>
 *   <li>with timestamps: never {@code <|notimestamps|>}, and timestamps come in pairs (after a closing pair text
 *       follows; after an opening one another timestamp or EOT), never go backwards, the first token is a
 *       timestamp of at most {@code max_initial_timestamp_index}, and when the timestamps' total probability beats
 *       every single text token a timestamp is forced. Without timestamps (the prompt ends with
 *       {@code <|notimestamps|>}) no timestamp rule applies, as in the reference: a trained model does not produce
 *       them there.</li>
 * </ul>
 * In the reference's order.
 */
final class LogitRules {
    private final WhisperConfig cfg;
    private final boolean timestamps;
    private final int[] control;

    /** Rules with the control tokens of {@link #controlTokens(WhisperConfig, int, int)} for the config's ids. */
    LogitRules(WhisperConfig cfg, boolean timestamps) {
        this(cfg, timestamps, controlTokens(cfg, cfg.prevSotTokenId(), cfg.noSpeechTokenId()));
    }

    /** Rules suppressing {@code control} (ids outside the vocabulary are ignored) besides {@code suppress_tokens}. */
    LogitRules(WhisperConfig cfg, boolean timestamps, int[] control) {
        if (timestamps && cfg.timestampBegin() < 0) {
            throw new IllegalArgumentException("this checkpoint has no timestamp tokens (no_timestamps_token_id"
                    + " unknown: the model directory's generation_config.json, where Hugging Face checkpoints give it,"
                    + " is missing or lacks it)");
        }
        if (timestamps && cfg.timestampBegin() >= cfg.vocabSize()) { // every logit would be masked at the first step
            throw new IllegalArgumentException("this checkpoint has no timestamp tokens (its vocabulary of "
                    + cfg.vocabSize() + " ends at <|notimestamps|>): transcribe without timestamps");
        }
        this.cfg = cfg;
        this.timestamps = timestamps;
        this.control = control.clone();
    }

    /**
     * The control tokens openai-whisper's decoder suppresses whatever {@code suppress_tokens} says:
     * {@code <|startoftranscript|>}, {@code <|startofprev|>} ({@code prevSot}), {@code <|startoflm|>} (the token
     * before it in every Whisper vocabulary), {@code <|nospeech|>} ({@code noSpeech}) and the task tokens (from
     * {@code task_to_id}; without it, the two before {@code <|startoflm|>}, where Whisper's vocabularies put them).
     * Ids of -1 (unknown) are left out.
     */
    static int[] controlTokens(WhisperConfig cfg, int prevSot, int noSpeech) {
        java.util.TreeSet<Integer> ids = new java.util.TreeSet<>();
        ids.add(cfg.decoderStartTokenId());
        int eot = cfg.eosTokenId();
        if (prevSot >= 0) {
            ids.add(prevSot);
            if (prevSot - 1 > eot) {
                ids.add(prevSot - 1);
            }
        }
        if (noSpeech >= 0) {
            ids.add(noSpeech);
        }
        if (!cfg.taskToId().isEmpty()) {
            ids.addAll(cfg.taskToId().values());
        } else if (prevSot - 3 > eot) {
            ids.add(prevSot - 2);
            ids.add(prevSot - 3);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Filters {@code logits} (length vocab) for the next token after {@code sampled} (the tokens after the prompt). */
    void apply(float[] logits, int[] sampled, int nSampled) {
        final float ninf = Float.NEGATIVE_INFINITY;
        int v = logits.length;
        int eot = cfg.eosTokenId();
        if (nSampled == 0) {
            for (int t : cfg.beginSuppressTokens()) {
                if (t >= 0 && t < v) {
                    logits[t] = ninf;
                }
            }
        }
        for (int t : cfg.suppressTokens()) {
            if (t >= 0 && t < v) {
                logits[t] = ninf;
            }
        }
        for (int t : control) {
            if (t >= 0 && t < v) {
                logits[t] = ninf;
            }
        }
        if (!timestamps) {
            return;
        }
        int tsBegin = cfg.timestampBegin();
        logits[cfg.noTimestampsTokenId()] = ninf;
        boolean lastTs = nSampled >= 1 && sampled[nSampled - 1] >= tsBegin;
        boolean penultTs = nSampled < 2 || sampled[nSampled - 2] >= tsBegin;
        if (lastTs) {
            if (penultTs) {
                fill(logits, tsBegin, v, ninf);
            } else {
                fill(logits, 0, eot, ninf);
            }
        }
        int lastTimestamp = -1;
        for (int i = nSampled - 1; i >= 0; i--) {
            if (sampled[i] >= tsBegin) {
                lastTimestamp = sampled[i];
                break;
            }
        }
        if (lastTimestamp >= 0) {
            int floor = lastTs && !penultTs ? lastTimestamp : lastTimestamp + 1;
            fill(logits, tsBegin, Math.min(floor, v), ninf);
        }
        if (nSampled == 0) {
            fill(logits, 0, tsBegin, ninf);
            fill(logits, Math.min(v, tsBegin + cfg.maxInitialTimestampIndex() + 1), v, ninf);
        }
        // Force a timestamp when their total probability beats every text token.
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) {
            max = Math.max(max, x);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return;
        }
        double sumAll = 0;
        double sumTs = 0;
        double maxText = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < v; t++) {
            double e = Math.exp(logits[t] - max);
            sumAll += e;
            if (t >= tsBegin) {
                sumTs += e;
            } else {
                maxText = Math.max(maxText, logits[t]);
            }
        }
        double logZ = max + Math.log(sumAll);
        double lpTs = sumTs > 0 ? max + Math.log(sumTs) - logZ : Double.NEGATIVE_INFINITY;
        double lpMaxText = maxText - logZ;
        if (lpTs > lpMaxText) {
            fill(logits, 0, tsBegin, ninf);
        }
    }

    private static void fill(float[] a, int from, int to, float x) {
        for (int i = Math.max(0, from); i < Math.min(a.length, to); i++) {
            a[i] = x;
        }
    }
}
