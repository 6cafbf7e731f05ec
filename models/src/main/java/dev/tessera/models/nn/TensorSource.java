package dev.tessera.models.nn;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Safetensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * Named parameter tensors a model can be built from: a safetensors checkpoint, an ONNX model's initializers
 * mapped to the architecture's names, or tensors made in memory. {@link Weights} is the model-facing side.
 */
public interface TensorSource extends AutoCloseable {

    /** Where the tensors come from, for error messages (a path, or a short description). */
    String describe();

    /** Every parameter name this source holds. */
    Set<String> names();

    /** The stored shape of {@code name} (which must be in {@link #names()}). */
    long[] shape(String name);

    /** A new tensor owned by the caller, on {@code device}, converted to {@code dtype} (null: as stored). */
    Tensor load(String name, Device device, DType dtype);

    @Override
    void close();

    /**
     * How many consecutive layers the source holds under {@code prefix}: 1 + the largest N of the names
     * {@code prefix + N + ".*"} (e.g. {@code "encoder.layer."}), 0 when none.
     */
    default int layersUnder(String prefix) {
        int present = 0;
        for (String n : names()) {
            if (n.startsWith(prefix)) {
                int dot = n.indexOf('.', prefix.length());
                String idx = dot < 0 ? "" : n.substring(prefix.length(), dot);
                if (!idx.isEmpty() && idx.length() < 10 && idx.chars().allMatch(Character::isDigit)) {
                    present = Math.max(present, Integer.parseInt(idx) + 1);
                }
            }
        }
        return present;
    }


    /**
     * Tensors held in memory (e.g. ONNX initializers renamed to the architecture's names); {@link #load} returns
     * a copy, so the map's tensors stay owned by the caller.
     */
    static TensorSource of(java.util.Map<String, Tensor> tensors, String description) {
        java.util.Map<String, Tensor> m = java.util.Map.copyOf(tensors);
        return new TensorSource() {
            @Override
            public String describe() {
                return description;
            }

            @Override
            public Set<String> names() {
                return m.keySet();
            }

            @Override
            public long[] shape(String name) {
                return m.get(name).shape();
            }

            @Override
            public Tensor load(String name, Device device, DType dtype) {
                Tensor t = m.get(name);
                if (t == null) {
                    throw new IllegalArgumentException(description + ": no tensor " + name);
                }
                if (dtype == null || dtype == t.dtype()) {
                    return t.to(device);
                }
                try (Tensor moved = t.to(device)) {
                    return moved.to(dtype);
                }
            }

            @Override
            public void close() {}
        };
    }

    /** A checkpoint file, a directory with {@code model.safetensors} or a sharded index (memory-mapped). */
    static TensorSource safetensors(Path path) {
        try {
            Safetensors st = Safetensors.openCheckpoint(path);
            return new TensorSource() {
                @Override
                public String describe() {
                    return st.source().toString();
                }

                @Override
                public Set<String> names() {
                    return st.names();
                }

                @Override
                public long[] shape(String name) {
                    return st.info(name).shape();
                }

                @Override
                public Tensor load(String name, Device device, DType dtype) {
                    return st.load(name, device, dtype);
                }

                @Override
                public void close() {
                    try {
                        st.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + path + ": " + e.getMessage(), e);
        }
    }
}
