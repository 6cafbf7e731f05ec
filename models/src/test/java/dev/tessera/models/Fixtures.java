package dev.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.io.Npy;
import dev.tessera.runtime.io.Safetensors;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Assumptions;

/** Shared helpers of the model parity tests: fixture folders on the test class path, .npy tensors, relative error. */
public final class Fixtures {
    private Fixtures() {}

    /**
     * {@code cuda:0}, or the calling test is skipped (a JUnit assumption) with the CUDA backend's reason: no driver,
     * no GPU, libtessera built without CUDA.
     */
    public static Device cudaOrSkip() {
        Backend.Availability av;
        try {
            av = Backends.forType(Device.Type.CUDA).availability();
        } catch (RuntimeException | LinkageError e) {
            Assumptions.abort("CUDA unavailable: " + e);
            throw new AssertionError(e);  // not reached
        }
        Assumptions.assumeTrue(av.available(), "CUDA unavailable: " + av.reason());
        return Device.parse("cuda:0");
    }

    /** The test resource {@code path} (e.g. {@code "llama/llama-gqa"}) as a file-system path. */
    public static Path resource(String path) {
        URL u = Fixtures.class.getResource("/" + path);
        if (u == null) {
            throw new IllegalStateException("missing test resource " + path);
        }
        try {
            return Path.of(u.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A float32 .npy file as a CPU tensor of its shape. */
    public static Tensor npyTensor(Path file) throws IOException {
        Npy.Array a = Npy.read(file);
        return Tensor.of(a.requireFloats(), a.shape());
    }

    /** ‖out − ref‖ / ‖ref‖; asserts equal lengths and fails on NaN. */
    public static double relErr(float[] out, float[] ref) {
        assertEquals(ref.length, out.length, "length");
        double num = 0;
        double den = 0;
        for (int i = 0; i < out.length; i++) {
            double d = (double) out[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        double r = Math.sqrt(num / den);
        assertFalse(Double.isNaN(r), "NaN in output");
        return r;
    }

    /**
     * A copy of the model folder {@code src} in {@code dir}: its files as they are, but {@code model.safetensors}
     * rewritten with each tensor replaced by what {@code edit} returns for (name, tensor loaded on the CPU as stored).
     * Returns {@code dir}.
     */
    @SuppressWarnings("try") // the scope frees the loaded tensors
    public static Path rewriteWeights(Path src, Path dir, BiFunction<String, Tensor, Tensor> edit) throws IOException {
        Files.createDirectories(dir);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                if (Files.isRegularFile(f) && !f.getFileName().toString().equals("model.safetensors")) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        try (Safetensors st = Safetensors.open(src.resolve("model.safetensors")); Scope scope = Tessera.scope()) {
            Map<String, Tensor> out = new TreeMap<>();
            for (String n : st.names()) {
                out.put(n, edit.apply(n, st.load(n, Device.CPU)));
            }
            Safetensors.write(dir.resolve("model.safetensors"), out, Map.of());
        }
        return dir;
    }

    /** The index of the largest of {@code a[from .. from + n)}, relative to {@code from}. */
    public static int argmax(float[] a, int from, int n) {
        int best = from;
        for (int i = from + 1; i < from + n; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best - from;
    }
}
