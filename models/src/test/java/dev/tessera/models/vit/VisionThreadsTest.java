package dev.tessera.models.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.models.clip.ClipModel;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One loaded ViT and one CLIP shared by several threads (a server's request threads, a Spark executor's tasks):
 * every thread gets bit for bit the logits / probabilities one thread alone gets for the same input, and the native
 * memory is back where it was when they are done.
 */
class VisionThreadsTest {
    private static final int THREADS = 4;
    private static final int ROUNDS = 6;

    /** Distinct random pixel batches of the fixture's image size, one per round. */
    private static float[][] inputs(int n, long[] shape, long seed) {
        Random r = new Random(seed);
        int size = (int) (shape[1] * shape[2] * shape[3]);
        float[][] out = new float[n][size];
        for (float[] x : out) {
            for (int i = 0; i < size; i++) {
                x[i] = (float) r.nextGaussian();
            }
        }
        return out;
    }

    @Test
    void oneViTAndOneClipServeSeveralThreads() throws Exception {
        long[] vitShape = Npy.read(ViTParityTest.fixtureDir("vit-b").resolve("pixels.npy")).shape();
        long[] clipShape = Npy.read(ViTParityTest.fixtureDir("clip-b").resolve("pixels.npy")).shape();
        long[] one = {1, vitShape[1], vitShape[2], vitShape[3]};
        long[] oneClip = {1, clipShape[1], clipShape[2], clipShape[3]};
        float[][] vitIn = inputs(ROUNDS, one, 1);
        float[][] clipIn = inputs(ROUNDS, oneClip, 2);
        int[][] prompts = {{1, 110, 115, 7}, {1, 7, 119, 119}, {1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 7}};
        Backend cpu = Backends.get(Device.CPU);
        try (ViTForImageClassification vit = ViTForImageClassification.load(ViTParityTest.fixtureDir("vit-b"),
                Device.CPU, DType.F32);
                ClipModel clip = ClipModel.load(ViTParityTest.fixtureDir("clip-b"), Device.CPU, null)) {
            float[][] vitRef = new float[ROUNDS][];
            float[][][] clipRef = new float[ROUNDS][][];
            for (int i = 0; i < ROUNDS; i++) {
                vitRef[i] = logits(vit, vitIn[i], one);
                clipRef[i] = probs(clip, clipIn[i], oneClip, prompts);
            }
            long allocated = cpu.memoryStats(Device.CPU).allocatedBytes();
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> runs = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    final int shift = t;
                    runs.add(pool.submit(() -> {
                        for (int k = 0; k < 3 * ROUNDS; k++) {
                            int i = (k + shift) % ROUNDS;
                            assertArrayEquals(vitRef[i], logits(vit, vitIn[i], one), "thread " + shift + " ViT " + i);
                            float[][] p = probs(clip, clipIn[i], oneClip, prompts);
                            for (int row = 0; row < p.length; row++) {
                                assertArrayEquals(clipRef[i][row], p[row], "thread " + shift + " CLIP " + i);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : runs) {
                    f.get(5, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(allocated, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes after the threads");
        }
    }

    private static float[] logits(ViTForImageClassification m, float[] px, long[] shape) {
        try (Tensor x = Tensor.of(px, shape); Tensor l = m.logits(x)) {
            return l.toFloatArray();
        }
    }

    private static float[][] probs(ClipModel m, float[] px, long[] shape, int[][] prompts) {
        try (Tensor x = Tensor.of(px, shape)) {
            return m.zeroShot(x, prompts);
        }
    }
}
