package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Checks the reference itself against published values, so that the op tests compare against truth. */
class Reference64Test {
    @Test
    void erfMatchesTabulatedValues() {
        // erf values from C99 libm erf (correctly rounded or within 1 ulp)
        double[][] table = {
            {0.0, 0.0},
            {1e-10, 1.1283791670955126e-10},
            {0.1, 0.1124629160182849},
            {0.5, 0.5204998778130465},
            {1.0, 0.8427007929497149},
            {1.5, 0.9661051464753108},
            {1.9999, 0.9953201979070294},
            {2.0, 0.9953222650189527},
            {2.0001, 0.9953243313041966},
            {2.4999, 0.9995928300996666},
            {2.5, 0.999593047982555},
            {3.0, 0.9999779095030014},
            {4.0, 0.9999999845827421},
            {6.0, 1.0},
        };
        for (double[] row : table) {
            assertEquals(row[1], Reference64.erf(row[0]), 2e-15 * Math.max(1e-300, Math.abs(row[1])) + 1e-25,
                    "erf(" + row[0] + ")");
            assertEquals(-row[1], Reference64.erf(-row[0]), 2e-15 * Math.abs(row[1]) + 1e-25, "erf(-" + row[0] + ")");
        }
        // erfc tail, relative
        assertEquals(2.2090496998585438e-05, Reference64.erfcLarge(3.0), 1e-14 * 2.2e-5);
        assertEquals(1.5374597944280351e-12, Reference64.erfcLarge(5.0), 1e-14 * 1.5e-12);
        assertTrue(Double.isNaN(Reference64.erf(Double.NaN)));
    }

    @Test
    void geluFormsAgreeWithKnownValues() {
        assertEquals(0.8413447460685429, Reference64.gelu(1.0), 1e-15);
        assertEquals(-0.15865525393145707, Reference64.gelu(-1.0), 1e-15);
        assertEquals(0.8411919906082768, Reference64.geluTanh(1.0), 1e-15);
        assertEquals(0.7310585786300049, Reference64.silu(1.0), 1e-15);
    }

    @Test
    void f16RoundingRules() {
        assertEquals(0x3c00, Reference64.toF16Bits(1f) & 0xffff);
        assertEquals(0x3555, Reference64.toF16Bits(1f / 3) & 0xffff);
        assertEquals(0x7bff, Reference64.toF16Bits(65504f) & 0xffff);
        assertEquals(0x7bff, Reference64.toF16Bits(65519.996f) & 0xffff);
        assertEquals(0x7c00, Reference64.toF16Bits(65520f) & 0xffff); // tie at the top rounds to even = inf
        assertEquals(0xfc00, Reference64.toF16Bits(-1e9f) & 0xffff);
        assertEquals(0x0001, Reference64.toF16Bits(0x1p-24f) & 0xffff);
        assertEquals(0x0000, Reference64.toF16Bits(0x1p-25f) & 0xffff); // tie → even (0)
        assertEquals(0x0001, Reference64.toF16Bits(0x1.000002p-25f) & 0xffff);
        assertEquals(0x0002, Reference64.toF16Bits(0x1.8p-24f) & 0xffff); // tie 1.5 → 2
        assertEquals(0x0400, Reference64.toF16Bits(0x1.ffcp-15f) & 0xffff); // subnormal rounding up to normal
        assertEquals(0x8000, Reference64.toF16Bits(-Float.MIN_VALUE) & 0xffff);
        assertEquals(0x3c00, Reference64.toF16Bits(1f + 0x1p-11f) & 0xffff); // tie → even
        assertEquals(0x3c02, Reference64.toF16Bits(1f + 0x1.8p-10f) & 0xffff); // tie → even (up)
        assertEquals(0x7c00, Reference64.toF16Bits(Float.POSITIVE_INFINITY) & 0xffff);
        int nan = Reference64.toF16Bits(Float.NaN) & 0xffff;
        assertTrue((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0);
        // exact decode of every non-NaN pattern round-trips
        for (int h = 0; h < 65536; h++) {
            float f = Reference64.f16BitsToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertEquals(h, Reference64.toF16Bits(f) & 0xffff, "round trip " + Integer.toHexString(h));
            }
        }
        assertEquals(0x1p-24f, Reference64.f16BitsToFloat((short) 1));
        assertEquals(65504f, Reference64.f16BitsToFloat((short) 0x7bff));
    }

    @Test
    void bf16RoundingRules() {
        assertEquals(0x3f80, Reference64.toBf16Bits(1f) & 0xffff);
        assertEquals(0x3f80, Reference64.toBf16Bits(Float.intBitsToFloat(0x3f808000)) & 0xffff); // tie → even
        assertEquals(0x3f82, Reference64.toBf16Bits(Float.intBitsToFloat(0x3f818000)) & 0xffff); // tie → even (up)
        assertEquals(0x3f81, Reference64.toBf16Bits(Float.intBitsToFloat(0x3f808001)) & 0xffff);
        assertEquals(0x7f80, Reference64.toBf16Bits(Float.MAX_VALUE) & 0xffff); // overflow to inf
        assertEquals(0x0000, Reference64.toBf16Bits(Float.MIN_VALUE) & 0xffff);
        assertEquals(0x0002, Reference64.toBf16Bits(Float.intBitsToFloat(0x00018000)) & 0xffff); // subnormal tie → even (up)
        assertEquals(0x0002, Reference64.toBf16Bits(Float.intBitsToFloat(0x00028000)) & 0xffff); // tie → even (down)
        int nan = Reference64.toBf16Bits(Float.intBitsToFloat(0x7f800001)) & 0xffff; // signalling NaN stays NaN
        assertTrue((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0);
        for (int h = 0; h < 65536; h++) {
            float f = Reference64.bf16BitsToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertEquals(h, Reference64.toBf16Bits(f) & 0xffff);
            }
        }
    }

    @Test
    void softmaxMaskAndRelError() {
        float[] x = {1, 2, 3, 4, 5, 6};
        double[] s = Reference64.softmax(x, 3, 2); // q 2, k 3: row 0 sees cols 0..1, row 1 sees 0..2
        assertEquals(0.0, s[2]);
        assertEquals(1.0, s[0] + s[1], 1e-15);
        assertEquals(1.0, s[3] + s[4] + s[5], 1e-15);
        assertEquals(Double.POSITIVE_INFINITY, Reference64.relError(new float[] {Float.NaN}, new double[] {1}));
        assertEquals(0.0, Reference64.relError(new float[] {0}, new double[] {0}));
    }
}
