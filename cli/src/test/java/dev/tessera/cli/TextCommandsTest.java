package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.io.Npy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera embed} and {@code tessera similarity} on the real MiniLM (the cli's runtime dependency). */
class TextCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void embedWritesUnitRowsToNpy() throws Exception {
        Path out = tmp.resolve("e.npy");
        InfoCommandTest.Run r = InfoCommandTest.run("embed", "--model", "minilm", "--text", "a cat sits on the mat",
                "--text", "the stock market fell", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.out());
        Npy.Array a = Npy.read(out);
        assertArrayEquals(new long[] {2, 384}, a.shape());
        double n = 0;
        for (int i = 0; i < 384; i++) {
            n += a.floats()[i] * a.floats()[i];
        }
        assertEquals(1.0, n, 1e-5);
    }

    @Test
    void poolingCanBeChosen() throws Exception {
        Path mean = tmp.resolve("mean.npy");
        Path cls = tmp.resolve("cls.npy");
        assertEquals(0, InfoCommandTest.run("embed", "--model", "minilm", "--text", "a cat sits on the mat", "--out",
                mean.toString()).exitCode());
        InfoCommandTest.Run r = InfoCommandTest.run("embed", "--model", "minilm", "--pooling", "cls", "--text",
                "a cat sits on the mat", "--out", cls.toString());
        assertEquals(0, r.exitCode(), r.out());
        float[] m = Npy.read(mean).floats();
        float[] c = Npy.read(cls).floats();
        double dot = 0, nc = 0;
        for (int i = 0; i < 384; i++) {
            dot += m[i] * c[i];
            nc += c[i] * c[i];
        }
        assertEquals(1.0, nc, 1e-5); // still normalised (the model's setting)
        assertTrue(dot < 0.99, "cls and mean pooling gave the same vector: " + dot);
    }

    /** --device names a device as the runtime checks it: an unusable one is its one-line error, in every command. */
    @Test
    void anUnusableDeviceIsTheRuntimesOneLineError() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.tessera.runtime.Backends.forType(
                dev.tessera.runtime.Device.Type.CUDA).availability().available(), "CUDA is usable here");
        for (String[] args : new String[][] {{"similarity", "--model", "minilm", "a", "b", "--device", "cuda"},
            {"embed", "--model", "minilm", "--text", "a", "--out", tmp.resolve("x.npy").toString(), "--device", "cuda"}}) {
            ChatCommandTest.Run r = ChatCommandTest.run(null, args);
            org.junit.jupiter.api.Assertions.assertNotEquals(0, r.code());
            assertTrue(r.err().startsWith("error: device cuda:0 is not available: "), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    @Test
    void similarityJsonRanksTheParaphraseFirst() throws Exception {
        InfoCommandTest.Run r = InfoCommandTest.run("similarity", "--model", "minilm", "--json",
                "a cat sits on the mat", "a kitten rests on a rug", "the stock market fell");
        assertEquals(0, r.exitCode(), r.out());
        JsonNode cos = new ObjectMapper().readTree(r.out()).get("cosine");
        assertEquals(1.0, cos.get(0).get(0).asDouble(), 1e-6);
        assertTrue(cos.get(0).get(1).asDouble() > cos.get(0).get(2).asDouble() + 0.3, r.out());
    }

    @Test
    void badModelsAndMissingTextFailWithOneLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Path latin1 = dir.resolve("latin1.txt");
        java.nio.file.Files.write(latin1, "caf\u00e9 au lait".getBytes(StandardCharsets.ISO_8859_1));
        String old = System.getProperty("tessera.offline");
        System.setProperty("tessera.offline", "true");
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setErr(capture);
            assertEquals(2, TesseraCli.run("embed", "--model", "maven:org.example:no-such-model:1.0", "--text", "x"));
            assertEquals(2, TesseraCli.run("embed", "--model", "minilm"));
            assertEquals(2, TesseraCli.run("similarity", "--model", "minilm", "only one"));
            assertEquals(2, TesseraCli.run("similarity", "--model", "minilm", "--pooling", "sum", "a", "b"));
            assertEquals(2, TesseraCli.run("embed", "--model", "minilm", "--text", "x", "--max-length", "1000"));
            assertEquals(2, TesseraCli.run("embed", "--model", "minilm", "--text-file", latin1.toString(), "--out",
                    dir.resolve("x.npy").toString()));
        } finally {
            System.setErr(oldErr);
            if (old == null) {
                System.clearProperty("tessera.offline");
            } else {
                System.setProperty("tessera.offline", old);
            }
        }
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains("error: cannot resolve model artifact org.example:no-such-model:1.0"), e);
        assertTrue(e.contains("error: nothing to embed"), e);
        assertTrue(e.contains("error: give at least two sentences"), e);
        assertTrue(e.contains("error: --pooling: unknown pooling 'sum': cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken"), e);
        assertTrue(e.contains("error: --max-length must be between 2 and 512 (the model's positions), got 1000"), e);
        assertTrue(e.contains("error: cannot read --text-file " + latin1 + ": Input length = 1 (not UTF-8 text"), e);
    }
}
