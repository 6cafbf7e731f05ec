package dev.tessera.models.llava;

import dev.tessera.models.llama.LlamaConfig;

import dev.tessera.models.llama.KvCache;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.models.clip.ClipVisionModel;
import dev.tessera.models.nn.Activation;
import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LLaVA ({@code LlavaForConditionalGeneration}): a CLIP vision tower whose hidden states at
 * {@code vision_feature_layer} (CLS row dropped with the "default" strategy, as LLaVA-1.5) go through a two-layer
 * projector ({@code linear_1 → act → linear_2}) to the width of the Llama decoder's token embeddings; the rows of
 * each image replace the {@code <image>} placeholder tokens of the prompt, in order (a single placeholder per image
 * is expanded to the image's rows first), and the decoder runs on the result.
 *
 * <p>Both checkpoint layouts load: the classic one ({@code vision_tower.vision_model.*},
 * {@code multi_modal_projector.*}, {@code language_model.model.*}, {@code language_model.lm_head.weight}) and the
 * newer transformers one ({@code model.vision_tower.*}, {@code model.multi_modal_projector.*},
 * {@code model.language_model.*}, {@code lm_head.weight}). Prompts with images are batch 1.
 */
public final class LlavaForConditionalGeneration implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LlavaForConditionalGeneration.class);

    private final LlavaConfig cfg;
    private final ClipVisionModel tower;
    private final Linear proj1;
    private final Linear proj2;
    private final LlamaForCausalLM lm;
    private final List<Tensor> owned;
    private final DType dtype;
    private final UseGuard guard = new UseGuard("LlavaForConditionalGeneration");

    private LlavaForConditionalGeneration(LlavaConfig cfg, TensorSource src, Device device, DType dtype,
            boolean dynamicVision) {
        this.cfg = cfg;
        Activation.check(cfg.vision().hiddenAct(), "vision_config hidden_act"); // before loading anything
        Activation.checkElementwise(cfg.projectorAct(), "projector_hidden_act");
        boolean newer = src.names().stream().anyMatch(n -> n.startsWith("model.language_model."));
        String towerPrefix = newer ? "model.vision_tower." : "vision_tower.";
        // transformers 5 saves the CLIP tower without its vision_model. level (vision_tower.embeddings...)
        String vision = src.names().stream().anyMatch(n -> n.startsWith(towerPrefix + "vision_model."))
                ? towerPrefix + "vision_model." : towerPrefix;
        String projector = newer ? "model.multi_modal_projector." : "multi_modal_projector.";
        String body = newer ? "model.language_model." : "language_model.model.";
        String head = newer ? "lm_head.weight" : "language_model.lm_head.weight";
        long vh = (long) cfg.vision().hiddenSize() * cfg.featureLayers().length;
        long th = cfg.text().hiddenSize();
        checkProjector(src, projector, vh, th);
        Weights w = dynamicVision ? Weights.forDType(src, device, dtype, true, "LLaVA")
                : Weights.of(src, device, LlamaForCausalLM.computeDtype(device, dtype));
        if (device.isCpu() && (dtype == DType.BF16 || dtype == DType.I8)) {
            w.packWeightsAs(dtype); // as the text decoder alone: F32 compute, matrices held as bfloat16 / int8
        }
        this.dtype = w.dtype();
        int deepest = Arrays.stream(cfg.featureLayerIndices()).max().orElse(0);
        tower = ClipVisionModel.build(cfg.vision().toClip(), w.prefixed(vision), deepest, false);
        if (dynamicVision) { // the projector and the decoder: int8 weight-only (decode steps are a row or a few)
            w.quantizeDynamic(false).packWeightsAs(DType.I8);
        }
        proj1 = Linear.take(w.prefixed(projector), "linear_1", vh, th, cfg.projectorBias());
        proj2 = Linear.take(w.prefixed(projector), "linear_2", th, th, cfg.projectorBias());
        lm = LlamaForCausalLM.build(cfg.text(), w, body, head);
        try {
            w.finish();
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
        owned = w.loaded();
    }

    private static void checkProjector(TensorSource src, String prefix, long visionWidth, long textWidth) {
        String l1 = prefix + "linear_1.weight";
        String l2 = prefix + "linear_2.weight";
        if (src.names().contains(l1) && src.names().contains(l2)) {
            long[] s1 = src.shape(l1);
            long[] s2 = src.shape(l2);
            if (s1.length == 2 && s1[1] != visionWidth) {
                throw new IllegalArgumentException("mismatched projector: " + l1 + " " + Arrays.toString(s1) + " takes "
                        + s1[1] + " features but the vision tower gives " + visionWidth + " (vision_config.hidden_size x "
                        + "feature layers)");
            }
            if (s2.length == 2 && s2[0] != textWidth) {
                throw new IllegalArgumentException("mismatched projector width: " + l2 + " " + Arrays.toString(s2)
                        + " maps to " + s2[0] + " but the language model's hidden_size is " + textWidth);
            }
        }
    }

    /**
     * Loads a model directory ({@code config.json} + safetensors); {@code dtype} null: F32 on CPU, BF16 on CUDA; BF16
     * (or I8) on the CPU holds the matrices (tower, projector, decoder) as bfloat16 (int8) and computes in F32, as
     * {@link LlamaForCausalLM#load(Path, Device, DType)} does.
     */
    public static LlavaForConditionalGeneration load(Path dir, Device device, DType dtype) {
        return load(dir, device, dtype, false);
    }

    /**
     * As {@link #load(Path, Device, DType)}, or with {@code dynamicVision} on the CPU: the vision tower's linear
     * layers quantized for dynamic INT8 (int8 weights, each patch's activations uint8, exact int32 products:
     * {@link Weights#quantizeDynamic}; the tower's hundreds of patches a layer are where that pays) and the projector's
     * and decoder's matrices held as int8 weight-only ({@link DType#I8}). {@code dtype} null or F32.
     */
    public static LlavaForConditionalGeneration load(Path dir, Device device, DType dtype, boolean dynamicVision) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a model directory: " + dir);
        }
        LlavaConfig read = LlavaConfig.read(dir);
        LlavaConfig cfg = new LlavaConfig(read.vision(), LlamaConfig.withGenerationConfig(read.text(), dir),
                read.imageTokenIndex(), read.featureLayers(), read.selectStrategy(), read.projectorAct(),
                read.projectorBias()); // generation_config.json's eos ids, as for a text model
        try (TensorSource src = TensorSource.safetensors(dir)) {
            LlavaForConditionalGeneration m = new LlavaForConditionalGeneration(cfg, src, device, dtype, dynamicVision);
            LOG.info("loaded LLaVA {} on {}{}", cfg, device, dynamicVision
                    ? " (vision tower quantized for dynamic INT8, projector and decoder matrices held as I8)" : "");
            return m;
        }
    }

    /** From named tensors (either layout). */
    public static LlavaForConditionalGeneration fromSource(LlavaConfig cfg, TensorSource src, Device device, DType dtype) {
        return new LlavaForConditionalGeneration(cfg, src, device, dtype, false);
    }

    public LlavaConfig config() {
        return cfg;
    }

    /** The decoder (its weights are owned by this model). */
    public LlamaForCausalLM languageModel() {
        return lm;
    }

    /** Projected image features {@code [N, tokensPerImage, text hidden]} of {@code pixels [N, C, S, S]} (F32 ok). */
    public Tensor imageFeatures(Tensor pixels) {
        try (UseGuard.Use use = guard.enter()) {
            return imageFeaturesInUse(pixels);
        }
    }

    private Tensor imageFeaturesInUse(Tensor pixels) {
        try (Scope scope = Tessera.scope()) {
            Tensor px = pixels.dtype() == dtype && pixels.device().equals(lm.device()) ? pixels
                    : pixels.to(lm.device()).to(dtype);
            Tensor[] hs = tower.hiddenStates(px, cfg.featureLayerIndices());
            Tensor f = hs.length == 1 ? hs[0] : Ops.concat(-1, hs);
            if (cfg.selectStrategy().equals("default")) {
                f = f.slice(1, 1, f.dim(1));
            }
            Tensor out = proj2.forward(Activation.apply(proj1.forward(f), cfg.projectorAct()));
            return scope.keep(out);
        }
    }

    /**
     * {@code ids} with every {@code <image>} placeholder expanded to {@link LlavaConfig#tokensPerImage()} copies,
     * or {@code ids} itself when it already holds {@code images × tokensPerImage} of them.
     *
     * @throws IllegalArgumentException when the placeholders do not match {@code images}
     */
    public int[] expandImageTokens(int[] ids, int images) {
        int t = cfg.tokensPerImage();
        int tok = cfg.imageTokenIndex();
        int count = 0;
        for (int id : ids) {
            if (id == tok) {
                count++;
            }
        }
        if (count == (long) images * t && (images > 0 || count == 0)) {
            return ids;
        }
        if (count != images) {
            throw new IllegalArgumentException("the prompt has " + count + " <image> placeholder(s) but " + images
                    + " image(s) were given");
        }
        int[] out = new int[ids.length + count * (t - 1)];
        int j = 0;
        for (int id : ids) {
            if (id == tok) {
                Arrays.fill(out, j, j + t, tok);
                j += t;
            } else {
                out[j++] = id;
            }
        }
        return out;
    }

    /**
     * Logits {@code [1, S, vocab]} (F32) of a prompt with images, computed from scratch; {@code pixels} may be
     * null for a text-only prompt. S is the length after placeholder expansion.
     */
    public Tensor logits(int[] ids, Tensor pixels) {
        try (UseGuard.Use use = guard.enter()) {
            return logitsInUse(ids, pixels);
        }
    }

    private Tensor logitsInUse(int[] ids, Tensor pixels) {
        int n = pixels == null ? 0 : (int) pixels.dim(0);
        int[] full = expandImageTokens(ids, n);
        lm.checkContext(full.length);
        try (KvCache cache = lm.newCache(1, full.length); Tensor feats = n == 0 ? null : imageFeatures(pixels)) {
            return forward(cache, full, feats, true);
        }
    }

    /**
     * Feeds the tokens of {@code expanded} after the ones {@code cache} already holds, splicing the rows of
     * {@code features} ({@code [N, T, hidden]}, all images of the whole prompt in order; null when there are none)
     * at the placeholder positions. If the cache ends inside an image's rows it is first truncated to that image's
     * start. Returns the F32 logits of every new position ({@code all}) or of the last one.
     */
    public Tensor forward(KvCache cache, int[] expanded, Tensor features, boolean all) {
        try (UseGuard.Use use = guard.enter()) {
            return forwardInUse(cache, expanded, features, all);
        }
    }

    private Tensor forwardInUse(KvCache cache, int[] expanded, Tensor features, boolean all) {
        int tok = cfg.imageTokenIndex();
        int from = cache.length();
        while (from > 0 && from < expanded.length && expanded[from] == tok && expanded[from - 1] == tok) {
            from--;
        }
        if (from != cache.length()) {
            cache.truncate(from);
        }
        if (from >= expanded.length) {
            throw new IllegalArgumentException("no new tokens to feed: the cache already holds " + from);
        }
        try (Scope scope = Tessera.scope()) {
            return scope.keep(lm.forwardEmbeds(embedsInUse(expanded, from, features), null, cache, all));
        }
    }

    /**
     * The decoder's input embeddings {@code [1, S, hidden]} (model dtype) of the whole of {@code expanded}, with
     * the rows of {@code features} ({@code [N, T, hidden]}, null when there are none) at the placeholder positions:
     * what {@link #forward} feeds, for a caller that batches several prompts itself.
     */
    public Tensor inputEmbeds(int[] expanded, Tensor features) {
        try (UseGuard.Use use = guard.enter()) {
            if (expanded == null || expanded.length == 0) {
                throw new IllegalArgumentException("inputEmbeds: no tokens");
            }
            return embedsInUse(expanded, 0, features);
        }
    }

    /** Embeddings of {@code expanded[from:]}, image features spliced in (those before {@code from} skipped). */
    private Tensor embedsInUse(int[] expanded, int from, Tensor features) {
        int tok = cfg.imageTokenIndex();
        int imageTokens = 0;
        int before = 0;
        for (int i = 0; i < expanded.length; i++) {
            if (expanded[i] == tok) {
                imageTokens++;
                if (i < from) {
                    before++;
                }
            }
        }
        long rows = features == null ? 0 : features.dim(0) * features.dim(1);
        if (rows != imageTokens) {
            throw new IllegalArgumentException("the prompt holds " + imageTokens + " image tokens but the images give "
                    + rows + " feature rows (" + (features == null ? 0 : features.dim(0)) + " image(s) x "
                    + cfg.tokensPerImage() + ")");
        }
        int s = expanded.length - from;
        int[] ids = new int[s];
        for (int i = 0; i < s; i++) {
            int id = expanded[from + i];
            ids[i] = id == tok && tok >= cfg.text().vocabSize() ? 0 : id;
        }
        try (Scope scope = Tessera.scope()) {
            Tensor x = lm.embed(new int[][] {ids});
            if (rows > 0) {
                Tensor flat = features.reshape(rows, features.dim(2));
                int fi = before;
                int i = 0;
                while (i < s) {
                    if (expanded[from + i] != tok) {
                        i++;
                        continue;
                    }
                    int j = i;
                    while (j < s && expanded[from + j] == tok) {
                        j++;
                    }
                    Tensor src = flat.slice(0, fi, fi + (j - i)).reshape(1, j - i, flat.dim(1));
                    Ops.copyInto(src.dtype() == x.dtype() ? src : Ops.convert(src, x.dtype()), x.slice(1, i, j));
                    fi += j - i;
                    i = j;
                }
            }
            return scope.keep(x);
        }
    }

    private void ensureOpen() {
        guard.ensureOpen();
    }

    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads
            lm.close();
            owned.forEach(Tensor::close);
        }
    }

    /** Tensors owned (for diagnostics). */
    List<Tensor> owned() {
        return new ArrayList<>(owned);
    }
}
