package dev.tessera.models.clip;

import dev.tessera.models.nn.Activation;
import dev.tessera.models.nn.Heads;
import dev.tessera.models.nn.LayerNorm;
import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;

/**
 * A stack of CLIP pre-norm transformer layers with HF names {@code encoder.layers.N.{layer_norm1,
 * self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}}.
 */
final class ClipEncoder {
    private final Layer[] layers;
    private final int width;
    private final int heads;
    private final String act;

    /** {@code qkv}: the query, key and value projections stacked into one [3·width, width]. */
    private record Layer(LayerNorm ln1, Linear qkv, Linear o, LayerNorm ln2, Linear fc1, Linear fc2) {}

    ClipEncoder(Weights w, int count, int width, int intermediate, int heads, double eps, String act) {
        this.width = width;
        this.heads = heads;
        this.act = act;
        layers = new Layer[w.layers("encoder.layers.", count, "num_hidden_layers")];
        long d = width;
        for (int i = 0; i < layers.length; i++) {
            Weights l = w.prefixed("encoder.layers." + i + ".");
            layers[i] = new Layer(LayerNorm.take(l, "layer_norm1", d, eps),
                    Linear.takeStacked(l, d, d, true, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
                    Linear.take(l, "self_attn.out_proj", d, d, true),
                    LayerNorm.take(l, "layer_norm2", d, eps), Linear.take(l, "mlp.fc1", d, intermediate, true),
                    Linear.take(l, "mlp.fc2", intermediate, d, true));
        }
    }

    int size() {
        return layers.length;
    }

    /** Layer {@code li} applied to {@code h [N, S, D]}; the result is owned by the caller's scope. */
    Tensor layer(int li, Tensor h, boolean causal) {
        Layer l = layers[li];
        long n = h.dim(0);
        long rows = h.dim(1);
        long hd = width / heads;
        Tensor out;
        try (Scope ls = Tessera.scope()) {
            Tensor x = l.ln1().forward(h);
            Tensor[] qkv = Heads.forAttention(l.qkv().forward(x), n, rows, heads, hd);
            Tensor a = Attention.scaledDotProduct(qkv[0], qkv[1], qkv[2], causal);
            Tensor h1 = l.o().forwardAdd(a.transpose(1, 2).contiguous().reshape(n, rows, width), h);
            Tensor m = l.fc1().forward(l.ln2().forward(h1), Activation.fused(act));
            out = ls.keep(l.fc2().forwardAdd(m, h1));
        }
        return out;
    }

}
