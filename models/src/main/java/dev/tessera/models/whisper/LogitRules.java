package dev.tessera.models.whisper;

/**
 * Whisper's rules on the next-token logits (applied on the host, in place, before argmax or sampling):
 * <ul>
 *   <li>{@code suppress_tokens} never, and special tokens other than {@code <|endoftext|>} and the timestamps
 *       never (language, task and other control tokens are only ever part of the prompt);</li>
 *   <li>{@code begin_suppress_tokens} (blank, EOT) not as the first sampled token;</li>
 *   <li>without timestamps, no timestamp token; with timestamps, never {@code <|notimestamps|>}, and timestamps
 *       come in pairs (after a closing pair text follows; after an opening one another timestamp or EOT),
 *       never go backwards, the first token is a timestamp of at most {@code max_initial_timestamp_index}, and
 *       when the timestamps' total probability beats every single text token a timestamp is forced.</li>
 * </ul>
 * These are the rules of the reference implementation, in the same order.
 */
final class LogitRules {
    private final WhisperConfig cfg;
    private final boolean timestamps;

    LogitRules(WhisperConfig cfg, boolean timestamps) {
        if (timestamps && cfg.timestampBegin() < 0) {
            throw new IllegalArgumentException("this checkpoint has no timestamp tokens (no_timestamps_token_id unknown)");
        }
        if (timestamps && cfg.timestampBegin() >= cfg.vocabSize()) { // every logit would be masked at the first step
            throw new IllegalArgumentException("this checkpoint has no timestamp tokens (its vocabulary of "
                    + cfg.vocabSize() + " ends at <|notimestamps|>): transcribe without timestamps");
        }
        this.cfg = cfg;
        this.timestamps = timestamps;
    }

    /** Filters {@code logits} (length vocab) for the next token after {@code sampled} (the tokens after the prompt). */
    void apply(float[] logits, int[] sampled, int nSampled) {
        final float ninf = Float.NEGATIVE_INFINITY;
        int v = logits.length;
        int eot = cfg.eosTokenId();
        int tsBegin = timestamps ? cfg.timestampBegin() : (cfg.timestampBegin() < 0 ? v : cfg.timestampBegin());
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
        int specialEnd = cfg.timestampBegin() < 0 ? v : cfg.timestampBegin();
        for (int t = eot + 1; t < specialEnd; t++) {
            logits[t] = ninf;
        }
        if (!timestamps) {
            for (int t = tsBegin; t < v; t++) {
                logits[t] = ninf;
            }
            return;
        }
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
