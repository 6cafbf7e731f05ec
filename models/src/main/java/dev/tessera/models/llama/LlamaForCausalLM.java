package dev.tessera.models.llama;

import dev.tessera.models.nn.Linear;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PackedWeight;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Llama-style decoder ({@code LlamaForCausalLM}): token embedding, {@code L} blocks of
 * RMSNorm → grouped-query self-attention with rotary positions → residual → RMSNorm → SwiGLU MLP → residual,
 * a final RMSNorm and the LM head (tied to the embedding when {@code tie_word_embeddings}). Qwen2-style q/k/v
 * biases are taken when the config asks for them.
 *
 * <p>Weights use Hugging Face names ({@code model.embed_tokens.weight}, {@code model.layers.N.self_attn.q_proj
 * .weight}, ..., {@code model.norm.weight}, {@code lm_head.weight}). On the CPU every weight is held and computed
 * in F32 (BF16/F16-stored checkpoints are converted at load, doubling their memory); on CUDA the default is
 * BF16 weights and activations with F32 accumulation, norms and softmax.
 *
 * <p>Every pass writes keys and values into a preallocated {@link KvCache}: a prompt (prefill) runs the fused
 * causal attention over all its tokens at once, and each generated token (decode) attends to the cache in place.
 * Activations of a pass are freed when it returns; the model owns its weights until {@link #close()}.
 */
public final class LlamaForCausalLM implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LlamaForCausalLM.class);

    private final LlamaConfig cfg;
    private final Device device;
    private final DType dtype;
    private final Tensor embed;
    private final Layer[] layers;
    private final Tensor finalNorm;
    private final Proj lmHead;
    private final float[] invFreq;
    private final UseGuard guard = new UseGuard("LlamaForCausalLM");

    private record Layer(Tensor inNorm, Proj q, Proj k, Proj v, Proj o, Tensor postNorm, Proj gate, Proj up,
            Proj down) {}

    /**
     * A projection {@code act(x · Wᵀ + b) + residual}. Where the backend has a packed form (F32 on the CPU) the
     * weight is held only as {@link PackedWeight} (the stored copy is freed): many-row prefill products and
     * one-row decode steps both read the packed panels; elsewhere {@code W} as stored.
     */
    private record Proj(Tensor w, PackedWeight p, Tensor b) {
        Tensor forward(Tensor x) {
            return forward(x, FusedActivation.NONE, null);
        }

        Tensor forward(Tensor x, FusedActivation act, Tensor residual) {
            return p != null ? Ops.linear(x, p, b, act, residual) : Ops.linear(x, w, b, act, residual);
        }
    }

    private final List<Tensor> derived = new ArrayList<>();

    private PackedWeight packShared(Tensor weight, DType storage) {
        PackedWeight p = Linear.packIfUseful(weight, storage);
        if (p != null) {
            derived.add(p.buffer());
        }
        return p;
    }

    private Proj proj(Linear l, DType storage) {
        PackedWeight p = l.packed();
        if (p == null && l.weight() != null) {
            p = Linear.packIfUseful(l.weight(), storage);
            if (p != null) {
                derived.add(p.buffer());
            }
        }
        if (p == null) {
            return new Proj(l.weight(), null, l.bias());
        }
        if (l.weight() != null) {
            l.weight().close();
        }
        return new Proj(null, p, l.bias());
    }

    private LlamaForCausalLM(LlamaConfig cfg, Weights w, String body, String head) {
        this.cfg = cfg;
        this.device = w.device();
        this.dtype = w.dtype();
        long h = cfg.hiddenSize();
        long qd = (long) cfg.numHeads() * cfg.headDim();
        long kvd = (long) cfg.numKvHeads() * cfg.headDim();
        long ff = cfg.intermediateSize();
        Weights m = w.prefixed(body);
        embed = m.take("embed_tokens.weight", cfg.vocabSize(), h);
        layers = new Layer[m.layers("layers.", cfg.numLayers(), "num_hidden_layers")];
        boolean qkvb = cfg.attentionBias();
        DType st = w.packedStorage();
        for (int i = 0; i < layers.length; i++) {
            Weights l = m.prefixed("layers." + i + ".");
            layers[i] = new Layer(
                    l.take("input_layernorm.weight", h),
                    proj(Linear.take(l, "self_attn.q_proj", h, qd, qkvb), st),
                    proj(Linear.take(l, "self_attn.k_proj", h, kvd, qkvb), st),
                    proj(Linear.take(l, "self_attn.v_proj", h, kvd, qkvb), st),
                    proj(Linear.take(l, "self_attn.o_proj", qd, h, cfg.oProjBias()), st),
                    l.take("post_attention_layernorm.weight", h),
                    proj(Linear.take(l, "mlp.gate_proj", h, ff, cfg.mlpBias()), st),
                    proj(Linear.take(l, "mlp.up_proj", h, ff, cfg.mlpBias()), st),
                    proj(Linear.take(l, "mlp.down_proj", ff, h, cfg.mlpBias()), st));
        }
        finalNorm = m.take("norm.weight", h);
        w.ignoreUnexpected(n -> n.endsWith("rotary_emb.inv_freq"));
        if (cfg.tieWordEmbeddings()) {
            lmHead = new Proj(embed, packShared(embed, w.packedStorage()), null); // packed; embed stays for lookups
            w.ignoreUnexpected(n -> n.equals(head));
        } else {
            lmHead = proj(new Linear(w.take(head, cfg.vocabSize(), h), null), st);
        }
        invFreq = cfg.inverseFrequencies();
    }

    /** Loads {@code dir} ({@code config.json} + safetensors) on the default device in its default dtype. */
    public static LlamaForCausalLM load(Path dir) {
        return load(dir, Tessera.defaultDevice(), null);
    }

    /**
     * Loads {@code dir} on {@code device}; {@code dtype} null means F32 on the CPU and BF16 on CUDA. On the CPU the
     * decoder computes in F32; {@code dtype} BF16 there keeps its matrices (projections and LM head) in bfloat16
     * panels: half the memory (a 7B model in ~14 GB) and decode steps up to twice as fast, each product the fp32
     * product on the bfloat16-rounded weight (exact for a BF16 checkpoint). {@code dtype} I8 there holds them as int8
     * with a scale per output feature (weight-only quantization, see {@link dev.tessera.runtime.PackedWeight#pack(
     * dev.tessera.runtime.Tensor, DType)}): a quarter of the memory (a 7B model in ~7 GB) and faster decode steps
     * still, each product computed in fp32 on the int8 values and scaled; the logits move by the quantization
     * (docs/llama.md gives the measured size of the change). F16 on the CPU is converted to F32; I8 is refused on
     * CUDA.
     */
    public static LlamaForCausalLM load(Path dir, Device device, DType dtype) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a model directory: " + dir);
        }
        LlamaConfig cfg = LlamaConfig.readWithGenerationConfig(dir);
        try (TensorSource src = TensorSource.safetensors(dir)) {
            return fromSource(cfg, src, device, dtype);
        }
    }

    /** Builds the model from {@code source} (HF names); checks every name and shape, reporting all mismatches. */
    public static LlamaForCausalLM fromSource(LlamaConfig cfg, TensorSource source, Device device, DType dtype) {
        Weights w = Weights.of(source, device, computeDtype(device, dtype));
        if (device.isCpu() && (dtype == DType.BF16 || dtype == DType.I8)) {
            w.packWeightsAs(dtype);
        }
        LlamaForCausalLM m = build(cfg, w, "model.", "lm_head.weight");
        try {
            w.finish();
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        m.adopt(w.loaded());
        LOG.info("loaded {} ({} M parameters) on {} as {}{}", cfg, cfg.parameterCount() / 1_000_000, device, w.dtype(),
                w.packedStorage() != null ? " (matrices stored as " + w.packedStorage() + ")" : "");
        return m;
    }

    /**
     * Takes the decoder's parameters from {@code w} with the body under {@code bodyPrefix} (e.g. {@code "model."}
     * or LLaVA's {@code "language_model.model."}) and the LM head named {@code headName}; the caller finishes
     * {@code w} and owns the tensors it took (the model's {@link #close()} closes only the transposed copies it made
     * of them on the CPU, which the caller must therefore still close through it).
     */
    public static LlamaForCausalLM build(LlamaConfig cfg, Weights w, String bodyPrefix, String headName) {
        return new LlamaForCausalLM(cfg, w, bodyPrefix, headName);
    }

    private final List<Tensor> adopted = new ArrayList<>();

    private void adopt(List<Tensor> tensors) {
        adopted.addAll(tensors);
    }

    /**
     * F32 on the CPU (whatever was asked: BF16 and I8 there say how the matrices are held), BF16 on CUDA unless
     * {@code asked} says otherwise (I8 refused there).
     */
    public static DType computeDtype(Device device, DType asked) {
        if (device.isCpu()) {
            if (asked != null && asked != DType.F32 && asked != DType.BF16 && asked != DType.I8) {
                LOG.warn("CPU decoder computes in F32; {} weights are converted", asked);
            }
            return DType.F32; // BF16: F32 compute over BF16-stored matrices (fromSource)
        }
        if (asked == null) {
            return DType.BF16;
        }
        if (asked == DType.I8) {
            throw new IllegalArgumentException("int8 matrices are a CPU form (on " + device + ": f32, bf16 or f16)");
        }
        if (!asked.isFloating()) {
            throw new IllegalArgumentException("dtype must be F32, F16 or BF16, got " + asked);
        }
        return asked;
    }

    public LlamaConfig config() {
        return cfg;
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    /** A new cache for {@code batch} sequences of up to {@code capacity} tokens (at most the context length). */
    public KvCache newCache(int batch, int capacity) {
        ensureOpen();
        return new KvCache(cfg, batch, capacity, dtype, device);
    }

    /** Token embeddings {@code [B, S, hidden]} of rectangular {@code ids}, in the model's dtype. */
    public Tensor embed(int[][] ids) {
        try (UseGuard.Use use = guard.enter()) {
            return embedInUse(ids);
        }
    }

    private Tensor embedInUse(int[][] ids) {
        int b = ids.length;
        if (b == 0) {
            throw new IllegalArgumentException("embed: no sequences");
        }
        int s = ids[0].length;
        int[] flat = new int[b * s];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != s) {
                throw new IllegalArgumentException("embed: sequences of a batch must have equal lengths (pad them), got "
                        + s + " and " + ids[i].length);
            }
            for (int j = 0; j < s; j++) {
                int id = ids[i][j];
                if (id < 0 || id >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + cfg.vocabSize()
                            + ")");
                }
                flat[i * s + j] = id;
            }
        }
        try (Tensor t = Tensor.ofInts(flat, device, b, s)) {
            return Ops.embedding(t, embed);
        }
    }

    /** The embedding table {@code [vocab, hidden]} (owned by the model). */
    public Tensor embeddingTable() {
        return embed;
    }

    /**
     * Logits {@code [1, S, vocab]} (F32) of every position of {@code ids}, computed from scratch (a temporary
     * cache of exactly {@code S} slots).
     */
    public Tensor logits(int[] ids) {
        ensureOpen();
        checkContext(ids.length);
        try (KvCache cache = newCache(1, ids.length)) {
            return forward(new int[][] {ids}, null, cache, true);
        }
    }

    /**
     * One pass over new tokens {@code ids [B][S]} appended to {@code cache}; {@code real[b][s]} false marks padding
     * (null: all real). Returns F32 logits {@code [B, S, vocab]} when {@code allPositions}, else those of the last
     * position {@code [B, 1, vocab]}.
     */
    public Tensor forward(int[][] ids, boolean[][] real, KvCache cache, boolean allPositions) {
        try (Scope scope = Tessera.scope()) {
            Tensor x = embed(ids);
            return scope.keep(forwardEmbeds(x, real, cache, allPositions));
        }
    }

    /**
     * As {@link #forward(int[][], boolean[][], KvCache, boolean)} from input embeddings {@code [B, S, hidden]} in
     * the model's dtype (LLaVA splices image features into them).
     */
    public Tensor forwardEmbeds(Tensor inputs, boolean[][] real, KvCache cache, boolean allPositions) {
        try (UseGuard.Use use = guard.enter()) {
            return forwardEmbedsInUse(inputs, real, cache, allPositions);
        }
    }

    private Tensor forwardEmbedsInUse(Tensor inputs, boolean[][] real, KvCache cache, boolean allPositions) {
        if (cache == null || !cache.isOpen()) {
            throw new IllegalArgumentException("forward needs an open KV cache (newCache)");
        }
        if (inputs.rank() != 3 || inputs.dim(2) != cfg.hiddenSize() || inputs.dim(0) != cache.batch()) {
            throw new IllegalArgumentException("inputs must be [batch = " + cache.batch() + ", seq, hidden = "
                    + cfg.hiddenSize() + "], got " + inputs.describe());
        }
        if (inputs.dtype() != dtype || !inputs.device().equals(device)) {
            throw new IllegalArgumentException("inputs must be " + dtype + " on " + device + ", got " + inputs.describe());
        }
        int b = (int) inputs.dim(0);
        int s = (int) inputs.dim(1);
        if (s < 1) {
            throw new IllegalArgumentException("forward needs at least one token");
        }
        if (real != null && (real.length != b || java.util.Arrays.stream(real).anyMatch(r -> r == null || r.length != s))) {
            throw new IllegalArgumentException("padding flags must be [" + b + "][" + s + "] (a row per sequence, a flag"
                    + " per token)");
        }
        int past = cache.length();
        int[][] pos = cache.reserve(real, s);
        try (Scope scope = Tessera.scope()) {
            int total = past + s;
            Tensor[] rope = ropeTables(pos, b, s);
            int[] maskHost = cache.mask(total);
            Tensor mask = maskHost == null ? null : Tensor.ofInts(maskHost, device, b, total);
            Attention.Options opt = Attention.Options.causalMask().withKeyPaddingMask(mask);
            int hq = cfg.numHeads();
            int hkv = cfg.numKvHeads();
            int d = cfg.headDim();
            float eps = (float) cfg.rmsNormEps();
            Tensor h = inputs;
            for (int li = 0; li < layers.length; li++) {
                Layer l = layers[li];
                try (Scope ls = Tessera.scope()) {
                    Tensor n = Ops.rmsNorm(h, l.inNorm(), eps);
                    Tensor q = Ops.rope(l.q().forward(n).reshape(b, s, hq, d).transpose(1, 2), rope[0], rope[1]);
                    Tensor k = Ops.rope(l.k().forward(n).reshape(b, s, hkv, d).transpose(1, 2), rope[0], rope[1]);
                    Tensor v = l.v().forward(n).reshape(b, s, hkv, d).transpose(1, 2);
                    Tensor kc = cache.keys(li);
                    Tensor vc = cache.values(li);
                    Ops.copyInto(k, kc.slice(2, past, total));
                    Ops.copyInto(v, vc.slice(2, past, total));
                    Tensor att = s == 1
                            ? Attention.decode(q, kc, vc, total, opt)
                            : Attention.scaledDotProduct(q, kc.slice(2, 0, total), vc.slice(2, 0, total), opt);
                    Tensor h1 = l.o().forward(att.transpose(1, 2).contiguous().reshape(b, s, (long) hq * d),
                            FusedActivation.NONE, h);
                    Tensor n2 = Ops.rmsNorm(h1, l.postNorm(), eps);
                    Tensor gate = l.gate().forward(n2, FusedActivation.SILU, null);
                    h = ls.keep(l.down().forward(Ops.mul(gate, l.up().forward(n2)), FusedActivation.NONE, h1));
                }
            }
            Tensor last = allPositions ? h : h.slice(1, s - 1, s);
            Tensor logits = lmHead.forward(Ops.rmsNorm(last, finalNorm, eps));
            if (logits.dtype() != DType.F32) {
                logits = Ops.convert(logits, DType.F32);
            }
            cache.advance(s);
            return scope.keep(logits);
        } catch (RuntimeException e) {
            cache.unreserve(s);
            throw e;
        }
    }

    /** cos/sin tables F32 for the positions of the new tokens: [S, D/2] when all rows agree, else [B, S, D/2]. */
    private Tensor[] ropeTables(int[][] pos, int b, int s) {
        boolean same = true;
        for (int i = 1; i < b && same; i++) {
            same = java.util.Arrays.equals(pos[i], pos[0]);
        }
        int rows = same ? 1 : b;
        int half = invFreq.length;
        float[] cos = new float[rows * s * half];
        float[] sin = new float[rows * s * half];
        float scale = (float) cfg.ropeAttentionFactor(); // YaRN's, as transformers multiplies cos and sin by it
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < s; j++) {
                float p = pos[r][j];
                int at = (r * s + j) * half;
                for (int i = 0; i < half; i++) {
                    float angle = p * invFreq[i];
                    cos[at + i] = (float) Math.cos(angle) * scale;
                    sin[at + i] = (float) Math.sin(angle) * scale;
                }
            }
        }
        if (same) {
            return new Tensor[] {Tensor.of(cos, device, s, half), Tensor.of(sin, device, s, half)};
        }
        return new Tensor[] {Tensor.of(cos, device, b, s, half), Tensor.of(sin, device, b, s, half)};
    }

    /** Throws when {@code tokens} exceed the context length. */
    public void checkContext(int tokens) {
        if (tokens > cfg.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + tokens + " tokens, longer than the model's context of "
                    + cfg.contextLength() + (cfg.contextLength() < cfg.maxPositionEmbeddings()
                            ? " (its sliding_window: sliding-window attention is not implemented, so the context"
                                    + " stops where the window would begin to hide keys)"
                            : " (max_position_embeddings)"));
        }
        if (tokens < 1) {
            throw new IllegalArgumentException("the prompt is empty (no tokens)");
        }
    }

    private void ensureOpen() {
        guard.ensureOpen();
    }

    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads
            adopted.forEach(Tensor::close);
            adopted.clear();
            derived.forEach(Tensor::close);
            derived.clear();
        }
    }
}
