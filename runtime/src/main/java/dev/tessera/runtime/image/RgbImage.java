package dev.tessera.runtime.image;

/** A decoded 8-bit RGB image: {@code rgb} holds {@code height * width * 3} bytes, row-major, interleaved R, G, B. */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0 || rgb == null || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("RgbImage " + width + "x" + height + " needs " + 3L * width * height
                    + " bytes, got " + (rgb == null ? "null" : rgb.length));
        }
    }

    /** Channel {@code c} (0 R, 1 G, 2 B) of pixel (x, y), 0..255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }
}
