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

    private static int clip8(int v, int bits) {
        int s = v >> bits;
        return Math.max(0, Math.min(255, s));
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

    /** Resizes one 8-bit plane {@code in[h][w]} (values 0..255) to {@code outH x outW} with Pillow filter {@code resample}. */
    static int[][] resize(int[][] in, int outH, int outW, int resample) {
        return resize(in, outH, outW, resample, false);
    }

    /**
     * Resizes one 8-bit plane (values 0..255) with Pillow filter code {@code resample}, as Pillow does it, or with
     * {@code torch} as PyTorch's {@code uint8} interpolate does it (which has no box or hamming filter: refused).
     */
    static int[][] resize(int[][] in, int outH, int outW, int resample, boolean torch) {
        int h = in.length;
        int w = in[0].length;
        byte[] src = new byte[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = in[y][x];
                if (v < 0 || v > 255) {
                    throw new IllegalArgumentException("an 8-bit plane holds 0..255, got " + v + " at (" + x + ", " + y + ")");
                }
                src[y * w + x] = (byte) v;
            }
        }
        byte[] flat = resizeWindow(src, 1, w, h, outW, outH, resample, torch, 0, 0, outH, outW);
        int[][] out = new int[outH][outW];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                out[y][x] = flat[y * outW + x] & 0xFF;
            }
        }
        return out;
    }

    /** Multiply-adds below which a pass runs on the calling thread alone. */
    private static final long PARALLEL_WORK = 1 << 20;

    /**
     * Resizes an interleaved 8-bit image ({@code ch} bytes a pixel, {@code w x h}) to {@code nw x nh} as
     * {@link #resize(int[][], int, int, int, boolean)} does each plane, and returns only the window of rows
     * {@code [top, top + oh)} and columns {@code [left, left + ow)} of the result, interleaved bytes (0..255), 0 where the window
     * passes the resized image's edges. Only the window's pixels (and the source rows and intermediate columns they
     * read) are computed: the same numbers as resizing all and cropping, since each output pixel depends on its own
     * weights only. Rows are spread over the common fork-join pool when the image is large (Pillow's int32 sums,
     * so any row order gives the same result).
     */
    static byte[] resizeWindow(byte[] src, int ch, int w, int h, int nw, int nh, int resample, boolean torch, int top,
            int left, int oh, int ow) {
        if (torch && (resample == 4 || resample == 5) && (nw != w || nh != h)) { // at its size: no filter used
            throw new IllegalArgumentException("the torchvision image backend has no " + (resample == 4 ? "box"
                    : "hamming") + " resampling (resample " + resample + "; transformers' torchvision processors "
                    + "fail on it too): use the pil backend");
        }
        if (src.length != (long) w * h * ch) {
            throw new IllegalArgumentException("a " + w + "x" + h + "x" + ch + " image needs " + (long) w * h * ch
                    + " bytes, got " + src.length);
        }
        if ((long) oh * ow * ch > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a " + ow + "x" + oh + " window of " + ch + " channels is too large");
        }
        byte[] out = new byte[oh * ow * ch];
        int y0 = Math.max(top, 0);
        int y1 = Math.min(top + oh, nh);
        int x0 = Math.max(left, 0);
        int x1 = Math.min(left + ow, nw);
        if (y0 >= y1 || x0 >= x1) {
            return out;
        }
        int stride = (x1 - x0) * ch; // one row of the window's columns, interleaved
        int outBase = (x0 - left) * ch;
        if (nw == w && nh == h) { // at its size (Pillow returns a copy, whatever the filter): the window's bytes
            for (int y = y0; y < y1; y++) {
                System.arraycopy(src, (y * w + x0) * ch, out, (y - top) * ow * ch + outBase, stride);
            }
            return out;
        }
        if (resample == 0) {
            int[] sy = torch ? nearestExactIndex(h, nh) : nearestIndex(h, nh);
            int[] sx = torch ? nearestExactIndex(w, nw) : nearestIndex(w, nw);
            for (int y = y0; y < y1; y++) {
                int o = (y - top) * ow * ch + outBase;
                int s = sy[y] * w;
                for (int x = x0; x < x1; x++) {
                    for (int c = 0; c < ch; c++) {
                        out[o++] = src[(s + sx[x]) * ch + c];
                    }
                }
            }
            return out;
        }
        // the source rows the vertical pass reads
        Coeffs cy = nh != h ? coeffs(h, nh, resample, torch) : null;
        int r0 = y0;
        int r1 = y1;
        if (cy != null) {
            r0 = Integer.MAX_VALUE;
            r1 = Integer.MIN_VALUE;
            for (int y = y0; y < y1; y++) {
                r0 = Math.min(r0, cy.min()[y]);
                r1 = Math.max(r1, cy.min()[y] + cy.count()[y]);
            }
            if (r0 >= r1) { // no source row in any window (degenerate sizes): Pillow's empty sums round to 0
                return out;
            }
        }
        // horizontal pass (Pillow's first) over those rows, the window's columns only, clipped to 8 bits
        int rows = r1 - r0;
        if ((long) rows * stride > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("resizing a " + w + "x" + h + " image to " + nw + "x" + nh
                    + " needs an intermediate of " + (long) rows * stride + " values: too large");
        }
        int[] tmp = new int[rows * stride];
        int rowBase = r0;
        if (nw != w) {
            Coeffs cx = coeffs(w, nw, resample, torch);
            int bits = cx.bits();
            int half = 1 << (bits - 1);
            long taps = 0;
            for (int x = x0; x < x1; x++) {
                taps += cx.count()[x];
            }
            forRows(0, rows, taps * ch, r -> {
                int sOff = (r + rowBase) * w * ch;
                int t = r * stride;
                for (int x = x0; x < x1; x++) {
                    int[] k = cx.k()[x];
                    int m = sOff + cx.min()[x] * ch;
                    if (ch == 3) {
                        int s0 = half;
                        int s1 = half;
                        int s2 = half;
                        for (int kv : k) {
                            s0 += (src[m] & 0xFF) * kv;
                            s1 += (src[m + 1] & 0xFF) * kv;
                            s2 += (src[m + 2] & 0xFF) * kv;
                            m += 3;
                        }
                        tmp[t++] = clip8(s0, bits);
                        tmp[t++] = clip8(s1, bits);
                        tmp[t++] = clip8(s2, bits);
                    } else {
                        for (int c = 0; c < ch; c++) {
                            int sc = half;
                            for (int i = 0; i < k.length; i++) {
                                sc += (src[m + i * ch + c] & 0xFF) * k[i];
                            }
                            tmp[t++] = clip8(sc, bits);
                        }
                    }
                }
            });
        } else { // only the height changes: the rows widened to ints for the vertical pass
            for (int r = 0; r < rows; r++) {
                int sOff = ((r + rowBase) * w + x0) * ch;
                for (int j = 0; j < stride; j++) {
                    tmp[r * stride + j] = src[sOff + j] & 0xFF;
                }
            }
        }
        if (cy == null) { // only the width changed
            for (int y = y0; y < y1; y++) {
                int t = (y - rowBase) * stride;
                int o = (y - top) * ow * ch + outBase;
                for (int j = 0; j < stride; j++) {
                    out[o + j] = (byte) tmp[t + j];
                }
            }
            return out;
        }
        // vertical pass: one output row is a weighted sum of whole intermediate rows (a loop the JIT vectorises)
        int bits = cy.bits();
        int half = 1 << (bits - 1);
        long taps = 0;
        for (int y = y0; y < y1; y++) {
            taps += cy.count()[y];
        }
        forRows(y0, y1, taps * stride / (y1 - y0), y -> {
            int[] acc = new int[stride];
            java.util.Arrays.fill(acc, half);
            int[] k = cy.k()[y];
            int base = (cy.min()[y] - rowBase) * stride;
            for (int i = 0; i < k.length; i++) {
                int kv = k[i];
                int off = base + i * stride;
                for (int j = 0; j < stride; j++) {
                    acc[j] += tmp[off + j] * kv;
                }
            }
            int o = (y - top) * ow * ch + outBase;
            for (int j = 0; j < stride; j++) {
                out[o + j] = (byte) clip8(acc[j], bits);
            }
        });
        return out;
    }

    /**
     * Runs {@code body} for each row in {@code [from, to)}: as a parallel stream when the pass is large enough (the
     * calling thread and the common fork-join pool's workers; {@code -Djava.util.concurrent.ForkJoinPool.common.parallelism=0}
     * keeps it on the calling thread).
     */
    private static void forRows(int from, int to, long workPerRow, java.util.function.IntConsumer body) {
        if ((to - from) * workPerRow < PARALLEL_WORK) {
            for (int r = from; r < to; r++) {
                body.accept(r);
            }
        } else {
            java.util.stream.IntStream.range(from, to).parallel().forEach(body);
        }
    }
}
