package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera logmel} end to end (FFmpeg decode, downmix, features, .npy) against float64 torch references made
 * by src/test/resources/logmel/make_fixtures.py (max abs error on the final features), audio longer than 30 s, and
 * bad files.
 */
class LogMelCommandTest {
    static final Path DIR = Paths.get("src/test/resources/logmel").toAbsolutePath().normalize();
    static final double TOL = 1e-4;

    static ChatCommandTest.Run run(String... args) {
        return ChatCommandTest.run(null, args);
    }

    static float[] logmel(Path tmp, long[] shape, String... args) throws IOException {
        Path out = tmp.resolve("mel.npy");
        Files.deleteIfExists(out);
        String[] all = new String[args.length + 3];
        all[0] = "logmel";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--out";
        all[args.length + 2] = out.toString();
        ChatCommandTest.Run r = run(all);
        assertEquals(0, r.code(), r.err());
        Npy.Array a = Npy.read(out);
        assertArrayEquals(shape, a.shape(), String.join(" ", args));
        return a.requireFloats();
    }

    static double maxAbs(float[] a, int aCols, float[] ref, int refCols, int rows, int cols) {
        double m = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                double d = Math.abs((double) a[r * aCols + c] - ref[r * refCols + c]);
                assertTrue(!Double.isNaN(d));
                m = Math.max(m, d);
            }
        }
        return m;
    }

    @Test
    void featuresMatchTheTorchReference(@TempDir Path tmp) throws Exception {
        // 401 samples unpadded: 2 frames (n / 160), as Whisper's STFT without its last frame
        float[] odd = logmel(tmp, new long[] {80, 2}, DIR.resolve("odd401.wav").toString(), "--no-pad");
        double e1 = maxAbs(odd, 2, Npy.read(DIR.resolve("odd401_nopad80.npy")).requireFloats(), 2, 80, 2);
        // int16 stereo (channels averaged), padded to 3,000 frames, 128 mels
        float[] st = logmel(tmp, new long[] {128, 3000}, DIR.resolve("stereo.wav").toString(), "--n-mels", "128");
        double e2 = maxAbs(st, 3000, Npy.read(DIR.resolve("stereo_pad128_head.npy")).requireFloats(), 130, 128, 130);
        float[] last = Npy.read(DIR.resolve("stereo_pad128_last.npy")).requireFloats();
        for (int r = 0; r < 128; r++) {
            for (int c = 130; c < 3000; c++) {
                e2 = Math.max(e2, Math.abs((double) st[r * 3000 + c] - last[r]));
            }
        }
        // float32 samples beyond +-1, unpadded, 128 mels
        float[] loud = logmel(tmp, new long[] {128, 50}, DIR.resolve("loud_f32.wav").toString(), "--no-pad", "--n-mels", "128");
        double e3 = maxAbs(loud, 50, Npy.read(DIR.resolve("loud_f32_nopad128.npy")).requireFloats(), 50, 128, 50);
        System.out.printf("logmel CLI vs torch float64: odd401 %.3g, stereo padded %.3g, float32 loud %.3g (max abs)%n", e1, e2, e3);
        assertTrue(e1 <= TOL, "odd401 " + e1);
        assertTrue(e2 <= TOL, "stereo " + e2);
        assertTrue(e3 <= TOL, "loud " + e3);
    }

    @Test
    void audioLongerThan30sIsCutToItsFirst30sUnlessNoPad(@TempDir Path tmp) throws Exception {
        // used to fail ("more than the 480000 samples it is padded to"); Whisper's pad_or_trim and transformers'
        // WhisperFeatureExtractor keep the first 30 s
        int n = 31 * 16_000;
        short[] pcm = new short[n];
        Random rnd = new Random(3);
        for (int i = 0; i < n; i++) {
            double t = i / 16_000.0;
            pcm[i] = (short) Math.round(8000 * Math.sin(2 * Math.PI * 330 * t) * (1 + Math.sin(2 * Math.PI * 0.1 * t))
                    + 500 * rnd.nextGaussian());
        }
        Path wav = tmp.resolve("long.wav");
        writeWav16(wav, pcm);
        Path out = tmp.resolve("mel.npy");
        ChatCommandTest.Run r = run("logmel", wav.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("(496000 samples at 16 kHz); only its first 30 s (480000 samples) are used"), r.err());
        Npy.Array got = Npy.read(out);
        assertArrayEquals(new long[] {80, 3000}, got.shape());
        float[] first = new float[LogMelConfig.WHISPER_SAMPLES];
        for (int i = 0; i < first.length; i++) {
            first[i] = pcm[i] / 32768f;
        }
        float[] ref;
        try (Tensor t = LogMel.compute(first, LogMelConfig.whisper(80), Device.CPU)) {
            ref = t.toFloatArray();
        }
        double e = maxAbs(got.requireFloats(), 3000, ref, 3000, 80, 3000);
        assertTrue(e <= 1e-6, "31 s file vs its first 30 s: max abs " + e);
        // the whole file unpadded: 3,100 frames, the first ones as above except near the cut and the clamp level
        logmel(tmp, new long[] {80, 3100}, wav.toString(), "--no-pad");
    }

    @Test
    void badFilesGiveOneLineErrors(@TempDir Path tmp) throws Exception {
        Path empty = Files.write(tmp.resolve("empty.wav"), new byte[0]);
        Path text = Files.writeString(tmp.resolve("text.wav"), "not audio at all\n".repeat(20));
        String[][] cases = {
            {"logmel", empty.toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", text.toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", tmp.resolve("missing.wav").toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", DIR.resolve("odd401.wav").toString(), "--out", tmp.resolve("a.npy").toString(), "--n-mels", "64"},
            {"logmel", DIR.resolve("odd401.wav").toString(), "--out", tmp.resolve("no-such-dir/a.npy").toString()},
        };
        ChatCommandTest.assertOneLineErrors(cases);
        // an output folder that does not exist says so (used to read "cannot write P: P")
        ChatCommandTest.Run r = run(cases[4]);
        assertTrue(r.err().contains("(no such file or directory)"), r.err());
    }

    static void writeWav16(Path path, short[] pcm) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * pcm.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + 2 * pcm.length).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(16_000).putInt(32_000)
                .putShort((short) 2).putShort((short) 16);
        b.put("data".getBytes()).putInt(2 * pcm.length);
        for (short s : pcm) {
            b.putShort(s);
        }
        Files.write(path, b.array());
    }
}
