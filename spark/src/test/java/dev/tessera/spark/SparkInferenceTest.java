package dev.tessera.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.models.clip.ClipModel;
import dev.tessera.models.vit.ClassScores;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import dev.tessera.runtime.testing.TestWav;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Spark stages on a local Spark (2 task threads) against the same models run directly on one machine: the real
 * all-MiniLM-L6-v2 for text, random-weight ViT and CLIP checkpoints (the models module's fixtures) for images.
 */
class SparkInferenceTest {
    static final Path VIT = Path.of("../models/src/test/resources/vision/vit-a");
    static final Path CLIP = Path.of("../models/src/test/resources/vision/clip-a");
    static SparkSession spark;

    static Path tmp;

    @BeforeAll
    static synchronized void start() {
        if (spark != null) {
            return;
        }
        // the minilm alias is resolved from the local Maven repository (a test dependency), extracted under target/
        System.setProperty("tessera.cache", Path.of("target/tessera-cache").toAbsolutePath().toString());
        System.setProperty("tessera.offline", "true");
        tmp = Path.of("target/spark-test").toAbsolutePath(); // under target/: cleaned with the build
        try {
            if (Files.exists(tmp)) {
                try (var w = Files.walk(tmp)) {
                    for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        OpenBlas.setThreads(1); // OpenBLAS' spinning threads starve Tessera's pool on a 2-core machine (as in models)
        spark = SparkSession.builder().master("local[2]").appName("tessera-spark-test")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "3")
                .getOrCreate();
    }

    /** Models are released after each class; the Spark session lives until the JVM ends (both classes use it). */
    @AfterAll
    static void stop() {
        ExecutorModels.release();
    }

    static List<String> sentences(int n, long seed) {
        String[] words = ("the a cat dog kitten sits rests on mat rug stock market fell rose quickly slowly tessera"
                + " runs models from java on native accelerators spark executors batch inference of many rows")
                .split(" ");
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + r.nextInt(i % 7 == 0 ? 120 : 20); // a few long ones: different padding per batch
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < len; j++) {
                sb.append(j == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    static Dataset<Row> texts(List<String> s, int partitions) {
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false).add("text", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            rows.add(RowFactory.create(i, s.get(i)));
        }
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    static float[] floats(Row r, String col) {
        List<Float> l = r.getList(r.fieldIndex(col));
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = l.get(i);
        }
        return f;
    }

    @Test
    void sentenceEmbeddingsEqualASingleMachineRun() {
        List<String> s = new ArrayList<>(sentences(90, 7));
        s.set(11, null); // null in, null out
        s.set(12, "");
        List<Row> out = new TextEmbedder().setModel("minilm").setBatchSize(8).transform(texts(s, 3))
                .collectAsList();
        assertEquals(s.size(), out.size());
        List<String> nonNull = new ArrayList<>(s);
        nonNull.set(11, "x");
        float[][] ref;
        try (SentenceEncoder enc = SentenceEncoder.load("minilm", Device.CPU)) {
            ref = enc.embed(nonNull, 32);
        }
        double worst = 0;
        for (Row r : out) {
            int id = r.getInt(0);
            assertEquals(s.get(id), r.getString(1), "input columns kept");
            if (id == 11) {
                assertTrue(r.isNullAt(2), "null text: null embedding");
                continue;
            }
            float[] e = floats(r, "embedding");
            assertEquals(384, e.length);
            for (int j = 0; j < e.length; j++) {
                worst = Math.max(worst, Math.abs(e[j] - ref[id][j]));
            }
        }
        // batches of 8 vs 32 pad differently; the embeddings are unit vectors
        assertTrue(worst < 2e-6, "max abs difference " + worst);
        // int8 projections on the executors: the embeddings of the encoder loaded so
        List<String> few = sentences(12, 9);
        List<Row> q = new TextEmbedder().setModel("minilm").setDType("int8").setBatchSize(32).transform(texts(few, 2))
                .collectAsList();
        float[][] want;
        try (SentenceEncoder enc = SentenceEncoder.load("minilm", Device.CPU, DType.I8)) {
            want = enc.embed(few, 32);
        }
        double worstQ = 0;
        for (Row r : q) {
            float[] e = floats(r, "embedding");
            for (int j = 0; j < e.length; j++) {
                worstQ = Math.max(worstQ, Math.abs(e[j] - want[r.getInt(0)][j]));
            }
        }
        assertEquals(12, q.size());
        assertTrue(worstQ < 2e-6, "int8: max abs difference " + worstQ);
        List<Row> d = new TextEmbedder().setModel("minilm").setDType("int8-dynamic").setBatchSize(32)
                .transform(texts(few, 2)).collectAsList();
        try (SentenceEncoder enc = SentenceEncoder.loadQuantized("minilm", Device.CPU)) {
            want = enc.embed(few, 32);
        }
        for (Row r : d) { // quantized per sentence: the batch it falls in changes nothing but the fp32 sums' order
            double c = SentenceEncoder.cosine(floats(r, "embedding"), want[r.getInt(0)]);
            assertTrue(c > 0.99999, "int8-dynamic row " + r.getInt(0) + ": cosine " + c);
        }
        assertThrows(IllegalArgumentException.class, () -> new TextEmbedder().setDType("f16"));
    }

    @Test
    void aModelIsLoadedOncePerJvmAndMemoryStaysFlat() {
        ExecutorModels.release();
        var cpu = Backends.get(Device.CPU);
        long before = cpu.memoryStats(Device.CPU).allocatedBytes();
        List<String> s = sentences(64, 3);
        TextEmbedder stage = new TextEmbedder().setModel("minilm").setBatchSize(16).setDevice("cpu");
        assertEquals(64, stage.transform(texts(s, 4)).count());
        assertEquals(1, ExecutorModels.loaded(), "4 partitions on 2 task threads share one model");
        long loaded = cpu.memoryStats(Device.CPU).allocatedBytes();
        assertTrue(loaded > before + 80_000_000L, "the model's weights are held: " + (loaded - before) + " bytes");
        for (int round = 0; round < 3; round++) {
            assertEquals(64, stage.transform(texts(s, 4)).filter("embedding is not null").count());
            assertEquals(loaded, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes after round " + round);
        }
        if (System.getenv("TESSERA_NUM_THREADS") == null) {
            assertEquals(1, dev.tessera.bindings.NativeLibrary.cpuThreads(), "one thread per task (spark.task.cpus)");
        }
        stage.setThreadsPerTask(2).transform(texts(s.subList(0, 4), 1)).count();
        assertEquals(2, dev.tessera.bindings.NativeLibrary.cpuThreads(), "setThreadsPerTask(2)");
        assertEquals(1, ExecutorModels.release());
        assertEquals(before, cpu.memoryStats(Device.CPU).allocatedBytes(), "release frees the weights");
        assertEquals(0, ExecutorModels.loaded());
    }

    /**
     * Random images of random sizes as PNG and JPEG files, and a text file named .png (binaryFile skips empty files,
     * so the empty input is made in {@link #aBadImageFailsTheJobWithItsPathUnlessKept}).
     */
    static Path imageDir(String name, int n) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Random r = new Random(name.hashCode());
        for (int i = 0; i < n; i++) {
            int w = 20 + r.nextInt(70);
            int h = 20 + r.nextInt(70);
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    img.setRGB(x, y, (x * 3 + r.nextInt(40)) << 16 | (y * 3 + r.nextInt(40)) << 8 | r.nextInt(256));
                }
            }
            String fmt = i % 3 == 2 ? "jpg" : "png";
            ImageIO.write(img, fmt, dir.resolve(String.format("img%02d.%s", i, fmt)).toFile());
        }
        Files.writeString(dir.resolve("notes.png"), "this is not an image");
        return dir;
    }

    static List<Path> imagesIn(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("img")).sorted().toList();
        }
    }

    static String fileName(Row r) {
        String p = r.getString(r.fieldIndex("path"));
        return p.substring(p.lastIndexOf('/') + 1);
    }

    @Test
    @SuppressWarnings("try") // the scope frees the reference run's tensors
    void imageClassificationEqualsTheModelRunDirectly() throws IOException {
        Path dir = imageDir("classify", 11);
        Dataset<Row> files = spark.read().format("binaryFile").load(dir.toString()).repartition(3);
        List<Row> out = new ImageClassifier().setModel(VIT.toAbsolutePath().toString()).setTopK(3).setBatchSize(4)
                .setLogitsCol("logits").setErrorCol("error").transform(files).drop("content").collectAsList();
        assertEquals(12, out.size());
        // the reference: the same files through the preprocessor and model, one batch, no Spark
        List<Path> imgs = imagesIn(dir);
        Map<String, float[]> ref = new HashMap<>();
        try (ViTForImageClassification m = ViTForImageClassification.load(VIT, Device.CPU, null);
                Scope scope = Tessera.scope()) {
            ImagePreprocessor pre = ImagePreprocessor.load(VIT, m.config().imageSize(), ImagePreprocessor.Style.VIT,
                    new ImageDecoder());
            Tensor x = pre.preprocess(imgs, Device.CPU);
            float[] l = m.logits(x).toFloatArray();
            int c = m.config().labels().size();
            for (int i = 0; i < imgs.size(); i++) {
                ref.put(imgs.get(i).getFileName().toString(), java.util.Arrays.copyOfRange(l, i * c, (i + 1) * c));
            }
        }
        int checked = 0;
        for (Row r : out) {
            String name = fileName(r);
            if (!name.startsWith("img")) {
                assertTrue(r.isNullAt(r.fieldIndex("predictions")) && r.isNullAt(r.fieldIndex("logits")), name);
                String err = r.getString(r.fieldIndex("error"));
                assertNotNull(err, name);
                assertTrue(err.contains(name) && err.startsWith("cannot decode image"), err);
                continue;
            }
            assertNull(r.get(r.fieldIndex("error")), name);
            float[] l = floats(r, "logits");
            float[] want = ref.get(name);
            double num = 0;
            double den = 0;
            for (int j = 0; j < want.length; j++) {
                num += (l[j] - want[j]) * (double) (l[j] - want[j]);
                den += want[j] * (double) want[j];
            }
            assertTrue(Math.sqrt(num / den) < 1e-5, name + ": logits relative error " + Math.sqrt(num / den));
            float[] p = ClassScores.probabilities(want, 0, want.length, false);
            int[] top = ClassScores.top(p, 3);
            List<Row> pred = r.getList(r.fieldIndex("predictions"));
            assertEquals(3, pred.size());
            for (int t = 0; t < 3; t++) {
                assertEquals(top[t], pred.get(t).getInt(1), name + " rank " + t);
                assertEquals("class_" + top[t], pred.get(t).getString(0));
                assertEquals(p[top[t]], pred.get(t).getFloat(2), 1e-5f);
            }
            checked++;
        }
        assertEquals(11, checked);
        // int8 matrices on the executors (CPU): the logits of the model loaded so, batch by batch as the stage runs
        List<Row> q = new ImageClassifier().setModel(VIT.toAbsolutePath().toString()).setTopK(1).setBatchSize(1)
                .setLogitsCol("logits").setDType("int8").setErrorCol("error").transform(files).drop("content")
                .collectAsList();
        try (ViTForImageClassification m = ViTForImageClassification.load(VIT, Device.CPU, DType.I8)) {
            ImagePreprocessor pre = ImagePreprocessor.load(VIT, m.config().imageSize(), ImagePreprocessor.Style.VIT,
                    new ImageDecoder());
            int same = 0;
            for (Row r : q) {
                String name = fileName(r);
                if (!name.startsWith("img")) {
                    continue;
                }
                try (Scope scope = Tessera.scope()) {
                    float[] want = m.logits(pre.preprocess(List.of(dir.resolve(name)), Device.CPU)).toFloatArray();
                    assertArrayEquals(want, floats(r, "logits"), "int8 " + name);
                    same++;
                }
            }
            assertEquals(11, same);
        }
        // int8-dynamic: the logits of the model quantized on load (each token quantized on its own: batch-independent)
        List<Row> dq = new ImageClassifier().setModel(VIT.toAbsolutePath().toString()).setTopK(1).setBatchSize(4)
                .setLogitsCol("logits").setDType("int8-dynamic").setErrorCol("error").transform(files).drop("content")
                .collectAsList();
        try (ViTForImageClassification m = ViTForImageClassification.load(VIT, Device.CPU, null, true)) {
            ImagePreprocessor pre = ImagePreprocessor.load(VIT, m.config().imageSize(), ImagePreprocessor.Style.VIT,
                    new ImageDecoder());
            int same = 0;
            for (Row r : dq) {
                String name = fileName(r);
                if (!name.startsWith("img")) {
                    continue;
                }
                try (Scope scope = Tessera.scope()) {
                    float[] want = m.logits(pre.preprocess(List.of(dir.resolve(name)), Device.CPU)).toFloatArray();
                    float[] got = floats(r, "logits");
                    for (int j = 0; j < want.length; j++) {
                        assertEquals(want[j], got[j], 1e-5f * (1 + Math.abs(want[j])), "int8-dynamic " + name);
                    }
                    same++;
                }
            }
            assertEquals(11, same);
        }
    }

    @Test
    void aBadImageFailsTheJobWithItsPathUnlessKept() throws IOException {
        Path dir = imageDir("failing", 3);
        Dataset<Row> files = spark.read().format("binaryFile").load(dir.toString());
        ImageClassifier stage = new ImageClassifier().setModel(VIT.toAbsolutePath().toString());
        Exception e = assertThrows(Exception.class, () -> stage.transform(files).count());
        String msg = causes(e);
        assertTrue(msg.contains("ImageClassifier: cannot decode image file:") && msg.contains("notes.png")
                && msg.contains("setErrorCol"), msg);
        // without a path column the row is named by its index; an empty image, a null one (null out) and a good one
        byte[] good = Files.readAllBytes(imagesIn(dir).get(0));
        StructType schema = new StructType().add("content", DataTypes.BinaryType);
        Dataset<Row> bytes = spark.createDataFrame(List.of(RowFactory.create((Object) good),
                RowFactory.create((Object) null), RowFactory.create((Object) new byte[0])), schema).coalesce(1);
        Exception e2 = assertThrows(Exception.class, () -> stage.transform(bytes).count());
        assertTrue(causes(e2).contains("cannot decode image row 2 of partition 0: the file is empty"), causes(e2));
        List<Row> kept = stage.setErrorCol("error").transform(bytes).collectAsList();
        assertEquals(3, kept.size());
        assertEquals(5, kept.get(0).getList(1).size());
        assertNull(kept.get(0).get(2));
        assertTrue(kept.get(1).isNullAt(1) && kept.get(1).isNullAt(2), "null image: null outputs, no error");
        assertTrue(kept.get(2).isNullAt(1) && kept.get(2).getString(2).endsWith("the file is empty"));
    }

    static String causes(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    @Test
    @SuppressWarnings("try") // the scope frees the reference run's tensors
    void clipImageEmbeddingsEqualTheModelRunDirectly() throws IOException {
        Path dir = imageDir("clip", 6);
        Dataset<Row> files = spark.read().format("binaryFile").load(dir.toString());
        ImageEmbedder stage = new ImageEmbedder().setModel(CLIP.toAbsolutePath().toString()).setBatchSize(4)
                .setErrorCol("why");
        List<Row> raw = stage.transform(files).collectAsList();
        List<Row> unit = stage.setNormalize(true).setOutputCol("unit").transform(files).collectAsList();
        List<Path> imgs = imagesIn(dir);
        Map<String, float[]> ref = new HashMap<>();
        try (ClipModel m = ClipModel.load(CLIP, Device.CPU, null); Scope scope = Tessera.scope()) {
            ImagePreprocessor pre = ClipModel.imagePreprocessor(CLIP, m.vision().config().imageSize(),
                    new ImageDecoder());
            float[] all = m.imageEmbeds(pre.preprocess(imgs, Device.CPU)).toFloatArray();
            int d = m.projectionDim();
            for (int i = 0; i < imgs.size(); i++) {
                ref.put(imgs.get(i).getFileName().toString(), java.util.Arrays.copyOfRange(all, i * d, (i + 1) * d));
            }
        }
        Map<String, Row> byName = new HashMap<>();
        unit.forEach(r -> byName.put(fileName(r), r));
        int checked = 0;
        for (Row r : raw) {
            String name = fileName(r);
            float[] want = ref.get(name);
            if (want == null) {
                assertTrue(r.isNullAt(r.fieldIndex("embedding")) && r.getString(r.fieldIndex("why")) != null, name);
                continue;
            }
            float[] got = floats(r, "embedding");
            float[] u = floats(byName.get(name), "unit");
            double norm = 0;
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j], got[j], 1e-5 * (1 + Math.abs(want[j])), name + " [" + j + "]");
                norm += want[j] * (double) want[j];
            }
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j] / Math.sqrt(norm), u[j], 1e-6, name + " normalised [" + j + "]");
            }
            checked++;
        }
        assertEquals(6, checked);
    }

    @Test
    void transcriptsEqualTheTranscriberRunDirectly() throws Exception {
        // the random tiny Whisper of the models module's tests (2 s windows) with its word-level tokenizer
        Path src = Path.of("../models/src/test/resources/whisper");
        Path model = Files.createDirectories(tmp.resolve("whisper-tiny"));
        for (String f : new String[] {"config.json", "generation_config.json", "model.safetensors"}) {
            Files.copy(src.resolve("tiny-a").resolve(f), model.resolve(f));
        }
        Files.copy(src.resolve("tiny-word-tokenizer.json"), model.resolve("tokenizer.json"));
        Path dir = Files.createDirectories(tmp.resolve("audio"));
        Random r = new Random(5);
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            float[] x = new float[4_000 + r.nextInt(60_000)]; // 0.25 to 4 s: one to three windows
            double f0 = 100 + r.nextInt(700);
            for (int t = 0; t < x.length; t++) {
                x[t] = (float) (0.4 * Math.sin(2 * Math.PI * f0 * t / 16_000) + 0.1 * r.nextGaussian());
            }
            files.add(TestWav.write16k(dir.resolve("clip" + i + ".wav"), x));
        }
        Files.writeString(dir.resolve("readme.wav"), "not audio");
        Dataset<Row> audio = spark.read().format("binaryFile").load(dir.toString()).repartition(2);
        List<Row> out = new SpeechTranscriber().setModel(model.toString()).setLanguage("en").setBeam(2)
                .setBatchSize(2).setErrorCol("error").transform(audio).drop("content").collectAsList();
        assertEquals(6, out.size());
        Map<String, dev.tessera.models.whisper.Transcriber.Transcript> ref = new HashMap<>();
        try (var m = dev.tessera.models.whisper.WhisperModel.load(model);
                var tok = dev.tessera.models.text.Tokenizer.load(model.resolve("tokenizer.json"))) {
            var tr = new dev.tessera.models.whisper.Transcriber(m, tok);
            var opt = dev.tessera.models.whisper.Transcriber.Options.defaults().withLanguage("en").withBeam(2);
            for (Path f : files) {
                float[] x = dev.tessera.runtime.audio.AudioDecoder.decode(f, 16_000);
                ref.put(f.getFileName().toString(), tr.transcribeAll(List.of(x), opt, 1,
                        new dev.tessera.models.whisper.Transcriber.Listener() {}).get(0));
            }
        }
        int segments = 0;
        for (Row row : out) {
            String name = fileName(row);
            var want = ref.get(name);
            if (want == null) {
                assertTrue(row.isNullAt(row.fieldIndex("transcription")), name);
                assertTrue(row.getString(row.fieldIndex("error")).contains("readme.wav"),
                        row.getString(row.fieldIndex("error")));
                continue;
            }
            Row t = row.getStruct(row.fieldIndex("transcription"));
            assertEquals(want.text(), t.getString(0), name);
            assertEquals(want.language(), t.getString(1), name);
            List<Row> segs = t.getList(2);
            assertEquals(want.segments().size(), segs.size(), name);
            for (int k = 0; k < segs.size(); k++) {
                assertEquals(want.segments().get(k).start(), segs.get(k).getDouble(0), 0, name);
                assertEquals(want.segments().get(k).end(), segs.get(k).getDouble(1), 0, name);
                assertEquals(want.segments().get(k).text(), segs.get(k).getString(2), name);
            }
            segments += segs.size();
        }
        assertTrue(segments >= 5, "segments: " + segments);

        // int8 matrices on the executors: each text is the library's on the model loaded so
        List<Row> q = new SpeechTranscriber().setModel(model.toString()).setLanguage("en").setBeam(2).setDType("int8")
                .setBatchSize(2).setErrorCol("error").transform(audio).drop("content").collectAsList();
        var beam2 = dev.tessera.models.whisper.Transcriber.Options.defaults().withLanguage("en").withBeam(2);
        assertTextsAreTheLibrarys(q, model, Device.CPU, DType.I8, false, beam2, dir, ref.keySet(), "int8");
        // int8-dynamic: each text is the library's on the model quantized on load
        List<Row> dq = new SpeechTranscriber().setModel(model.toString()).setLanguage("en").setBeam(2)
                .setDType("int8-dynamic").setBatchSize(2).setErrorCol("error").transform(audio).drop("content")
                .collectAsList();
        assertTextsAreTheLibrarys(dq, model, Device.CPU, null, true, beam2, dir, ref.keySet(), "int8-dynamic");
        // word timestamps: each segment's words are the library's (same texts, times and probabilities)
        List<Row> w = new SpeechTranscriber().setModel(model.toString()).setLanguage("en").setBeam(2)
                .setWordTimestamps(true).setBatchSize(2).setErrorCol("error").transform(audio).drop("content")
                .collectAsList();
        try (var m = dev.tessera.models.whisper.WhisperModel.load(model);
                var tok = dev.tessera.models.text.Tokenizer.load(model.resolve("tokenizer.json"))) {
            var tr = new dev.tessera.models.whisper.Transcriber(m, tok);
            var opt = dev.tessera.models.whisper.Transcriber.Options.defaults().withLanguage("en").withBeam(2)
                    .withWordTimestamps(true);
            int words = 0;
            for (Row row : w) {
                if (!ref.containsKey(fileName(row))) {
                    continue;
                }
                float[] x = dev.tessera.runtime.audio.AudioDecoder.decode(dir.resolve(fileName(row)), 16_000);
                var want = tr.transcribeAll(List.of(x), opt, 1, new dev.tessera.models.whisper.Transcriber.Listener() {})
                        .get(0).segments();
                List<Row> segs = row.getStruct(row.fieldIndex("transcription")).getList(2);
                assertEquals(want.size(), segs.size(), fileName(row));
                for (int k = 0; k < segs.size(); k++) {
                    List<Row> ws = segs.get(k).getList(3);
                    assertEquals(want.get(k).words().size(), ws.size(), fileName(row));
                    assertEquals(want.get(k).start(), segs.get(k).getDouble(0), 0, fileName(row));
                    for (int j = 0; j < ws.size(); j++) {
                        var ww = want.get(k).words().get(j);
                        assertEquals(ww.word(), ws.get(j).getString(0));
                        assertEquals(ww.start(), ws.get(j).getDouble(1), 0);
                        assertEquals(ww.end(), ws.get(j).getDouble(2), 0);
                        assertEquals(ww.probability(), ws.get(j).getDouble(3), 0);
                        words++;
                    }
                }
            }
            assertTrue(words >= 3, "words: " + words); // (the word-level vocabulary decodes without spaces: a word a segment)
        }
        // an initial prompt carried to every window, and the hallucination-silence threshold: the Transcriber's texts
        List<Row> p = new SpeechTranscriber().setModel(model.toString()).setLanguage("en").setBeam(2)
                .setWordTimestamps(true).setInitialPrompt("w5 w6", true).setHallucinationSilenceThreshold(0.5)
                .setBatchSize(2).setErrorCol("error").transform(audio).drop("content").collectAsList();
        assertTextsAreTheLibrarys(p, model, Device.CPU, null, false, beam2.withWordTimestamps(true)
                .withInitialPrompt("w5 w6").withCarryInitialPrompt(true).withHallucinationSilenceThreshold(0.5), dir,
                ref.keySet(), "prompt");
        assertThrows(IllegalArgumentException.class, () -> new SpeechTranscriber().setModel(model.toString())
                .setHallucinationSilenceThreshold(1).transform(audio));
        assertThrows(IllegalArgumentException.class, () -> new SpeechTranscriber().setDType("f16"));
    }

    /**
     * Each row of {@code rows} whose file is one of {@code files} holds the transcript text the {@code Transcriber} gives
     * that file alone with {@code opt}, on the model of {@code model} loaded as {@code dtype} / {@code dynamicInt8}.
     */
    private static void assertTextsAreTheLibrarys(List<Row> rows, Path model, Device device, DType dtype,
            boolean dynamicInt8, dev.tessera.models.whisper.Transcriber.Options opt, Path dir,
            java.util.Set<String> files, String what) throws IOException {
        try (var m = dev.tessera.models.whisper.WhisperModel.load(model, device, dtype, dynamicInt8);
                var tok = dev.tessera.models.text.Tokenizer.load(model.resolve("tokenizer.json"))) {
            var tr = new dev.tessera.models.whisper.Transcriber(m, tok);
            int checked = 0;
            for (Row row : rows) {
                if (!files.contains(fileName(row))) {
                    continue;
                }
                float[] x = dev.tessera.runtime.audio.AudioDecoder.decode(dir.resolve(fileName(row)), 16_000);
                String want = tr.transcribeAll(List.of(x), opt, 1, new dev.tessera.models.whisper.Transcriber.Listener() {})
                        .get(0).text();
                assertEquals(want, row.getStruct(row.fieldIndex("transcription")).getString(0), what + " " + fileName(row));
                checked++;
            }
            assertEquals(files.size(), checked, what);
        }
    }

    @Test
    void badSettingsAreRefusedOnTheDriverBeforeAnyJob() {
        Dataset<Row> t = texts(List.of("a", "b"), 1);
        var e1 = assertThrows(IllegalArgumentException.class,
                () -> new TextEmbedder().setModel("minilm").setInputCol("sentence").transform(t));
        assertTrue(e1.getMessage().contains("no column 'sentence'") && e1.getMessage().contains("id, text"),
                e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> new ImageClassifier().setModel("x").setInputCol("text").transform(t));
        assertTrue(e2.getMessage().contains("'text' is string") && e2.getMessage().contains("binaryFile"),
                e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class,
                () -> new TextEmbedder().setModel("minilm").setOutputCol("id").transform(t));
        assertTrue(e3.getMessage().contains("'id' already exists"), e3.getMessage());
        var e4 = assertThrows(IllegalStateException.class, () -> new TextEmbedder().transform(t));
        assertTrue(e4.getMessage().contains("no model"), e4.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TextEmbedder().setBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> new TextEmbedder().setThreadsPerTask(-1));
        assertThrows(IllegalArgumentException.class, () -> new TextEmbedder().setDevice("tpu"));
        assertThrows(IllegalArgumentException.class, () -> new TextEmbedder().setModel(" "));
        assertThrows(IllegalArgumentException.class, () -> new ImageClassifier().setTopK(0));
        assertThrows(IllegalArgumentException.class, () -> new ImageEmbedder().setDType("int4"));
        assertThrows(IllegalArgumentException.class, () -> new SpeechTranscriber().setTask("summarise"));
        assertThrows(IllegalArgumentException.class, () -> new SpeechTranscriber().setBeam(0));
        var e5 = assertThrows(IllegalArgumentException.class,
                () -> new ImageClassifier().setModel("x").setLogitsCol("error").setErrorCol("error")
                        .transformSchema(new StructType().add("content", DataTypes.BinaryType)));
        assertTrue(e5.getMessage().contains("'error' already exists"), e5.getMessage());
    }

    @Test
    void aModelThatCannotLoadFailsTheJobWithTheReason() {
        Dataset<Row> t = texts(List.of("a", "b"), 1);
        Exception e = assertThrows(Exception.class, () -> new TextEmbedder()
                .setModel(tmp.resolve("no-such-model").toString()).transform(t).count());
        assertTrue(causes(e).contains("no-such-model"), causes(e));
    }
}
