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
            Linear raw = Linear.takeUnpacked(ws.prefixed("enc."), "fc", 2, 3, true);
            assertArrayEquals(w.toFloatArray(), raw.weight().toFloatArray());
            Linear fc = Linear.take(ws.prefixed("enc."), "fc", 2, 3, true);
            ws.finish();
            assertArrayEquals(b.toFloatArray(), fc.bias().toFloatArray());
            // taken twice (as a tied weight would be): the stored copy stays beside the packed one
            assertTrue(fc.weight() != null, "a weight something else also took is not freed");
            assertEquals(fc.packed() != null ? 3 : 2, ws.loaded().size());
            ws.closeLoaded();
            assertTrue(fc.packed() == null || fc.packed().isClosed(), "closeLoaded frees the packed weight");
        }
    }

    /** y = x·Wᵀ + b by hand, for [rows, in] x and [out, in] w. */
    private static float[] reference(float[] x, float[] w, float[] b, int rows, int in, int out) {
        float[] y = new float[rows * out];
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < out; o++) {
                double acc = b == null ? 0 : b[o];
                for (int k = 0; k < in; k++) {
                    acc += (double) x[i * in + k] * w[o * in + k];
                }
                y[i * out + o] = (float) acc;
            }
        }
        return y;
    }

    private static void assertClose(float[] want, float[] got) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= 1e-5f * (1 + Math.abs(want[i])), i + ": " + want[i] + " vs " + got[i]);
        }
    }

    @Test
    void packedTakeFreesTheStoredWeight() {
        Random r = new Random(3);
        try (Tensor w = rand(r, 37, 19); Tensor b = rand(r, 37); Tensor x = rand(r, 5, 19)) {
            TensorSource src = TensorSource.of(Map.of("fc.weight", w, "fc.bias", b), "test");
            Weights ws = Weights.of(src, Device.CPU, null);
            Linear fc = Linear.take(ws, "fc", 19, 37, true);
            ws.finish();
            if (fc.packed() != null) {
                assertNull(fc.weight(), "only the packed copy is kept");
                assertEquals(2, ws.loaded().size()); // bias + packed
            }
            try (Tensor y = fc.forward(x)) {
                assertClose(reference(x.toFloatArray(), w.toFloatArray(), b.toFloatArray(), 5, 19, 37), y.toFloatArray());
            }
            assertEquals(19, fc.in());
            assertEquals(37, fc.out());
            ws.closeLoaded();
        }
    }

    @Test
    void stackedTakeIsOneProjectionOverTheParts() {
        Random r = new Random(4);
        try (Tensor wq = rand(r, 6, 7); Tensor wk = rand(r, 6, 7); Tensor wv = rand(r, 6, 7); Tensor bq = rand(r, 6);
                Tensor bk = rand(r, 6); Tensor bv = rand(r, 6); Tensor x = rand(r, 3, 7)) {
            TensorSource src = TensorSource.of(Map.of("q.weight", wq, "k.weight", wk, "v.weight", wv, "q.bias", bq,
                    "k.bias", bk, "v.bias", bv), "test");
            Weights ws = Weights.of(src, Device.CPU, null);
            Linear qkv = Linear.takeStacked(ws, 7, 6, true, "q", "k", "v");
            ws.finish();
            assertEquals(18, qkv.out());
            // stacked bias + (packed weight, or the stacked weight); the parts are freed
            assertEquals(2, ws.loaded().size());
            float[] wAll = new float[18 * 7];
            float[] bAll = new float[18];
            Tensor[] wp = {wq, wk, wv};
            Tensor[] bp = {bq, bk, bv};
            for (int i = 0; i < 3; i++) {
                System.arraycopy(wp[i].toFloatArray(), 0, wAll, i * 42, 42);
                System.arraycopy(bp[i].toFloatArray(), 0, bAll, i * 6, 6);
            }
            try (Tensor y = qkv.forward(x)) {
                assertClose(reference(x.toFloatArray(), wAll, bAll, 3, 7, 18), y.toFloatArray());
            }
            ws.closeLoaded();
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
        assertTrue(e.getMessage().contains("\"bad\" must be an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.getInt("num_heads"));
        assertTrue(e.getMessage().contains("missing required key \"num_heads\""), e.getMessage());
    }
}
