package dev.tessera.models.bert;

import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A sentence-transformers {@code Dense} module after the pooling: {@code y = act(W x + b)} on each embedding
 * (e.g. distiluse's 768 → 512 with tanh). Read from its folder: {@code config.json} ({@code in_features},
 * {@code out_features}, {@code bias}, {@code activation_function}) and {@code model.safetensors}
 * ({@code linear.weight [out, in]}, {@code linear.bias}). Small, applied on the host.
 */
public record DenseLayer(int in, int out, float[] weight, float[] bias, Activation activation) {

    /** The activations sentence-transformers' Dense modules use, by their torch class name. */
    public enum Activation {
        IDENTITY, TANH, RELU, SIGMOID, GELU;

        static Activation of(String torchClass, Path where) {
            String simple = torchClass.substring(torchClass.lastIndexOf('.') + 1).toUpperCase(Locale.ROOT);
            for (Activation a : values()) {
                if (a.name().equals(simple)) {
                    return a;
                }
            }
            throw new IllegalArgumentException(where + ": activation_function " + torchClass + " is not supported ("
                    + java.util.Arrays.toString(values()) + ")");
        }

        double apply(double x) {
            return switch (this) {
                case IDENTITY -> x;
                case TANH -> Math.tanh(x);
                case RELU -> x < 0 ? 0 : x;
                case SIGMOID -> 1 / (1 + Math.exp(-x));
                case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            };
        }
    }

    /** Reads a Dense module folder. */
    public static DenseLayer read(Path dir) {
        HfConfig c = HfConfig.read(dir.resolve("config.json"));
        int in = c.getInt("in_features");
        int out = c.getInt("out_features");
        boolean hasBias = c.getBoolean("bias", true);
        Activation act = Activation.of(c.getString("activation_function", "torch.nn.modules.linear.Identity"), dir);
        Path weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(weights)) {
            throw new IllegalArgumentException(dir + ": no model.safetensors (a pytorch_model.bin is not read; save the"
                    + " module with safetensors)");
        }
        try (TensorSource src = TensorSource.safetensors(weights)) {
            float[] w = load(src, "linear.weight", new long[] {out, in}, dir);
            float[] b = hasBias ? load(src, "linear.bias", new long[] {out}, dir) : new float[out];
            return new DenseLayer(in, out, w, b, act);
        }
    }

    private static float[] load(TensorSource src, String name, long[] shape, Path dir) {
        if (!src.names().contains(name)) {
            throw new IllegalArgumentException(dir + ": Dense module without " + name);
        }
        if (!java.util.Arrays.equals(src.shape(name), shape)) {
            throw new IllegalArgumentException(dir + ": " + name + " is " + java.util.Arrays.toString(src.shape(name))
                    + ", config.json says " + java.util.Arrays.toString(shape));
        }
        try (Tensor t = src.load(name, Device.CPU, DType.F32)) {
            return t.toFloatArray();
        }
    }

    /** {@code act(W x + b)} of one vector of {@code in} values. */
    public float[] apply(float[] x) {
        if (x.length != in) {
            throw new IllegalArgumentException("Dense module takes " + in + " values, got " + x.length);
        }
        float[] y = new float[out];
        for (int o = 0; o < out; o++) {
            double s = bias[o];
            for (int i = 0; i < in; i++) {
                s += (double) weight[o * in + i] * x[i];
            }
            y[o] = (float) activation.apply(s);
        }
        return y;
    }

    // erf from the Chebyshev fit of erfc in Numerical Recipes (fractional error below 1.2e-7 everywhere).
    private static double erf(double x) {
        double t = 1 / (1 + 0.5 * Math.abs(x));
        double y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223
                + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }
}
