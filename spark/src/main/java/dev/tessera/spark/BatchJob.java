package dev.tessera.spark;

import java.util.Arrays;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The stages as a Spark application, for {@code spark-submit} without writing code:
 * <pre>
 * spark-submit --class dev.tessera.spark.BatchJob --jars ... tessera-spark.jar \
 *     embed-text --model minilm --input docs.parquet --column text --output embeddings.parquet
 * spark-submit ... classify --model /models/vit --input /data/photos --glob '*.jpg' --output labels.parquet
 * spark-submit ... embed-images --model /models/clip --input /data/photos --output vectors.parquet
 * spark-submit ... transcribe --model /models/whisper-base --input /data/calls --language en --output text.json --output-format json
 * spark-submit ... generate --model /models/llama --input questions.parquet --column question --max-tokens 200 --output answers.parquet
 * spark-submit ... generate --model /models/llava --input /data/photos --prompt "Describe this picture." --output captions.parquet
 * </pre>
 * Images and audio are read as files ({@code binaryFile}; the {@code content} column is not written out); texts from
 * Parquet, JSON lines, CSV (with a header) or plain text ({@code value} column, a line a row). {@code --keep-errors}
 * keeps rows that cannot be processed, with the reason in an {@code error} column. Exits non-zero with one line on
 * bad input.
 */
@Command(name = "tessera-spark", mixinStandardHelpOptions = true, subcommands = {BatchJob.EmbedText.class,
    BatchJob.Classify.class, BatchJob.EmbedImages.class, BatchJob.Transcribe.class, BatchJob.Generate.class},
        description = "Batch inference with Tessera on Apache Spark.")
public final class BatchJob {
    public static void main(String[] args) {
        int rc = run(args);
        if (rc != 0) {
            System.exit(rc);
        }
    }

    /** Runs the job in this JVM's Spark session (made with the spark-submit settings when there is none). */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.err, true), args);
    }

    /** As {@link #run(String...)}, with errors and usage written to {@code err}. */
    public static int run(java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new BatchJob()).setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable t = e;
            while (t.getCause() != null && (t.getMessage() == null || t.getMessage().isBlank())) {
                t = t.getCause();
            }
            cmd.getErr().println("tessera-spark: " + (t.getMessage() == null ? t.toString() : t.getMessage()));
            return 1;
        });
        return cl.execute(args);
    }

    /** Where rows come from and go to, and the stage settings every job has. */
    static final class Io {
        @Option(names = "--model", required = true, description = "Model directory (readable on every executor),"
                + " maven:GROUP:ARTIFACT:VERSION or an alias such as minilm.")
        String model;

        @Option(names = "--input", required = true, description = "Input path (a folder or files; any Hadoop file system).")
        String input;

        @Option(names = "--output", required = true, description = "Output path.")
        String output;

        @Option(names = "--output-format", defaultValue = "parquet", description = "parquet (default), json or orc.")
        String outputFormat;

        @Option(names = "--overwrite", description = "Replace the output if it exists.")
        boolean overwrite;

        @Option(names = "--batch", description = "Rows per forward pass (default: the stage's).")
        Integer batch;

        @Option(names = "--device", defaultValue = "auto", description = "auto (default: the task's GPU, else Tessera's"
                + " default), cpu, cuda or cuda:N.")
        String device;

        @Option(names = "--partitions", description = "Repartition the input into N partitions first.")
        Integer partitions;

        @Option(names = "--keep-errors", description = "Keep rows that cannot be processed (reason in column 'error').")
        boolean keepErrors;

        <S extends InferenceStage<S>> S configure(S stage) {
            stage.setModel(model).setDevice(device);
            if (batch != null) {
                stage.setBatchSize(batch);
            }
            if (keepErrors) {
                stage.setErrorCol("error");
            }
            return stage;
        }

        Dataset<Row> prepare(Dataset<Row> in) {
            if (partitions != null) {
                if (partitions < 1) {
                    throw new IllegalArgumentException("--partitions must be >= 1, got " + partitions);
                }
                return in.repartition(partitions);
            }
            return in;
        }

        void write(Dataset<Row> out) {
            if (!Arrays.asList("parquet", "json", "orc").contains(outputFormat)) {
                throw new IllegalArgumentException("--output-format must be parquet, json or orc, got " + outputFormat);
            }
            if (Arrays.asList(out.columns()).contains("content")) {
                out = out.drop("content");
            }
            out.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).format(outputFormat).save(output);
        }
    }

    /** Files read whole (images, audio). */
    static final class FileInput {
        @Option(names = "--glob", description = "Only files whose names match, e.g. '*.jpg' (pathGlobFilter).")
        String glob;

        @Option(names = "--recursive", negatable = true, defaultValue = "true", description = "Read sub-folders too"
                + " (default true).")
        boolean recursive;

        Dataset<Row> read(SparkSession spark, String input) {
            DataFrameReader r = spark.read().format("binaryFile").option("recursiveFileLookup", recursive);
            if (glob != null) {
                r = r.option("pathGlobFilter", glob);
            }
            return r.load(input);
        }

        /** Runs {@code stage} (configured from {@code io}) over the input files and writes the output. */
        <S extends InferenceStage<S>> int run(Io io, S stage) {
            io.write(io.configure(stage).transform(io.prepare(read(session(), io.input))));
            return 0;
        }
    }

    static SparkSession session() {
        return SparkSession.builder().appName("tessera-spark").getOrCreate();
    }

    /** A table of rows from Parquet, JSON lines, CSV with a header, ORC or plain text (column value). */
    static Dataset<Row> readTable(String format, String input) {
        DataFrameReader r = session().read().format(switch (format) {
            case "parquet", "json", "csv", "text", "orc" -> format;
            default -> throw new IllegalArgumentException("--input-format must be parquet, json, csv, text or orc, got "
                    + format);
        });
        if (format.equals("csv")) {
            r = r.option("header", true);
        }
        return r.load(input);
    }

    @Command(name = "embed-text", mixinStandardHelpOptions = true, description = "Sentence embeddings of a text column.")
    static final class EmbedText implements Callable<Integer> {
        @Mixin
        Io io;

        @Option(names = "--input-format", defaultValue = "parquet", description = "parquet (default), json, csv"
                + " (with a header) or text (one row a line, column 'value').")
        String format;

        @Option(names = "--column", description = "The text column (default: text; value for --input-format text).")
        String column;

        @Option(names = "--max-length", description = "Truncate to N word pieces (default: the model's limit).")
        Integer maxLength;

        @Option(names = "--dtype", description = "f32 (default), bf16 or int8 (on CPU executors: the projections held"
                + " as bfloat16 or int8, computed in f32), or int8-dynamic (int8 weights and activations).")
        String dtype;

        @Override
        public Integer call() {
            TextEmbedder stage = io.configure(new TextEmbedder()).setDType(dtype)
                    .setInputCol(column != null ? column : format.equals("text") ? "value" : "text");
            if (maxLength != null) {
                stage.setMaxLength(maxLength);
            }
            io.write(stage.transform(io.prepare(readTable(format, io.input))));
            return 0;
        }
    }

    @Command(name = "classify", mixinStandardHelpOptions = true, description = "ViT classification of image files.")
    static final class Classify implements Callable<Integer> {
        @Mixin
        Io io;

        @Mixin
        FileInput files;

        @Option(names = "--top", defaultValue = "5", description = "Classes kept per image (default 5).")
        int top;

        @Option(names = "--logits", description = "Also write the logits (column 'logits').")
        boolean logits;

        @Option(names = "--dtype", description = "cuda: f32, bf16 (default) or f16; cpu: f32 (default), bf16 or int8"
                + " (the matrices held so, computed in f32), or int8-dynamic (int8 weights and activations).")
        String dtype;

        @Override
        public Integer call() {
            return files.run(io, new ImageClassifier().setTopK(top).setLogitsCol(logits ? "logits" : null)
                    .setDType(dtype));
        }
    }

    @Command(name = "embed-images", mixinStandardHelpOptions = true, description = "CLIP embeddings of image files.")
    static final class EmbedImages implements Callable<Integer> {
        @Mixin
        Io io;

        @Mixin
        FileInput files;

        @Option(names = "--normalize", description = "L2-normalise the embeddings.")
        boolean normalize;

        @Option(names = "--dtype", description = "cuda: f32 (default), bf16 or f16; cpu: f32 (default), bf16 or int8"
                + " (the matrices held so, computed in f32), or int8-dynamic (int8 weights and activations).")
        String dtype;

        @Override
        public Integer call() {
            return files.run(io, new ImageEmbedder().setNormalize(normalize).setDType(dtype));
        }
    }

    @Command(name = "transcribe", mixinStandardHelpOptions = true, description = "Whisper transcripts of audio files.")
    static final class Transcribe implements Callable<Integer> {
        @Mixin
        Io io;

        @Mixin
        FileInput files;

        @Option(names = "--language", description = "Spoken language (default: detected per file).")
        String language;

        @Option(names = "--task", defaultValue = "transcribe", description = "transcribe (default) or translate.")
        String task;

        @Option(names = "--beam", defaultValue = "5", description = "Beam width (default 5; 1 is greedy).")
        int beam;

        @Option(names = "--no-timestamps", description = "Decode without timestamp tokens.")
        boolean noTimestamps;

        @Option(names = "--dtype", description = "f32 (default), bf16 or int8 (on the CPU: the matrices held as bfloat16"
                + " or int8, computed in f32), or int8-dynamic (int8 weights and activations).")
        String dtype;

        @Option(names = "--word-timestamps", description = "Time every word: each segment gets words (word, start, end,"
                + " probability).")
        boolean wordTimestamps;

        @Option(names = "--initial-prompt", description = "Text before the first window's context (names, spelling,"
                + " style).")
        String initialPrompt;

        @Option(names = "--carry-initial-prompt", description = "Put --initial-prompt before every window's context.")
        boolean carryInitialPrompt;

        @Option(names = "--hallucination-silence-threshold", paramLabel = "S", description = "With --word-timestamps:"
                + " skip silence of more than S seconds around what looks like a hallucination.")
        Double hallucinationSilenceThreshold;

        @Override
        public Integer call() {
            SpeechTranscriber st = new SpeechTranscriber().setLanguage(language).setTask(task).setBeam(beam)
                    .setTimestamps(!noTimestamps).setDType(dtype).setWordTimestamps(wordTimestamps)
                    .setInitialPrompt(initialPrompt, carryInitialPrompt);
            if (hallucinationSilenceThreshold != null) {
                if (!wordTimestamps) {
                    throw new IllegalArgumentException("--hallucination-silence-threshold needs --word-timestamps");
                }
                st.setHallucinationSilenceThreshold(hallucinationSilenceThreshold);
            }
            return files.run(io, st);
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true, description = "Replies of a Llama-style decoder to a"
            + " prompt column, or of LLaVA to --prompt about each image file.")
    static final class Generate implements Callable<Integer> {
        @Mixin
        Io io;

        @Mixin
        FileInput files;

        @Option(names = "--prompt", description = "One prompt for every image file of --input (LLaVA); without it"
                + " --input is a table with a prompt column.")
        String prompt;

        @Option(names = "--input-format", defaultValue = "parquet", description = "Without --prompt: parquet"
                + " (default), json, csv, text or orc.")
        String format;

        @Option(names = "--column", description = "Without --prompt: the prompt column (default: prompt; value for"
                + " --input-format text).")
        String column;

        @Option(names = "--max-tokens", description = "New tokens at most (default: the model's generation_config.json,"
                + " else 256).")
        Integer maxTokens;

        @Option(names = "--temperature", defaultValue = "0", description = "0 (default): greedy; else sampling.")
        double temperature;

        @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass (default 1: off).")
        double topP;

        @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default 0).")
        long seed;

        @Option(names = "--system", description = "A system message before each prompt.")
        String system;

        @Option(names = "--raw", description = "No chat template: each prompt is the model's whole input.")
        boolean raw;

        @Option(names = "--dtype", description = "f32, bf16 or int8 (on the CPU: the matrices held as bfloat16 or int8,"
                + " computed in f32; default f32 on the CPU, bf16 on CUDA); for LLaVA also int8-dynamic (the vision"
                + " tower in int8 weights and activations).")
        String dtype;

        @Override
        public Integer call() {
            TextGenerator stage = new TextGenerator().setTemperature(temperature).setTopP(topP).setSeed(seed)
                    .setSystemPrompt(system).setRaw(raw).setDType(dtype);
            if (maxTokens != null) {
                stage.setMaxTokens(maxTokens);
            }
            if (prompt != null) {
                Dataset<Row> in = files.read(session(), io.input).withColumn("prompt",
                        org.apache.spark.sql.functions.lit(prompt));
                io.write(io.configure(stage.setImageCol("content")).transform(io.prepare(in)));
                return 0;
            }
            stage.setInputCol(column != null ? column : format.equals("text") ? "value" : "prompt");
            io.write(io.configure(stage).transform(io.prepare(readTable(format, io.input))));
            return 0;
        }
    }
}
