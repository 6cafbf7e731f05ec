package dev.tessera.runtime.image;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decodes JPEG, PNG, BMP, WebP and TIFF images with OpenCV ({@code imdecode}) to 8-bit RGB: EXIF orientation is
 * applied (JPEG), grayscale is expanded to three channels, an alpha channel is dropped (as Pillow's
 * {@code convert("RGB")}), 16-bit samples are scaled to 8 bits. The pixel count is read from the file header and
 * checked against {@link #maxPixels()} before anything is decoded. Errors (missing, empty, unknown format,
 * truncated, too large) are {@link IllegalArgumentException}s naming the file and the problem.
 */
public final class ImageDecoder {
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

    public long maxPixels() {
        return maxPixels;
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
                    + ": not a JPEG, PNG, BMP, WebP or TIFF file");
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
        try (BytePointer buf = new BytePointer(bytes); Mat raw = new Mat(1, bytes.length, org.bytedeco.opencv.global.opencv_core.CV_8UC1, buf);
                Mat bgr = imdecode(raw, IMREAD_COLOR)) {
            if (bgr == null || bgr.empty() || bgr.channels() != 3 || bgr.depth() != org.bytedeco.opencv.global.opencv_core.CV_8U) {
                throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt " + format
                        + " data");
            }
            int w = bgr.cols();
            int h = bgr.rows();
            byte[] out = new byte[w * h * 3];
            Mat c = bgr.isContinuous() ? bgr : bgr.clone();
            c.data().get(out);
            if (c != bgr) {
                c.close();
            }
            for (int i = 0; i < out.length; i += 3) {
                byte b = out[i];
                out[i] = out[i + 2];
                out[i + 2] = b;
            }
            return new RgbImage(w, h, out);
        }
    }
}
