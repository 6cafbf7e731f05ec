package dev.tessera.runtime.audio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * Audio from any file FFmpeg reads (WAV, FLAC, MP3, Opus/Ogg, Vorbis, AAC/M4A, and the audio track of video
 * files such as MP4, MKV and WebM) as mono float samples at a chosen rate, through the bytedeco FFmpeg preset:
 * libavformat demuxes, libavcodec decodes, libswresample resamples.
 *
 * <p><b>Downmix.</b> Mono is the <i>mean</i> of the channels, as torchaudio/Whisper do. (swresample's own mono
 * mix adds the channels with weight 0.707, +3 dB on a duplicated-channel signal, so it is not used: we resample
 * every channel and average them, which is the same as resampling their mean because resampling is linear.)
 *
 * <p><b>Length.</b> A file of {@code n} samples at {@code r} Hz gives exactly {@code round(n · rate / r)}
 * samples (half up): the resampler is flushed at the end, then its output is trimmed or zero-padded by the
 * sample or two its filter delay leaves over.
 *
 * <p><b>Damaged input.</b> A missing, empty or unreadable file, a file with no audio stream, or a file that
 * yields no decodable audio at all is an {@link IOException} naming the file. Packets that fail to decode in
 * an otherwise readable file (a truncated MP3, say) are skipped and counted; the count is logged once as a
 * warning and available from {@link AudioStream#corruptPackets()}.
 *
 * <p>For long files use {@link #open}: {@link AudioStream} decodes as it is read, in bounded memory.
 */
public final class AudioDecoder {
    /** The default cap of {@link #decode(Path, int)}: two hours (longer files should be streamed). */
    public static final double DEFAULT_MAX_SECONDS = 2 * 3600;

    private AudioDecoder() {}

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
        AudioStream.checkRate(sampleRate);
        if (!(maxSeconds > 0)) {
            throw new IllegalArgumentException("maxSeconds must be positive, got " + maxSeconds);
        }
        try (AudioStream s = open(file, sampleRate)) {
            double dur = s.info().durationSeconds();
            if (dur > maxSeconds) {
                throw new IOException(file + ": " + String.format("%.1f", dur) + " s of audio is more than the "
                        + maxSeconds + " s decode() reads into one array; use AudioDecoder.open() to stream it");
            }
            long cap = (long) Math.ceil(maxSeconds * sampleRate) + 1;
            float[] out = new float[(int) Math.min(Integer.MAX_VALUE - 16,
                    Double.isNaN(dur) ? sampleRate * 10L : (long) (dur * sampleRate) + sampleRate)];
            int n = 0;
            while (true) {
                if (n == out.length) {
                    if (n >= cap) {
                        throw new IOException(file + ": more than " + maxSeconds
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
                throw new IOException(file + ": more than " + maxSeconds + " s of audio; use AudioDecoder.open()");
            }
            return Arrays.copyOf(out, n);
        }
    }

    /** Opens {@code file} for streaming decode to mono at {@code sampleRate} Hz. */
    public static AudioStream open(Path file, int sampleRate) throws IOException {
        AudioStream.checkRate(sampleRate);
        return new AudioStream(file, sampleRate, null);
    }

    /**
     * Opens audio read from {@code in} (which this method consumes and does not close). The bytes are spooled to
     * a temporary file first (many containers need to seek); it is deleted when the stream is closed.
     */
    public static AudioStream open(InputStream in, int sampleRate) throws IOException {
        if (in == null) {
            throw new IllegalArgumentException("input stream must not be null");
        }
        AudioStream.checkRate(sampleRate);
        Path tmp = Files.createTempFile("tessera-audio-", ".bin");
        try {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return new AudioStream(tmp, sampleRate, tmp);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** The container, codec, channels, rate and duration of {@code file}'s best audio stream. */
    public static AudioInfo probe(Path file) throws IOException {
        try (AudioStream s = new AudioStream(file, 0, null)) {
            return s.info();
        }
    }
}
