package dev.tessera.models.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightsTest {
    private static Tensor rand(Random r, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return Tensor.of(a, shape);
    }

    @Test
    void takesByPrefixAndCopiesData() {
        Random r = new Random(1);
        try (Tensor w = rand(r, 3, 2); Tensor b = rand(r, 3)) {
            TensorSource src = TensorSource.of(Map.of("enc.fc.weight", w, "enc.fc.bias", b), "test");
            Weights ws = Weights.of(src, Device.CPU, null);
            Linear fc = Linear.take(ws.prefixed("enc."), "fc", 2, 3, true);
            ws.finish();
            assertArrayEquals(w.toFloatArray(), fc.weight().toFloatArray());
            assertArrayEquals(b.toFloatArray(), fc.bias().toFloatArray());
            // weight, bias and (F32 on the CPU) the packed copy of the weight, which the model frees with them
            assertEquals(fc.packed() != null ? 3 : 2, ws.loaded().size());
            ws.closeLoaded();
            assertTrue(fc.packed() == null || fc.packed().isClosed(), "closeLoaded frees the packed weight");
        }
    }

    @Test
    void listsEveryMissingMisshapenAndUnexpectedName() {
        Random r = new Random(2);
        try (Tensor w = rand(r, 3, 2); Tensor extra = rand(r, 4)) {
            TensorSource src = TensorSource.of(Map.of("fc.weight", w, "stray", extra), "ckpt");
            Weights ws = Weights.of(src, Device.CPU, null);
            assertNull(ws.take("fc.weight", 2, 3));
            assertNull(ws.take("fc.bias", 3));
            assertNull(ws.take("norm.weight", 3));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ws::finish);
            String m = e.getMessage();
            assertTrue(m.contains("2 missing: [fc.bias, norm.weight]"), m);
            assertTrue(m.contains("fc.weight is [3, 2], expected [2, 3]"), m);
            assertTrue(m.contains("1 unexpected: [stray]"), m);
        }
    }

    @Test
    void configLookupsNameFileAndKey(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"),
                "{\"hidden_size\": 64, \"layer_norm_eps\": 1e-12, \"act\": \"gelu\", \"vision_config\": {\"a\": 1},"
                        + " \"id2label\": {\"0\": \"cat\"}, \"bad\": \"x\"}");
        HfConfig c = HfConfig.read(dir);
        assertEquals(64, c.getInt("hidden_size"));
        assertEquals(1e-12, c.getDouble("layer_norm_eps"));
        assertEquals(7, c.getInt("num_layers", 7));
        assertEquals(1, c.child("vision_config").getInt("a"));
        assertEquals("cat", c.getStringMap("id2label").get("0"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.getInt("bad"));
        assertTrue(e.getMessage().contains("\"bad\" must be a number"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.getInt("num_heads"));
        assertTrue(e.getMessage().contains("missing required key \"num_heads\""), e.getMessage());
    }
}
