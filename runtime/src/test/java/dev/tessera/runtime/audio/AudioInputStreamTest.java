package dev.tessera.runtime.audio;

import static dev.tessera.runtime.audio.AudioDecoderTest.fixture;
import static dev.tessera.runtime.audio.AudioDecoderTest.readAll;
import static dev.tessera.runtime.audio.AudioDecoderTest.rssKb;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Decoding from an {@link InputStream}: FFmpeg reads it through a callback, forward only, without a temp file. */
class AudioInputStreamTest {

    /**
     * Every container of the fixtures decodes from an InputStream to exactly the samples of the path decode.
     * MP4/M4A files with the index at the end are spooled (they need seeking); the rest stream.
     */
    @ParameterizedTest
    @CsvSource({"stereo_44k.wav, false", "mono_8k.wav, false", "stereo_44k.flac, false", "librivox_22k.flac, false",
            "stereo_22k.mp3, false", "librivox_44k_stereo.mp3, false", "stereo_48k.opus, false",
            "librivox_48k.opus, false", "stereo_44k.m4a, true", "librivox_32k.m4a, true",
            "stereo_44k_faststart.m4a, false", "video_with_audio.mp4, true", "video_with_audio.webm, false",
            "mc_71.wav, false",
            "rate_change.mp3, false"})
    void inputStreamDecodeEqualsPathDecode(String file, boolean spooled) throws Exception {
        float[] viaPath = AudioDecoder.decode(fixture(file), 16_000);
        AudioInfo pathInfo = AudioDecoder.probe(fixture(file));
        try (InputStream in = Files.newInputStream(fixture(file)); AudioStream s = AudioDecoder.open(in, 16_000)) {
            assertEquals(spooled, s.spooled(), file + ": spooled to a temporary file");
            assertEquals(pathInfo.codec(), s.info().codec(), file);
            assertEquals(pathInfo.channels(), s.info().channels(), file);
            assertEquals(pathInfo.sampleRate(), s.info().sampleRate(), file);
            float[] viaStream = readAll(s);
            assertEquals(viaPath.length, viaStream.length, file + ": length");
            assertTrue(Arrays.equals(viaPath, viaStream), file + ": InputStream decode differs from the path decode");
        }
        // The faststart remux holds the same AAC packets as stereo_44k.m4a: streamed, it decodes identically.
        if (file.equals("stereo_44k_faststart.m4a")) {
            assertTrue(Arrays.equals(AudioDecoder.decode(fixture("stereo_44k.m4a"), 16_000), viaPath));
        }
    }

    /**
     * A streamed MP3 is trimmed by its LAME header only when exactly the announced frames arrive: two tagged
     * MP3s concatenated decode whole (as FFmpeg decodes that file), and an MP3 behind a 100 kB ID3 tag (cover
     * art) is still trimmed.
     */
    @Test
    void mp3GaplessTrimOnlyWhereFfmpegAppliesIt() throws Exception {
        byte[] mp3 = Files.readAllBytes(fixture("stereo_22k.mp3"));
        LameTag tag = LameTag.parse(mp3);
        assertTrue(tag != null && tag.endTrim() > 0, "fixture has a LAME header: " + tag);
        byte[] twice = new byte[2 * mp3.length];
        System.arraycopy(mp3, 0, twice, 0, mp3.length);
        System.arraycopy(mp3, 0, twice, mp3.length, mp3.length);
        byte[] id3 = new byte[10 + 100_000 + mp3.length];
        id3[0] = 'I';
        id3[1] = 'D';
        id3[2] = '3';
        id3[3] = 4;
        for (int i = 0; i < 4; i++) {
            id3[9 - i] = (byte) ((100_000 >> (7 * i)) & 0x7f); // syncsafe size of an all-padding tag
        }
        System.arraycopy(mp3, 0, id3, 10 + 100_000, mp3.length);
        assertEquals(tag, LameTag.parse(id3), "the LAME header is found behind the ID3 tag");
        float[] single = AudioDecoder.decode(fixture("stereo_22k.mp3"), 16_000);
        for (byte[] b : new byte[][] {twice, id3}) {
            Path tmp = Files.createTempFile("mp3", ".mp3");
            try {
                Files.write(tmp, b);
                float[] fromFile = AudioDecoder.decode(tmp, 16_000);
                float[] fromStream = AudioDecoder.decode(new ByteArrayInputStream(b), 16_000);
                assertTrue(Arrays.equals(fromFile, fromStream), "file and stream decodes differ, " + b.length + " bytes: " + fromFile.length + " vs " + fromStream.length);
                assertTrue(fromFile.length > (b == twice ? 2 * single.length : single.length - 1), "length " + fromFile.length);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        assertTrue(Arrays.equals(single, AudioDecoder.decode(new ByteArrayInputStream(id3), 16_000)));
    }

    /**
     * Decoding from streams many times (also failing ones) leaks nothing native. Runs in a child JVM with a
     * fixed, pre-touched heap ({@link AudioDecoderTest#runWithFixedHeap}), so that its resident memory moves only
     * with native allocations: after 60 warm-up rounds, 240 more rounds (720 decodes) may not grow it by 8 MB (a
     * leaked 64 kB read buffer per decode would add 45 MB).
     */
    @Test
    void repeatedStreamDecodesKeepMemoryFlat() throws Exception {
        AudioDecoderTest.assertFlat(AudioDecoderTest.runWithFixedHeap(LeakLoop.class,
                fixture("stereo_48k.opus").toString(), fixture("stereo_22k.mp3").toString()), 8 * 1024,
                "720 stream decodes");
    }

    /** The child JVM of {@link #repeatedStreamDecodesKeepMemoryFlat}: prints "rss BEFORE AFTER JAVACPP_DELTA". */
    public static final class LeakLoop {
        public static void main(String[] a) throws Exception {
            byte[] opus = Files.readAllBytes(Path.of(a[0]));
            byte[] mp3 = Files.readAllBytes(Path.of(a[1]));
            long rss0 = 0;
            long javacpp0 = 0;
            for (int i = 0; i < 300; i++) {
                if (i == 60) {
                    System.gc();
                    rss0 = rssKb();
                    javacpp0 = Pointer.totalBytes();
                }
                AudioDecoder.decode(new ByteArrayInputStream(opus), 16_000);
                AudioDecoder.decode(new ByteArrayInputStream(mp3), 16_000);
                try {
                    AudioDecoder.decode(failing(new ByteArrayInputStream(mp3), 5_000, new IOException("x")), 16_000);
                    throw new AssertionError("the failing stream decoded");
                } catch (IOException expected) {
                    // the failure path frees everything too
                }
            }
            System.gc();
            System.out.println("rss " + rss0 + " " + rssKb() + " " + (Pointer.totalBytes() - javacpp0));
        }
    }

    /** A stream that hands out a few bytes per read (as a socket may) gives the same samples. */
    @Test
    void tinyReadsGiveTheSameSamples() throws Exception {
        byte[] b = Files.readAllBytes(fixture("stereo_48k.opus"));
        InputStream trickle = new ByteArrayInputStream(b) {
            @Override
            public synchronized int read(byte[] buf, int off, int len) {
                return super.read(buf, off, Math.min(len, 7));
            }
        };
        assertTrue(Arrays.equals(AudioDecoder.decode(fixture("stereo_48k.opus"), 16_000),
                AudioDecoder.decode(trickle, 16_000)));
    }

    /** An InputStream failing mid-way: an IOException (the stream's own as the cause) from read, no crash, no leak. */
    @Test
    void streamThatThrowsMidWaySurfacesAsIOException() throws Exception {
        byte[] wav = Files.readAllBytes(fixture("stereo_44k.wav")); // 218 kB
        int sources = AudioStream.StreamSource.SOURCES.size();
        IOException boom = new IOException("disk on fire");
        for (int failAt : new int[] {6_000_000, 9_000_000}) { // 10 minutes of 8 kHz WAV: 9.6 MB
            try (AudioStream s = AudioDecoder.open(failing(new SyntheticWav(8000, 8000 * 600), failAt, boom), 16_000)) {
                float[] buf = new float[1024];
                IOException e = assertThrows(IOException.class, () -> {
                    while (s.read(buf, 0, buf.length) > 0) {
                        // until the stream throws
                    }
                });
                assertSame(boom, e.getCause(), "the stream's exception is the cause");
                assertTrue(e.getMessage().contains("disk on fire"), e.getMessage());
                assertTrue(s.samplesRead() > 0, "samples before the failure were delivered");
            }
        }
        // Failing while the format is probed (inside open): open throws.
        IOException e = assertThrows(IOException.class, () -> AudioDecoder.open(failing(new ByteArrayInputStream(wav), 1_000, boom), 16_000));
        assertSame(boom, e.getCause());
        byte[] mp3 = Files.readAllBytes(fixture("librivox_44k_stereo.mp3"));
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(failing(new ByteArrayInputStream(mp3), mp3.length - 3000, boom), 16_000));
        assertSame(boom, e.getCause());
        // An MP4 that has to be spooled: the failure comes while copying it, from open.
        byte[] m4a = Files.readAllBytes(fixture("stereo_44k.m4a"));
        e = assertThrows(IOException.class, () -> AudioDecoder.open(failing(new ByteArrayInputStream(m4a), m4a.length - 500, boom), 16_000));
        assertSame(boom, e.getCause());
        // Unchecked exceptions from the stream are wrapped the same way.
        RuntimeException bug = new IllegalStateException("bug in the stream");
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(failing(new SyntheticWav(8000, 8000 * 600), 7_000_000, bug), 16_000));
        assertSame(bug, e.getCause());
        assertEquals(sources, AudioStream.StreamSource.SOURCES.size(), "callback registrations released");
    }

    /** Bad and edge-case input through a stream: the same clear errors as for files. */
    @Test
    void badInputThroughAStream() throws Exception {
        IOException e = assertThrows(IOException.class, () -> AudioDecoder.open(new ByteArrayInputStream(new byte[0]), 16_000));
        assertTrue(e.getMessage().contains("empty stream"), e.getMessage());
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(
                new ByteArrayInputStream("plain text, not audio\n".repeat(50).getBytes()), 16_000));
        assertTrue(e.getMessage().contains("<input stream>"), e.getMessage());
        e = assertThrows(IOException.class, () -> AudioDecoder.decode(
                Files.newInputStream(fixture("video_no_audio.mp4")), 16_000));
        assertTrue(e.getMessage().contains("no audio stream"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AudioDecoder.open((InputStream) null, 16_000));
        assertThrows(IllegalArgumentException.class, () -> AudioDecoder.open(new ByteArrayInputStream(new byte[8]), 7));
        // A truncated MP3 streamed: what is there, the same as decoding the truncated file.
        byte[] mp3 = Files.readAllBytes(fixture("stereo_22k.mp3"));
        byte[] cut = Arrays.copyOf(mp3, mp3.length / 2 + 7);
        Path tmp = Files.createTempFile("cut", ".mp3");
        try {
            Files.write(tmp, cut);
            float[] fromFile = AudioDecoder.decode(tmp, 16_000);
            float[] fromStream = AudioDecoder.decode(new ByteArrayInputStream(cut), 16_000);
            assertTrue(fromStream.length > 0 && fromStream.length < AudioDecoder.decode(fixture("stereo_22k.mp3"), 16_000).length);
            assertTrue(Arrays.equals(fromFile, fromStream), "truncated MP3: stream and file decode alike");
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Silence stays exactly zero, at the exact length; 0.1 s of audio gives round(0.1 · rate) samples. */
    @Test
    void silenceAndATenthOfASecond() throws Exception {
        float[] z = AudioDecoder.decode(new ByteArrayInputStream(wav16(44_100, 2, new short[2 * 44_100])), 16_000);
        assertEquals(16_000, z.length);
        for (float v : z) {
            assertEquals(0f, v);
        }
        short[] tenth = new short[2205];
        for (int i = 0; i < tenth.length; i++) {
            tenth[i] = (short) (8000 * Math.sin(2 * Math.PI * 500 * i / 22_050.0));
        }
        float[] t = AudioDecoder.decode(new ByteArrayInputStream(wav16(22_050, 1, tenth)), 16_000);
        assertEquals(1600, t.length);
        // A 500 Hz tone at 8000/32768 resampled: the amplitude survives (away from the edges).
        double peak = 0;
        for (int i = 200; i < 1400; i++) {
            assertTrue(Float.isFinite(t[i]));
            peak = Math.max(peak, Math.abs(t[i]));
        }
        assertEquals(8000 / 32768.0, peak, 0.005);
    }

    /**
     * Three hours of audio generated on the fly by an InputStream (a WAV header, then 8 kHz 16-bit PCM: 173 MB
     * that never exist at once) decoded at 16 kHz in 30 s chunks: exactly twice the input samples come out,
     * the signal is right at the end, and the Java heap (after GC), JavaCPP's native allocations and the
     * process's resident memory stay flat from the 10-minute mark to the end. Runs in a child JVM with a fixed heap
     * ({@link AudioDecoderTest#runWithFixedHeap}), where resident memory moves only with native allocations.
     */
    @Test
    void threeHourStreamInFlatMemory() throws Exception {
        String out = AudioDecoderTest.runWithFixedHeap(ThreeHourStreamLoop.class);
        long n = 3L * 3600 * 8000;
        assertTrue(out.contains("samples " + 2 * n + "\n"), "3 h at 8 kHz → exactly twice the samples at 16 kHz: "
                + out);
        long heapGrowth = Long.parseLong(out.lines().filter(l -> l.startsWith("heap ")).findFirst()
                .orElseThrow(() -> new AssertionError(out)).substring(5));
        assertTrue(heapGrowth < 8 << 20, "heap grew by " + heapGrowth + " bytes: " + out);
        AudioDecoderTest.assertFlat(out, 32 * 1024, "3 h of audio streamed from an InputStream");
        // The last second is the 300 Hz tone at amplitude 0.25 (RMS 0.177), not silence or garbage.
        double rms = Double.parseDouble(out.lines().filter(l -> l.startsWith("rms ")).findFirst()
                .orElseThrow(() -> new AssertionError(out)).substring(4));
        assertEquals(0.25 / Math.sqrt(2), rms, 0.01, "RMS of the last second");
    }

    /**
     * The child JVM of {@link #threeHourStreamInFlatMemory}: prints "samples N", "rms X", "heap GROWTH" and
     * "rss AT_10_MIN MAX JAVACPP_DELTA".
     */
    public static final class ThreeHourStreamLoop {
        public static void main(String[] a) throws Exception {
            int rate = 8000;
            long n = 3L * 3600 * rate;
            Runtime rt = Runtime.getRuntime();
            long total = 0;
            long heap0 = -1;
            long rss0 = -1;
            long rssMax = 0;
            long javacpp0 = -1;
            float[] buf = new float[16_000 * 30];
            double lastSq = 0;
            try (AudioStream s = AudioDecoder.open(new SyntheticWav(rate, n), 16_000)) {
                if (s.spooled()) {
                    throw new AssertionError("a forward-only stream was spooled");
                }
                int r;
                while ((r = s.read(buf, 0, buf.length)) > 0) {
                    long before = total;
                    total += r;
                    if (before < 16_000L * 600 && total >= 16_000L * 600) {
                        System.gc();
                        heap0 = rt.totalMemory() - rt.freeMemory();
                        javacpp0 = Pointer.totalBytes();
                        rss0 = rssKb();
                    } else if (heap0 >= 0 && before / (16_000L * 1800) != total / (16_000L * 1800)) {
                        rssMax = Math.max(rssMax, rssKb()); // every 30 min of audio
                    }
                    if (total > 2 * n - 16_000) {
                        for (int i = 0; i < r; i++) {
                            lastSq += (double) buf[i] * buf[i];
                        }
                    }
                }
            }
            System.gc();
            rssMax = Math.max(rssMax, rssKb());
            System.out.println("samples " + total);
            System.out.println("rms " + Math.sqrt(lastSq / 16_000));
            System.out.println("heap " + (rt.totalMemory() - rt.freeMemory() - heap0));
            System.out.println("rss " + rss0 + " " + rssMax + " " + (Pointer.totalBytes() - javacpp0));
        }
    }

    /** {@code src}'s bytes, then {@code t} thrown once {@code failAt} bytes have been read. */
    static InputStream failing(InputStream src, long failAt, Throwable t) {
        return new InputStream() {
            long pos;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                if (pos >= failAt) {
                    sneakyThrow(t);
                }
                int n = src.read(buf, off, (int) Math.min(len, failAt - pos));
                pos += Math.max(n, 0);
                return n;
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }

    /** A 16-bit PCM WAV file in memory. */
    static byte[] wav16(int rate, int channels, short[] interleaved) {
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * interleaved.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(header(rate, channels, 2L * interleaved.length));
        for (short v : interleaved) {
            b.putShort(v);
        }
        return b.array();
    }

    static byte[] header(int rate, int channels, long dataBytes) {
        ByteBuffer h = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        h.put("RIFF".getBytes()).putInt((int) Math.min(0xffffffffL, 36 + dataBytes)).put("WAVE".getBytes())
                .put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) channels).putInt(rate)
                .putInt(rate * channels * 2).putShort((short) (channels * 2)).putShort((short) 16)
                .put("data".getBytes()).putInt((int) dataBytes);
        return h.array();
    }

    /** A mono 16-bit WAV of {@code n} samples of a 300 Hz tone at amplitude 0.25, made as it is read. */
    static final class SyntheticWav extends InputStream {
        private final byte[] head;
        private final byte[] period; // one second of PCM, repeated
        private final long size;
        private long pos;

        SyntheticWav(int rate, long n) {
            head = header(rate, 1, 2 * n);
            period = new byte[2 * rate];
            ByteBuffer p = ByteBuffer.wrap(period).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < rate; i++) {
                p.putShort((short) Math.round(0.25 * 32768 * Math.sin(2 * Math.PI * 300 * i / rate)));
            }
            size = head.length + 2 * n;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= size) {
                return -1;
            }
            if (pos < head.length) {
                int k = (int) Math.min(len, head.length - pos);
                System.arraycopy(head, (int) pos, b, off, k);
                pos += k;
                return k;
            }
            int at = (int) ((pos - head.length) % period.length);
            int k = (int) Math.min(Math.min(len, period.length - at), size - pos);
            System.arraycopy(period, at, b, off, k);
            pos += k;
            return k;
        }
    }

    /**
     * A stream closed by another thread while one reads it (a request cancelled mid-decode): the close waits for the
     * read in progress instead of freeing FFmpeg's contexts under it; the reader then gets "closed".
     */
    @Test
    void closeFromAnotherThreadWhileReading() throws Exception {
        for (int round = 0; round < 20; round++) {
            AudioStream s = AudioDecoder.open(fixture("librivox_44k_stereo.mp3"), 16_000);
            java.util.concurrent.atomic.AtomicReference<Throwable> wrong = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicLong samples = new java.util.concurrent.atomic.AtomicLong();
            Thread reader = new Thread(() -> {
                float[] buf = new float[64];
                try {
                    for (int n; (n = s.read(buf, 0, buf.length)) > 0; ) {
                        samples.addAndGet(n);
                    }
                } catch (IllegalStateException e) {
                    if (!e.getMessage().contains("closed")) {
                        wrong.set(e);
                    }
                } catch (Throwable e) {
                    wrong.set(e);
                }
            });
            reader.start();
            Thread.sleep(round % 5);
            s.close();
            reader.join(60_000);
            assertEquals(null, wrong.get(), "the reader saw samples, the end or 'closed', nothing else");
        }
    }
}
