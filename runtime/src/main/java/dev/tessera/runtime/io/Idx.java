package dev.tessera.runtime.io;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reader of IDX files, the format of the MNIST distribution (e.g. {@code data/mnist/}): a big-endian
 * header of two zero bytes, a type byte, the rank, one uint32 per dimension, then the elements in
 * row-major order, big-endian. Types: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
 * 0x0D float32, 0x0E float64. Gzipped files are recognised by their magic and decompressed on the fly.
 * The header is validated (magic, type, rank, sizes) and a short or over-long file is an
 * {@link IOException} naming the file.
 */
public final class Idx {
    /** The element types of the format. */
    public enum Type {
        UBYTE(0x08, 1), BYTE(0x09, 1), SHORT(0x0B, 2), INT(0x0C, 4), FLOAT(0x0D, 4), DOUBLE(0x0E, 8);

        final int code;
        final int size;

        Type(int code, int size) {
            this.code = code;
            this.size = size;
        }

        static Type of(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    /** The contents of one IDX file: element type, dims, and the elements as floats (row-major). */
    public record Array(Type type, int[] dims, float[] data) {
        /** Number of elements. */
        public int size() {
            return data.length;
        }

        /** Items along the first dim (e.g. images). */
        public int count() {
            return dims.length == 0 ? 1 : dims[0];
        }

        /** Elements per item (product of the other dims). */
        public int itemSize() {
            return dims.length == 0 ? 1 : (count() == 0 ? 0 : data.length / count());
        }

        /** The elements times {@code scale}, as a {@code [count, itemSize]} F32 tensor on {@code device}. */
        public Tensor toTensor(float scale, Device device) {
            float[] d = data;
            if (scale != 1f) {
                d = data.clone();
                for (int i = 0; i < d.length; i++) {
                    d[i] *= scale;
                }
            }
            return Tensor.of(d, device, count(), itemSize());
        }

        /** The elements as ints (labels). */
        public int[] toInts() {
            int[] out = new int[data.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = (int) data[i];
            }
            return out;
        }
    }

    private static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private Idx() {}

    /** Reads a whole IDX file (plain or gzipped). */
    public static Array read(Path path) throws IOException {
        if (path == null) {
            throw new IllegalArgumentException("Idx.read: path is null");
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16)
                    : raw;
            return read(in, path.toString());
        }
    }

    /** Reads one IDX array from a stream (not gzipped); {@code name} is used in error messages. */
    public static Array read(InputStream stream, String name) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        byte[] head = new byte[4];
        try {
            in.readFully(head);
        } catch (EOFException e) {
            throw new IOException(name + ": not an IDX file (shorter than its 4-byte magic)");
        }
        if (head[0] != 0 || head[1] != 0) {
            throw new IOException(name + ": not an IDX file (magic starts with " + String.format("%02x %02x", head[0], head[1])
                    + ", expected 00 00)");
        }
        Type type = Type.of(head[2] & 0xff);
        if (type == null) {
            throw new IOException(name + ": unknown IDX element type 0x" + Integer.toHexString(head[2] & 0xff)
                    + " (known: 08 ubyte, 09 byte, 0b short, 0c int, 0d float, 0e double)");
        }
        int rank = head[3] & 0xff;
        if (rank < 1) {
            throw new IOException(name + ": IDX rank 0 (expected at least 1 dimension)");
        }
        int[] dims = new int[rank];
        long n = 1;
        for (int i = 0; i < rank; i++) {
            long d;
            try {
                d = in.readInt() & 0xffffffffL;
            } catch (EOFException e) {
                throw new IOException(name + ": truncated IDX header (" + i + " of " + rank + " dimensions)");
            }
            if (d > Integer.MAX_VALUE) {
                throw new IOException(name + ": IDX dimension " + i + " is " + d + ", too large");
            }
            dims[i] = (int) d;
            n *= d;
            if (n > MAX_ELEMENTS) {
                throw new IOException(name + ": IDX array " + Arrays.toString(dims) + " has too many elements");
            }
        }
        if (n * type.size > Integer.MAX_VALUE - 8) {
            throw new IOException(name + ": IDX " + type + " array " + Arrays.toString(dims) + " needs " + n * type.size
                    + " bytes, more than one Java array holds");
        }
        int need = (int) (n * type.size);
        byte[] bytes = in.readNBytes(need); // grows with what the file holds: a lying header allocates nothing large
        if (bytes.length != need) {
            throw new IOException(name + ": IDX " + type + " array " + Arrays.toString(dims) + " needs " + need
                    + " bytes of data, the file has " + bytes.length);
        }
        if (in.read() != -1) {
            throw new IOException(name + ": trailing bytes after the IDX " + type + " array " + Arrays.toString(dims));
        }
        float[] data = new float[(int) n];
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < data.length; i++) {
            data[i] = switch (type) {
                case UBYTE -> bytes[i] & 0xff;
                case BYTE -> bytes[i];
                case SHORT -> bb.getShort(2 * i);
                case INT -> bb.getInt(4 * i);
                case FLOAT -> bb.getFloat(4 * i);
                case DOUBLE -> (float) bb.getDouble(8 * i);
            };
        }
        return new Array(type, dims, data);
    }
}
