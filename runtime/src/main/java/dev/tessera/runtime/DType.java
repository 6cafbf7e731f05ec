package dev.tessera.runtime;

/** Element types. Ordinals match the {@code TSR_*} dtype codes of the C API. */
public enum DType {
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    I64(8, false),
    /**
     * Signed 8-bit integers. Today the storage of packed int8 weights ({@link PackedWeight#pack(Tensor, DType)} on the
     * CPU) and of raw bytes; no operator computes on I8 tensors.
     */
    I8(1, false);

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

    /**
     * A floating type by the names models and command lines use: {@code f32} / {@code fp32} / {@code float32},
     * {@code bf16} / {@code bfloat16}, {@code f16} / {@code fp16} / {@code float16} (any case, spaces trimmed).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static DType parseFloating(String name) {
        return switch (name == null ? "" : name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "fp32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            case "f16", "fp16", "float16" -> F16;
            default -> throw new IllegalArgumentException("unknown dtype '" + name + "': f32, bf16 or f16");
        };
    }

    /**
     * How a model's matrices may be held (e.g. {@code tessera chat --dtype}): a name {@link #parseFloating} takes, or
     * {@code int8} / {@code i8} / {@code s8} for {@link #I8}.
     *
     * @throws IllegalArgumentException for any other name
     */
    public static DType parseStorage(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("int8") || n.equals("i8") || n.equals("s8")) {
            return I8;
        }
        try {
            return parseFloating(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown dtype '" + name + "': f32, bf16, f16 or int8", e);
        }
    }

    /** IEEE 754 binary16 ({@link #F16}) bits to float: normals, subnormals, infinities and NaN, exactly. */
    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
