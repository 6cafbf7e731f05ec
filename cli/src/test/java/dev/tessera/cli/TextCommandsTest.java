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

    /**
     * {@code --dtype bf16 | int8} on the cpu (the real MiniLM's projections held as bfloat16 / int8, f32 arithmetic) and
     * {@code int8-dynamic} (int8 weights and activations): {@code embed} writes the library's embeddings of the model
     * loaded so; over the 62 real sentences of the parity test
     * each stays within cosine 0.99 of its f32 embedding; {@code similarity} keeps cat / kitten above cat / stocks.
     */
    @Test
    void cpuStoredMatricesKeepTheRealModelsEmbeddings() throws Exception {
        java.util.List<String> sentences = java.nio.file.Files.readAllLines(
                Path.of("../models/src/test/resources/bert/sentences.txt")).stream().filter(l -> !l.isBlank()).toList();
        java.util.List<String> args = new java.util.ArrayList<>();
        for (String x : sentences) {
            args.add("--text");
            args.add(x);
        }
        Path f32 = tmp.resolve("f32.npy");
        java.util.List<String> base = new java.util.ArrayList<>(java.util.List.of("embed", "--model", "minilm", "--out",
                f32.toString()));
        base.addAll(args);
        assertEquals(0, InfoCommandTest.run(base.toArray(String[]::new)).exitCode());
        float[] ref = Npy.read(f32).floats();
        for (String dt : new String[] {"bf16", "int8", "int8-dynamic"}) {
            Path out = tmp.resolve(dt + ".npy");
            java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("embed", "--model", "minilm", "--dtype",
                    dt, "--out", out.toString()));
            a.addAll(args);
            InfoCommandTest.Run r = InfoCommandTest.run(a.toArray(String[]::new));
            assertEquals(0, r.exitCode(), r.out());
            float[] got = Npy.read(out).floats();
            float[][] want;
            boolean dynamic = dt.equals("int8-dynamic");
            try (dev.tessera.models.bert.SentenceEncoder enc = dev.tessera.models.bert.SentenceEncoder.load("minilm",
                    dev.tessera.runtime.Device.CPU, dynamic ? null : dev.tessera.runtime.DType.parseStorage(dt), dynamic)) {
                want = enc.embed(sentences.subList(0, 3));
            }
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(want[i], java.util.Arrays.copyOfRange(got, i * 384, i * 384 + 384), dt + " row " + i);
            }
            double min = 1;
            double sum = 0;
            for (int i = 0; i < sentences.size(); i++) {
                double dot = 0;
                for (int k = 0; k < 384; k++) {
                    dot += (double) got[i * 384 + k] * ref[i * 384 + k];
                }
                min = Math.min(min, dot);
                sum += dot;
            }
            System.out.printf("--dtype %s over %d sentences: cosine to f32 min %.5f mean %.5f%n", dt, sentences.size(),
                    min, sum / sentences.size());
            assertTrue(min >= (dynamic ? 0.98 : 0.99) && min < 1, dt + ": min cosine to f32 " + min);
            InfoCommandTest.Run sim = InfoCommandTest.run("similarity", "--model", "minilm", "--dtype", dt, "--json",
                    "a cat sits on the mat", "a kitten rests on a rug", "the stock market fell");
            assertEquals(0, sim.exitCode(), sim.out());
            JsonNode c = new ObjectMapper().readTree(sim.out()).get("cosine");
            assertTrue(c.get(0).get(1).asDouble() > c.get(0).get(2).asDouble() + 0.3, sim.out());
        }
    }
}
