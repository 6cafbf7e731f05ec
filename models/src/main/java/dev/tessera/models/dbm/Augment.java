package dev.tessera.models.dbm;

import java.util.SplittableRandom;

/** Seeded image augmentation for training: whole-pixel translations of square images. */
final class Augment {
    private Augment() {}

    /** {@code image} (side × side, row-major) moved right by dx and down by dy pixels, zero-filled. */
    static float[] shift(float[] image, int side, int dx, int dy) {
        float[] out = new float[image.length];
        for (int y = Math.max(0, dy); y < Math.min(side, side + dy); y++) {
            int sy = y - dy;
            int x0 = Math.max(0, dx);
            int x1 = Math.min(side, side + dx);
            if (x1 > x0) {
                System.arraycopy(image, sy * side + x0 - dx, out, y * side + x0, x1 - x0);
            }
        }
        return out;
    }

    /** Every image moved by its own random (dx, dy) in [-max, max]², drawn from {@code seed}. */
    static float[][] shiftAll(float[][] images, int side, int max, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] out = new float[images.length][];
        for (int i = 0; i < images.length; i++) {
            out[i] = shift(images[i], side, r.nextInt(2 * max + 1) - max, r.nextInt(2 * max + 1) - max);
        }
        return out;
    }

    /**
     * A speech feature {@code [frames][nMels]} (row-major, natural-log mel energies) moved by dm mel bands
     * (a crude vocal-tract-length / pitch change) and dt pooled frames (a time shift), edges repeated, plus
     * {@code gain} added to every value (a level change in the log domain).
     */
    static float[] speech(float[] f, int nMels, int frames, int dm, int dt, float gain) {
        float[] out = new float[f.length];
        for (int g = 0; g < frames; g++) {
            int sg = Math.min(frames - 1, Math.max(0, g - dt));
            for (int m = 0; m < nMels; m++) {
                int sm = Math.min(nMels - 1, Math.max(0, m - dm));
                out[g * nMels + m] = f[sg * nMels + sm] + gain;
            }
        }
        return out;
    }

    /** Every feature with its own random band shift and frame shift in [-max, max] and gain in [-0.5, 0.5]. */
    static float[][] speechAll(float[][] features, int nMels, int frames, int max, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] out = new float[features.length][];
        for (int i = 0; i < features.length; i++) {
            int dm = r.nextInt(2 * max + 1) - max;
            int dt = r.nextInt(2 * max + 1) - max;
            out[i] = speech(features[i], nMels, frames, dm, dt, (float) (r.nextDouble() - 0.5));
        }
        return out;
    }
}
