package dev.tessera.spark;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * What the image stages share: a binary column of encoded image files (JPEG, PNG, WebP, ... as
 * {@link ImageDecoder} reads them), the model's dtype and the largest image accepted.
 *
 * @param <S> the concrete stage, for chained setters
 */
public abstract class ImageStage<S extends ImageStage<S>> extends InferenceStage<S> {
    private static final long serialVersionUID = 1L;
    private String dtype;
    private long maxPixels = ImageDecoder.DEFAULT_MAX_PIXELS;

    protected ImageStage(String outputCol) {
        super("content", outputCol, 16);
    }

    /**
     * On CUDA executors {@code f32}, {@code bf16} or {@code f16} weights and activations; on CPU executors {@code f32},
     * or {@code bf16} / {@code int8}: the matrices held as bfloat16 / int8 (half / a quarter of their memory), the
     * arithmetic f32, as {@code tessera classify --dtype}; or {@code int8-dynamic} (CPU): every linear layer quantized
     * on load, int8 weights and activations. Null (default): f32 on the CPU, bf16 on CUDA. A form the executor's
     * device lacks (f16 or int8-dynamic on CUDA is refused by the load; f16 on a CPU, int8 on CUDA) fails the model's
     * load there.
     */
    public S setDType(String name) {
        if (name != null && !dynamicInt8(name)) {
            DType.parseStorage(name);
        }
        this.dtype = name;
        return self();
    }

    /** Refuse (as a row error) images of more pixels than this (default {@value ImageDecoder#DEFAULT_MAX_PIXELS}). */
    public S setMaxPixels(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("max pixels must be >= 1, got " + n);
        }
        this.maxPixels = n;
        return self();
    }

    public String getDType() {
        return dtype;
    }

    public long getMaxPixels() {
        return maxPixels;
    }

    @Override
    protected DataType inputType() {
        return DataTypes.BinaryType;
    }

    @Override
    protected String inputHint() {
        return " (encoded image files, e.g. the content column of spark.read().format(\"binaryFile\"))";
    }

    /** Outputs of one image from its row of the model's output. */
    interface PerImage {
        Object[] outputs(float[] row);
    }

    /**
     * Decodes and preprocesses the batch's images ({@link ImageBatch}: a failure stays that row's), runs
     * {@code forward} on those that decoded ({@code [n, ...]} out, in a scope of its own), and fills
     * {@code values} with {@code per}'s outputs of each image's row of the result, read back as f32.
     */
    @SuppressWarnings("try") // the scope frees the batch's tensors
    static void forEachImage(List<Object> inputs, List<String> names, Device device, ImagePreprocessor pre,
            Function<Tensor, Tensor> forward, PerImage per, Object[][] values, String[] errors) {
        try (Scope scope = Tessera.scope()) {
            ImageBatch b = ImageBatch.of(inputs, names, pre, device, errors);
            if (b.pixels == null) {
                return;
            }
            Tensor y = forward.apply(b.pixels);
            int w = (int) (y.numel() / b.rows.length);
            float[] all = y.to(Device.CPU).to(DType.F32).toFloatArray();
            for (int j = 0; j < b.rows.length; j++) {
                values[b.rows[j]] = per.outputs(Arrays.copyOfRange(all, j * w, (j + 1) * w));
            }
        }
    }

    /** The dtype set, parsed (null: the model's default, or int8-dynamic). */
    static DType dtypeOf(String name) {
        return name == null || dynamicInt8(name) ? null : DType.parseStorage(name);
    }

}
