package dev.tessera.spark;

import dev.tessera.models.clip.ClipModel;
import dev.tessera.models.hub.ModelResolver;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * CLIP image embeddings of a binary column of encoded images, appended as {@code array<float>}: the projected image
 * features ({@code projection_dim}), as {@code tessera embed --image} writes them, optionally L2-normalised for
 * cosine search against {@link ClipModel#textEmbeds text embeddings}:
 * <pre>{@code
 * Dataset<Row> out = new ImageEmbedder().setModel("/models/clip-vit-base-patch32").setNormalize(true)
 *         .transform(spark.read().format("binaryFile").load("/data/photos")).select("path", "embedding");
 * }</pre>
 */
public final class ImageEmbedder extends InferenceStage<ImageEmbedder> {
    private static final long serialVersionUID = 1L;
    private boolean normalize;
    private String dtype;
    private long maxPixels = ImageDecoder.DEFAULT_MAX_PIXELS;

    /** Input {@code content}, output {@code embedding}, 16 images per batch, not normalised. */
    public ImageEmbedder() {
        super("content", "embedding", 16);
    }

    /** Divide each embedding by its L2 norm (default false: the raw projection, as transformers returns it). */
    public ImageEmbedder setNormalize(boolean b) {
        this.normalize = b;
        return this;
    }

    /** {@code f32}, {@code bf16} or {@code f16} (half precision on CUDA only); null (default): f32 on the CPU, bf16 on CUDA. */
    public ImageEmbedder setDType(String name) {
        if (name != null) {
            ImageClassifier.parseDType(name);
        }
        this.dtype = name;
        return this;
    }

    /** Refuse (as a row error) images of more pixels than this (default {@value ImageDecoder#DEFAULT_MAX_PIXELS}). */
    public ImageEmbedder setMaxPixels(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("max pixels must be >= 1, got " + n);
        }
        this.maxPixels = n;
        return this;
    }

    public boolean getNormalize() {
        return normalize;
    }

    @Override
    protected DataType inputType() {
        return DataTypes.BinaryType;
    }

    @Override
    protected String inputHint() {
        return " (encoded image files, e.g. the content column of spark.read().format(\"binaryFile\"))";
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(DataTypes.createStructField(getOutputCol(), DataTypes.createArrayType(DataTypes.FloatType,
                false), true));
    }

    @Override
    protected BatchFunction batchFunction() {
        String spec = getModel();
        boolean norm = normalize;
        String dt = dtype;
        long max = maxPixels;
        return (inputs, names, device, values, errors) -> {
            Loaded m = ExecutorModels.get("clip-image", spec, device, dt + "/" + max,
                    () -> Loaded.load(spec, device, dt == null ? null : ImageClassifier.parseDType(dt), max));
            try (Scope scope = Tessera.scope()) {
                ImageBatch b = ImageBatch.of(inputs, names, m.pre, device, errors);
                if (b.pixels == null) {
                    return;
                }
                int d = m.model.projectionDim();
                float[] all = m.model.imageEmbeds(b.pixels).to(Device.CPU).to(DType.F32).toFloatArray();
                for (int j = 0; j < b.rows.length; j++) {
                    float[] e = java.util.Arrays.copyOfRange(all, j * d, (j + 1) * d);
                    if (norm) {
                        double s = 0;
                        for (float v : e) {
                            s += (double) v * v;
                        }
                        float inv = (float) (1 / Math.max(Math.sqrt(s), 1e-12));
                        for (int t = 0; t < d; t++) {
                            e[t] *= inv;
                        }
                    }
                    values[b.rows[j]] = new Object[] {e};
                }
            }
        };
    }

    /** A loaded CLIP model with its image preprocessing. */
    private static final class Loaded implements AutoCloseable {
        final ClipModel model;
        final ImagePreprocessor pre;

        private Loaded(ClipModel model, ImagePreprocessor pre) {
            this.model = model;
            this.pre = pre;
        }

        static Loaded load(String spec, Device device, DType dtype, long maxPixels) {
            Path dir = ModelResolver.resolveDefault(spec);
            ClipModel m = ClipModel.load(dir, device, dtype);
            try {
                return new Loaded(m, ClipModel.imagePreprocessor(dir, m.vision().config().imageSize(),
                        new ImageDecoder(maxPixels)));
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
