package dev.tessera.runtime.onnx;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * One tensor of an ONNX file (an initializer or a {@code Constant} node's value): its bytes in little-endian order,
 * whatever field of the file held them ({@code raw_data}, the typed fields such as {@code float_data}/
 * {@code int64_data}, or an external data file). Those of an external data file are read from it each time they are
 * asked for (not memory-mapped: a file cut short meanwhile gives an {@link UncheckedIOException} naming it and the
 * tensor, where a mapping would fail with an asynchronous {@link InternalError} on the next read). Immutable.
 */
public final class OnnxTensor {
    private final String name;
    private final OnnxDataType type;
    private final long[] dims;
    private final ByteBuffer data; // little-endian, position 0, read-only; null for external data
    private final External external;

    /** Where an external tensor's bytes lie: {@code length} bytes at {@code offset} of {@code file}. */
    record External(Path file, String location, long offset, int length) {
    }

    OnnxTensor(String name, OnnxDataType type, long[] dims, ByteBuffer data) {
        this.name = name;
        this.type = type;
        this.dims = dims;
        this.data = data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.external = null;
    }

    OnnxTensor(String name, OnnxDataType type, long[] dims, External external) {
        this.name = name;
        this.type = type;
        this.dims = dims;
        this.data = null;
        this.external = external;
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

    /**
     * The raw little-endian bytes (a read-only view; for external data a fresh copy read from the file).
     *
     * @throws UncheckedIOException when the external data file cannot be read or no longer holds the tensor
     */
    public ByteBuffer bytes() {
        if (external == null) {
            return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer b = ByteBuffer.allocate(external.length());
        try (FileChannel ch = FileChannel.open(external.file(), StandardOpenOption.READ)) {
            while (b.hasRemaining()) {
                if (ch.read(b, external.offset() + b.position()) < 0) {
                    throw new EOFException("ONNX tensor " + this + ": its " + external.length() + " bytes at offset "
                            + external.offset() + " of external data file " + external.location() + " ("
                            + external.file() + ") are no longer there: the file has " + ch.size()
                            + " bytes (changed or cut short since the model was read)");
                }
            }
        } catch (EOFException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("ONNX tensor " + this + ": cannot read external data file "
                    + external.file() + ": " + e.getMessage(), e);
        }
        return b.flip().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
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
