package dev.tessera.models.dbm;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.util.SplittableRandom;

/**
 * The independent digit classifier that scores generated images: a one-hidden-layer perceptron on raw
 * pixels (inputSize → hidden ReLU units → classes, softmax), trained by us on real training images only
 * (each epoch every image moved by a random whole-pixel shift), never on anything the DBN produced.
 * Mini-batch SGD with momentum 0.9 and L2 decay; the two large products of each step run on the
 * runtime's matmul, the rest on the host. Deterministic for a seed. Immutable once trained.
 */
public final class PixelMlp implements DigitClassifier {
    private final float[] w1; // [d, h]
    private final float[] b1; // [h]
    private final float[] w2; // [h, c]
    private final float[] b2; // [c]
    private final int d;
    private final int h;
    private final int c;

    private PixelMlp(float[] w1, float[] b1, float[] w2, float[] b2, int d, int h, int c) {
        this.w1 = w1;
        this.b1 = b1;
        this.w2 = w2;
        this.b2 = b2;
        this.d = d;
        this.h = h;
        this.c = c;
    }

    /** A classifier from its parameters: {@code w1 [d·h]}, {@code b1 [h]}, {@code w2 [h·c]}, {@code b2 [c]} (row-major). */
    public static PixelMlp of(float[] w1, float[] b1, float[] w2, float[] b2) {
        int h = b1.length;
        int c = b2.length;
        if (h < 1 || c < 2 || w1.length % h != 0 || w1.length == 0 || w2.length != h * c) {
            throw new IllegalArgumentException("PixelMlp: parameter sizes do not fit together: w1 " + w1.length + ", b1 " + h
                    + ", w2 " + w2.length + ", b2 " + c);
        }
        return new PixelMlp(w1.clone(), b1.clone(), w2.clone(), b2.clone(), w1.length / h, h, c);
    }

    /**
     * Trains on images {@code x [n][side·side]} in [0, 1] with labels in [0, classes): {@code epochs} epochs,
     * each image shifted by a random offset in [-shift, shift]² every epoch (shift 0: no augmentation).
     */
    public static PixelMlp train(float[][] x, int[] y, int classes, int hidden, int epochs, int shift, long seed) {
        if (x.length == 0 || x.length != y.length) {
            throw new IllegalArgumentException("PixelMlp.train: " + x.length + " images but " + y.length + " labels");
        }
        if (hidden < 1 || epochs < 1 || classes < 2 || shift < 0) {
            throw new IllegalArgumentException("PixelMlp.train: hidden, epochs >= 1, classes >= 2, shift >= 0 needed");
        }
        int d = x[0].length;
        int side = (int) Math.round(Math.sqrt(d));
        if (side * side != d) {
            shift = 0;
        }
        for (int label : y) {
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException("PixelMlp.train: label " + label + " outside [0, " + classes + ")");
            }
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] w1 = new float[d * hidden];
        float[] w2 = new float[hidden * classes];
        double s1 = Math.sqrt(2.0 / d);
        double s2 = Math.sqrt(1.0 / hidden);
        for (int i = 0; i < w1.length; i++) {
            w1[i] = (float) (rnd.nextGaussian() * s1);
        }
        for (int i = 0; i < w2.length; i++) {
            w2[i] = (float) (rnd.nextGaussian() * s2);
        }
        float[] b1 = new float[hidden];
        float[] b2 = new float[classes];
        float[] vw1 = new float[w1.length];
        float[] vb1 = new float[hidden];
        float[] vw2 = new float[w2.length];
        float[] vb2 = new float[classes];
        int n = x.length;
        int batch = Math.min(100, n);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        float decay = 1e-4f;
        float[] xb = new float[batch * d];
        float[] hid = new float[batch * hidden];
        float[] g = new float[batch * classes];
        float[] dh = new float[batch * hidden];
        for (int e = 0; e < epochs; e++) {
            float[][] data = shift == 0 ? x : Augment.shiftAll(x, side, shift, seed * 31L + e + 1);
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            float lr = (float) (0.05 / (1 + 4.0 * e / epochs));
            try (Tensor tw1 = Tensor.of(w1, Device.CPU, d, hidden)) {
                for (int s = 0; s + batch <= n; s += batch) {
                    for (int r = 0; r < batch; r++) {
                        System.arraycopy(data[order[s + r]], 0, xb, r * d, d);
                    }
                    float[] pre;
                    try (Tensor tx = Tensor.of(xb, Device.CPU, batch, d); Tensor th = Ops.matmul(tx, tw1)) {
                        pre = th.toFloatArray();
                    }
                    for (int r = 0; r < batch; r++) {
                        for (int k = 0; k < hidden; k++) {
                            float v = pre[r * hidden + k] + b1[k];
                            hid[r * hidden + k] = v > 0 ? v : 0;
                        }
                        softmaxRow(hid, r, hidden, w2, b2, classes, g, r);
                        g[r * classes + y[order[s + r]]] -= 1;
                        for (int k = 0; k < classes; k++) {
                            g[r * classes + k] /= batch;
                        }
                        for (int k = 0; k < hidden; k++) {
                            float sum = 0;
                            if (hid[r * hidden + k] > 0) {
                                for (int q = 0; q < classes; q++) {
                                    sum += g[r * classes + q] * w2[k * classes + q];
                                }
                            }
                            dh[r * hidden + k] = sum;
                        }
                    }
                    float[] gw1;
                    try (Tensor tx = Tensor.of(xb, Device.CPU, batch, d); Tensor txT = tx.t();
                            Tensor tdh = Tensor.of(dh, Device.CPU, batch, hidden); Tensor gw = Ops.matmul(txT, tdh)) {
                        gw1 = gw.toFloatArray();
                    }
                    for (int k = 0; k < hidden; k++) {
                        for (int q = 0; q < classes; q++) {
                            float gr = 0;
                            for (int r = 0; r < batch; r++) {
                                gr += hid[r * hidden + k] * g[r * classes + q];
                            }
                            int i = k * classes + q;
                            vw2[i] = 0.9f * vw2[i] - lr * (gr + decay * w2[i]);
                            w2[i] += vw2[i];
                        }
                    }
                    biasStep(g, batch, classes, vb2, b2, lr);
                    biasStep(dh, batch, hidden, vb1, b1, lr);
                    for (int i = 0; i < w1.length; i++) {
                        vw1[i] = 0.9f * vw1[i] - lr * (gw1[i] + decay * w1[i]);
                        w1[i] += vw1[i];
                    }
                    tw1.copyFrom(w1);
                }
            }
        }
        return new PixelMlp(w1, b1, w2, b2, d, hidden, classes);
    }

    /** Momentum step of a bias from the per-row gradients {@code grad [rows, n]} (summed over the rows). */
    private static void biasStep(float[] grad, int rows, int n, float[] velocity, float[] bias, float lr) {
        for (int q = 0; q < n; q++) {
            float gr = 0;
            for (int r = 0; r < rows; r++) {
                gr += grad[r * n + q];
            }
            velocity[q] = 0.9f * velocity[q] - lr * gr;
            bias[q] += velocity[q];
        }
    }

    /** Softmax of row r's output layer (hidden activations {@code hid[r·h ..]}) into {@code out[o·c ..]}. */
    private static void softmaxRow(float[] hid, int r, int h, float[] w2, float[] b2, int c, float[] out, int o) {
        double max = Double.NEGATIVE_INFINITY;
        double[] z = new double[c];
        for (int q = 0; q < c; q++) {
            double s = b2[q];
            for (int k = 0; k < h; k++) {
                s += hid[r * h + k] * w2[k * c + q];
            }
            z[q] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int q = 0; q < c; q++) {
            z[q] = Math.exp(z[q] - max);
            sum += z[q];
        }
        for (int q = 0; q < c; q++) {
            out[o * c + q] = (float) (z[q] / sum);
        }
    }

    @Override
    public int[] predict(float[][] x) {
        for (int i = 0; i < x.length; i++) {
            if (x[i] == null || x[i].length != d) {
                throw new IllegalArgumentException("PixelMlp expects " + d + " pixels, row " + i + " has "
                        + (x[i] == null ? 0 : x[i].length));
            }
        }
        int[] out = new int[x.length];
        float[] prob = new float[c];
        try (Tensor tw1 = Tensor.of(w1, Device.CPU, d, h)) {
            for (int s = 0; s < x.length; s += 500) {
                int m = Math.min(500, x.length - s);
                float[] xb = new float[m * d];
                for (int r = 0; r < m; r++) {
                    System.arraycopy(x[s + r], 0, xb, r * d, d);
                }
                float[] hid;
                try (Tensor tx = Tensor.of(xb, Device.CPU, m, d); Tensor th = Ops.matmul(tx, tw1)) {
                    hid = th.toFloatArray();
                }
                for (int r = 0; r < m; r++) {
                    for (int k = 0; k < h; k++) {
                        float v = hid[r * h + k] + b1[k];
                        hid[r * h + k] = v > 0 ? v : 0;
                    }
                    softmaxRow(hid, r, h, w2, b2, c, prob, 0);
                    int best = 0;
                    for (int q = 1; q < c; q++) {
                        if (prob[q] > prob[best]) {
                            best = q;
                        }
                    }
                    out[s + r] = best;
                }
            }
        }
        return out;
    }

    @Override
    public int inputSize() {
        return d;
    }

    /** Hidden units. */
    public int hiddenSize() {
        return h;
    }

    /** Output classes. */
    public int classes() {
        return c;
    }

    /** Copies of the parameters {w1 [d·h], b1 [h], w2 [h·c], b2 [c]}, row-major. */
    public float[][] parameters() {
        return new float[][] {w1.clone(), b1.clone(), w2.clone(), b2.clone()};
    }
}
