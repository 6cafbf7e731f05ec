package dev.tessera.runtime.rbm;

import dev.tessera.runtime.Tensor;

/**
 * A contrastive-divergence estimate of the log-likelihood gradient (the ascent direction), averaged
 * over the batch: {@code weights [nv, nh] = <v h>_data - <v h>_model}, {@code visibleBias [nv]},
 * {@code hiddenBias [nh]}; sparsity terms included when configured, weight decay not. Owns its tensors.
 */
public record RbmGradient(Tensor weights, Tensor visibleBias, Tensor hiddenBias) implements AutoCloseable {
    @Override
    public void close() {
        weights.close();
        visibleBias.close();
        hiddenBias.close();
    }
}
