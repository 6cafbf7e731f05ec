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
        String[] names = {"gelu", "gelu_python", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate",
            "quick_gelu", "silu", "swish", "relu"};
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
                        default -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                    };
                    assertEquals(want, got[i], 2e-6 * Math.max(1, Math.abs(want)), n + " at " + v);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Activation.check("gelu_10"));
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
