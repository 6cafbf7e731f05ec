package dev.tessera.runtime.image;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * TIFFs whose extra sample is unassociated alpha (ExtraSamples = 2: what Pillow writes for RGBA and LA images), read
 * through the JDK's TIFF reader as raw samples. OpenCV decodes TIFF through libtiff's RGBA interface, which multiplies
 * such colours by their alpha; Pillow's {@code convert("RGB")} (and so transformers' {@code load_image}) drops the
 * alpha and keeps the colours as stored, which this does too. 16-bit samples keep their high byte (Pillow's
 * {@code ;16} unpackers). Kept apart from {@link ImageDecoder} so that a Java runtime without {@code java.desktop}
 * loads the decoder and fails only on such a file.
 */
final class TiffAlphaReader {
    private TiffAlphaReader() {}

    /** The image, or null when the JDK has no reader for this TIFF's layout (the caller falls back to OpenCV). */
    static RgbImage read(byte[] bytes, String name) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                java.awt.image.BufferedImage img = reader.read(0);
                if (img.getColorModel().isAlphaPremultiplied()) {
                    return null;
                }
                Raster r = img.getRaster(); // the samples as stored (the colour model is not premultiplied)
                int bands = r.getNumBands();
                if (bands != 2 && bands != 4) {
                    return null;
                }
                int bits = r.getSampleModel().getSampleSize(0);
                if (bits != 8 && bits != 16) {
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
                        for (int c = 0; c < 3; c++) {
                            rgb[o + c] = (byte) (px[bands == 4 ? c : 0] >> shift);
                        }
                    }
                }
                return new RgbImage(w, h, rgb);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt TIFF data ("
                    + e.getMessage() + ")", e);
        }
    }
}
