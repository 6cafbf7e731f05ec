package dev.tessera.runtime.image;

/**
 * Pillow's resampling of 8-bit planes ({@code Image.resize}): nearest, and the antialiased separable filters
 * (box support 0.5, bilinear and hamming support 1, bicubic a = -0.5 support 2, lanczos support 3) with support scaled by the downscale factor,
 * fixed-point weights with 22 fractional bits, horizontal pass first.
 */
final class PillowResample {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PillowResample() {}

    private static double filter(double x, int resample) {
        if (resample == 4) { // box: Pillow's interval is (-0.5, 0.5]
            return x > -0.5 && x <= 0.5 ? 1 : 0;
        }
        x = Math.abs(x);
        switch (resample) {
            case 2:
                return x < 1 ? 1 - x : 0;
            case 3: {
                final double a = -0.5;
                if (x < 1) {
                    return ((a + 2) * x - (a + 3)) * x * x + 1;
                }
                if (x < 2) {
                    return (((x - 5) * x + 8) * x - 4) * a;
                }
                return 0;
            }
            case 1:
                return x < 3 ? sinc(x) * sinc(x / 3) : 0;
            case 5:
                return x < 1 ? sinc(x) * (0.54f + 0.46f * Math.cos(Math.PI * x)) : 0; // float literals, as Pillow writes them
            default:
                throw new IllegalArgumentException("resample " + resample);
        }
    }

    private static double sinc(double x) {
        if (x == 0) {
            return 1;
        }
        x *= Math.PI;
        return Math.sin(x) / x;
    }

    private static double support(int resample) {
        return switch (resample) {
            case 4 -> 0.5;
            case 2, 5 -> 1;
            case 3 -> 2;
            case 1 -> 3;
            default -> throw new IllegalArgumentException("resample " + resample);
        };
    }

    private record Coeffs(int[] min, int[] count, int[][] k) {}

    private static Coeffs coeffs(int inSize, int outSize, int resample) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = support(resample) * filterscale;
        int[] min = new int[outSize];
        int[] count = new int[outSize];
        int[][] k = new int[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterscale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double[] w = new double[xmax];
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                w[x] = filter((x + xmin - center + 0.5) * ss, resample);
                ww += w[x];
            }
            int[] kk = new int[xmax];
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0 ? w[x] / ww : w[x];
                kk[x] = (int) (v * (1 << PRECISION_BITS) + (v < 0 ? -0.5 : 0.5));
            }
            min[xx] = xmin;
            count[xx] = xmax;
            k[xx] = kk;
        }
        return new Coeffs(min, count, k);
    }

    private static int clip8(long v) {
        long s = v >> PRECISION_BITS;
        return (int) Math.max(0, Math.min(255, s));
    }

    /**
     * Pillow's nearest-neighbour source index of each output pixel: the source coordinate of the first pixel centre,
     * {@code scale / 2}, then stepping by {@code scale = in / out} in double precision (Pillow's affine scaling
     * accumulates the step, so where {@code (x + 0.5) * in / out} is an exact integer the accumulated value can fall
     * just below it; computing it in closed form picks the next pixel there).
     */
    static int[] nearestIndex(int in, int out) {
        double scale = (double) in / out;
        double xo = scale * 0.5;
        int[] idx = new int[out];
        for (int x = 0; x < out; x++) {
            idx[x] = Math.min(Math.max((int) xo, 0), in - 1);
            xo += scale;
        }
        return idx;
    }

    /** Resizes one 8-bit plane {@code in[h][w]} to {@code outH x outW} with Pillow filter {@code resample}. */
    static int[][] resize(int[][] in, int outH, int outW, int resample) {
        int h = in.length;
        int w = in[0].length;
        if (resample == 0) {
            int[] sy = nearestIndex(h, outH);
            int[] sx = nearestIndex(w, outW);
            int[][] out = new int[outH][outW];
            for (int y = 0; y < outH; y++) {
                for (int x = 0; x < outW; x++) {
                    out[y][x] = in[sy[y]][sx[x]];
                }
            }
            return out;
        }
        int[][] tmp = in;
        if (outW != w) {
            Coeffs c = coeffs(w, outW, resample);
            tmp = new int[h][outW];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < outW; x++) {
                    long ss = 1L << (PRECISION_BITS - 1);
                    for (int i = 0; i < c.count()[x]; i++) {
                        ss += (long) in[y][c.min()[x] + i] * c.k()[x][i];
                    }
                    tmp[y][x] = clip8(ss);
                }
            }
        }
        if (outH == h) {
            return tmp;
        }
        Coeffs c = coeffs(h, outH, resample);
        int[][] out = new int[outH][outW];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                long ss = 1L << (PRECISION_BITS - 1);
                for (int i = 0; i < c.count()[y]; i++) {
                    ss += (long) tmp[c.min()[y] + i][x] * c.k()[y][i];
                }
                out[y][x] = clip8(ss);
            }
        }
        return out;
    }
}
