package dev.tessera.runtime;

/** Element types. Ordinals match the {@code TSR_*} dtype codes of the C API. */
public enum DType {
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    I64(8, false);

    private final int size;
    private final boolean floating;

    DType(int size, boolean floating) {
        this.size = size;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    public boolean isFloating() {
        return floating;
    }

    /** The C API code ({@code TSR_F32} = 0, ...). */
    public int code() {
        return ordinal();
    }
}
