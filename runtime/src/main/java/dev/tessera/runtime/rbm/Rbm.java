package dev.tessera.runtime.rbm;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.jni.RbmNative;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * RBM inference and sampling ops on any backend: mean-field up / down passes (for DBMs too), free
 * energy, reconstruction error, and the fused sampling kernels with their Philox generator. Training
 * is {@link ContrastiveDivergence}.
 *
 * <p>Layouts: a batch of visible vectors is {@code v [rows, nv]}, hidden {@code h [rows, nh]}, with
 * {@code W [nv, nh]} of {@link RbmParams}. Every op validates its arguments (open tensors, F32, one
 * device, shapes) and throws {@link IllegalArgumentException} / {@link IllegalStateException} naming
 * the shapes before any native call. Results are new contiguous F32 tensors on the inputs' device, owned
 * by the caller (or the current scope). Non-contiguous inputs are gathered first.
 *
 * <p>Random numbers: Philox4x32-10 keyed by {@code seed}; element i of a draw starting at counter
 * {@code offset} uses counter {@code offset + i} (see {@code tessera/rbm.h}), so results depend only on
 * (seed, offset), not on threads, and CPU and CUDA uniforms are bit-identical.
 */
public final class Rbm {
    private Rbm() {}

    /** A mean (probabilities, or expected values) and a sample of the same shape; closes both. */
    public record Sample(Tensor mean, Tensor sample) implements AutoCloseable {
        @Override
        public void close() {
            mean.close();
            sample.close();
        }
    }

    // ------------------------------------------------------------------ random numbers

    /**
     * One Philox4x32-10 block: {@code counter} 4 words, {@code key} 2 words (unsigned 32-bit values in
     * ints) → 4 words. For known-answer tests of the generator every kernel uses.
     */
    public static int[] philox4x32(int[] counter, int[] key) {
        if (counter == null || key == null || counter.length != 4 || key.length != 2) {
            throw new IllegalArgumentException("philox4x32 needs a 4-word counter and a 2-word key, got "
                    + (counter == null ? "null" : counter.length + " words") + " and "
                    + (key == null ? "null" : key.length + " words"));
        }
        int[] out = new int[4];
        NativeStatus.check(RbmNative.tsr_cpu_philox4x32_10(counter, key, out), "tsr_cpu_philox4x32_10");
        return out;
    }

    /** {@code n} uniforms in [0, 1) of counters {@code offset .. offset + n - 1} under {@code seed}. */
    public static Tensor uniform(long seed, long offset, long n, Device device) {
        if (n < 0 || device == null) {
            throw new IllegalArgumentException("uniform: need n >= 0 and a device, got n = " + n + ", device " + device);
        }
        return filled(device, out -> Backends.get(device).rbmKernels().uniform(seed, offset, out), n);
    }

    /** A new F32 tensor of {@code shape} on {@code device} after {@code fill} wrote it; closed if that throws. */
    private static Tensor filled(Device device, Consumer<Tensor> fill, long... shape) {
        return Tensor.filled(Tensor.empty(DType.F32, device, shape), fill);
    }

    /** Mean and sample, new F32 tensors like pre, after {@code fill} wrote them; both closed if anything throws. */
    private static Sample sampled(Tensor pre, BiConsumer<Tensor, Tensor> fill) {
        Tensor[] sample = new Tensor[1]; // made and filled inside the mean's fill, so that a failure closes both
        Tensor mean = filled(pre.device(), m -> sample[0] = filled(pre.device(), s -> fill.accept(m, s), pre.shape()),
                pre.shape());
        return new Sample(mean, sample[0]);
    }

    private static void bias(String op, Tensor bias, Tensor pre) {
        if (bias != null) {
            Tensor.requireOpen(op, bias);
            Check.shape(op, "bias", bias, pre.dim(1));
        }
    }

    private static void sameAs(String op, String what, Tensor t, Tensor pre) {
        if (t != null) {
            Tensor.requireOpen(op, t);
            Check.shape(op, what, t, pre.shape());
        }
    }

    private static void prepare(String op, Tensor pre) {
        Tensor.requireOpen(op, pre);
        if (pre.rank() != 2) {
            throw new IllegalArgumentException(op + ": pre-activations must be [rows, cols], got " + pre.describe());
        }
    }

    /**
     * Binary units: {@code mean = sigmoid(pre + bias + extra)}, {@code sample ~ Bernoulli(mean)} with
     * counters {@code offset + r * cols + c}. pre {@code [rows, cols]}; bias {@code [cols]} and extra
     * {@code [rows, cols]} may be null.
     */
    public static Sample sigmoidSample(Tensor pre, Tensor bias, Tensor extra, long seed, long offset) {
        String op = "sigmoidSample";
        prepare(op, pre);
        bias(op, bias, pre);
        sameAs(op, "extra", extra, pre);
        Check.f32(op, pre, bias, extra);
        Check.sameDevice(op, pre, bias, extra);
        try (Engine e = new Engine(pre.device()).hold(op, null, pre, bias, extra)) {
            return sampled(pre, (mean, sample) -> {
                e.k.sigmoidSample(e.contiguous(pre), e.contiguous(bias), null, e.contiguous(extra), mean, sample, seed,
                        offset);
            });
        }
    }

    /** Gaussian units of unit variance: {@code mean = pre + bias}, {@code sample = mean + N(0, 1)}. */
    public static Sample gaussianSample(Tensor pre, Tensor bias, long seed, long offset) {
        String op = "gaussianSample";
        prepare(op, pre);
        bias(op, bias, pre);
        Check.f32(op, pre, bias);
        Check.sameDevice(op, pre, bias);
        try (Engine e = new Engine(pre.device()).hold(op, null, pre, bias)) {
            return sampled(pre, (mean, sample) -> {
                e.k.gaussianSample(e.contiguous(pre), e.contiguous(bias), mean, sample, seed, offset);
            });
        }
    }

    /**
     * Replicated-softmax units: {@code mean = softmax(pre + bias)} per row (probabilities) and
     * {@code sample} = the counts of {@code round(totals[r])} draws from row r (draw d of row r uses
     * counter {@code offset + r}, sub-index d). totals {@code [rows]}, each in [0, 2^24] (clamped).
     */
    public static Sample softmaxSample(Tensor pre, Tensor bias, Tensor totals, long seed, long offset) {
        String op = "softmaxSample";
        prepare(op, pre);
        bias(op, bias, pre);
        Tensor.requireOpen(op, totals);
        Check.shape(op, "totals", totals, pre.dim(0));
        Check.f32(op, pre, bias, totals);
        Check.sameDevice(op, pre, bias, totals);
        try (Engine e = new Engine(pre.device()).hold(op, null, pre, bias, totals)) {
            return sampled(pre, (mean, sample) -> {
                e.k.softmaxSample(e.contiguous(pre), e.contiguous(bias), e.contiguous(totals), mean, null, sample,
                        e.tmp(pre.shape()), seed, offset);
            });
        }
    }

    // ------------------------------------------------------------------ mean-field passes

    private static long visible(String op, RbmParams p, VisibleType type, Tensor v) {
        Check.params(op, p);
        Check.visibleType(op, type);
        Tensor.requireOpen(op, v);
        long rows = Check.matrix(op, "visible batch", v, p.visibleSize(), "nv");
        Check.f32(op, v);
        Check.sameDevice(op, p.weights(), v);
        return rows;
    }

    /** p(h | v) of a binary-visible RBM: {@code sigmoid(v W + c)}. */
    public static Tensor up(RbmParams p, Tensor v) {
        return up(p, VisibleType.BINARY, v, null, 1f);
    }

    /**
     * Mean-field up pass {@code p(h | v) = sigmoid(inputScale · v W + s · c + extra)}, s = the row total of v
     * for {@link VisibleType#SOFTMAX}, else 1. For DBM mean-field, {@code inputScale = 2} doubles the
     * bottom-up weights and {@code extra [rows, nh]} (may be null) adds a top-down pre-activation.
     */
    public static Tensor up(RbmParams p, VisibleType type, Tensor v, Tensor extra, float inputScale) {
        String op = "up";
        long rows = visible(op, p, type, v);
        if (extra != null) {
            Tensor.requireOpen(op, extra);
            Check.shape(op, "extra", extra, rows, p.hiddenSize());
            Check.f32(op, extra);
            Check.sameDevice(op, v, extra);
        }
        if (!Float.isFinite(inputScale)) {
            throw new IllegalArgumentException(op + ": inputScale must be finite, got " + inputScale);
        }
        try (Engine e = new Engine(v.device()).hold(op, p, v, extra)) {
            Tensor vc = e.contiguous(v);
            return filled(v.device(), out -> {
                e.up(p, vc, e.totals(type, vc), e.contiguous(extra), inputScale, out, null, 0, 0);
            }, rows, p.hiddenSize());
        }
    }

    /**
     * Mean-field down pass {@code p(v | h)} for {@code h [rows, nh]}: sigmoid(h W^T + b + extra) for
     * BINARY, the mean h W^T + b + extra for GAUSSIAN, softmax(h W^T + b + extra) for SOFTMAX (times
     * {@code totals[r]} when totals {@code [rows]} is given: the expected counts). extra {@code [rows, nv]}
     * and totals may be null.
     */
    public static Tensor down(RbmParams p, VisibleType type, Tensor h, Tensor extra, Tensor totals) {
        String op = "down";
        Check.params(op, p);
        Check.visibleType(op, type);
        Tensor.requireOpen(op, h);
        long rows = Check.matrix(op, "hidden batch", h, p.hiddenSize(), "nh");
        Check.f32(op, h);
        Check.sameDevice(op, p.weights(), h);
        if (extra != null) {
            Tensor.requireOpen(op, extra);
            Check.shape(op, "extra", extra, rows, p.visibleSize());
            Check.f32(op, extra);
            Check.sameDevice(op, h, extra);
        }
        if (totals != null) {
            if (type != VisibleType.SOFTMAX) {
                throw new IllegalArgumentException(op + ": totals are for SOFTMAX visible units, not " + type);
            }
            Tensor.requireOpen(op, totals);
            Check.shape(op, "totals", totals, rows);
            Check.f32(op, totals);
            Check.sameDevice(op, h, totals);
        }
        try (Engine e = new Engine(h.device()).hold(op, p, h, extra, totals)) {
            return filled(h.device(), out -> {
                e.down(p, type, e.contiguous(h), e.contiguous(totals), e.contiguous(extra), out, null, totals != null,
                        0, 0);
            }, rows, p.visibleSize());
        }
    }

    /**
     * Free energy per row, {@code [rows]}: F(v) = -b·v - Σ_j softplus(c_j s + (v W)_j) for BINARY and
     * SOFTMAX (s = the row total), F(v) = |v - b|²/2 - Σ_j softplus(c_j + (v W)_j) for GAUSSIAN, so that
     * p(v) ∝ exp(-F(v)).
     */
    public static Tensor freeEnergy(RbmParams p, VisibleType type, Tensor v) {
        String op = "freeEnergy";
        long rows = visible(op, p, type, v);
        try (Engine e = new Engine(v.device()).hold(op, p, v)) {
            Tensor vc = e.contiguous(v);
            Tensor pre = e.hiddenPre(p, vc, 1f);
            return filled(v.device(), out -> {
                e.k.freeEnergy(type.code(), vc, pre, p.visibleBias(), p.hiddenBias(), e.totals(type, vc), out);
            }, rows);
        }
    }

    /**
     * Squared error of the one-step mean-field reconstruction per row, {@code [rows]}:
     * {@code |v - down(up(v))|²} (for SOFTMAX the reconstruction is the expected counts with v's totals).
     */
    public static Tensor reconstructionErrors(RbmParams p, VisibleType type, Tensor v) {
        String op = "reconstructionErrors";
        long rows = visible(op, p, type, v);
        try (Engine e = new Engine(v.device()).hold(op, p, v)) {
            Tensor vc = e.contiguous(v);
            Tensor totals = e.totals(type, vc);
            Tensor h = e.tmp(rows, p.hiddenSize());
            e.up(p, vc, totals, null, 1f, h, null, 0, 0);
            Tensor recon = e.tmp(rows, p.visibleSize());
            e.down(p, type, h, totals, null, recon, null, true, 0, 0);
            return filled(v.device(), out -> {
                e.k.squaredError(vc, recon, out);
            }, rows);
        }
    }

    /** Mean over rows of {@link #reconstructionErrors} (copies the per-row errors to the host). */
    public static double reconstructionError(RbmParams p, VisibleType type, Tensor v) {
        try (Tensor errs = reconstructionErrors(p, type, v)) {
            double s = 0;
            for (float f : errs.toFloatArray()) {
                s += f;
            }
            return s / errs.numel();
        }
    }
}
