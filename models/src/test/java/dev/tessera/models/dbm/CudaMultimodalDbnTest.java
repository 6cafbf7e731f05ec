package dev.tessera.models.dbm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.rbm.RbmParams;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dbm train --device cuda}: the whole layer-wise training (CD-1 stacks, PCD joint layer) on the GPU.
 * The Philox streams are the same on both backends but a Bernoulli draw can flip where the GPU's
 * probability differs from the CPU's in the last bits, so the two runs are compared statistically (each
 * layer's weight norm within 10% of the CPU run's) and the GPU run against itself bit for bit (same seed,
 * same backend: same checkpoint bytes).
 */
class CudaMultimodalDbnTest {
    @Test
    void trainsOnCudaReproduciblyAndLikeTheCpu(@TempDir Path dir) throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        MultimodalDbnTest.data();
        DbmConfig cfg = MultimodalDbnTest.TINY;
        try (MultimodalDbn a = MultimodalDbn.train(cfg, MultimodalDbnTest.images, MultimodalDbnTest.audio, null, null, cuda);
                MultimodalDbn b = MultimodalDbn.train(cfg, MultimodalDbnTest.images, MultimodalDbnTest.audio, null, null, cuda);
                MultimodalDbn c = MultimodalDbn.train(cfg, MultimodalDbnTest.images, MultimodalDbnTest.audio, null, null,
                        Device.CPU)) {
            a.save(dir.resolve("a"));
            b.save(dir.resolve("b"));
            assertArrayEquals(Files.readAllBytes(dir.resolve("a/model.safetensors")),
                    Files.readAllBytes(dir.resolve("b/model.safetensors")), "same seed on CUDA: same bytes");
            RbmParams[] ga = a.layers();
            RbmParams[] gc = c.layers();
            for (int k = 0; k < ga.length; k++) {
                assertTrue(ga[k].weights().device().isCpu(), "trained parameters come back to the host");
                double wa = norm(ga[k].weights().toFloatArray());
                double wc = norm(gc[k].weights().toFloatArray());
                assertTrue(Math.abs(wa - wc) <= 0.1 * wc, "layer " + k + ": |W| on CUDA " + wa + " vs CPU " + wc);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> MultimodalDbn.train(cfg, MultimodalDbnTest.images,
                new float[3][cfg.audioSize()], null, null, cuda));
    }

    private static double norm(float[] a) {
        double s = 0;
        for (float f : a) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }
}
