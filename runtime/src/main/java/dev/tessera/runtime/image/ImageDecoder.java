package dev.tessera.runtime.image;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_ANYDEPTH;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR_RGB;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_UNCHANGED;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.SystemInfo;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decodes JPEG, PNG, BMP, WebP, TIFF (BigTIFF included), GIF, Netpbm (PBM / PGM / PPM, {@link PnmReader}) and AVIF
 * ({@link AvifReader}, through FFmpeg) images with OpenCV ({@code imdecode}) to 8-bit RGB, as
 * Pillow's {@code convert("RGB")} (transformers' {@code load_image}) gives them: EXIF orientation is applied (JPEG),
 * grayscale is expanded to three channels, an alpha channel is dropped, 16-bit samples keep their high byte, but for
 * 16-bit grayscale PNG and TIFF, clipped to 255 as Pillow clips them. Where OpenCV alone decodes unlike Pillow, another
 * reader takes the file: CMYK and YCCK JPEGs ({@link CmykJpegReader}, samples from the JDK's JPEG reader; OpenCV's own
 * conversion rounds differently); TIFFs with alpha, CMYK and 2- / 4-bit gray ({@link TiffSampleReader}, samples from
 * TwelveMonkeys' TIFF reader; OpenCV's libtiff path premultiplies, truncates or refuses them); run-length encoded BMPs
 * ({@link BmpRleReader}, Pillow's rules; OpenCV misplaces runs). A GIF gives its first frame on its logical screen, and
 * a transparent pixel the palette colour of its index, as Pillow does (OpenCV alone gives the background colour). The
 * pixel count is read from the file header and checked against {@link #maxPixels()} before anything is decoded.
 * Errors (missing, empty, unknown format, truncated, too large) are {@link IllegalArgumentException}s naming the file
 * and the problem.
 */
public final class ImageDecoder {
    static {
        if (SystemInfo.loadProblem(SystemInfo.OPENCV_PRESET) == null) { // without OpenCV, the formats read in Java still decode
            quietOpenCvLog();
        }
    }

    /** Default limit: 50 megapixels. */
    public static final long DEFAULT_MAX_PIXELS = 50_000_000L;

    private final long maxPixels;

    /** A decoder refusing images of more than {@code maxPixels} pixels. */
    public ImageDecoder(long maxPixels) {
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be > 0, got " + maxPixels);
        }
        this.maxPixels = maxPixels;
    }

    /** A decoder with the {@link #DEFAULT_MAX_PIXELS} limit. */
    public ImageDecoder() {
        this(DEFAULT_MAX_PIXELS);
    }

    /**
     * Decoding errors reach the caller as exceptions, so OpenCV's own log (a damaged PNG or TIFF prints
     * {@code [ WARN:0@0.04] global grfmt_png.cpp ...} lines on stderr beside the one-line error) is turned off, as
     * FFmpeg's is for audio, unless the user chose a level with {@code OPENCV_LOG_LEVEL}. The preset maps no
     * function for it: {@code cv::utils::logging::setLogLevel} is looked up by its symbol and called through
     * libtessera; where it is not found (another OpenCV build), the log stays as it is.
     */
    private static void quietOpenCvLog() {
        if (System.getenv("OPENCV_LOG_LEVEL") != null) {
            return;
        }
        Loader.load(opencv_imgcodecs.class);
        Pointer setLogLevel = Loader.addressof("_ZN2cv5utils7logging11setLogLevelENS1_8LogLevelE");
        if (setLogLevel != null && !setLogLevel.isNull()) {
            TesseraNative.tsr_call_int_int(setLogLevel.address(), 0); // cv::utils::logging::LOG_LEVEL_SILENT
        }
    }

    public long maxPixels() {
        return maxPixels;
    }

    /**
     * What one of the JDK-reader paths ({@link TiffSampleReader}, {@link CmykJpegReader}) decodes, or null, where the
     * caller decodes with OpenCV instead: when the reader declines the file, and in a Java runtime without
     * {@code java.desktop} (a slim jlink image), where loading the reader fails.
     */
    private static RgbImage withJdkReader(java.util.function.Supplier<RgbImage> read) {
        try {
            return read.get();
        } catch (LinkageError e) {
            return null;
        }
    }

    /** Decodes an image file. */
    public RgbImage decode(Path file) {
        if (file == null || !Files.isRegularFile(file)) {
            throw new IllegalArgumentException("image file not found: " + file);
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read image " + file + ": " + e.getMessage(), e);
        }
        return decode(bytes, file.toString());
    }

    /** Decodes encoded image bytes; {@code name} is used in error messages. */
    public RgbImage decode(byte[] bytes, String name) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("cannot decode image " + name + ": the file is empty");
        }
        String format = ImageHeader.format(bytes);
        if (format == null) {
            throw new IllegalArgumentException("cannot decode image " + name
                    + ": not a JPEG, PNG, BMP, WebP, TIFF, GIF, PNM or AVIF file");
        }
        long[] wh = ImageHeader.size(bytes, format);
        if (wh == null) {
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt " + format
                    + " header");
        }
        if (wh[0] <= 0 || wh[1] <= 0) {
            throw new IllegalArgumentException("cannot decode image " + name + ": " + format + " header gives size "
                    + wh[0] + "x" + wh[1]);
        }
        if (wh[0] * wh[1] > maxPixels) {
            throw new IllegalArgumentException("image " + name + " is " + wh[0] + "x" + wh[1] + " = " + wh[0] * wh[1]
                    + " pixels, more than the limit of " + maxPixels);
        }
        if (format.equals("AVIF")) { // OpenCV's build has no AVIF codec: FFmpeg's AV1 decoder, libyuv's conversion
            return AvifReader.read(bytes, name);
        }
        if (format.equals("PNM")) { // OpenCV scales other maxvals and 16-bit samples unlike Pillow
            return PnmReader.read(bytes, name, PnmReader.header(bytes));
        }
        if (format.equals("BMP") && BmpRleReader.handles(bytes)) { // OpenCV misplaces the runs of many RLE BMPs
            return BmpRleReader.read(bytes, name, (int) wh[0], (int) wh[1]);
        }
        ImageHeader.TiffLayout tiff = format.equals("TIFF") ? ImageHeader.tiffLayout(bytes) : null;
        if (tiff != null) { // alpha, CMYK, 2- / 4-bit gray: OpenCV's libtiff path converts them unlike Pillow
            RgbImage img = withJdkReader(() -> TiffSampleReader.read(bytes, tiff));
            if (img != null) {
                return img;
            }
        }
        if (format.equals("JPEG")) {
            int[] info = ImageHeader.jpegInfo(bytes);
            if (info != null && info[0] == 4) { // CMYK / YCCK: OpenCV converts them to RGB unlike Pillow
                RgbImage img = withJdkReader(() -> CmykJpegReader.read(bytes, info));
                if (img != null) {
                    return img;
                }
            }
        }
        // A GIF with a transparent index is decoded with its alpha, which marks the pixels to give that index's colour;
        // a 16-bit grayscale PNG / TIFF with its 16-bit samples, which Pillow clips to 255 where OpenCV scales them.
        SystemInfo.requirePreset(SystemInfo.OPENCV_PRESET, "OpenCV (decoding " + format + " images)");
        int gifTransparent = format.equals("GIF") ? ImageHeader.gifTransparentRgb(bytes) : -1;
        boolean gray16 = ImageHeader.gray16(bytes, format);
        // 8-bit colour comes out as RGB (libjpeg-turbo writes that order itself: the same values as BGR swapped)
        int flags = gifTransparent >= 0 ? IMREAD_UNCHANGED : gray16 ? IMREAD_ANYDEPTH : IMREAD_COLOR_RGB;
        try (BytePointer buf = new BytePointer(bytes); Mat raw = new Mat(1, bytes.length, opencv_core.CV_8UC1, buf);
                Mat decoded = imdecode(raw, flags)) {
            boolean ok = decoded != null && !decoded.empty();
            int channels = ok && gifTransparent >= 0 && decoded.channels() == 4 ? 4 : gray16 ? 1 : 3;
            int depth = gray16 ? opencv_core.CV_16U : opencv_core.CV_8U;
            if (!ok || decoded.channels() != channels || decoded.depth() != depth) {
                if (format.equals("TIFF") && ImageHeader.tiffFloatSamples(bytes)) {
                    throw new IllegalArgumentException("cannot decode image " + name + ": floating-point TIFF samples"
                            + " are not supported (save it with 8- or 16-bit integer samples)");
                }
                throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt " + format
                        + " data");
            }
            int w = decoded.cols();
            int h = decoded.rows();
            byte[] out = new byte[w * h * 3];
            Mat c = decoded.isContinuous() ? decoded : decoded.clone();
            if (gray16) { // Pillow's "I;16" to "RGB": each sample clipped to 255, not scaled
                short[] g = new short[w * h];
                new org.bytedeco.javacpp.ShortPointer(c.data()).get(g);
                for (int i = 0, o = 0; i < g.length; i++, o += 3) {
                    byte v = (byte) Math.min(g[i] & 0xFFFF, 255);
                    out[o] = v;
                    out[o + 1] = v;
                    out[o + 2] = v;
                }
            } else if (channels == 4) {
                byte[] bgra = new byte[w * h * 4];
                c.data().get(bgra);
                for (int i = 0, o = 0; i < bgra.length; i += 4, o += 3) {
                    boolean clear = bgra[i + 3] == 0;
                    out[o] = clear ? (byte) (gifTransparent >> 16) : bgra[i + 2];
                    out[o + 1] = clear ? (byte) (gifTransparent >> 8) : bgra[i + 1];
                    out[o + 2] = clear ? (byte) gifTransparent : bgra[i];
                }
            } else {
                c.data().get(out);
            }
            if (c != decoded) {
                c.close();
            }
            int bmp16 = format.equals("BMP") ? ImageHeader.bmp16Layout(bytes) : 0;
            if (bmp16 != 0) { // OpenCV widens 5 / 6 bits by shifting (v << 3), Pillow by v * 255 / 31 (v * 255 / 63)
                for (int i = 0; i < out.length; i++) {
                    int v = out[i] & 0xFF;
                    boolean six = bmp16 == 565 && i % 3 == 1;
                    out[i] = (byte) (six ? (v >> 2) * 255 / 63 : (v >> 3) * 255 / 31);
                }
            }
            return new RgbImage(w, h, out);
        }
    }
}
