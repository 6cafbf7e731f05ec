package dev.tessera.runtime.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.Addresses;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    private final List<Tensor> open = new ArrayList<>();

    @AfterEach
    void closeAll() {
        open.forEach(Tensor::close);
        SafetensorsFile.maxMap = 1L << 30;
    }

    private Tensor keep(Tensor t) {
        open.add(t);
        return t;
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] raw(Tensor t) {
        byte[] b = new byte[Math.toIntExact(t.numel() * t.dtype().size())];
        if (b.length > 0) {
            new BytePointer(Addresses.pointer(t.address())).get(b, 0, b.length);
        }
        return b;
    }

    /** A CPU tensor of {@code dtype} filled with random bits (all patterns, NaN payloads included). */
    private Tensor randomBits(DType dtype, Random rnd, long... shape) {
        Tensor t = keep(Tensor.empty(dtype, Device.CPU, shape));
        byte[] b = new byte[Math.toIntExact(t.numel() * dtype.size())];
        rnd.nextBytes(b);
        if (b.length > 0) {
            new BytePointer(Addresses.pointer(t.address())).put(b, 0, b.length);
        }
        return t;
    }

    /** An independent safetensors writer: the 8-byte length, the header text as given, then the data. */
    private Path handMade(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return handMade(name, h.length, h, data);
    }

    private Path handMade(String name, long headerLen, byte[] header, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerLen).array());
        out.write(header);
        out.write(data);
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private String rejected(Path file, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            try (Safetensors s = Safetensors.openStrict(file)) {
                s.names();
            }
        });
        assertTrue(e.getMessage().contains(file.toString()), "message names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
        return e.getMessage();
    }

    private static final String T1 = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":";

    // ------------------------------------------------------------------ round trip

    /**
     * A file cut short after it was opened (a {@code cp} over it truncates it first): a load names the file instead of
     * reading past its end, which faults (SIGBUS) and crashed the JVM when the copy ran in native code. Both orders:
     * cut before the load (caught by the size check) and cut while the mapping is being read (the JVM's fault on a
     * Java access, turned into an IOException).
     */
    @Test
    void aFileCutShortWhileOpenFailsWithItsNameAndDoesNotCrash() throws IOException {
        Random rnd = new Random(7);
        Map<String, Tensor> ts = new LinkedHashMap<>();
        ts.put("a", randomBits(DType.F32, rnd, 1 << 18)); // 1 MiB
        ts.put("b", randomBits(DType.F32, rnd, 1 << 18));
        Path file = dir.resolve("cut.safetensors");
        Safetensors.write(file, ts, Map.of());
        long size = Files.size(file);
        try (Safetensors s = Safetensors.open(file)) {
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(size - (1 << 19)); // half of "b" gone
            }
            try (Tensor a = s.load("a", Device.CPU)) {
                assertArrayEquals(raw(ts.get("a")), raw(a)); // before the cut: still readable
            }
            java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                    () -> s.load("b", Device.CPU));
            assertTrue(e.getCause().getMessage().contains(file.toString())
                    && e.getCause().getMessage().contains("shorter than its header says"), e.getCause().getMessage());
        }
        // cut while the mapping is read: truncate from inside the sink, then read the (now missing) pages
        Safetensors.write(file, ts, Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file, true); Tensor dst = Tensor.empty(DType.F32, Device.CPU,
                1 << 18)) {
            TensorInfo b = f.tensors().get("b");
            IOException e = assertThrows(IOException.class, () -> f.withMapped(b, (src, off) -> {
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(0);
                }
                SafetensorsFile.copy(src, dst.address() + off);
            }));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("changed while tensor 'b'"),
                    e.getMessage());
        }
    }

    @Test
    void roundTripIsBitExactAndDeterministic() throws IOException {
        Random rnd = new Random(42);
        Map<String, Tensor> ts = new LinkedHashMap<>();
        ts.put("z.f32", randomBits(DType.F32, rnd, 3, 5, 7));
        ts.put("a.f16", randomBits(DType.F16, rnd, 2, 1, 3));
        ts.put("m.bf16", randomBits(DType.BF16, rnd, 7));
        ts.put("scalar.i32", randomBits(DType.I32, rnd));
        ts.put("empty.i64", randomBits(DType.I64, rnd, 0, 4));
        ts.put("i64", randomBits(DType.I64, rnd, 3, 1));
        ts.put("odd.bf16", randomBits(DType.BF16, rnd, 1, 1, 1, 3));
        ts.put("empty.f16", randomBits(DType.F16, rnd, 5, 0));
        ts.put("q.i8", randomBits(DType.I8, rnd, 3, 7));
        Map<String, String> meta = Map.of("format", "pt", "epoch", "3", "ünï", "cödé \"quoted\"");
        Path p = dir.resolve("rt.safetensors");
        Safetensors.write(p, ts, meta);

        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header padded to 8 bytes");
        long sum = 0;
        for (Tensor t : ts.values()) {
            sum += t.numel() * t.dtype().size();
        }
        assertEquals(8 + n + sum, bytes.length, "contiguous data, nothing else");
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\""), header);
        assertTrue(header.matches("(?s)\\{.*\\} {0,7}"), "only trailing spaces pad the header: " + header);

        try (Safetensors s = Safetensors.openStrict(p)) {
            assertEquals(new TreeMap<>(ts).keySet(), s.names());
            assertEquals(meta, s.metadata());
            assertEquals(List.of(p), s.files());
            long expectedBegin = 0;
            for (String name : s.names()) { // sorted order, contiguous offsets
                TensorInfo info = s.info(name);
                assertEquals(expectedBegin, info.begin(), name);
                expectedBegin = info.end();
            }
            for (Map.Entry<String, Tensor> e : ts.entrySet()) {
                Tensor want = e.getValue();
                TensorInfo info = s.info(e.getKey());
                assertEquals(want.dtype(), info.dtype(), e.getKey());
                assertEquals(want.dtype().name(), info.format());
                assertArrayEquals(want.shape(), info.shape(), e.getKey());
                Tensor got = keep(s.load(e.getKey(), Device.CPU));
                assertEquals(want.dtype(), got.dtype());
                assertArrayEquals(want.shape(), got.shape(), e.getKey());
                assertArrayEquals(raw(want), raw(got), e.getKey() + " bit-exact");
            }
        }

        try (Safetensors s = Safetensors.open(p)) { // raw bytes are not converted to a floating type
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> s.load("q.i8", Device.CPU, DType.F32));
            assertTrue(e.getMessage().contains("q.i8") && e.getMessage().contains("I8"), e.getMessage());
        }

        Path q = dir.resolve("rt2.safetensors");
        Map<String, Tensor> reordered = new TreeMap<>(java.util.Comparator.reverseOrder());
        reordered.putAll(ts);
        Safetensors.write(q, reordered, new TreeMap<>(meta));
        assertEquals(-1, Files.mismatch(p, q), "same inputs, same bytes");
        Safetensors.write(q, ts, meta); // overwrite in place
        assertEquals(-1, Files.mismatch(p, q));
    }

    @Test
    void writesEmptyCheckpointAndNonContiguousViews() throws IOException {
        Path p = dir.resolve("empty.safetensors");
        Safetensors.write(p, Map.of(), null);
        try (Safetensors s = Safetensors.openStrict(p)) {
            assertTrue(s.names().isEmpty());
            assertTrue(s.metadata().isEmpty());
        }
        Tensor m = keep(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        Tensor mt = keep(m.t());
        Safetensors.write(p, Map.of("mt", mt), Map.of());
        try (Safetensors s = Safetensors.open(p)) {
            Tensor got = keep(s.load("mt", Device.CPU));
            assertArrayEquals(new long[] {3, 2}, got.shape());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, got.toFloatArray());
        }
    }

    @Test
    void chunkedMappingGivesTheSameBytes() throws IOException {
        Random rnd = new Random(7);
        Tensor f = randomBits(DType.F32, rnd, 3, 5, 7);
        Tensor h = randomBits(DType.BF16, rnd, 13);
        Path p = dir.resolve("chunks.safetensors");
        Safetensors.write(p, Map.of("f", f, "h", h), null);
        assertTrue(SafetensorsFile.unmapsEagerly(), "mappings are released after each copy");
        SafetensorsFile.maxMap = 13; // rounds to 8-byte pieces
        try (Safetensors s = Safetensors.open(p)) {
            assertArrayEquals(raw(f), raw(keep(s.load("f", Device.CPU))));
            assertArrayEquals(raw(h), raw(keep(s.load("h", Device.CPU))));
            Tensor h32 = keep(s.load("h", Device.CPU, DType.F32));
            try (Tensor ref = Ops.convert(h, DType.F32)) {
                assertArrayEquals(raw(ref), raw(h32));
            }
        }
    }

    // ------------------------------------------------------------------ independent writer

    @Test
    void readsAFileBuiltByHand() throws IOException {
        // data laid out in another order than the header lists the tensors, as other writers may do
        ByteBuffer d = le(4 * 4 + 2 * 2 + 2 * 2 + 2 * 8 + 8 + 3);
        d.putFloat(1.5f).putFloat(-2.25f).putFloat(1e-3f).putFloat(Float.intBitsToFloat(0x7f800000)); // x [0,16)
        d.putShort((short) 0x3C00).putShort((short) 0xC000); // w F16: 1, -2 [16,20)
        d.putShort((short) 0x3F80).putShort((short) 0x4049); // b BF16: 1, 3.140625 [20,24)
        d.putLong(-5L).putLong(1L << 40); // i I64 [24,40)
        d.putDouble(0.1); // dd F64 [40,48)
        d.put((byte) 1).put((byte) 2).put((byte) 3); // u U8 [48,51)
        String header = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"hand made\"},"
                + "\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
                + "\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[20,24]},"
                + "\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[24,40]},"
                + "\"dd\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[40,48]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[48,48]},"
                + "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[48,51]}}   ";
        Path p = handMade("hand.safetensors", header, d.array());
        try (Safetensors s = Safetensors.openStrict(p)) {
            assertEquals(Set.of("b", "dd", "e", "i", "u", "w", "x"), s.names());
            assertEquals(Map.of("format", "pt", "note", "hand made"), s.metadata());
            assertArrayEquals(new float[] {1.5f, -2.25f, 1e-3f, Float.POSITIVE_INFINITY},
                    keep(s.load("x", Device.CPU)).toFloatArray());
            Tensor w = keep(s.load("w", Device.CPU));
            assertEquals(DType.F16, w.dtype());
            assertArrayEquals(new float[] {1f, -2f}, w.toFloatArray());
            Tensor w32 = keep(s.load("w", Device.CPU, DType.F32));
            assertEquals(DType.F32, w32.dtype());
            assertArrayEquals(new float[] {1f, -2f}, w32.toFloatArray());
            Tensor b = keep(s.load("b", Device.CPU, DType.F32));
            assertArrayEquals(new long[] {1, 2}, b.shape());
            assertArrayEquals(new float[] {1f, 3.140625f}, b.toFloatArray());
            Tensor b16 = keep(s.load("b", Device.CPU, DType.F16));
            assertEquals(DType.F16, b16.dtype());
            assertArrayEquals(new float[] {1f, 3.140625f}, b16.toFloatArray());
            Tensor i = keep(s.load("i", Device.CPU));
            assertEquals(DType.I64, i.dtype());
            long[] iv = new long[2];
            Addresses.getLongs(i.address(), iv);
            assertArrayEquals(new long[] {-5L, 1L << 40}, iv);
            assertEquals(DType.F32, s.info("dd").dtype());
            assertEquals("F64", s.info("dd").format());
            Tensor dd = keep(s.load("dd", Device.CPU));
            assertEquals(DType.F32, dd.dtype());
            assertEquals(0, dd.rank());
            assertArrayEquals(new float[] {0.1f}, dd.toFloatArray());
            Tensor e = keep(s.load("e", Device.CPU));
            assertArrayEquals(new long[] {0, 3}, e.shape());

            TensorInfo u = s.info("u");
            assertEquals("U8", u.format());
            assertNull(u.dtype());
            assertFalse(u.loadable());
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> s.load("u", Device.CPU));
            assertTrue(ex.getMessage().contains("'u'") && ex.getMessage().contains("U8"), ex.getMessage());
            ex = assertThrows(IllegalArgumentException.class, () -> s.load("i", Device.CPU, DType.F32));
            assertTrue(ex.getMessage().contains("cannot be loaded as F32"), ex.getMessage());
        }
    }

    @Test
    void missingNameListsClosestMatches() throws IOException {
        Path p = dir.resolve("names.safetensors");
        Map<String, Tensor> ts = new TreeMap<>();
        for (String n : List.of("encoder.layer.0.weight", "encoder.layer.0.bias", "encoder.layer.1.weight",
                "decoder.weight", "lm_head.weight", "pos_embed", "cls_token")) {
            ts.put(n, keep(Tensor.of(new float[] {1}, 1)));
        }
        Safetensors.write(p, ts, null);
        try (Safetensors s = Safetensors.open(p)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> s.load("encoder.layer.0.wieght", Device.CPU));
            assertTrue(e.getMessage().contains("no tensor named 'encoder.layer.0.wieght'"), e.getMessage());
            assertTrue(e.getMessage().contains("closest: [encoder.layer.0.weight, "), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.info("nope"));

            s.checkNames(ts.keySet());
            e = assertThrows(IllegalArgumentException.class, () -> s.checkNames(List.of("encoder.layer.0.weight",
                    "encoder.layer.0.bias", "encoder.layer.1.weight", "encoder.layer.1.bias", "decoder.weight",
                    "extra.a")));
            String m = e.getMessage();
            assertTrue(m.contains("2 missing: [encoder.layer.1.bias, extra.a]"), m);
            assertTrue(m.contains("3 unexpected: [cls_token, lm_head.weight, pos_embed]"), m);
            e = assertThrows(IllegalArgumentException.class, () -> s.checkNames(List.of("encoder.layer.0.weight",
                    "encoder.layer.0.bias", "encoder.layer.1.weight", "decoder.weight", "lm_head.weight"),
                    n -> n.equals("pos_embed")));
            assertFalse(e.getMessage().contains("missing"), e.getMessage());
            assertTrue(e.getMessage().contains("1 unexpected: [cls_token]"), e.getMessage());
        }
    }

    @Test
    void closedFileRefusesLoads() throws IOException {
        Path p = dir.resolve("c.safetensors");
        Safetensors.write(p, Map.of("a", keep(Tensor.of(new float[] {1, 2}, 2))), null);
        Safetensors s = Safetensors.open(p);
        Tensor a = keep(s.load("a", Device.CPU));
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.load("a", Device.CPU));
        assertArrayEquals(new float[] {1, 2}, a.toFloatArray(), "loaded tensors outlive the file");
    }

    // ------------------------------------------------------------------ sharded

    @Test
    void shardedCheckpointWithIndex() throws IOException {
        Tensor a = keep(Tensor.of(new float[] {1, 2, 3}, 3));
        Tensor b = keep(Tensor.ofInts(new int[] {4, 5}, Device.CPU, 2));
        Tensor c = keep(Tensor.of(new float[] {6, 7, 8, 9}, 2, 2));
        Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), Map.of("a", a, "b", b),
                Map.of("format", "pt"));
        Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), Map.of("c", c), Map.of("format", "pt"));
        Files.writeString(dir.resolve(Safetensors.INDEX_FILE), "{\"metadata\":{\"total_size\":36},\"weight_map\":{"
                + "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00001-of-00002.safetensors\","
                + "\"c\":\"model-00002-of-00002.safetensors\"}}");
        for (Path open : List.of(dir, dir.resolve(Safetensors.INDEX_FILE))) {
            try (Safetensors s = Safetensors.openCheckpoint(open)) {
                assertEquals(Set.of("a", "b", "c"), s.names());
                assertEquals(2, s.files().size());
                assertEquals("36", s.metadata().get("total_size"));
                assertEquals("pt", s.metadata().get("format"));
                assertArrayEquals(new float[] {1, 2, 3}, keep(s.load("a", Device.CPU)).toFloatArray());
                assertArrayEquals(new int[] {4, 5}, keep(s.load("b", Device.CPU)).toIntArray());
                assertArrayEquals(new float[] {6, 7, 8, 9}, keep(s.load("c", Device.CPU)).toFloatArray());
                assertEquals(dir.resolve("model-00002-of-00002.safetensors").toAbsolutePath(),
                        s.info("c").file().toAbsolutePath());
                s.checkNames(Set.of("a", "b", "c"));
            }
        }
        try (Safetensors s = Safetensors.openDirectory(dir)) {
            assertEquals(3, s.names().size());
        }
    }

    @Test
    void singleFileDirectory() throws IOException {
        Safetensors.write(dir.resolve(Safetensors.SINGLE_FILE), Map.of("a", keep(Tensor.of(new float[] {1}, 1))),
                null);
        try (Safetensors s = Safetensors.openDirectory(dir)) {
            assertEquals(Set.of("a"), s.names());
        }
    }

    @Test
    void aDirectoryOfPickleWeightsSaysHowToConvertThem() throws IOException {
        Path d = Files.createDirectories(dir.resolve("pickled"));
        Files.write(d.resolve("pytorch_model.bin"), new byte[] {'P', 'K', 3, 4});
        Files.writeString(d.resolve("config.json"), "{}");
        String m = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(d)).getMessage();
        assertTrue(m.contains("[pytorch_model.bin]") && m.contains("safe_serialization=True") && !m.contains("\n"), m);
        Files.delete(d.resolve("pytorch_model.bin"));
        m = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(d)).getMessage();
        assertTrue(m.contains("no other safetensors files"), m);
    }

    @Test
    void shardErrorsNameTheShard() throws IOException {
        Safetensors.write(dir.resolve("s1.safetensors"), Map.of("a", keep(Tensor.of(new float[] {1}, 1))), null);
        Path index = dir.resolve(Safetensors.INDEX_FILE);

        Files.writeString(index, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("shard 's2.safetensors'") && e.getMessage().contains("does not exist"),
                e.getMessage());

        handMade("s2.safetensors", "{" + T1 + "[0,9]}}", new byte[8]);
        e = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("s2.safetensors: invalid safetensors file"), e.getMessage());

        handMade("s2.safetensors", "{" + T1 + "[0,8]}}", new byte[8]);
        e = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("puts 'b' in shard 's2.safetensors'"), e.getMessage());

        Files.writeString(index, "{\"weight_map\":{\"a\":\"../s1.safetensors\"}}");
        e = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("not a file beside the index"), e.getMessage());

        Files.writeString(index, "{\"weights\":{}}");
        e = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("no \"weight_map\""), e.getMessage());

        Files.writeString(index, "{\"weight_map\":{\"a\":");
        e = assertThrows(IllegalArgumentException.class, () -> Safetensors.openCheckpoint(dir));
        assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());
    }

    // ------------------------------------------------------------------ validation

    @Test
    void rejectsMalformedHeaders() throws IOException {
        rejected(handMade("zero.safetensors", 0, new byte[0], new byte[0]), "too small");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 0, 0});
        rejected(tiny, "too short");
        rejected(handMade("beyond.safetensors", 1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]),
                "beyond the end of the file");
        rejected(handMade("huge.safetensors", 200_000_000L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]),
                "absurdly large");
        rejected(handMade("neg.safetensors", -1L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]),
                "absurdly large");
        rejected(handMade("json.safetensors", "{\"t\":{\"dtype\":", new byte[0]), "invalid JSON");
        rejected(handMade("trail.safetensors", "{} x", new byte[0]), "invalid JSON");
        rejected(handMade("array.safetensors", "[1, 2]", new byte[0]), "does not start with '{'");
        rejected(handMade("dup.safetensors", "{" + T1 + "[0,8]}," + T1 + "[0,8]}}", new byte[8]), "invalid JSON");
        rejected(handMade("utf.safetensors", 2, new byte[] {'{', (byte) 0xff}, new byte[0]), "not valid UTF-8");
        rejected(handMade("dtype.safetensors", "{\"t\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                new byte[8]), "tensor 't' has unknown dtype 'F7'");
        rejected(handMade("nodtype.safetensors", "{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]),
                "lacks dtype");
        rejected(handMade("negdim.safetensors", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}",
                new byte[8]), "negative dim");
        rejected(handMade("fracdim.safetensors", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}",
                new byte[8]), "non-integer dim");
        rejected(handMade("overflow.safetensors", "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}", new byte[8]), "overflows");
        rejected(handMade("off1.safetensors", "{" + T1 + "[8]}}", new byte[8]), "data_offsets must be [begin, end]");
        rejected(handMade("off3.safetensors", "{" + T1 + "[0,4,8]}}", new byte[8]), "data_offsets must be [begin, end]");
        rejected(handMade("offneg.safetensors", "{" + T1 + "[-8,0]}}", new byte[8]), "non-negative integers");
        rejected(handMade("order.safetensors", "{" + T1 + "[8,0]}}", new byte[8]), "begin > end");
        rejected(handMade("size.safetensors", "{" + T1 + "[0,6]}}", new byte[8]),
                "span 6 bytes but F32[2] needs 2 x 4 = 8 bytes");
        rejected(handMade("outside.safetensors", "{" + T1 + "[4,12]}}", new byte[8]),
                "outside the data section of 8 bytes");
        rejected(handMade("overlap.safetensors", "{" + T1 + "[0,8]},"
                + "\"u\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[6,10]}}", new byte[10]), "overlap");
        rejected(handMade("meta.safetensors", "{\"__metadata__\":{\"n\":3}}", new byte[0]), "must be a string");
        rejected(handMade("entry.safetensors", "{\"t\":[1]}", new byte[0]), "must be an object");
    }

    @Test
    void gapsWarnByDefaultAndFailWhenStrict() throws IOException {
        Path gap = handMade("gap.safetensors", "{" + T1 + "[4,12]}}", new byte[12]);
        try (Safetensors s = Safetensors.open(gap)) {
            assertEquals(Set.of("t"), s.names());
        }
        rejected(gap, "gap of 4 bytes at [0, 4) before 't'");
        Path trailing = handMade("trailing.safetensors", "{" + T1 + "[0,8]}}", new byte[11]);
        try (Safetensors s = Safetensors.openCheckpoint(trailing)) {
            assertEquals(2, s.info("t").numel());
        }
        rejected(trailing, "3 unused bytes at the end");
    }

    @Test
    void writerRejectsBadInput() {
        Tensor a = keep(Tensor.of(new float[] {1}, 1));
        Path p = dir.resolve("bad.safetensors");
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(p, Map.of("__metadata__", a), null));
        Tensor closed = Tensor.of(new float[] {1}, 1);
        closed.close();
        assertThrows(IllegalStateException.class, () -> Safetensors.write(p, Map.of("c", closed), null));
        assertFalse(Files.exists(p));
    }
}
