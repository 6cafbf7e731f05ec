package dev.tessera.models.clip;

import dev.tessera.models.nn.LayerNorm;
import dev.tessera.models.nn.UseGuard;
import dev.tessera.models.nn.Weights;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.ArrayList;
import java.util.List;

/**
 * The CLIP text transformer ({@code CLIPTextTransformer}): token + learned position embeddings, causal pre-norm
 * layers, {@code final_layer_norm}, and EOS pooling. HF names relative to {@code text_model.}:
 * {@code embeddings.{token_embedding, position_embedding}.weight}, {@code encoder.layers.N...},
 * {@code final_layer_norm}. Built as part of {@link ClipModel}, which owns the weights.
 */
public final class ClipTextModel {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClipTextModel.class);
    private final ClipTextConfig cfg;
    private final Tensor tokenEmbedding;
    private final Tensor positionEmbedding;
    private final ClipEncoder encoder;
    private final LayerNorm finalNorm;
    private final UseGuard guard; // the owning ClipModel's

    ClipTextModel(ClipTextConfig cfg, Weights w, UseGuard guard) {
        this.cfg = cfg;
        this.guard = guard;
        long d = cfg.hiddenSize();
        tokenEmbedding = w.take("embeddings.token_embedding.weight", cfg.vocabSize(), d);
        positionEmbedding = w.take("embeddings.position_embedding.weight", cfg.maxPositions(), d);
        encoder = new ClipEncoder(w, cfg.numLayers(), cfg.hiddenSize(), cfg.intermediateSize(), cfg.numHeads(),
                cfg.layerNormEps(), cfg.hiddenAct());
        finalNorm = LayerNorm.take(w, "final_layer_norm", d, cfg.layerNormEps());
        String prefix = w.prefix();
        w.ignoreUnexpected(n -> n.startsWith(prefix) && n.endsWith("position_ids"));
    }

    public ClipTextConfig config() {
        return cfg;
    }

    /** The id of {@code <|endoftext|>} in the original CLIP vocabulary, its last token. */
    static final int CLIP_EOT = 49407;

    /** The position pooled for one text alone: {@link #poolPositions} of a batch of one. */
    public int poolPosition(int[] ids) {
        return poolPositions(new int[][] {ids})[0];
    }

    /**
     * The positions pooled for a batch of texts, as transformers' {@code CLIPTextTransformer} picks them (4.31 to
     * 5.x): with {@code eos_token_id} 2 (what the original OpenAI configs say, from before the id was corrected) the
     * position of each row's largest id (49407 {@code <|endoftext|>} in the original vocabulary); with any other
     * {@code eos_token_id} the first position of that id in each row, position 0 in a row without one (warned).
     */
    public int[] poolPositions(int[][] ids) {
        return poolPositions(ids, cfg.eosTokenId());
    }

    static int[] poolPositions(int[][] ids, int eosTokenId) {
        int[] out = new int[ids.length];
        boolean missing = false;
        for (int b = 0; b < ids.length; b++) {
            if (eosTokenId == LEGACY_EOS) {
                out[b] = argmax(ids[b]);
                continue;
            }
            int at = -1;
            for (int i = 0; i < ids[b].length && at < 0; i++) {
                if (ids[b][i] == eosTokenId) {
                    at = i;
                }
            }
            missing |= at < 0;
            out[b] = Math.max(at, 0);
        }
        if (missing) {
            LOG.warn("a text holds no eos_token_id {}: pooled at its first token, as transformers does (does the "
                    + "tokenizer end texts with another id?)", eosTokenId);
        }
        return out;
    }

    /** The {@code eos_token_id} of the original CLIP configs, which transformers reads as "pool at the largest id". */
    static final int LEGACY_EOS = 2;

    /** The first position of the largest id. */
    private static int argmax(int[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * The pooled text features {@code [N, hidden]} of {@code ids} (one token sequence per text, each at most
     * {@code max_position_embeddings} long; shorter ones are padded after their end, which the causal mask keeps
     * out of the pooled position).
     */
    public Tensor pooled(int[][] ids, Device device) {
        try (UseGuard.Use use = guard.enter()) {
            return pooledInUse(ids, device);
        }
    }

    private Tensor pooledInUse(int[][] ids, Device device) {
        if (ids == null || ids.length == 0) {
            throw new IllegalArgumentException("no token sequences");
        }
        int s = 0;
        for (int[] t : ids) {
            if (t == null || t.length == 0) {
                throw new IllegalArgumentException("empty token sequence");
            }
            if (t.length > cfg.maxPositions()) {
                throw new IllegalArgumentException("token sequence of " + t.length
                        + " exceeds max_position_embeddings " + cfg.maxPositions());
            }
            for (int id : t) {
                if (id < 0 || id >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + id + " outside vocab of " + cfg.vocabSize());
                }
            }
            s = Math.max(s, t.length);
        }
        int n = ids.length;
        int[] flat = new int[n * s];
        int[] pos = new int[n * s];
        for (int b = 0; b < n; b++) {
            System.arraycopy(ids[b], 0, flat, b * s, ids[b].length);
            for (int i = 0; i < s; i++) {
                pos[b * s + i] = i;
            }
        }
        long d = cfg.hiddenSize();
        try (Scope scope = Tessera.scope()) {
            Tensor tid = Tensor.ofInts(flat, device, n, s);
            Tensor pid = Tensor.ofInts(pos, device, n, s);
            Tensor h = Ops.add(Ops.embedding(tid, tokenEmbedding), Ops.embedding(pid, positionEmbedding));
            for (int li = 0; li < encoder.size(); li++) {
                Tensor prev = h;
                h = encoder.layer(li, h, true);
                prev.close();
            }
            h = finalNorm.forward(h);
            List<Tensor> rows = new ArrayList<>();
            int[] pooled = poolPositions(ids);
            for (int b = 0; b < n; b++) {
                int p = pooled[b];
                rows.add(h.slice(0, b, b + 1).slice(1, p, p + 1).contiguous().reshape(1, d));
            }
            return scope.keep(n == 1 ? rows.get(0) : Ops.concat(0, rows));
        }
    }
}
