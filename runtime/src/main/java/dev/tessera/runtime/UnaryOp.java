package dev.tessera.runtime;

/**
 * Elementwise unary operators of {@link Ops#unary(UnaryOp, Tensor)}; ordinals match the C API's
 * {@code TSR_UNARY_*}. Computed in fp32 whatever the storage type (F32/F16/BF16).
 */
public enum UnaryOp {
    /** {@code 1 / (1 + e^-x)}. */
    SIGMOID,
    /** {@code tanh(x)}. */
    TANH,
    /** {@code max(x, 0)}; NaN stays NaN. */
    RELU,
    /** {@code e^x}. */
    EXP,
    /** Natural log: {@code x < 0} gives NaN, {@code ±0} gives −∞. */
    LOG,
    /** CLIP's "quick_gelu": {@code x · sigmoid(1.702 x)}. */
    QUICK_GELU,
    /** {@code −x}. */
    NEG,
    /** {@code √x}; {@code x < 0} gives NaN. */
    SQRT,
    /** {@code 1 / √x}. */
    RSQRT,
    /** {@code |x|}. */
    ABS,
    /** {@code x²}. */
    SQUARE;

    public int code() {
        return ordinal();
    }
}
