package dev.tessera.models.bert;

import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A sentence-transformers {@code Dense} module after the pooling: {@code y = act(W x + b)} on each embedding
 * (e.g. distiluse's 768 → 512 with tanh). Read from its folder: {@code config.json} ({@code in_features},
 * {@code out_features}, {@code bias}, {@code activation_function}) and {@code model.safetensors}
 * ({@code linear.weight [out, in]}, {@code linear.bias}). Small: applied with the runtime's ops on the CPU.
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

        /** This activation of {@code y} (a new tensor; the runtime's ops, as the encoder's). */
        Tensor on(Tensor y) {
            return switch (this) {
                case IDENTITY -> y;
                case TANH -> Ops.tanh(y);
                case RELU -> Ops.relu(y);
                case SIGMOID -> Ops.sigmoid(y);
                case GELU -> Ops.gelu(y);
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
        return apply(new float[][] {x})[0];
    }

    /** {@code act(W x + b)} of each row (every row {@code in} values), as one product on the CPU. */
    public float[][] apply(float[][] rows) {
        for (float[] x : rows) {
            if (x.length != in) {
                throw new IllegalArgumentException("Dense module takes " + in + " values, got " + x.length);
            }
        }
        float[] flat = new float[rows.length * in];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * in, in);
        }
        float[] y;
        try (Scope scope = Tessera.scope()) {
            Tensor lin = Ops.linear(Tensor.of(flat, rows.length, in), Tensor.of(weight, out, in), Tensor.of(bias, out));
            y = activation.on(lin).toFloatArray();
        }
        float[][] outRows = new float[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            outRows[r] = java.util.Arrays.copyOfRange(y, r * out, (r + 1) * out);
        }
        return outRows;
    }
}
