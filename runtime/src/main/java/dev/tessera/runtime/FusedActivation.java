package dev.tessera.runtime;

/**
 * The activation a fused {@link Ops#linear(Tensor, Tensor, Tensor, FusedActivation, Tensor) linear} applies to
 * {@code x · Wᵀ + bias} before adding the residual. Same formulas as the stand-alone ops ({@link Ops#gelu},
 * {@link Ops#geluTanh}, {@link Ops#silu}, {@link Ops#quickGelu}, {@link Ops#relu}).
 */
public enum FusedActivation {
    NONE,
    /** GELU, erf form. */
    GELU,
    /** GELU, tanh approximation. */
    GELU_TANH,
    /** x · sigmoid(x). */
    SILU,
    /** x · sigmoid(1.702 x) (CLIP). */
    QUICK_GELU,
    RELU;

    /** The native {@code TSR_ACT_*} code. */
    public int code() {
        return ordinal();
    }

    /**
     * The activation a Hugging Face {@code hidden_act} names: quick_gelu, gelu / gelu_python (erf), gelu_new /
     * gelu_pytorch_tanh / gelu_fast / gelu_accurate (tanh), silu / swish, relu.
     *
     * @throws IllegalArgumentException for any other name
     */
    public static FusedActivation of(String hfName) {
        return switch (hfName == null ? "" : hfName) {
            case "quick_gelu" -> QUICK_GELU;
            case "gelu", "gelu_python" -> GELU;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast", "gelu_accurate" -> GELU_TANH;
            case "silu", "swish" -> SILU;
            case "relu" -> RELU;
            default -> throw new IllegalArgumentException("activation \"" + hfName + "\" cannot be fused");
        };
    }
}
