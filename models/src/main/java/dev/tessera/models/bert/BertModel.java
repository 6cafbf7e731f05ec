package dev.tessera.models.bert;

import dev.tessera.models.nn.Heads;
import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.nn.LayerNorm;
import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.onnx.OnnxModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A BERT-family encoder: word + position + token-type embeddings and LayerNorm, then post-LN layers of
 * multi-head self-attention (fused {@link Attention}, key-padding mask) and a GELU FFN. Returns the last hidden
 * state {@code [B, S, hidden]}, as Hugging Face's {@code BertModel(...).last_hidden_state} and the ONNX exports of
 * sentence-transformers models do.
 *
 * <p>Weights come from a Hugging Face checkpoint ({@link #fromSafetensors}; names {@code embeddings.*},
 * {@code encoder.layer.N.*}, with or without a {@code bert.} prefix) or from an ONNX export ({@link #fromOnnx},
 * mapped by walking the graph, see {@link BertOnnxImport}). The model owns its weights: close it.
 */
public final class BertModel implements AutoCloseable {
    private final BertConfig config;
    private final Device device;
    private final Tensor wordEmb;
    private final Tensor posEmb;
    private final Tensor typeEmb;
    private final LayerNorm embLn;
    private final List<Layer> layers;
    private final List<Tensor> owned;
    private final UseGuard guard = new UseGuard("BertModel");

    /** One encoder layer; {@code qkv} is the query, key and value projections stacked into one [3·hidden, hidden]. */
    private record Layer(Linear qkv, Linear o, LayerNorm attnLn, Linear up, Linear down, LayerNorm outLn) {}

    /** Builds the encoder from HF-named tensors in {@code source} (prefix {@code bert.} optional). */
    public static BertModel load(TensorSource source, BertConfig config, Device device) {
        if (source == null || config == null || device == null) {
            throw new IllegalArgumentException("BertModel.load: source, config and device must not be null");
        }
        if (DistilBertNames.isDistilBert(source)) {
            source = DistilBertNames.wrap(source, config);
        }
        String prefix = source.names().contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
        Weights root = Weights.of(source, device, DType.F32);
        // heads and extras of task models and the buffers HF keeps in checkpoints are not part of the encoder
        root.ignoreUnexpected(n -> !n.startsWith(prefix + "embeddings.") && !n.startsWith(prefix + "encoder."));
        root.ignoreUnexpected(n -> n.endsWith("position_ids") || n.endsWith("token_type_ids"));
        Weights w = root.prefixed(prefix);
        return new BertModel(config, device, w, root);
    }

    /**
     * A Hugging Face model directory ({@code config.json} + {@code model.safetensors} or a sharded index), or a
     * safetensors file with {@code config.json} beside it.
     */
    public static BertModel fromSafetensors(Path path, Device device) {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        BertConfig cfg = BertConfig.from(HfConfig.read(dir));
        try (TensorSource src = TensorSource.safetensors(path)) {
            return load(src, cfg, device);
        }
    }

    /**
     * An ONNX export of a BERT encoder: the initializers are mapped to HF names by walking the graph, and the
     * config is derived from it unless {@code config} is given (then both must agree).
     *
     * @throws IllegalArgumentException when the graph is not a BERT encoder (the message says what did not match)
     */
    public static BertModel fromOnnx(OnnxModel onnx, BertConfig config, Device device) {
        BertOnnxImport imp = BertOnnxImport.map(onnx);
        BertConfig cfg = config == null ? imp.config() : config;
        BertConfig g = imp.config();
        if (config != null && !(g.vocabSize() == config.vocabSize() && g.hiddenSize() == config.hiddenSize()
                && g.numLayers() == config.numLayers() && g.numHeads() == config.numHeads()
                && g.intermediateSize() == config.intermediateSize() && g.maxPositions() == config.maxPositions()
                && g.typeVocabSize() == config.typeVocabSize() && g.geluTanh() == config.geluTanh()
                && Math.abs(g.layerNormEps() - config.layerNormEps()) <= 1e-6 * Math.abs(config.layerNormEps()))) {
            throw new IllegalArgumentException(onnx.source() + ": the graph describes " + imp.config()
                    + " but the given config is " + config);
        }
        try (TensorSource src = imp.tensors()) {
            return load(src, cfg, device);
        }
    }

    private BertModel(BertConfig cfg, Device device, Weights w, Weights root) {
        this.config = cfg;
        this.device = device;
        long h = cfg.hiddenSize();
        long inter = cfg.intermediateSize();
        double eps = cfg.layerNormEps();
        this.wordEmb = w.take("embeddings.word_embeddings.weight", cfg.vocabSize(), h);
        this.posEmb = w.take("embeddings.position_embeddings.weight", cfg.maxPositions(), h);
        this.typeEmb = w.take("embeddings.token_type_embeddings.weight", cfg.typeVocabSize(), h);
        this.embLn = LayerNorm.take(w, "embeddings.LayerNorm", h, eps);
        List<Layer> ls = new ArrayList<>();
        for (int i = 0; i < cfg.numLayers(); i++) {
            Weights l = w.prefixed("encoder.layer." + i + ".");
            // one [3h, h] projection per layer instead of three [h, h]: one GEMM, one bias pass
            ls.add(new Layer(Linear.takeStacked(l, h, h, true, "attention.self.query", "attention.self.key",
                    "attention.self.value"),
                    Linear.take(l, "attention.output.dense", h, h, true),
                    LayerNorm.take(l, "attention.output.LayerNorm", h, eps),
                    Linear.take(l, "intermediate.dense", h, inter, true),
                    Linear.take(l, "output.dense", inter, h, true),
                    LayerNorm.take(l, "output.LayerNorm", h, eps)));
        }
        root.finish();
        this.layers = List.copyOf(ls);
        this.owned = root.loaded();
    }

    public BertConfig config() {
        return config;
    }

    public Device device() {
        return device;
    }

    /**
     * The last hidden state {@code [B, S, hidden]} F32 for token ids {@code [B, S]} (I32 or I64) with
     * {@code attentionMask [B, S]} (I32/I64, 0 = padding; null = no padding) and {@code typeIds [B, S]} (null =
     * all zero). Positions are 0..S-1 for every row (right padding), shifted by
     * {@link BertConfig#positionOffset()} for RoBERTa-style encoders. The result is owned by the caller.
     */
    @SuppressWarnings("try")
    public Tensor forward(Tensor ids, Tensor attentionMask, Tensor typeIds) {
        try (UseGuard.Use use = guard.enter()) {
            return forwardInUse(ids, attentionMask, typeIds);
        }
    }

    private Tensor forwardInUse(Tensor ids, Tensor attentionMask, Tensor typeIds) {
        check(ids, "ids");
        long b = ids.dim(0);
        long s = ids.dim(1);
        if (s > config.maxTokens()) {
            throw new IllegalArgumentException("BertModel: sequence length " + s + " exceeds max_position_embeddings "
                    + config.maxPositions() + (config.positionOffset() > 0 ? " - " + config.positionOffset() : "")
                    + " (truncate the input)");
        }
        if (attentionMask != null) {
            check(attentionMask, "attentionMask");
            sameShape(ids, attentionMask, "attentionMask");
        }
        if (typeIds != null) {
            check(typeIds, "typeIds");
            sameShape(ids, typeIds, "typeIds");
        }
        try (Scope scope = Tessera.scope()) {
            int[] pos = new int[Math.toIntExact(b * s)];
            for (int i = 0; i < pos.length; i++) {
                pos[i] = (int) (i % s) + config.positionOffset(); // RoBERTa: from padding_idx + 1
            }
            Tensor x = Ops.add(Ops.embedding(ids, wordEmb), Ops.embedding(Tensor.ofInts(pos, device, b, s), posEmb));
            Tensor types = typeIds != null ? typeIds : Tensor.zeros(DType.I32, device, b, s);
            x = embLn.forward(Ops.add(x, Ops.embedding(types, typeEmb)));
            Attention.Options opt = Attention.Options.defaults();
            if (attentionMask != null) {
                opt = opt.withKeyPaddingMask(attentionMask);
            }
            for (Layer l : layers) {
                x = layer(l, x, b, s, opt);
            }
            return scope.keep(x);
        }
    }

    @SuppressWarnings("try")
    private Tensor layer(Layer l, Tensor x, long b, long s, Attention.Options opt) {
        try (Scope scope = Tessera.scope()) {
            long heads = config.numHeads();
            long d = config.headDim();
            long h = config.hiddenSize();
            // [B, heads, S, D] each: views of the projection on the CPU (the result comes back as the [B, heads, S, D]
            // view of a [B, S, heads, D] tensor, so transpose + contiguous below copies nothing), one copy elsewhere
            Tensor[] qkv = Heads.forAttention(l.qkv().forward(x), b, s, heads, d);
            Tensor ctx = Attention.scaledDotProduct(qkv[0], qkv[1], qkv[2], opt).transpose(1, 2).contiguous()
                    .reshape(b, s, h);
            Tensor a = l.attnLn().forward(l.o().forwardAdd(ctx, x));
            Tensor f = l.up().forward(a, config.geluTanh() ? FusedActivation.GELU_TANH : FusedActivation.GELU);
            Tensor out = l.outLn().forward(l.down().forwardAdd(f, a));
            return scope.keep(out);
        }
    }

    private static void check(Tensor t, String name) {
        if (t == null) {
            throw new IllegalArgumentException("BertModel: " + name + " must not be null");
        }
        if (t.rank() != 2 || t.dim(0) < 1 || t.dim(1) < 1) {
            throw new IllegalArgumentException("BertModel: " + name + " must be [batch, seq] with batch, seq >= 1, got "
                    + t.describe());
        }
    }

    private static void sameShape(Tensor ids, Tensor t, String name) {
        if (t.dim(0) != ids.dim(0) || t.dim(1) != ids.dim(1)) {
            throw new IllegalArgumentException("BertModel: " + name + " " + t.describe() + " must match ids "
                    + ids.describe());
        }
    }


    /** Frees the weights; idempotent. */
    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads
            owned.forEach(Tensor::close);
        }
    }
}
