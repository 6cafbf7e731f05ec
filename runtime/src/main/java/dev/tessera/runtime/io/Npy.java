package dev.tessera.runtime.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0, 3.0). Reading accepts float16, float32 and float64 (returned
 * as float32: {@code np.save} of a float64 array, NumPy's default, just works), int32 and int64, in either byte
 * order and in C or Fortran order (returned in C order). Headers are validated (magic, version, dict keys, dtype,
 * order, shape, data size); anything else is rejected with an {@link IOException} naming the file and the problem.
 * Writing produces version 1.0, little-endian, C order.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** byte order, kind and size of a simple descr such as {@code <f4} or {@code >i8} */
    private static final Pattern SIMPLE_DESCR = Pattern.compile("([<>=|])([fi])([248])");

    /** Element types supported. */
    public enum DType {
        F32("<f4", 4), I32("<i4", 4), I64("<i8", 8);

        final String descr;
        final int size;

        DType(String descr, int size) {
            this.descr = descr;
            this.size = size;
        }
    }

    /** An array read from a file: one of floats / ints / longs is non-null, per dtype. */
    public record Array(DType dtype, long[] shape, float[] floats, int[] ints, long[] longs) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        /** The float32 data (float16 / float64 files are converted on reading); throws if the array holds integers. */
        public float[] requireFloats() {
            if (floats == null) {
                throw new IllegalStateException("expected a float32 array, got " + dtype + " " + Arrays.toString(shape));
            }
            return floats;
        }
    }

    public static Array read(Path path) throws IOException {
        return read(Files.readAllBytes(path), path.toString());
    }

    public static Array read(InputStream in, String name) throws IOException {
        return read(in.readAllBytes(), name);
    }

    /** Parses a whole .npy file held in {@code bytes}; {@code name} is used in error messages. */
    public static Array read(byte[] bytes, String name) throws IOException {
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new IOException(name + ": not a .npy file (bad magic)");
        }
        int major = bytes[6] & 0xff;
        int headerLen;
        int start;
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            headerLen = bb.getShort(8) & 0xffff;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new IOException(name + ": truncated .npy header");
            long hl = bb.getInt(8) & 0xffffffffL;
            if (hl > bytes.length) throw new IOException(name + ": header length " + hl + " beyond the file");
            headerLen = (int) hl;
            start = 12;
        } else {
            throw new IOException(name + ": unsupported .npy version " + major + "." + (bytes[7] & 0xff));
        }
        if (start + (long) headerLen > bytes.length) {
            throw new IOException(name + ": truncated .npy header");
        }
        String header = new String(bytes, start, headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).trim();
        if (!header.startsWith("{") || !header.endsWith("}")) {
            throw new IOException(name + ": malformed .npy header " + quote(header));
        }
        Matcher d = DESCR.matcher(header);
        Matcher o = ORDER.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) {
            throw new IOException(name + ": .npy header lacks descr, fortran_order or shape: " + quote(header));
        }
        Matcher sd = SIMPLE_DESCR.matcher(d.group(1));
        if (!sd.matches() || sd.group(1).equals("|") || (sd.group(2).equals("i") && sd.group(3).equals("2"))) {
            throw new IOException(name + ": unsupported dtype '" + quote(d.group(1))
                    + "' (supported: float16, float32, float64, int32, int64; either byte order)");
        }
        ByteOrder order = sd.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        int size = Integer.parseInt(sd.group(3));
        boolean isFloat = sd.group(2).equals("f");
        DType dt = isFloat ? DType.F32 : size == 4 ? DType.I32 : DType.I64;
        boolean fortran = o.group(1).equals("True");
        List<Long> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            String p = part.trim();
            if (p.isEmpty()) continue;
            try {
                long v = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
                if (v < 0) throw new NumberFormatException();
                dims.add(v);
            } catch (NumberFormatException e) {
                throw new IOException(name + ": bad shape (" + quote(s.group(1)) + ")");
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long n = 1;
        for (long v : shape) {
            n = v == 0 || n <= Long.MAX_VALUE / 8 / v ? n * v : Long.MAX_VALUE / 8;
        }
        int dataStart = start + headerLen;
        long need = n * size;
        if (bytes.length - dataStart != need) {
            throw new IOException(name + ": shape " + Arrays.toString(shape) + " of " + quote(d.group(1)) + " needs "
                    + need + " data bytes, file has " + (bytes.length - dataStart));
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IOException(name + ": array of " + n + " elements is too large for a Java array");
        }
        // Fortran order: the elements' bytes put in C order first, so that one path decodes both
        ByteBuffer data = (fortran && shape.length > 1 ? ByteBuffer.wrap(toCOrder(bytes, dataStart, shape, size))
                : ByteBuffer.wrap(bytes, dataStart, (int) need).slice()).order(order);
        int count = (int) n;
        switch (dt) {
            case F32 -> {
                float[] f = new float[count];
                if (size == 4) {
                    data.asFloatBuffer().get(f);
                } else {
                    for (int i = 0; i < count; i++) { // float64 / float16, widened or narrowed to float32
                        f[i] = size == 8 ? (float) data.getDouble(8 * i) : dev.tessera.runtime.DType.halfToFloat(
                                data.getShort(2 * i));
                    }
                }
                return new Array(dt, shape, f, null, null);
            }
            case I32 -> {
                int[] a = new int[count];
                data.asIntBuffer().get(a);
                return new Array(dt, shape, null, a, null);
            }
            default -> {
                long[] a = new long[count];
                data.asLongBuffer().get(a);
                return new Array(dt, shape, null, null, a);
            }
        }
    }

    /** The {@code size}-byte elements of Fortran-order data at {@code from}, copied into C order. */
    private static byte[] toCOrder(byte[] bytes, int from, long[] shape, int size) {
        int[] src = fortranSource(shape);
        byte[] out = new byte[src.length * size];
        for (int i = 0; i < src.length; i++) {
            System.arraycopy(bytes, from + src[i] * size, out, i * size, size);
        }
        return out;
    }

    /**
     * For each element in C order, its index in the Fortran-order data of the same shape (the first index varying
     * fastest there, the last here).
     */
    private static int[] fortranSource(long[] shape) {
        int rank = shape.length;
        long[] fStride = new long[rank];
        long st = 1;
        for (int j = 0; j < rank; j++) {
            fStride[j] = st;
            st *= shape[j];
        }
        int[] out = new int[(int) st];
        long[] idx = new long[rank];
        long off = 0;
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) off;
            for (int j = rank - 1; j >= 0; j--) { // C-order increment of the index, keeping the Fortran offset
                if (++idx[j] < shape[j]) {
                    off += fStride[j];
                    break;
                }
                off -= (shape[j] - 1) * fStride[j];
                idx[j] = 0;
            }
        }
        return out;
    }

    /** A header for an error message: one line, printable, at most 120 characters. */
    private static String quote(String header) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < header.length() && sb.length() < 120; i++) {
            char c = header.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c & 0xff));
        }
        return sb.length() < header.length() ? sb + "..." : sb.toString();
    }

    public static void writeFloats(Path path, float[] data, long... shape) throws IOException {
        try (OutputStream out = Files.newOutputStream(path)) {
            write(out, DType.F32, shape, data.length, b -> b.asFloatBuffer().put(data));
        }
    }

    public static void writeInts(Path path, int[] data, long... shape) throws IOException {
        try (OutputStream out = Files.newOutputStream(path)) {
            write(out, DType.I32, shape, data.length, b -> b.asIntBuffer().put(data));
        }
    }

    public static void writeLongs(Path path, long[] data, long... shape) throws IOException {
        try (OutputStream out = Files.newOutputStream(path)) {
            write(out, DType.I64, shape, data.length, b -> b.asLongBuffer().put(data));
        }
    }

    private interface Filler {
        void fill(ByteBuffer b);
    }

    private static void write(OutputStream out, DType dt, long[] shape, int length, Filler filler) throws IOException {
        long n = 1;
        for (long v : shape) {
            if (v < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, v);
        }
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " elements, data has "
                    + length);
        }
        StringBuilder sh = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            sh.append(shape[i]).append(shape.length == 1 ? "," : (i + 1 < shape.length ? ", " : ""));
        }
        String dict = "{'descr': '" + dt.descr + "', 'fortran_order': False, 'shape': (" + sh + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer head = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.write(head.array());
        out.write(header.getBytes(StandardCharsets.ISO_8859_1));
        ByteBuffer body = ByteBuffer.allocate(Math.multiplyExact(length, dt.size)).order(ByteOrder.LITTLE_ENDIAN);
        filler.fill(body);
        out.write(body.array());
    }
}
