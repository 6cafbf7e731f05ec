package dev.tessera.spark;

import dev.tessera.models.clip.ClipModel;
import dev.tessera.models.hub.ModelResolver;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * CLIP image embeddings of a binary column of encoded images, appended as {@code array<float>}: the projected image
 * features ({@code projection_dim}), as {@code tessera embed --image} writes them, optionally L2-normalised for
 * cosine search against {@link ClipModel#textEmbeds text embeddings}:
 * <pre>{@code
 * Dataset<Row> out = new ImageEmbedder().setModel("/models/clip-vit-base-patch32").setNormalize(true)
 *         .transform(spark.read().format("binaryFile").load("/data/photos")).select("path", "embedding");
 * }</pre>
 */
public final class ImageEmbedder extends ImageStage<ImageEmbedder> {
    private static final long serialVersionUID = 1L;
    private boolean normalize;

    /** Input {@code content}, output {@code embedding}, 16 images per batch, not normalised. */
    public ImageEmbedder() {
        super("embedding");
    }

    /** Divide each embedding by its L2 norm (default false: the raw projection, as transformers returns it). */
    public ImageEmbedder setNormalize(boolean b) {
        this.normalize = b;
        return this;
    }

    public boolean getNormalize() {
        return normalize;
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(floatsField(getOutputCol()));
    }

    @Override
    protected BatchFunction batchFunction(StructType input) {
        String spec = getModel();
        boolean norm = normalize;
        String dt = getDType();
        long max = getMaxPixels();
        return (inputs, rows, names, device, values, errors) -> {
            Loaded m = ExecutorModels.get("clip-image", spec, device, dt + "/" + max,
                    () -> Loaded.load(spec, device, dtypeOf(dt), dynamicInt8(dt), max));
            forEachImage(inputs, names, device, m.pre, m.model::imageEmbeds, e -> {
                if (norm) {
                    double sq = 0;
                    for (float v : e) {
                        sq += (double) v * v;
                    }
                    float inv = (float) (1 / Math.max(Math.sqrt(sq), 1e-12));
                    for (int t = 0; t < e.length; t++) {
                        e[t] *= inv;
                    }
                }
                return new Object[] {e};
            }, values, errors);
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

        static Loaded load(String spec, Device device, DType dtype, boolean dynamicInt8, long maxPixels) {
            Path dir = ModelResolver.resolveDefault(spec);
            ClipModel m = ClipModel.load(dir, device, dtype, dynamicInt8);
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
