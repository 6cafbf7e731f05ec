package dev.tessera.runtime.image;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_AV1;
import static org.bytedeco.ffmpeg.global.avcodec.av_new_packet;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder_by_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_RANGE_JPEG;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_GRAY8;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV422P;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV444P;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_get_pix_fmt_name;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;

import dev.tessera.runtime.SystemInfo;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.javacpp.PointerPointer;

/**
 * AVIF still images decoded as Pillow 12 decodes them (its bundled libavif, which converts YUV to RGB through libyuv)
 * and {@code convert("RGB")} gives them. The AV1 picture is decoded by the FFmpeg preset (libaom; an AV1 decode is
 * exact, so any conforming decoder gives the same planes); the conversion is libyuv's fixed point, as libavif calls it:
 * <ul>
 * <li>the matrix from the file's {@code nclx}: BT.709 (1), BT.601 (5, 6, and unspecified, 2) or BT.2020 non-constant
 * luminance (9), each in the full- or limited-range table of libyuv (6 fractional bits; {@code y * 0x0101 * YG >> 16}
 * plus the bias, the chroma terms, {@code >> 6}, clamped); other matrices (identity, YCgCo, ...) are refused;</li>
 * <li>chroma upsampled as libyuv's bilinear filter: 4:2:0 with weights 9, 3, 3, 1 / 16 (rounded, {@code + 8 >> 4})
 * towards the nearest chroma neighbours, edges repeated, and the last column of an odd width taking its own chroma
 * column only; 4:2:2 with 3, 1 / 4 along the row; 4:4:4 as is;</li>
 * <li>monochrome (4:0:0) through libavif's own float path: the sample as is (full range) or
 * {@code round((y - 16) / 219 * 255)} clamped (limited range), in single precision;</li>
 * <li>{@code irot} / {@code imir} turned into the EXIF orientation Pillow gives them and applied, as transformers'
 * {@code load_image} applies it ({@code exif_transpose}); an alpha plane is dropped.</li>
 * </ul>
 * Refused with a message: grid (tiled) images, more than 8 bits per sample, other matrices. Checked identical to
 * Pillow 12.3 on every combination of subsampling, range and matrix, odd and even sizes (docs/vision.md).
 */
final class AvifReader {
    private AvifReader() {}

    /** libyuv's YUV-to-RGB tables: YG, YB, UB, UG, VG, VR (kYuv{JPEG,I601,F709,H709,V2020,2020}Constants). */
    private static final int[] BT601_FULL = {16320, 32, 113, 22, 46, 90};
    private static final int[] BT601_LIMITED = {18997, -1160, 128, 25, 52, 102};
    private static final int[] BT709_FULL = {16320, 32, 119, 12, 30, 101};
    private static final int[] BT709_LIMITED = {18997, -1160, 128, 14, 34, 115};
    private static final int[] BT2020_FULL = {16320, 32, 120, 11, 37, 94};
    private static final int[] BT2020_LIMITED = {19003, -1160, 128, 12, 42, 107};

    /** The primary image's size from its {@code ispe} property, {width, height}, or null when the header is bad. */
    static long[] size(byte[] b) {
        try {
            Item item = primary(b, "");
            return item.ispe == null ? null : new long[] {item.ispe[0], item.ispe[1]};
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Decodes an AVIF file's primary image. */
    static RgbImage read(byte[] bytes, String name) {
        Item item = primary(bytes, name);
        return decode(item, name).oriented(item.orientation());
    }

    /**
     * What the container says of the primary item: its type, the bytes of its AV1 picture, and its properties
     * ({@code ispe}, {@code colr} nclx, {@code irot}, {@code imir}). Read here box by box, every size and offset
     * checked, because FFmpeg 8's HEIF demuxer crashed the JVM on damaged AVIF files (found by the damaged-file
     * fuzzer); FFmpeg is given only the AV1 data, to its AV1 decoder.
     */
    static final class Item {
        String type;
        byte[] data;
        long[] ispe;
        int matrix = -1; // nclx matrix_coefficients, -1 without nclx
        int fullRange = -1;
        int angle = -1;
        int axis = -1;

        /** The EXIF orientation Pillow derives from {@code irot} / {@code imir} (1 when neither is present). */
        int orientation() {
            boolean mirror = axis >= 0;
            return switch (angle) {
                case 1 -> mirror ? (axis == 1 ? 7 : 5) : 8;
                case 2 -> mirror ? (axis == 1 ? 4 : 2) : 3;
                case 3 -> mirror ? (axis == 1 ? 5 : 7) : 6;
                default -> mirror ? (axis == 1 ? 2 : 4) : 1;
            };
        }
    }

    /** A box: its type and the range of its payload in the file. */
    private record Box(String type, int start, int end) {}

    private static java.util.List<Box> boxes(byte[] b, int from, int to, String name) {
        java.util.List<Box> out = new java.util.ArrayList<>();
        int p = from;
        while (p + 8 <= to) {
            long size = ImageHeader.be(b, p, 4);
            int header = 8;
            if (size == 1) {
                if (p + 16 > to) {
                    throw corrupt(name, "box header cut short");
                }
                size = ImageHeader.be(b, p + 8, 8);
                header = 16;
            } else if (size == 0) {
                size = to - p;
            }
            if (size < header || size > to - p) {
                throw corrupt(name, "a box runs past its parent");
            }
            out.add(new Box(new String(b, p + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1), p + header,
                    (int) (p + size)));
            p += (int) size;
        }
        return out;
    }

    private static Box find(java.util.List<Box> list, String type) {
        for (Box x : list) {
            if (x.type().equals(type)) {
                return x;
            }
        }
        return null;
    }

    /** Reads {@code n} bytes (0, 2, 4 or 8) big-endian at {@code p}, checked against {@code end}. */
    private static long read(byte[] b, int p, int n, int end, String name) {
        if (n == 0) {
            return 0;
        }
        if (p < 0 || p + n > end) {
            throw corrupt(name, "a field runs past its box");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = v << 8 | (b[p + i] & 0xFF);
        }
        return v;
    }

    static Item primary(byte[] b, String name) {
        java.util.List<Box> top = boxes(b, 0, b.length, name);
        Box meta = find(top, "meta");
        if (meta == null) {
            throw corrupt(name, "no meta box");
        }
        java.util.List<Box> m = boxes(b, meta.start() + 4, meta.end(), name); // meta is a full box
        Box pitm = find(m, "pitm");
        Box iloc = find(m, "iloc");
        Box iinf = find(m, "iinf");
        Box iprp = find(m, "iprp");
        if (pitm == null || iloc == null || iinf == null) {
            throw corrupt(name, "no primary item");
        }
        int pv = (int) read(b, pitm.start(), 1, pitm.end(), name);
        long id = read(b, pitm.start() + 4, pv == 0 ? 2 : 4, pitm.end(), name);
        Item item = new Item();
        // item type: iinf entries (infe, version 2 or 3)
        int iv = (int) read(b, iinf.start(), 1, iinf.end(), name);
        int entriesAt = iinf.start() + 4 + (iv == 0 ? 2 : 4);
        for (Box infe : boxes(b, entriesAt, iinf.end(), name)) {
            if (!infe.type().equals("infe")) {
                continue;
            }
            int v = (int) read(b, infe.start(), 1, infe.end(), name);
            if (v < 2) {
                continue;
            }
            int q = infe.start() + 4;
            long iid = read(b, q, v == 2 ? 2 : 4, infe.end(), name);
            q += (v == 2 ? 2 : 4) + 2;
            if (iid == id && q + 4 <= infe.end()) {
                item.type = new String(b, q, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            }
        }
        if (item.type == null) {
            throw corrupt(name, "the primary item has no type");
        }
        if (item.type.equals("grid")) {
            throw new IllegalArgumentException("cannot decode image " + name
                    + ": grid (tiled) AVIF images are not supported");
        }
        if (!item.type.equals("av01")) {
            throw corrupt(name, "the primary item is '" + item.type + "', not an AV1 image");
        }
        item.data = locate(b, iloc, find(m, "idat"), id, name);
        if (iprp != null) {
            properties(b, iprp, id, item, name);
        }
        return item;
    }

    /** The primary item's bytes from {@code iloc}: its extents in the file or in {@code idat}, concatenated. */
    private static byte[] locate(byte[] b, Box iloc, Box idat, long id, String name) {
        int e = iloc.end();
        int v = (int) read(b, iloc.start(), 1, iloc.end(), name);
        int q = iloc.start() + 4;
        int sizes = (int) read(b, q, 2, e, name);
        int offsetSize = sizes >> 12 & 15;
        int lengthSize = sizes >> 8 & 15;
        int baseSize = sizes >> 4 & 15;
        int indexSize = v == 1 || v == 2 ? sizes & 15 : 0;
        for (int n : new int[] {offsetSize, lengthSize, baseSize, indexSize}) {
            if (n != 0 && n != 4 && n != 8) {
                throw corrupt(name, "iloc field size " + n);
            }
        }
        q += 2;
        long count = read(b, q, v < 2 ? 2 : 4, e, name);
        q += v < 2 ? 2 : 4;
        for (long i = 0; i < count; i++) {
            long iid = read(b, q, v < 2 ? 2 : 4, e, name);
            q += v < 2 ? 2 : 4;
            int method = 0;
            if (v == 1 || v == 2) {
                method = (int) read(b, q, 2, e, name) & 15;
                q += 2;
            }
            q += 2; // data_reference_index
            long base = read(b, q, baseSize, e, name);
            q += baseSize;
            int extents = (int) read(b, q, 2, e, name);
            q += 2;
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (int x = 0; x < extents; x++) {
                q += indexSize;
                long off = read(b, q, offsetSize, e, name);
                q += offsetSize;
                long len = read(b, q, lengthSize, e, name);
                q += lengthSize;
                if (iid != id) {
                    continue;
                }
                long from = base + off;
                long limit = b.length;
                if (method == 1) {
                    if (idat == null) {
                        throw corrupt(name, "the item is in an idat box the file lacks");
                    }
                    from += idat.start();
                    limit = idat.end();
                } else if (method != 0) {
                    throw corrupt(name, "item construction method " + method);
                }
                if (len == 0) {
                    len = limit - from; // to the end
                }
                if (from < 0 || len < 0 || from + len > limit) {
                    throw corrupt(name, "the image data runs past the end of the file");
                }
                out.write(b, (int) from, (int) len);
            }
            if (iid == id) {
                if (out.size() == 0) {
                    throw corrupt(name, "the primary item holds no data");
                }
                return out.toByteArray();
            }
        }
        throw corrupt(name, "the primary item has no location");
    }

    /** The properties {@code ipma} associates with the primary item, read from {@code ipco}. */
    private static void properties(byte[] b, Box iprp, long id, Item item, String name) {
        java.util.List<Box> p = boxes(b, iprp.start(), iprp.end(), name);
        Box ipco = find(p, "ipco");
        Box ipma = find(p, "ipma");
        if (ipco == null || ipma == null) {
            return;
        }
        java.util.List<Box> props = boxes(b, ipco.start(), ipco.end(), name);
        int e = ipma.end();
        int v = (int) read(b, ipma.start(), 1, ipma.end(), name);
        boolean wide = (read(b, ipma.start() + 3, 1, e, name) & 1) == 1;
        int q = ipma.start() + 4;
        long count = read(b, q, 4, e, name);
        q += 4;
        for (long i = 0; i < count; i++) {
            long iid = read(b, q, v < 1 ? 2 : 4, e, name);
            q += v < 1 ? 2 : 4;
            int n = (int) read(b, q, 1, e, name);
            q += 1;
            for (int a = 0; a < n; a++) {
                int index = (int) (wide ? read(b, q, 2, e, name) & 0x7FFF : read(b, q, 1, e, name) & 0x7F);
                q += wide ? 2 : 1;
                if (iid != id || index < 1 || index > props.size()) {
                    continue;
                }
                Box x = props.get(index - 1);
                int s = x.start();
                switch (x.type()) {
                    case "ispe" -> item.ispe = new long[] {read(b, s + 4, 4, x.end(), name), read(b, s + 8, 4, x.end(), name)};
                    case "colr" -> {
                        if (s + 11 <= x.end() && b[s] == 'n' && b[s + 1] == 'c' && b[s + 2] == 'l' && b[s + 3] == 'x') {
                            item.matrix = (int) read(b, s + 8, 2, x.end(), name);
                            item.fullRange = (b[s + 10] & 0x80) != 0 ? 1 : 0;
                        }
                    }
                    case "irot" -> item.angle = (int) read(b, s, 1, x.end(), name) & 3;
                    case "imir" -> item.axis = (int) read(b, s, 1, x.end(), name) & 1;
                    default -> { }
                }
            }
        }
    }

    private static RgbImage decode(Item item, String name) {
        SystemInfo.requirePreset(SystemInfo.FFMPEG_PRESET, "FFmpeg (decoding AVIF images)");
        av_log_set_level(AV_LOG_QUIET);
        AVCodecContext dec = null;
        AVPacket pkt = null;
        AVFrame frame = null;
        try {
            AVCodec codec = avcodec_find_decoder_by_name("libaom-av1");
            if (codec == null || codec.isNull()) {
                codec = avcodec_find_decoder(AV_CODEC_ID_AV1);
            }
            if (codec == null || codec.isNull()) {
                throw corrupt(name, "no AV1 decoder in this FFmpeg build");
            }
            dec = avcodec_alloc_context3(codec);
            if (dec == null || avcodec_open2(dec, codec, (PointerPointer<?>) null) < 0) {
                throw corrupt(name, "the AV1 decoder does not open");
            }
            pkt = av_packet_alloc();
            frame = av_frame_alloc();
            if (pkt == null || frame == null || av_new_packet(pkt, item.data.length) < 0) {
                throw new OutOfMemoryError("AVIF packet of " + item.data.length + " bytes");
            }
            pkt.data().put(item.data, 0, item.data.length);
            if (avcodec_send_packet(dec, pkt) < 0) {
                throw corrupt(name, "the AV1 decoder refused the picture");
            }
            avcodec_send_packet(dec, null);
            if (avcodec_receive_frame(dec, frame) < 0) {
                throw corrupt(name, "no picture decoded");
            }
            return convert(frame, item, name);
        } finally {
            if (frame != null) {
                av_frame_free(frame);
            }
            if (pkt != null) {
                av_packet_free(pkt);
            }
            if (dec != null) {
                avcodec_free_context(dec);
            }
        }
    }

    private static IllegalArgumentException corrupt(String name, String why) {
        return new IllegalArgumentException("cannot decode image " + name + ": truncated or corrupt AVIF data (" + why
                + ")");
    }

    private static RgbImage convert(AVFrame f, Item item, String name) {
        int w = f.width();
        int h = f.height();
        int format = f.format();
        if (format != AV_PIX_FMT_YUV420P && format != AV_PIX_FMT_YUV422P && format != AV_PIX_FMT_YUV444P
                && format != AV_PIX_FMT_GRAY8) {
            var fmtName = av_get_pix_fmt_name(format);
            throw new IllegalArgumentException("cannot decode image " + name + ": AVIF pictures of "
                    + (fmtName == null ? "format " + format : fmtName.getString())
                    + " are not supported (8-bit 4:2:0, 4:2:2, 4:4:4 or monochrome)");
        }
        if (w <= 0 || h <= 0 || (long) w * h * 3 > Integer.MAX_VALUE - 16) {
            throw corrupt(name, "picture of " + w + "x" + h);
        }
        // libavif converts with the nclx box's matrix and range where the file has one, else the AV1 header's
        boolean full = item.fullRange >= 0 ? item.fullRange == 1 : f.color_range() == AVCOL_RANGE_JPEG;
        byte[] y = plane(f, 0, w, h);
        byte[] rgb = new byte[w * h * 3];
        if (format == AV_PIX_FMT_GRAY8) { // libavif's float path for monochrome
            for (int i = 0; i < w * h; i++) {
                int v = y[i] & 0xFF;
                if (!full) {
                    float t = Math.min(1f, Math.max(0f, ((float) v - 16f) / 219f));
                    v = (int) Math.floor(t * 255f + 0.5f);
                }
                rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (byte) v;
            }
            return new RgbImage(w, h, rgb);
        }
        int[] k = table(item.matrix >= 0 ? item.matrix : f.colorspace(), full, name);
        int cw = format == AV_PIX_FMT_YUV444P ? w : (w + 1) / 2;
        int ch = format == AV_PIX_FMT_YUV420P ? (h + 1) / 2 : h;
        byte[] u = plane(f, 1, cw, ch);
        byte[] v = plane(f, 2, cw, ch);
        for (int row = 0; row < h; row++) {
            for (int x = 0; x < w; x++) {
                int cu;
                int cv;
                if (format == AV_PIX_FMT_YUV444P) {
                    cu = u[row * cw + x] & 0xFF;
                    cv = v[row * cw + x] & 0xFF;
                } else if (format == AV_PIX_FMT_YUV422P) {
                    cu = linear(u, row * cw, cw, x, w);
                    cv = linear(v, row * cw, cw, x, w);
                } else {
                    cu = bilinear(u, cw, ch, x, row, w);
                    cv = bilinear(v, cw, ch, x, row, w);
                }
                pixel(y[row * w + x] & 0xFF, cu, cv, k, rgb, 3 * (row * w + x));
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static int[] table(int colorspace, boolean full, String name) {
        return switch (colorspace) {
            case 1 -> full ? BT709_FULL : BT709_LIMITED;
            case 2, 5, 6 -> full ? BT601_FULL : BT601_LIMITED;
            case 9 -> full ? BT2020_FULL : BT2020_LIMITED;
            default -> throw new IllegalArgumentException("cannot decode image " + name + ": AVIF matrix coefficients "
                    + colorspace + " are not supported (BT.601, BT.709 or BT.2020 non-constant luminance)");
        };
    }

    /** libyuv's {@code YuvPixel}: 6 fractional bits, clamped. */
    private static void pixel(int y, int u, int v, int[] k, byte[] rgb, int o) {
        int y1 = (int) (((long) y * 0x0101 * k[0]) >>> 16) + k[1];
        int ui = u - 128;
        int vi = v - 128;
        rgb[o] = clamp((y1 + vi * k[5]) >> 6);
        rgb[o + 1] = clamp((y1 - (ui * k[3] + vi * k[4])) >> 6);
        rgb[o + 2] = clamp((y1 + ui * k[2]) >> 6);
    }

    private static byte clamp(int v) {
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** 4:2:2 along a row: 3 / 4 of the own chroma sample and 1 / 4 of the nearer neighbour, rounded. */
    private static int linear(byte[] c, int at, int cw, int x, int w) {
        int cx = x / 2;
        int own = c[at + cx] & 0xFF;
        if ((w & 1) == 1 && x == w - 1) {
            return own;
        }
        int nx = Math.min(cw - 1, Math.max(0, cx + ((x & 1) == 0 ? -1 : 1)));
        return (3 * own + (c[at + nx] & 0xFF) + 2) >> 2;
    }

    /** 4:2:0: 9, 3, 3, 1 / 16 of the own, row, column and diagonal neighbours, rounded; see the class comment. */
    private static int bilinear(byte[] c, int cw, int ch, int x, int y, int w) {
        int cx = x / 2;
        int cy = y / 2;
        int nx = (w & 1) == 1 && x == w - 1 ? cx : Math.min(cw - 1, Math.max(0, cx + ((x & 1) == 0 ? -1 : 1)));
        int ny = Math.min(ch - 1, Math.max(0, cy + ((y & 1) == 0 ? -1 : 1)));
        int a = c[cy * cw + cx] & 0xFF;
        int hx = c[cy * cw + nx] & 0xFF;
        int vy = c[ny * cw + cx] & 0xFF;
        int d = c[ny * cw + nx] & 0xFF;
        return (9 * a + 3 * hx + 3 * vy + d + 8) >> 4;
    }

    private static byte[] plane(AVFrame f, int i, int w, int h) {
        byte[] out = new byte[w * h];
        int stride = f.linesize(i);
        var data = f.data(i);
        for (int row = 0; row < h; row++) {
            data.position((long) row * stride).get(out, row * w, w);
        }
        data.position(0);
        return out;
    }
}
