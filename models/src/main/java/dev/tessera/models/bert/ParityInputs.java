package dev.tessera.models.bert;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Token-id inputs spanning 1 to the encoder's maximum length, built from a list of sentences: the 1-token and
 * 2-token extremes ({@code [CLS]}, {@code [CLS] [SEP]}), every sentence alone, then windows of 2 to 30 consecutive
 * sentences (truncated by the tokenizer) until {@code count} inputs. The input set of the MiniLM parity checks
 * against ONNX Runtime (models' tests, {@code bench/gpu}'s CUDA check), deterministic for a given sentence list.
 */
public final class ParityInputs {
    private static final int[] WINDOWS = {2, 2, 3, 3, 4, 6, 9, 30};

    private ParityInputs() {}

    /**
     * {@code count} inputs (at least {@code lines.size() + 2}); {@code tokenize} gives the ids of a text with
     * special tokens, truncated to the model's length (e.g. {@link SentenceEncoder#tokenize}).
     */
    public static List<int[]> of(List<String> lines, int count, Function<String, int[]> tokenize) {
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("no sentences");
        }
        List<int[]> out = new ArrayList<>();
        out.add(new int[] {101});
        out.add(new int[] {101, 102});
        for (String l : lines) {
            out.add(tokenize.apply(l));
        }
        int n = lines.size();
        for (int i = 0; out.size() < count; i++) {
            int w = WINDOWS[i % WINDOWS.length];
            int start = (i * 7) % n;
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < w; j++) {
                sb.append(lines.get((start + j) % n)).append(' ');
            }
            out.add(tokenize.apply(sb.toString()));
        }
        return out;
    }

    /** The non-blank lines of a sentences file's text that do not start with {@code #}, trimmed. */
    public static List<String> sentences(String text) {
        List<String> lines = new ArrayList<>();
        for (String l : text.split("\n")) {
            if (!l.isBlank() && !l.startsWith("#")) {
                lines.add(l.trim());
            }
        }
        return lines;
    }
}
