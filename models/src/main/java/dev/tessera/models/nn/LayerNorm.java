package dev.tessera.models.nn;

import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;

/** Layer normalisation over the last dimension with HF names {@code name.weight} and {@code name.bias}. */
public record LayerNorm(Tensor gamma, Tensor beta, float eps) {

    public static LayerNorm take(Weights w, String name, long width, double eps) {
        return new LayerNorm(w.take(name + ".weight", width), w.take(name + ".bias", width), (float) eps);
    }

    public Tensor forward(Tensor x) {
        return Ops.layerNorm(x, gamma, beta, eps);
    }
}
