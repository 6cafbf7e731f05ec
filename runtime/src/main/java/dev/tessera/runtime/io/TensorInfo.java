package dev.tessera.runtime.io;

import dev.tessera.runtime.DType;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor entry of a safetensors header, after validation.
 *
 * @param name    the parameter name
 * @param format  the dtype as written in the file ({@code "F32"}, {@code "BF16"}, {@code "U8"}, ...)
 * @param dtype   the Tessera dtype {@link Safetensors#load} produces by default, or {@code null} when the file's
 *                dtype cannot be loaded (anything but F32, F16, BF16, I32, I64 and F64; F64 loads as F32)
 * @param shape   the dims (empty for a scalar); a copy is returned by {@link #shape()}
 * @param begin   first byte, relative to the start of the data section
 * @param end     one past the last byte, relative to the start of the data section
 * @param file    the file (shard) holding the data
 */
public record TensorInfo(String name, String format, DType dtype, long[] shape, long begin, long end, Path file) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes of data in the file. */
    public long byteSize() {
        return end - begin;
    }

    /** True when {@link Safetensors#load} can read this tensor. */
    public boolean loadable() {
        return dtype != null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && format.equals(t.format) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end && file.equals(t.file);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(shape) + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + ": " + format + Arrays.toString(shape) + " @ [" + begin + ", " + end + ") in " + file;
    }
}
