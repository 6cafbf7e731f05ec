package dev.tessera.models.vit;

import dev.tessera.models.nn.HfConfig;
import java.nio.file.Path;

/**
 * Class probabilities from a classifier's logits as transformers' classification pipelines show them: the softmax
 * of a row, or a sigmoid per class when the checkpoint has one class ({@code num_labels: 1}) or is a multi-label
 * classifier ({@code problem_type: multi_label_classification}); and the top-k classes of a row. Shared by
 * {@code tessera classify} and the Spark image classifier so that both report the same numbers.
 */
public final class ClassScores {
    private ClassScores() {}

    /** Whether the model directory's head is read with a sigmoid per class (see the class comment). */
    public static boolean sigmoidHead(Path modelDir, int classes) {
        return classes == 1 || HfConfig.read(modelDir).getString("problem_type", "")
                .equals("multi_label_classification");
    }

    /** The probabilities of {@code logits[off, off + n)}: softmax (in double), or a sigmoid per class. */
    public static float[] probabilities(float[] logits, int off, int n, boolean sigmoid) {
        float[] p = new float[n];
        if (sigmoid) {
            for (int j = 0; j < n; j++) {
                p[j] = (float) (1 / (1 + Math.exp(-logits[off + j])));
            }
            return p;
        }
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            m = Math.max(m, logits[off + j]);
        }
        double s = 0;
        for (int j = 0; j < n; j++) {
            p[j] = (float) Math.exp(logits[off + j] - m);
            s += p[j];
        }
        for (int j = 0; j < n; j++) {
            p[j] /= s;
        }
        return p;
    }

    /** The indices of the {@code min(k, p.length)} largest values, largest first (ties: lower index first). */
    public static int[] top(float[] p, int k) {
        Integer[] order = new Integer[p.length];
        for (int j = 0; j < p.length; j++) {
            order[j] = j;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(p[b], p[a]));
        int[] t = new int[Math.min(k, p.length)];
        for (int j = 0; j < t.length; j++) {
            t[j] = order[j];
        }
        return t;
    }
}
