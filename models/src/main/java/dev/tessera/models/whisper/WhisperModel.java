package dev.tessera.models.whisper;

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
import dev.tessera.runtime.PatchEmbedding;
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
 * A Whisper encoder–decoder ({@code WhisperForConditionalGeneration}, tiny to large-v3) with Hugging Face
 * parameter names.
 *
 * <p>Encoder: log-mel {@code [B, n_mels, T]} → conv1d (k 3, pad 1) → GELU → conv1d (k 3, stride 2, pad 1) → GELU
 * → + sinusoidal positions ({@code embed_positions}) → pre-LN blocks (self-attention, GELU MLP) → LayerNorm.
 * Decoder: token + learned positions → pre-LN blocks (causal self-attention on a preallocated
 * {@link WhisperCache}, cross-attention over the encoder states whose keys/values are computed once per audio,
 * GELU MLP) → LayerNorm → logits through the token embedding (the tied {@code proj_out}).
 *
 * <p>F32 on the CPU; F32 or BF16 on CUDA. The model owns its weights until {@link #close()}; activations of a
 * call are freed when it returns.
 */
public final class WhisperModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WhisperModel.class);
    private static final float LN_EPS = 1e-5f;

    private final WhisperConfig cfg;
    private final Device device;
    private final DType dtype;
    private final Tensor conv1W, conv1B, conv2W, conv2B, encPos;
    private final EncLayer[] enc;
    private final LayerNorm encNorm;
    private final Tensor tokEmb, decPos;
    /** The tied output projection: {@code tokEmb} packed for the GEMM (null where the backend has no packed form). */
    private final PackedWeight logitsPacked;
    private final DecLayer[] dec;
    private final LayerNorm decNorm;
    private final List<Tensor> owned = new ArrayList<>();
    private final UseGuard guard = new UseGuard("WhisperModel");

    record Attn(Linear q, Linear k, Linear v, Linear o) {
        static Attn take(Weights w, String name, long d) {
            return new Attn(Linear.take(w, name + ".q_proj", d, d, true), Linear.take(w, name + ".k_proj", d, d, false),
                    Linear.take(w, name + ".v_proj", d, d, true), Linear.take(w, name + ".out_proj", d, d, true));
        }
    }

    record EncLayer(LayerNorm ln1, Attn att, LayerNorm ln2, Linear fc1, Linear fc2) {}

    record DecLayer(LayerNorm ln1, Attn self, LayerNorm ln2, Attn cross, LayerNorm ln3, Linear fc1, Linear fc2) {}

    private WhisperModel(WhisperConfig cfg, Weights w) {
        this.cfg = cfg;
        this.device = w.device();
        this.dtype = w.dtype() == null ? DType.F32 : w.dtype();
        long d = cfg.dModel();
        Weights e = w.prefixed("model.encoder.");
        conv1W = e.take("conv1.weight", d, cfg.numMelBins(), 3);
        conv1B = e.take("conv1.bias", d);
        conv2W = e.take("conv2.weight", d, d, 3);
        conv2B = e.take("conv2.bias", d);
        encPos = e.take("embed_positions.weight", cfg.maxSourcePositions(), d);
        enc = new EncLayer[e.layers("layers.", cfg.encoderLayers(), "encoder_layers")];
        for (int i = 0; i < enc.length; i++) {
            Weights l = e.prefixed("layers." + i + ".");
            enc[i] = new EncLayer(LayerNorm.take(l, "self_attn_layer_norm", d, LN_EPS), Attn.take(l, "self_attn", d),
                    LayerNorm.take(l, "final_layer_norm", d, LN_EPS), Linear.take(l, "fc1", d, cfg.encoderFfn(), true),
                    Linear.take(l, "fc2", cfg.encoderFfn(), d, true));
        }
        encNorm = LayerNorm.take(e, "layer_norm", d, LN_EPS);
        if (w.quantizesDynamic()) {
            // dynamic INT8 pays where many rows go through a layer at once (the encoder's 1500 frames); a decoder
            // step is a row or a few, where the int8 weight-only panels run faster and stay closer to F32
            w.quantizeDynamic(false).packWeightsAs(DType.I8);
        }
        Weights dw = w.prefixed("model.decoder.");
        tokEmb = dw.take("embed_tokens.weight", cfg.vocabSize(), d);
        decPos = dw.take("embed_positions.weight", cfg.maxTargetPositions(), d);
        // the table stays for the token lookup; its packed copy serves the logits (one-row decode steps read it
        // as panels instead of an unpacked M=1 sgemm)
        logitsPacked = Linear.packIfUseful(tokEmb, w.packedStorage());
        if (logitsPacked != null) {
            dw.own("embed_tokens.weight#packed", logitsPacked.buffer());
        }
        dec = new DecLayer[dw.layers("layers.", cfg.decoderLayers(), "decoder_layers")];
        for (int i = 0; i < dec.length; i++) {
            Weights l = dw.prefixed("layers." + i + ".");
            dec[i] = new DecLayer(LayerNorm.take(l, "self_attn_layer_norm", d, LN_EPS), Attn.take(l, "self_attn", d),
                    LayerNorm.take(l, "encoder_attn_layer_norm", d, LN_EPS), Attn.take(l, "encoder_attn", d),
                    LayerNorm.take(l, "final_layer_norm", d, LN_EPS), Linear.take(l, "fc1", d, cfg.decoderFfn(), true),
                    Linear.take(l, "fc2", cfg.decoderFfn(), d, true));
        }
        decNorm = LayerNorm.take(dw, "layer_norm", d, LN_EPS);
        w.ignoreUnexpected(n -> n.equals("proj_out.weight")); // tied to embed_tokens
    }

    /** Loads {@code dir} ({@code config.json}, optional {@code generation_config.json}, safetensors) on the CPU in F32. */
    public static WhisperModel load(Path dir) {
        return load(dir, Device.CPU, DType.F32);
    }

    /**
     * Loads {@code dir} on {@code device} as {@code dtype}: on the CPU F32 (null), or BF16 / I8 for F32 arithmetic with
     * the matrices (projections, FFNs and the tied logits projection; not the conv stem, embeddings or norms) held as
     * bfloat16 / int8 with a scale per output feature, as {@link dev.tessera.models.llama.LlamaForCausalLM#load(Path,
     * Device, DType)} does; on CUDA F32, BF16 or F16 (weights and activations).
     */
    public static WhisperModel load(Path dir, Device device, DType dtype) {
        return load(dir, device, dtype, false);
    }

    /**
     * As {@link #load(Path, Device, DType)}, or with {@code dynamicInt8} on the CPU with the encoder's linear layers
     * (attention projections, FFNs; not the conv stem or the norms) quantized for dynamic INT8: int8 weights with a
     * scale per output feature, each frame's activations quantized to uint8 on its own scale, exact int32 products
     * ({@link Weights#quantizeDynamic}; the scheme of CTranslate2's int8, which faster-whisper runs), and the decoder's
     * matrices (with the tied logits projection) held as int8 weight-only, as {@link DType#I8} does (its one-row steps
     * run faster so and stay closer to F32). {@code dtype} null or F32.
     */
    public static WhisperModel load(Path dir, Device device, DType dtype, boolean dynamicInt8) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a model directory: " + dir);
        }
        WhisperConfig cfg = WhisperConfig.read(dir);
        try (TensorSource src = TensorSource.safetensors(dir)) {
            return fromSource(cfg, src, device, dtype, dynamicInt8);
        }
    }

    /** Builds the model from {@code source} (HF names); every missing, misshapen or unexpected name is reported. */
    public static WhisperModel fromSource(WhisperConfig cfg, TensorSource source, Device device, DType dtype) {
        return fromSource(cfg, source, device, dtype, false);
    }

    /** As {@link #fromSource(WhisperConfig, TensorSource, Device, DType)}, or quantized for dynamic INT8. */
    public static WhisperModel fromSource(WhisperConfig cfg, TensorSource source, Device device, DType dtype,
            boolean dynamicInt8) {
        Weights w = Weights.forDType(source, device, dtype, dynamicInt8, "Whisper");
        DType dt = w.dtype();
        DType storage = w.packedStorage();
        WhisperModel m = new WhisperModel(cfg, w);
        w.finish();
        m.owned.addAll(w.loaded());
        LOG.info("loaded {} on {} as {}{}", cfg, device, dt, storage != null ? " (matrices stored as " + storage + ")"
                : dynamicInt8 ? " (encoder linear layers quantized for dynamic INT8, decoder matrices held as I8)" : "");
        return m;
    }

    public WhisperConfig config() {
        return cfg;
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    /**
     * Encoder states {@code [B, T/2, d_model]} of log-mel features {@code mel [B, n_mels, T]} (F32, any device;
     * {@code T} even and at most {@code 2 · max_source_positions}, normally exactly that: 3000 frames = 30 s).
     */
    public Tensor encode(Tensor mel) {
        try (UseGuard.Use use = guard.enter()) {
            return encodeInUse(mel);
        }
    }

    private Tensor encodeInUse(Tensor mel) {
        if (mel == null || mel.isClosed()) {
            throw new IllegalArgumentException("encode: features are null or closed");
        }
        if (mel.rank() != 3 || mel.dim(1) != cfg.numMelBins()) {
            throw new IllegalArgumentException("encode: features must be [batch, n_mels = " + cfg.numMelBins()
                    + ", frames], got " + mel.describe());
        }
        long t = mel.dim(2);
        if (t < 2 || t % 2 != 0 || t > cfg.melFrames()) {
            throw new IllegalArgumentException("encode: frames must be even and in [2, " + cfg.melFrames() + "], got " + t
                    + " (Whisper pads audio to 30 s = " + cfg.melFrames() + " frames)");
        }
        if (mel.device().isCpu()) {
            float[] host = mel.toFloatArray();
            for (int i = 0; i < host.length; i++) {
                if (!Float.isFinite(host[i])) {
                    throw new IllegalArgumentException("encode: features contain " + host[i] + " at index " + i
                            + " (NaN or infinite log-mel values)");
                }
            }
        }
        long b = mel.dim(0);
        int h = cfg.encoderHeads();
        long d = cfg.dModel();
        long dh = d / h;
        try (Scope scope = Tessera.scope()) {
            Tensor x = mel.device().equals(device) ? mel : mel.to(device);
            if (x.dtype() != dtype) {
                x = Ops.convert(x, dtype);
            }
            Tensor c1 = Ops.gelu(PatchEmbedding.conv1d(x, conv1W, conv1B, 1, 1, PatchEmbedding.Layout.CHANNELS_FIRST));
            Tensor c2 = Ops.gelu(PatchEmbedding.conv1d(c1, conv2W, conv2B, 2, 1, PatchEmbedding.Layout.SEQUENCE_MAJOR));
            long s = c2.dim(1);
            Tensor hs = Ops.add(c2, encPos.slice(0, 0, s));
            for (EncLayer l : enc) {
                try (Scope ls = Tessera.scope()) {
                    Tensor n = l.ln1().forward(hs);
                    Tensor q = heads(l.att().q().forward(n), b, s, h, dh);
                    Tensor k = heads(l.att().k().forward(n), b, s, h, dh);
                    Tensor v = heads(l.att().v().forward(n), b, s, h, dh);
                    Tensor a = Attention.scaledDotProduct(q, k, v);
                    Tensor h1 = l.att().o().forwardAdd(merge(a, b, s, d), hs);
                    Tensor m = l.fc1().forward(l.ln2().forward(h1), FusedActivation.GELU);
                    hs = ls.keep(l.fc2().forwardAdd(m, h1));
                }
            }
            return scope.keep(encNorm.forward(hs));
        }
    }

    /** A new decoder cache for {@code batch} sequences of up to {@code capacity} tokens over {@code encoded}. */
    public WhisperCache newCache(Tensor encoded, int capacity) {
        return newCache(encoded, capacity, 0);
    }

    /**
     * A new cache whose rows may be left-padded by up to {@code maxPad} slots ({@link WhisperCache#padLeft}): the
     * capacity may then exceed {@code max_target_positions} by {@code maxPad}, positions are checked per row.
     */
    WhisperCache newCache(Tensor encoded, int capacity, int maxPad) {
        try (UseGuard.Use use = guard.enter()) { // the cross-attention keys and values are computed here
            return newCacheInUse(encoded, capacity, maxPad);
        }
    }

    private WhisperCache newCacheInUse(Tensor encoded, int capacity, int maxPad) {
        if (encoded == null || encoded.rank() != 3 || encoded.dim(2) != cfg.dModel()) {
            throw new IllegalArgumentException("encoder states must be [batch, frames, d_model = " + cfg.dModel() + "], got "
                    + (encoded == null ? "null" : encoded.describe()));
        }
        if (maxPad < 0 || capacity < 1 || capacity > cfg.maxTargetPositions() + maxPad) {
            throw new IllegalArgumentException("decoder capacity must be in [1, max_target_positions = "
                    + cfg.maxTargetPositions() + "], got " + capacity);
        }
        int b = (int) encoded.dim(0);
        long s = encoded.dim(1);
        int h = cfg.decoderHeads();
        long dh = cfg.dModel() / h;
        Tensor[] ck = new Tensor[dec.length];
        Tensor[] cv = new Tensor[dec.length];
        try (Scope scope = Tessera.scope()) {
            for (int i = 0; i < dec.length; i++) {
                ck[i] = scope.keep(heads(dec[i].cross().k().forward(encoded), b, s, h, dh).contiguous());
                cv[i] = scope.keep(heads(dec[i].cross().v().forward(encoded), b, s, h, dh).contiguous());
            }
        }
        return new WhisperCache(b, capacity, dec.length, h, dh, dtype, device, ck, cv);
    }

    /**
     * Appends {@code ids [B][S]} to {@code cache} and returns F32 logits {@code [B, S, vocab]} (every position when
     * {@code allPositions}, else only the last: {@code [B, 1, vocab]}). Rows of a left-padded cache
     * ({@link WhisperCache#padLeft}) take positions from their first real slot and never attend to their padding.
     */
    public Tensor decode(int[][] ids, WhisperCache cache, boolean allPositions) {
        try (UseGuard.Use use = guard.enter()) {
            return decodeInUse(ids, cache, allPositions, null, null);
        }
    }

    /** Receives one alignment head's cross-attention scores, {@code scores[token][audio position]}. */
    @FunctionalInterface
    public interface HeadScores {
        void accept(int pair, float[][] scores);
    }

    /**
     * Decodes {@code ids} from an empty cache over {@code encoded} ({@code [1, positions, d_model]}, one audio), hands
     * each requested {@code [layer, head]} pair's cross-attention scores before the softmax ({@code q·kᵀ / √head_dim},
     * F32 on the host) to {@code sink} as its layer is computed (one head's scores held at a time), and returns the
     * F32 logits {@code [1, S, vocab]} at every position, in the caller's scope: what word alignment needs
     * ({@link WordTimestamps}).
     */
    public Tensor crossAttentionScores(Tensor encoded, int[] ids, int[][] heads, HeadScores sink) {
        if (encoded == null || encoded.isClosed() || encoded.rank() != 3 || encoded.dim(0) != 1) {
            throw new IllegalArgumentException("crossAttentionScores: encoder states must be [1, positions, d_model], got "
                    + (encoded == null ? "null" : encoded.describe()));
        }
        if (ids == null || ids.length == 0 || ids.length > cfg.maxTargetPositions()) {
            throw new IllegalArgumentException("crossAttentionScores: " + (ids == null ? 0 : ids.length)
                    + " tokens; give 1 to max_target_positions = " + cfg.maxTargetPositions());
        }
        for (int[] p : heads) {
            if (p.length != 2 || p[0] < 0 || p[0] >= dec.length || p[1] < 0 || p[1] >= cfg.decoderHeads()) {
                throw new IllegalArgumentException("crossAttentionScores: head " + java.util.Arrays.toString(p)
                        + " outside " + dec.length + " layers x " + cfg.decoderHeads() + " heads");
            }
        }
        if (sink == null) {
            throw new IllegalArgumentException("crossAttentionScores: no sink for the scores");
        }
        try (UseGuard.Use use = guard.enter(); WhisperCache cache = newCacheInUse(encoded, ids.length, 0)) {
            return decodeInUse(new int[][] {ids}, cache, true, heads, sink);
        }
    }

    private Tensor decodeInUse(int[][] ids, WhisperCache cache, boolean allPositions, int[][] capture,
            HeadScores captured) {
        if (cache == null || !cache.isOpen()) {
            throw new IllegalArgumentException("decode needs an open cache (newCache)");
        }
        int b = ids.length;
        if (b != cache.batch() || b == 0) {
            throw new IllegalArgumentException("decode: " + b + " sequences for a cache of batch " + cache.batch());
        }
        int s = ids[0].length;
        int past = cache.length();
        if (s < 1 || past + s > cache.capacity()) {
            throw new IllegalArgumentException("decode: " + s + " new tokens after " + past + " exceed the capacity "
                    + cache.capacity() + " (max_target_positions " + cfg.maxTargetPositions() + ")");
        }
        int[] pad = cache.padding();
        if (pad != null) {
            for (int i = 0; i < b; i++) {
                if (past + s - pad[i] > cfg.maxTargetPositions()) {
                    throw new IllegalArgumentException("decode: row " + i + " would reach position " + (past + s - pad[i])
                            + " beyond max_target_positions " + cfg.maxTargetPositions());
                }
            }
        }
        int[] flat = new int[b * s];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != s) {
                throw new IllegalArgumentException("decode: sequences of a batch must have equal lengths");
            }
            for (int j = 0; j < s; j++) {
                int id = ids[i][j];
                if (id < 0 || id >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + cfg.vocabSize() + ")");
                }
                flat[i * s + j] = id;
            }
        }
        int h = cfg.decoderHeads();
        long d = cfg.dModel();
        long dh = d / h;
        int total = past + s;
        try (Scope scope = Tessera.scope()) {
            Tensor idt = Tensor.ofInts(flat, device, b, s);
            Tensor x = Ops.add(Ops.embedding(idt, tokEmb), positions(pad, b, past, s));
            Attention.Options causal = Attention.Options.causalMask();
            if (pad != null) {
                causal = causal.withKeyPaddingMask(keyMask(pad, total));
            }
            for (int li = 0; li < dec.length; li++) {
                DecLayer l = dec[li];
                try (Scope ls = Tessera.scope()) {
                    Tensor n = l.ln1().forward(x);
                    Tensor q = heads(l.self().q().forward(n), b, s, h, dh);
                    Tensor kc = cache.keys(li);
                    Tensor vc = cache.values(li);
                    Ops.copyInto(heads(l.self().k().forward(n), b, s, h, dh), kc.slice(2, past, total));
                    Ops.copyInto(heads(l.self().v().forward(n), b, s, h, dh), vc.slice(2, past, total));
                    Tensor a = s == 1 ? Attention.decode(q, kc, vc, total, causal)
                            : Attention.scaledDotProduct(q, kc.slice(2, 0, total), vc.slice(2, 0, total), causal);
                    Tensor h1 = l.self().o().forwardAdd(merge(a, b, s, d), x);
                    Tensor n2 = l.ln2().forward(h1);
                    Tensor q2 = heads(l.cross().q().forward(n2), b, s, h, dh);
                    Tensor a2 = Attention.scaledDotProduct(q2, cache.crossKeys(li), cache.crossValues(li));
                    if (capture != null) {
                        captureScores(li, q2, cache.crossKeys(li), dh, capture, captured);
                    }
                    Tensor h2 = l.cross().o().forwardAdd(merge(a2, b, s, d), h1);
                    Tensor m = l.fc1().forward(l.ln3().forward(h2), FusedActivation.GELU);
                    x = ls.keep(l.fc2().forwardAdd(m, h2));
                }
            }
            Tensor last = allPositions ? x : x.slice(1, s - 1, s);
            Tensor normed = decNorm.forward(last);
            Tensor logits = logitsPacked != null
                    ? Ops.linear(normed, logitsPacked, null, FusedActivation.NONE, null)
                    : Ops.linear(normed, tokEmb, null);
            if (logits.dtype() != DType.F32) {
                logits = Ops.convert(logits, DType.F32);
            }
            cache.advance(s);
            return scope.keep(logits);
        }
    }

    /** Cross-attention scores of the captured heads of layer {@code li} (batch 1): {@code q·kᵀ / √dh}, F32 on the host. */
    private static void captureScores(int li, Tensor q, Tensor k, long dh, int[][] capture, HeadScores captured) {
        Tensor qk = null;
        for (int c = 0; c < capture.length; c++) {
            if (capture[c][0] != li) {
                continue;
            }
            if (qk == null) {
                qk = Ops.scale(Ops.matmul(q.contiguous(), k.transpose(2, 3)), (float) (1 / Math.sqrt(dh)));
                if (qk.dtype() != DType.F32) {
                    qk = Ops.convert(qk, DType.F32);
                }
            }
            int s = (int) qk.dim(2);
            int frames = (int) qk.dim(3);
            float[] flat = qk.slice(1, capture[c][1], capture[c][1] + 1).contiguous().toFloatArray();
            float[][] rows = new float[s][];
            for (int t = 0; t < s; t++) {
                rows[t] = java.util.Arrays.copyOfRange(flat, t * frames, (t + 1) * frames);
            }
            captured.accept(c, rows);
        }
    }

    /** Learned positions of the new slots {@code [past, past + s)}: shared, or per row after its padding. */
    private Tensor positions(int[] pad, int b, int past, int s) {
        if (pad == null) {
            return decPos.slice(0, past, past + s);
        }
        int[] ids = new int[b * s];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < s; j++) {
                ids[i * s + j] = Math.max(0, past + j - pad[i]); // padding slots: any position, never attended
            }
        }
        return Ops.embedding(Tensor.ofInts(ids, device, b, s), decPos);
    }

    /** Key mask {@code [B, total]}: 0 on each row's leading padding. */
    private Tensor keyMask(int[] pad, int total) {
        int[] m = new int[pad.length * total];
        for (int i = 0; i < pad.length; i++) {
            java.util.Arrays.fill(m, i * total + Math.min(pad[i], total), (i + 1) * total, 1);
        }
        return Tensor.ofInts(m, device, pad.length, total);
    }

    private static Tensor heads(Tensor x, long b, long s, int h, long dh) {
        return x.reshape(b, s, h, dh).transpose(1, 2);
    }

    private static Tensor merge(Tensor a, long b, long s, long d) {
        return a.transpose(1, 2).contiguous().reshape(b, s, d);
    }

    private void ensureOpen() {
        guard.ensureOpen();
    }

    @Override
    public void close() {
        if (guard.close()) { // waits for forward passes on other threads
            owned.forEach(Tensor::close);
            owned.clear();
        }
    }
}
