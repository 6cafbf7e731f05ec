package dev.tessera.models.nn;

import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Int8Linear;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PackedWeight;
import dev.tessera.runtime.Tensor;

/**
 * {@code y = act(x · Wᵀ + b) + residual} with a PyTorch-layout weight {@code [out, in]}; {@code bias} may be null.
 * {@code packed}, when present, is the same weight prepacked for the backend's GEMM ({@link PackedWeight}; on the
 * CPU: panels read by the native kernel, bias / activation / residual fused into the product) and is what
 * {@link #forward} multiplies. A layer made by {@link #take} with a packed form holds only that ({@code weight}
 * is null: the stored copy is freed once packed, so the model does not keep the weight twice). {@code int8}, when
 * present (a record {@link Weights#quantizeDynamic quantized for dynamic INT8}), is the weight as int8 per output
 * feature and {@link #forward} quantizes each row of its input to uint8 ({@link Int8Linear}, CPU).
 */
public record Linear(Tensor weight, Tensor bias, PackedWeight packed, Int8Linear int8) {

    /** A float layer, packed or not. */
    public Linear(Tensor weight, Tensor bias, PackedWeight packed) {
        this(weight, bias, packed, null);
    }

    /** An unpacked layer. */
    public Linear(Tensor weight, Tensor bias) {
        this(weight, bias, null, null);
    }

    /**
     * Takes {@code name.weight} {@code [out, in]} and, if {@code hasBias}, {@code name.bias} {@code [out]}, and
     * packs the weight where the backend has a packed form (F32 on the CPU). The packed copy is recorded in
     * {@code w} under {@code name.weight#packed}, so the model that owns {@link Weights#loaded()} frees it, and
     * the stored weight is then freed ({@link Weights#release}; kept when something else also took it, e.g. a
     * tied embedding), leaving {@link #weight()} null.
     */
    public static Linear take(Weights w, String name, long in, long out, boolean hasBias) {
        Linear l = takeUnpacked(w, name, in, out, hasBias);
        if (w.quantizesDynamic() && l.weight() != null) {
            Int8Linear q = quantized(w, name, l.weight());
            w.release(name + ".weight", l.weight());
            return new Linear(null, l.bias(), null, q);
        }
        PackedWeight p = packIfUseful(l.weight(), w.packedStorage());
        if (p == null) {
            return l;
        }
        w.own(name + ".weight#packed", p.buffer());
        Tensor kept = w.release(name + ".weight", l.weight()) ? null : l.weight();
        return new Linear(kept, l.bias(), p);
    }

    /**
     * One layer for several projections of the same input stacked along the output: takes
     * {@code names[i].weight} {@code [out, in]} (and {@code names[i].bias} {@code [out]} if {@code hasBias}) for
     * each name and returns {@code [names.length · out, in]} (e.g. query, key and value as one GEMM whose output
     * columns are q | k | v). The stacked weight is packed where the backend has a packed form and only that
     * copy is kept; the parts are freed ({@link Weights#release}). Everything kept is recorded in {@code w}. When
     * a part is missing or misshapen the result is an empty placeholder and {@link Weights#finish()} reports it.
     */
    public static Linear takeStacked(Weights w, long in, long out, boolean hasBias, String... names) {
        if (names.length == 0) {
            throw new IllegalArgumentException("Linear.takeStacked: no names");
        }
        Linear[] parts = new Linear[names.length];
        boolean complete = true;
        for (int i = 0; i < names.length; i++) {
            parts[i] = takeUnpacked(w, names[i], in, out, hasBias);
            complete &= parts[i].weight() != null && (!hasBias || parts[i].bias() != null);
        }
        if (!complete) {
            return new Linear(null, null, null);
        }
        Tensor[] ws = new Tensor[names.length];
        Tensor[] bs = new Tensor[names.length];
        for (int i = 0; i < names.length; i++) {
            ws[i] = parts[i].weight();
            bs[i] = parts[i].bias();
        }
        String key = names[0] + "#stacked";
        Tensor weight = names.length == 1 ? ws[0] : Ops.concat(0, ws);
        Tensor bias = !hasBias ? null : names.length == 1 ? bs[0] : Ops.concat(0, bs);
        PackedWeight p;
        Int8Linear q = null;
        try {
            if (w.quantizesDynamic()) {
                q = quantized(w, key, weight);
                p = null;
            } else {
                p = packIfUseful(weight, w.packedStorage());
            }
        } catch (RuntimeException e) {
            if (weight != ws[0]) {
                weight.close();
            }
            throw e;
        }
        if (p != null || q != null) {
            if (p != null) {
                w.own(key + ".weight#packed", p.buffer());
            }
            if (weight != ws[0]) {
                weight.close();
            }
            weight = null;
        } else if (weight != ws[0]) {
            w.own(key + ".weight", weight);
        }
        if (bias != null && bias != bs[0]) {
            w.own(key + ".bias", bias);
        }
        for (int i = 0; i < names.length; i++) {
            if (ws[i] != weight) {
                w.release(names[i] + ".weight", ws[i]);
            }
            if (bs[i] != null && bs[i] != bias) {
                w.release(names[i] + ".bias", bs[i]);
            }
        }
        return new Linear(weight, bias, p, q);
    }

    /** {@code weight} quantized for dynamic INT8; its native tensors recorded in {@code w} (the model frees them). */
    private static Int8Linear quantized(Weights w, String name, Tensor weight) {
        Int8Linear q = Int8Linear.quantize(weight);
        int i = 0;
        for (Tensor t : q.tensors()) {
            w.own(name + ".weight#int8." + i++, t);
        }
        return q;
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
        return packIfUseful(weight, null);
    }

    /**
     * As {@link #packIfUseful(Tensor)} with the packed elements held as {@code storage} where the backend has that
     * form (null or unsupported: as the weight is).
     */
    public static PackedWeight packIfUseful(Tensor weight, dev.tessera.runtime.DType storage) {
        if (weight == null) {
            return null;
        }
        PackedWeight p = storage != null && storage != weight.dtype() && weight.numel() > 0
                ? PackedWeight.packIfStorable(weight, storage) : null;
        if (p == null) {
            p = PackedWeight.pack(weight);
        }
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
        if (int8 != null) { // each row of x quantized on its own (batch-independent)
            return int8.forward(x, bias, act, residual == null || residual.isContiguous() ? residual
                    : residual.contiguous(), 1, null);
        }
        return packed != null ? Ops.linear(x, packed, bias, act, residual)
                : Ops.linear(x, weight, bias, act, residual);
    }

    /** {@code x · Wᵀ + b + residual}. */
    public Tensor forwardAdd(Tensor x, Tensor residual) {
        return forward(x, FusedActivation.NONE, residual);
    }

    public long in() {
        return int8 != null ? int8.in() : packed != null ? packed.in() : weight.dim(1);
    }

    public long out() {
        return int8 != null ? int8.out() : packed != null ? packed.out() : weight.dim(0);
    }
}
