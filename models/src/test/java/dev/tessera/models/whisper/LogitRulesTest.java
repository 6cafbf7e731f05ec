package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Which tokens the logit rules take away, against openai-whisper's decoder (the list its {@code _get_suppress_tokens}
 * builds and its {@code ApplyTimestampRules}) on the synthetic vocabulary of make_fixtures.py: 0..299 text, 300
 * {@code <|endoftext|>}, 301 {@code <|startoftranscript|>}, 302/303 languages, 304/305 tasks, 306
 * {@code <|startoflm|>}, 307 {@code <|startofprev|>}, 308 {@code <|nospeech|>}, 309 {@code <|notimestamps|>}, 310..
 * timestamps.
 */
class LogitRulesTest {
    private static final int V = 310 + 51;

    private static WhisperConfig config(Map<String, Integer> tasks) {
        return new WhisperConfig(8, 1, 1, 8, 1, 1, 8, 80, 50, 32, V, 301, 300, new int[] {5, 9}, new int[] {0, 300},
                309, Map.of("en", 302, "de", 303), tasks, true, 50);
    }

    /** The ids set to -inf for the next token after {@code sampled}. */
    private static TreeSet<Integer> suppressed(LogitRules rules, int... sampled) {
        float[] logits = new float[V];
        for (int i = 0; i < V; i++) {
            logits[i] = (float) Math.sin(i); // text tokens lead: no timestamp is forced
        }
        logits[7] = 50;
        rules.apply(logits, sampled, sampled.length);
        TreeSet<Integer> out = new TreeSet<>();
        for (int i = 0; i < V; i++) {
            if (logits[i] == Float.NEGATIVE_INFINITY) {
                out.add(i);
            }
        }
        return out;
    }

    private static TreeSet<Integer> ids(int... xs) {
        TreeSet<Integer> s = new TreeSet<>();
        for (int x : xs) {
            s.add(x);
        }
        return s;
    }

    @Test
    void withoutTimestampsOnlySuppressTokensAndTheControlTokens() {
        WhisperConfig cfg = config(Map.of("translate", 304, "transcribe", 305));
        LogitRules rules = new LogitRules(cfg, false);
        // languages (302, 303), <|notimestamps|> and the timestamps stay: openai-whisper leaves them to the model
        assertEquals(ids(5, 9, 301, 304, 305, 306, 307, 308), suppressed(rules, 7, 8));
        assertEquals(ids(0, 5, 9, 300, 301, 304, 305, 306, 307, 308), suppressed(rules), "begin suppression too");
    }

    @Test
    void theTaskTokensWithoutTaskToIdSitBeforeStartOfLm() {
        assertEquals(ids(5, 9, 301, 304, 305, 306, 307, 308), suppressed(new LogitRules(config(Map.of()), false), 7));
    }

    @Test
    void withTimestampsNoTimestampsIsSuppressedAndTheRulesApply() {
        LogitRules rules = new LogitRules(config(Map.of("translate", 304, "transcribe", 305)), true);
        TreeSet<Integer> after = suppressed(rules, 310 + 4, 7); // an opening timestamp, then text: monotonic from 4 on
        TreeSet<Integer> expected = ids(5, 9, 301, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314);
        assertEquals(expected, after);
        TreeSet<Integer> first = suppressed(rules); // the first token: a timestamp of at most 50 steps
        for (int t = 0; t < 310; t++) {
            assertEquals(true, first.contains(t), "text token " + t + " at the first step");
        }
        assertEquals(false, first.contains(310 + 50));
    }
}
