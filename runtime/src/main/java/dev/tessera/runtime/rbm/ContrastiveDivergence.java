package dev.tessera.runtime.rbm;

import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;

/**
 * Contrastive-divergence training of an {@link RbmParams} (CD-k, or persistent CD): {@link #step} does a
 * whole update on the parameters' device with no copy to the host. One step on a batch {@code v0 [B, nv]}:
 * <ol>
 *   <li>positive phase: {@code p0 = sigmoid(v0 W + s c)}, {@code h ~ Bernoulli(p0)} (s = the row total of
 *       v0 for {@link VisibleType#SOFTMAX}, else 1): one GEMM, one fused bias + sigmoid + sample kernel;</li>
 *   <li>k Gibbs steps {@code v ~ p(v | h)}, {@code h ~ p(h | v)} from h (CD) or from the persistent
 *       fantasy chains (PCD: C chains on the device, started from the first batch's rows, continued
 *       across steps);</li>
 *   <li>negative statistics from the last visible sample {@code vk} and {@code pk = p(h | vk)};</li>
 *   <li>gradient {@code dW = v0^T p0 / B - vk^T pk / C} (two GEMMs), {@code db = mean v0 - mean vk},
 *       {@code dc = mean s p0 - mean s pk} (column-sum kernels), plus the sparsity term;</li>
 *   <li>update with momentum and L2 decay (a fused kernel per tensor):
 *       {@code vel = momentum vel + lr (grad - decay W)}, {@code W += vel} (no decay on the biases).</li>
 * </ol>
 * Random numbers come from the Philox stream of {@link RbmConfig#seed()}, at a counter this object
 * advances by the size of each draw ({@link #rngOffset()}): the same seed, data and parameters give
 * the same result on the same backend whatever the number of threads.
 *
 * <p>Not thread-safe. {@link #close()} frees the chains; the parameters stay owned by the caller. The
 * chains are allocated by the first PCD step and, like every tensor, belong to the scope open then.
 */
public final class ContrastiveDivergence implements AutoCloseable {
    private final RbmParams params;
    private final RbmConfig config;
    private long offset;
    private Tensor chains;
    private boolean closed;

    public ContrastiveDivergence(RbmParams params, RbmConfig config) {
        Check.params("ContrastiveDivergence", params);
        if (config == null) {
            throw new IllegalArgumentException("ContrastiveDivergence: config must not be null");
        }
        this.params = params;
        this.config = config;
    }

    public RbmConfig config() {
        return config;
    }

    public RbmParams params() {
        return params;
    }

    /** The Philox counter the next draw starts at. */
    public long rngOffset() {
        return offset;
    }

    /** The persistent chains' visible states {@code [C, nv]} (null before the first PCD step; owned here). */
    public Tensor chains() {
        return chains;
    }

    /** One CD-k / PCD-k update of the parameters on {@code batch [B, nv]} (F32 on the parameters' device). */
    public void step(Tensor batch) {
        run("step", batch, true);
    }

    /**
     * The CD-k / PCD-k gradient estimate on {@code batch} without updating the parameters (the chains and
     * the random stream advance as in {@link #step}). For diagnostics and tests.
     */
    public RbmGradient gradient(Tensor batch) {
        return run("gradient", batch, false);
    }

    private void validate(String op, Tensor batch) {
        if (closed) {
            throw new IllegalStateException("ContrastiveDivergence." + op + ": trainer is closed");
        }
        Check.params("ContrastiveDivergence." + op, params);
        Tensor.requireOpen("ContrastiveDivergence." + op, batch);
        Check.matrix("ContrastiveDivergence." + op, "batch", batch, params.visibleSize(), "nv");
        Check.f32("ContrastiveDivergence." + op, batch);
        Check.sameDevice("ContrastiveDivergence." + op, params.weights(), batch);
        if (batch.dim(0) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("ContrastiveDivergence." + op + ": batch too large: " + batch.describe());
        }
    }

    private RbmGradient run(String op, Tensor batch, boolean update) {
        validate(op, batch);
        final VisibleType type = config.visibleType();
        final long seed = config.seed();
        final int nv = params.visibleSize();
        final int nh = params.hiddenSize();
        final long b = batch.dim(0);
        final Device dev = batch.device();
        Tensor gw = null;
        Tensor gvb = null;
        Tensor ghb = null;
        try (Engine e = new Engine(dev).hold("ContrastiveDivergence." + op, params, batch,
                chains == null || chains.isClosed() ? null : chains)) {
            Tensor v0 = e.contiguous(batch);
            Tensor d0 = e.totals(type, v0);
            // positive phase
            Tensor p0 = e.tmp(b, nh);
            Tensor h = e.tmp(b, nh);
            e.up(params, v0, d0, null, 1f, p0, h, seed, offset);
            offset += b * nh;
            // chain start
            Tensor dc = d0;
            long c = b;
            if (config.persistent()) {
                if (chains != null && chains.isClosed()) {
                    throw new IllegalStateException("ContrastiveDivergence." + op + ": the persistent chains were "
                            + "closed (with the scope they were created in): use a PCD trainer within one scope");
                }
                if (chains == null) {
                    chains = initChains(v0, config.chains() == 0 ? b : config.chains());
                }
                c = chains.dim(0);
                dc = e.totals(type, chains);
                h = e.tmp(c, nh);
                e.up(params, chains, dc, null, 1f, e.tmp(c, nh), h, seed, offset);
                offset += c * nh;
            }
            // k Gibbs steps
            Tensor vk = e.tmp(c, nv);
            Tensor vmean = e.tmp(c, nv);
            Tensor pk = e.tmp(c, nh);
            for (int s = 1; s <= config.k(); s++) {
                offset += e.down(params, type, h, dc, null, vmean, vk, false, seed, offset);
                boolean needSample = s < config.k();
                Tensor hs = needSample ? h : null;
                e.up(params, vk, dc, null, 1f, pk, hs, seed, offset);
                if (needSample) {
                    offset += c * nh;
                }
            }
            if (config.persistent()) {
                e.be.copy(vk, chains);
            }
            // gradient
            gw = Tensor.empty(DType.F32, dev, nv, nh);
            gvb = Tensor.empty(DType.F32, dev, nv);
            ghb = Tensor.empty(DType.F32, dev, nh);
            e.gemm(v0, true, p0, false, 1f / b, 0f, gw);
            e.gemm(vk, true, pk, false, -1f / c, 1f, gw);
            e.k.colStats(v0, null, 1f / b, vk, null, 1f / c, gvb);
            e.k.colStats(p0, d0, 1f / b, pk, dc, 1f / c, ghb);
            if (config.sparsityCost() > 0) {
                float lambda = config.sparsityCost();
                Tensor qhat = e.tmp(nh);
                e.k.colStats(p0, null, 1f / b, null, null, 0f, qhat);
                Tensor sp = e.tmp(nh);
                e.be.affine(qhat, -lambda, lambda * config.sparsityTarget(), sp); // λ (q - q̂)
                e.be.binary(BinaryOp.ADD, ghb, sp, ghb);
                Tensor vbar = e.tmp(nv);
                e.k.colStats(v0, null, 1f / b, null, null, 0f, vbar);
                try (Tensor col = vbar.reshape(nv, 1); Tensor row = sp.reshape(1, nh)) {
                    e.gemm(col, false, row, false, 1f, 1f, gw); // + vbar ⊗ λ (q - q̂)
                }
            }
            if (!update) {
                RbmGradient g = new RbmGradient(gw, gvb, ghb);
                gw = gvb = ghb = null;
                return g;
            }
            float lr = config.learningRate();
            float mom = config.momentum();
            e.k.update(params.weights(), params.weightVelocity(), gw, lr, mom, config.weightDecay());
            e.k.update(params.visibleBias(), params.visibleVelocity(), gvb, lr, mom, 0f);
            e.k.update(params.hiddenBias(), params.hiddenVelocity(), ghb, lr, mom, 0f);
            return null;
        } finally {
            for (Tensor t : new Tensor[] {gw, gvb, ghb}) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    /**
     * n chains started from the batch's rows (cyclically). Like any tensor they belong to the scope open
     * at this moment, if any.
     */
    private Tensor initChains(Tensor v0, long n) {
        Tensor ch = Tensor.empty(DType.F32, v0.device(), n, params.visibleSize());
        long b = v0.dim(0);
        long done = 0;
        var be = dev.tessera.runtime.Backends.get(v0.device());
        while (done < n) {
            long len = Math.min(b, n - done);
            try (Tensor dst = ch.slice(0, done, done + len); Tensor src = v0.slice(0, 0, len)) {
                be.copy(src, dst);
            }
            done += len;
        }
        return ch;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (chains != null) {
                chains.close();
            }
        }
    }
}
