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
                return new RgbImage(w, h, rgb).oriented(ImageHeader.tiffOrientation(bytes));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt TIFF data ("
                    + e.getMessage() + ")", e);
        }
    }
}
