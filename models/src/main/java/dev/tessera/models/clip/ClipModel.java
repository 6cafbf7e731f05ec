package dev.tessera.models.clip;

import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CLIP ({@code CLIPModel}): vision and text towers, {@code visual_projection} / {@code text_projection} (no bias)
 * and {@code logit_scale}. {@link #imageEmbeds} and {@link #textEmbeds} return the projected (not normalised)
 * features as transformers' {@code get_image_features} / {@code get_text_features}; {@link #logitsPerImage}
 * and {@link #zeroShot} compare them by scaled cosine similarity.
 */
public final class ClipModel implements AutoCloseable {
    private final ClipVisionModel vision;
    private final ClipTextModel text;
    private final Linear visualProjection;
    private final Linear textProjection;
    private final float logitScale;
    private final int projectionDim;
    private final Device device;
    private final List<Tensor> owned;
    private final Path dir;
    private final UseGuard guard = new UseGuard("ClipModel");

    private ClipModel(Path dir, HfConfig root, TensorSource src, Device device, DType dtype, boolean dynamicInt8) {
        this.dir = dir;
        this.device = device;
        projectionDim = root.getInt("projection_dim", 512);
        ClipVisionConfig vc = ClipVisionConfig.from(tower(root, "vision_config"), projectionDim);
        ClipTextConfig tc = ClipTextConfig.from(tower(root, "text_config"));
        Weights w = Weights.forDType(src, device, dtype, dynamicInt8, "CLIP");
        vision = ClipVisionModel.build(vc, w.prefixed("vision_model."), vc.numLayers(), true);
        text = new ClipTextModel(tc, w.prefixed("text_model."), guard);
        visualProjection = Linear.take(w, "visual_projection", vc.hiddenSize(), projectionDim, false);
        textProjection = Linear.take(w, "text_projection", tc.hiddenSize(), projectionDim, false);
        Tensor scale = w.take("logit_scale");
        w.finish();
        owned = w.loaded();
        float[] sv;
        try (Scope ignored = Tessera.scope()) {
            sv = scale.to(Device.CPU).to(DType.F32).toFloatArray();
        }
        if (sv.length != 1) {
            throw new IllegalArgumentException("logit_scale must hold one value, has " + sv.length);
        }
        logitScale = (float) Math.exp(sv[0]);
    }

    /**
     * A tower's config as transformers' {@code CLIPConfig} reads it: {@code key + "_dict"} (written by older
     * transformers releases, e.g. in LAION's OpenCLIP conversions) when present, which then replaces {@code key}
     * entirely (its missing fields take the defaults, not {@code key}'s values), else {@code key}.
     */
    static HfConfig tower(HfConfig root, String key) {
        return root.has(key + "_dict") ? root.child(key + "_dict") : root.child(key);
    }

    static boolean hasTower(HfConfig root, String key) {
        return root.has(key) || root.has(key + "_dict");
    }

    /**
     * Loads a {@code clip} model directory (config.json with vision_config/text_config + safetensors); dtype null: F32;
     * on the CPU also BF16 or I8: F32 arithmetic with both towers' matrices and the projections held as bfloat16 /
     * int8 ({@link Weights#forDType}).
     */
    public static ClipModel load(Path dir, Device device, DType dtype) {
        return load(dir, device, dtype, false);
    }

    /**
     * As {@link #load(Path, Device, DType)}, or with {@code dynamicInt8} on the CPU with every linear layer (both
     * towers and the projections) quantized for dynamic INT8 ({@link Weights#quantizeDynamic}; {@code dtype} null or
     * F32).
     */
    public static ClipModel load(Path dir, Device device, DType dtype, boolean dynamicInt8) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException(dir + ": no config.json");
        }
        HfConfig root = HfConfig.read(dir.resolve("config.json"));
        if (!hasTower(root, "vision_config") || !hasTower(root, "text_config")) {
            throw new IllegalArgumentException(dir.resolve("config.json") + ": not a CLIP config (needs vision_config and text_config)");
        }
        try (TensorSource src = TensorSource.safetensors(dir)) {
            return new ClipModel(dir, root, src, device, dtype == null ? DType.F32 : dtype, dynamicInt8);
        }
    }

    public ClipVisionModel vision() {
        return vision;
    }

    public ClipTextModel text() {
        return text;
    }

    /** exp(logit_scale). */
    public float logitScale() {
        return logitScale;
    }

    public int projectionDim() {
        return projectionDim;
    }

    /** Projected image features {@code [N, projection_dim]} of {@code pixels [N, 3, S, S]}. */
    public Tensor imageEmbeds(Tensor pixels) {
        try (UseGuard.Use use = guard.enter(); Scope scope = Tessera.scope()) {
            return scope.keep(visualProjection.forward(vision.pooled(pixels)));
        }
    }

    /** Projected text features {@code [N, projection_dim]} of token id sequences. */
    public Tensor textEmbeds(int[][] ids) {
        try (UseGuard.Use use = guard.enter(); Scope scope = Tessera.scope()) {
            return scope.keep(textProjection.forward(text.pooled(ids, device)));
        }
    }

    /** The tokenizer of the model directory ({@code tokenizer.json}). */
    public Tokenizer tokenizer() {
        Path t = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(t)) {
            throw new IllegalArgumentException(dir + ": no tokenizer.json");
        }
        return Tokenizer.load(t);
    }

    /**
     * Token ids of each text with special tokens, cut (keeping the end token) as transformers' {@code truncation=True}
     * cuts: to the {@code model_max_length} of the directory's {@code tokenizer_config.json} where it is below
     * max_position_embeddings, else to max_position_embeddings.
     */
    public int[][] tokenize(Tokenizer tok, List<String> texts) {
        int positions = text.config().maxPositions();
        int m = Tokenizer.modelMaxLength(dir, positions);
        int max = m > 0 ? m : positions;
        int[][] ids = new int[texts.size()][];
        for (int i = 0; i < ids.length; i++) {
            int[] t = tok.encode(texts.get(i), true);
            if (t.length > max) {
                int[] c = java.util.Arrays.copyOf(t, max);
                c[max - 1] = t[t.length - 1];
                t = c;
            }
            ids[i] = t;
        }
        return ids;
    }

    /** {@code logit_scale.exp() · cos(image_i, text_j)} as {@code [images][texts]}. */
    public static float[][] scaledCosine(float[] img, float[] txt, int dim, float scale) {
        int ni = img.length / dim;
        int nt = txt.length / dim;
        float[][] out = new float[ni][nt];
        for (int i = 0; i < ni; i++) {
            double ai = norm(img, i * dim, dim);
            for (int j = 0; j < nt; j++) {
                double bj = norm(txt, j * dim, dim);
                double dot = 0;
                for (int k = 0; k < dim; k++) {
                    dot += (double) img[i * dim + k] * txt[j * dim + k];
                }
                out[i][j] = (float) (scale * dot / (ai * bj));
            }
        }
        return out;
    }

    private static double norm(float[] a, int off, int n) {
        double s = 0;
        for (int k = 0; k < n; k++) {
            s += (double) a[off + k] * a[off + k];
        }
        return Math.max(Math.sqrt(s), 1e-12);
    }

    /** {@code logits_per_image [images][texts]} for {@code pixels} and token sequences. */
    public float[][] logitsPerImage(Tensor pixels, int[][] ids) {
        float[] img;
        float[] txt;
        try (Scope scope = Tessera.scope()) {
            img = imageEmbeds(pixels).to(Device.CPU).to(DType.F32).toFloatArray();
            txt = textEmbeds(ids).to(Device.CPU).to(DType.F32).toFloatArray();
        }
        return scaledCosine(img, txt, projectionDim, logitScale);
    }

    /** Zero-shot probabilities {@code [images][labels]}: softmax over the labels of {@link #logitsPerImage}. */
    public float[][] zeroShot(Tensor pixels, int[][] labelIds) {
        float[][] l = logitsPerImage(pixels, labelIds);
        for (float[] row : l) {
            double m = Double.NEGATIVE_INFINITY;
            for (float v : row) {
                m = Math.max(m, v);
            }
            double s = 0;
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) Math.exp(row[j] - m);
                s += row[j];
            }
            for (int j = 0; j < row.length; j++) {
                row[j] /= s;
            }
        }
        return l;
    }

    /**
     * The image preprocessor of a CLIP (or LLaVA) model directory: its {@code preprocessor_config.json} with
     * {@code CLIPImageProcessor}'s defaults where it is silent (shortest edge to {@code imageSize}, bicubic, center
     * crop to {@code imageSize}, CLIP mean/std), unless the file names another processor type
     * ({@link dev.tessera.runtime.image.ImagePreprocessor.Style}).
     */
    public static dev.tessera.runtime.image.ImagePreprocessor imagePreprocessor(Path dir, int imageSize,
            dev.tessera.runtime.image.ImageDecoder decoder) {
        return dev.tessera.runtime.image.ImagePreprocessor.load(dir, imageSize,
                dev.tessera.runtime.image.ImagePreprocessor.Style.CLIP, decoder);
    }

    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads (and closes text())
            vision.close(); // its guard: the weights are ours
            owned.forEach(Tensor::close);
        }
    }
}
