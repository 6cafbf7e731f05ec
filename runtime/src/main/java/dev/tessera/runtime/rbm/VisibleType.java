package dev.tessera.runtime.rbm;

/** The kind of visible units of an RBM (hidden units are always binary). */
public enum VisibleType {
    /** Binary units: p(v_i = 1 | h) = sigmoid(b_i + W_i. h). Data in [0, 1] (probabilities are accepted). */
    BINARY(0),
    /** Real-valued units of unit variance: v_i | h ~ N(b_i + W_i. h, 1). Standardise the data first. */
    GAUSSIAN(1),
    /**
     * Replicated softmax (Salakhutdinov &amp; Hinton 2009): a row holds word counts with total D; v | h is
     * D draws from softmax(b + W h) and the hidden biases are scaled by D.
     */
    SOFTMAX(2);

    private final int code;

    VisibleType(int code) {
        this.code = code;
    }

    /** The {@code TSR_RBM_*} code of {@code tessera/rbm.h}. */
    public int code() {
        return code;
    }
}
