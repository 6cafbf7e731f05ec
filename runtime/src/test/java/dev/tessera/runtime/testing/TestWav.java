package dev.tessera.runtime.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes test audio as the plainest WAV file there is: mono, 16 kHz, 16-bit PCM. */
public final class TestWav {
    private TestWav() {}

    /** {@code samples} (clamped to [-1, 1], scaled by 32767 and rounded) as a mono 16 kHz 16-bit WAV; returns the file. */
    public static Path write16k(Path file, float[] samples) throws IOException {
        int n = samples.length;
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + 2 * n)
                .put("WAVEfmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(16_000).putInt(32_000).putShort((short) 2).putShort((short) 16)
                .put("data".getBytes(StandardCharsets.US_ASCII)).putInt(2 * n);
        for (float v : samples) {
            b.putShort((short) Math.round(Math.max(-1, Math.min(1, v)) * 32767));
        }
        return Files.write(file, b.array());
    }
}
