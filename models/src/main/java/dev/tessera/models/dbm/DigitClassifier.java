package dev.tessera.models.dbm;

/** A classifier of feature rows into digit classes. */
public interface DigitClassifier {
    /** The most probable class of each row {@code x [n][inputSize]}. */
    int[] predict(float[][] x);

    /** Number of input features per row. */
    int inputSize();

    /** Fraction of rows predicted as their label. */
    default double accuracy(float[][] x, int[] y) {
        if (x.length != y.length || x.length == 0) {
            throw new IllegalArgumentException("accuracy: " + x.length + " rows but " + y.length + " labels");
        }
        int[] p = predict(x);
        int ok = 0;
        for (int i = 0; i < p.length; i++) {
            ok += p[i] == y[i] ? 1 : 0;
        }
        return (double) ok / p.length;
    }
}
