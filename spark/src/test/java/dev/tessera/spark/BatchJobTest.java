package dev.tessera.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
