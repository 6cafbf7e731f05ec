package dev.tessera.runtime.rbm;

/**
 * Hyper-parameters of contrastive-divergence training ({@link ContrastiveDivergence}); immutable, checked
 * on construction ({@link IllegalArgumentException} naming the bad value).
 *
 * @param visibleType    the visible units (hidden units are binary)
 * @param k              Gibbs steps per update, at least 1 (CD-k / PCD-k)
 * @param persistent     persistent CD: the negative phase continues fantasy chains kept on the device
 *                       between steps instead of restarting from the data
 * @param chains         number of persistent chains (0: the batch size of the first step)
 * @param learningRate   step size, finite and &gt;= 0
 * @param momentum       in [0, 1): velocity = momentum velocity + learningRate (gradient - decay W)
 * @param weightDecay    L2 decay of the weights (not the biases), finite and &gt;= 0
 * @param sparsityTarget target mean activation q of each hidden unit, in (0, 1) (used when the cost is &gt; 0)
 * @param sparsityCost   cost λ of the sparsity penalty, &gt;= 0 (0: off). Adds λ (q - mean_n p(h_j | v_n)) to
 *                       the hidden-bias gradient and that times mean_n v_ni to the weight gradient.
 * @param seed           Philox seed: the same seed gives the same training run on the same backend
 */
public record RbmConfig(VisibleType visibleType, int k, boolean persistent, int chains, float learningRate,
        float momentum, float weightDecay, float sparsityTarget, float sparsityCost, long seed) {

    public RbmConfig {
        if (visibleType == null) {
            throw new IllegalArgumentException("RbmConfig: visibleType must not be null");
        }
        if (k < 1) {
            throw new IllegalArgumentException("RbmConfig: k (Gibbs steps) must be >= 1, got " + k);
        }
        if (chains < 0) {
            throw new IllegalArgumentException("RbmConfig: chains must be >= 0 (0 = batch size), got " + chains);
        }
        if (!(learningRate >= 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("RbmConfig: learningRate must be finite and >= 0, got " + learningRate);
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("RbmConfig: momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("RbmConfig: weightDecay must be finite and >= 0, got " + weightDecay);
        }
        if (!(sparsityCost >= 0) || Float.isInfinite(sparsityCost)) {
            throw new IllegalArgumentException("RbmConfig: sparsityCost must be finite and >= 0, got " + sparsityCost);
        }
        if (sparsityCost > 0 && !(sparsityTarget > 0 && sparsityTarget < 1)) {
            throw new IllegalArgumentException("RbmConfig: sparsityTarget must be in (0, 1) when sparsityCost > 0, got "
                    + sparsityTarget);
        }
    }

    /** Binary visible units, CD-1, learning rate 0.1, no momentum, decay or sparsity, seed 1. */
    public static RbmConfig defaults() {
        return new RbmConfig(VisibleType.BINARY, 1, false, 0, 0.1f, 0f, 0f, 0f, 0f, 1L);
    }

    public RbmConfig withVisibleType(VisibleType t) {
        return new RbmConfig(t, k, persistent, chains, learningRate, momentum, weightDecay, sparsityTarget,
                sparsityCost, seed);
    }

    public RbmConfig withK(int newK) {
        return new RbmConfig(visibleType, newK, persistent, chains, learningRate, momentum, weightDecay,
                sparsityTarget, sparsityCost, seed);
    }

    /** Persistent CD with {@code n} chains (0: the batch size). */
    public RbmConfig withPersistent(boolean p, int n) {
        return new RbmConfig(visibleType, k, p, n, learningRate, momentum, weightDecay, sparsityTarget, sparsityCost,
                seed);
    }

    public RbmConfig withLearningRate(float lr) {
        return new RbmConfig(visibleType, k, persistent, chains, lr, momentum, weightDecay, sparsityTarget,
                sparsityCost, seed);
    }

    public RbmConfig withMomentum(float m) {
        return new RbmConfig(visibleType, k, persistent, chains, learningRate, m, weightDecay, sparsityTarget,
                sparsityCost, seed);
    }

    public RbmConfig withWeightDecay(float d) {
        return new RbmConfig(visibleType, k, persistent, chains, learningRate, momentum, d, sparsityTarget,
                sparsityCost, seed);
    }

    public RbmConfig withSparsity(float target, float cost) {
        return new RbmConfig(visibleType, k, persistent, chains, learningRate, momentum, weightDecay, target, cost,
                seed);
    }

    public RbmConfig withSeed(long s) {
        return new RbmConfig(visibleType, k, persistent, chains, learningRate, momentum, weightDecay, sparsityTarget,
                sparsityCost, s);
    }
}
