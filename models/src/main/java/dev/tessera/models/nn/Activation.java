package dev.tessera.models.nn;

import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;

/** HF {@code hidden_act} names mapped to runtime ops. */
public final class Activation {
    private Activation() {}

    /** The names supported, as transformers' {@code ACT2FN} spells them. */
    public static final java.util.List<String> NAMES = java.util.List.of("gelu", "gelu_python", "gelu_new",
            "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate", "quick_gelu", "silu", "swish", "relu");

    /** Throws IllegalArgumentException naming {@code act} unless it is supported. */
    public static void check(String act) {
        check(act, "activation");
    }

    /** As {@link #check(String)}, the message naming the config key {@code key} and the supported names. */
    public static void check(String act, String key) {
        if (!NAMES.contains(act == null ? "" : act)) {
            throw new IllegalArgumentException(key + " \"" + act + "\" is not supported (supported: "
                    + String.join(", ", NAMES) + ")");
        }
    }

    /** The fused GEMM-epilogue form of {@code act} (same formulas as {@link #apply}). */
    public static FusedActivation fused(String act) {
        check(act);
        return FusedActivation.of(act);
    }

    /** {@code act(x)}: quick_gelu, gelu (erf), gelu_new/gelu_pytorch_tanh/gelu_fast (tanh), silu/swish, relu. */
    public static Tensor apply(Tensor x, String act) {
        return switch (act) {
            case "quick_gelu" -> Ops.quickGelu(x);
            case "gelu", "gelu_python" -> Ops.gelu(x);
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate" -> Ops.geluTanh(x);
            case "silu", "swish" -> Ops.silu(x);
            case "relu" -> Ops.relu(x);
            default -> throw new IllegalArgumentException("activation \"" + act + "\" is not supported");
        };
    }
}
