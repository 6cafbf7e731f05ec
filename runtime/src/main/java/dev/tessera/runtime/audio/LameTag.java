package dev.tessera.runtime.audio;

import java.nio.charset.StandardCharsets;

/**
 * The gapless-playback fields of an MP3's Xing/Info + LAME header (the first frame): how many frames the
 * encoder wrote, the encoder delay at the start and the padding at the end. FFmpeg applies both when it reads a
 * file, but drops the end trim when it cannot learn the input's size (a stream), so {@link AudioStream} trims
 * a streamed MP3 itself to decode it exactly as the file.
 *
 * @param frames audio frames after the header frame
 * @param samplesPerFrame 1152 (MPEG-1) or 576 (MPEG-2/2.5)
 * @param startPad encoder delay in samples
 * @param endPad padding after the audio in samples
 */
record LameTag(long frames, int samplesPerFrame, int startPad, int endPad) {
    /** libavcodec's MP3 decoder delay, which FFmpeg adds to both pads. */
    static final int DECODER_DELAY = 528 + 1;

    /** Samples FFmpeg delivers for the whole file once the start is skipped but the end is not trimmed. */
    long untrimmedSamples() {
        return frames * samplesPerFrame - startPad - DECODER_DELAY;
    }

    /** Samples to drop at the end of exactly such a stream. */
    int endTrim() {
        return Math.max(0, endPad - DECODER_DELAY);
    }

    /**
     * Bytes of the ID3v2 tags at the start of {@code head} (0 when there is none; consecutive tags are summed,
     * as FFmpeg skips them all). A tag that extends past {@code head} ends the count.
     */
    static int id3v2Size(byte[] head) {
        int p = 0;
        while (p + 10 <= head.length && head[p] == 'I' && head[p + 1] == 'D' && head[p + 2] == '3') {
            int size = ((head[p + 6] & 0x7f) << 21) | ((head[p + 7] & 0x7f) << 14) | ((head[p + 8] & 0x7f) << 7)
                    | (head[p + 9] & 0x7f);
            p += 10 + size + ((head[p + 5] & 0x10) != 0 ? 10 : 0);
        }
        return p;
    }

    /** The tag in the first frame of {@code head}, or null when there is none (or it lies beyond head). */
    static LameTag parse(byte[] head) {
        int p = id3v2Size(head);
        if (p + 4 > head.length) {
            return null;
        }
        int h = be32(head, p);
        int version = (h >>> 19) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        int layer = (h >>> 17) & 3; // 1: layer III
        if ((h >>> 21) != 0x7ff || version == 1 || layer != 1) {
            return null;
        }
        boolean mpeg1 = version == 3;
        boolean mono = ((h >>> 6) & 3) == 3;
        int x = p + 4 + (mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17));
        if (x + 8 > head.length) {
            return null;
        }
        String id = new String(head, x, 4, StandardCharsets.ISO_8859_1);
        if (!id.equals("Xing") && !id.equals("Info")) {
            return null;
        }
        int flags = be32(head, x + 4);
        int q = x + 8;
        if ((flags & 1) == 0 || q + 4 > head.length) {
            return null; // no frame count
        }
        long frames = be32(head, q) & 0xffffffffL;
        q += 4;
        q += (flags & 2) != 0 ? 4 : 0; // byte count
        q += (flags & 4) != 0 ? 100 : 0; // seek table
        q += (flags & 8) != 0 ? 4 : 0; // quality
        if (q + 24 > head.length) {
            return null;
        }
        String encoder = new String(head, q, 4, StandardCharsets.ISO_8859_1);
        if (!encoder.equals("LAME") && !encoder.equals("Lavf") && !encoder.equals("Lavc")) {
            return null;
        }
        int d = ((head[q + 21] & 0xff) << 16) | ((head[q + 22] & 0xff) << 8) | (head[q + 23] & 0xff);
        return new LameTag(frames, mpeg1 ? 1152 : 576, d >>> 12, d & 0xfff);
    }

    private static int be32(byte[] b, int i) {
        return ((b[i] & 0xff) << 24) | ((b[i + 1] & 0xff) << 16) | ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
    }
}
