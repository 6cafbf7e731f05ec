package dev.tessera.models.clip;

import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.nn.LayerNorm;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.PatchEmbedding;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The CLIP vision transformer ({@code CLIPVisionTransformer}): patch embedding with class token and learned
 * positions, {@code pre_layrnorm}, pre-norm encoder layers, and {@code post_layernorm} on the class token for the
 * pooled output. HF names relative to the tower prefix: {@code embeddings.{patch_embedding.weight,
 * class_embedding, position_embedding.weight}}, {@code pre_layrnorm}, {@code encoder.layers.N...},
 * {@code post_layernorm}.
 *
 * <p>Usable alone ({@link #load}: a {@code clip} or {@code clip_vision_model} directory, weights under
 * {@code vision_model.}, {@code vision_tower.vision_model.}, {@code model.vision_tower.vision_model.}, or without the
 * {@code vision_model.} level as transformers 5 saves LLaVA's tower) or as a
 * part of a bigger model ({@link #build}), e.g. LLaVA, which reads the hidden states of a chosen layer.
 */
public final class ClipVisionModel implements AutoCloseable {
    /** Tower prefixes tried by {@link #load}, in order. */
    public static final List<String> PREFIXES =
            List.of("vision_model.", "vision_tower.vision_model.", "model.vision_tower.vision_model.", "vision_tower.",
                    "model.vision_tower.", "");

    private final ClipVisionConfig cfg;
    private final Tensor patchWeight;
    private final Tensor classEmbedding;
    private final Tensor positionEmbedding;
    private final LayerNorm preNorm;
    private final LayerNorm postNorm;
    private final ClipEncoder encoder;
    private final List<Tensor> owned;
    private final UseGuard guard = new UseGuard("ClipVisionModel");

    private ClipVisionModel(ClipVisionConfig cfg, Weights w, int layersNeeded, boolean withPostNorm, List<Tensor> owned) {
        if (layersNeeded < 0 || layersNeeded > cfg.numLayers()) {
            throw new IllegalArgumentException("layers needed " + layersNeeded + " not in [0, " + cfg.numLayers() + "]");
        }
        this.cfg = cfg;
        long d = cfg.hiddenSize();
        long p = cfg.patchSize();
        patchWeight = w.take("embeddings.patch_embedding.weight", d, cfg.numChannels(), p, p);
        classEmbedding = w.take("embeddings.class_embedding", d);
        positionEmbedding = w.take("embeddings.position_embedding.weight", cfg.numPatches() + 1L, d);
        preNorm = LayerNorm.take(w, "pre_layrnorm", d, cfg.layerNormEps());
        encoder = new ClipEncoder(w, layersNeeded, cfg.hiddenSize(), cfg.intermediateSize(), cfg.numHeads(),
                cfg.layerNormEps(), cfg.hiddenAct());
        postNorm = withPostNorm ? LayerNorm.take(w, "post_layernorm", d, cfg.layerNormEps()) : null;
        String prefix = w.prefix();
        w.ignoreUnexpected(n -> n.startsWith(prefix) && ((!withPostNorm && n.startsWith(prefix + "post_layernorm."))
                || n.endsWith("position_ids") || unusedLayer(n.substring(prefix.length()), layersNeeded)));
        this.owned = owned;
    }

    /**
     * A tower reading its parameters from {@code w} (already prefixed with the tower's prefix). Only the first
     * {@code layersNeeded} layers are taken (the rest are ignored), and {@code post_layernorm} only when
     * {@code withPostNorm}. The caller owns the weights (this model's {@link #close} does nothing) and calls
     * {@link Weights#finish()}.
     */
    public static ClipVisionModel build(ClipVisionConfig cfg, Weights w, int layersNeeded, boolean withPostNorm) {
        return new ClipVisionModel(cfg, w, layersNeeded, withPostNorm, List.of());
    }

    /**
     * Loads the vision tower of a model directory ({@code config.json} with {@code vision_config}, or a vision-only
     * config, plus safetensors); other parameters (text tower, projections) are ignored. {@code dtype} null: F32.
     */
    public static ClipVisionModel load(Path dir, Device device, DType dtype) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException(dir + ": no config.json");
        }
        HfConfig root = HfConfig.read(dir.resolve("config.json"));
        HfConfig vc = ClipModel.hasTower(root, "vision_config") ? ClipModel.tower(root, "vision_config") : root;
        ClipVisionConfig cfg = ClipVisionConfig.from(vc, root.getInt("projection_dim", 512));
        try (TensorSource src = TensorSource.safetensors(dir)) {
            String prefix = PREFIXES.stream()
                    .filter(p -> src.names().contains(p + "embeddings.patch_embedding.weight"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(src.describe()
                            + ": no CLIP vision tower (embeddings.patch_embedding.weight under any of " + PREFIXES + ")"));
            Weights w = Weights.forDType(src, device, dtype, "CLIP vision tower");
            w.ignoreUnexpected(n -> !n.startsWith(prefix));
            ClipVisionModel m = new ClipVisionModel(cfg, w.prefixed(prefix), cfg.numLayers(), true, null);
            w.finish();
            return new ClipVisionModel(m, w.loaded());
        }
    }

    private ClipVisionModel(ClipVisionModel m, List<Tensor> owned) {
        this.cfg = m.cfg;
        this.patchWeight = m.patchWeight;
        this.classEmbedding = m.classEmbedding;
        this.positionEmbedding = m.positionEmbedding;
        this.preNorm = m.preNorm;
        this.postNorm = m.postNorm;
        this.encoder = m.encoder;
        this.owned = List.copyOf(owned);
    }

    private static boolean unusedLayer(String rel, int needed) {
        if (!rel.startsWith("encoder.layers.")) {
            return false;
        }
        String rest = rel.substring("encoder.layers.".length());
        int dot = rest.indexOf('.');
        try {
            return dot > 0 && Integer.parseInt(rest.substring(0, dot)) >= needed;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    public ClipVisionConfig config() {
        return cfg;
    }

    /** Number of encoder layers loaded (hidden states 0..this are available). */
    public int layersLoaded() {
        return encoder.size();
    }

    private void check(Tensor pixels) {
        if (pixels == null || pixels.rank() != 4 || pixels.dim(1) != cfg.numChannels()
                || pixels.dim(2) != cfg.imageSize() || pixels.dim(3) != cfg.imageSize()) {
            throw new IllegalArgumentException("pixel values must be [N, " + cfg.numChannels() + ", " + cfg.imageSize()
                    + ", " + cfg.imageSize() + "], got " + (pixels == null ? "null" : pixels.describe()));
        }
    }

    /**
     * The hidden states at {@code indices} (as transformers' {@code hidden_states}: 0 = the embeddings after
     * {@code pre_layrnorm}, i = after layer i; negative counts from the end, -1 = last loaded layer) of
     * {@code pixels [N, C, S, S]}: each {@code [N, 1 + patches, hidden]}, owned by the caller.
     */
    public Tensor[] hiddenStates(Tensor pixels, int... indices) {
        try (UseGuard.Use use = guard.enter()) {
            return hiddenStatesInUse(pixels, indices);
        }
    }

    private Tensor[] hiddenStatesInUse(Tensor pixels, int... indices) {
        check(pixels);
        int[] idx = new int[indices.length];
        int deepest = 0;
        for (int i = 0; i < indices.length; i++) {
            int k = indices[i] < 0 ? encoder.size() + 1 + indices[i] : indices[i];
            if (k < 0 || k > encoder.size()) {
                throw new IllegalArgumentException("hidden state index " + indices[i] + " out of range for "
                        + encoder.size() + " loaded layers");
            }
            idx[i] = k;
            deepest = Math.max(deepest, k);
        }
        Tensor[] out = new Tensor[idx.length];
        try (Scope scope = Tessera.scope()) {
            Tensor x = pixels.dtype() == patchWeight.dtype() ? pixels : pixels.to(patchWeight.dtype());
            long seen = (long) (cfg.imageSize() / cfg.patchSize()) * cfg.patchSize();
            if (seen != cfg.imageSize()) { // the stride-p convolution of transformers ignores the remainder
                x = x.slice(2, 0, seen).slice(3, 0, seen);
            }
            Tensor h = preNorm.forward(PatchEmbedding.embed2d(x, patchWeight, null, classEmbedding, positionEmbedding));
            keepIf(scope, out, idx, 0, h);
            for (int li = 0; li < deepest; li++) {
                Tensor prev = h;
                h = encoder.layer(li, h, false);
                keepIf(scope, out, idx, li + 1, h);
                if (!contains(idx, li)) {
                    prev.close();
                }
            }
        }
        return out;
    }

    private static boolean contains(int[] idx, int v) {
        for (int i : idx) {
            if (i == v) {
                return true;
            }
        }
        return false;
    }

    /** The hidden state at one {@code layer} (see {@link #hiddenStates}): {@code [N, 1 + patches, hidden]}. */
    public Tensor forward(Tensor pixels, int layer) {
        return hiddenStates(pixels, layer)[0];
    }

    /** The pooled output: {@code post_layernorm} of the last layer's class token, {@code [N, hidden]}. */
    public Tensor pooled(Tensor pixels) {
        if (postNorm == null || encoder.size() != cfg.numLayers()) {
            throw new IllegalStateException("this tower was built without post_layernorm or with fewer layers");
        }
        try (Scope scope = Tessera.scope()) {
            Tensor last = hiddenStates(pixels, -1)[0];
            long n = last.dim(0);
            return scope.keep(postNorm.forward(last.slice(1, 0, 1).contiguous().reshape(n, cfg.hiddenSize())));
        }
    }

    private static void keepIf(Scope scope, Tensor[] out, int[] indices, int at, Tensor h) {
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] == at) {
                out[i] = scope.keep(h.contiguous());
            }
        }
    }

    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads
            if (owned != null) {
                owned.forEach(Tensor::close);
            }
        }
    }
}
