package dev.tessera.models.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** {@link PyStrings} against Python's {@code str.isspace} (the Unicode White_Space characters plus U+001C..U+001F). */
class PyStringsTest {
    @Test
    void whitespaceIsPythons() {
        // Python 3: [c for c in range(0x10000) if chr(c).isspace()]
        Set<Integer> python = new TreeSet<>(java.util.List.of(0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85,
                0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
                0x2028, 0x2029, 0x202f, 0x205f, 0x3000));
        Set<Integer> got = new TreeSet<>();
        for (int c = 0; c < 0x10000; c++) {
            if (PyStrings.isSpace((char) c)) {
                got.add(c);
            }
        }
        assertEquals(python, got);
        assertEquals("a b", PyStrings.strip("\u00a0\u202f a b\u2007\n"));
        assertEquals(true, PyStrings.isBlank("\u00a0 \u3000"));
        assertEquals("xx", PyStrings.strip("--xx-", "-", true, true));
    }
}
