package dev.tessera.models.nn;

import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;

/** HF {@code hidden_act} names mapped to runtime ops. */
public final class Activation {
    private Activation() {}

    /** The names supported everywhere (MLPs fuse them into the GEMM), as transformers' {@code ACT2FN} spells them. */
    public static final java.util.List<String> NAMES = java.util.List.of("gelu", "gelu_python", "gelu_new",
            "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast", "gelu_accurate", "quick_gelu", "silu", "swish",
            "relu");

    /**
     * Further {@code ACT2FN} names {@link #apply} computes from elementwise ops (not fused: LLaVA's
     * {@code projector_hidden_act}); {@code leaky_relu} with torch's slope 0.01, {@code gelu_10} clipped to [-10, 10].
     */
    public static final java.util.List<String> ELEMENTWISE = java.util.List.of("linear", "tanh", "sigmoid", "relu2",
            "relu6", "leaky_relu", "mish", "gelu_10");

    /** As {@link #check(String, String)}, also admitting the {@link #ELEMENTWISE} names. */
    public static void checkElementwise(String act, String key) {
        if (act == null || !NAMES.contains(act) && !ELEMENTWISE.contains(act)) {
            throw new IllegalArgumentException(key + " \"" + act + "\" is not supported (supported: "
                    + String.join(", ", NAMES) + ", " + String.join(", ", ELEMENTWISE) + ")");
        }
    }

    /** Throws IllegalArgumentException naming {@code act} unless it is supported. */
    public static void check(String act) {
        check(act, "activation");
    }

    /** As {@link #check(String)}, the message naming the config key {@code key} and the supported names. */
    public static void check(String act, String key) {
        if (act == null || !NAMES.contains(act)) { // List.of(...).contains(null) throws
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
            case "gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast", "gelu_accurate" -> Ops.geluTanh(x);
            case "silu", "swish" -> Ops.silu(x);
            case "relu" -> Ops.relu(x);
            case "linear" -> x;
            case "tanh" -> Ops.tanh(x);
            case "sigmoid" -> Ops.sigmoid(x);
            case "relu2" -> Ops.mul(Ops.relu(x), Ops.relu(x));
            case "relu6" -> Ops.sub(Ops.relu(x), Ops.relu(Ops.affine(x, 1f, -6f))); // min(max(x, 0), 6)
            case "leaky_relu" -> Ops.add(Ops.relu(x), Ops.scale(Ops.relu(Ops.scale(x, -1f)), -0.01f));
            case "mish" -> { // x tanh(softplus(x)), softplus(x) = max(x, 0) + log(1 + exp(-|x|)) without overflow
                Tensor abs = Ops.add(Ops.relu(x), Ops.relu(Ops.scale(x, -1f)));
                Tensor softplus = Ops.add(Ops.relu(x), Ops.log(Ops.affine(Ops.exp(Ops.scale(abs, -1f)), 1f, 1f)));
                yield Ops.mul(x, Ops.tanh(softplus));
            }
            case "gelu_10" -> { // GELU is >= -0.17 everywhere: only the upper clip acts
                Tensor g = Ops.gelu(x);
                yield Ops.sub(g, Ops.relu(Ops.affine(g, 1f, -10f)));
            }
            default -> throw new IllegalArgumentException("activation \"" + act + "\" is not supported");
        };
    }
}
