package dev.tessera.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class BenchArgsTest {
    private static final String USAGE = "Demo [--threads 2] [--batches 1,8,32] [--out FILE] [--rate 0.5]"
            + " [--output reuse|fresh] [--quick]";

    @Test
    void valuesFlagsAndDefaults() {
        BenchArgs a = BenchArgs.parse(new String[] {"--threads", "3", "--quick", "--out", "x.json", "--batches", "4,16",
            "--rate", "-1.25", "--threads", "5"}, USAGE);
        assertFalse(a.help());
        assertEquals(5, a.getInt("--threads", 2), "the last occurrence wins");
        assertArrayEquals(new int[] {4, 16}, a.getInts("--batches", 1, 8, 32));
        assertEquals(Path.of("x.json"), a.getPath("--out", Path.of("d.json")));
        assertEquals(-1.25, a.getDouble("--rate", 0.5), "a value may start with '-'");
        assertTrue(a.flag("--quick"));
        assertEquals("reuse", a.get("--output", "reuse"));

        BenchArgs none = BenchArgs.parse(new String[0], USAGE);
        assertEquals(2, none.getInt("--threads", 2));
        assertArrayEquals(new int[] {1, 8, 32}, none.getInts("--batches", 1, 8, 32));
        assertFalse(none.flag("--quick"));
    }

    @Test
    void badCommandLinesNameTheOptionAndQuoteTheUsage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchArgs.parse(new String[] {"--thread", "2"}, USAGE));
        assertTrue(e.getMessage().startsWith("unknown option --thread") && e.getMessage().endsWith("usage: " + USAGE),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchArgs.parse(new String[] {"--out"}, USAGE));
        assertTrue(e.getMessage().startsWith("--out needs a value"), e.getMessage());
        BenchArgs a = BenchArgs.parse(new String[] {"--threads", "two", "--batches", "1,x"}, USAGE);
        e = assertThrows(IllegalArgumentException.class, () -> a.getInt("--threads", 2));
        assertTrue(e.getMessage().startsWith("bad value 'two' for --threads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> a.getInts("--batches", 1));
        assertTrue(e.getMessage().startsWith("bad value '1,x' for --batches"), e.getMessage());
    }

    @Test
    void helpStopsParsing() {
        BenchArgs a = BenchArgs.parse(new String[] {"--threads", "3", "-h", "--not-read"}, USAGE);
        assertTrue(a.help());
        assertTrue(BenchArgs.parse(new String[] {"--help"}, USAGE).help());
    }

    @Test
    void aMainAskingForWhatItDidNotDeclareIsAMistake() {
        BenchArgs a = BenchArgs.parse(new String[0], USAGE);
        assertThrows(IllegalStateException.class, () -> a.getInt("--reps", 1), "undeclared option");
        assertThrows(IllegalStateException.class, () -> a.flag("--threads"), "a value option read as a flag");
        assertThrows(IllegalStateException.class, () -> a.get("--quick", "x"), "a flag read as a value");
        assertThrows(IllegalStateException.class, () -> BenchArgs.parse(new String[0], "Demo [--a 1] [--a 2]"),
                "an option declared twice");
    }
}
