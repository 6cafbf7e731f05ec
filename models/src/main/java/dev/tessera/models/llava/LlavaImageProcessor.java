package dev.tessera.models.llava;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.models.nn.HfConfig;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * The image side of a LLaVA processor, as transformers' {@code CLIPImageProcessor} does it from
 * {@code preprocessor_config.json}: decode (PNG, JPEG, BMP, GIF through {@code javax.imageio}), convert to RGB,
 * resize (shortest edge to {@code size.shortest_edge}, or to {@code size.height x size.width}) with Pillow's
 * antialiased bicubic filter on 8-bit pixels (two separable passes in Pillow's fixed-point arithmetic), center-crop
 * to {@code crop_size}, rescale by {@code rescale_factor} and normalise with {@code image_mean}/{@code image_std}.
 * The result is F32 {@code [N, 3, crop_h, crop_w]}.
 *
 * <p>Package-private parts stay here until the shared image preprocessing of the runtime is merged.
 */
public final class LlavaImageProcessor {
    private final int shortestEdge;
    private final int resizeH;
    private final int resizeW;
    private final int cropH;
    private final int cropW;
    private final boolean doResize;
    private final boolean doCrop;
    private final boolean doRescale;
    private final boolean doNormalize;
    private final double rescale;
    private final double[] mean;
    private final double[] std;

    private LlavaImageProcessor(HfConfig c, int defaultSize) {
        HfConfig size = c.child("size");
        if (c.has("size") && c.json().get("size").isInt()) {
            shortestEdge = c.getInt("size");
            resizeH = resizeW = -1;
        } else if (size.has("shortest_edge")) {
            shortestEdge = size.getInt("shortest_edge");
            resizeH = resizeW = -1;
        } else if (size.has("height")) {
            shortestEdge = -1;
            resizeH = size.getInt("height");
            resizeW = size.getInt("width");
        } else {
            shortestEdge = defaultSize;
            resizeH = resizeW = -1;
        }
        JsonNode crop = c.json().get("crop_size");
        if (crop != null && crop.isInt()) {
            cropH = cropW = crop.intValue();
        } else if (crop != null && crop.isObject()) {
            cropH = crop.path("height").asInt(defaultSize);
            cropW = crop.path("width").asInt(defaultSize);
        } else {
            cropH = cropW = defaultSize;
        }
        doResize = c.getBoolean("do_resize", true);
        doCrop = c.getBoolean("do_center_crop", true);
        doRescale = c.getBoolean("do_rescale", true);
        doNormalize = c.getBoolean("do_normalize", true);
        rescale = c.getDouble("rescale_factor", 1 / 255.0);
        mean = doubles(c, "image_mean", new double[] {0.48145466, 0.4578275, 0.40821073});
        std = doubles(c, "image_std", new double[] {0.26862954, 0.26130258, 0.27577711});
        int resample = c.getInt("resample", 3);
        if (resample != 3) {
            throw new IllegalArgumentException(c + ": resample " + resample + " is not supported (3 = bicubic)");
        }
    }

    private static double[] doubles(HfConfig c, String key, double[] dflt) {
        if (!c.has(key)) {
            return dflt;
        }
        JsonNode n = c.json().get(key);
        double[] out = new double[3];
        for (int i = 0; i < 3; i++) {
            out[i] = n.isArray() ? n.get(Math.min(i, n.size() - 1)).asDouble() : n.asDouble();
        }
        return out;
    }

    /**
     * The processor of a model directory: its {@code preprocessor_config.json}, or CLIP's defaults at the vision
     * tower's {@code image_size} when the file is absent.
     */
    public static LlavaImageProcessor load(Path dir, int imageSize) {
        Path f = dir.resolve("preprocessor_config.json");
        if (Files.isRegularFile(f)) {
            return new LlavaImageProcessor(HfConfig.read(f), imageSize);
        }
        return new LlavaImageProcessor(HfConfig.of(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(),
                "defaults"), imageSize);
    }

    public int cropHeight() {
        return cropH;
    }

    public int cropWidth() {
        return cropW;
    }

    /** Decodes and preprocesses {@code files} into one F32 {@code [N, 3, crop_h, crop_w]} tensor. */
    public Tensor preprocess(List<Path> files, Device device) {
        float[] all = new float[files.size() * 3 * cropH * cropW];
        for (int i = 0; i < files.size(); i++) {
            float[] one = preprocess(decode(files.get(i)));
            System.arraycopy(one, 0, all, i * one.length, one.length);
        }
        return Tensor.of(all, device, files.size(), 3, cropH, cropW);
    }

    /** Decodes an image file to 8-bit RGB planes {@code [3][h][w]}. */
    public static int[][][] decode(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("image file not found: " + file);
        }
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot decode image " + file + ": " + e.getMessage(), e);
        }
        if (img == null) {
            throw new IllegalArgumentException("cannot decode image " + file + ": not a PNG, JPEG, BMP or GIF file");
        }
        int w = img.getWidth();
        int h = img.getHeight();
        int[][][] rgb = new int[3][h][w];
        if (img.getType() == BufferedImage.TYPE_BYTE_GRAY || img.getType() == BufferedImage.TYPE_USHORT_GRAY) {
            Raster r = img.getRaster();
            int shift = img.getType() == BufferedImage.TYPE_USHORT_GRAY ? 8 : 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int g = r.getSample(x, y, 0) >> shift;
                    rgb[0][y][x] = g;
                    rgb[1][y][x] = g;
                    rgb[2][y][x] = g;
                }
            }
            return rgb;
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                rgb[0][y][x] = (p >> 16) & 0xFF;
                rgb[1][y][x] = (p >> 8) & 0xFF;
                rgb[2][y][x] = p & 0xFF;
            }
        }
        return rgb;
    }

    /** Resize, crop, rescale, normalise one decoded image → {@code [3 * crop_h * crop_w]}. */
    float[] preprocess(int[][][] rgb) {
        int h = rgb[0].length;
        int w = rgb[0][0].length;
        int nh = h;
        int nw = w;
        if (doResize) {
            if (shortestEdge > 0) {
                if (h <= w) {
                    nh = shortestEdge;
                    nw = (int) ((long) shortestEdge * w / h);
                } else {
                    nw = shortestEdge;
                    nh = (int) ((long) shortestEdge * h / w);
                }
            } else {
                nh = resizeH;
                nw = resizeW;
            }
        }
        int oh = doCrop ? cropH : nh;
        int ow = doCrop ? cropW : nw;
        int top = (nh - oh) / 2;
        int left = (nw - ow) / 2;
        float[] out = new float[3 * oh * ow];
        for (int c = 0; c < 3; c++) {
            int[][] plane = nh == h && nw == w ? rgb[c] : resize(rgb[c], nh, nw);
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    int sy = y + top;
                    int sx = x + left;
                    double v = sy >= 0 && sy < nh && sx >= 0 && sx < nw ? plane[sy][sx] : 0;
                    if (doRescale) {
                        v *= rescale;
                    }
                    if (doNormalize) {
                        v = (v - mean[c]) / std[c];
                    }
                    out[(c * oh + y) * ow + x] = (float) v;
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ Pillow-compatible bicubic resampling

    private static final int PRECISION_BITS = 32 - 8 - 2;

    private static double bicubic(double x) {
        final double a = -0.5;
        x = Math.abs(x);
        if (x < 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0;
    }

    /** Per output index: first input index, count, fixed-point weights. */
    private record Coeffs(int[] min, int[] count, int[][] k) {}

    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = 2.0 * filterscale;
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
                w[x] = bicubic((x + xmin - center + 0.5) * ss);
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

    /** Pillow's two-pass (horizontal, then vertical) antialiased bicubic resize of one 8-bit plane. */
    static int[][] resize(int[][] in, int outH, int outW) {
        int h = in.length;
        int w = in[0].length;
        int[][] tmp = in;
        if (outW != w) {
            Coeffs c = coeffs(w, outW);
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
        Coeffs c = coeffs(h, outH);
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
