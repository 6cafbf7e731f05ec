package dev.tessera.spark;

import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tessera;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * What the batch-inference stages share: a model spec, an input column, output columns appended to each row, a batch
 * size, a device and what to do with a row that cannot be processed. {@link #transform} checks the columns on the
 * driver (a clear {@link IllegalArgumentException} before any job runs) and returns a Dataset whose partitions run
 * the model on batches of their rows; nothing runs until an action (write, count, collect) asks for it.
 *
 * <p>On the executors each JVM loads the model once ({@link ExecutorModels}) and keeps it for every later task.
 * Each batch runs inside a Tessera scope, so its tensors are freed when it ends; a partition holds at most one batch
 * of rows and outputs at a time. A null input gives null outputs.
 *
 * <p>Rows that cannot be processed (an undecodable image, say): by default the task fails with the reason and the
 * row's {@code path} when the Dataset has such a column (as {@code spark.read.format("binaryFile")} gives), and Spark
 * fails the job after its task retries. With {@link #setErrorCol} the row is kept instead, with null outputs and the
 * one-line reason in that column, and the job goes on.
 *
 * @param <S> the concrete stage, for chained setters
 */
public abstract class InferenceStage<S extends InferenceStage<S>> implements Serializable {
    private static final long serialVersionUID = 1L;

    private String model;
    private String inputCol;
    private String outputCol;
    private int batchSize;
    private String device = "auto";
    private String errorCol;
    private int threadsPerTask = -1;

    protected InferenceStage(String inputCol, String outputCol, int batchSize) {
        this.inputCol = inputCol;
        this.outputCol = outputCol;
        this.batchSize = batchSize;
    }

    @SuppressWarnings("unchecked")
    protected final S self() {
        return (S) this;
    }

    /**
     * The model: a directory every executor can read (a shared or copied path), {@code maven:GROUP:ARTIFACT:VERSION}
     * (resolved on each executor through its user's Maven settings and repositories, and cached) or an alias such as
     * {@code minilm}.
     */
    public S setModel(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("model spec is empty (give a directory, maven:GROUP:ARTIFACT:VERSION or"
                    + " an alias)");
        }
        this.model = spec.trim();
        return self();
    }

    public S setInputCol(String name) {
        this.inputCol = columnName(name, "input column");
        return self();
    }

    public S setOutputCol(String name) {
        this.outputCol = columnName(name, "output column");
        return self();
    }

    /** Rows per forward pass (default differs per stage). */
    public S setBatchSize(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + n);
        }
        this.batchSize = n;
        return self();
    }

    /**
     * {@code auto} (default): the GPU Spark assigned to the task (resource {@code gpu}, its first address) when
     * there is one, else Tessera's default device on the executor (CUDA when usable, else the CPU); or {@code cpu},
     * {@code cuda}, {@code cuda:N}, used as named (a task fails with the backend's reason where it is unusable).
     */
    public S setDevice(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("device is empty: auto, cpu, cuda or cuda:N");
        }
        String s = spec.trim();
        if (!s.equals("auto")) {
            Device.parse(s); // the syntax, now; whether it is usable is the executor's to say
        }
        this.device = s;
        return self();
    }

    /**
     * Keep rows that cannot be processed, with null outputs and the reason in this (string) column; null (default):
     * such a row fails its task.
     */
    public S setErrorCol(String name) {
        this.errorCol = name == null ? null : columnName(name, "error column");
        return self();
    }

    /**
     * CPU threads of Tessera's kernels (and OpenBLAS) in each executor JVM. Default: the task's {@code spark.task.cpus}
     * (1 unless configured), so that the tasks an executor runs side by side each compute on their own core(s)
     * instead of contending for one pool, unless {@code TESSERA_NUM_THREADS} is set in the executor's environment
     * ({@code spark.executorEnv.TESSERA_NUM_THREADS}), which then rules; {@code n >= 1}: that many; 0: leave the
     * JVM's setting alone. The count is process-wide (in local mode, the driver's JVM); results are the same bits on
     * any count.
     */
    public S setThreadsPerTask(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("threads per task must be >= 0 (0: leave as is), got " + n);
        }
        this.threadsPerTask = n;
        return self();
    }

    public int getThreadsPerTask() {
        return threadsPerTask;
    }

    public String getModel() {
        return model;
    }

    public String getInputCol() {
        return inputCol;
    }

    public String getOutputCol() {
        return outputCol;
    }

    public int getBatchSize() {
        return batchSize;
    }

    public String getDevice() {
        return device;
    }

    public String getErrorCol() {
        return errorCol;
    }

    /** The schema {@link #transform} gives for {@code input}: its columns, then this stage's (and the error column). */
    public StructType transformSchema(StructType input) {
        if (model == null) {
            throw new IllegalStateException(getClass().getSimpleName() + ": no model (setModel)");
        }
        int idx = fieldIndex(input, inputCol);
        DataType t = input.fields()[idx].dataType();
        if (!t.equals(inputType())) {
            throw new IllegalArgumentException("column '" + inputCol + "' is " + t.simpleString() + "; "
                    + getClass().getSimpleName() + " reads " + inputType().simpleString() + inputHint());
        }
        checkOtherColumns(input);
        List<StructField> added = new ArrayList<>(outputFields());
        if (errorCol != null) {
            added.add(DataTypes.createStructField(errorCol, DataTypes.StringType, true));
        }
        StructType out = input;
        for (StructField f : added) {
            if (Arrays.asList(out.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("column '" + f.name() + "' already exists: choose another name"
                        + " for the output (columns: " + String.join(", ", input.fieldNames()) + ")");
            }
            out = out.add(f);
        }
        return out;
    }

    /**
     * The rows of {@code data} with this stage's outputs appended (lazily: nothing runs before an action).
     *
     * @throws IllegalArgumentException when the input column is missing or of another type, or an output column
     *     already exists
     * @throws IllegalStateException when no model is set
     */
    public Dataset<Row> transform(Dataset<Row> data) {
        if (data == null) {
            throw new IllegalArgumentException("data must not be null");
        }
        StructType in = data.schema();
        StructType out = transformSchema(in);
        int pathIdx = -1;
        int p = Arrays.asList(in.fieldNames()).indexOf("path");
        if (p >= 0 && in.fields()[p].dataType().equals(DataTypes.StringType)) {
            pathIdx = p;
        }
        Partition fn = new Partition(batchFunction(in), fieldIndex(in, inputCol), pathIdx, in.size(),
                out.size() - in.size() - (errorCol != null ? 1 : 0), batchSize, device, errorCol != null,
                getClass().getSimpleName(), threadsPerTask);
        return data.mapPartitions(fn, Encoders.row(out));
    }

    /** The input column's type. */
    protected abstract DataType inputType();

    /** Appended to the type error, e.g. where such a column comes from. */
    protected String inputHint() {
        return "";
    }

    /** Checks the other columns this stage reads in {@code input} (nothing by default). */
    protected void checkOtherColumns(StructType input) {}

    /** The columns appended (before the error column), nullable. */
    protected abstract List<StructField> outputFields();

    /** A nullable {@code array<float>} column (embeddings, logits). */
    protected static StructField floatsField(String name) {
        return DataTypes.createStructField(name, DataTypes.createArrayType(DataTypes.FloatType, false), true);
    }

    /** What runs on the executors, made on the driver from this stage's settings and the input's schema. */
    protected abstract BatchFunction batchFunction(StructType input);

    /**
     * A batch of non-null inputs to outputs, on an executor. Implementations are serializable settings; they load their
     * model through {@link ExecutorModels}.
     */
    protected interface BatchFunction extends Serializable {
        /**
         * {@code rows[i]} is the row of input {@code i} (for other columns a stage reads), {@code names[i]} names it
         * in messages (its {@code path}, else its row and partition). Fills
         * {@code values[i]} with row {@code i}'s outputs (one per output column), or {@code errors[i]} with
         * why that row cannot be processed (its outputs then null). Failures of the whole batch (the model cannot be
         * loaded, out of memory) are thrown.
         */
        void apply(List<Object> inputs, List<Row> rows, List<String> names, Device device, Object[][] values,
                String[] errors);
    }

    private static String columnName(String name, String what) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(what + " name is empty");
        }
        return name;
    }

    /**
     * Whether a stage's dtype {@code name} asks for dynamic INT8 ({@code int8-dynamic}: linear layers quantized on
     * load, int8 weights and activations, CPU).
     */
    static boolean dynamicInt8(String name) {
        return name != null && name.trim().equalsIgnoreCase("int8-dynamic");
    }

    static int fieldIndex(StructType s, String name) {
        int i = Arrays.asList(s.fieldNames()).indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no column '" + name + "' (columns: " + String.join(", ", s.fieldNames())
                    + ")");
        }
        return i;
    }

    /** The device a task runs on (see {@link #setDevice}). */
    static Device taskDevice(String spec) {
        if (spec.equals("auto")) {
            TaskContext tc = TaskContext.get();
            if (tc != null) {
                ResourceInformation gpu = tc.resourcesJMap().get("gpu");
                if (gpu != null && gpu.addresses().length > 0) {
                    Device d = Device.cuda(Integer.parseInt(gpu.addresses()[0].trim()));
                    Backends.get(d);
                    return d;
                }
            }
            return Tessera.defaultDevice();
        }
        Device d = Device.parse(spec);
        Backends.get(d);
        return d;
    }

    /** The executor side: a partition's rows in batches. */
    private static final class Partition implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final BatchFunction fn;
        private final int inputIdx;
        private final int pathIdx;
        private final int inWidth;
        private final int outputs;
        private final int batchSize;
        private final String device;
        private final boolean keepErrors;
        private final String stage;
        private final int threads;

        Partition(BatchFunction fn, int inputIdx, int pathIdx, int inWidth, int outputs, int batchSize, String device,
                boolean keepErrors, String stage, int threads) {
            this.fn = fn;
            this.inputIdx = inputIdx;
            this.pathIdx = pathIdx;
            this.inWidth = inWidth;
            this.outputs = outputs;
            this.batchSize = batchSize;
            this.device = device;
            this.keepErrors = keepErrors;
            this.stage = stage;
            this.threads = threads;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return new Iterator<>() {
                private final ArrayDeque<Row> ready = new ArrayDeque<>();
                private Device dev;
                private long seen;

                @Override
                public boolean hasNext() {
                    while (ready.isEmpty() && rows.hasNext()) {
                        run(batch());
                    }
                    return !ready.isEmpty();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return ready.poll();
                }

                private List<Row> batch() {
                    List<Row> b = new ArrayList<>(batchSize);
                    while (b.size() < batchSize && rows.hasNext()) {
                        b.add(rows.next());
                    }
                    return b;
                }

                private void run(List<Row> b) {
                    List<Object> inputs = new ArrayList<>(b.size());
                    List<String> names = new ArrayList<>(b.size());
                    List<Row> kept = new ArrayList<>(b.size());
                    int[] at = new int[b.size()];
                    for (int i = 0; i < b.size(); i++) {
                        Object v = b.get(i).get(inputIdx);
                        at[i] = v == null ? -1 : inputs.size();
                        if (v != null) {
                            inputs.add(v);
                            kept.add(b.get(i));
                            names.add(where(b.get(i), seen + i));
                        }
                    }
                    Object[][] values = new Object[inputs.size()][];
                    String[] errors = new String[inputs.size()];
                    if (!inputs.isEmpty()) {
                        if (dev == null) {
                            dev = taskDevice(device);
                            if (dev.isCpu()) {
                                CpuThreads.apply(threads);
                            }
                        }
                        fn.apply(inputs, kept, names, dev, values, errors);
                    }
                    for (int i = 0; i < b.size(); i++) {
                        Row r = b.get(i);
                        int k = at[i];
                        String err = k >= 0 ? errors[k] : null;
                        if (err != null && !keepErrors) {
                            throw new IllegalArgumentException(stage + ": " + err
                                    + " (setErrorCol keeps such rows and goes on)");
                        }
                        Object[] o = new Object[inWidth + outputs + (keepErrors ? 1 : 0)];
                        for (int c = 0; c < inWidth; c++) {
                            o[c] = r.get(c);
                        }
                        if (k >= 0 && err == null) {
                            System.arraycopy(values[k], 0, o, inWidth, outputs);
                        }
                        if (keepErrors) {
                            o[o.length - 1] = err;
                        }
                        ready.add(RowFactory.create(o));
                    }
                    seen += b.size();
                }

                private String where(Row r, long index) {
                    if (pathIdx >= 0 && r.get(pathIdx) != null) {
                        return r.getString(pathIdx);
                    }
                    TaskContext tc = TaskContext.get();
                    return "row " + index + (tc != null ? " of partition " + tc.partitionId() : "");
                }
            };
        }
    }
}
