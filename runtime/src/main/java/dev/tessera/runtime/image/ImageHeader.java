package dev.tessera.runtime.image;

/** Format sniffing and width/height from an image header, without decoding (for size limits). */
final class ImageHeader {
    private ImageHeader() {}

    static String format(byte[] b) {
        if (b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) {
            return "JPEG";
        }
        if (b.length >= 8 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return "PNG";
        }
        if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
            return "BMP";
        }
        if (b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E'
                && b[10] == 'B' && b[11] == 'P') {
            return "WebP";
        }
        if (b.length >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0)
                || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)))) {
            return "TIFF"; // 42: classic TIFF, 43: BigTIFF
        }
        if (b.length >= 6 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8' && (b[4] == '7' || b[4] == '9')
                && b[5] == 'a') {
            return "GIF";
        }
        if (PnmReader.accepts(b)) {
            return "PNM";
        }
        if (avif(b)) {
            return "AVIF";
        }
        return null;
    }

    /**
     * True for an ISO-BMFF file whose {@code ftyp} names the {@code avif} or {@code avis} brand (here, not in
     * {@link AvifReader}, so that sniffing other formats never loads the FFmpeg-backed reader).
     */
    static boolean avif(byte[] b) {
        if (b.length < 16 || b[4] != 'f' || b[5] != 't' || b[6] != 'y' || b[7] != 'p') {
            return false;
        }
        long size = be(b, 0, 4);
        int end = (int) Math.min(b.length, size < 16 ? 16 : size);
        for (int p = 8; p + 4 <= end; p += 4) {
            if (p == 12) {
                continue; // the minor version
            }
            if (b[p] == 'a' && b[p + 1] == 'v' && b[p + 2] == 'i' && (b[p + 3] == 'f' || b[p + 3] == 's')) {
                return true;
            }
        }
        return false;
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    /** {@code n} bytes big-endian at {@code i}, unsigned. */
    static long be(byte[] b, int i, int n) {
        long v = 0;
        for (int k = 0; k < n; k++) {
            v = (v << 8) | u8(b, i + k);
        }
        return v;
    }

    /** {@code n} bytes little-endian at {@code i}, unsigned. */
    static long le(byte[] b, int i, int n) {
        long v = 0;
        for (int k = n - 1; k >= 0; k--) {
            v = (v << 8) | u8(b, i + k);
        }
        return v;
    }

    /** {width, height}, or null when the header is truncated or malformed. */
    static long[] size(byte[] b, String format) {
        try {
            return switch (format) {
                case "PNG" -> b.length >= 24 && b[12] == 'I' && b[13] == 'H' && b[14] == 'D' && b[15] == 'R' // IHDR comes first
                        ? new long[] {be(b, 16, 4), be(b, 20, 4)} : null;
                case "BMP" -> bmp(b);
                case "JPEG" -> jpeg(b);
                case "WebP" -> webp(b);
                case "TIFF" -> tiff(b);
                case "GIF" -> b.length >= 10 ? new long[] {le(b, 6, 2), le(b, 8, 2)} : null; // the logical screen
                case "AVIF" -> AvifReader.size(b);
                case "PNM" -> {
                    PnmReader.Header h = PnmReader.header(b);
                    yield h == null ? null : new long[] {h.width(), h.height()};
                }
                default -> null;
            };
        } catch (ArrayIndexOutOfBoundsException e) {
            return null;
        }
    }

    /** A BMP's size: 16-bit fields after an OS/2 1.x header (BITMAPCOREHEADER, 12 bytes), else 32-bit ones. */
    private static long[] bmp(byte[] b) {
        if (b.length >= 22 && le(b, 14, 4) == 12) {
            return new long[] {le(b, 18, 2), le(b, 20, 2)};
        }
        return b.length >= 26 ? new long[] {Math.abs((int) le(b, 18, 4)), Math.abs((int) le(b, 22, 4))} : null;
    }

    private static long[] jpeg(byte[] b) {
        int[] seg = jpegSegments(b);
        return seg == null ? null : new long[] {seg[0], seg[1]};
    }

    private static long[] webp(byte[] b) {
        if (b.length < 30) {
            return null;
        }
        String chunk = new String(b, 12, 4, java.nio.charset.StandardCharsets.US_ASCII);
        return switch (chunk) {
            case "VP8 " -> new long[] {le(b, 26, 2) & 0x3FFF, le(b, 28, 2) & 0x3FFF};
            case "VP8L" -> {
                long bits = le(b, 21, 4);
                yield new long[] {(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
            }
            case "VP8X" -> new long[] {le(b, 24, 3) + 1, le(b, 27, 3) + 1};
            default -> null;
        };
    }

    private static long[] tiff(byte[] b) {
        long w = tiffValue(b, 256);
        long h = tiffValue(b, 257);
        return w < 0 || h < 0 ? null : new long[] {w, h};
    }

    /**
     * Whether a TIFF's first image stores IEEE floating-point samples (SampleFormat, tag 339, = 3), which OpenCV's
     * 8-bit colour decoding does not read; false when the tag is absent or the header is malformed.
     */
    static boolean tiffFloatSamples(byte[] b) {
        try {
            return tiffValue(b, 339) == 3;
        } catch (ArrayIndexOutOfBoundsException e) {
            return false;
        }
    }

    /**
     * The channel layout of a 16-bit BMP: 565 (BI_BITFIELDS with masks F800 / 07E0 / 001F), 555 (BI_RGB, or
     * BI_BITFIELDS 7C00 / 03E0 / 001F); 0 for any other BMP or a malformed header.
     */
    static int bmp16Layout(byte[] b) {
        if (b.length < 66 || le(b, 28, 2) != 16) {
            return 0;
        }
        long compression = le(b, 30, 4);
        if (compression == 0) {
            return 555;
        }
        if (compression != 3) {
            return 0;
        }
        long r = le(b, 54, 4);
        long g = le(b, 58, 4);
        long bl = le(b, 62, 4);
        if (r == 0xF800 && g == 0x07E0 && bl == 0x1F) {
            return 565;
        }
        return r == 0x7C00 && g == 0x03E0 && bl == 0x1F ? 555 : 0;
    }

    /**
     * The palette colour ({@code 0xRRGGBB}) of the transparent index of a GIF's first frame (its Graphic Control
     * Extension's), from the frame's local colour table, else the global one; -1 when the frame has no transparent
     * index, the index is outside the table, or the blocks before the frame are malformed.
     */
    static int gifTransparentRgb(byte[] b) {
        try {
            int flags = u8(b, 10);
            int global = 13;
            int globalSize = (flags & 0x80) != 0 ? 3 << ((flags & 7) + 1) : 0;
            int i = global + globalSize;
            int transparent = -1;
            while (u8(b, i) != 0x2C) {
                if (u8(b, i) != 0x21) {
                    return -1; // the trailer (no frame) or garbage
                }
                int label = u8(b, i + 1);
                i += 2;
                if (label == 0xF9 && u8(b, i) >= 4) { // Graphic Control Extension: flags, delay (2), index
                    transparent = (u8(b, i + 1) & 1) != 0 ? u8(b, i + 4) : -1;
                }
                while (u8(b, i) != 0) { // data sub-blocks
                    i += u8(b, i) + 1;
                }
                i++;
            }
            if (transparent < 0) {
                return -1;
            }
            int frameFlags = u8(b, i + 9);
            int table = global;
            int tableSize = globalSize;
            if ((frameFlags & 0x80) != 0) {
                table = i + 10;
                tableSize = 3 << ((frameFlags & 7) + 1);
            }
            if (3 * transparent + 2 >= tableSize) {
                return -1;
            }
            int at = table + 3 * transparent;
            return (u8(b, at) << 16) | (u8(b, at + 1) << 8) | u8(b, at + 2);
        } catch (ArrayIndexOutOfBoundsException e) {
            return -1;
        }
    }

    /**
     * What a JPEG's segments before its scan say: {components of the frame (SOF), Adobe transform (APP14: 0 none, 1
     * YCbCr, 2 YCCK; -1 without the segment), EXIF Orientation (APP1; 1 when absent or malformed)}; null when the
     * markers are malformed before a frame header is found.
     */
    static int[] jpegInfo(byte[] b) {
        int[] seg = jpegSegments(b);
        return seg == null ? null : new int[] {seg[2], seg[3], seg[4]};
    }

    /**
     * {width, height, components, Adobe transform, EXIF orientation} from the markers up to the scan (or up to the
     * first malformed one after the frame header); null when no complete frame header comes before that.
     */
    private static int[] jpegSegments(byte[] b) {
        int[] seg = null;
        int transform = -1;
        int orientation = 1;
        int i = 2;
        try {
            while (i + 4 <= b.length && u8(b, i) == 0xFF) {
                int marker = u8(b, i + 1);
                if (marker == 0xFF) {
                    i++;
                    continue;
                }
                if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
                    i += 2;
                    continue;
                }
                if (marker == 0xD9 || marker == 0xDA) {
                    break;
                }
                int len = (int) be(b, i + 2, 2);
                int data = i + 4;
                boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
                if (sof && seg == null) {
                    if (i + 10 > b.length) {
                        break;
                    }
                    seg = new int[] {(int) be(b, i + 7, 2), (int) be(b, i + 5, 2), u8(b, data + 5), 0, 0};
                } else if (marker == 0xEE && len >= 14 && ascii(b, data, "Adobe")) {
                    transform = u8(b, data + 11);
                } else if (marker == 0xE1 && len >= 16 && ascii(b, data, "Exif\0\0") && orientation == 1
                        && (ascii(b, data + 6, "II*\0") || ascii(b, data + 6, "MM\0*"))) {
                    long o = tiffValue(b, data + 6, 274); // the TIFF structure in place, its offsets from its start
                    orientation = o < 1 || o > 8 ? 1 : (int) o;
                }
                i += 2 + len;
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            // a segment cut short: what came before it stands
        }
        if (seg != null) {
            seg[3] = transform;
            seg[4] = orientation;
        }
        return seg;
    }

    private static boolean ascii(byte[] b, int at, String s) {
        for (int k = 0; k < s.length(); k++) {
            if (b[at + k] != s.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a PNG (IHDR bit depth 16, colour type 0) or TIFF (BitsPerSample 16, one sample, BlackIsZero, unsigned)
     * holds 16-bit grayscale without alpha: Pillow opens these as {@code I;16} and clips them to 255 on the way to RGB.
     */
    static boolean gray16(byte[] b, String format) {
        try {
            return switch (format) {
                case "PNG" -> b.length >= 26 && u8(b, 24) == 16 && u8(b, 25) == 0;
                case "TIFF" -> tiffValue(b, 258) == 16 && tiffValue(b, 277) <= 1 && tiffValue(b, 262) == 1
                        && tiffValue(b, 339) <= 1;
                default -> false;
            };
        } catch (ArrayIndexOutOfBoundsException e) {
            return false;
        }
    }

    /** A TIFF's Orientation (tag 274), 1 when absent or malformed. */
    static long tiffOrientation(byte[] b) {
        try {
            long o = tiffValue(b, 274);
            return o < 1 ? 1 : o;
        } catch (ArrayIndexOutOfBoundsException e) {
            return 1;
        }
    }

    /** The TIFF layouts that {@link TiffSampleReader} reads from the stored samples, as Pillow does. */
    enum TiffLayout {
        /** RGB or grayscale with an unassociated alpha sample (ExtraSamples 2: RGBA / LA as Pillow writes them). */
        UNASSOCIATED_ALPHA,
        /** RGB with an associated (premultiplied) alpha (ExtraSamples 1: Pillow's {@code RGBa}). */
        ASSOCIATED_ALPHA,
        /** CMYK (Photometric 5), 4 samples (or 5, 6 with unspecified extras), 8 or 16 bits. */
        CMYK,
        /** Grayscale (Photometric 0 or 1) of 2 or 4 bits per sample. */
        GRAY_LOW_BITS
    }

    /** The layout of a TIFF's first image when it is one of {@link TiffLayout}'s, else (or when malformed) null. */
    static TiffLayout tiffLayout(byte[] b) {
        try {
            long photometric = tiffValue(b, 262);
            long extra = tiffValue(b, 338);
            long samples = tiffValue(b, 277);
            long bits = tiffValue(b, 258);
            if (extra == 2 && (photometric == 1 || photometric == 2)) {
                return TiffLayout.UNASSOCIATED_ALPHA;
            }
            if (extra == 1 && photometric == 2) {
                return TiffLayout.ASSOCIATED_ALPHA;
            }
            if (photometric == 5 && (samples == 4 || (samples == 5 || samples == 6) && extra == 0)
                    && (bits == 8 || bits == 16)) {
                return TiffLayout.CMYK;
            }
            if ((photometric == 0 || photometric == 1) && samples <= 1 && extra < 0 && (bits == 2 || bits == 4)) {
                return TiffLayout.GRAY_LOW_BITS;
            }
            return null;
        } catch (ArrayIndexOutOfBoundsException e) {
            return null;
        }
    }

    /**
     * The first value of tag {@code tag} in the first IFD of a TIFF (a SHORT or LONG, inline or, for more values than
     * fit the entry's 4 bytes, at the offset it holds), or -1 when absent.
     */
    private static long tiffValue(byte[] b, int tag) {
        return tiffValue(b, 0, tag);
    }

    /**
     * {@link #tiffValue(byte[], int)} of a TIFF structure starting at {@code base} (a JPEG's EXIF segment holds one).
     * Classic TIFF (4-byte offsets, 12-byte entries) and BigTIFF (version 43: 8-byte offsets and counts, 20-byte entries).
     */
    private static long tiffValue(byte[] b, int base, int tag) {
        boolean little = b[base] == 'I';
        java.util.function.BiFunction<Integer, Integer, Long> rd =
                (i, n) -> little ? le(b, base + i, n) : be(b, base + i, n);
        boolean big = rd.apply(2, 2) == 43;
        if (big && rd.apply(4, 2) != 8) {
            return -1;
        }
        int word = big ? 8 : 4; // offsets, counts and the inline value field
        long first = rd.apply(big ? 8 : 4, word);
        if (first < 8 || first > Integer.MAX_VALUE || base + first + 2 > b.length) {
            return -1;
        }
        int ifd = (int) first;
        long count = rd.apply(ifd, big ? 8 : 2);
        int entries = ifd + (big ? 8 : 2);
        int entry = big ? 20 : 12;
        for (long k = 0; k < count && base + entries + entry * k + 2 <= b.length; k++) {
            int e = (int) (entries + entry * k);
            if (rd.apply(e, 2) == tag) {
                long type = rd.apply(e + 2, 2);
                int size = type == 3 ? 2 : type == 16 ? 8 : 4; // SHORT, LONG8, else LONG
                long n = rd.apply(e + 4, word);
                long at = n * size <= word ? e + 4 + word : rd.apply(e + 4 + word, word);
                if (at < 0 || at > Integer.MAX_VALUE - 8) {
                    return -1;
                }
                return rd.apply((int) at, size);
            }
        }
        return -1;
    }
}
