package dev.tessera.runtime.audio;

import dev.tessera.runtime.testing.ChildJvm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.io.Npy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * FFmpeg decoding against an independent pipeline (see resources/audio/make_fixtures.sh): FFmpeg CLI's decode
 * at the native rate, averaged over channels, resampled by scipy's polyphase resampler.
 */
class AudioDecoderTest {

    static Path fixture(String name) {
        try {
            return Path.of(AudioDecoderTest.class.getResource("/audio/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signal-to-noise ratio of {@code out} against {@code ref}, in dB. */
    static double snrDb(float[] out, float[] ref) {
        double sig = 0, err = 0;
        for (int i = 0; i < ref.length; i++) {
            sig += (double) ref[i] * ref[i];
            double d = (double) out[i] - ref[i];
            err += d * d;
        }
        return 10 * Math.log10(sig / Math.max(err, 1e-30));
    }

    /**
     * Each container/codec, on synthetic speech + tone and on a real recording (LibriVox): the length and samples of the ffmpeg program, and agreement with the reference. The two
     * resamplers differ (swresample's default filter vs scipy's Kaiser polyphase) mostly near the band edge;
     * lossless inputs agree to ≥ 30 dB SNR, lossy ones likewise since both sides decode the same stream.
     */
    @ParameterizedTest
    @CsvSource({"stereo_44k.wav, pcm, 2, 44100", "stereo_44k.flac, flac, 2, 44100", "stereo_22k.mp3, mp3, 2, 22050",
            "stereo_48k.opus, opus, 2, 48000", "mono_8k.wav, pcm, 1, 8000", "stereo_44k.m4a, aac, 2, 44100",
            "video_with_audio.mp4, aac, 2, 44100", "librivox_22k.flac, flac, 1, 22050",
            "librivox_44k_stereo.mp3, mp3, 2, 44100", "librivox_48k.opus, opus, 1, 48000", "librivox_32k.m4a, aac, 1, 32000"})
    void decodesEachContainerToTheReference(String file, String codecPrefix, int channels, int rate) throws Exception {
        Path f = fixture(file);
        float[] ref = Npy.read(fixture("ref16k_" + file.replace('.', '_') + ".npy")).requireFloats();
        float[] out = AudioDecoder.decode(f, 16_000);
        float[] cli = ffmpegProgram(f, 16_000);
        assertEquals(cli.length, out.length, file + ": resampled length = the ffmpeg program's");
        double maxDiff = 0;
        for (int i = 0; i < out.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(out[i] - cli[i]));
        }
        System.out.printf("%s: max |Tessera - ffmpeg program| %.2e%n", file, maxDiff);
        assertTrue(maxDiff < 1e-4, file + ": max difference to the ffmpeg program " + maxDiff);
        assertTrue(Math.abs(ref.length - out.length) <= 1, file + ": length " + out.length + " vs reference " + ref.length);
        int common = Math.min(ref.length, out.length);
        double snr = snrDb(Arrays.copyOf(out, common), Arrays.copyOf(ref, common));
        System.out.printf("%s: SNR vs reference %.1f dB%n", file, snr);
        assertTrue(snr >= 30, file + ": SNR " + snr + " dB vs the reference");
        for (float v : out) {
            assertTrue(Float.isFinite(v), file + ": non-finite sample");
        }
        AudioInfo info = AudioDecoder.probe(f);
        assertEquals(channels, info.channels(), file);
        assertEquals(rate, info.sampleRate(), file);
        assertTrue(info.codec().startsWith(codecPrefix), file + ": codec " + info.codec());
        assertTrue(info.durationSeconds() > 1.0 && info.durationSeconds() < 2.0, file + ": " + info);
    }

    /** The mono mix is the channel mean: the tone (right only, amplitude 0.2) must come out at 0.1. */
    /**
     * Integer PCM with 24 valid bits in 32-bit containers (WAVE_FORMAT_EXTENSIBLE with the PCM sub-format, or tag 1 with
     * 4-byte blocks), which FFmpeg's WAV demuxer takes for 24-bit float: decoded as the left-justified integers they
     * are (it read a negative sample as NaN, a non-negative signal as silence, and timed the file at 4/3 its length).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void pcm24In32BitContainersAreIntegers(boolean extensible, @TempDir Path dir) throws Exception {
        int n = 8000;
        int[] v = new int[n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(24);
        for (int i = 0; i < n; i++) {
            v[i] = r.nextInt(-(1 << 23), 1 << 23);
        }
        int fmtLen = extensible ? 40 : 16;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(20 + fmtLen + 8 + 4 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(12 + fmtLen + 8 + 4 * n).put("WAVE".getBytes()).put("fmt ".getBytes())
                .putInt(fmtLen).putShort((short) (extensible ? 0xFFFE : 1)).putShort((short) 1).putInt(16_000)
                .putInt(64_000).putShort((short) 4).putShort((short) (extensible ? 32 : 24));
        if (extensible) { // cbSize, valid bits, channel mask, KSDATAFORMAT_SUBTYPE_PCM
            b.putShort((short) 22).putShort((short) 24).putInt(4).putInt(1).putShort((short) 0).putShort((short) 0x10)
                    .put(new byte[] {(byte) 0x80, 0, 0, (byte) 0xaa, 0, 0x38, (byte) 0x9b, 0x71});
        }
        b.put("data".getBytes()).putInt(4 * n);
        for (int x : v) {
            b.putInt(x << 8);
        }
        Path f = dir.resolve("pcm24in32.wav");
        Files.write(f, b.array());
        float[] out = AudioDecoder.decode(f, 16_000);
        assertEquals(n, out.length);
        for (int i = 0; i < n; i++) {
            assertEquals(v[i] / (double) (1 << 23), out[i], 1e-7, "sample " + i);
        }
        try (AudioStream s = AudioDecoder.open(f, 16_000)) {
            assertEquals(0.5, s.info().durationSeconds(), 1e-3); // the demuxer counted whole 3-byte samples
        }
    }

    @Test
    void downmixIsTheMeanOfTheChannels() throws Exception {
        float[] out = AudioDecoder.decode(fixture("stereo_44k.wav"), 44_100);
        float[] left = new float[out.length];
        float[] right = new float[out.length];
        byte[] b = Files.readAllBytes(fixture("stereo_44k.wav"));
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int data = indexOf(b, "data".getBytes()) + 8;
        int n = Math.min(out.length, (b.length - data) / 4);
        double maxErr = 0;
        for (int i = 0; i < n; i++) {
            left[i] = bb.getShort(data + 4 * i) / 32768f;
            right[i] = bb.getShort(data + 4 * i + 2) / 32768f;
            maxErr = Math.max(maxErr, Math.abs(out[i] - 0.5 * (left[i] + right[i])));
        }
        assertEquals(out.length, n, "same-rate decode keeps the sample count");
        assertTrue(maxErr < 1e-6, "same-rate decode must be exactly the channel mean, max err " + maxErr);
    }

    /**
     * Mean downmix of random PCM (band-limited Gaussian noise, independent per channel; made by numpy in
     * make_stream_fixtures.sh) in 1, 2, 4 (quad), 5.1, 6 (no channel mask) and 7.1 channels. At the file's own
     * rate the output is the numpy mean of the channels to float rounding (≤ 1e-6); resampled to 16 kHz it
     * matches that mean resampled by scipy's resample_poly, sample count exact: SNR ≥ 30 dB over the whole
     * output, and without the first and last 1 ms (where the two resamplers extend the signal differently)
     * SNR ≥ 55 dB and max abs error ≤ 2e-3.
     */
    @ParameterizedTest
    @CsvSource({"mono, 1, 44100", "stereo, 2, 48000", "quad, 4, 22050", "51, 6, 48000", "6ch, 6, 32000",
            "71, 8, 44100"})
    void meanDownmixOfRandomPcmForAnyChannelCount(String name, int channels, int rate) throws Exception {
        Path f = fixture("mc_" + name + ".wav");
        AudioInfo info = AudioDecoder.probe(f);
        assertEquals(channels, info.channels(), name);
        assertEquals(rate, info.sampleRate(), name);
        float[] mean = Npy.read(fixture("mc_" + name + "_mean.npy")).requireFloats();
        float[] same = AudioDecoder.decode(f, rate);
        assertEquals(mean.length, same.length, name + ": same-rate length");
        double maxErr = 0;
        for (int i = 0; i < mean.length; i++) {
            assertTrue(Float.isFinite(same[i]), name + ": non-finite sample " + i);
            maxErr = Math.max(maxErr, Math.abs(same[i] - mean[i]));
        }
        assertTrue(maxErr <= 1e-6, name + ": same-rate output vs numpy channel mean, max err " + maxErr);

        float[] ref = Npy.read(fixture("ref16k_mc_" + name + "_wav.npy")).requireFloats();
        float[] out = AudioDecoder.decode(f, 16_000);
        assertEquals(ref.length, out.length, name + ": resampled length");
        double snr = snrDb(out, ref);
        // swresample extends the signal past its ends by reflection, resample_poly by zeros: the first and last
        // few output samples differ by up to ~0.06 on this full-scale noise; inside them the two agree closely.
        int skip = 16;
        float[] o = Arrays.copyOfRange(out, skip, out.length - skip);
        float[] rf = Arrays.copyOfRange(ref, skip, ref.length - skip);
        double inner = snrDb(o, rf);
        double maxAbs = 0;
        for (int i = 0; i < rf.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(o[i] - rf[i]));
        }
        System.out.printf("downmix %s: SNR vs resample_poly %.1f dB (without 1 ms at each end: %.1f dB, max abs err %.2e)%n", name,
                snr, inner, maxAbs);
        assertTrue(snr >= 30 && inner >= 55 && maxAbs <= 2e-3,
                name + ": vs resample_poly SNR " + snr + " dB, after 1 ms " + inner + " dB, max abs " + maxAbs);
    }

    /**
     * Two MP3s at different rates and channel counts (22.05 kHz mono, then 44.1 kHz stereo) concatenated byte
     * by byte: the resampler is rebuilt where the format changes, each part keeps the length rule, and the
     * output matches the parts decoded and resampled separately (make_stream_fixtures.sh): SNR ≥ 50 dB before
     * the join (seen 60.1) and from 150 ms after it (seen 63.9); in between the MP3 decoder's state (overlap-add,
     * bit reservoir) carries the first part into the second, so from 50 ms after the join SNR ≥ 30 dB (seen
     * 37.8). Path and InputStream give the same samples.
     */
    @Test
    void formatChangeMidStreamIsResampledPerPart() throws Exception {
        float[] ref = Npy.read(fixture("ref16k_rate_change_mp3.npy")).requireFloats();
        int join = 10_449; // round(14400 · 16000 / 22050): the first part's length at 16 kHz
        float[] out;
        try (AudioStream s = AudioDecoder.open(fixture("rate_change.mp3"), 16_000)) {
            out = readAll(s);
            assertEquals(1, s.formatChanges(), "one format change");
        }
        assertEquals(ref.length, out.length, "length: the rule applied to each part");
        float[] a = Arrays.copyOfRange(out, 0, join);
        double snrA = snrDb(a, Arrays.copyOfRange(ref, 0, join));
        double snrB = snrDb(Arrays.copyOfRange(out, join + 800, out.length), Arrays.copyOfRange(ref, join + 800, ref.length));
        double snrB2 = snrDb(Arrays.copyOfRange(out, join + 2400, out.length), Arrays.copyOfRange(ref, join + 2400, ref.length));
        System.out.printf("rate change: SNR vs per-part reference %.1f dB before the join, %.1f dB from 50 ms after it, "
                + "%.1f dB from 150 ms after it%n", snrA, snrB, snrB2);
        assertTrue(snrA >= 50 && snrB >= 30 && snrB2 >= 50,
                "SNR before the join " + snrA + " dB, after " + snrB + " / " + snrB2 + " dB");
        try (InputStream in = Files.newInputStream(fixture("rate_change.mp3"))) {
            assertTrue(Arrays.equals(out, AudioDecoder.decode(in, 16_000)), "InputStream decode equals path decode");
        }
    }

    static float[] readAll(AudioStream s) throws IOException {
        float[] acc = new float[4096];
        int n = 0;
        int r;
        while ((r = s.read(acc, n, acc.length - n)) > 0) {
            n += r;
            if (n == acc.length) {
                acc = Arrays.copyOf(acc, 2 * n);
            }
        }
        return Arrays.copyOf(acc, n);
    }

    /**
     * Every rate gives the samples the {@code ffmpeg} program gives (what {@code whisper.load_audio} and transformers'
     * {@code ffmpeg_read} call): same length, whose rounding is the resampler's flush and not a formula (e.g. 59377
     * samples at 48 kHz where round(n · rate / 44100) is 59376), and the same values.
     */
    @ParameterizedTest
    @CsvSource({"8000", "11025", "22050", "24000", "44100", "48000", "16000"})
    void everyRateMatchesTheFfmpegProgram(int rate) throws Exception {
        Path f = fixture("stereo_44k.wav");
        float[] out = AudioDecoder.decode(f, rate);
        float[] cli = ffmpegProgram(f, rate);
        assertEquals(cli.length, out.length, "length at " + rate + " Hz");
        for (int i = 0; i < out.length; i++) {
            assertEquals(cli[i], out[i], 2e-5, "sample " + i + " at " + rate + " Hz");
        }
    }

    /**
     * {@code file} decoded and resampled to {@code rate} by the {@code ffmpeg} program of the FFmpeg preset (an
     * independent path through the same libraries: its own filter graph), float output, channels kept and averaged
     * here (its {@code -ac 1} mix of float output weights the channels 0.707, docs/audio.md).
     */
    static float[] ffmpegProgram(Path file, int rate) throws Exception {
        String exe = org.bytedeco.javacpp.Loader.load(org.bytedeco.ffmpeg.ffmpeg.class);
        int ch = AudioDecoder.probe(file).channels();
        ProcessBuilder pb = new ProcessBuilder(exe, "-nostdin", "-v", "error", "-i", file.toString(), "-f", "f32le",
                "-ar", String.valueOf(rate), "-").redirectError(ProcessBuilder.Redirect.DISCARD);
        // the libraries the preset carries beside the program (libva, libdrm on x86-64), which the JVM preloads: the
        // program's own run path does not reach its libraries' dependencies
        String dir = Path.of(exe).getParent().toString();
        pb.environment().merge("LD_LIBRARY_PATH", dir, (old, d) -> d + java.io.File.pathSeparator + old);
        Process p = pb.start();
        byte[] raw = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), "ffmpeg program on " + file);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[raw.length / 4 / ch];
        for (int i = 0; i < out.length; i++) {
            float sum = 0;
            for (int c = 0; c < ch; c++) {
                sum += b.getFloat((i * ch + c) * 4);
            }
            out[i] = sum / ch;
        }
        return out;
    }

    @Test
    void streamsInSmallReadsAndFromAnInputStream() throws Exception {
        float[] whole = AudioDecoder.decode(fixture("stereo_48k.opus"), 16_000);
        float[] acc = new float[whole.length];
        int n = 0;
        try (InputStream in = Files.newInputStream(fixture("stereo_48k.opus"));
                AudioStream s = AudioDecoder.open(in, 16_000)) {
            float[] buf = new float[37];
            int r;
            while ((r = s.read(buf, 0, buf.length)) > 0) {
                System.arraycopy(buf, 0, acc, n, r);
                n += r;
            }
            assertEquals(-1, s.read(buf, 0, 1));
            assertEquals(whole.length, s.samplesRead());
        }
        assertEquals(whole.length, n);
        assertTrue(Arrays.equals(whole, acc), "streamed samples equal the one-shot decode");
    }

    @Test
    void badInputGivesClearErrors(@TempDir Path dir) throws Exception {
        IOException e = assertThrows(IOException.class, () -> AudioDecoder.decode(dir.resolve("missing.mp3"), 16_000));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        Path empty = Files.createFile(dir.resolve("empty.wav"));
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(empty, 16_000));
        assertTrue(e.getMessage().contains("empty file"), e.getMessage());
        Path text = dir.resolve("notes.mp3");
        Files.writeString(text, "this is a text file, not audio at all\n".repeat(20));
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(text, 16_000));
        assertTrue(e.getMessage().contains(text.toString()), e.getMessage());
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(fixture("video_no_audio.mp4"), 16_000));
        assertTrue(e.getMessage().contains("no audio stream"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AudioDecoder.decode(fixture("mono_8k.wav"), 0));
        assertThrows(IllegalArgumentException.class, () -> AudioDecoder.decode(fixture("mono_8k.wav"), 10_000_000));
        AudioStream s = AudioDecoder.open(fixture("mono_8k.wav"), 16_000);
        s.close();
        assertThrows(IllegalStateException.class, () -> s.read(new float[4], 0, 4));
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(fixture("stereo_44k.wav"), 16_000, 0.5));
        assertTrue(e.getMessage().contains("stream"), e.getMessage());
    }

    /**
     * A HEIF / AVIF image is refused before FFmpeg sees it, from a file and from a stream: damaged_image.avif (one
     * of the damaged-file fuzzer's mutations of an AVIF fixture, its mdat renamed) crashed the JVM inside FFmpeg 8's
     * HEIF item reader when handed to avformat_open_input.
     */
    @Test
    void heifImagesAreRefusedBeforeFfmpeg() throws Exception {
        for (String name : new String[] {"damaged_image.avif"}) {
            IOException e = assertThrows(IOException.class, () -> AudioDecoder.decode(fixture(name), 16_000));
            assertTrue(e.getMessage().contains("HEIF / AVIF image, not audio"), e.getMessage());
            try (var in = Files.newInputStream(fixture(name))) {
                e = assertThrows(IOException.class, () -> AudioDecoder.decode(in, 16_000));
                assertTrue(e.getMessage().contains("HEIF / AVIF image, not audio"), e.getMessage());
            }
        }
        Path avif = Path.of(AudioDecoderTest.class.getResource("/image/avif_420_full.avif").toURI());
        IOException e = assertThrows(IOException.class, () -> AudioDecoder.decode(avif, 16_000));
        assertTrue(e.getMessage().contains("HEIF / AVIF image"), e.getMessage());
    }

    /** A truncated MP3 decodes what is there (shorter, finite), never crashes. */
    @Test
    void truncatedMp3DecodesThePrefix(@TempDir Path dir) throws Exception {
        byte[] b = Files.readAllBytes(fixture("stereo_22k.mp3"));
        Path cut = dir.resolve("cut.mp3");
        Files.write(cut, Arrays.copyOf(b, b.length / 2 + 7));
        float[] full = AudioDecoder.decode(fixture("stereo_22k.mp3"), 16_000);
        float[] part = AudioDecoder.decode(cut, 16_000);
        assertTrue(part.length > full.length / 4 && part.length < full.length, "prefix length " + part.length);
        for (float v : part) {
            assertTrue(Float.isFinite(v));
        }
        // Garbage in the middle of the stream: packets are skipped, not fatal.
        byte[] g = b.clone();
        for (int i = g.length / 3; i < g.length / 3 + 200; i++) {
            g[i] = (byte) (i * 31);
        }
        Path garbled = dir.resolve("garbled.mp3");
        Files.write(garbled, g);
        float[] gp = AudioDecoder.decode(garbled, 16_000);
        assertTrue(gp.length > full.length / 2, "garbled file still decodes most of its audio");
    }

    /**
     * Three hours of audio (8 kHz 8-bit WAV written here, 86 MB) streamed at 16 kHz in a child JVM with a fixed heap
     * ({@link #runWithFixedHeap}): its resident memory stays flat (bounded by one frame), and the length rule holds.
     */
    @Test
    void threeHoursStreamInFlatMemory(@TempDir Path dir) throws Exception {
        int rate = 8000;
        long n = 3L * 3600 * rate;
        Path f = dir.resolve("long.wav");
        try (OutputStream o = new java.io.BufferedOutputStream(Files.newOutputStream(f), 1 << 20)) {
            ByteBuffer h = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
            h.put("RIFF".getBytes()).putInt((int) (36 + n)).put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16)
                    .putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate).putShort((short) 1)
                    .putShort((short) 8).put("data".getBytes()).putInt((int) n);
            o.write(h.array());
            byte[] chunk = new byte[rate];
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = (byte) (128 + 40 * Math.sin(2 * Math.PI * 300 * i / rate));
            }
            for (long w = 0; w < n; w += chunk.length) {
                o.write(chunk);
            }
        }
        String out = runWithFixedHeap(LongStreamLoop.class, f.toString());
        assertTrue(out.contains("samples " + 2 * n + "\n"), "3 h at 8 kHz → exactly twice the samples at 16 kHz: "
                + out);
        assertFlat(out, 64 * 1024, "3 h of audio streamed");
    }

    /**
     * The child JVM of {@link #threeHoursStreamInFlatMemory}: streams the file at 16 kHz, prints "samples N" and
     * "rss FIRST MAX JAVACPP_DELTA" (resident memory after the first 1,000 reads and the most seen after that).
     */
    public static final class LongStreamLoop {
        public static void main(String[] a) throws Exception {
            long total = 0;
            long rssStart = -1;
            long rssMax = 0;
            long javacpp0 = 0;
            float[] buf = new float[1 << 16];
            try (AudioStream s = AudioDecoder.open(Path.of(a[0]), 16_000)) {
                int r;
                long reads = 0;
                while ((r = s.read(buf, 0, buf.length)) > 0) {
                    total += r;
                    if (++reads == 1000) {
                        rssStart = rssKb();
                        javacpp0 = Pointer.totalBytes();
                    } else if (reads > 1000 && reads % 500 == 0) {
                        rssMax = Math.max(rssMax, rssKb());
                    }
                }
                rssMax = Math.max(rssMax, rssKb());
                System.out.println("samples " + total);
                System.out.println("rss " + rssStart + " " + rssMax + " " + (Pointer.totalBytes() - javacpp0));
            }
        }
    }

    /**
     * Decoding the same file many times leaks nothing native. Runs in a child JVM with a fixed, pre-touched heap (see
     * {@link #runWithFixedHeap}), so that its resident memory moves only with native allocations: after 100 warm-up
     * decodes, 200 more may not grow it by 16 MB (a leaked demuxer or codec context per decode would add far more).
     */
    @Test
    void repeatedDecodesKeepMemoryFlat() throws Exception {
        assertFlat(runWithFixedHeap(FileLeakLoop.class, fixture("stereo_44k.m4a").toString()), 16 * 1024,
                "200 file decodes");
    }

    /**
     * Checks the line "rss BEFORE AFTER JAVACPP_DELTA" of a leak loop's output: resident memory may not grow by
     * {@code limitKb} and JavaCPP's count of native bytes not at all.
     */
    static void assertFlat(String out, long limitKb, String what) {
        String[] f = out.lines().filter(l -> l.startsWith("rss ")).findFirst()
                .orElseThrow(() -> new AssertionError(out)).split(" ");
        long grown = Long.parseLong(f[2]) - Long.parseLong(f[1]);
        System.out.printf("%s in a child JVM: RSS %+d kB, JavaCPP %s bytes%n", what, grown, f[3]);
        assertTrue(grown < limitKb, "RSS grew by " + grown + " kB over " + what + ": " + out);
        assertTrue(Long.parseLong(f[3]) <= 0, "JavaCPP allocations grew: " + out);
    }

    /** The child JVM of {@link #repeatedDecodesKeepMemoryFlat}: prints "rss BEFORE AFTER JAVACPP_DELTA". */
    public static final class FileLeakLoop {
        public static void main(String[] a) throws Exception {
            Path f = Path.of(a[0]);
            for (int i = 0; i < 100; i++) {
                AudioDecoder.decode(f, 16_000);
            }
            System.gc();
            long rss0 = rssKb();
            long javacpp0 = Pointer.totalBytes();
            for (int i = 0; i < 200; i++) {
                AudioDecoder.decode(f, 16_000);
            }
            System.gc();
            System.out.println("rss " + rss0 + " " + rssKb() + " " + (Pointer.totalBytes() - javacpp0));
        }
    }

    /**
     * Runs {@code main} in a child JVM whose heap is fixed and touched up front (-Xms = -Xmx, AlwaysPreTouch, serial
     * GC): the heap then adds nothing to the resident set as the loop goes on, and a growth of RSS is native memory.
     * In this JVM the heap may grow (and the CI machine's differs from ours), so RSS measured here is not a leak test.
     * Returns the child's output; fails when it exits non-zero.
     */
    static String runWithFixedHeap(Class<?> main, String... args) throws IOException, InterruptedException {
        List<String> cmd = ChildJvm.command(List.of("-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC"),
                System.getProperty("java.class.path"), main.getName(), args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private static int indexOf(byte[] a, byte[] p) {
        outer:
        for (int i = 0; i + p.length <= a.length; i++) {
            for (int j = 0; j < p.length; j++) {
                if (a[i + j] != p[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @SuppressWarnings("unused")
    private static InputStream bytes(byte[] b) {
        return new ByteArrayInputStream(b);
    }
}
