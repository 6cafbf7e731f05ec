package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.bindings.Addresses;
import java.util.Arrays;
import java.util.function.Supplier;

/** Helpers shared by the op tests: error assertions, poisoned outputs, raw 16-bit tensor access. */
final class TestSupport {
    private TestSupport() {}

    /** Asserts rel. error ‖out − ref‖/‖ref‖ ≤ tol (NaN never passes) and reports the error on failure. */
    static double assertRel(float[] out, double[] ref, double tol, String what) {
        double e = Reference64.relError(out, ref);
        if (!(e <= tol)) {
            int worst = -1;
            double worstDiff = -1;
            for (int i = 0; i < ref.length; i++) {
                double d = Float.isNaN(out[i]) ? Double.POSITIVE_INFINITY : Math.abs(out[i] - ref[i]);
                if (d > worstDiff) {
                    worstDiff = d;
                    worst = i;
                }
            }
            fail(what + ": relative error " + e + " > " + tol + " (n=" + ref.length + "; worst at " + worst + ": got "
                    + (worst >= 0 ? out[worst] : "-") + ", expected " + (worst >= 0 ? ref[worst] : "-") + ")");
        }
        return e;
    }

    static double assertRel(float[] out, float[] ref, double tol, String what) {
        return assertRel(out, Reference64.toDouble(ref), tol, what);
    }

    static void assertShape(Tensor t, long... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            fail("shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(expected));
        }
    }

    static void assertAllFinite(float[] a, String what) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                fail(what + ": element " + i + " is " + a[i]);
            }
        }
    }

    /**
     * Best-effort poisoning of the next host allocation of {@code floats} F32 elements: allocates a
     * block of that size, fills it with NaN and frees it, so that malloc is likely to hand the same
     * bytes to the op's output and an element the kernel forgets to write shows up as NaN.
     */
    static void poisonNextAllocation(long floats) {
        if (floats <= 0 || floats > (1 << 24)) {
            return;
        }
        try (Tensor t = Tensor.empty(DType.F32, Device.CPU, floats)) {
            float[] nan = new float[(int) floats];
            Arrays.fill(nan, Float.NaN);
            Addresses.putFloats(t.address(), nan);
        }
    }

    /** A NaN-filled F32 tensor (for out-parameters). */
    static Tensor nanTensor(Device device, long... shape) {
        float[] nan = new float[Math.toIntExact(Shape.numel(shape))];
        Arrays.fill(nan, Float.NaN);
        return Tensor.of(nan, device, shape);
    }

    /** An F16/BF16 CPU tensor holding exactly {@code bits} (an even number of elements). */
    static Tensor rawHalfTensor(DType dtype, short[] bits) {
        if (bits.length % 2 == 1) {
            throw new IllegalArgumentException("use an even number of elements");
        }
        Tensor t = Tensor.empty(dtype, Device.CPU, bits.length);
        int[] packed = new int[bits.length / 2];
        for (int j = 0; j < packed.length; j++) {
            packed[j] = (bits[2 * j] & 0xffff) | (bits[2 * j + 1] << 16);
        }
        Addresses.putInts(t.address(), packed);
        return t;
    }

    /** The raw 16-bit elements of a contiguous F16/BF16 CPU tensor with an even element count. */
    static short[] rawHalfBits(Tensor t) {
        assertTrue(t.dtype().size() == 2 && t.device().isCpu() && t.isContiguous() && t.numel() % 2 == 0,
                () -> "rawHalfBits needs an even-sized contiguous 16-bit CPU tensor, got " + t.describe());
        int[] packed = new int[(int) (t.numel() / 2)];
        Addresses.getInts(t.address(), packed);
        short[] out = new short[packed.length * 2];
        for (int j = 0; j < packed.length; j++) {
            out[2 * j] = (short) packed[j];
            out[2 * j + 1] = (short) (packed[j] >>> 16);
        }
        return out;
    }

    /** The raw bits of a contiguous F32 CPU tensor. */
    static int[] rawF32Bits(Tensor t) {
        float[] f = new float[Math.toIntExact(t.numel())];
        Addresses.getFloats(t.address(), f);
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    static String hex16(int v) {
        return String.format("0x%04x", v & 0xffff);
    }

    static Supplier<String> msg(String fmt, Object... args) {
        return () -> String.format(fmt, args);
    }
}
