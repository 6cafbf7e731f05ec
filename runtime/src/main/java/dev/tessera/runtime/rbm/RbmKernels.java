package dev.tessera.runtime.rbm;

import dev.tessera.runtime.Tensor;

/**
 * The RBM kernel table of one backend ({@link dev.tessera.runtime.Backend#rbmKernels()}), one method per
 * function of {@code native/include/tessera/rbm.h} (see there for the exact semantics). This is an SPI
 * for backends: users call {@link ContrastiveDivergence} and {@link Rbm}, which validate everything
 * first. Implementations may assume: every tensor is a contiguous F32 tensor on the backend's device,
 * 2-D tensors are {@code [rows, cols]} with the documented shapes, optional tensors may be null.
 * Seeds and offsets are unsigned 64-bit values.
 */
public interface RbmKernels {
    /** out[i] = Philox uniform of counter (offset + i) under seed. */
    void uniform(long seed, long offset, Tensor out);

    /**
     * prob = sigmoid(pre + bias * biasScale[r] + extra); sample = Bernoulli(prob) with counters
     * offset + r * cols + c. pre / prob / sample / extra [rows, cols], bias [cols], biasScale [rows];
     * bias, biasScale, extra, sample may be null; prob may be pre.
     */
    void sigmoidSample(Tensor pre, Tensor bias, Tensor biasScale, Tensor extra, Tensor prob, Tensor sample, long seed,
            long offset);

    /** mean = pre + bias; sample = mean + N(0, 1). bias and sample may be null; mean may be pre. */
    void gaussianSample(Tensor pre, Tensor bias, Tensor mean, Tensor sample, long seed, long offset);

    /**
     * prob = softmax(pre + bias) per row; mean = D_r prob; sample = counts of D_r draws. totals [rows];
     * workspace [rows, cols] (with sample). bias, totals, mean, sample, workspace may be null as rbm.h says.
     */
    void softmaxSample(Tensor pre, Tensor bias, Tensor totals, Tensor prob, Tensor mean, Tensor sample,
            Tensor workspace, long seed, long offset);

    /** out[r] = sum_c x[r, c]; x [rows, cols], out [rows]. */
    void rowSums(Tensor x, Tensor out);

    /**
     * out[c] = alphaPos sum_r posScale[r] pos[r, c] - alphaNeg sum_r negScale[r] neg[r, c]; pos [P, cols],
     * neg [N, cols] (or null), scales [P] / [N] or null, out [cols].
     */
    void colStats(Tensor pos, Tensor posScale, float alphaPos, Tensor neg, Tensor negScale, float alphaNeg,
            Tensor out);

    /** velocity = momentum velocity + lr (grad - decay param); param += velocity (same shapes). */
    void update(Tensor param, Tensor velocity, Tensor grad, float lr, float momentum, float decay);

    /**
     * out[r] = F(v_r); v [rows, nv], pre = v W [rows, nh], vbias [nv], hbias [nh], totals [rows] (SOFTMAX
     * only, else null), out [rows]; visibleType is {@link VisibleType#code()}.
     */
    void freeEnergy(int visibleType, Tensor v, Tensor pre, Tensor vbias, Tensor hbias, Tensor totals, Tensor out);

    /** out[r] = sum_c (a[r, c] - b[r, c])^2; a, b [rows, cols], out [rows]. */
    void squaredError(Tensor a, Tensor b, Tensor out);
}
