package dev.tessera.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ReadOnlyMapping on the JDK running the tests (CI: 17; by hand also 25, docs/verification.md "Session 38"). */
class ReadOnlyMappingTest {
    @TempDir
    Path dir;

    @Test
    void releasesMappingsEagerlyWithoutUnsafeFromJdk22() {
        int feature = Runtime.version().feature();
        ReadOnlyMapping.Release expected = feature >= 22 ? ReadOnlyMapping.Release.ARENA
                : ReadOnlyMapping.Release.UNSAFE;
        assertEquals(expected, ReadOnlyMapping.release(), "JDK " + feature);
    }

    @Test
    void mapsTheBytesOfAnyRangeAndUnmapsOnClose() throws IOException {
        byte[] data = new byte[70_001];
        new Random(3).nextBytes(data);
        Path p = dir.resolve("bytes.bin");
        Files.write(p, data);
        Random rnd = new Random(5);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            for (int i = 0; i < 50; i++) {
                int from = rnd.nextInt(data.length);
                int n = 1 + rnd.nextInt(data.length - from);
                ByteBuffer view;
                try (ReadOnlyMapping m = ReadOnlyMapping.map(ch, from, n)) {
                    view = m.buffer();
                    assertEquals(0, view.position());
                    assertEquals(n, view.remaining());
                    byte[] got = new byte[n];
                    view.duplicate().get(got);
                    assertArrayEquals(Arrays.copyOfRange(data, from, from + n), got, "bytes " + from + "+" + n);
                    assertThrows(java.nio.ReadOnlyBufferException.class, () -> view.put(0, (byte) 1));
                }
                if (ReadOnlyMapping.release() == ReadOnlyMapping.Release.ARENA) {
                    // unmapped: a use after the close is refused instead of reading unmapped memory
                    assertThrows(IllegalStateException.class, () -> view.get(0));
                }
            }
        }
    }
}
