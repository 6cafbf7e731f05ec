package dev.tessera.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * How the CUDA mel spectrogram splits a batch into passes ({@link CudaSpectrogram#clipsPerPass}): whole clips, at
 * least one per pass, the most whose temporaries fit the budget, never more than the batch; the budget setter refuses
 * nonsense. The passes themselves run on a GPU ({@code CudaLogMelTest.passesOfFewClipsGiveTheSameFeatures}).
 */
class LogMelPassTest {

    @Test
    void passesHoldTheMostWholeClipsThatFit() {
        // Whisper's 30 s clip: 3001 frames x (400 + 3 x 201) floats
        long perClip = 3001L * (400 + 3 * 201) * 4;
        assertEquals(64, CudaSpectrogram.clipsPerPass(64, perClip, 1L << 30)); // the GPU bench's batch: one pass
        assertEquals(89, CudaSpectrogram.clipsPerPass(1000, perClip, 1L << 30));
        assertEquals(1, CudaSpectrogram.clipsPerPass(1000, perClip, 1)); // a clip larger than the budget: one anyway
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 10_000; i++) {
            long batch = 1 + r.nextLong(5000);
            long per = 1 + r.nextLong(50_000_000);
            long budget = 1 + r.nextLong(4L << 30);
            long k = CudaSpectrogram.clipsPerPass(batch, per, budget);
            assertTrue(k >= 1 && k <= batch, "pass of " + k + " clips for a batch of " + batch);
            assertTrue(k == 1 || k * per <= budget, k + " clips of " + per + " B exceed " + budget);
            assertTrue(k == batch || (k + 1) * per > budget, "one more clip of " + per + " B fits " + budget);
        }
    }

    @Test
    void budgetMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> CudaBackend.setLogMelPassBytes(0));
        assertThrows(IllegalArgumentException.class, () -> CudaBackend.setLogMelPassBytes(-5));
    }
}
