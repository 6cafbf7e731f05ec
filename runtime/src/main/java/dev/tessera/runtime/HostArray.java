package dev.tessera.runtime;

import dev.tessera.bindings.Addresses;

/** Host data to copy into or out of a tensor: a Java array or a native host address range. */
public final class HostArray {
    private final Object array;
    private final long address;
    private final long bytes;

    private HostArray(Object array, long address, long bytes) {
        this.array = array;
        this.address = address;
        this.bytes = bytes;
    }

    public static HostArray of(float[] a) {
        return new HostArray(a, 0, 4L * a.length);
    }

    public static HostArray of(int[] a) {
        return new HostArray(a, 0, 4L * a.length);
    }

    public static HostArray of(long[] a) {
        return new HostArray(a, 0, 8L * a.length);
    }

    public static HostArray of(byte[] a) {
        return new HostArray(a, 0, a.length);
    }

    /** A native host memory range (not owned). */
    public static HostArray at(long address, long bytes) {
        return new HostArray(null, address, bytes);
    }

    /** Throws unless this host range has exactly the bytes of (contiguous) {@code t}. */
    public void requireSize(Tensor t) {
        long need = t.numel() * t.dtype().size();
        if (bytes != need) {
            throw new IllegalArgumentException("host buffer has " + bytes + " bytes, " + t.describe() + " needs " + need);
        }
    }

    public long bytes() {
        return bytes;
    }

    /** True when this is native memory that can be handed to a native copy directly. */
    public boolean isNative() {
        return array == null;
    }

    public long address() {
        if (array != null) {
            throw new IllegalStateException("a Java array has no native address");
        }
        return address;
    }

    /** Copies all bytes of this source to native host memory at {@code dst}. */
    public void copyTo(long dst) {
        if (array instanceof float[]) {
            Addresses.putFloats(dst, (float[]) array);
        } else if (array instanceof int[]) {
            Addresses.putInts(dst, (int[]) array);
        } else if (array instanceof long[]) {
            Addresses.putLongs(dst, (long[]) array);
        } else if (array instanceof byte[]) {
            Addresses.putBytes(dst, (byte[]) array);
        } else {
            Addresses.copy(dst, address, bytes);
        }
    }

    /** Fills this destination with the bytes at native host address {@code src}. */
    public void copyFrom(long src) {
        if (array instanceof float[]) {
            Addresses.getFloats(src, (float[]) array);
        } else if (array instanceof int[]) {
            Addresses.getInts(src, (int[]) array);
        } else if (array instanceof long[]) {
            Addresses.getLongs(src, (long[]) array);
        } else if (array instanceof byte[]) {
            Addresses.getBytes(src, (byte[]) array);
        } else {
            Addresses.copy(address, src, bytes);
        }
    }
}
