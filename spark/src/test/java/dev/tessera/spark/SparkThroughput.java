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
 * {@code java ... dev.tessera.spark.SparkThroughput 512 32 2 5 bench/results/spark-cpu.json}: texts, batch, task
 * threads, rounds, optional JSON output. Each round also runs the stage with the tasks sharing one kernel pool
 * ({@code setThreadsPerTask(0)} with as many threads as tasks, OpenBLAS on its own threads), the behaviour before the
 * per-task default.
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
        // the same stage with the tasks sharing one kernel pool of `tasks` threads (and OpenBLAS' own threads)
        TextEmbedder shared = new TextEmbedder().setModel("minilm").setBatchSize(batch).setDevice("cpu")
                .setThreadsPerTask(0);
        double[] best = new double[3];
        List<double[]> all = new ArrayList<>();
        try (SentenceEncoder enc = SentenceEncoder.load("minilm", Device.CPU)) {
            enc.embed(texts.subList(0, batch), batch); // warm-up of both
            stage.transform(df).filter("embedding is not null").count();
            for (int k = 0; k < rounds; k++) {
                long t0 = System.nanoTime();
                long c = stage.transform(df).filter("embedding is not null").count();
                long t1 = System.nanoTime();
                // the direct peer on all the cores the Spark run had (the stage set 1 thread per task)
                dev.tessera.bindings.NativeLibrary.setCpuThreads(tasks);
                dev.tessera.bindings.blas.OpenBlas.setThreads(1); // as the models module's tests: no spinning
                long t2 = System.nanoTime();
                enc.embed(texts, batch);
                long t3 = System.nanoTime();
                dev.tessera.bindings.blas.OpenBlas.setThreads(tasks);
                long c2 = shared.transform(df).filter("embedding is not null").count();
                long t4 = System.nanoTime();
                double[] rate = {c / ((t1 - t0) / 1e9), n / ((t3 - t2) / 1e9), c2 / ((t4 - t3) / 1e9)};
                all.add(rate);
                for (int j = 0; j < 3; j++) {
                    best[j] = Math.max(best[j], rate[j]);
                }
                System.out.printf("round %d: spark local[%d] %.1f sentences/s, direct %.1f, spark sharing one pool"
                        + " %.1f%n", k, tasks, rate[0], rate[1], rate[2]);
            }
            System.out.printf("best: spark %.1f, direct %.1f, shared pool %.1f sentences/s; spark / direct %.2f%n",
                    best[0], best[1], best[2], best[0] / best[1]);
        } finally {
            ExecutorModels.release();
            spark.stop();
        }
        if (args.length > 4) {
            write(java.nio.file.Path.of(args[4]), n, batch, tasks, all, best);
        }
    }

    private static void write(java.nio.file.Path file, int n, int batch, int tasks, List<double[]> rounds,
            double[] best) {
        var om = new com.fasterxml.jackson.databind.ObjectMapper();
        var o = om.createObjectNode();
        o.put("benchmark", "all-MiniLM-L6-v2 sentence embeddings through tessera-spark TextEmbedder on local[" + tasks
                + "] vs SentenceEncoder called directly in the same JVM on " + tasks + " threads");
        o.put("date", java.time.ZonedDateTime.now().toString());
        o.put("availableProcessors", Runtime.getRuntime().availableProcessors());
        o.put("java", System.getProperty("java.version"));
        o.put("texts", n).put("word_pieces_per_text", "about 128").put("batch", batch).put("task_threads", tasks);
        var rs = o.putArray("rounds_sentences_per_s");
        for (double[] r : rounds) {
            rs.addObject().put("spark_thread_per_task", r[0]).put("direct", r[1]).put("spark_shared_pool", r[2]);
        }
        o.putObject("best_sentences_per_s").put("spark_thread_per_task", best[0]).put("direct", best[1])
                .put("spark_shared_pool", best[2]);
        o.put("ratio_spark_over_direct", best[0] / best[1]);
        o.put("ratio_thread_per_task_over_shared_pool", best[0] / best[2]);
        try {
            om.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), o);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
