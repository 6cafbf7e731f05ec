package dev.tessera.models.nn;

import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PackedWeight;
import dev.tessera.runtime.Tensor;

/**
 * {@code y = act(x · Wᵀ + b) + residual} with a PyTorch-layout weight {@code [out, in]}; {@code bias} may be null.
 * {@code packed}, when present, is the same weight prepacked for the backend's GEMM ({@link PackedWeight}; on the
 * CPU: panels read by the native kernel, bias / activation / residual fused into the product) and is what
 * {@link #forward} multiplies; {@code weight} stays available as stored.
 */
public record Linear(Tensor weight, Tensor bias, PackedWeight packed) {

    /** An unpacked layer. */
    public Linear(Tensor weight, Tensor bias) {
        this(weight, bias, null);
    }

    /**
     * Takes {@code name.weight} {@code [out, in]} and, if {@code hasBias}, {@code name.bias} {@code [out]}, and
     * packs the weight where the backend has a packed form (F32 on the CPU). The packed copy is recorded in
     * {@code w} under {@code name.weight#packed}, so the model that owns {@link Weights#loaded()} frees it.
     */
    public static Linear take(Weights w, String name, long in, long out, boolean hasBias) {
        Linear l = takeUnpacked(w, name, in, out, hasBias);
        PackedWeight p = packIfUseful(l.weight());
        if (p != null) {
            w.own(name + ".weight#packed", p.buffer());
        }
        return new Linear(l.weight(), l.bias(), p);
    }

    /** As {@link #take} without packing (for a weight that is only an input to another, e.g. concatenated). */
    public static Linear takeUnpacked(Weights w, String name, long in, long out, boolean hasBias) {
        return new Linear(w.take(name + ".weight", out, in), hasBias ? w.take(name + ".bias", out) : null);
    }

    /**
     * The packed form of {@code weight} when its backend has one (else null), owned by the caller: close it, or
     * its {@link PackedWeight#buffer()}, with the model.
     */
    public static PackedWeight packIfUseful(Tensor weight) {
        if (weight == null) {
            return null;
        }
        PackedWeight p = PackedWeight.pack(weight);
        if (!p.isPacked()) {
            p.close();
            return null;
        }
        return p;
    }

    public Tensor forward(Tensor x) {
        return forward(x, FusedActivation.NONE, null);
    }

    /** {@code act(x · Wᵀ + b)}. */
    public Tensor forward(Tensor x, FusedActivation act) {
        return forward(x, act, null);
    }

    /** {@code act(x · Wᵀ + b) + residual} (residual: x's shape with the last dim {@link #out()}; may be null). */
    public Tensor forward(Tensor x, FusedActivation act, Tensor residual) {
        return packed != null ? Ops.linear(x, packed, bias, act, residual)
                : Ops.linear(x, weight, bias, act, residual);
    }

    /** {@code x · Wᵀ + b + residual}. */
    public Tensor forwardAdd(Tensor x, Tensor residual) {
        return forward(x, FusedActivation.NONE, residual);
    }

    public long in() {
        return packed != null ? packed.in() : weight.dim(1);
    }

    public long out() {
        return packed != null ? packed.out() : weight.dim(0);
    }
}
