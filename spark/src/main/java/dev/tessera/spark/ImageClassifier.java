package dev.tessera.spark;

import dev.tessera.models.hub.ModelResolver;
import dev.tessera.models.vit.ClassScores;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Image classification of a binary column of encoded images (JPEG, PNG, WebP, ...) with a Hugging Face ViT
 * checkpoint ({@link ViTForImageClassification}; preprocessing from its {@code preprocessor_config.json}, as
 * {@code tessera classify} does), appended as {@code array<struct<label: string, index: int, prob: float>>}, the
 * top-k classes, most probable first:
 * <pre>{@code
 * Dataset<Row> images = spark.read().format("binaryFile").load("s3a://bucket/photos/");   // path, ..., content
 * Dataset<Row> out = new ImageClassifier().setModel("/models/vit-base-patch16-224").setTopK(5)
 *         .setErrorCol("error").transform(images).drop("content");
 * }</pre>
 * Probabilities as {@link ClassScores} gives them (softmax, or a sigmoid per class for multi-label and one-class
 * heads). {@link #setLogitsCol} also appends the raw logits.
 */
public final class ImageClassifier extends ImageStage<ImageClassifier> {
    private static final long serialVersionUID = 1L;
    /** The element type of the output column. */
    public static final StructType CLASS = new StructType()
            .add("label", DataTypes.StringType, false)
            .add("index", DataTypes.IntegerType, false)
            .add("prob", DataTypes.FloatType, false);

    private int topK = 5;
    private String logitsCol;

    /** Input {@code content} (what {@code binaryFile} reads), output {@code predictions}, 16 images per batch. */
    public ImageClassifier() {
        super("predictions");
    }

    /** How many classes to keep per image (default 5; fewer when the model has fewer). */
    public ImageClassifier setTopK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("top k must be >= 1, got " + k);
        }
        this.topK = k;
        return this;
    }

    /** Also append the logits as {@code array<float>} in this column (null: not). */
    public ImageClassifier setLogitsCol(String name) {
        if (name != null && name.isBlank()) {
            throw new IllegalArgumentException("logits column name is empty");
        }
        this.logitsCol = name;
        return this;
    }

    public int getTopK() {
        return topK;
    }

    public String getLogitsCol() {
        return logitsCol;
    }

    @Override
    protected List<StructField> outputFields() {
        List<StructField> f = new ArrayList<>();
        f.add(DataTypes.createStructField(getOutputCol(), DataTypes.createArrayType(CLASS, false), true));
        if (logitsCol != null) {
            f.add(floatsField(logitsCol));
        }
        return f;
    }

    @Override
    protected BatchFunction batchFunction(StructType input) {
        String spec = getModel();
        int k = topK;
        boolean logits = logitsCol != null;
        String dt = getDType();
        long max = getMaxPixels();
        return (inputs, rows, names, device, values, errors) -> {
            Loaded m = ExecutorModels.get("vit-classifier", spec, device, dt + "/" + max,
                    () -> Loaded.load(spec, device, dtypeOf(dt), dynamicInt8(dt), max));
            forEachImage(inputs, names, device, m.pre, m.model::logits, l -> {
                float[] p = ClassScores.probabilities(l, 0, l.length, m.sigmoid);
                int[] top = ClassScores.top(p, k);
                Row[] classes = new Row[top.length];
                for (int t = 0; t < top.length; t++) {
                    classes[t] = RowFactory.create(m.labels.get(top[t]), top[t], p[top[t]]);
                }
                return logits ? new Object[] {classes, l} : new Object[] {classes};
            }, values, errors);
        };
    }

    /** A loaded classifier with its preprocessing, labels and head type. */
    private static final class Loaded implements AutoCloseable {
        final ViTForImageClassification model;
        final ImagePreprocessor pre;
        final List<String> labels;
        final boolean sigmoid;

        private Loaded(ViTForImageClassification model, ImagePreprocessor pre, boolean sigmoid) {
            this.model = model;
            this.pre = pre;
            this.labels = model.config().labels();
            this.sigmoid = sigmoid;
        }

        static Loaded load(String spec, Device device, DType dtype, boolean dynamicInt8, long maxPixels) {
            Path dir = ModelResolver.resolveDefault(spec);
            ViTForImageClassification m = ViTForImageClassification.load(dir, device, dtype, dynamicInt8);
            try {
                if (!m.hasClassifier()) {
                    throw new IllegalArgumentException(spec + ": the checkpoint has no classifier head (a bare ViTModel)");
                }
                ImagePreprocessor pre = ImagePreprocessor.load(dir, m.config().imageSize(), ImagePreprocessor.Style.VIT,
                        new ImageDecoder(maxPixels));
                return new Loaded(m, pre, ClassScores.sigmoidHead(dir, m.config().labels().size()));
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
