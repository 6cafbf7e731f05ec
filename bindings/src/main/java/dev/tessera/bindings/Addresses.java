package dev.tessera.bindings;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

/** Wraps raw addresses in JavaCPP pointers for the bytedeco presets that take {@code Pointer} arguments. */
public final class Addresses {
    private Addresses() {}

    /** A non-owning {@link Pointer} at {@code address}. */
    public static Pointer pointer(long address) {
        return new Raw(address);
    }

    /** A non-owning {@link FloatPointer} at {@code address}. */
    public static FloatPointer floats(long address) {
        return new RawFloat(address);
    }

    /** Copies {@code src} to native memory at {@code address}. */
    public static void putFloats(long address, float[] src) {
        new RawFloat(address).put(src, 0, src.length);
    }

    public static void getFloats(long address, float[] dst) {
        new RawFloat(address).get(dst, 0, dst.length);
    }

    /** Copies {@code length} floats at {@code address} into {@code dst} from {@code offset}. */
    public static void getFloats(long address, float[] dst, int offset, int length) {
        new RawFloat(address).get(dst, offset, length);
    }

    public static void putBytes(long address, byte[] src) {
        new BytePointer(new Raw(address)).put(src, 0, src.length);
    }

    public static void getBytes(long address, byte[] dst) {
        new BytePointer(new Raw(address)).get(dst, 0, dst.length);
    }

    public static void putInts(long address, int[] src) {
        new RawInt(address).put(src, 0, src.length);
    }

    public static void getInts(long address, int[] dst) {
        new RawInt(address).get(dst, 0, dst.length);
    }

    public static void putLongs(long address, long[] src) {
        new RawLong(address).put(src, 0, src.length);
    }

    public static void getLongs(long address, long[] dst) {
        new RawLong(address).get(dst, 0, dst.length);
    }

    /** memcpy between host addresses. */
    public static void copy(long dst, long src, long bytes) {
        Pointer.memcpy(new Raw(dst), new Raw(src), bytes);
    }

    /** memset of host memory. */
    public static void fill(long dst, int value, long bytes) {
        Pointer.memset(new Raw(dst), value, bytes);
    }

    private static final class RawInt extends IntPointer {
        RawInt(long address) {
            super((Pointer) null);
            this.address = address;
        }
    }

    private static final class RawLong extends LongPointer {
        RawLong(long address) {
            super((Pointer) null);
            this.address = address;
        }
    }

    private static final class Raw extends Pointer {
        Raw(long address) {
            this.address = address;
        }
    }

    private static final class RawFloat extends FloatPointer {
        RawFloat(long address) {
            super((Pointer) null);
            this.address = address;
        }
    }
}
