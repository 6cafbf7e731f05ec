package dev.tessera.models.dbm;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.io.Idx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The paired digit data: MNIST images (data/mnist, IDX) and spoken digits (data/spoken-digits, one Opus
 * stream per split of 1-s clips at 16 kHz with a CSV manifest), and the fixed-size speech feature.
 */
public final class DigitData {
    /** Samples per clip (1 s at 16 kHz). */
    public static final int CLIP = 16000;
    /** Sample rate of the clips. */
    public static final int RATE = 16000;

    private DigitData() {}

    /** Images of a split, pixels in [0, 1], and their labels. */
    public record Images(float[][] pixels, int[] labels) {}

    /** Speech clips of a split (16 kHz, 1 s each) and their digits. */
    public record Speech(List<float[]> clips, int[] labels) {}

    /** Reads {@code dir/<split>-images-idx3-ubyte.gz} and labels; split is "train" or "t10k". */
    public static Images images(Path dir, String split) throws IOException {
        Idx.Array img = Idx.read(dir.resolve(split + "-images-idx3-ubyte.gz"));
        int[] labels = Idx.read(dir.resolve(split + "-labels-idx1-ubyte.gz")).toInts();
        if (img.count() != labels.length) {
            throw new IllegalStateException(dir + ": " + img.count() + " images but " + labels.length + " labels");
        }
        int n = img.count();
        int d = img.itemSize();
        float[][] px = new float[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                px[i][j] = img.data()[i * d + j] / 255f;
            }
        }
        return new Images(px, labels);
    }

    /** Decodes {@code dir/<split>.opus} through FFmpeg and slices it by {@code dir/<split>.csv}. */
    public static Speech speech(Path dir, String split) throws IOException {
        List<String> lines = Files.readAllLines(dir.resolve(split + ".csv"));
        int n = lines.size() - 1;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = Integer.parseInt(lines.get(i + 1).split(",")[1]);
        }
        float[] all = AudioDecoder.decode(dir.resolve(split + ".opus"), RATE);
        if (all.length < (long) n * CLIP) {
            throw new IllegalStateException(dir + "/" + split + ".opus: " + all.length + " samples, need " + n * CLIP);
        }
        List<float[]> clips = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] c = new float[CLIP];
            System.arraycopy(all, i * CLIP, c, 0, CLIP);
            clips.add(c);
        }
        return new Speech(clips, labels);
    }

    /** Any audio file (FFmpeg) as a 1-s clip: leading silence trimmed, then cut or zero-padded to 16,000 samples. */
    public static float[] clip(Path audio) throws IOException {
        float[] x = AudioDecoder.decode(audio, RATE);
        if (x.length == 0) {
            throw new IllegalArgumentException(audio + ": no audio samples");
        }
        float peak = 0;
        for (float f : x) {
            peak = Math.max(peak, Math.abs(f));
        }
        int start = 0;
        while (start < x.length && Math.abs(x[start]) < 0.01f * Math.max(peak, 1e-6f)) {
            start++;
        }
        start = Math.max(0, start - 400);
        float[] c = new float[CLIP];
        System.arraycopy(x, start, c, 0, Math.min(CLIP, x.length - start));
        return c;
    }

    /** Log-mel configuration of the speech feature: 25 ms Hann window, 10 ms hop, natural log. */
    public static LogMelConfig melConfig(int nMels) {
        return new LogMelConfig(RATE, 400, 160, 400, LogMelConfig.Window.HANN, true, nMels, 0, 8000,
                LogMelConfig.MelNorm.SLANEY, LogMelConfig.MelScale.SLANEY, 2, true, true, 1e-6f, false, 0, false);
    }

    /**
     * Fixed-size speech features {@code [clips][nMels · frames]}: log-mel through our LogMel op, then the
     * frames average-pooled into {@code frames} equal groups (unstandardised).
     */
    public static float[][] speechFeatures(List<float[]> clips, int nMels, int frames) {
        LogMelConfig cfg = melConfig(nMels);
        float[][] out = new float[clips.size()][];
        int chunk = 256;
        for (int s = 0; s < clips.size(); s += chunk) {
            List<Tensor> mels = LogMel.compute(clips.subList(s, Math.min(clips.size(), s + chunk)), cfg, Device.CPU);
            for (int i = 0; i < mels.size(); i++) {
                try (Tensor m = mels.get(i)) {
                    out[s + i] = pool(m.toFloatArray(), nMels, (int) m.shape()[1], frames);
                }
            }
        }
        return out;
    }

    static float[] pool(float[] mel, int nMels, int t, int frames) {
        if (t < frames) {
            throw new IllegalArgumentException("clip has " + t + " mel frames, fewer than the " + frames + " pooled frames");
        }
        float[] f = new float[nMels * frames];
        for (int m = 0; m < nMels; m++) {
            for (int g = 0; g < frames; g++) {
                int a = (int) ((long) g * t / frames);
                int b = (int) ((long) (g + 1) * t / frames);
                double s = 0;
                for (int k = a; k < b; k++) {
                    s += mel[m * t + k];
                }
                f[g * nMels + m] = (float) (s / (b - a));
            }
        }
        return f;
    }
}
