package dev.tessera.spark;

import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.runtime.Device;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Sentences per second of all-MiniLM-L6-v2 through {@link TextEmbedder} on a local Spark (N task threads, one
 * executor JVM) against {@link SentenceEncoder} called directly in the same JVM, same texts (~128 word pieces each),
 * same batch size, alternating rounds; the direct run uses as many threads as Spark has task threads. Not a test: run by hand (docs/spark.md says how), e.g.
 * {@code java ... dev.tessera.spark.SparkThroughput 1024 32 2 5}: texts, batch, task threads, rounds.
 */
public final class SparkThroughput {
    private SparkThroughput() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int tasks = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        System.setProperty("tessera.offline", "true");
        Random r = new Random(1);
        String[] words = "the a cat dog sits on mat market fell rose quickly tessera spark rows of data".split(" ");
        List<String> texts = new ArrayList<>();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < 120; j++) {
                sb.append(j == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            texts.add(sb.toString());
            rows.add(RowFactory.create(i, sb.toString()));
        }
        SparkSession spark = SparkSession.builder().master("local[" + tasks + "]").appName("throughput")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        Dataset<Row> df = spark.createDataFrame(rows, new StructType().add("id", DataTypes.IntegerType)
                .add("text", DataTypes.StringType)).repartition(tasks).cache();
        df.count();
        TextEmbedder stage = new TextEmbedder().setModel("minilm").setBatchSize(batch).setDevice("cpu");
        try (SentenceEncoder enc = SentenceEncoder.load("minilm", Device.CPU)) {
            enc.embed(texts.subList(0, batch), batch); // warm-up of both
            stage.transform(df).filter("embedding is not null").count();
            double bestSpark = 0;
            double bestDirect = 0;
            for (int k = 0; k < rounds; k++) {
                long t0 = System.nanoTime();
                long c = stage.transform(df).filter("embedding is not null").count();
                // the direct peer on all the cores the Spark run had (the stage set 1 thread per task)
                dev.tessera.bindings.NativeLibrary.setCpuThreads(tasks);
                dev.tessera.bindings.blas.OpenBlas.setThreads(1); // as the models module's tests: no spinning
                long t1 = System.nanoTime();
                enc.embed(texts, batch);
                long t2 = System.nanoTime();
                double s = c / ((t1 - t0) / 1e9);
                double d = n / ((t2 - t1) / 1e9);
                bestSpark = Math.max(bestSpark, s);
                bestDirect = Math.max(bestDirect, d);
                System.out.printf("round %d: spark local[%d] %.1f sentences/s, direct %.1f sentences/s%n", k, tasks, s, d);
            }
            System.out.printf("best: spark %.1f, direct %.1f sentences/s, ratio %.2f%n", bestSpark, bestDirect,
                    bestSpark / bestDirect);
        } finally {
            ExecutorModels.release();
            spark.stop();
        }
    }
}
