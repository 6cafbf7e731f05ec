package dev.tessera.runtime.image;

/**
 * Netpbm images (PBM P1 / P4, PGM P2 / P5, PPM P3 / P6) decoded as Pillow decodes them and {@code convert("RGB")}
 * gives them. OpenCV decodes them too, but leaves binary samples of a {@code maxval} other than 255 unscaled and takes
 * the high byte of 16-bit ones, where Pillow scales every sample to {@code round(v / maxval · 255)} (Python's
 * rounding, half to even), reads a PGM with {@code maxval} above 255 as 32-bit gray scaled to 65535 (which
 * {@code convert("RGB")} then clips to 255) and a {@code maxval} of exactly 65535 as its raw 16-bit samples (clipped
 * likewise). The header is Pillow's: a magic number, then width, height and (but for bitmaps) {@code maxval} as
 * tokens of at most 10 characters between whitespace, {@code #} starting a comment to the end of the line; the samples
 * start after the one whitespace character that ends the last token. Plain (ASCII) samples: comments removed wherever
 * they are, a bitmap's digits with or without whitespace between them, a value above {@code maxval} refused. Data that
 * ends before the image is full is refused (Pillow: "not enough image data" / "image file is truncated"); what follows
 * it is ignored.
 */
final class PnmReader {
    private PnmReader() {}

    private static final int MAX_TOKEN = 10;

    /** The header of a Netpbm file: its magic digit (1..6), size, {@code maxval} (1 for bitmaps) and data offset. */
    record Header(int kind, int width, int height, int maxval, int dataAt) {}

    /** True for a file starting with a P1..P6 magic number followed by whitespace. */
    static boolean accepts(byte[] b) {
        return b.length >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && whitespace(b[2]);
    }

    /** The header, or null when it is malformed or truncated. */
    static Header header(byte[] b) {
        if (!accepts(b)) {
            return null;
        }
        int kind = b[1] - '0';
        int[] pos = {3};
        long w = token(b, pos);
        long h = token(b, pos);
        long maxval = kind == 1 || kind == 4 ? 1 : token(b, pos);
        if (w < 0 || h < 0 || maxval < 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            return null;
        }
        return new Header(kind, (int) w, (int) h, (int) Math.min(maxval, Integer.MAX_VALUE), pos[0]);
    }

    /** The next header token as a number (after whitespace and comments), the position moved past its end; -1 if bad. */
    private static long token(byte[] b, int[] pos) {
        int p = pos[0];
        StringBuilder t = new StringBuilder();
        while (t.length() <= MAX_TOKEN) {
            if (p >= b.length) {
                break;
            }
            byte c = b[p++];
            if (whitespace(c)) {
                if (t.length() == 0) {
                    continue;
                }
                break;
            }
            if (c == '#') {
                while (p < b.length && b[p] != '\r' && b[p] != '\n') {
                    p++;
                }
                p++; // the line end
                continue;
            }
            t.append((char) (c & 0xFF));
        }
        pos[0] = p;
        if (t.length() == 0 || t.length() > MAX_TOKEN || !t.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        return Long.parseLong(t.toString());
    }

    private static boolean whitespace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    /** Decodes a file whose {@link #header} is {@code hd}. */
    static RgbImage read(byte[] b, String name, Header hd) {
        int w = hd.width();
        int h = hd.height();
        if ((long) w * h * 3 > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("cannot decode image " + name + ": " + w + "x" + h
                    + " is too large for one RGB array");
        }
        int maxval = hd.maxval();
        if (hd.kind() != 1 && hd.kind() != 4 && (maxval < 1 || maxval > 65535)) {
            throw new IllegalArgumentException("cannot decode image " + name + ": PNM maxval " + maxval
                    + " is not in 1..65535");
        }
        int bands = hd.kind() == 3 || hd.kind() == 6 ? 3 : 1;
        int n = w * h * bands;
        // Before allocating: every sample needs a byte at least (bits of a byte for P4, two bytes above maxval 255;
        // a digit, and whitespace between numbers, in plain files), so a short file claiming a large image is refused
        long least = switch (hd.kind()) {
            case 4 -> (long) (w + 7) / 8 * h;
            case 5, 6 -> (long) n * (maxval > 255 ? 2 : 1);
            case 1 -> n;
            default -> 2L * n - 1;
        };
        if (b.length - (long) hd.dataAt() < least) {
            throw new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt PNM data ("
                    + (b.length - hd.dataAt()) + " bytes of samples for a " + w + "x" + h + " image)");
        }
        byte[] v = new byte[n]; // each sample as convert("RGB") gives it, 0..255
        boolean full = switch (hd.kind()) {
            case 4 -> packedBits(b, hd.dataAt(), w, h, v);
            case 1 -> plain(b, hd.dataAt(), v, name, true, 1, false);
            case 2, 3 -> plain(b, hd.dataAt(), v, name, false, maxval, bands == 1 && maxval > 255);
            default -> binaryValues(b, hd.dataAt(), maxval, bands == 1, v);
        };
        if (!full) {
            throw new IllegalArgumentException("cannot decode image " + name
                    + ": truncated or corrupt PNM data (the samples end before the image is full)");
        }
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            for (int c = 0; c < 3; c++) {
                rgb[i * 3 + c] = v[bands == 3 ? i * 3 + c : i];
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** Python's {@code round(value / maxval * outMax)}: the same double operations, ties to even. */
    private static int scale(long value, int maxval, int outMax) {
        return (int) Math.rint((double) value / maxval * outMax);
    }

    /** P4: rows of bits, most significant first, each row padded to a byte; 1 is black. */
    private static boolean packedBits(byte[] b, int at, int w, int h, byte[] v) {
        int row = (w + 7) / 8;
        if ((long) at + (long) row * h > b.length) {
            return false;
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int bit = b[at + y * row + x / 8] >> (7 - x % 8) & 1;
                v[y * w + x] = (byte) (bit == 1 ? 0 : 255);
            }
        }
        return true;
    }

    /**
     * The plain (ASCII) samples as Pillow's {@code PpmPlainDecoder} reads them: the data in blocks of
     * {@link #BLOCK} bytes, comments ({@code #} through the first CR or LF) removed from each, a comment that runs past
     * a block's end finished in the next blocks; bitmaps: every non-whitespace byte of a block must be 0 or 1 (checked
     * for the whole block, also past the image's end); other kinds: whitespace-separated tokens of at most 10
     * characters (a block's last token, when the block ends inside it, is checked for length and joined to the next
     * block's first), each checked and scaled until the image is full.
     */
    private static boolean plain(byte[] b, int at, byte[] v, String name, boolean bits, int maxval, boolean wide) {
        int[] pos = {at};
        int n = 0;
        boolean spans = false;
        byte[] half = new byte[0];
        while (n != v.length) {
            byte[] block = block(b, pos);
            if (block.length == 0) {
                if (half.length == 0) {
                    break;
                }
                block = new byte[] {' '};
            }
            if (spans) { // finish the comment the last block ended in
                while (block.length > 0) {
                    int e = commentEnd(block, 0);
                    if (e != -1) {
                        block = java.util.Arrays.copyOfRange(block, e + 1, block.length);
                        break;
                    }
                    block = block(b, pos);
                }
            }
            spans = false;
            while (true) {
                int start = indexOf(block, (byte) '#');
                if (start == -1) {
                    break;
                }
                int e = commentEnd(block, start);
                byte[] cut = new byte[start + (e == -1 ? 0 : block.length - e - 1)];
                System.arraycopy(block, 0, cut, 0, start);
                if (e == -1) {
                    spans = true;
                    block = cut;
                    break;
                }
                System.arraycopy(block, e + 1, cut, start, block.length - e - 1);
                block = cut;
            }
            if (bits) {
                for (byte c : block) {
                    if (whitespace(c)) {
                        continue;
                    }
                    if (c != '0' && c != '1') {
                        throw new IllegalArgumentException("cannot decode image " + name + ": PBM data holds '"
                                + (char) (c & 0xFF) + "' where 0 or 1 belongs");
                    }
                    if (n < v.length) {
                        v[n++] = (byte) (c == '1' ? 0 : 255);
                    }
                }
                continue;
            }
            if (half.length > 0) {
                byte[] joined = new byte[half.length + block.length];
                System.arraycopy(half, 0, joined, 0, half.length);
                System.arraycopy(block, 0, joined, half.length, block.length);
                block = joined;
                half = new byte[0];
            }
            java.util.List<String> tokens = tokens(block);
            if (block.length > 0 && !whitespace(block[block.length - 1])) { // the block may end inside a token
                String last = tokens.remove(tokens.size() - 1);
                if (last.length() > MAX_TOKEN) {
                    throw tooLong(name, last);
                }
                half = last.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            }
            for (String t : tokens) {
                if (t.length() > MAX_TOKEN) {
                    throw tooLong(name, t);
                }
                if (!t.chars().allMatch(Character::isDigit)) {
                    throw new IllegalArgumentException("cannot decode image " + name + ": PNM sample '" + t
                            + "' is not a number");
                }
                long value = Long.parseLong(t);
                if (value > maxval) {
                    throw new IllegalArgumentException("cannot decode image " + name + ": PNM sample " + value
                            + " is above maxval " + maxval);
                }
                // a PGM above 255 is Pillow's 32-bit gray scaled to 65535, which convert("RGB") clips to 255
                v[n++] = (byte) (wide ? Math.min(scale(value, maxval, 65535), 255) : scale(value, maxval, 255));
                if (n == v.length) {
                    break;
                }
            }
        }
        return n == v.length;
    }

    /** Pillow's {@code ImageFile.SAFEBLOCK}: how much its plain decoder reads at a time. */
    private static final int BLOCK = 1024 * 1024;

    private static byte[] block(byte[] b, int[] pos) {
        int end = (int) Math.min(b.length, (long) pos[0] + BLOCK);
        byte[] block = java.util.Arrays.copyOfRange(b, Math.min(pos[0], end), end);
        pos[0] = end;
        return block;
    }

    /** The first CR or LF at or after {@code from}, or -1. */
    private static int commentEnd(byte[] block, int from) {
        for (int i = from; i < block.length; i++) {
            if (block[i] == '\n' || block[i] == '\r') {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] block, byte c) {
        for (int i = 0; i < block.length; i++) {
            if (block[i] == c) {
                return i;
            }
        }
        return -1;
    }

    private static java.util.List<String> tokens(byte[] block) {
        java.util.List<String> out = new java.util.ArrayList<>();
        int p = 0;
        while (p < block.length) {
            while (p < block.length && whitespace(block[p])) {
                p++;
            }
            int start = p;
            while (p < block.length && !whitespace(block[p])) {
                p++;
            }
            if (p > start) {
                out.add(new String(block, start, p - start, java.nio.charset.StandardCharsets.ISO_8859_1));
            }
        }
        return out;
    }

    private static IllegalArgumentException tooLong(String name, String t) {
        return new IllegalArgumentException("cannot decode image " + name + ": PNM sample '"
                + t.substring(0, MAX_TOKEN) + "...' is longer than 10 characters");
    }

    /** P5 / P6: one byte per sample, two (big-endian) when {@code maxval} is above 255. */
    private static boolean binaryValues(byte[] b, int at, int maxval, boolean gray, byte[] v) {
        int size = maxval > 255 ? 2 : 1;
        if ((long) at + (long) v.length * size > b.length) {
            return false;
        }
        for (int i = 0; i < v.length; i++) {
            int p = at + i * size;
            int value = size == 1 ? b[p] & 0xFF : (b[p] & 0xFF) << 8 | (b[p + 1] & 0xFF);
            if (maxval == 255) {
                v[i] = (byte) value;
            } else if (gray && maxval == 65535) {
                v[i] = (byte) Math.min(value, 255); // Pillow's raw I;16B, clipped by convert("RGB")
            } else if (gray && maxval > 255) {
                v[i] = (byte) (Math.min(Math.min(65535, scale(value, maxval, 65535)), 255));
            } else {
                v[i] = (byte) (Math.min(255, scale(value, maxval, 255)));
            }
        }
        return true;
    }
}
