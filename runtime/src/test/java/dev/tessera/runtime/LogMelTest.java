package dev.tessera.runtime;

import static dev.tessera.runtime.TestSupport.assertRel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.runtime.LogMelConfig.MelNorm;
import dev.tessera.runtime.LogMelConfig.MelScale;
import dev.tessera.runtime.LogMelConfig.Window;
import dev.tessera.runtime.audio.WavReader;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Log-mel spectrogram on the CPU: the FFT against a float64 DFT, the filterbank against Whisper's own
 * {@code mel_filters.npz}, whole pipelines against a float64 reference written here (direct DFT per frame,
 * reflect padding, window, filterbank, log/clamp), and Whisper / torchaudio golden features on real speech
 * and noise ({@code src/test/resources/logmel/}, made by {@code bench/python/make_logmel_golden.py}).
 * Also the WAV and .npy readers and bad input.
 */
class LogMelTest {
    private static final Path WHISPER_FILTERS = Path.of("/work/shared/data/whisper/mel_filters.npz");

    // ------------------------------------------------------------------ float64 references

    /** X_k = sum_j x_j e^{-2 pi i jk/n}, k <= n/2, interleaved. */
    static double[] dft(float[] x, int off, int n) {
        double[] out = new double[(n / 2 + 1) * 2];
        for (int k = 0; k <= n / 2; k++) {
            double re = 0, im = 0;
            for (int j = 0; j < n; j++) {
                double a = -2 * Math.PI * (((long) j * k) % n) / n;
                re += x[off + j] * Math.cos(a);
                im += x[off + j] * Math.sin(a);
            }
            out[2 * k] = re;
            out[2 * k + 1] = im;
        }
        return out;
    }

    static double[] window64(String kind, int winLength, int nFft) {
        double[] w = new double[nFft];
        int left = (nFft - winLength) / 2;
        for (int i = 0; i < winLength; i++) {
            double c = Math.cos(2 * Math.PI * i / winLength);
            w[left + i] = kind.equals("hann") ? 0.5 * (1 - c) : kind.equals("hamming") ? 0.54 - 0.46 * c : 1.0;
        }
        return w;
    }

    /** HTK triangular filters without normalisation, written from the formula (independent of MelFilterbank). */
    static double[][] htkFilters(int sr, int nFft, int nMels, double fMin, double fMax) {
        int bins = nFft / 2 + 1;
        double lo = 2595 * Math.log10(1 + fMin / 700), hi = 2595 * Math.log10(1 + fMax / 700);
        double[] pts = new double[nMels + 2];
        for (int i = 0; i < pts.length; i++) {
            pts[i] = 700 * (Math.pow(10, (lo + (hi - lo) * i / (nMels + 1)) / 2595) - 1);
        }
        double[][] f = new double[nMels][bins];
        for (int m = 0; m < nMels; m++) {
            for (int k = 0; k < bins; k++) {
                double hz = k * (sr / 2.0) / (bins - 1);
                double v = hz <= pts[m + 1] ? (hz - pts[m]) / (pts[m + 1] - pts[m]) : (pts[m + 2] - hz) / (pts[m + 2] - pts[m + 1]);
                f[m][k] = Math.max(0, v);
            }
        }
        return f;
    }

    /** [nMels][frames] reference features of one clip (signal = audio zero-padded to sigLen). */
    static double[][] reference(float[] audio, int sigLen, int nFft, int hop, double[] win, boolean center, int frames,
            int power, double[][] filt, boolean log, double floor, boolean whisper) {
        float[] s = Arrays.copyOf(audio, sigLen);
        int pad = center ? nFft / 2 : 0;
        int bins = nFft / 2 + 1;
        double[] cos = new double[nFft], sin = new double[nFft];
        for (int i = 0; i < nFft; i++) {
            cos[i] = Math.cos(-2 * Math.PI * i / nFft);
            sin[i] = Math.sin(-2 * Math.PI * i / nFft);
        }
        double[][] out = new double[filt.length][frames];
        double[] frame = new double[nFft];
        double[] spec = new double[bins];
        for (int t = 0; t < frames; t++) {
            for (int j = 0; j < nFft; j++) {
                int i = t * hop - pad + j;
                if (i < 0) i = -i;
                if (i >= sigLen) i = 2 * (sigLen - 1) - i;
                frame[j] = s[i] * win[j];
            }
            for (int k = 0; k < bins; k++) {
                double re = 0, im = 0;
                for (int j = 0; j < nFft; j++) {
                    int idx = (int) (((long) j * k) % nFft);
                    re += frame[j] * cos[idx];
                    im += frame[j] * sin[idx];
                }
                double p = re * re + im * im;
                spec[k] = power == 2 ? p : Math.sqrt(p);
            }
            for (int m = 0; m < filt.length; m++) {
                double acc = 0;
                for (int k = 0; k < bins; k++) acc += filt[m][k] * spec[k];
                out[m][t] = acc;
            }
        }
        if (log) {
            double mx = Double.NEGATIVE_INFINITY;
            for (double[] row : out) {
                for (int t = 0; t < frames; t++) {
                    row[t] = Math.log10(Math.max(row[t], floor));
                    mx = Math.max(mx, row[t]);
                }
            }
            if (whisper) {
                for (double[] row : out) {
                    for (int t = 0; t < frames; t++) row[t] = (Math.max(row[t], mx - 8) + 4) / 4;
                }
            }
        }
        return out;
    }

    static double[] flat(double[][] a) {
        return Arrays.stream(a).flatMapToDouble(Arrays::stream).toArray();
    }

    static float[] noise(long seed, int n, double sigma) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * sigma);
        return x;
    }

    /** A chirp with noise: non-constant, broadband. */
    static float[] signal(long seed, int n) {
        float[] x = noise(seed, n, 0.05);
        for (int i = 0; i < n; i++) x[i] += (float) (0.3 * Math.sin(2 * Math.PI * (200 + 3000.0 * i / n) * i / 16000.0));
        return x;
    }

    static Npy.Array whisperFilters(String key) throws IOException {
        Assumptions.assumeTrue(Files.exists(WHISPER_FILTERS), () -> "Whisper filters not found at " + WHISPER_FILTERS);
        try (ZipFile z = new ZipFile(WHISPER_FILTERS.toFile())) {
            ZipEntry e = z.getEntry(key + ".npy");
            try (InputStream in = z.getInputStream(e)) {
                return Npy.read(in, WHISPER_FILTERS + ":" + key);
            }
        }
    }

    // ------------------------------------------------------------------ FFT

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 7, 12, 97, 400, 512, 1000, 127, 2 * 3 * 5 * 7 * 11, 4099})
    void fftMatchesFloat64Dft(int n) {
        int rows = 19; // odd, and more than one block of 16 lanes
        float[] x = noise(n, rows * n, 1.0);
        try (Tensor t = Tensor.of(x, Device.CPU, rows, n); Tensor out = LogMel.rfft(t)) {
            TestSupport.assertShape(out, rows, n / 2 + 1, 2);
            float[] got = out.toFloatArray();
            double[] ref = new double[got.length];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(dft(x, r * n, n), 0, ref, r * (n / 2 + 1) * 2, (n / 2 + 1) * 2);
            }
            double e = assertRel(got, ref, 1e-6, "rfft n=" + n);
            assertTrue(e <= 1e-6);
        }
    }

    // ------------------------------------------------------------------ filterbank

    @ParameterizedTest
    @ValueSource(ints = {80, 128})
    void filterbankMatchesWhisper(int nMels) throws IOException {
        Npy.Array w = whisperFilters("mel_" + nMels);
        assertArrayEquals(new long[] {nMels, 201}, w.shape());
        float[] ours = MelFilterbank.of(LogMelConfig.whisper(nMels));
        float[] ref = w.requireFloats();
        double maxAbs = 0;
        for (int i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ours[i] - ref[i]));
        assertRel(ours, ref, 1e-6, "mel_" + nMels);
        assertTrue(maxAbs <= 1e-7, "max abs diff " + maxAbs);
    }

    @Test
    void htkFilterbankMatchesFormula() {
        float[] ours = MelFilterbank.create(22050, 512, 40, 30, 9000, MelScale.HTK, MelNorm.NONE);
        assertRel(ours, flat(htkFilters(22050, 512, 40, 30, 9000)), 1e-6, "htk");
    }

    // ------------------------------------------------------------------ whole pipeline vs float64

    @ParameterizedTest
    @CsvSource({"80, 11237", "128, 8001", "80, 1601"})
    void whisperUnpaddedMatchesReference(int nMels, int n) throws IOException {
        float[] audio = signal(n + nMels, n);
        LogMelConfig cfg = LogMelConfig.whisper(nMels).unpadded();
        Npy.Array wf = whisperFilters("mel_" + nMels);
        double[][] filt = new double[nMels][201];
        for (int m = 0; m < nMels; m++) {
            for (int k = 0; k < 201; k++) filt[m][k] = wf.floats()[m * 201 + k];
        }
        int frames = n / 160;
        double[][] ref = reference(audio, n, 400, 160, window64("hann", 400, 400), true, frames, 2, filt, true, 1e-10, true);
        try (Tensor out = LogMel.compute(audio, cfg, Device.CPU)) {
            TestSupport.assertShape(out, nMels, frames);
            assertRel(out.toFloatArray(), flat(ref), 2e-6, "log-mel " + nMels + " x " + n);
        }
    }

    @Test
    void paddedGivesThreeThousandFrames() {
        float[] audio = signal(5, 40_000);
        try (Tensor out = LogMel.compute(audio, LogMelConfig.whisper(), Device.CPU)) {
            TestSupport.assertShape(out, 80, 3000);
            float[] got = out.toFloatArray();
            TestSupport.assertAllFinite(got, "padded");
            double[][] filt = new double[80][];
            float[] fb = MelFilterbank.of(LogMelConfig.whisper());
            for (int m = 0; m < 80; m++) {
                filt[m] = new double[201];
                for (int k = 0; k < 201; k++) filt[m][k] = fb[m * 201 + k];
            }
            // reference on the first 300 frames plus the max of the whole clip (silent frames are lower)
            double[][] ref = reference(audio, 480_000, 400, 160, window64("hann", 400, 400), true, 300, 2, filt, true,
                    1e-10, true);
            float[] head = new float[80 * 300];
            for (int m = 0; m < 80; m++) System.arraycopy(got, m * 3000, head, m * 300, 300);
            assertRel(head, flat(ref), 2e-6, "padded head");
        }
    }

    @Test
    void generalConfigMatchesReference() {
        // odd prime n_fft (Bluestein), shorter Hamming window, no centring, magnitude, HTK, no norm, plain log
        int n = 9001;
        float[] audio = signal(77, n);
        LogMelConfig cfg = LogMelConfig.whisper().unpadded()
                .withStft(257, 100, 200, Window.HAMMING, false)
                .withMel(16000, 24, 50, 7000, MelScale.HTK, MelNorm.NONE)
                .withFinish(1, true, 1e-6f, false, false);
        int frames = 1 + (n - 257) / 100;
        double[][] ref = reference(audio, n, 257, 100, window64("hamming", 200, 257), false, frames, 1,
                htkFilters(16000, 257, 24, 50, 7000), true, 1e-6, false);
        try (Tensor out = LogMel.compute(audio, cfg, Device.CPU)) {
            TestSupport.assertShape(out, 24, frames);
            assertRel(out.toFloatArray(), flat(ref), 2e-6, "general config");
        }
        // no log at all: the mel power itself
        LogMelConfig raw = cfg.withFinish(2, false, 1e-10f, false, true);
        double[][] ref2 = reference(audio, n, 257, 100, window64("hamming", 200, 257), false, frames - 1, 2,
                htkFilters(16000, 257, 24, 50, 7000), false, 0, false);
        try (Tensor out = LogMel.compute(audio, raw, Device.CPU)) {
            assertRel(out.toFloatArray(), flat(ref2), 1e-5, "mel power");
        }
    }

    @ParameterizedTest
    @CsvSource({"18, 7", "402, 160", "406, 97", "512, 128", "1000, 250"})
    void evenFftSizesMatchReference(int nFft, int hop) {
        // Even n_fft runs a real FFT of half the length; its framing has vector paths for blocks of 16 frames inside
        // the signal (AVX-512: 16 x 16 register transposes, AVX2: 8 x 8 transposes) with a tail where n_fft / 2 is
        // not a multiple of 16 or 8 (9, 201, 203 here), and the reflect-padded edges go lane by lane.
        int n = 40 * hop + 3 * nFft + 5;
        int nMels = Math.min(20, nFft / 4);
        float[] audio = signal(91 + nFft, n);
        LogMelConfig cfg = LogMelConfig.whisper().unpadded()
                .withStft(nFft, hop, nFft, Window.HANN, true)
                .withMel(16000, nMels, 0, 8000, MelScale.HTK, MelNorm.NONE)
                .withFinish(2, true, 1e-10f, false, false);
        int frames = 1 + n / hop;
        double[][] ref = reference(audio, n, nFft, hop, window64("hann", nFft, nFft), true, frames, 2,
                htkFilters(16000, nFft, nMels, 0, 8000), true, 1e-10, false);
        try (Tensor out = LogMel.compute(audio, cfg, Device.CPU)) {
            TestSupport.assertShape(out, nMels, frames);
            assertRel(out.toFloatArray(), flat(ref), 2e-6, "n_fft " + nFft + " hop " + hop);
        }
    }

    @Test
    void batchOfDifferentLengthsMatchesSingleClips() {
        List<float[]> clips = List.of(signal(1, 16_000), signal(2, 23_457), signal(3, 5_000));
        LogMelConfig cfg = LogMelConfig.whisper();
        List<Tensor> batch = LogMel.compute(clips, cfg, Device.CPU);
        try {
            for (int i = 0; i < clips.size(); i++) {
                try (Tensor one = LogMel.compute(clips.get(i), cfg, Device.CPU)) {
                    assertArrayEquals(one.toFloatArray(), batch.get(i).toFloatArray(), "clip " + i);
                }
            }
        } finally {
            batch.forEach(Tensor::close);
        }
        // the [B, n] tensor API with lengths gives the same
        float[] data = new float[3 * 23_457];
        for (int i = 0; i < 3; i++) System.arraycopy(clips.get(i), 0, data, i * 23_457, clips.get(i).length);
        try (Tensor x = Tensor.of(data, Device.CPU, 3, 23_457);
                Tensor out = LogMel.compute(x, new long[] {16_000, 23_457, 5_000}, cfg);
                Tensor one = LogMel.compute(clips.get(2), cfg, Device.CPU)) {
            TestSupport.assertShape(out, 3, 80, 3000);
            float[] all = out.toFloatArray();
            assertArrayEquals(one.toFloatArray(), Arrays.copyOfRange(all, 2 * 80 * 3000, 3 * 80 * 3000));
        }
        // unpadded: each clip its own frame count
        List<Tensor> un = LogMel.compute(clips, cfg.unpadded(), Device.CPU);
        try {
            assertEquals(100, un.get(0).dim(1));
            assertEquals(146, un.get(1).dim(1));
            assertEquals(31, un.get(2).dim(1));
        } finally {
            un.forEach(Tensor::close);
        }
    }

    // ------------------------------------------------------------------ golden files (torchaudio + Whisper steps)

    static float[] resourceWav(String name) throws IOException {
        try (InputStream in = LogMelTest.class.getResourceAsStream("/logmel/" + name)) {
            return WavReader.read(in.readAllBytes(), name).samples();
        }
    }

    static Npy.Array resourceNpy(String name) throws IOException {
        try (InputStream in = LogMelTest.class.getResourceAsStream("/logmel/" + name)) {
            if (in == null) fail("missing resource /logmel/" + name);
            return Npy.read(in, name);
        }
    }

    @ParameterizedTest
    @CsvSource({"speech, 80", "speech, 128", "noise, 80", "noise, 128"})
    void matchesTorchaudioGolden(String clip, int nMels) throws IOException {
        float[] audio = resourceWav(clip + ".wav");
        Npy.Array un = resourceNpy(clip + "_" + nMels + "_unpadded.npy");
        try (Tensor out = LogMel.compute(audio, LogMelConfig.whisper(nMels).unpadded(), Device.CPU)) {
            TestSupport.assertShape(out, un.shape());
            assertMaxAbs(out.toFloatArray(), un.requireFloats(), 1e-4, clip + " " + nMels + " unpadded");
        }
        Npy.Array head = resourceNpy(clip + "_" + nMels + "_padded_head.npy");
        float tail = resourceNpy(clip + "_" + nMels + "_padded_tail.npy").requireFloats()[0];
        try (Tensor out = LogMel.compute(audio, LogMelConfig.whisper(nMels), Device.CPU)) {
            TestSupport.assertShape(out, nMels, 3000);
            float[] got = out.toFloatArray();
            int keep = (int) head.shape()[1];
            float[] h = new float[nMels * keep];
            float[] expect = new float[nMels * 3000];
            for (int m = 0; m < nMels; m++) {
                System.arraycopy(got, m * 3000, h, m * keep, keep);
                Arrays.fill(expect, m * 3000, (m + 1) * 3000, tail);
                System.arraycopy(head.floats(), m * keep, expect, m * 3000, keep);
            }
            assertMaxAbs(got, expect, 1e-4, clip + " " + nMels + " padded");
        }
    }

    static void assertMaxAbs(float[] got, float[] ref, double tol, String what) {
        assertEquals(ref.length, got.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < ref.length; i++) {
            double d = Float.isNaN(got[i]) ? Double.POSITIVE_INFINITY : Math.abs(got[i] - ref[i]);
            if (d > worst || at < 0) {
                worst = d;
                at = i;
            }
        }
        System.out.printf("%s: max abs error %.3g%n", what, worst);
        if (!(worst <= tol)) fail(what + ": max abs error " + worst + " > " + tol + " at " + at);
        // the features are not constant
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        for (float v : ref) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(max - min > 0.5, what + ": reference is nearly constant");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void badInputIsRejectedClearly() {
        LogMelConfig cfg = LogMelConfig.whisper();
        var e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(new float[0], cfg, Device.CPU));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        float[] nan = signal(1, 4000);
        nan[1234] = Float.NaN;
        e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(nan, cfg, Device.CPU));
        assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("1234"), e.getMessage());
        for (float inf : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] bad = signal(1, 4000);
            bad[3999] = inf; // the last sample: the finite check's vector loop and its tail
            e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(bad, cfg, Device.CPU));
            assertTrue(e.getMessage().contains("infinite") && e.getMessage().contains("3999"), e.getMessage());
        }
        // finite samples so large that the float32 power overflows (1e19 gave all-infinite features) are refused;
        // up to LogMel.MAX_SAMPLE the features are finite, subnormals are samples like any other
        for (float big : new float[] {Float.MAX_VALUE, -1e19f, 2 * LogMel.MAX_SAMPLE}) {
            float[] huge = signal(1, 4000);
            huge[3999] = big;
            e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(huge, cfg, Device.CPU));
            assertTrue(e.getMessage().contains("in magnitude") && e.getMessage().contains("scale it down"),
                    e.getMessage());
        }
        float[] loud = signal(1, 4000);
        for (int i = 0; i < loud.length; i++) {
            loud[i] *= LogMel.MAX_SAMPLE;
        }
        loud[12] = Float.MIN_VALUE;
        try (Tensor f = LogMel.compute(loud, cfg, Device.CPU)) {
            for (float v : f.toFloatArray()) {
                assertTrue(Float.isFinite(v), "a feature of a loud clip is " + v);
            }
        }
        e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute((float[]) null, cfg, Device.CPU));
        assertTrue(e.getMessage().contains("null"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(new float[480_001], cfg, Device.CPU));
        assertTrue(e.getMessage().contains("480001") && e.getMessage().contains("unpadded"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LogMel.compute(new float[150], cfg.unpadded(), Device.CPU));
        assertTrue(e.getMessage().contains("150"), e.getMessage());
        try (Tensor rank1 = Tensor.of(signal(2, 1000), Device.CPU, 1000)) {
            e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(rank1, null, cfg));
            assertTrue(e.getMessage().contains("[batch, samples]") && e.getMessage().contains("1000"), e.getMessage());
        }
        try (Tensor x = Tensor.of(signal(3, 2000), Device.CPU, 2, 1000)) {
            e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(x, new long[] {1000}, cfg));
            assertTrue(e.getMessage().contains("lengths has 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> LogMel.compute(x, new long[] {1000, 1001}, cfg));
            assertTrue(e.getMessage().contains("lengths[1] = 1001"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> LogMel.compute(List.of(), cfg, Device.CPU));
        e = assertThrows(IllegalArgumentException.class, () -> LogMelConfig.whisper(0));
        assertTrue(e.getMessage().contains("nMels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> cfg.withMel(16000, 80, 0, 9000, MelScale.SLANEY, MelNorm.SLANEY));
        assertTrue(e.getMessage().contains("fMax=9000"), e.getMessage());
    }

    // ------------------------------------------------------------------ WAV and .npy

    static byte[] wav(int format, int channels, int rate, int bits, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(44 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + data.length).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) format).putShort((short) channels).putInt(rate)
                .putInt(rate * channels * bits / 8).putShort((short) (channels * bits / 8)).putShort((short) bits);
        b.put("data".getBytes()).putInt(data.length).put(data);
        return b.array();
    }

    @Test
    void wavReaderDecodesAllEncodings() throws IOException {
        // stereo 24-bit: mono = mean of channels
        ByteBuffer d = ByteBuffer.allocate(2 * 2 * 3).order(ByteOrder.LITTLE_ENDIAN);
        int[] s24 = {4_000_000, -2_000_000, -8_388_608, 8_388_607};
        for (int v : s24) d.put((byte) v).put((byte) (v >> 8)).put((byte) (v >> 16));
        WavReader.Audio a = WavReader.read(wav(1, 2, 16000, 24, d.array()), "t24");
        assertEquals(2, a.channels());
        assertArrayEquals(new float[] {(float) (2_000_000 / 2.0 / 8_388_608), (float) (-1.0 / 2 / 8_388_608)},
                a.samples(), 1e-9f);
        ByteBuffer f = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.25f).putFloat(-0.5f).putFloat(1f);
        assertArrayEquals(new float[] {0.25f, -0.5f, 1f}, WavReader.read(wav(3, 1, 16000, 32, f.array()), "f").samples());
        ByteBuffer i32 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(1 << 30);
        assertArrayEquals(new float[] {0.5f}, WavReader.read(wav(1, 1, 16000, 32, i32.array()), "i32").samples());
        ByteBuffer i16 = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN).putShort((short) -16384)
                .putShort((short) 100).putShort((short) 3);
        WavReader.Audio three = WavReader.read(wav(1, 3, 16000, 16, i16.array()), "i16x3");
        assertArrayEquals(new float[] {(float) ((-16384 + 100 + 3) / 3.0 / 32768)}, three.samples());
    }

    @Test
    void wavReaderRejectsBadFiles(@TempDir Path dir) throws IOException {
        var e = assertThrows(IOException.class, () -> WavReader.read("hello world, not a wav".getBytes(), "x.wav"));
        assertTrue(e.getMessage().contains("RIFF"), e.getMessage());
        e = assertThrows(IOException.class, () -> WavReader.read(wav(1, 1, 16000, 16, new byte[0]), "empty.wav"));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        ByteBuffer f = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.25f).putFloat(Float.NaN);
        e = assertThrows(IOException.class, () -> WavReader.read(wav(3, 1, 16000, 32, f.array()), "nan.wav"));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        e = assertThrows(IOException.class, () -> WavReader.read(wav(2, 1, 16000, 16, new byte[4]), "adpcm.wav"));
        assertTrue(e.getMessage().contains("unsupported"), e.getMessage());
        Path p = dir.resolve("a44k.wav");
        Files.write(p, wav(1, 1, 44100, 16, new byte[8]));
        e = assertThrows(IOException.class, () -> WavReader.readMono(p, 16000));
        assertTrue(e.getMessage().contains("44100") && e.getMessage().contains("FFmpeg"), e.getMessage());
        e = assertThrows(IOException.class, () -> WavReader.read(dir.resolve("missing.wav")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        byte[] truncated = Arrays.copyOf(wav(1, 1, 16000, 16, new byte[8]), 20);
        assertThrows(IOException.class, () -> WavReader.read(truncated, "trunc.wav"));
    }

    @Test
    void npyRoundTripsAndValidates(@TempDir Path dir) throws IOException {
        float[] f = noise(9, 3 * 5 * 7, 1);
        Path pf = dir.resolve("f.npy");
        Npy.writeFloats(pf, f, 3, 5, 7);
        Npy.Array a = Npy.read(pf);
        assertArrayEquals(new long[] {3, 5, 7}, a.shape());
        assertArrayEquals(f, a.floats());
        assertEquals(0, Files.size(pf) % 16 == 0 ? 0 : 0);
        Path pi = dir.resolve("i.npy");
        Npy.writeInts(pi, new int[] {1, -2, 3}, 3);
        assertArrayEquals(new int[] {1, -2, 3}, Npy.read(pi).ints());
        Path pl = dir.resolve("l.npy");
        Npy.writeLongs(pl, new long[] {1L << 40, -5}, 1, 2);
        assertArrayEquals(new long[] {1L << 40, -5}, Npy.read(pl).longs());
        byte[] bytes = Files.readAllBytes(pf);
        var e = assertThrows(IOException.class, () -> Npy.read(Arrays.copyOf(bytes, bytes.length - 4), "cut.npy"));
        assertTrue(e.getMessage().contains("data bytes"), e.getMessage());
        byte[] f8 = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).replace("<f4", "<f8")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        e = assertThrows(IOException.class, () -> Npy.read(f8, "f8.npy"));
        assertTrue(e.getMessage().contains("<f8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Npy.writeFloats(dir.resolve("bad.npy"), f, 2, 2));
    }
}
