package dev.tessera.models.dbm;

import java.util.SplittableRandom;

/**
 * Multinomial logistic regression (softmax readout) trained by mini-batch gradient descent with momentum
 * and L2 decay, in float64 on the host. Deterministic for a seed.
 */
public final class Readout implements DigitClassifier {
    private final double[][] w; // [classes][dim + 1], last column = bias
    private final int dim;

    private Readout(double[][] w, int dim) {
        this.w = w;
        this.dim = dim;
    }

    /** Trains on {@code x [n][dim]} with labels in [0, classes). */
    public static Readout train(float[][] x, int[] y, int classes, int epochs, double lr, double decay, long seed) {
        if (x.length == 0 || x.length != y.length) {
            throw new IllegalArgumentException("readout: " + x.length + " rows but " + y.length + " labels");
        }
        int dim = x[0].length;
        double[][] w = new double[classes][dim + 1];
        double[][] vel = new double[classes][dim + 1];
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = x.length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int batch = 50;
        double[] p = new double[classes];
        double[][] g = new double[classes][dim + 1];
        for (int e = 0; e < epochs; e++) {
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            double rate = lr / (1 + 0.1 * e);
            for (int s = 0; s < n; s += batch) {
                int end = Math.min(n, s + batch);
                for (double[] r : g) {
                    java.util.Arrays.fill(r, 0);
                }
                for (int b = s; b < end; b++) {
                    float[] xi = x[order[b]];
                    probs(w, xi, dim, p);
                    p[y[order[b]]] -= 1;
                    for (int c = 0; c < classes; c++) {
                        double pc = p[c];
                        double[] gc = g[c];
                        for (int k = 0; k < dim; k++) {
                            gc[k] += pc * xi[k];
                        }
                        gc[dim] += pc;
                    }
                }
                int m = end - s;
                for (int c = 0; c < classes; c++) {
                    for (int k = 0; k <= dim; k++) {
                        double grad = g[c][k] / m + (k < dim ? decay * w[c][k] : 0);
                        vel[c][k] = 0.9 * vel[c][k] - rate * grad;
                        w[c][k] += vel[c][k];
                    }
                }
            }
        }
        return new Readout(w, dim);
    }

    private static void probs(double[][] w, float[] x, int dim, double[] p) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < w.length; c++) {
            double s = w[c][dim];
            double[] wc = w[c];
            for (int k = 0; k < dim; k++) {
                s += wc[k] * x[k];
            }
            p[c] = s;
            max = Math.max(max, s);
        }
        double z = 0;
        for (int c = 0; c < p.length; c++) {
            p[c] = Math.exp(p[c] - max);
            z += p[c];
        }
        for (int c = 0; c < p.length; c++) {
            p[c] /= z;
        }
    }

    /** The most probable class of each row. */
    @Override
    public int[] predict(float[][] x) {
        int[] out = new int[x.length];
        double[] p = new double[w.length];
        for (int i = 0; i < x.length; i++) {
            if (x[i].length != dim) {
                throw new IllegalArgumentException("readout expects " + dim + " features, row " + i + " has " + x[i].length);
            }
            probs(w, x[i], dim, p);
            int best = 0;
            for (int c = 1; c < p.length; c++) {
                if (p[c] > p[best]) {
                    best = c;
                }
            }
            out[i] = best;
        }
        return out;
    }


    /** Number of input features. */
    public int dim() {
        return dim;
    }

    @Override
    public int inputSize() {
        return dim;
    }

    /** The parameters as a row-major {@code [classes, dim + 1]} array (last column: bias). */
    public float[] toArray() {
        float[] out = new float[w.length * (dim + 1)];
        for (int c = 0; c < w.length; c++) {
            for (int k = 0; k <= dim; k++) {
                out[c * (dim + 1) + k] = (float) w[c][k];
            }
        }
        return out;
    }

    /** A readout from {@link #toArray} of {@code classes} rows. */
    public static Readout of(float[] a, int classes) {
        if (classes < 1 || a.length % classes != 0 || a.length / classes < 2) {
            throw new IllegalArgumentException("readout parameters of " + a.length + " values do not split into "
                    + classes + " classes");
        }
        int dim = a.length / classes - 1;
        double[][] w = new double[classes][dim + 1];
        for (int c = 0; c < classes; c++) {
            for (int k = 0; k <= dim; k++) {
                w[c][k] = a[c * (dim + 1) + k];
            }
        }
        return new Readout(w, dim);
    }
}
