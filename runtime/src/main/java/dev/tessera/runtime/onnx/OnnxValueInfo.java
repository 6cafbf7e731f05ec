package dev.tessera.runtime.onnx;

import java.util.Arrays;
import java.util.List;

/**
 * A graph input or output: its name, element type and dims; a symbolic dim (e.g. {@code batch_size}) is -1 in
 * {@link #dims()} with its name in {@link #dimParams()}, and an unknown rank gives empty lists.
 */
public record OnnxValueInfo(String name, OnnxDataType elemType, long[] dims, List<String> dimParams) {
    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name).append(' ').append(elemType).append('[');
        for (int i = 0; i < dims.length; i++) {
            sb.append(i > 0 ? ", " : "").append(dims[i] >= 0 ? String.valueOf(dims[i]) : dimParams.get(i));
        }
        return sb.append(']').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxValueInfo v && v.name.equals(name) && v.elemType == elemType
                && Arrays.equals(v.dims, dims) && v.dimParams.equals(dimParams);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }
}
