package dev.tessera.models.vit;

import dev.tessera.models.nn.Heads;
import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.nn.Activation;
import dev.tessera.models.nn.LayerNorm;
import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PatchEmbedding;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * ViT image classification ({@code ViTForImageClassification}) with HF parameter names:
 * {@code vit.embeddings.{cls_token, position_embeddings, patch_embeddings.projection}},
 * {@code vit.encoder.layer.N.{layernorm_before, attention.attention.{query,key,value}, attention.output.dense,
 * layernorm_after, intermediate.dense, output.dense}}, {@code vit.layernorm}, {@code classifier}. The logits are
 * the classifier applied to the final-norm class token. A checkpoint without {@code classifier} (a bare
 * {@code ViTModel}, names with or without {@code vit.}) loads for {@link #features} only.
 */
public final class ViTForImageClassification implements AutoCloseable {
    private final ViTConfig cfg;
    private final Tensor patchWeight;
    private final Tensor patchBias;
    private final Tensor cls;
    private final Tensor pos;
    private final Layer[] layers;
    private final LayerNorm norm;
    private final Linear classifier;
    private final List<Tensor> owned;
    private final UseGuard guard = new UseGuard("ViTForImageClassification");

    /** {@code qkv}: the query, key and value projections stacked into one [3·hidden, hidden]. */
    private record Layer(LayerNorm ln1, Linear qkv, Linear o, LayerNorm ln2, Linear fc1, Linear fc2) {}

    private ViTForImageClassification(ViTConfig cfg, TensorSource src, Device device, DType dtype, boolean dynamicInt8) {
        this.cfg = cfg;
        String prefix = src.names().contains("vit.embeddings.cls_token") ? "vit." : "";
        Weights root = Weights.forDType(src, device, dtype, dynamicInt8, "ViT");
        root.ignoreUnexpected(n -> n.contains("pooler.") || n.endsWith("position_ids"));
        Weights w = root.prefixed(prefix);
        long d = cfg.hiddenSize();
        long p = cfg.patchSize();
        cls = w.take("embeddings.cls_token", 1, 1, d);
        pos = w.take("embeddings.position_embeddings", 1, cfg.numPatches() + 1L, d);
        patchWeight = w.take("embeddings.patch_embeddings.projection.weight", d, cfg.numChannels(), p, p);
        patchBias = w.take("embeddings.patch_embeddings.projection.bias", d);
        layers = new Layer[w.layers("encoder.layer.", cfg.numLayers(), "num_hidden_layers")];
        double eps = cfg.layerNormEps();
        long m = cfg.intermediateSize();
        for (int i = 0; i < layers.length; i++) {
            Weights l = w.prefixed("encoder.layer." + i + ".");
            layers[i] = new Layer(LayerNorm.take(l, "layernorm_before", d, eps),
                    Linear.takeStacked(l, d, d, cfg.qkvBias(), "attention.attention.query",
                            "attention.attention.key", "attention.attention.value"),
                    Linear.take(l, "attention.output.dense", d, d, true), LayerNorm.take(l, "layernorm_after", d, eps),
                    Linear.take(l, "intermediate.dense", d, m, true), Linear.take(l, "output.dense", m, d, true));
        }
        norm = LayerNorm.take(w, "layernorm", d, eps);
        classifier = src.names().contains("classifier.weight")
                ? Linear.take(root, "classifier", d, cfg.labels().size(), true) : null;
        root.finish();
        owned = root.loaded();
    }

    /**
     * Loads a model directory (config.json + safetensors). {@code dtype} null: F32 on CPU, BF16 on CUDA; on the CPU
     * also BF16 or I8: F32 arithmetic with the encoder's matrices held as bfloat16 / int8 ({@link Weights#forDType}).
     */
    public static ViTForImageClassification load(Path dir, Device device, DType dtype) {
        return load(dir, device, dtype, false);
    }

    /**
     * As {@link #load(Path, Device, DType)}, or with {@code dynamicInt8} on the CPU with every linear layer quantized
     * for dynamic INT8 (int8 weights per output feature, each token's activations uint8, exact int32 products:
     * {@link Weights#quantizeDynamic}; {@code dtype} null or F32).
     */
    public static ViTForImageClassification load(Path dir, Device device, DType dtype, boolean dynamicInt8) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException(dir + ": no config.json");
        }
        ViTConfig cfg = ViTConfig.from(HfConfig.read(dir.resolve("config.json")));
        DType dt = dtype != null ? dtype : device.isCuda() ? DType.BF16 : DType.F32;
        try (TensorSource src = TensorSource.safetensors(dir)) {
            return new ViTForImageClassification(cfg, src, device, dynamicInt8 ? dtype : dt, dynamicInt8);
        }
    }

    public ViTConfig config() {
        return cfg;
    }

    /** Whether the checkpoint has a classification head. */
    public boolean hasClassifier() {
        return classifier != null;
    }

    /** The final-norm hidden states {@code [N, 1 + patches, hidden]} of {@code pixels [N, C, S, S]}. */
    public Tensor features(Tensor pixels) {
        try (UseGuard.Use use = guard.enter()) {
            return featuresInUse(pixels);
        }
    }

    private Tensor featuresInUse(Tensor pixels) {
        if (pixels == null || pixels.rank() != 4 || pixels.dim(1) != cfg.numChannels()
                || pixels.dim(2) != cfg.imageSize() || pixels.dim(3) != cfg.imageSize()) {
            throw new IllegalArgumentException("pixel values must be [N, " + cfg.numChannels() + ", "
                    + cfg.imageSize() + ", " + cfg.imageSize() + "], got " + (pixels == null ? "null" : pixels.describe()));
        }
        long n = pixels.dim(0);
        int heads = cfg.numHeads();
        long d = cfg.hiddenSize();
        long hd = d / heads;
        try (Scope scope = Tessera.scope()) {
            Tensor x0 = pixels.dtype() == patchWeight.dtype() ? pixels : pixels.to(patchWeight.dtype());
            long seen = (long) (cfg.imageSize() / cfg.patchSize()) * cfg.patchSize();
            if (seen != cfg.imageSize()) { // the stride-p convolution of transformers ignores the remainder
                x0 = x0.slice(2, 0, seen).slice(3, 0, seen);
            }
            Tensor h = PatchEmbedding.embed2d(x0, patchWeight, patchBias, cls, pos);
            long rows = h.dim(1);
            for (Layer l : layers) {
                try (Scope ls = Tessera.scope()) {
                    Tensor x = l.ln1().forward(h);
                    Tensor[] qkv = Heads.forAttention(l.qkv().forward(x), n, rows, heads, hd);
                    Tensor a = Attention.scaledDotProduct(qkv[0], qkv[1], qkv[2], false);
                    Tensor h1 = l.o().forwardAdd(a.transpose(1, 2).contiguous().reshape(n, rows, d), h);
                    Tensor mm = l.fc1().forward(l.ln2().forward(h1), Activation.fused(cfg.hiddenAct()));
                    Tensor next = ls.keep(l.fc2().forwardAdd(mm, h1));
                    h.close();
                    h = next;
                }
            }
            return scope.keep(norm.forward(h));
        }
    }

    /** Class logits {@code [N, num_labels]} (F32) of {@code pixels [N, C, S, S]}. */
    public Tensor logits(Tensor pixels) {
        if (classifier == null) {
            throw new IllegalStateException("the checkpoint has no classifier (a bare ViTModel)");
        }
        try (UseGuard.Use use = guard.enter(); Scope scope = Tessera.scope()) {
            Tensor f = featuresInUse(pixels);
            long n = f.dim(0);
            Tensor c = f.slice(1, 0, 1).contiguous().reshape(n, cfg.hiddenSize());
            Tensor out = classifier.forward(c);
            return scope.keep(out.dtype() == DType.F32 ? out : out.to(DType.F32));
        }
    }


    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads
            owned.forEach(Tensor::close);
        }
    }
}
