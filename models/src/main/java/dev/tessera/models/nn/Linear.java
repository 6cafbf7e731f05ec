package dev.tessera.models.nn;

import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;

/** {@code y = x · Wᵀ + b} with a PyTorch-layout weight {@code [out, in]}; {@code bias} may be null. */
public record Linear(Tensor weight, Tensor bias) {

    /** Takes {@code name.weight} {@code [out, in]} and, if {@code hasBias}, {@code name.bias} {@code [out]}. */
    public static Linear take(Weights w, String name, long in, long out, boolean hasBias) {
        return new Linear(w.take(name + ".weight", out, in), hasBias ? w.take(name + ".bias", out) : null);
    }

    public Tensor forward(Tensor x) {
        return Ops.linear(x, weight, bias);
    }

    public long in() {
        return weight.dim(1);
    }

    public long out() {
        return weight.dim(0);
    }
}
