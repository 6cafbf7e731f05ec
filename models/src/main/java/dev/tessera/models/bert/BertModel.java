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
import dev.tessera.runtime.Int8Linear;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.onnx.OnnxModel;
import dev.tessera.runtime.onnx.QuantizedWeight;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A BERT-family encoder: word + position + token-type embeddings and LayerNorm, then post-LN layers of
 * multi-head self-attention (fused {@link Attention}, key-padding mask) and a GELU FFN. Returns the last hidden
 * state {@code [B, S, hidden]}, as Hugging Face's {@code BertModel(...).last_hidden_state} and the ONNX exports of
 * sentence-transformers models do.
 *
 * <p>Weights come from a Hugging Face checkpoint ({@link #fromSafetensors}; names {@code embeddings.*},
 * {@code encoder.layer.N.*}, with or without a task model's base prefix such as {@code bert.} or {@code roberta.}) or
 * from an ONNX export ({@link #fromOnnx}, mapped by walking the graph, see {@link BertOnnxImport}). The model owns its
 * weights: close it.
 */
public final class BertModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BertModel.class);
    private final BertConfig config;
    private final Device device;
    private final Tensor wordEmb;
    private final Tensor posEmb;
    private final Tensor typeEmb;
    private final LayerNorm embLn;
    private final List<Layer> layers;
    private final List<Tensor> owned;
    private final List<Int8Linear> int8Layers = new ArrayList<>();
    private final UseGuard guard = new UseGuard("BertModel");

    /** One encoder layer; {@code qkv} is the query, key and value projections stacked into one [3·hidden, hidden]. */
    private record Layer(Proj qkv, Proj o, LayerNorm attnLn, Proj up, Proj down, LayerNorm outLn) {}

    /** A projection {@code act(x Wᵀ + b) + residual}: float ({@link Linear}) or INT8 ({@link Int8Linear}). */
    private interface Proj {
        /** {@code sentence}: the rows of one sequence, {@code real}: the non-padding rows (for INT8 quantization). */
        Tensor apply(Tensor x, FusedActivation act, Tensor residual, long sentence, boolean[] real);
    }

    private record FloatProj(Linear lin) implements Proj {
        @Override
        public Tensor apply(Tensor x, FusedActivation act, Tensor residual, long sentence, boolean[] real) {
            return lin.forward(x, act, residual);
        }
    }

    /** INT8: the input quantized per sentence over its real tokens (what ONNX Runtime does for it run alone). */
    private record Int8Proj(Int8Linear lin, Tensor bias) implements Proj {
        @Override
        public Tensor apply(Tensor x, FusedActivation act, Tensor residual, long sentence, boolean[] real) {
            return lin.forward(x, bias, act, residual, sentence, real);
        }
    }

    /** How the projections of an INT8 ONNX export run ({@code -Dtessera.int8}). */
    public enum Int8Mode {
        /** INT8 where the CPU has the fast path (AVX-512 VNNI) and the model is on the CPU, else dequantized. */
        AUTO,
        /** INT8 on the CPU whatever the CPU (the portable path is exact but slow). */
        NATIVE,
        /** Always the dequantized fp32 weights. */
        DEQUANTIZE;

        static Int8Mode fromProperty() {
            String v = System.getProperty("tessera.int8", "auto").trim();
            for (Int8Mode mo : values()) {
                if (mo.name().equalsIgnoreCase(v)) {
                    return mo;
                }
            }
            throw new IllegalArgumentException("-Dtessera.int8=" + v + ": auto, native or dequantize");
        }

        boolean native8(Device device) {
            return device.isCpu() && (this == NATIVE || (this == AUTO && Int8Linear.fast()));
        }
    }

    /**
     * Builds the encoder from HF-named tensors in {@code source} (a task model's base prefix such as {@code bert.} or
     * {@code roberta.} optional).
     */
    public static BertModel load(TensorSource source, BertConfig config, Device device) {
        return load(source, config, device, Map.of(), null);
    }

    /**
     * As {@link #load(TensorSource, BertConfig, Device)} with the projections held as {@code storage} on the CPU:
     * {@link DType#BF16} (half their memory, each product the F32 product on the rounded weights) or {@link DType#I8}
     * (a quarter: int8 with a scale per output feature, weight-only quantization); null or F32: as loaded. The
     * arithmetic stays F32. Ignored on CUDA (no packed forms there).
     */
    public static BertModel load(TensorSource source, BertConfig config, Device device, DType storage) {
        return load(source, config, device, Map.of(), storage, false);
    }

    /**
     * As {@link #load(TensorSource, BertConfig, Device)} with every projection quantized as it loads, for ONNX Runtime's
     * dynamic-quantization arithmetic (what {@code onnxruntime.quantization.quantize_dynamic} makes of the model, with
     * its weights per output feature): each weight becomes int8 with a scale per output feature (symmetric, zero
     * point 0, scale max|w| / 127), each input is quantized to uint8 token by token (a scale and zero point per row:
     * batch-independent, and closer to F32 than one range per sentence), and the products are exact int32
     * ({@link Int8Linear}; AVX-512 VNNI where the CPU has it, else an exact portable loop that is slow). About twice
     * the sentences per second of F32 on a VNNI CPU, a quarter of the projections' memory, embeddings within cosine
     * ~0.998 of F32 on average (docs/text.md). CPU only.
     *
     * @throws IllegalArgumentException on a CUDA device
     */
    public static BertModel loadQuantized(TensorSource source, BertConfig config, Device device) {
        checkQuantizable(device);
        return load(source, config, device, Map.of(), null, true);
    }

    private static void checkQuantizable(Device device) {
        if (device != null && !device.isCpu()) {
            throw new IllegalArgumentException("dynamic INT8 (quantized projections) runs on the CPU, not " + device);
        }
        if (device != null && !Int8Linear.fast()) {
            LOG.warn("no AVX-512 VNNI on this CPU: the INT8 products run an exact but slow portable loop");
        }
    }

    private static BertModel load(TensorSource source, BertConfig config, Device device,
            Map<String, QuantizedWeight> int8, DType storage) {
        return load(source, config, device, int8, storage, false);
    }

    private static BertModel load(TensorSource source, BertConfig config, Device device,
            Map<String, QuantizedWeight> int8, DType storage, boolean quantize) {
        if (source == null || config == null || device == null) {
            throw new IllegalArgumentException("BertModel.load: source, config and device must not be null");
        }
        if (DistilBertNames.isDistilBert(source)) {
            source = DistilBertNames.wrap(source, config);
        }
        String prefix = basePrefix(source);
        Weights root = Weights.of(source, device, DType.F32);
        if (storage != null && storage != DType.F32 && device.isCpu()) {
            if (storage != DType.BF16 && storage != DType.I8) {
                throw new IllegalArgumentException("BertModel: projections may be held as BF16 or I8, not " + storage);
            }
            root.packWeightsAs(storage);
        }
        // heads and extras of task models and the buffers HF keeps in checkpoints are not part of the encoder
        root.ignoreUnexpected(n -> !n.startsWith(prefix + "embeddings.") && !n.startsWith(prefix + "encoder."));
        root.ignoreUnexpected(n -> n.endsWith("position_ids") || n.endsWith("token_type_ids"));
        Weights w = root.prefixed(prefix);
        if (quantize) {
            root.quantizeDynamic(); // the projections not in int8 become Linear's int8 form (a scale per token)
        }
        return new BertModel(config, device, w, root, int8);
    }

    private static final String WORD_EMBEDDINGS = "embeddings.word_embeddings.weight";

    /**
     * The base-model prefix of a task checkpoint's names ({@code bert.}, {@code roberta.}, {@code electra.}, ...: one
     * segment before {@code embeddings.word_embeddings.weight}), or "" for a bare encoder's names.
     */
    private static String basePrefix(TensorSource source) {
        List<String> found = new ArrayList<>();
        for (String n : source.names()) {
            if (n.equals(WORD_EMBEDDINGS)) {
                found.add("");
            } else if (n.endsWith("." + WORD_EMBEDDINGS)) {
                String p = n.substring(0, n.length() - WORD_EMBEDDINGS.length());
                if (p.indexOf('.') == p.length() - 1) {
                    found.add(p);
                }
            }
        }
        if (found.size() > 1) {
            throw new IllegalArgumentException("the checkpoint holds several encoders' word embeddings: "
                    + found.stream().map(p -> p + WORD_EMBEDDINGS).sorted().toList());
        }
        return found.isEmpty() ? "" : found.get(0);
    }

    /**
     * A Hugging Face model directory ({@code config.json} + {@code model.safetensors} or a sharded index), or a
     * safetensors file with {@code config.json} beside it.
     */
    public static BertModel fromSafetensors(Path path, Device device) {
        return fromSafetensors(path, device, null);
    }

    /** As {@link #fromSafetensors(Path, Device)} with the projections held as {@code storage} on the CPU (BF16 / I8). */
    public static BertModel fromSafetensors(Path path, Device device, DType storage) {
        return fromSafetensors(path, device, storage, false);
    }

    /**
     * As {@link #fromSafetensors(Path, Device, DType)}, or with {@code quantize} as {@link #loadQuantized} (then
     * {@code storage} must be null).
     */
    public static BertModel fromSafetensors(Path path, Device device, DType storage, boolean quantize) {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        BertConfig cfg = BertConfig.from(HfConfig.read(dir));
        try (TensorSource src = TensorSource.safetensors(path)) {
            return quantize ? quantized(src, cfg, device, storage, Map.of()) : load(src, cfg, device, storage);
        }
    }

    private static BertModel quantized(TensorSource src, BertConfig cfg, Device device, DType storage,
            Map<String, QuantizedWeight> int8) {
        if (storage != null && storage != DType.F32) {
            throw new IllegalArgumentException("dynamic INT8 quantizes the projections itself: no " + storage + " storage");
        }
        checkQuantizable(device);
        return load(src, cfg, device, int8, null, true);
    }

    /**
     * An ONNX export of a BERT encoder: the initializers are mapped to HF names by walking the graph, and the
     * config is derived from it unless {@code config} is given (then both must agree).
     *
     * @throws IllegalArgumentException when the graph is not a BERT encoder (the message says what did not match)
     */
    public static BertModel fromOnnx(OnnxModel onnx, BertConfig config, Device device) {
        return fromOnnx(onnx, config, device, null);
    }

    /**
     * As {@link #fromOnnx(OnnxModel, BertConfig, Device)} with the projections held as {@code storage} on the CPU (see
     * {@link #load(TensorSource, BertConfig, Device, DType)}); an INT8 export runs as such whatever {@code storage} says.
     */
    public static BertModel fromOnnx(OnnxModel onnx, BertConfig config, Device device, DType storage) {
        return fromOnnx(onnx, config, device, storage, false);
    }

    /**
     * As {@link #fromOnnx(OnnxModel, BertConfig, Device, DType)}, or with {@code quantize} as {@link #loadQuantized}
     * (an INT8 export keeps its own INT8 weights then, whatever the CPU; {@code storage} must be null).
     */
    public static BertModel fromOnnx(OnnxModel onnx, BertConfig config, Device device, DType storage, boolean quantize) {
        BertOnnxImport imp = BertOnnxImport.map(onnx);
        BertConfig cfg = config == null ? imp.config() : config;
        BertConfig g = imp.config();
        if (config != null && !(g.vocabSize() == config.vocabSize() && g.hiddenSize() == config.hiddenSize()
                && g.numLayers() == config.numLayers() && g.numHeads() == config.numHeads()
                && g.intermediateSize() == config.intermediateSize() && g.maxPositions() == config.maxPositions()
                && g.typeVocabSize() == config.typeVocabSize() && g.activation() == config.activation()
                && Math.abs(g.layerNormEps() - config.layerNormEps()) <= 1e-6 * Math.abs(config.layerNormEps()))) {
            throw new IllegalArgumentException(onnx.source() + ": the graph describes " + imp.config()
                    + " but the given config is " + config);
        }
        Map<String, QuantizedWeight> int8 = quantize || Int8Mode.fromProperty().native8(device) ? imp.int8Weights()
                : Map.of();
        try (TensorSource src = imp.tensors()) {
            return quantize ? quantized(src, cfg, device, storage, int8) : load(src, cfg, device, int8, storage);
        }
    }

    /**
     * Whether the projections run in INT8 (an INT8 export on the CPU, see {@link Int8Mode}, or a model quantized on
     * load, {@link #loadQuantized}).
     */
    public boolean int8() {
        return !int8Layers.isEmpty() || layers.stream().anyMatch(l -> l.qkv() instanceof FloatProj f
                && f.lin().int8() != null);
    }

    private BertModel(BertConfig cfg, Device device, Weights w, Weights root, Map<String, QuantizedWeight> int8) {
        this.config = cfg;
        this.device = device;
        long h = cfg.hiddenSize();
        long inter = cfg.intermediateSize();
        double eps = cfg.layerNormEps();
        this.wordEmb = w.take("embeddings.word_embeddings.weight", cfg.vocabSize(), h);
        this.posEmb = w.take("embeddings.position_embeddings.weight", cfg.maxPositions(), h);
        this.typeEmb = w.take("embeddings.token_type_embeddings.weight", cfg.typeVocabSize(), h);
        this.embLn = LayerNorm.take(w, "embeddings.LayerNorm", h, eps);
        int count = w.layers("encoder.layer.", cfg.numLayers(), "num_hidden_layers");
        List<Layer> ls = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String p = "encoder.layer." + i + ".";
            Weights l = w.prefixed(p);
            // one [3h, h] projection per layer instead of three [h, h]: one GEMM, one bias pass
            ls.add(new Layer(proj(l, root, p, int8, h, h, "attention.self.query", "attention.self.key",
                    "attention.self.value"),
                    proj(l, root, p, int8, h, h, "attention.output.dense"),
                    LayerNorm.take(l, "attention.output.LayerNorm", h, eps),
                    proj(l, root, p, int8, h, inter, "intermediate.dense"),
                    proj(l, root, p, int8, inter, h, "output.dense"),
                    LayerNorm.take(l, "output.LayerNorm", h, eps)));
        }
        root.finish();
        this.layers = List.copyOf(ls);
        this.owned = root.loaded();
    }

    /**
     * The projection {@code names} (stacked along the output when several): INT8 when every part has an INT8 weight
     * in {@code int8} (its float copy is then never loaded), else float.
     */
    private Proj proj(Weights l, Weights root, String prefix, Map<String, QuantizedWeight> int8, long in, long out,
            String... names) {
        boolean all = !int8.isEmpty();
        for (String n : names) {
            all &= int8.containsKey(prefix + n + ".weight");
        }
        if (!all) {
            return new FloatProj(names.length == 1 ? Linear.take(l, names[0], in, out, true)
                    : Linear.takeStacked(l, in, out, true, names));
        }
        int parts = names.length;
        long cols = parts * out;
        byte[] w = new byte[Math.toIntExact(in * cols)];
        int[] zp = new int[Math.toIntExact(cols)];
        float[] sc = new float[Math.toIntExact(cols)];
        float[] bias = new float[Math.toIntExact(cols)];
        for (int t = 0; t < parts; t++) {
            QuantizedWeight q = int8.get(prefix + names[t] + ".weight");
            long[] d = q.weight().dims();
            if (d.length != 2 || d[0] != in || d[1] != out) {
                throw new IllegalArgumentException(prefix + names[t] + ": INT8 weight " + q.weight() + ", expected [" + in
                        + ", " + out + "]");
            }
            java.nio.ByteBuffer b = q.weight().bytes();
            for (long r = 0; r < in; r++) { // [in, out] rows, the parts side by side
                for (long c = 0; c < out; c++) {
                    w[Math.toIntExact(r * cols + t * out + c)] = b.get(Math.toIntExact(r * out + c));
                }
            }
            long[] z = q.zeroPoint() == null ? new long[] {0} : q.zeroPoint().toLongs();
            float[] s = q.scale().toFloats();
            for (int c = 0; c < out; c++) {
                zp[Math.toIntExact(t * out + c)] = (int) (z.length == 1 ? z[0] : z[c]);
                sc[Math.toIntExact(t * out + c)] = s.length == 1 ? s[0] : s[c];
            }
            String weightName = prefix + names[t] + ".weight";
            root.ignoreUnexpected(n -> n.equals(weightName)); // the float copy is not loaded
            Tensor bt = l.take(names[t] + ".bias", out);
            if (bt != null) {
                System.arraycopy(bt.toFloatArray(), 0, bias, Math.toIntExact(t * out), Math.toIntExact(out));
                l.release(names[t] + ".bias", bt);
            }
        }
        Tensor bt = Tensor.of(bias, device, cols);
        l.own(names[0] + ".bias#int8", bt);
        Int8Linear lin = Int8Linear.pack(w, cols, in, true, zp, sc);
        int8Layers.add(lin);
        return new Int8Proj(lin, bt);
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
            boolean[] real = null;
            if (!int8Layers.isEmpty() && attentionMask != null) {
                int[] mk = attentionMask.toIntArray();
                real = new boolean[mk.length];
                for (int i = 0; i < mk.length; i++) {
                    real[i] = mk[i] != 0;
                }
            }
            for (Layer l : layers) {
                x = layer(l, x, b, s, opt, real);
            }
            return scope.keep(x);
        }
    }

    @SuppressWarnings("try")
    private Tensor layer(Layer l, Tensor x, long b, long s, Attention.Options opt, boolean[] real) {
        try (Scope scope = Tessera.scope()) {
            long heads = config.numHeads();
            long d = config.headDim();
            long h = config.hiddenSize();
            // [B, heads, S, D] each: views of the projection on the CPU (the result comes back as the [B, heads, S, D]
            // view of a [B, S, heads, D] tensor, so transpose + contiguous below copies nothing), one copy elsewhere
            Tensor[] qkv = Heads.forAttention(l.qkv().apply(x, FusedActivation.NONE, null, s, real), b, s, heads, d);
            Tensor ctx = Attention.scaledDotProduct(qkv[0], qkv[1], qkv[2], opt).transpose(1, 2).contiguous()
                    .reshape(b, s, h);
            Tensor a = l.attnLn().forward(l.o().apply(ctx, FusedActivation.NONE, x, s, real));
            Tensor f = l.up().apply(a, config.activation(), null, s,
                    real);
            Tensor out = l.outLn().forward(l.down().apply(f, FusedActivation.NONE, a, s, real));
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
            int8Layers.forEach(Int8Linear::close);
            owned.forEach(Tensor::close);
        }
    }
}
