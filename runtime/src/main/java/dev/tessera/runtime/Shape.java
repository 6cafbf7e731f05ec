package dev.tessera.runtime;

import java.util.Arrays;

/** Shape helpers: validation, element counts, contiguous strides, printing. Shapes are {@code long[]}. */
public final class Shape {
    private Shape() {}

    public static long[] of(long... dims) {
        return validate(dims.clone());
    }

    static long[] validate(long[] dims) {
        if (dims.length > 8) {
            throw new IllegalArgumentException("at most 8 dimensions are supported, got " + str(dims));
        }
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + str(dims));
            }
        }
        numel(dims);
        return dims;
    }

    public static long numel(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public static long[] contiguousStrides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(dims[i], 1);
        }
        return s;
    }

    public static String str(long[] dims) {
        return Arrays.toString(dims);
    }

    /** Product of all dims but the last ({@code rows} of a row-wise op). */
    public static long rows(long[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length - 1; i++) {
            n *= dims[i];
        }
        return n;
    }

    public static long last(long[] dims) {
        return dims.length == 0 ? 1 : dims[dims.length - 1];
    }

    /**
     * Strides (in elements) that read a tensor of {@code shape} / {@code strides} as if broadcast to
     * {@code outShape} (NumPy rules, aligned on the right): 0 along dims it lacks or has of size 1.
     */
    public static long[] broadcastStrides(long[] shape, long[] strides, long[] outShape) {
        int r = outShape.length;
        int off = r - shape.length;
        if (off < 0) {
            throw new IllegalArgumentException("cannot broadcast " + str(shape) + " to " + str(outShape));
        }
        long[] out = new long[r];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == outShape[i + off]) {
                out[i + off] = shape[i] == 1 ? 0 : strides[i];
            } else if (shape[i] == 1) {
                out[i + off] = 0;
            } else {
                throw new IllegalArgumentException("cannot broadcast " + str(shape) + " to " + str(outShape));
            }
        }
        return out;
    }
}
