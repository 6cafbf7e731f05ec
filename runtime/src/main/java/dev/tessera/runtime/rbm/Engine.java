package dev.tessera.runtime.rbm;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.InUse;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The device-side building blocks shared by {@link Rbm} and {@link ContrastiveDivergence}: GEMMs through
 * {@link Backend#gemm} (OpenBLAS / cuBLAS, fp32) and the backend's {@link RbmKernels}. Arguments are
 * validated by the callers. Nothing here copies to the host.
 */
final class Engine implements AutoCloseable {
    final Device device;
    final Backend be;
    final RbmKernels k;
    private final List<Tensor> temps = new ArrayList<>();
    private final List<InUse> held = new ArrayList<>(2);

    Engine(Device device) {
        this.device = device;
        this.be = Backends.get(device);
        this.k = be.rbmKernels();
    }

    /**
     * Holds the op's tensors and p's (null: none) until {@link #close()}, so that a close on another thread frees
     * nothing under a native call ({@link InUse}); refuses closed ones. Returns this engine.
     */
    Engine hold(String op, RbmParams p, Tensor... ts) {
        try {
            if (p != null) {
                Check.params(op, p);
                held.add(InUse.of(op, p.weights(), p.visibleBias(), p.hiddenBias(), p.weightVelocity(),
                        p.visibleVelocity(), p.hiddenVelocity()));
            }
            held.add(InUse.of(op, ts));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        return this;
    }

    /** A temporary F32 tensor closed with this engine. */
    Tensor tmp(long... shape) {
        Tensor t = Tensor.empty(DType.F32, device, shape);
        temps.add(t);
        return t;
    }

    /** t itself if contiguous, else a contiguous temporary copy. */
    Tensor contiguous(Tensor t) {
        if (t == null || t.isContiguous()) {
            return t;
        }
        Tensor c = t.contiguous();
        temps.add(c);
        return c;
    }

    /** c = alpha op(a) op(b) + beta c for row-major contiguous 2-D tensors. */
    void gemm(Tensor a, boolean ta, Tensor b, boolean tb, float alpha, float beta, Tensor c) {
        int m = (int) (ta ? a.dim(1) : a.dim(0));
        int kk = (int) (ta ? a.dim(0) : a.dim(1));
        int n = (int) (tb ? b.dim(0) : b.dim(1));
        be.gemm(ta, tb, m, n, kk, alpha, a, (int) a.dim(1), 0, b, (int) b.dim(1), 0, beta, c, n, 0, 1,
                MatmulPrecision.FP32);
    }

    /** Pre-activation of the hidden units: scale * v W (+ extra). */
    Tensor hiddenPre(RbmParams p, Tensor v, float scale) {
        Tensor pre = tmp(v.dim(0), p.hiddenSize());
        gemm(v, false, p.weights(), false, scale, 0f, pre);
        return pre;
    }

    /** Row totals D of replicated-softmax data (null for other visible types). */
    Tensor totals(VisibleType type, Tensor v) {
        if (type != VisibleType.SOFTMAX) {
            return null;
        }
        Tensor d = tmp(v.dim(0));
        k.rowSums(v, d);
        return d;
    }

    /** p(h | v) into prob (and a Bernoulli sample into sample if not null). */
    void up(RbmParams p, Tensor v, Tensor totals, Tensor extra, float scale, Tensor prob, Tensor sample, long seed,
            long offset) {
        Tensor pre = hiddenPre(p, v, scale);
        k.sigmoidSample(pre, p.hiddenBias(), totals, extra, prob, sample, seed, offset);
    }

    /**
     * The visible units given h: mean (probabilities; for SOFTMAX the expected counts D p if meanCounts,
     * else p) and, if sample is not null, a sample. Returns the counters used.
     */
    long down(RbmParams p, VisibleType type, Tensor h, Tensor totals, Tensor extra, Tensor mean, Tensor sample,
            boolean meanCounts, long seed, long offset) {
        long rows = h.dim(0);
        int nv = p.visibleSize();
        Tensor pre = tmp(rows, nv);
        gemm(h, false, p.weights(), true, 1f, 0f, pre);
        if (extra != null) {
            be.binary(BinaryOp.ADD, pre, extra, pre);
        }
        switch (type) {
            case BINARY -> {
                k.sigmoidSample(pre, p.visibleBias(), null, null, mean, sample, seed, offset);
                return rows * nv;
            }
            case GAUSSIAN -> {
                k.gaussianSample(pre, p.visibleBias(), mean, sample, seed, offset);
                return rows * nv;
            }
            default -> {
                Tensor ws = sample == null ? null : tmp(rows, nv);
                if (meanCounts) {
                    Tensor prob = tmp(rows, nv);
                    k.softmaxSample(pre, p.visibleBias(), totals, prob, mean, sample, ws, seed, offset);
                } else {
                    k.softmaxSample(pre, p.visibleBias(), totals, mean, null, sample, ws, seed, offset);
                }
                return rows;
            }
        }
    }

    @Override
    public void close() {
        for (Tensor t : temps) {
            t.close();
        }
        temps.clear();
        for (InUse u : held) {
            u.close();
        }
        held.clear();
    }
}
