package dev.tessera.runtime.audio;

import dev.tessera.runtime.SystemInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Audio from any file FFmpeg reads (WAV, FLAC, MP3, Opus/Ogg, Vorbis, AAC/M4A, and the audio track of video
 * files such as MP4, MKV and WebM) as mono float samples at a chosen rate, through the bytedeco FFmpeg preset:
 * libavformat demuxes, libavcodec decodes, libswresample resamples.
 *
 * <p><b>Downmix.</b> Mono is the <i>mean</i> of the channels, as torchaudio and {@code whisper.load_audio} (16-bit
 * output, where swresample normalises its mix) do for stereo. (swresample's mono mix for float output adds the
 * channels with weight 0.707, +3 dB on a duplicated-channel signal, so it is not used: we resample
 * every channel and average them, which is the same as resampling their mean because resampling is linear.)
 *
 * <p><b>Length.</b> The resampler is drained at the end as the {@code ffmpeg} program drains it: a file gives
 * the samples {@code ffmpeg -i FILE -ar RATE} writes (and so {@code whisper.load_audio} reads), about
 * {@code n · rate / r}, rounded by the resampler's phase.
 *
 * <p><b>Format changes.</b> Where the decoded sample format, rate or channel count changes mid-stream (MP3s
 * at different rates concatenated, say) the resampler is drained and rebuilt for the new format, each part
 * drained as above; {@link AudioStream#formatChanges()} counts the changes (logged at INFO).
 *
 * <p><b>Streams.</b> {@link #open(InputStream, int)} hands the bytes to FFmpeg through a read callback as they
 * are decoded (no temporary file, no seeking), except for an MP4/MOV whose index follows its media data, which
 * is spooled to a temporary file. It decodes to the same samples as the file would.
 *
 * <p><b>Damaged input.</b> A missing, empty or unreadable file, a file with no audio stream, or a file that
 * yields no decodable audio at all is an {@link IOException} naming the file. Packets that fail to decode in
 * an otherwise readable file (a truncated MP3, say) are skipped and counted; the count is logged once as a
 * warning and available from {@link AudioStream#corruptPackets()}. An exception thrown by an InputStream is an
 * IOException with it as the cause.
 *
 * <p>For long files use {@link #open}: {@link AudioStream} decodes as it is read, in bounded memory.
 */
public final class AudioDecoder {
    /** The default cap of {@link #decode(Path, int)}: two hours (longer files should be streamed). */
    public static final double DEFAULT_MAX_SECONDS = 2 * 3600;

    /** How {@link IOException} messages name an InputStream source. */
    static final String STREAM_NAME = "<input stream>";
    /** Bytes read ahead from an InputStream to recognise an MP4 that needs seeking. */
    static final int PEEK_BYTES = 64 * 1024;
    /** The largest ID3v2 tag read past to find an MP3's LAME header in a stream. */
    static final int MAX_ID3_PEEK = 16 << 20;
    private static final Logger LOG = LoggerFactory.getLogger(AudioDecoder.class);

    private AudioDecoder() {}

    private static final int MAX_RATE = 384_000;

    /** Here, not in {@link AudioStream}, whose class initialisation loads FFmpeg. */
    static void checkRate(int sampleRate) {
        if (sampleRate < 1000 || sampleRate > MAX_RATE) {
            throw new IllegalArgumentException("sample rate must be within 1000.." + MAX_RATE + " Hz, got " + sampleRate);
        }
    }

    /** An {@link IllegalStateException} saying why, where FFmpeg's natives cannot load, before any native call. */
    private static void requireFfmpeg() {
        SystemInfo.requirePreset(SystemInfo.FFMPEG_PRESET, "FFmpeg (audio decoding)");
    }

    /** All of {@code file} as mono float samples at {@code sampleRate} Hz (at most two hours). */
    public static float[] decode(Path file, int sampleRate) throws IOException {
        return decode(file, sampleRate, DEFAULT_MAX_SECONDS);
    }

    /**
     * All of {@code file} as mono float samples at {@code sampleRate} Hz; refuses files longer than
     * {@code maxSeconds} (by the header's duration, and again while decoding) so that one array cannot exhaust
     * the heap: stream those with {@link #open}.
     */
    public static float[] decode(Path file, int sampleRate, double maxSeconds) throws IOException {
        checkRate(sampleRate);
        checkMaxSeconds(maxSeconds);
        try (AudioStream s = open(file, sampleRate)) {
            return readAll(s, file.toString(), sampleRate, maxSeconds);
        }
    }

    /**
     * All the audio {@code in} delivers (read as by {@link #open(InputStream, int)}; not closed) as mono float
     * samples at {@code sampleRate} Hz, at most two hours.
     */
    public static float[] decode(InputStream in, int sampleRate) throws IOException {
        try (AudioStream s = open(in, sampleRate)) {
            return readAll(s, STREAM_NAME, sampleRate, DEFAULT_MAX_SECONDS);
        }
    }

    private static void checkMaxSeconds(double maxSeconds) {
        if (!(maxSeconds > 0)) {
            throw new IllegalArgumentException("maxSeconds must be positive, got " + maxSeconds);
        }
    }

    private static float[] readAll(AudioStream s, String name, int sampleRate, double maxSeconds) throws IOException {
        double dur = s.info().durationSeconds();
        if (dur > maxSeconds) {
            throw new IOException(name + ": " + String.format("%.1f", dur) + " s of audio is more than the "
                    + maxSeconds + " s decode() reads into one array; use AudioDecoder.open() to stream it");
        }
        long cap = (long) Math.ceil(maxSeconds * sampleRate) + 1;
        float[] out = new float[(int) Math.min(Integer.MAX_VALUE - 16,
                Double.isNaN(dur) ? sampleRate * 10L : (long) (dur * sampleRate) + sampleRate)];
        int n = 0;
        while (true) {
            if (n == out.length) {
                if (n >= cap) {
                    throw new IOException(name + ": more than " + maxSeconds
                            + " s of audio; use AudioDecoder.open() to stream it");
                }
                out = Arrays.copyOf(out, (int) Math.min(Integer.MAX_VALUE - 16, Math.max(16L, 2L * n)));
            }
            int r = s.read(out, n, out.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        if (n > cap) {
            throw new IOException(name + ": more than " + maxSeconds + " s of audio; use AudioDecoder.open()");
        }
        return Arrays.copyOf(out, n);
    }

    /** Opens {@code file} for streaming decode to mono at {@code sampleRate} Hz. */
    public static AudioStream open(Path file, int sampleRate) throws IOException {
        checkRate(sampleRate);
        if (file == null) {
            throw new IllegalArgumentException("file must not be null");
        }
        requireFfmpeg();
        return new AudioStream(file, sampleRate, null);
    }

    /**
     * Opens audio read from {@code in} (which this method consumes as the returned stream is read, and does not
     * close). The bytes go to FFmpeg through a read callback as they are decoded, without a temporary file and
     * without seeking, so any length streams in bounded memory. The one exception is an MP4/MOV/M4A/3GP file
     * whose index ({@code moov} box) comes after its media data ({@code mdat}): it cannot be demuxed without
     * seeking back, so it is spooled to a temporary file first (logged at INFO; deleted on close). The samples
     * equal those of the same bytes decoded from a file; for an MP3 that includes trimming the encoder padding
     * named in its LAME header, which FFmpeg does only for inputs of known size. An exception thrown by
     * {@code in} surfaces as an {@link IOException} (with it as the cause) from this method or from
     * {@link AudioStream#read}.
     */
    public static AudioStream open(InputStream in, int sampleRate) throws IOException {
        if (in == null) {
            throw new IllegalArgumentException("input stream must not be null");
        }
        checkRate(sampleRate);
        requireFfmpeg();
        byte[] head;
        try {
            head = in.readNBytes(PEEK_BYTES);
            int id3 = LameTag.id3v2Size(head);
            if (id3 + 4096 > head.length && head.length == PEEK_BYTES && id3 < MAX_ID3_PEEK) {
                // an MP3 whose ID3 tag (cover art) hides the first frame: read on to its LAME header
                byte[] more = in.readNBytes(id3 + 4096 - head.length);
                head = Arrays.copyOf(head, head.length + more.length);
                System.arraycopy(more, 0, head, head.length - more.length, more.length);
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(STREAM_NAME + ": reading the input stream failed: " + e, e);
        }
        if (head.length == 0) {
            throw new IOException(STREAM_NAME + ": empty stream (0 bytes)");
        }
        if (IsoBoxes.heifImage(head)) {
            throw new IOException(STREAM_NAME + ": " + IsoBoxes.IMAGE_REFUSAL);
        }
        InputStream all = new PrefixedInputStream(head, in);
        if (!IsoBoxes.streamable(head)) {
            LOG.info("{}: an MP4/MOV file whose index (moov) follows its media data needs seeking; "
                    + "spooling it to a temporary file", STREAM_NAME);
            Path tmp = Files.createTempFile("tessera-audio-", ".mp4");
            try {
                try {
                    Files.copy(all, tmp, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException | RuntimeException e) {
                    throw new IOException(STREAM_NAME + ": reading the input stream failed: " + e, e);
                }
                return new AudioStream(tmp, sampleRate, tmp);
            } catch (IOException | RuntimeException | Error e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
        }
        return new AudioStream(all, head, STREAM_NAME, sampleRate);
    }

    /** The container, codec, channels, rate and duration of {@code file}'s best audio stream. */
    public static AudioInfo probe(Path file) throws IOException {
        if (file == null) {
            throw new IllegalArgumentException("file must not be null");
        }
        requireFfmpeg();
        try (AudioStream s = new AudioStream(file, 0, null)) {
            return s.info();
        }
    }
}

/** {@code head}'s bytes, then the rest of {@code rest}; closing it does not close {@code rest}. */
final class PrefixedInputStream extends InputStream {
    private final byte[] head;
    private int pos;
    private final InputStream rest;

    PrefixedInputStream(byte[] head, InputStream rest) {
        this.head = head;
        this.rest = rest;
    }

    @Override
    public int read() throws IOException {
        return pos < head.length ? head[pos++] & 0xff : rest.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (pos < head.length) {
            int n = Math.min(len, head.length - pos);
            System.arraycopy(head, pos, b, off, n);
            pos += n;
            return n;
        }
        return rest.read(b, off, len);
    }
}

/** The top-level box layout of an ISO base media file (MP4, MOV, M4A, 3GP), read from its first bytes. */
final class IsoBoxes {
    private IsoBoxes() {}

    /**
     * False when {@code head} starts like an ISO media file whose {@code mdat} comes before its {@code moov}
     * (or whose {@code moov} is not found in {@code head}): such a file can only be demuxed with seeking.
     * True for every other input, which FFmpeg reads forward only.
     */
    static boolean streamable(byte[] head) {
        if (head.length < 8 || !isBoxType(head, 4)) {
            return true;
        }
        String first = new String(head, 4, 4, StandardCharsets.ISO_8859_1);
        if (!first.equals("ftyp") && !first.equals("moov") && !first.equals("mdat") && !first.equals("free")
                && !first.equals("skip") && !first.equals("wide")) {
            return true; // not an ISO media file
        }
        for (Box box : topLevel(head)) {
            if (box.type().equals("moov")) {
                return true;
            }
            if (box.type().equals("mdat") || !box.sound()) {
                return false; // box to the end of the file (size 0) or damaged: let FFmpeg see the whole file
            }
        }
        return false; // moov not within the first bytes: spool rather than risk a failed seek
    }

    static final String IMAGE_REFUSAL = "a HEIF / AVIF image, not audio (refused before FFmpeg, whose HEIF reader"
            + " crashes on damaged images)";

    /** The brands of HEIF / AVIF still images (and image sequences), which hold no audio. */
    private static final java.util.Set<String> IMAGE_BRANDS = java.util.Set.of("avif", "avis", "heic", "heix", "heim",
            "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "mif2", "msf1", "miaf");

    /**
     * True when {@code head} starts like a HEIF / AVIF image: an ISO file whose {@code ftyp} names an image brand, or
     * with a top-level {@code meta} box that holds image items ({@code pitm}, {@code iinf} or {@code iloc}). Such
     * files are refused before FFmpeg sees them: FFmpeg 8's HEIF item reader crashes the process on damaged ones
     * (found by fuzzing AVIF files through the decoder), and there is no audio in them.
     */
    static boolean heifImage(byte[] head) {
        if (head.length < 16 || !isBoxType(head, 4)) {
            return false;
        }
        for (Box box : topLevel(head)) {
            long pos = box.start();
            long end = Math.min(box.end(), head.length);
            if (!isBoxType(head, (int) pos + 4)) {
                return false;
            }
            if (box.type().equals("ftyp")) {
                for (long p = pos + 8; p + 4 <= end; p += 4) {
                    if (p != pos + 12 && IMAGE_BRANDS.contains(new String(head, (int) p, 4, StandardCharsets.ISO_8859_1))) {
                        return true;
                    }
                }
            } else if (box.type().equals("meta")) {
                for (long p = pos + 12; p + 8 <= end; p++) {
                    String t = new String(head, (int) p, 4, StandardCharsets.ISO_8859_1);
                    if (t.equals("pitm") || t.equals("iinf") || t.equals("iloc")) {
                        return true;
                    }
                }
            }
            if (!box.sound()) {
                return false;
            }
        }
        return false;
    }

    /**
     * A top-level box that starts in the first bytes of a file: its type, start and end (which may lie past those
     * bytes); not {@code sound} when its size runs to the end of the file (0) or is malformed (below 8, or a 64-bit
     * size cut short), in which case it ends the walk (a malformed box ends where it starts).
     */
    private record Box(String type, long start, long end, boolean sound) {}

    /** The top-level boxes starting within {@code head}, in order, up to and including the first unsound one. */
    private static java.util.List<Box> topLevel(byte[] head) {
        java.util.List<Box> out = new java.util.ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.BIG_ENDIAN);
        long pos = 0;
        while (pos + 8 <= head.length) {
            long size = b.getInt((int) pos) & 0xffffffffL;
            String type = new String(head, (int) pos + 4, 4, StandardCharsets.ISO_8859_1);
            if (size == 1) {
                size = pos + 16 > head.length ? 1 : b.getLong((int) pos + 8);
            }
            if (size == 0 || size < 8) {
                out.add(new Box(type, pos, size == 0 ? head.length : pos, false));
                break;
            }
            out.add(new Box(type, pos, pos + size, true));
            pos += size;
        }
        return out;
    }

    private static boolean isBoxType(byte[] h, int off) {
        for (int i = off; i < off + 4; i++) {
            int c = h[i] & 0xff;
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
