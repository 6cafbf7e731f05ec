package dev.tessera.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.testing.TestWav;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link BatchJob} (what spark-submit runs) in the test JVM's local Spark: files in, files out, one-line errors. */
class BatchJobTest {
    @BeforeAll
    static void start() {
        SparkInferenceTest.start();
    }

    @AfterAll
    static void stop() {
        SparkInferenceTest.stop();
    }

    record Run(int rc, String err) {}

    static Run run(String... args) {
        StringWriter sw = new StringWriter();
        int rc = BatchJob.run(new PrintWriter(sw, true), args);
        return new Run(rc, sw.toString());
    }

    @Test
    void embedTextWritesParquetEqualToTheStage() throws Exception {
        Path dir = Files.createDirectories(SparkInferenceTest.tmp.resolve("job-text"));
        List<String> s = SparkInferenceTest.sentences(20, 11);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            lines.add("{\"id\": " + i + ", \"sentence\": \"" + s.get(i) + "\"}");
        }
        Path in = Files.write(dir.resolve("in.json"), lines);
        String out = dir.resolve("out").toString();
        Run r = run("embed-text", "--model", "minilm", "--input", in.toString(), "--input-format", "json",
                "--column", "sentence", "--output", out, "--batch", "4", "--partitions", "3", "--device", "cpu");
        assertEquals(0, r.rc(), r.err());
        Dataset<Row> got = SparkInferenceTest.spark.read().parquet(out);
        assertEquals(List.of("id", "sentence", "embedding"), List.of(got.columns()));
        List<Row> rows = got.orderBy("id").collectAsList();
        assertEquals(20, rows.size());
        List<Row> want = new TextEmbedder().setModel("minilm").setInputCol("sentence")
                .transform(SparkInferenceTest.spark.read().json(in.toString())).orderBy("id").collectAsList();
        for (int i = 0; i < 20; i++) {
            float[] a = SparkInferenceTest.floats(rows.get(i), "embedding");
            float[] b = SparkInferenceTest.floats(want.get(i), "embedding");
            for (int j = 0; j < a.length; j++) {
                assertEquals(b[j], a[j], 2e-6, "row " + i);
            }
        }
        // the output exists now: refused without --overwrite, in one line
        Run again = run("embed-text", "--model", "minilm", "--input", in.toString(), "--input-format", "json",
                "--column", "sentence", "--output", out);
        assertEquals(1, again.rc());
        assertTrue(again.err().startsWith("tessera-spark: ") && again.err().contains("already exists")
                && again.err().strip().lines().count() == 1, again.err());
    }

    @Test
    void classifyKeepsBadFilesWithTheirReason() throws Exception {
        Path images = SparkInferenceTest.imageDir("job-images", 5);
        String out = SparkInferenceTest.tmp.resolve("job-labels").toString();
        Run r = run("classify", "--model", SparkInferenceTest.VIT.toAbsolutePath().toString(), "--input",
                images.toString(), "--output", out, "--output-format", "json", "--top", "2", "--keep-errors");
        assertEquals(0, r.rc(), r.err());
        List<Row> rows = SparkInferenceTest.spark.read().json(out).collectAsList();
        assertEquals(6, rows.size());
        int bad = 0;
        for (Row row : rows) {
            if (!row.isNullAt(row.fieldIndex("error"))) {
                bad++;
                assertTrue(row.getString(row.fieldIndex("error")).contains("notes.png"));
            } else {
                assertEquals(2, row.getList(row.fieldIndex("predictions")).size());
            }
        }
        assertEquals(1, bad);
        Run onlyJpeg = run("classify", "--model", SparkInferenceTest.VIT.toAbsolutePath().toString(), "--input",
                images.toString(), "--glob", "*.jpg", "--output", out + "-jpg");
        assertEquals(0, onlyJpeg.rc(), onlyJpeg.err());
        assertEquals(1, SparkInferenceTest.spark.read().parquet(out + "-jpg").count()); // img02.jpg
    }

    @Test
    void generateCaptionsEachImageWithLlava() throws Exception {
        Path images = SparkInferenceTest.imageDir("job-llava", 3);
        String out = SparkInferenceTest.tmp.resolve("job-captions").toString();
        Run r = run("generate", "--model", TextGeneratorTest.LLAVA.toString(), "--input", images.toString(),
                "--prompt", "what is in this picture?", "--max-tokens", "6", "--keep-errors", "--output", out,
                "--output-format", "json");
        assertEquals(0, r.rc(), r.err());
        List<Row> rows = SparkInferenceTest.spark.read().json(out).collectAsList();
        assertEquals(4, rows.size());
        List<Row> direct = new TextGenerator().setModel(TextGeneratorTest.LLAVA.toString()).setImageCol("content")
                .setMaxTokens(6).setErrorCol("error").transform(SparkInferenceTest.spark.read().format("binaryFile")
                        .load(images.toString()).withColumn("prompt",
                                org.apache.spark.sql.functions.lit("what is in this picture?")))
                .collectAsList();
        java.util.Map<String, String> want = new java.util.HashMap<>();
        direct.forEach(d -> want.put(SparkInferenceTest.fileName(d), d.getString(d.fieldIndex("generated"))));
        for (Row row : rows) {
            String name = SparkInferenceTest.fileName(row);
            String got = row.isNullAt(row.fieldIndex("generated")) ? null : row.getString(row.fieldIndex("generated"));
            assertEquals(want.get(name), got, name);
            assertTrue(row.getString(row.fieldIndex("prompt")).equals("what is in this picture?"));
        }
    }

    /**
     * {@code transcribe} with word timestamps, a carried initial prompt and the hallucination-silence threshold: the
     * JSON rows hold what the Transcriber gives each file with the same options; the threshold without word
     * timestamps is refused in one line.
     */
    @Test
    void transcribeTakesThePromptAndHallucinationFlags() throws Exception {
        Path src = Path.of("../models/src/test/resources/whisper");
        Path model = Files.createDirectories(SparkInferenceTest.tmp.resolve("job-whisper"));
        for (String f : new String[] {"config.json", "generation_config.json", "model.safetensors"}) {
            Files.copy(src.resolve("tiny-a").resolve(f), model.resolve(f));
        }
        Files.copy(src.resolve("tiny-word-tokenizer.json"), model.resolve("tokenizer.json"));
        Path dir = Files.createDirectories(SparkInferenceTest.tmp.resolve("job-audio"));
        java.util.Random rnd = new java.util.Random(9);
        java.util.Map<String, float[]> audio = new java.util.HashMap<>();
        for (int i = 0; i < 3; i++) {
            float[] x = new float[20_000 + rnd.nextInt(50_000)];
            for (int t = 0; t < x.length; t++) {
                x[t] = (float) (0.4 * Math.sin(2 * Math.PI * (150 + 100 * i) * t / 16_000) + 0.1 * rnd.nextGaussian());
            }
            TestWav.write16k(dir.resolve("a" + i + ".wav"), x);
            audio.put("a" + i + ".wav", x);
        }
        String out = SparkInferenceTest.tmp.resolve("job-transcripts").toString();
        Run r = run("transcribe", "--model", model.toString(), "--input", dir.toString(), "--language", "en", "--beam",
                "2", "--word-timestamps", "--initial-prompt", "w5 w6", "--carry-initial-prompt",
                "--hallucination-silence-threshold", "0.5", "--output", out, "--output-format", "json");
        assertEquals(0, r.rc(), r.err());
        List<Row> rows = SparkInferenceTest.spark.read().json(out).collectAsList();
        assertEquals(3, rows.size());
        try (var m = dev.tessera.models.whisper.WhisperModel.load(model);
                var tok = dev.tessera.models.text.Tokenizer.load(model.resolve("tokenizer.json"))) {
            var tr = new dev.tessera.models.whisper.Transcriber(m, tok);
            var opt = dev.tessera.models.whisper.Transcriber.Options.defaults().withLanguage("en").withBeam(2)
                    .withWordTimestamps(true).withInitialPrompt("w5 w6").withCarryInitialPrompt(true)
                    .withHallucinationSilenceThreshold(0.5);
            var plain = dev.tessera.models.whisper.Transcriber.Options.defaults().withLanguage("en").withBeam(2)
                    .withWordTimestamps(true);
            int differ = 0;
            for (Row row : rows) {
                String name = SparkInferenceTest.fileName(row);
                var want = tr.transcribe(audio.get(name), opt, null);
                Row t = row.getStruct(row.fieldIndex("transcription"));
                assertEquals(want.text(), t.getString(t.fieldIndex("text")), name);
                assertEquals(want.segments().size(), t.getList(t.fieldIndex("segments")).size(), name);
                differ += tr.transcribe(audio.get(name), plain, null).text().equals(want.text()) ? 0 : 1;
            }
            assertTrue(differ > 0, "the flags change some transcript");
        }
        Run bad = run("transcribe", "--model", model.toString(), "--input", dir.toString(), "--output", out + "-x",
                "--hallucination-silence-threshold", "1");
        assertEquals(1, bad.rc());
        assertTrue(bad.err().strip().endsWith("--hallucination-silence-threshold needs --word-timestamps"), bad.err());
    }

    @Test
    void badArgumentsExitNonZeroWithOneLine() {
        Run fmt = run("embed-text", "--model", "minilm", "--input", "x", "--input-format", "xml", "--output", "y");
        assertEquals(1, fmt.rc());
        assertTrue(fmt.err().contains("--input-format must be parquet, json, csv, text or orc"), fmt.err());
        Run missing = run("classify", "--input", "x", "--output", "y");
        assertEquals(2, missing.rc());
        assertTrue(missing.err().contains("Missing required option: '--model"), missing.err());
    }
}
