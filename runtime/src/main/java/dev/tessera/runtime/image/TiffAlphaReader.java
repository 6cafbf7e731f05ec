package dev.tessera.runtime.image;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * TIFFs with an alpha sample, read through the JDK's TIFF reader as raw samples. Unassociated alpha (ExtraSamples = 2:
 * what Pillow writes for RGBA and LA images): OpenCV decodes TIFF through libtiff's RGBA interface, which multiplies
 * such colours by their alpha; Pillow's {@code convert("RGB")} (and so transformers' {@code load_image}) drops the
 * alpha and keeps the colours as stored, which this does too. Associated alpha (ExtraSamples = 1, 8-bit RGBA): Pillow
 * reads it as {@code RGBa} and divides each colour back by alpha ({@code min(c * 255 / a, 255)}, truncated; 0 where
 * alpha is 0; as stored where it is 255), where OpenCV keeps the premultiplied colours; this divides as Pillow. 16-bit samples keep their high byte (Pillow's
 * {@code ;16} unpackers); the Orientation tag is applied. Kept apart from {@link ImageDecoder} so that a Java runtime without {@code java.desktop}
 * loads the decoder, which then decodes such a file with OpenCV.
 */
final class TiffAlphaReader {
    private TiffAlphaReader() {}

    /**
     * {@code img} turned upright for TIFF Orientation {@code o} (tag 274: 2 mirrored, 3 turned 180 degrees, 4 flipped,
     * 5 transposed, 6 turned 90 degrees clockwise, 7 transversed, 8 turned 90 degrees anticlockwise), as Pillow's
     * {@code exif_transpose} in transformers' {@code load_image} (and OpenCV for other TIFFs) applies it.
     */
    static RgbImage orient(RgbImage img, long o) {
        if (o < 2 || o > 8) {
            return img;
        }
        int w = img.width();
        int h = img.height();
        boolean swap = o >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] out = new byte[w * h * 3];
        byte[] in = img.rgb();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int dx;
                int dy;
                switch ((int) o) {
                    case 2 -> { dx = w - 1 - x; dy = y; }
                    case 3 -> { dx = w - 1 - x; dy = h - 1 - y; }
                    case 4 -> { dx = x; dy = h - 1 - y; }
                    case 5 -> { dx = y; dy = x; }
                    case 6 -> { dx = h - 1 - y; dy = x; }
                    case 7 -> { dx = h - 1 - y; dy = w - 1 - x; }
                    default -> { dx = y; dy = w - 1 - x; } // 8
                }
                System.arraycopy(in, (y * w + x) * 3, out, (dy * ow + dx) * 3, 3);
            }
        }
        return new RgbImage(ow, oh, out);
    }

    /**
     * The image, or null when the JDK has no reader for this TIFF's layout (the caller falls back to OpenCV);
     * {@code associated}: the alpha is premultiplied (ExtraSamples 1), read as Pillow's {@code RGBa}.
     */
    static RgbImage read(byte[] bytes, String name, boolean associated) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                java.awt.image.BufferedImage img = reader.read(0);
                if (img.getColorModel().isAlphaPremultiplied() != associated) {
                    return null;
                }
                Raster r = img.getRaster(); // the samples as stored
                int bands = r.getNumBands();
                if (bands != 4 && (bands != 2 || associated)) {
                    return null;
                }
                int bits = r.getSampleModel().getSampleSize(0);
                if (bits != 8 && (bits != 16 || associated)) {
                    return null;
                }
                int shift = bits - 8;
                int w = r.getWidth();
                int h = r.getHeight();
                byte[] rgb = new byte[w * h * 3];
                int[] px = new int[bands];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        r.getPixel(r.getMinX() + x, r.getMinY() + y, px);
                        int o = (y * w + x) * 3;
                        int a = px[bands - 1];
                        for (int c = 0; c < 3; c++) {
                            int v = px[bands == 4 ? c : 0] >> shift;
                            if (associated && a != 255) { // Pillow's RGBa unpacker
                                v = a == 0 ? 0 : Math.min(v * 255 / a, 255);
                            }
                            rgb[o + c] = (byte) v;
                        }
                    }
                }
                return orient(new RgbImage(w, h, rgb), ImageHeader.tiffOrientation(bytes));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt TIFF data ("
                    + e.getMessage() + ")", e);
        }
    }
}
