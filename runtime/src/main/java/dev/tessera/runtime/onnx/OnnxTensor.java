package dev.tessera.runtime.onnx;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor of an ONNX file (an initializer or a {@code Constant} node's value) with its bytes on the Java heap
 * in little-endian order, whatever field of the file held them ({@code raw_data}, the typed fields such as
 * {@code float_data}/{@code int64_data}, or an external data file). Immutable.
 */
public final class OnnxTensor {
    private final String name;
    private final OnnxDataType type;
    private final long[] dims;
    private final ByteBuffer data; // little-endian, position 0, read-only

    OnnxTensor(String name, OnnxDataType type, long[] dims, ByteBuffer data) {
        this.name = name;
        this.type = type;
        this.dims = dims;
        this.data = data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A FLOAT tensor of {@code values} (row-major, as many as {@code dims} hold), e.g. a weight made by a rewrite. */
    public static OnnxTensor ofFloats(String name, long[] dims, float[] values) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException("ONNX tensor " + name + " " + Arrays.toString(dims) + " needs " + n
                    + " values, got " + values.length);
        }
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new OnnxTensor(name, OnnxDataType.FLOAT, dims.clone(), b);
    }

    public String name() {
        return name;
    }

    public OnnxDataType dataType() {
        return type;
    }

    /** The dims (empty for a scalar). */
    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public long numel() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** The raw little-endian bytes (a read-only view). */
    public ByteBuffer bytes() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The elements as floats, converting FLOAT16/BFLOAT16/DOUBLE and the integer types. */
    public float[] toFloats() {
        int n = checkedNumel();
        float[] out = new float[n];
        ByteBuffer b = bytes();
        switch (type) {
            case FLOAT -> b.asFloatBuffer().get(out);
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = DType.halfToFloat(b.getShort(2 * i));
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                }
            }
            case DOUBLE -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(8 * i);
                }
            }
            default -> {
                long[] l = toLongs();
                for (int i = 0; i < n; i++) {
                    out[i] = l[i];
                }
            }
        }
        return out;
    }

    /** The elements of an integer or BOOL tensor as longs (UINT64 values above 2^63 wrap). */
    public long[] toLongs() {
        int n = checkedNumel();
        long[] out = new long[n];
        ByteBuffer b = bytes();
        for (int i = 0; i < n; i++) {
            out[i] = switch (type) {
                case INT8 -> b.get(i);
                case UINT8, BOOL -> b.get(i) & 0xff;
                case INT16 -> b.getShort(2 * i);
                case UINT16 -> b.getShort(2 * i) & 0xffff;
                case INT32 -> b.getInt(4 * i);
                case UINT32 -> b.getInt(4 * i) & 0xffffffffL;
                case INT64, UINT64 -> b.getLong(8 * i);
                default -> throw new IllegalArgumentException("ONNX tensor " + name + " is " + type
                        + ", not an integer type");
            };
        }
        return out;
    }

    /** An F32 tensor on {@code device} with these elements converted to float (see {@link #toFloats()}). */
    public Tensor toTensor(Device device) {
        return Tensor.of(toFloats(), device, dims.length == 0 ? new long[] {1} : dims);
    }

    private int checkedNumel() {
        if (!type.isNumeric()) {
            throw new IllegalArgumentException("ONNX tensor " + name + " of type " + type + " has no numeric elements");
        }
        long n = numel();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("ONNX tensor " + name + " " + Arrays.toString(dims)
                    + " is too large for a Java array");
        }
        return (int) n;
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(dims);
    }
}
