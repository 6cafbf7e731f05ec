package dev.tessera.models.whisper;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import java.util.Arrays;

/**
 * Log-mel features of audio longer than one window, as transformers' long-form {@code generate} and openai-whisper's
 * {@code transcribe} compute them: the features of the whole file (frames centred on every 160th sample, reflected at
 * the file's two ends, the last frame dropped), clamped at the whole file's maximum − 8 and scaled (x + 4) / 4; a
 * window takes its frames from there, the last one padded with 0.0 to the window's length. A file of one window or
 * less keeps the short-form features (its audio zero-padded to the window, then the clamp over that window), as
 * transformers' feature extractor gives them.
 *
 * <p>Here the file is streamed twice: {@link Max} reads it once for the maximum, then each window's frames are
 * computed from its samples with {@link #CONTEXT} samples of context on each side ({@link #window}).
 */
final class LongFormFeatures {
    /** Samples of context a frame takes on each side of its centre: n_fft / 2. */
    static final int CONTEXT = 200;
    /** Samples between frames. */
    static final int HOP = 160;
    /** Frames per {@link Max} step. */
    private static final int BLOCK_FRAMES = 3000;

    private LongFormFeatures() {}

    /** log10 of the mel power, floored at 1e-10, of frames centred at 200, 360, ... of a chunk (no centring pad). */
    static LogMelConfig rawConfig(int nMels) {
        return LogMelConfig.whisper(nMels).unpadded().withStft(400, HOP, 400, LogMelConfig.Window.HANN, false)
                .withFinish(2, true, 1e-10f, false, false);
    }

    /**
     * The features of one window of a long file, {@code [1, nMels, windowFrames]}: {@code frames} frames whose
     * centres start at the window's first sample, from {@code chunk} = the {@link #CONTEXT} samples before the window,
     * its {@code frames * 160} samples and the {@code CONTEXT} after (reflected where the file ends), clamped at
     * {@code fileMax - 8}, scaled, and padded with 0.0 after the last frame.
     */
    static Tensor window(float[] chunk, int frames, int windowFrames, int nMels, float fileMax, Device device) {
        if (chunk.length != frames * HOP + 2 * CONTEXT) {
            throw new IllegalArgumentException("a window of " + frames + " frames needs " + (frames * HOP + 2 * CONTEXT)
                    + " samples with their context, got " + chunk.length);
        }
        float[] raw;
        try (Tensor t = LogMel.compute(chunk, rawConfig(nMels), Device.CPU)) { // [nMels, frames + 1]
            raw = t.toFloatArray();
        }
        int have = frames + 1;
        float floor = fileMax - 8f;
        float[] out = new float[nMels * windowFrames]; // 0.0 after the last frame, as the references pad
        for (int m = 0; m < nMels; m++) {
            for (int f = 0; f < Math.min(frames, windowFrames); f++) {
                out[m * windowFrames + f] = (Math.max(raw[m * have + f], floor) + 4f) / 4f;
            }
        }
        return Tensor.of(out, device, 1, nMels, windowFrames);
    }

    /**
     * The maximum of log10 mel power over a file's frames ({@code samples / 160} of them, centred on samples 0, 160,
     * ..., reflected at both ends), fed in pieces: {@link #add} as the samples come, {@link #finish} at the end.
     * Holds at most {@value #BLOCK_FRAMES} frames' samples.
     */
    static final class Max {
        private final LogMelConfig raw;
        private float[] buf = new float[BLOCK_FRAMES * HOP + 2 * CONTEXT];
        private int len; // samples in buf; buf[0] is sample (nextFrame * 160 - CONTEXT) of the reflected file
        private long nextFrame;
        private long total;
        private boolean started;
        private final float[] head = new float[CONTEXT + 1]; // the first samples, for the reflection at the start
        private int headLen;
        private float max = Float.NEGATIVE_INFINITY;

        Max(int nMels) {
            this.raw = rawConfig(nMels);
        }

        /** Feeds the next {@code n} samples of the file. */
        void add(float[] x, int off, int n) {
            total += n;
            int i = 0;
            while (!started && i < n) { // the reflection of samples 1..200 goes before sample 0
                head[headLen++] = x[off + i++];
                if (headLen == head.length) {
                    for (int k = 0; k < CONTEXT; k++) {
                        buf[k] = head[CONTEXT - k];
                    }
                    System.arraycopy(head, 0, buf, CONTEXT, head.length);
                    len = CONTEXT + head.length;
                    started = true;
                }
            }
            while (i < n) {
                int k = Math.min(n - i, buf.length - len);
                System.arraycopy(x, off + i, buf, len, k);
                len += k;
                i += k;
                if (len == buf.length) {
                    frames(BLOCK_FRAMES);
                }
            }
        }

        /** The maximum over all frames, once every sample was fed; the file must hold more than 200 samples. */
        float finish() {
            if (!started) {
                throw new IllegalArgumentException("a long-form file needs more than " + CONTEXT + " samples");
            }
            long frames = total / HOP;
            // the reflection of the last samples goes after the end
            float[] tail = new float[CONTEXT];
            for (int k = 0; k < CONTEXT; k++) {
                tail[k] = buf[len - 2 - k];
            }
            if (buf.length < len + CONTEXT) {
                buf = Arrays.copyOf(buf, len + CONTEXT);
            }
            System.arraycopy(tail, 0, buf, len, CONTEXT);
            len += CONTEXT;
            while (nextFrame < frames) {
                frames((int) Math.min(BLOCK_FRAMES, frames - nextFrame));
            }
            return max;
        }

        /** Takes the next {@code n} frames' maximum and drops the samples no later frame needs. */
        private void frames(int n) {
            int need = (n - 1) * HOP + 2 * CONTEXT;
            try (Tensor t = LogMel.compute(Arrays.copyOf(buf, need), raw, Device.CPU)) {
                for (float v : t.toFloatArray()) {
                    max = Math.max(max, v);
                }
            }
            nextFrame += n;
            int drop = n * HOP;
            System.arraycopy(buf, drop, buf, 0, len - drop);
            len -= drop;
        }
    }
}
