package dev.tessera.models.llava;

import dev.tessera.models.nn.LayerNorm;
import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PatchEmbedding;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;

/**
 * The CLIP vision encoder as LLaVA uses it: the hidden states of chosen layers, not the pooled output. HF names
 * under {@code vision_model.}: {@code embeddings.patch_embedding/class_embedding/position_embedding},
 * {@code pre_layrnorm}, {@code encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1,
 * mlp.fc2}}. Only the layers up to the deepest feature layer are loaded; the rest and {@code post_layernorm} are
 * not needed for LLaVA's features and are skipped.
 *
 * <p>Package-private: the shared CLIP model of {@code dev.tessera.models.clip} replaces it once merged.
 */
final class ClipTower {
    private final LlavaConfig.VisionConfig cfg;
    private final Tensor patchWeight;
    private final Tensor classEmbedding;
    private final Tensor positionEmbedding;
    private final LayerNorm preNorm;
    private final Layer[] layers;

    private record Layer(LayerNorm ln1, Linear q, Linear k, Linear v, Linear o, LayerNorm ln2, Linear fc1, Linear fc2) {}

    ClipTower(LlavaConfig.VisionConfig cfg, Weights w, int layersNeeded) {
        this.cfg = cfg;
        long d = cfg.hiddenSize();
        long p = cfg.patchSize();
        patchWeight = w.take("embeddings.patch_embedding.weight", d, cfg.numChannels(), p, p);
        classEmbedding = w.take("embeddings.class_embedding", d);
        positionEmbedding = w.take("embeddings.position_embedding.weight", cfg.numPatches() + 1L, d);
        preNorm = LayerNorm.take(w, "pre_layrnorm", d, cfg.layerNormEps());
        layers = new Layer[layersNeeded];
        for (int i = 0; i < layersNeeded; i++) {
            Weights l = w.prefixed("encoder.layers." + i + ".");
            layers[i] = new Layer(LayerNorm.take(l, "layer_norm1", d, cfg.layerNormEps()),
                    Linear.take(l, "self_attn.q_proj", d, d, true), Linear.take(l, "self_attn.k_proj", d, d, true),
                    Linear.take(l, "self_attn.v_proj", d, d, true), Linear.take(l, "self_attn.out_proj", d, d, true),
                    LayerNorm.take(l, "layer_norm2", d, cfg.layerNormEps()),
                    Linear.take(l, "mlp.fc1", d, cfg.intermediateSize(), true),
                    Linear.take(l, "mlp.fc2", cfg.intermediateSize(), d, true));
        }
        String prefix = w.prefix();
        w.ignoreUnexpected(n -> n.startsWith(prefix) && (n.startsWith(prefix + "post_layernorm.")
                || n.endsWith("position_ids") || unusedLayer(n.substring(prefix.length()), layersNeeded)));
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

    /**
     * The hidden states at {@code indices} (0 = after the pre-norm, i = after layer i) of {@code pixels
     * [N, C, S, S]}: each {@code [N, 1 + patches, hidden]}.
     */
    Tensor[] hiddenStates(Tensor pixels, int[] indices) {
        long n = pixels.dim(0);
        if (pixels.rank() != 4 || pixels.dim(1) != cfg.numChannels() || pixels.dim(2) != cfg.imageSize()
                || pixels.dim(3) != cfg.imageSize()) {
            throw new IllegalArgumentException("pixel values must be [N, " + cfg.numChannels() + ", " + cfg.imageSize()
                    + ", " + cfg.imageSize() + "], got " + pixels.describe());
        }
        Tensor[] out = new Tensor[indices.length];
        int deepest = 0;
        for (int i : indices) {
            deepest = Math.max(deepest, i);
        }
        try (Scope scope = Tessera.scope()) {
            Tensor h = preNorm.forward(PatchEmbedding.embed2d(pixels, patchWeight, null, classEmbedding, positionEmbedding));
            keepIf(scope, out, indices, 0, h);
            long rows = h.dim(1);
            int heads = cfg.numHeads();
            long hd = cfg.hiddenSize() / heads;
            for (int li = 0; li < deepest; li++) {
                Layer l = layers[li];
                try (Scope ls = Tessera.scope()) {
                    Tensor x = l.ln1().forward(h);
                    Tensor q = l.q().forward(x).reshape(n, rows, heads, hd).transpose(1, 2);
                    Tensor k = l.k().forward(x).reshape(n, rows, heads, hd).transpose(1, 2);
                    Tensor v = l.v().forward(x).reshape(n, rows, heads, hd).transpose(1, 2);
                    Tensor a = Attention.scaledDotProduct(q, k, v, false);
                    Tensor h1 = Ops.add(h, l.o().forward(a.transpose(1, 2).contiguous().reshape(n, rows, cfg.hiddenSize())));
                    Tensor m = l.fc2().forward(activation(l.fc1().forward(l.ln2().forward(h1)), cfg.hiddenAct()));
                    h = ls.keep(Ops.add(h1, m));
                }
                keepIf(scope, out, indices, li + 1, h);
            }
        }
        return out;
    }

    private static void keepIf(Scope scope, Tensor[] out, int[] indices, int at, Tensor h) {
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] == at) {
                out[i] = scope.keep(h.contiguous());
            }
        }
    }

    /** {@code act(x)}; with {@code x == null} only checks that the name is supported (returns null). */
    static Tensor activation(Tensor x, String act) {
        if (x == null) {
            return switch (act) {
                case "quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "silu", "swish", "relu" -> null;
                default -> throw new IllegalArgumentException("activation \"" + act + "\" is not supported");
            };
        }
        return switch (act) {
            case "quick_gelu" -> Ops.quickGelu(x);
            case "gelu" -> Ops.gelu(x);
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Ops.geluTanh(x);
            case "silu", "swish" -> Ops.silu(x);
            case "relu" -> Ops.relu(x);
            default -> throw new IllegalArgumentException("activation \"" + act + "\" is not supported");
        };
    }
}
