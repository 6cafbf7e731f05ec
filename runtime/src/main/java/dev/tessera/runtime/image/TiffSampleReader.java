package dev.tessera.runtime.image;

import dev.tessera.runtime.image.ImageHeader.TiffLayout;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * TIFFs that OpenCV decodes unlike Pillow, read through the JDK's TIFF reader as the samples stored and converted as
 * Pillow's {@code convert("RGB")} (and so transformers' {@code load_image}) converts them. OpenCV decodes TIFF through
 * libtiff's RGBA interface, which is where they part:
 * <ul>
 * <li>unassociated alpha (ExtraSamples 2: what Pillow writes for RGBA and LA images): libtiff multiplies the colours by
 * their alpha; Pillow drops the alpha and keeps the colours as stored, which this does too;</li>
 * <li>associated alpha (ExtraSamples 1, 8-bit RGBA): Pillow reads it as {@code RGBa} and divides each colour back by
 * alpha ({@code min(c * 255 / a, 255)}, truncated; 0 where alpha is 0; as stored where it is 255), where OpenCV keeps
 * the premultiplied colours; this divides as Pillow;</li>
 * <li>CMYK (Photometric 5): libtiff converts with {@code (255 - k) * (255 - c) / 255} truncated, Pillow with its
 * rounded {@code cmyk2rgb} ({@link CmykJpegReader#pillowCmyk}): one level apart on a third of the pixels; 16-bit
 * samples keep their high byte (Pillow's {@code CMYK;16} unpackers), extra samples are dropped;</li>
 * <li>2- and 4-bit grayscale: OpenCV refuses them; Pillow widens a sample v to {@code v * 85} ({@code v * 17}),
 * inverted for WhiteIsZero (Photometric 0), as the JDK's reader hands it over.</li>
 * </ul>
 * 16-bit RGB / gray + alpha samples keep their high byte (Pillow's {@code ;16} unpackers); the Orientation tag is
 * applied. Kept apart from {@link ImageDecoder} so that a Java runtime without {@code java.desktop} loads the decoder,
 * which then decodes such a file with OpenCV.
 */
final class TiffSampleReader {
    private TiffSampleReader() {}

    /**
     * The image, or null when the JDK has no reader for this TIFF's layout, or (for CMYK and low-bit gray) cannot read
     * the file: the caller then decodes it with OpenCV, which decodes (as libtiff converts it) or refuses it. A file
     * with alpha that the JDK cannot read is refused here.
     */
    static RgbImage read(byte[] bytes, String name, TiffLayout layout) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                java.awt.image.BufferedImage img = reader.read(0);
                boolean associated = layout == TiffLayout.ASSOCIATED_ALPHA;
                if ((layout == TiffLayout.UNASSOCIATED_ALPHA || associated)
                        && img.getColorModel().isAlphaPremultiplied() != associated) {
                    return null;
                }
                RgbImage rgb = convert(img.getRaster(), layout); // the samples as stored
                return rgb == null ? null : rgb.oriented(ImageHeader.tiffOrientation(bytes));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (layout == TiffLayout.CMYK || layout == TiffLayout.GRAY_LOW_BITS) {
                return null; // e.g. 16-bit samples with a predictor, which the JDK's reader lacks
            }
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt TIFF data ("
                    + e.getMessage() + ")", e);
        }
    }

    private static RgbImage convert(Raster r, TiffLayout layout) {
        int bands = r.getNumBands();
        int bits = r.getSampleModel().getSampleSize(0);
        boolean ok = switch (layout) {
            case UNASSOCIATED_ALPHA -> (bands == 4 || bands == 2) && (bits == 8 || bits == 16);
            case ASSOCIATED_ALPHA -> bands == 4 && bits == 8;
            case CMYK -> bands >= 4 && (bits == 8 || bits == 16);
            case GRAY_LOW_BITS -> bands == 1 && (bits == 2 || bits == 4);
        };
        if (!ok) {
            return null;
        }
        int shift = Math.max(0, bits - 8);
        int w = r.getWidth();
        int h = r.getHeight();
        byte[] rgb = new byte[w * h * 3];
        int[] px = new int[bands];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.getPixel(r.getMinX() + x, r.getMinY() + y, px);
                int o = (y * w + x) * 3;
                switch (layout) {
                    case CMYK -> {
                        int nk = 255 - (px[3] >> shift);
                        for (int c = 0; c < 3; c++) {
                            rgb[o + c] = (byte) CmykJpegReader.pillowCmyk(px[c] >> shift, nk);
                        }
                    }
                    case GRAY_LOW_BITS -> { // Pillow's L;2 / L;4 unpackers (the JDK's raster has WhiteIsZero inverted)
                        int v = px[0] * (bits == 2 ? 85 : 17);
                        rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) v;
                    }
                    default -> {
                        int a = px[bands - 1];
                        for (int c = 0; c < 3; c++) {
                            int v = px[bands == 4 ? c : 0] >> shift;
                            if (layout == TiffLayout.ASSOCIATED_ALPHA && a != 255) { // Pillow's RGBa unpacker
                                v = a == 0 ? 0 : Math.min(v * 255 / a, 255);
                            }
                            rgb[o + c] = (byte) v;
                        }
                    }
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }
}
