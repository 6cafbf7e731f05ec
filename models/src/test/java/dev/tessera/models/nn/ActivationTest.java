package dev.tessera.models.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** transformers' {@code ACT2FN} names against their formulas, in float64. */
class ActivationTest {
    @Test
    void eachNameIsItsFormula() {
        SplittableRandom r = new SplittableRandom(1);
        float[] x = new float[257];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        x[0] = 30; // gelu_10 clips here; mish's softplus far out
        x[1] = -30;
        String[] names = {"gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast",
            "gelu_accurate", "quick_gelu", "silu", "swish", "relu", "linear", "tanh", "sigmoid", "relu2", "relu6",
            "leaky_relu", "mish", "gelu_10"};
        try (Scope s = Tessera.scope()) {
            Tensor t = Tensor.of(x, x.length);
            for (String n : names) {
                float[] got = Activation.apply(t, n).toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    double v = x[i];
                    double want = switch (n) {
                        case "gelu", "gelu_python" -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
                        case "quick_gelu" -> v / (1 + Math.exp(-1.702 * v));
                        case "silu", "swish" -> v / (1 + Math.exp(-v));
                        case "relu" -> Math.max(0, v);
                        case "linear" -> v;
                        case "tanh" -> Math.tanh(v);
                        case "sigmoid" -> 1 / (1 + Math.exp(-v));
                        case "relu2" -> Math.max(0, v) * Math.max(0, v);
                        case "relu6" -> Math.min(Math.max(0, v), 6);
                        case "leaky_relu" -> v >= 0 ? v : 0.01 * v;
                        case "mish" -> v * Math.tanh(Math.log1p(Math.exp(v)));
                        case "gelu_10" -> Math.min(10, Math.max(-10, 0.5 * v * (1 + erf(v / Math.sqrt(2)))));
                        default -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                    };
                    assertEquals(want, got[i], 2e-6 * Math.max(1, Math.abs(want)), n + " at " + v);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Activation.check("gelu_10"));
    }

    /**
     * Every name {@link Activation#check} accepts also runs fused into a linear layer's epilogue (the ViT and CLIP MLPs
     * take that path: gelu_python / gelu_accurate passed the config check and then failed there), with the same values
     * as {@link Activation#apply}.
     */
    @Test
    void everyAcceptedNameFusesToTheSameValues() {
        SplittableRandom r = new SplittableRandom(2);
        int n = 8;
        float[] x = new float[3 * n];
        float[] eye = new float[n * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        for (int i = 0; i < n; i++) {
            eye[i * n + i] = 1;
        }
        try (Scope s = Tessera.scope()) {
            Tensor t = Tensor.of(x, 3, n);
            Linear identity = new Linear(Tensor.of(eye, n, n), null);
            for (String name : Activation.NAMES) {
                Activation.check(name);
                float[] fused = identity.forward(t, Activation.fused(name)).toFloatArray();
                float[] plain = Activation.apply(t, name).toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    assertEquals(plain[i], fused[i], 2e-6 * Math.max(1, Math.abs(plain[i])), name + " at " + x[i]);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Activation.fused("gelu_10"));
        assertThrows(IllegalArgumentException.class, () -> Activation.check("mish", "hidden_act"));
        Activation.checkElementwise("mish", "projector_hidden_act");
        assertThrows(IllegalArgumentException.class, () -> Activation.checkElementwise("xielu", "projector_hidden_act"));
    }

    /** erf to ~1e-12 (Abramowitz-Stegun 7.1.26 is too coarse here): the series / continued fraction split. */
    private static double erf(double z) {
        double t = Math.abs(z);
        double sum;
        if (t < 3) {
            double term = t;
            sum = t;
            for (int k = 1; k < 200; k++) {
                term *= -t * t / k;
                sum += term / (2 * k + 1);
            }
            sum *= 2 / Math.sqrt(Math.PI);
        } else {
            double cf = 0;
            for (int k = 60; k >= 1; k--) {
                cf = k / 2.0 / (t + cf);
            }
            sum = 1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + cf);
        }
        return Math.copySign(sum, z);
    }
}
