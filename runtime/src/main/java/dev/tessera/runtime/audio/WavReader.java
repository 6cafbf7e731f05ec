package dev.tessera.runtime.audio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads RIFF/WAVE files: PCM 8-, 16-, 24- and 32-bit integer and IEEE float32 (also inside
 * WAVE_FORMAT_EXTENSIBLE), any channel count, mixed down to mono by averaging the channels. Integer
 * samples are scaled to [-1, 1) ({@code s / 2^(bits-1)}), as torchaudio and soundfile do.
 *
 * <p>Malformed files (no RIFF/WAVE header, missing or short fmt / data chunks, unsupported encodings),
 * empty audio and NaN or infinite float samples are rejected with an {@link IOException} that names the
 * file and the problem. {@link #readMono(Path, int)} also insists on a sample rate (no resampling here:
 * {@link AudioDecoder} resamples, through FFmpeg).
 */
public final class WavReader {
    private WavReader() {}

    /** Mono samples and the file's sample rate / channel count. */
    public record Audio(float[] samples, int sampleRate, int channels) {
        public double seconds() {
            return samples.length / (double) sampleRate;
        }
    }

    private static final int FORMAT_PCM = 1;
    private static final int FORMAT_FLOAT = 3;
    private static final int FORMAT_EXTENSIBLE = 0xFFFE;

    /** Reads a WAV file and requires {@code sampleRate} (e.g. 16,000 for Whisper). */
    public static Audio readMono(Path path, int sampleRate) throws IOException {
        Audio a = read(path);
        if (a.sampleRate() != sampleRate) {
            throw new IOException(path + ": sample rate is " + a.sampleRate() + " Hz, expected " + sampleRate
                    + " Hz (WavReader does not resample; AudioDecoder, through FFmpeg, does)");
        }
        return a;
    }

    public static Audio read(Path path) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new IOException(path + ": no such file", e);
        }
        return read(bytes, path.toString());
    }

    /** Parses a whole WAV file held in {@code bytes}; {@code name} is used in messages. */
    public static Audio read(byte[] bytes, String name) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 12 || b.getInt(0) != 0x46464952 /* RIFF */ || b.getInt(8) != 0x45564157 /* WAVE */) {
            throw new IOException(name + ": not a RIFF/WAVE file");
        }
        int format = -1, channels = 0, rate = 0, blockAlign = 0, bits = 0;
        int dataOff = -1;
        long dataLen = 0;
        int pos = 12;
        while (pos + 8 <= bytes.length) {
            int id = b.getInt(pos);
            long len = b.getInt(pos + 4) & 0xffffffffL;
            int body = pos + 8;
            if (id == 0x20746d66) { // "fmt "
                if (len < 16 || body + 16 > bytes.length) {
                    throw new IOException(name + ": fmt chunk too short (" + len + " bytes)");
                }
                format = b.getShort(body) & 0xffff;
                channels = b.getShort(body + 2) & 0xffff;
                rate = b.getInt(body + 4);
                blockAlign = b.getShort(body + 12) & 0xffff;
                bits = b.getShort(body + 14) & 0xffff;
                if (format == FORMAT_EXTENSIBLE) {
                    if (len < 40 || body + 26 > bytes.length) {
                        throw new IOException(name + ": WAVE_FORMAT_EXTENSIBLE fmt chunk too short (" + len + " bytes)");
                    }
                    format = b.getShort(body + 24) & 0xffff; // first two bytes of the sub-format GUID
                }
            } else if (id == 0x61746164) { // "data"
                dataOff = body;
                dataLen = Math.min(len, bytes.length - (long) body); // tolerate a header longer than the file
                break;
            }
            long next = body + len + (len & 1);
            if (next + 8 > bytes.length) {
                break;
            }
            pos = (int) next;
        }
        if (format < 0) throw new IOException(name + ": no fmt chunk before the data");
        if (dataOff < 0) throw new IOException(name + ": no data chunk");
        if (channels < 1) throw new IOException(name + ": channel count is " + channels);
        if (rate <= 0) throw new IOException(name + ": sample rate is " + rate);
        boolean isFloat = format == FORMAT_FLOAT;
        if (!(format == FORMAT_PCM && (bits == 8 || bits == 16 || bits == 24 || bits == 32))
                && !(isFloat && bits == 32)) {
            throw new IOException(name + ": unsupported encoding (format tag " + format + ", " + bits
                    + " bits); supported: PCM 8/16/24/32-bit and float32");
        }
        int bytesPer = bits / 8;
        if (blockAlign != bytesPer * channels) {
            throw new IOException(name + ": block align " + blockAlign + " does not match " + channels + " channels of "
                    + bits + " bits");
        }
        long frames = dataLen / blockAlign;
        if (frames == 0) throw new IOException(name + ": the audio is empty (0 samples)");
        if (frames > Integer.MAX_VALUE - 8) throw new IOException(name + ": too long (" + frames + " frames)");
        float[] out = new float[(int) frames];
        double scale = isFloat ? 1.0 : 1.0 / (1L << (bits - 1));
        int p = dataOff;
        for (int i = 0; i < frames; i++) {
            double sum = 0;
            for (int c = 0; c < channels; c++, p += bytesPer) {
                double v;
                switch (bits) {
                    case 8 -> v = (bytes[p] & 0xff) - 128;
                    case 16 -> v = b.getShort(p);
                    case 24 -> v = (bytes[p] & 0xff) | ((bytes[p + 1] & 0xff) << 8) | (bytes[p + 2] << 16);
                    default -> {
                        if (isFloat) {
                            float f = b.getFloat(p);
                            if (Float.isNaN(f) || Float.isInfinite(f)) {
                                throw new IOException(name + ": sample " + i + " of channel " + c + " is " + f);
                            }
                            v = f;
                        } else {
                            v = b.getInt(p);
                        }
                    }
                }
                sum += v;
            }
            out[i] = (float) (sum * scale / channels);
        }
        return new Audio(out, rate, channels);
    }
}
