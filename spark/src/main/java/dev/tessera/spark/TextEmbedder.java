package dev.tessera.spark;

import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Sentence embeddings of a string column with a sentence-transformers model ({@link SentenceEncoder}: BERT-family
 * checkpoints or ONNX exports, with their pooling and normalisation), appended as {@code array<float>}:
 * <pre>{@code
 * Dataset<Row> out = new TextEmbedder().setModel("minilm").setInputCol("text").setOutputCol("embedding")
 *         .transform(spark.read().parquet("docs.parquet"));
 * }</pre>
 * The texts of a batch are padded to the batch's longest (sorted by length within the batch, as
 * {@link SentenceEncoder#embed(List, int)} does); the embeddings equal a single-machine run's up to float rounding.
 */
public final class TextEmbedder extends InferenceStage<TextEmbedder> {
    private static final long serialVersionUID = 1L;
    private int maxLength;
    private String dtype;

    /** Input {@code text}, output {@code embedding}, 32 texts per batch. */
    public TextEmbedder() {
        super("text", "embedding", SentenceEncoder.DEFAULT_BATCH_SIZE);
    }

    /** Truncate texts to this many word pieces (default: the model's own limit). */
    public TextEmbedder setMaxLength(int n) {
        if (n < 2) {
            throw new IllegalArgumentException("max length must be >= 2 ([CLS] and [SEP]), got " + n);
        }
        this.maxLength = n;
        return this;
    }

    public int getMaxLength() {
        return maxLength;
    }

    /**
     * {@code bf16} or {@code int8}: on CPU executors the encoder's projections held as bfloat16 / int8 (half / a quarter
     * of their memory, f32 arithmetic), as {@code tessera embed --dtype}; {@code int8-dynamic}: int8 weights and
     * activations ({@link SentenceEncoder#loadQuantized}, about twice as fast on AVX-512 VNNI); {@code f32} or null
     * (default): as loaded. CUDA executors run sentence encoders in f32 whatever this says.
     */
    public TextEmbedder setDType(String name) {
        if (name != null && !dynamicInt8(name) && DType.parseStorage(name) == DType.F16) {
            throw new IllegalArgumentException("dtype f16 is not offered for sentence encoders: f32, bf16 or int8");
        }
        this.dtype = name;
        return this;
    }

    public String getDType() {
        return dtype;
    }

    @Override
    protected DataType inputType() {
        return DataTypes.StringType;
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(floatsField(getOutputCol()));
    }

    @Override
    protected BatchFunction batchFunction(StructType input) {
        String spec = getModel();
        int max = maxLength;
        String dt = dtype;
        return (inputs, rows, names, device, values, errors) -> {
            SentenceEncoder enc = encoder(spec, device, max, dt);
            List<String> texts = new ArrayList<>(inputs.size());
            for (Object o : inputs) {
                texts.add((String) o);
            }
            float[][] e = enc.embed(texts, texts.size());
            for (int i = 0; i < e.length; i++) {
                values[i] = new Object[] {e[i]};
            }
        };
    }

    private static SentenceEncoder encoder(String spec, Device device, int maxLength, String dtype) {
        boolean dynamic = dynamicInt8(dtype) && device.isCpu();
        DType storage = dtype == null || device.isCuda() || dynamic ? null : DType.parseStorage(dtype);
        String variant = dynamic ? "int8-dynamic" : storage == null ? "" : storage.name();
        SentenceEncoder base = ExecutorModels.get("sentence-encoder", spec, device, variant,
                () -> SentenceEncoder.load(spec, device, storage, dynamic));
        // withMaxLength shares the loaded model and tokenizer (it closes neither)
        return maxLength > 0 ? base.withMaxLength(maxLength) : base;
    }
}
