package dev.tessera.runtime.image;

/**
 * Run-length encoded BMPs (BI_RLE8, BI_RLE4) decoded as Pillow decodes them, where OpenCV 4.13's decoder misplaces
 * the runs of many valid files (ImageMagick's own RLE8 output among them). The rules are Pillow's (its
 * {@code BmpRleDecoder} and BMP header reading), so that a file gives what transformers' {@code load_image} gives:
 * <ul>
 * <li>the pixel data starts at the file header's offset (after the palette when the offset says it starts right after
 * the info header); the palette holds {@code biClrUsed} entries (2<sup>bits</sup> when 0) of B, G, R, reserved;</li>
 * <li>a palette that is the identity ramp ({@code (i, i, i)} for every entry) makes a grayscale image whose values
 * are the indices themselves, also past the palette's end; otherwise each index takes its palette colour and an index
 * past the palette is black;</li>
 * <li>an encoded run is cut at the end of its row (the row position counts absolute runs uncut, as Pillow counts
 * them); an absolute run of RLE4 takes {@code count / 2} bytes, two pixels each; absolute runs end on an even file
 * position; a delta fills the pixels it skips with index 0; end of line fills the row with index 0;</li>
 * <li>the data must fill the image (Pillow: "not enough image data"); rows are stored bottom-up unless the height is
 * negative; what runs past the last row is ignored.</li>
 * </ul>
 */
final class BmpRleReader {
    private BmpRleReader() {}

    /**
     * True for a BMP that this reader decodes: a Windows info header (40 to 124 bytes) with RLE8 or RLE4 compression and
     * 1, 4 or 8 bits per pixel.
     */
    static boolean handles(byte[] b) {
        if (b.length < 54) {
            return false;
        }
        long header = ImageHeader.le(b, 14, 4);
        long compression = ImageHeader.le(b, 30, 4);
        int bits = (int) ImageHeader.le(b, 28, 2);
        return (header == 40 || header == 52 || header == 56 || header == 64 || header == 108 || header == 124)
                && (compression == 1 || compression == 2) && (bits == 1 || bits == 4 || bits == 8);
    }

    /** Decodes a file for which {@link #handles} is true; {@code w} x {@code h} is its size from the header. */
    static RgbImage read(byte[] b, String name, int w, int h) {
        if ((long) w * h * 3 > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("cannot decode image " + name + ": " + w + "x" + h
                    + " is too large for one RGB array");
        }
        long header = ImageHeader.le(b, 14, 4);
        boolean topDown = (b[25] & 0xFF) == 0xFF; // Pillow: a negative height's top byte
        boolean rle4 = ImageHeader.le(b, 30, 4) == 2;
        int bits = (int) ImageHeader.le(b, 28, 2);
        long colors = ImageHeader.le(b, 46, 4);
        if (colors == 0) {
            colors = 1L << bits;
        }
        if (colors > 65536) {
            throw new IllegalArgumentException("cannot decode image " + name + ": BMP palette of " + colors
                    + " colours (at most 65536)");
        }
        int paletteAt = (int) (14 + header);
        long offset = ImageHeader.le(b, 10, 4);
        if (offset == paletteAt) {
            offset += 4 * colors;
        }
        int entries = (int) Math.min(colors, Math.max(0, (b.length - paletteAt) / 4));
        // Pillow reads such a palette as a grayscale image of the indices; black and white (two entries) as a 1-bit
        // image, which its RLE decoder then refuses: decoded here through the palette, which gives the same colours.
        boolean gray = entries == colors && colors != 2 && identityRamp(b, paletteAt, (int) colors);

        byte[] idx = runs(b, offset, w, (long) w * h, rle4);
        if (idx == null) {
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt BMP data"
                    + " (the runs end before the image is filled)");
        }
        byte[] rgb = new byte[w * h * 3];
        for (int line = 0; line < h; line++) {
            int y = topDown ? line : h - 1 - line;
            for (int x = 0; x < w; x++) {
                int i = idx[line * w + x] & 0xFF;
                int o = (y * w + x) * 3;
                if (gray) {
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) i;
                } else if (i < entries) {
                    int p = paletteAt + 4 * i;
                    rgb[o] = b[p + 2];
                    rgb[o + 1] = b[p + 1];
                    rgb[o + 2] = b[p];
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** The palette indices in stored row order, {@code need} of them, or null when the runs do not fill them. */
    private static byte[] runs(byte[] b, long start, int w, long need, boolean rle4) {
        byte[] data = new byte[(int) need];
        int n = 0;  // indices written (Pillow's len(data), capped at need: more is ignored)
        long len = 0;  // Pillow's len(data)
        long x = 0;
        long pos = start;
        while (len < need) {
            if (pos + 2 > b.length) {
                break;
            }
            int count = b[(int) pos] & 0xFF;
            int value = b[(int) pos + 1] & 0xFF;
            pos += 2;
            if (count != 0) { // encoded run, cut at the end of the row
                long k = x + count > w ? Math.max(0, w - x) : count;
                for (long j = 0; j < k; j++) {
                    int v = rle4 ? ((j & 1) == 0 ? value >> 4 : value & 0x0F) : value;
                    n = put(data, n, v);
                }
                len += k;
                x += k;
            } else if (value == 0) { // end of line
                long pad = (w - len % w) % w;
                n = zeros(data, n, pad);
                len += pad;
                x = 0;
            } else if (value == 1) { // end of bitmap
                break;
            } else if (value == 2) { // delta: right, up
                if (pos + 2 > b.length) {
                    break;
                }
                long skip = (b[(int) pos] & 0xFF) + (long) (b[(int) pos + 1] & 0xFF) * w;
                pos += 2;
                n = zeros(data, n, skip);
                len += skip;
                x = len % w;
            } else { // absolute run of `value` pixels
                int bytes = rle4 ? value / 2 : value;
                long avail = Math.min(bytes, b.length - pos);
                for (long j = 0; j < avail; j++) {
                    int v = b[(int) (pos + j)] & 0xFF;
                    if (rle4) {
                        n = put(data, n, v >> 4);
                        n = put(data, n, v & 0x0F);
                    } else {
                        n = put(data, n, v);
                    }
                }
                len += rle4 ? 2 * avail : avail;
                pos += avail;
                if (avail < bytes) {
                    break;
                }
                x += value;
                if ((pos & 1) != 0) {
                    pos++;
                }
            }
        }
        return len >= need ? data : null;
    }

    private static int put(byte[] data, int n, int v) {
        if (n < data.length) {
            data[n++] = (byte) v;
        }
        return n;
    }

    private static int zeros(byte[] data, int n, long count) {
        return (int) Math.min(data.length, n + count); // data starts zeroed
    }

    private static boolean identityRamp(byte[] b, int at, int colors) {
        for (int i = 0; i < colors; i++) {
            if (!isGray(b, at, i, i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isGray(byte[] b, int at, int i, int v) {
        int p = at + 4 * i;
        return (b[p] & 0xFF) == v && (b[p + 1] & 0xFF) == v && (b[p + 2] & 0xFF) == v;
    }
}
