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
        ChatCommandTest.Run r = ChatCommandTest.run(null, "dbm", "train", "--joint-candidates", "0", "--out",
                dir.resolve("y").toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("--joint-candidates"), r.err());
        for (String[] opt : new String[][] {{"--epochs", "0"}, {"--limit", "-1"}, {"--shift", "5"},
            {"--joint-epochs", "0"}}) {
            r = ChatCommandTest.run(null, "dbm", "train", opt[0], opt[1], "--out", dir.resolve("z").toString());
            assertNotEquals(0, r.code());
            assertTrue(r.err().startsWith("error: " + opt[0] + " must be") && r.err().strip().lines().count() == 1,
                    r.err());
        }
        if (!Backends.forType(Device.Type.CUDA).availability().available()) {
            r = ChatCommandTest.run(null, "dbm", "train", "--device", "cuda", "--out", dir.resolve("x").toString());
            assertNotEquals(0, r.code());
            assertTrue(r.err().startsWith("error: device cuda:0 is not available"), r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertTrue(!Files.exists(dir.resolve("x")), "nothing written before the device check");
        }
    }
}
