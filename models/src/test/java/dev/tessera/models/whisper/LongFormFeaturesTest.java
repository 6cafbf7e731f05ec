package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link LongFormFeatures} against the features of the whole file computed in one piece by {@link LogMel} (centred
 * STFT reflected at both ends, last frame dropped, clamp at the whole file's max − 8): the streamed maximum, and a
 * window's frames taken from the whole file's, padded with 0.0.
 */
class LongFormFeaturesTest {
    /** Speech-like audio: a tone whose loudness changes a lot (the quiet part falls below the loud part's max - 8). */
    private static float[] audio(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            double env = i < n / 3 ? 0.5 : i < 2 * n / 3 ? 1e-4 : 0.05;
            a[i] = (float) (env * (Math.sin(2 * Math.PI * 440 * i / 16000.0) + 0.1 * r.nextGaussian()));
        }
        for (int i = n / 2; i < n / 2 + 4000; i++) {
            a[i] = 0; // digital silence: log10 floor, clamped
        }
        return a;
    }

    @Test
    void theStreamedMaximumIsTheWholeFilesAndWindowsAreItsFrames() {
        int n = 1_123_457; // 70.2 s, not a whole number of frames
        float[] a = audio(n, 7);
        LogMelConfig raw = LogMelConfig.whisper(80).unpadded().withFinish(2, true, 1e-10f, false, true);
        float[] whole;
        float want = Float.NEGATIVE_INFINITY;
        try (Tensor t = LogMel.compute(a, raw, Device.CPU)) {
            for (float v : t.toFloatArray()) {
                want = Math.max(want, v);
            }
        }
        try (Tensor t = LogMel.compute(a, LogMelConfig.whisper(80).unpadded(), Device.CPU)) {
            whole = t.toFloatArray();
        }
        int frames = n / 160;
        assertEquals(frames * 80, whole.length);
        SplittableRandom r = new SplittableRandom(3);
        LongFormFeatures.Max max = new LongFormFeatures.Max(80);
        for (int at = 0; at < n; ) {
            int k = Math.min(n - at, 1 + r.nextInt(70_000));
            float[] piece = new float[k + 5];
            System.arraycopy(a, at, piece, 2, k);
            max.add(piece, 2, k);
            at += k;
        }
        assertEquals(want, max.finish(), 0f, "the maximum over the whole file's frames");
        int win = 3000;
        for (int seek : new int[] {0, 640, 3000, frames - 1234, frames - 3}) {
            int content = Math.min(win, frames - seek);
            float[] chunk = new float[content * 160 + 400];
            for (int i = 0; i < chunk.length; i++) {
                long s = (long) seek * 160 - 200 + i;
                s = s < 0 ? -s : s >= n ? 2L * (n - 1) - s : s; // reflected at both ends
                chunk[i] = a[(int) s];
            }
            try (Tensor w = LongFormFeatures.window(chunk, content, win, 80, want, Device.CPU)) {
                float[] got = w.toFloatArray();
                for (int m = 0; m < 80; m++) {
                    for (int f = 0; f < win; f++) {
                        float exp = f < content ? whole[m * frames + seek + f] : 0f;
                        assertEquals(exp, got[m * win + f], 2e-6f, "seek " + seek + " mel " + m + " frame " + f);
                    }
                }
            }
        }
    }
}
