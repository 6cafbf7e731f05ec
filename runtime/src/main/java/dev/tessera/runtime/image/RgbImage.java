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

    /**
     * This image turned upright for TIFF / EXIF Orientation {@code o} (tag 274: 2 mirrored, 3 turned 180 degrees, 4 flipped,
     * 5 transposed, 6 turned 90 degrees clockwise, 7 transversed, 8 turned 90 degrees anticlockwise), as Pillow's
     * {@code exif_transpose} in transformers' {@code load_image} (and OpenCV for other TIFFs) applies it; itself for 1 or
     * an unknown value.
     */
    RgbImage oriented(long o) {
        if (o < 2 || o > 8) {
            return this;
        }
        int w = width;
        int h = height;
        boolean swap = o >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] out = new byte[w * h * 3];
        byte[] in = rgb;
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
}
