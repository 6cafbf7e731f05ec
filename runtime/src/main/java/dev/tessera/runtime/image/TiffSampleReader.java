package dev.tessera.runtime.image;

import com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi;
import dev.tessera.runtime.image.ImageHeader.TiffLayout;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * TIFFs that OpenCV decodes unlike Pillow, read as the samples stored by TwelveMonkeys' TIFF reader (ImageIO; every
 * compression, predictor and fill order libtiff reads, BigTIFF included, where the JDK's own reader lacks 16-bit
 * predictors, some fill orders, BigTIFF and JPEG-compressed CMYK) and converted as Pillow's {@code convert("RGB")}
 * (and so transformers' {@code load_image}) converts them. OpenCV decodes TIFF through libtiff's RGBA interface, which
 * is where they part:
 * <ul>
 * <li>unassociated alpha (ExtraSamples 2: what Pillow writes for RGBA and LA images): libtiff multiplies the colours by
 * their alpha; Pillow drops the alpha and keeps the colours as stored, which this does too;</li>
 * <li>associated alpha (ExtraSamples 1, RGBA): Pillow reads it as {@code RGBa} and divides each colour back by alpha
 * ({@code min(c * 255 / a, 255)}, truncated, on the high bytes of 16-bit samples; 0 where alpha is 0; as stored where
 * it is 255), where OpenCV keeps the premultiplied colours; this divides as Pillow;</li>
 * <li>CMYK (Photometric 5): libtiff converts with {@code (255 - k) * (255 - c) / 255} truncated, Pillow with its
 * rounded {@code cmyk2rgb} ({@link CmykJpegReader#pillowCmyk}): one level apart on a third of the pixels; 16-bit
 * samples keep their high byte (Pillow's {@code CMYK;16} unpackers), extra samples are dropped;</li>
 * <li>2- and 4-bit grayscale: OpenCV refuses them; Pillow widens a sample v to {@code v * 85} ({@code v * 17}),
 * inverted for WhiteIsZero (Photometric 0), as the reader hands it over.</li>
 * </ul>
 * 16-bit RGB / gray + alpha samples keep their high byte (Pillow's {@code ;16} unpackers); the Orientation tag is
 * applied. Kept apart from {@link ImageDecoder} so that a Java runtime without {@code java.desktop} (or without the
 * TwelveMonkeys jars) loads the decoder, which then decodes such a file with OpenCV.
 */
final class TiffSampleReader {
    private TiffSampleReader() {}

    /**
     * The image, or null when the reader cannot read the file or hands over samples of another layout than the header
     * said: the caller then decodes it with OpenCV, which decodes it (as libtiff converts it) or refuses it.
     */
    static RgbImage read(byte[] bytes, TiffLayout layout) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            if (in == null) {
                return null;
            }
            ImageReader reader = new TIFFImageReaderSpi().createReaderInstance();
            try {
                reader.setInput(in, true, true);
                RgbImage rgb = convert(reader.read(0).getRaster(), layout); // the samples as stored
                return rgb == null ? null : rgb.oriented(ImageHeader.tiffOrientation(bytes));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            return null; // damaged, or a layout the reader lacks: OpenCV decodes (as libtiff converts it) or refuses it
        }
    }

    private static RgbImage convert(Raster r, TiffLayout layout) {
        int bands = r.getNumBands();
        int bits = r.getSampleModel().getSampleSize(0);
        boolean ok = switch (layout) {
            case UNASSOCIATED_ALPHA -> (bands == 4 || bands == 2) && (bits == 8 || bits == 16);
            case ASSOCIATED_ALPHA -> bands == 4 && (bits == 8 || bits == 16);
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
                        int a = px[bands - 1] >> shift;
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
