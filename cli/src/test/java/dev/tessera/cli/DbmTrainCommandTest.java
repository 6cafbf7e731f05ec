package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera dbm train} end to end on a small run (200 pairs, one epoch), then {@code dbm eval} on its output. */
class DbmTrainCommandTest {
    @Test
    void trainsAShortRunThatEvalReads(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("model");
        InfoCommandTest.Run r = InfoCommandTest.run("dbm", "train", "--epochs", "1", "--limit", "200",
                "--joint-candidates", "2", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.out());
        for (String f : new String[] {"config.json", "model.safetensors", "readouts.safetensors", "training-curves.png",
            "generated-from-speech.png", "reconstructions.png"}) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals(1, cfg.get("epochs").asInt());
        assertEquals(1, cfg.get("joint_epochs").asInt(), "joint epochs default to half of --epochs, rounded up");
        r = InfoCommandTest.run("dbm", "eval", "--model", out.toString(), "--json", "--pairs", "100");
        assertEquals(0, r.exitCode(), r.out());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(100, j.get("test_pairs").asInt());
        for (String k : new String[] {"image_only", "audio_only", "both", "generated_from_speech"}) {
            double v = j.get(k).asDouble(-1);
            assertTrue(v >= 0 && v <= 1, k + " = " + v);
        }
        // one epoch on 200 pairs already reads speech far above chance (10%)
        assertTrue(j.get("audio_only").asDouble() > 0.3, r.out());
    }

    @Test
    void badOptionsAndAMissingGpuAreOneLineErrors(@TempDir Path dir) throws Exception {
        String[] err = new String[1];
        int code = withStderr(err, "dbm", "train", "--joint-candidates", "0", "--out", dir.resolve("y").toString());
        assertNotEquals(0, code);
        assertTrue(err[0].startsWith("error: ") && err[0].contains("--joint-candidates"), err[0]);
        if (!Backends.forType(Device.Type.CUDA).availability().available()) {
            code = withStderr(err, "dbm", "train", "--device", "cuda", "--out", dir.resolve("x").toString());
            assertNotEquals(0, code);
            assertTrue(err[0].startsWith("error: device cuda:0 is not available"), err[0]);
            assertEquals(1, err[0].strip().lines().count(), "one line: " + err[0]);
            assertTrue(!Files.exists(dir.resolve("x")), "nothing written before the device check");
        }
    }

    /** Runs the CLI with stderr captured into {@code err[0]}; returns the exit code. */
    private static int withStderr(String[] err, String... args) {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        int code;
        try (java.io.PrintStream capture = new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8)) {
            System.setErr(capture);
            code = TesseraCli.run(args);
        } finally {
            System.setErr(old);
        }
        err[0] = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        return code;
    }
}
