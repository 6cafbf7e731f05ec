package dev.tessera.models.bert;

import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A DistilBERT checkpoint seen under BERT's parameter names: DistilBERT is BERT's post-LN encoder with other names
 * ({@code transformer.layer.N.attention.q_lin}, {@code sa_layer_norm}, {@code ffn.lin1}, ...) and no token-type
 * embedding, which is supplied here as one row of zeros (so it adds nothing). Tensors outside the encoder (task
 * heads such as {@code vocab_transform}, {@code pre_classifier}) are not listed.
 */
final class DistilBertNames {
    private DistilBertNames() {}

    private static final String[][] LAYER = {
        {"attention.self.query", "attention.q_lin"}, {"attention.self.key", "attention.k_lin"},
        {"attention.self.value", "attention.v_lin"}, {"attention.output.dense", "attention.out_lin"},
        {"attention.output.LayerNorm", "sa_layer_norm"}, {"intermediate.dense", "ffn.lin1"},
        {"output.dense", "ffn.lin2"}, {"output.LayerNorm", "output_layer_norm"},
    };
    static final String TYPE_TABLE = "embeddings.token_type_embeddings.weight";

    /** Whether {@code source} holds DistilBERT's names (with or without the {@code distilbert.} prefix). */
    static boolean isDistilBert(TensorSource source) {
        Set<String> n = source.names();
        return n.contains("distilbert.transformer.layer.0.attention.q_lin.weight")
                || n.contains("transformer.layer.0.attention.q_lin.weight");
    }

    /** {@code source} under BERT's names for {@code cfg}; a missing DistilBERT tensor is named in the error. */
    static TensorSource wrap(TensorSource source, BertConfig cfg) {
        String prefix = source.names().contains("distilbert.embeddings.word_embeddings.weight") ? "distilbert." : "";
        Map<String, String> toSource = new LinkedHashMap<>();
        for (String e : List.of("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias")) {
            toSource.put(e, prefix + e);
        }
        // the layers the checkpoint holds: a config.json count it lacks is reported by Weights.layers
        int count = Math.max(0, Math.min(cfg.numLayers(), source.layersUnder(prefix + "transformer.layer.")));
        for (int i = 0; i < count; i++) {
            for (String[] p : LAYER) {
                for (String kind : new String[] {".weight", ".bias"}) {
                    toSource.put("encoder.layer." + i + "." + p[0] + kind,
                            prefix + "transformer.layer." + i + "." + p[1] + kind);
                }
            }
        }
        List<String> missing = new ArrayList<>();
        toSource.values().stream().filter(n -> !source.names().contains(n)).forEach(missing::add);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(source.describe() + ": DistilBERT checkpoint without " + missing.size()
                    + " tensor(s): " + missing);
        }
        long hidden = cfg.hiddenSize();
        return new TensorSource() {
            @Override
            public String describe() {
                return source.describe() + " (DistilBERT)";
            }

            @Override
            public Set<String> names() {
                Set<String> s = new java.util.LinkedHashSet<>(toSource.keySet());
                s.add(TYPE_TABLE);
                return s;
            }

            @Override
            public long[] shape(String name) {
                return name.equals(TYPE_TABLE) ? new long[] {1, hidden} : source.shape(toSource.get(name));
            }

            @Override
            public Tensor load(String name, Device device, DType dtype) {
                if (name.equals(TYPE_TABLE)) {
                    Tensor z = Tensor.of(new float[(int) hidden], device, 1, hidden);
                    if (dtype == null || dtype == DType.F32) {
                        return z;
                    }
                    try (z) {
                        return z.to(dtype);
                    }
                }
                String s = toSource.get(name);
                if (s == null) {
                    throw new IllegalArgumentException(describe() + ": no tensor " + name);
                }
                return source.load(s, device, dtype);
            }

            @Override
            public void close() {
                source.close();
            }
        };
    }
}
