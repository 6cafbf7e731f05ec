package dev.tessera.runtime.image;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Four-component (CMYK and YCCK) JPEGs as Pillow's {@code convert("RGB")} gives them. OpenCV converts the decoded
 * CMYK itself, with {@code k - ((255 - c) * k >> 8)}, where Pillow divides by 255 with rounding: one level apart on
 * most pixels. Here the JDK's JPEG reader hands over the samples as decoded ({@code readRaster}: no colour
 * conversion), which are then converted as libjpeg and Pillow convert them:
 * <ul>
 * <li>YCCK (Adobe transform 2) to CMYK with libjpeg's integer tables ({@code ycck_cmyk_convert}: 16 fractional bits,
 * rounded, clamped, stored inverted); plain CMYK as decoded;</li>
 * <li>the stored CMYK taken in Adobe's inverted convention, as Pillow always takes it (rawmode {@code CMYK;I});</li>
 * <li>to RGB as Pillow's {@code cmyk2rgb}: {@code R = clip(nk - round(c * nk / 255))} with {@code nk = 255 - k}, the
 * division in Pillow's integer form {@code ((t >> 8) + t) >> 8}, {@code t = c * nk + 128};</li>
 * <li>EXIF orientation applied, as transformers' {@code load_image} applies it ({@code exif_transpose}).</li>
 * </ul>
 * A file the JDK cannot read cleanly (a JPEG process it lacks, such as arithmetic coding, or any warning such as a
 * premature end of data) gives null, and the caller falls back to OpenCV, which decodes or refuses it. Kept apart
 * from {@link ImageDecoder} so that a Java runtime without {@code java.desktop} loads the decoder and falls back.
 */
final class CmykJpegReader {
    private CmykJpegReader() {}

    private static final int SCALEBITS = 16;
    private static final int HALF = 1 << (SCALEBITS - 1);

    private static int fix(double x) {
        return (int) (x * (1L << SCALEBITS) + 0.5);
    }

    private static final int CR_R = fix(1.40200);
    private static final int CB_B = fix(1.77200);
    private static final int CR_G = fix(0.71414);
    private static final int CB_G = fix(0.34414);

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** Pillow's {@code MULDIV255(a, b)}: {@code a * b / 255} rounded, in integers. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /**
     * One channel of Pillow's {@code cmyk2rgb}: {@code clip(nk - MULDIV255(ink, nk))} for an ink (C, M or Y) and
     * {@code nk = 255 - K}.
     */
    static int pillowCmyk(int ink, int nk) {
        return clamp(nk - mulDiv255(ink, nk));
    }

    /**
     * The image, or null when this is not a four-component JPEG the JDK reads without a warning (the caller then
     * decodes with OpenCV). {@code info} is {@link ImageHeader#jpegInfo}'s answer.
     */
    static RgbImage read(byte[] bytes, int[] info) {
        try {
            return readOrNull(bytes, info);
        } catch (IOException | RuntimeException e) {
            return null; // the JDK lacks this JPEG process, or the data is damaged
        }
    }

    private static RgbImage readOrNull(byte[] bytes, int[] info) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReadersByFormatName("jpeg");
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            boolean[] warned = {false};
            try {
                reader.addIIOReadWarningListener((source, warning) -> warned[0] = true);
                reader.setInput(in, true, true);
                Raster r = reader.readRaster(0, null);
                if (warned[0] || r.getNumBands() != 4 || r.getSampleModel().getSampleSize(0) != 8) {
                    return null;
                }
                int w = r.getWidth();
                int h = r.getHeight();
                boolean ycck = info[1] == 2;
                byte[] rgb = new byte[w * h * 3];
                int[] px = new int[w * 4];
                for (int row = 0, o = 0; row < h; row++) {
                    r.getPixels(r.getMinX(), r.getMinY() + row, w, 1, px);
                    for (int p = 0; p < px.length; p += 4, o += 3) {
                        int c0 = px[p];
                        int c1 = px[p + 1];
                        int c2 = px[p + 2];
                        int k = px[p + 3]; // stored inverted: the stored value is 255 - k, Pillow's nk
                        if (ycck) {
                            int y = c0;
                            int cb = c1 - 128;
                            int cr = c2 - 128;
                            c0 = 255 - clamp(y + ((CR_R * cr + HALF) >> SCALEBITS));
                            c1 = 255 - clamp(y + ((-CR_G * cr - CB_G * cb + HALF) >> SCALEBITS));
                            c2 = 255 - clamp(y + ((CB_B * cb + HALF) >> SCALEBITS));
                        }
                        rgb[o] = (byte) pillowCmyk(255 - c0, k);
                        rgb[o + 1] = (byte) pillowCmyk(255 - c1, k);
                        rgb[o + 2] = (byte) pillowCmyk(255 - c2, k);
                    }
                }
                return new RgbImage(w, h, rgb).oriented(info[2]);
            } finally {
                reader.dispose();
            }
        }
    }
}
