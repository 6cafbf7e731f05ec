package dev.tessera.runtime.image;

/**
 * Pillow's resampling of 8-bit planes ({@code Image.resize}): nearest, and the antialiased separable filters
 * (box support 0.5, bilinear and hamming support 1, bicubic a = -0.5 support 2, lanczos support 3) with support scaled by the downscale factor,
 * fixed-point weights with 22 fractional bits, horizontal pass first.
 *
 * <p>Also PyTorch's port of it, which transformers 5's torchvision image processors run on {@code uint8} images
 * ({@code torch.nn.functional.interpolate(..., antialias=True)} for bilinear, bicubic and lanczos): the same
 * windows and double-precision weights (its bicubic polynomial written in another order), quantised to int16 with
 * as many fractional bits (at most 22) as the largest weight of the axis leaves; and its {@code nearest-exact}
 * (source index {@code floor((i + 0.5) * in / out)} in float). It has no box or hamming filter.
 */
final class PillowResample {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PillowResample() {}

    /** PyTorch's antialiasing filter for Pillow code {@code resample} (2 bilinear, 3 bicubic, 1 lanczos). */
    private static double torchFilter(double x, int resample) {
        if (resample == 3) { // cubic_convolution1 / 2 of ATen's UpSample.h, A = -0.5
            final double a = -0.5;
            x = Math.abs(x);
            if (x < 1) {
                return ((a + 2) * x - (a + 3)) * x * x + 1;
            }
            if (x < 2) {
                return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
            }
            return 0;
        }
        return filter(x, resample);
    }

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

    /** Per output pixel: the first source pixel, how many, and their fixed-point weights of {@code bits} bits. */
    private record Coeffs(int[] min, int[] count, int[][] k, int bits) {}

    private static Coeffs coeffs(int inSize, int outSize, int resample, boolean torch) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = support(resample) * filterscale;
        int window = (int) Math.ceil(support) * 2 + 1; // PyTorch clips the window to this (rounding can pass it)
        int[] min = new int[outSize];
        int[] count = new int[outSize];
        double[][] w = new double[outSize][];
        double wtMax = 0;
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterscale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            if (torch) {
                xmax = Math.min(Math.max(xmax, 0), window);
            }
            double[] wx = new double[xmax];
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                wx[x] = torch ? torchFilter((x + xmin - center + 0.5) * ss, resample)
                        : filter((x + xmin - center + 0.5) * ss, resample);
                ww += wx[x];
            }
            if (ww != 0) {
                for (int x = 0; x < xmax; x++) {
                    wx[x] /= ww;
                    wtMax = Math.max(wtMax, wx[x]);
                }
            }
            min[xx] = xmin;
            count[xx] = xmax;
            w[xx] = wx;
        }
        int bits = PRECISION_BITS;
        if (torch) { // the most fractional bits (<= 22) that keep the largest weight of the axis an int16
            bits = 0;
            while (bits < 22 && (int) (0.5 + wtMax * (1 << (bits + 1))) < (1 << 15)) {
                bits++;
            }
        }
        int[][] k = new int[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            k[xx] = new int[w[xx].length];
            for (int x = 0; x < k[xx].length; x++) {
                double v = w[xx][x] * (1 << bits);
                k[xx][x] = (int) (v + (v < 0 ? -0.5 : 0.5));
            }
        }
        return new Coeffs(min, count, k, bits);
    }

    private static int clip8(long v, int bits) {
        long s = v >> bits;
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

    /**
     * PyTorch's {@code nearest-exact} source index of each output pixel: {@code floor((i + 0.5) * scale)} with
     * {@code scale = in / out}, all in float, clipped to the last pixel.
     */
    static int[] nearestExactIndex(int in, int out) {
        float scale = (float) in / out;
        int[] idx = new int[out];
        for (int x = 0; x < out; x++) {
            idx[x] = Math.min((int) Math.floor((x + 0.5f) * scale), in - 1);
        }
        return idx;
    }

    /** Resizes one 8-bit plane {@code in[h][w]} to {@code outH x outW} with Pillow filter {@code resample}. */
    static int[][] resize(int[][] in, int outH, int outW, int resample) {
        return resize(in, outH, outW, resample, false);
    }

    /**
     * Resizes one 8-bit plane with Pillow filter code {@code resample}, as Pillow does it, or with {@code torch} as
     * PyTorch's {@code uint8} interpolate does it (which has no box or hamming filter: refused).
     */
    static int[][] resize(int[][] in, int outH, int outW, int resample, boolean torch) {
        if (torch && (resample == 4 || resample == 5)) {
            throw new IllegalArgumentException("the torchvision image backend has no " + (resample == 4 ? "box"
                    : "hamming") + " resampling (resample " + resample + "; transformers' torchvision processors "
                    + "fail on it too): use the pil backend");
        }
        int h = in.length;
        int w = in[0].length;
        if (resample == 0) {
            int[] sy = torch ? nearestExactIndex(h, outH) : nearestIndex(h, outH);
            int[] sx = torch ? nearestExactIndex(w, outW) : nearestIndex(w, outW);
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
            Coeffs c = coeffs(w, outW, resample, torch);
            tmp = new int[h][outW];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < outW; x++) {
                    long ss = 1L << (c.bits() - 1);
                    for (int i = 0; i < c.count()[x]; i++) {
                        ss += (long) in[y][c.min()[x] + i] * c.k()[x][i];
                    }
                    tmp[y][x] = clip8(ss, c.bits());
                }
            }
        }
        if (outH == h) {
            return tmp;
        }
        Coeffs c = coeffs(h, outH, resample, torch);
        int[][] out = new int[outH][outW];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                long ss = 1L << (c.bits() - 1);
                for (int i = 0; i < c.count()[y]; i++) {
                    ss += (long) tmp[c.min()[y] + i][x] * c.k()[y][i];
                }
                out[y][x] = clip8(ss, c.bits());
            }
        }
        return out;
    }
}
