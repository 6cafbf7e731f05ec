package dev.tessera.runtime.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.audio.WavReader;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.RgbImage;
import dev.tessera.runtime.testing.Fuzz;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged files through every reader of the runtime (see {@link Fuzz}): each accepts the file or refuses it with a
 * clear {@link IllegalArgumentException} / {@link IOException}; no other exception, no allocation sized by a lying
 * header, no crash in the native decoders (OpenCV, FFmpeg). CI runs a few hundred mutations per format;
 * {@code -Dtessera.fuzz.iterations=N} runs N per seed file.
 */
class DamagedFilesFuzzTest {
    @TempDir
    Path dir;

    static byte[] resource(String name) {
        try {
            return Files.readAllBytes(Path.of(DamagedFilesFuzzTest.class.getResource(name).toURI()));
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] npyBytes(String descr, boolean fortran, String shape, int itemBytes, int count) {
        String header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': "
                + shape + ", }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + itemBytes * count).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < itemBytes * count; i++) {
            b.put((byte) (i * 37 + 11));
        }
        return b.array();
    }

    @Test
    void npy() throws Exception {
        Path f = dir.resolve("a.npy");
        List<byte[]> seeds = new ArrayList<>();
        Npy.writeFloats(f, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        seeds.add(Files.readAllBytes(f));
        Npy.writeInts(f, new int[] {7, 8, 9}, 3);
        seeds.add(Files.readAllBytes(f));
        Npy.writeLongs(f, new long[] {1, 2, 3, 4}, 2, 1, 2);
        seeds.add(Files.readAllBytes(f));
        seeds.add(npyBytes("<f8", false, "(4,)", 8, 4));
        seeds.add(npyBytes(">f4", false, "(2, 2)", 4, 4));
        seeds.add(npyBytes("<f4", true, "(3, 2)", 4, 6));
        seeds.add(npyBytes("|u1", false, "(5,)", 1, 5));
        seeds.add(npyBytes("<f2", false, "()", 2, 1));
        int ok = Fuzz.run("npy", seeds, Fuzz.iterations(300), 1, in -> {
            Npy.Array a = Npy.read(in, "fuzz.npy");
            long n = a.numel();
            long have = a.floats() != null ? a.floats().length : a.ints() != null ? a.ints().length
                    : a.longs().length;
            assertTrue(n == have, () -> "numel " + n + " but " + have + " values");
        });
        assertTrue(ok > 0, "some mutations keep a readable file");
    }

    private static byte[] idxBytes(int type, int itemBytes, int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + n * itemBytes).order(ByteOrder.BIG_ENDIAN);
        b.put((byte) 0).put((byte) 0).put((byte) type).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        for (int i = 0; i < n * itemBytes; i++) {
            b.put((byte) (i * 13));
        }
        return b.array();
    }

    @Test
    void idx() {
        List<byte[]> seeds = List.of(idxBytes(0x08, 1, 3, 4, 5), idxBytes(0x08, 1, 10), idxBytes(0x0D, 4, 2, 3),
                idxBytes(0x0B, 2, 4), idxBytes(0x0C, 4, 2, 2), idxBytes(0x0E, 8, 3));
        Fuzz.run("idx", seeds, Fuzz.iterations(300), 2, in -> {
            Idx.Array a = Idx.read(new ByteArrayInputStream(in), "fuzz.idx");
            assertTrue(a.data().length == a.size(), "values match the dims");
        });
    }

    private static byte[] wav(int format, int channels, int rate, int bits, int frames, boolean extensible) {
        int blockAlign = channels * bits / 8;
        int data = frames * blockAlign;
        int fmtLen = extensible ? 40 : 16;
        ByteBuffer b = ByteBuffer.allocate(12 + 8 + fmtLen + 8 + data).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(4 + 8 + fmtLen + 8 + data)
                .put("WAVE".getBytes(StandardCharsets.US_ASCII)).put("fmt ".getBytes(StandardCharsets.US_ASCII))
                .putInt(fmtLen).putShort((short) (extensible ? 0xFFFE : format)).putShort((short) channels)
                .putInt(rate).putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) bits);
        if (extensible) {
            b.putShort((short) 22).putShort((short) bits).putInt(channels == 2 ? 3 : 4);
            b.putShort((short) format).put(new byte[] {0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38,
                (byte) 0x9B, 0x71});
        }
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(data);
        for (int i = 0; i < data; i++) {
            b.put((byte) (i * 29 + 3));
        }
        return b.array();
    }

    private static List<byte[]> wavSeeds() {
        return List.of(wav(1, 1, 16000, 16, 300, false), wav(3, 2, 44100, 32, 200, false),
                wav(1, 2, 8000, 24, 100, false), wav(1, 1, 22050, 8, 200, false), wav(1, 2, 48000, 16, 150, true),
                wav(3, 1, 16000, 64, 50, false));
    }

    @Test
    void wavReader() {
        Fuzz.run("wav", wavSeeds(), Fuzz.iterations(300), 3, in -> {
            WavReader.Audio a = WavReader.read(in, "fuzz.wav");
            assertTrue(a.samples().length > 0 && a.channels() > 0 && a.sampleRate() > 0, "a non-empty clip");
            for (float v : a.samples()) {
                assertTrue(Float.isFinite(v), "NaN and infinite samples are refused");
            }
        });
    }

    @Test
    void safetensors() throws Exception {
        Path f = dir.resolve("seed.safetensors");
        List<byte[]> seeds = new ArrayList<>();
        try (var scope = Tessera.scope()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("a.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, Device.CPU, 2, 3));
            t.put("b", Ops.convert(Tensor.of(new float[] {7, 8}, Device.CPU, 2), DType.F16));
            t.put("c.bias", Ops.convert(Tensor.of(new float[] {1, 2, 3}, Device.CPU, 3), DType.BF16));
            Safetensors.write(f, t, Map.of("format", "pt"));
            seeds.add(Files.readAllBytes(f));
            Safetensors.write(f, Map.of("only", Tensor.of(new float[] {1}, Device.CPU, 1)), Map.of());
            seeds.add(Files.readAllBytes(f));
        }
        Path g = dir.resolve("fuzz.safetensors");
        Fuzz.run("safetensors", seeds, Fuzz.iterations(300), 4, in -> {
            Files.write(g, in);
            try (Safetensors st = Safetensors.open(g); var scope = Tessera.scope()) {
                for (String name : st.names()) {
                    st.load(name, Device.CPU).toFloatArray();
                }
            }
        });
    }

    @Test
    void images() {
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of("small.png", "gray.png", "rgba.png", "exif6.jpg", "small.bmp", "small.tiff",
                "small.webp", "gif_transparent.gif", "gif_offset.gif",
                "cmyk_exif6.jpg", "ycck420.jpg", "gray16_low.png", "gray16.tiff",
                "alpha_rgba_assoc_lzw.tiff", "rle8_odd.bmp", "rle4_edges.bmp", "os2_pal8.bmp", "cmyk_lzw.tiff",
                "gray4_whiteiszero.tiff", "bigtiff_o6.tiff", "rgba16_assoc_predictor.tiff", "cmyk_jpeg.tiff",
                "pnm_p1.pbm", "pnm_p2_1000.pgm", "pnm_p6_65535.ppm", "avif_420_limited.avif",
                "avif_irot1.avif")) {
            seeds.add(resource("/image/" + name));
        }
        ImageDecoder decoder = new ImageDecoder(4_000_000);
        Fuzz.run("image", seeds, Fuzz.iterations(150), 5, in -> {
            RgbImage img = decoder.decode(in, "fuzz.img");
            assertTrue(img.width() > 0 && img.height() > 0, "a decoded image has pixels");
        });
    }

    @Test
    void audioThroughFfmpeg() {
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of("stereo_22k.mp3", "librivox_48k.opus", "stereo_44k.m4a", "video_with_audio.webm",
                "mc_mono.wav", "damaged_image.avif")) {
            seeds.add(resource("/audio/" + name));
        }
        seeds.add(wav(1, 1, 16000, 16, 300, false));
        Fuzz.run("audio", seeds, Fuzz.iterations(40), 6, in -> {
            float[] x = AudioDecoder.decode(new ByteArrayInputStream(in), 16000);
            for (float v : x) {
                assertTrue(Float.isFinite(v), "decoded samples are finite");
            }
        });
    }

    /** The inputs the fuzzer first broke the readers with, kept as plain cases. */
    @Test
    void headersThatLieAboutSizes() {
        // a shape whose element count overflows a long: was an ArithmeticException
        byte[] npy = npyBytes("<f4", false, "(4294967296, 4294967296, 16)", 4, 2);
        IOException e = assertThrows(IOException.class, () -> Npy.read(npy, "big.npy"));
        assertTrue(e.getMessage().contains("needs"), e.getMessage());
        // IDX dimensions of 2^31-1 x 1 on a 20-byte file: was a 2 GB allocation before reading (OutOfMemoryError)
        byte[] idx = idxBytes(0x08, 1, 1, 1);
        ByteBuffer.wrap(idx).putInt(4, Integer.MAX_VALUE - 16);
        e = assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(idx), "big.idx"));
        assertTrue(e.getMessage().contains("the file has 1"), e.getMessage());
        byte[] idx4 = idxBytes(0x0D, 4, 1, 1);
        ByteBuffer.wrap(idx4).putInt(4, 1 << 29); // 2^29 floats: 2 GiB, was an ArithmeticException
        e = assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(idx4), "big.idx"));
        assertTrue(e.getMessage().contains("more than one Java array holds"), e.getMessage());
        // a WAV chunk whose length runs past 2 GB before the data chunk: was an IndexOutOfBoundsException
        byte[] wav = wav(1, 1, 16000, 16, 10, false);
        ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 0x7ffffff8);
        e = assertThrows(IOException.class, () -> WavReader.read(wav, "long-chunk.wav"));
        assertTrue(e.getMessage().contains("no fmt chunk") || e.getMessage().contains("no data chunk"), e.getMessage());
    }
}
