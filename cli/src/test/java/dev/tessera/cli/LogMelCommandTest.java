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
        assertTrue(r.err().contains("is 31.00 s long; only its first 30 s (480000 samples at 16 kHz) are used"), r.err());
        Npy.Array got = Npy.read(out);
        assertArrayEquals(new long[] {80, 3000}, got.shape());
        float[] first = new float[LogMelConfig.WHISPER_SAMPLES];
        for (int i = 0; i < first.length; i++) {
            first[i] = pcm[i] / 32768f;
        }
        float[] ref;
        LogMelConfig cfg = LogMelConfig.whisper(80)
                .withFilterbankArithmetic(LogMelConfig.FilterbankArithmetic.TORCHAUDIO_FLOAT32); // the CLI's default
        try (Tensor t = LogMel.compute(first, cfg, Device.CPU)) {
            ref = t.toFloatArray();
        }
        double e = maxAbs(got.requireFloats(), 3000, ref, 3000, 80, 3000);
        assertTrue(e <= 1e-6, "31 s file vs its first 30 s: max abs " + e);
        // the whole file unpadded: 3,100 frames, the first ones as above except near the cut and the clamp level
        logmel(tmp, new long[] {80, 3100}, wav.toString(), "--no-pad");
    }

    /**
     * A 3,400 Hz tone with 128 mels: the one bin of the tone sits where band 94's triangle starts, with a weight of
     * ~1e-5 that torchaudio's float32 melscale_fbanks gets 2e-7 away from the float64 (Whisper mel_filters.npz)
     * value. The features used to follow the float64 weights and were 1.2e-3 away from torchaudio's
     * MelSpectrogram, the contract's reference; the reference here is a float64 DFT in this test times torchaudio's
     * own filterbank (runtime/src/test/resources/logmel/make_torchaudio_fbanks.py).
     */
    @Test
    void tonalAudioMatchesTorchaudiosFloat32Filterbank(@TempDir Path tmp) throws Exception {
        int n = 8000;
        short[] pcm = new short[n];
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            pcm[i] = (short) Math.round(16384 * Math.sin(2 * Math.PI * 3400 * i / 16_000.0));
            x[i] = pcm[i] / 32768.0;
        }
        Path wav = tmp.resolve("tone3400.wav");
        writeWav16(wav, pcm);
        float[] fb = Npy.read(Paths.get("../runtime/src/test/resources/logmel/torchaudio_fbanks_128.npy")
                .toAbsolutePath().normalize()).requireFloats();
        int frames = n / 160;
        double[] ref = whisperFinish(melPower(x, frames, fb, 128), 128, frames);
        double e = maxAbs(logmel(tmp, new long[] {128, frames}, wav.toString(), "--no-pad", "--n-mels", "128"),
                toFloats(ref), 128, frames);
        double w = maxAbs(logmel(tmp, new long[] {128, frames}, wav.toString(), "--no-pad", "--n-mels", "128",
                "--mel-filters", "whisper"), toFloats(ref), 128, frames);
        System.out.printf("logmel 3400 Hz tone, 128 mels vs torchaudio's filterbank: %.3g (--mel-filters whisper: %.3g)%n",
                e, w);
        assertTrue(e <= TOL, "default (torchaudio) filterbank: " + e);
        assertTrue(w > TOL, "the whisper filterbank should differ here, or this test shows nothing: " + w);
    }

    static double maxAbs(float[] a, float[] ref, int rows, int cols) {
        return maxAbs(a, cols, ref, cols, rows, cols);
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** Mel power [nMels, frames] in double: centred frames with reflect padding, periodic Hann 400, DFT, hop 160. */
    static double[] melPower(double[] x, int frames, float[] fb, int nMels) {
        int nFft = 400;
        int bins = 201;
        double[] out = new double[nMels * frames];
        double[] re = new double[bins];
        double[] im = new double[bins];
        double[] seg = new double[nFft];
        for (int t = 0; t < frames; t++) {
            for (int j = 0; j < nFft; j++) {
                int i = t * 160 - nFft / 2 + j;
                i = i < 0 ? -i : i >= x.length ? 2 * (x.length - 1) - i : i;
                seg[j] = x[i] * (0.5 - 0.5 * Math.cos(2 * Math.PI * j / nFft));
            }
            for (int k = 0; k < bins; k++) {
                double sr = 0;
                double si = 0;
                for (int j = 0; j < nFft; j++) {
                    double a = 2 * Math.PI * ((long) k * j % nFft) / nFft;
                    sr += seg[j] * Math.cos(a);
                    si -= seg[j] * Math.sin(a);
                }
                re[k] = sr;
                im[k] = si;
            }
            for (int m = 0; m < nMels; m++) {
                double s = 0;
                for (int k = 0; k < bins; k++) {
                    s += fb[m * bins + k] * (re[k] * re[k] + im[k] * im[k]);
                }
                out[m * frames + t] = s;
            }
        }
        return out;
    }

    /** log10(max(x, 1e-10)), clamp to max - 8, (x + 4) / 4, in double. */
    static double[] whisperFinish(double[] mel, int rows, int cols) {
        double[] l = new double[mel.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < mel.length; i++) {
            l[i] = Math.log10(Math.max(mel[i], 1e-10));
            max = Math.max(max, l[i]);
        }
        for (int i = 0; i < l.length; i++) {
            l[i] = (Math.max(l[i], max - 8) + 4) / 4;
        }
        return l;
    }

    /**
     * More than 2 hours without --no-pad: only the first 30 s are read (this used to fail with "9000.0 s of audio is
     * more than the 7200.0 s decode() reads into one array; use AudioDecoder.open() to stream it"), and the features
     * equal those of a 31 s file with the same first 31 s; with --no-pad, one line saying the 2 h limit.
     */
    @Test
    void audioLongerThanTwoHoursUsesItsFirst30s(@TempDir Path tmp) throws Exception {
        int rate = 1000; // 8-bit mono at 1 kHz keeps 2 h 2 min at 7.3 MB
        int n = 7320 * rate;
        byte[] all = new byte[n];
        Random rnd = new Random(5);
        for (int i = 0; i < n; i++) {
            double v = 0.4 * Math.sin(2 * Math.PI * 130 * i / (double) rate) * (1 + 0.5 * Math.sin(i / 700.0))
                    + 0.05 * rnd.nextGaussian();
            all[i] = (byte) Math.max(0, Math.min(255, Math.round(128 + 127 * v)));
        }
        Path longWav = tmp.resolve("long.wav");
        Path shortWav = tmp.resolve("first31s.wav");
        writeWavU8(longWav, all, rate);
        writeWavU8(shortWav, java.util.Arrays.copyOf(all, 31 * rate), rate);
        Path outLong = tmp.resolve("long.npy");
        ChatCommandTest.Run r = run("logmel", longWav.toString(), "--out", outLong.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("is 7320.00 s long; only its first 30 s"), r.err());
        float[] got = Npy.read(outLong).requireFloats();
        float[] ref = logmel(tmp, new long[] {80, 3000}, shortWav.toString());
        double e = maxAbs(got, ref, 80, 3000);
        assertTrue(e <= 1e-6, "2 h file vs its first 31 s: " + e);
        ChatCommandTest.assertOneLineErrors(new String[][] {
            {"logmel", longWav.toString(), "--no-pad", "--out", tmp.resolve("x.npy").toString()}});
        r = run("logmel", longWav.toString(), "--no-pad", "--out", tmp.resolve("x.npy").toString());
        assertTrue(r.err().contains("--no-pad reads at most 7200 s (2 h)"), r.err());
    }

    static void writeWavU8(Path path, byte[] pcm, int rate) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(44 + pcm.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + pcm.length).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate)
                .putShort((short) 1).putShort((short) 8);
        b.put("data".getBytes()).putInt(pcm.length).put(pcm);
        Files.write(path, b.array());
    }

    /**
     * Where FFmpeg cannot load (natives missing for the platform, the jar left out as in the GPU bundle), a WAV at
     * 16 kHz is still read, by WavReader, with the same features bit for bit (padded and not, stereo and mono, int16
     * and float32); another format, or another rate, is refused in one line saying why.
     */
    @Test
    void withoutFfmpegA16kHzWavGivesTheSameFeatures(@TempDir Path tmp) throws Exception {
        String[][] cases = {{"stereo.wav", "--n-mels", "128"}, {"odd401.wav", "--no-pad"}, {"loud_f32.wav", "--no-pad",
            "--n-mels", "128"}};
        long[][] shapes = {{128, 3000}, {80, 2}, {128, 50}};
        for (int i = 0; i < cases.length; i++) {
            String[] args = cases[i].clone();
            args[0] = DIR.resolve(args[0]).toString();
            float[] with = logmel(tmp, shapes[i], args);
            float[] without;
            System.setProperty("tessera.audio.noFfmpeg", "true");
            try {
                without = logmel(tmp, shapes[i], args);
            } finally {
                System.clearProperty("tessera.audio.noFfmpeg");
            }
            assertArrayEquals(with, without, cases[i][0]);
        }
        Path mp3 = tmp.resolve("a.mp3");
        Files.write(mp3, new byte[100]);
        Path wav8k = tmp.resolve("8k.wav");
        java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(44 + 1600).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        h.put("RIFF".getBytes()).putInt(36 + 1600).put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16)
                .putShort((short) 1).putShort((short) 1).putInt(8000).putInt(16000).putShort((short) 2)
                .putShort((short) 16).put("data".getBytes()).putInt(1600);
        Files.write(wav8k, h.array());
        System.setProperty("tessera.audio.noFfmpeg", "true");
        try {
            ChatCommandTest.Run r = run("logmel", mp3.toString(), "--out", tmp.resolve("x.npy").toString());
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("FFmpeg cannot be loaded here") && r.err().contains("only WAV files at 16 kHz"),
                    r.err());
            r = run("logmel", wav8k.toString(), "--out", tmp.resolve("x.npy").toString());
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("8000 Hz, expected 16000"), r.err());
        } finally {
            System.clearProperty("tessera.audio.noFfmpeg");
        }
    }

    @Test
    void badFilesGiveOneLineErrors(@TempDir Path tmp) throws Exception {
        Path empty = Files.write(tmp.resolve("empty.wav"), new byte[0]);
        Path text = Files.writeString(tmp.resolve("text.wav"), "not audio at all\n".repeat(20));
        Path short100 = tmp.resolve("short100.wav");
        writeWav16(short100, new short[100]);
        // a data chunk of one byte: one damaged packet, counted in the error line (a WARN line used to precede it)
        byte[] oneByte = ByteBuffer.allocate(45).order(ByteOrder.LITTLE_ENDIAN).put("RIFF".getBytes()).putInt(37)
                .put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(16_000).putInt(32_000).putShort((short) 2).putShort((short) 16).put("data".getBytes()).putInt(1)
                .put((byte) 7).array();
        Path damaged = Files.write(tmp.resolve("one-byte.wav"), oneByte);
        String[][] cases = {
            {"logmel", empty.toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", text.toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", tmp.resolve("missing.wav").toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", DIR.resolve("odd401.wav").toString(), "--out", tmp.resolve("a.npy").toString(), "--n-mels", "202"},
            {"logmel", DIR.resolve("odd401.wav").toString(), "--out", tmp.resolve("no-such-dir/a.npy").toString()},
            {"logmel", DIR.resolve("odd401.wav").toString(), "--out", tmp.resolve("a.npy").toString(), "--mel-filters", "htk"},
            {"logmel", short100.toString(), "--no-pad", "--out", tmp.resolve("a.npy").toString()},
            {"logmel", tmp.toString(), "--out", tmp.resolve("a.npy").toString()},
            {"logmel", damaged.toString(), "--out", tmp.resolve("a.npy").toString()},
        };
        ChatCommandTest.assertOneLineErrors(cases);
        assertTrue(run(cases[7]).err().contains("is a folder: give one audio file"), run(cases[7]).err());
        // an output folder that does not exist says so (used to read "cannot write P: P")
        ChatCommandTest.Run r = run(cases[4]);
        assertTrue(r.err().contains("(no such file or directory)"), r.err());
        // used to read "audio clip 0 has 100 samples; reflect padding needs more than n_fft/2 = 200"
        r = run(cases[6]);
        assertTrue(r.err().contains("short100.wav has 100 samples at 16 kHz") && r.err().contains("--no-pad needs more than 200"),
                r.err());
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
