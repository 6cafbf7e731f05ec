package dev.tessera.runtime;

/**
 * A linear layer's weight {@code [out, in]} (PyTorch layout) in the form its backend multiplies fastest, made
 * once when a model loads and used by {@link Ops#linear(Tensor, PackedWeight, Tensor, FusedActivation, Tensor)}
 * on every call. On the CPU an F32 weight is copied into panels of 32 output columns (see
 * {@code native/include/tessera/gemm.h}), so a call packs nothing of the weight: the same panels serve
 * many-row products and the decode path (one row, the weight streamed once). On other backends and dtypes
 * it holds a view of the weight (no copy).
 *
 * <p>The packed copy does not need the original afterwards: the owner may close the weight tensor once it is
 * packed (on backends without a packed form this object keeps its own reference to the weight's storage).
 * Closing frees the packed copy; like a tensor, a packed weight made inside a {@link Scope} belongs to it.
 */
public final class PackedWeight implements AutoCloseable {
    private final Tensor data;      // the packed copy, or a view of the weight
    private final boolean packed;
    private final long out;
    private final long in;
    private final DType dtype;

    private PackedWeight(Tensor data, boolean packed, long out, long in, DType dtype) {
        this.data = data;
        this.packed = packed;
        this.out = out;
        this.in = in;
        this.dtype = dtype;
    }

    /**
     * Packs {@code weight} [out, in] (any strides) for its backend.
     *
     * @throws IllegalArgumentException if weight is null, closed, not 2-D or not floating point
     */
    public static PackedWeight pack(Tensor weight) {
        return pack(weight, null);
    }

    /**
     * Packs {@code weight} [out, in] with its elements stored as {@code storage} (null: the weight's own dtype, as
     * {@link #pack(Tensor)}). BF16 for an F32 weight on the CPU keeps half the bytes: each element rounded to the
     * nearest bfloat16 (ties to even), the product still computed in fp32 (exactly the fp32 product on the rounded
     * weight); products of a few rows, bound by reading the weight, run up to twice as fast. {@link DType#I8} keeps a
     * quarter: each output feature j quantized symmetrically to int8 (scale s_j = max |W[j, :]| / 127, values W / s_j
     * rounded to nearest even), the product {@code s_j · (x · q_j)} in fp32 (weight-only quantization; the input
     * stays fp32), up to four times as fast where bound by reading the weight; a weight holding NaN or an infinity is
     * refused. {@link #dtype()} stays the weight's (what it multiplies), {@link #storage()} says how it is held.
     *
     * @throws IllegalArgumentException if weight is null, closed, not 2-D or not floating point, or its backend has
     *     no packed form stored as {@code storage}
     */
    public static PackedWeight pack(Tensor weight, DType storage) {
        if (weight == null) {
            throw new IllegalArgumentException("PackedWeight.pack: weight is null");
        }
        weight.ensureOpen();
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("PackedWeight.pack: weight must be [out, in], got " + weight.describe());
        }
        if (!weight.dtype().isFloating()) {
            throw new IllegalArgumentException("PackedWeight.pack: weight must be floating point, got "
                    + weight.describe());
        }
        if (storage != null && storage != weight.dtype()) {
            if (weight.numel() == 0) {
                throw new IllegalArgumentException("PackedWeight.pack: an empty weight " + weight.describe()
                        + " has no " + storage + " form");
            }
            PackedWeight p = packIfStorable(weight, storage);
            if (p == null) {
                throw new IllegalArgumentException("PackedWeight.pack: " + weight.device() + " has no " + storage
                        + " form of a " + weight.dtype() + " weight (the CPU stores F32 weights as BF16 or I8)");
            }
            return p;
        }
        try (InUse use = InUse.of("PackedWeight.pack", weight)) {
            Tensor p = weight.numel() == 0 ? null : weight.backend().packLinearWeight(weight);
            if (p != null) {
                return new PackedWeight(p, true, weight.dim(0), weight.dim(1), weight.dtype());
            }
            weight.storage().retain();
            Tensor view = new Tensor(weight.storage(), weight.dtype(), weight.shape(), weight.strides(),
                    weight.offset());
            return new PackedWeight(view, false, weight.dim(0), weight.dim(1), weight.dtype());
        }
    }

    /**
     * As {@link #pack(Tensor, DType)} for a non-empty weight and a {@code storage} other than its dtype, or null where
     * its backend has no such form (for a caller that then packs it as it is).
     */
    public static PackedWeight packIfStorable(Tensor weight, DType storage) {
        if (weight == null || storage == null || weight.rank() != 2 || weight.numel() == 0) {
            throw new IllegalArgumentException("PackedWeight.packIfStorable: a non-empty [out, in] weight and a storage"
                    + " dtype are needed, got " + (weight == null ? "null" : weight.describe()) + " as " + storage);
        }
        try (InUse use = InUse.of("PackedWeight.pack", weight)) {
            Tensor p = weight.backend().packLinearWeight(weight, storage);
            return p == null ? null : new PackedWeight(p, true, weight.dim(0), weight.dim(1), weight.dtype());
        }
    }

    /** Output features (rows of the weight). */
    public long out() {
        return out;
    }

    /** Input features (columns of the weight). */
    public long in() {
        return in;
    }

    public DType dtype() {
        return dtype;
    }

    /**
     * How the elements are held: the packed copy's dtype (BF16 or I8 for an F32 weight packed as such), else the dtype.
     */
    public DType storage() {
        return packed ? data.dtype() : dtype;
    }

    public Device device() {
        return data.device();
    }

    /** Whether the backend holds a packed copy (false: a view of the weight as given). */
    public boolean isPacked() {
        return packed;
    }

    /** Bytes of the packed copy (0 when this is a view of the weight). */
    public long packedBytes() {
        return packed ? data.numel() * data.dtype().size() : 0;
    }

    public boolean isClosed() {
        return data.isClosed();
    }

    /**
     * The tensor that holds this packed weight (a flat buffer in the backend's layout, or the weight view): closing
     * it closes this packed weight, so a model may keep it with the tensors it owns.
     */
    public Tensor buffer() {
        return data;
    }

    /** The packed buffer (backend-specific layout) or the weight view; for {@link Ops} and backends. */
    Tensor data() {
        data.ensureOpen();
        return data;
    }

    /** Frees the packed copy (or releases the weight view); idempotent. */
    @Override
    public void close() {
        data.close();
    }

    @Override
    public String toString() {
        return "PackedWeight[" + out + ", " + in + "] " + dtype + (packed ? " packed" : " view")
                + (storage() != dtype ? " as " + storage() : "") + " on " + data.device();
    }
}
