package dev.tessera.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Npy#read} on files NumPy wrote ({@code src/test/resources/npy/make_npy_fixtures.py}): float16 / float64,
 * big-endian and Fortran-order variants of one array come back as the float32 C-order array NumPy reads from them;
 * kinds Tessera does not read are refused in one line.
 */
class NpyTest {
    private static final Path DIR = Path.of("src/test/resources/npy");

    private static Npy.Array read(String name) throws IOException {
        return Npy.read(DIR.resolve(name + ".npy"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"f8_c", "f4_big", "f4_fortran", "f8_big_fortran"})
    void floatVariantsReadAsTheFloat32CArray(String name) throws IOException {
        Npy.Array ref = read("ref_f4");
        Npy.Array a = read(name);
        assertEquals(Npy.DType.F32, a.dtype());
        assertArrayEquals(ref.shape(), a.shape(), name);
        assertArrayEquals(ref.requireFloats(), a.requireFloats(), name); // float32 → float64 → float32 is exact
    }

    @Test
    void float16IsWidenedExactly() throws IOException {
        Npy.Array a = read("f2_c");
        assertArrayEquals(new long[] {2, 3, 5}, a.shape());
        float[] want = read("ref_f2_as_f4").requireFloats();
        assertArrayEquals(want, a.requireFloats());
        assertTrue(want[0] > 0 && want[0] < 6.1e-5f, "the fixture holds a float16 subnormal: " + want[0]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"i4_fortran", "i8_big"})
    void integerVariants(String name) throws IOException {
        long[] want = read("ref_i8").longs();
        Npy.Array a = read(name);
        assertArrayEquals(new long[] {2, 3, 5}, a.shape());
        long[] got = a.dtype() == Npy.DType.I64 ? a.longs() : java.util.Arrays.stream(a.ints()).asLongStream().toArray();
        assertArrayEquals(want, got, name);
        assertEquals(name.startsWith("i4") ? Npy.DType.I32 : Npy.DType.I64, a.dtype());
    }

    @ParameterizedTest
    @ValueSource(strings = {"u1_refused", "c8_refused", "i2_refused"})
    void otherKindsAreRefusedInOneLine(String name) {
        IOException e = assertThrows(IOException.class, () -> read(name));
        assertTrue(e.getMessage().contains("unsupported dtype") && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void fortranOrderOfEveryRankMatchesATranspose(@TempDir Path tmp) throws IOException {
        // Fortran data of shape (d0..dk-1) is the C data of the reversed shape, transposed: write the reversed-shape
        // array in C order, relabel its header as Fortran with the original shape, and compare element by element.
        java.util.Random r = new java.util.Random(3);
        for (int rank = 1; rank <= 5; rank++) {
            long[] shape = new long[rank];
            long[] rev = new long[rank];
            int n = 1;
            for (int j = 0; j < rank; j++) {
                shape[j] = 1 + r.nextInt(4);
                n *= (int) shape[j];
            }
            for (int j = 0; j < rank; j++) {
                rev[j] = shape[rank - 1 - j];
            }
            float[] data = new float[n];
            for (int i = 0; i < n; i++) {
                data[i] = i;
            }
            Path c = tmp.resolve("c" + rank + ".npy");
            Npy.writeFloats(c, data, rev);
            byte[] b = Files.readAllBytes(c);
            String h = new String(b, 10, b.length - 10 - 4 * n, java.nio.charset.StandardCharsets.ISO_8859_1);
            String revText = shapeText(rev);
            String relabelled = h.replace("'fortran_order': False", "'fortran_order': True ")
                    .replace(revText, padTo(shapeText(shape), revText.length()));
            System.arraycopy(relabelled.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 0, b, 10, h.length());
            Npy.Array a = Npy.read(b, "fortran" + rank);
            assertArrayEquals(shape, a.shape());
            float[] got = a.requireFloats();
            // C index i of shape → multi-index → the reversed multi-index in the C array of shape rev
            for (int i = 0; i < n; i++) {
                long rem = i;
                long[] idx = new long[rank];
                for (int j = rank - 1; j >= 0; j--) {
                    idx[j] = rem % shape[j];
                    rem /= shape[j];
                }
                long off = 0;
                for (int j = 0; j < rank; j++) {
                    off = off * rev[j] + idx[rank - 1 - j];
                }
                assertEquals(data[(int) off], got[i], "rank " + rank + " element " + i);
            }
        }
    }

    private static String shapeText(long[] s) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < s.length; i++) {
            sb.append(s[i]).append(s.length == 1 ? "," : (i + 1 < s.length ? ", " : ""));
        }
        return sb.append(")").toString();
    }

    private static String padTo(String s, int len) {
        return s + " ".repeat(Math.max(0, len - s.length()));
    }

    @Test
    void halfToFloatCoversEveryClass() {
        assertEquals(0f, DType.halfToFloat((short) 0));
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(DType.halfToFloat((short) 0x8000)));
        assertEquals(1f, DType.halfToFloat((short) 0x3c00));
        assertEquals(65504f, DType.halfToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, DType.halfToFloat((short) 1));
        assertEquals(Float.NEGATIVE_INFINITY, DType.halfToFloat((short) 0xfc00));
        assertTrue(Float.isNaN(DType.halfToFloat((short) 0x7e00)));
    }
}
