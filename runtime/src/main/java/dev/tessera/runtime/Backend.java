package dev.tessera.runtime;

/**
 * A table of ops for one kind of device, found by {@link java.util.ServiceLoader} (register the
 * implementation in {@code META-INF/services/dev.tessera.runtime.Backend}). Adding a backend means
 * implementing this interface, not editing the models.
 *
 * <p>{@link Ops} validates every argument (shapes, dtypes, devices, open tensors) before calling a
 * backend; op methods receive contiguous tensors on this backend's device, with {@code out} already
 * allocated with the right shape and dtype, unless the method says otherwise.
 *
 * <p><b>A service provider interface, not an API for applications:</b> its op methods trust those preconditions
 * and check nothing (sizes included), so a direct call with tensors that break them reads or writes outside their
 * memory. Applications use {@link Ops}, {@link Tensor} and the other op classes, which check; this interface's
 * memory counters ({@link #memoryStats}) are the exception, safe to read.
 */
public interface Backend {
    /** Whether the backend can run here, and if not why. */
    record Availability(boolean available, String reason) {
        public static Availability yes() {
            return new Availability(true, "");
        }

        public static Availability no(String reason) {
            return new Availability(false, reason);
        }
    }

    /** Memory counters of one device, in bytes. */
    record MemoryStats(long allocatedBytes, long reservedBytes, long peakAllocatedBytes, long allocations) {}

    /** Matrix precision on backends that have a choice (fp32 operands only). */
    enum MatmulPrecision { FP32, TF32 }

    String name();

    Device.Type deviceType();

    /** Higher wins in {@link Backends#best()}. */
    int priority();

    Availability availability();

    int deviceCount();

    // ---- memory

    Storage allocate(Device device, long bytes);

    /** Called once when the last reference to {@code storage} is released. */
    void free(Storage storage);

    MemoryStats memoryStats(Device device);

    /**
     * Hands the blocks this backend keeps for reuse on {@code device} (freed but cached) back to the system;
     * live tensors are untouched. Afterwards {@code memoryStats(device).reservedBytes()} equals the live bytes.
     */
    void emptyCache(Device device);

    /** Waits until all work queued on {@code device} is done. */
    void synchronize(Device device);

    void fillZero(Tensor t);

    /** Host → contiguous {@code dst} (all of it). */
    void copyFromHost(Tensor dst, HostArray src);

    /** Contiguous {@code src} → host (all of it); returns when the data is on the host. */
    void copyToHost(Tensor src, HostArray dst);

    /** Same-device copy between contiguous tensors of equal size. */
    void copy(Tensor src, Tensor dst);

    /** Gathers any view {@code src} into contiguous {@code dst} of the same shape. */
    void stridedCopy(Tensor src, Tensor dst);

    // ---- ops (see Ops for semantics)

    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    void binaryRow(BinaryOp op, Tensor x, Tensor row, Tensor out);

    /**
     * {@code out = a (op) b} with NumPy broadcasting: a and b are views (any strides) whose shapes broadcast
     * to out's (see {@link Shape#broadcastStrides}); out is contiguous and does not overlap a or b, except
     * an input with out's exact layout.
     */
    void binaryBroadcast(BinaryOp op, Tensor a, Tensor b, Tensor out);

    void affine(Tensor x, float alpha, float beta, Tensor out);

    /** gamma/beta may be null. */
    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out);

    /** gamma may be null. */
    void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out);

    void softmax(Tensor x, long causalQ, Tensor out);

    void gelu(Tensor x, boolean tanhApprox, Tensor out);

    void silu(Tensor x, Tensor out);

    void embedding(Tensor ids, Tensor table, Tensor out);

    /** out[..., c, r] = x[..., r, c]. */
    void transposeLast2(Tensor x, Tensor out);

    void convert(Tensor x, Tensor out);

    /**
     * Strided batched GEMM on row-major matrices: for each b &lt; batch,
     * {@code C_b = alpha op(A_b) op(B_b) + beta C_b}. Tensors may be views (the call uses their
     * addresses and the given leading dimensions / batch strides in elements). A, B, C share one dtype.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, int lda, long strideA,
            Tensor b, int ldb, long strideB, float beta, Tensor c, int ldc, long strideC, int batch,
            MatmulPrecision precision);

    /**
     * The packed form of a linear layer's weight [out, in] (any strides, floating) for
     * {@link #linear}, as a new tensor this backend alone interprets; null when the backend multiplies the weight
     * as stored (the default).
     */
    default Tensor packLinearWeight(Tensor weight) {
        return null;
    }

    /**
     * As {@link #packLinearWeight(Tensor)} with the elements stored as {@code storage} while the product computes in
     * the weight's dtype; null when the backend has no such form (the default, unless {@code storage} is the
     * weight's own dtype).
     */
    default Tensor packLinearWeight(Tensor weight, DType storage) {
        return storage == weight.dtype() ? packLinearWeight(weight) : null;
    }

    /**
     * The GEMM of {@link #linear} with an unpacked weight: {@code out [m, n] = x [m, k] · Wᵀ} for W [n, k] of any
     * strides with one unit stride ({@code transB}: W's rows are contiguous), leading dimensions {@code lda},
     * {@code ldb} for {@link #gemm}.
     */
    record LinearShape(int m, int n, int k, boolean transB, int lda, int ldb) {
        /** The shape of {@code x · weightᵀ}; a packed weight (null) or a weight without a unit stride is refused. */
        public static LinearShape of(String backend, Tensor x, Tensor weight) {
            if (weight == null) {
                throw new IllegalStateException(backend + " backend: linear got a packed weight it did not make");
            }
            int m = (int) x.dim(0);
            int k = (int) x.dim(1);
            int n = (int) weight.dim(0);
            long[] ws = weight.strides();
            boolean transB = ws[1] == 1 || k == 1;  // W [n, k] row-major is Bᵀ for B = Wᵀ [k, n]
            if (!transB && ws[0] != 1 && n != 1) {
                throw new IllegalArgumentException("linear: weight " + weight.describe() + " has no unit stride");
            }
            int ldb = (int) Math.max(1, transB ? Math.max(ws[0], k) : Math.max(ws[1], n));
            int lda = (int) Math.max(1, Math.max(x.strides()[0], k));
            return new LinearShape(m, n, k, transB, lda, ldb);
        }
    }

    /**
     * Fused linear layer: {@code out [m, n] = act(x · Wᵀ + bias) + residual}. {@code x} is a 2-D view [m, k] with
     * unit stride along k (rows {@code x.strides()[0]} apart); W is either {@code packed} (made by
     * {@link #packLinearWeight}, then {@code weight} is null) or {@code weight} [n, k] (any strides, then
     * {@code packed} is null); bias [n] contiguous or null; residual [m, n] contiguous or null, not overlapping
     * out; out [m, n] contiguous. All of one dtype. The default runs {@link #gemm} and then the epilogue as
     * separate ops.
     */
    default void linear(Tensor x, Tensor weight, Tensor packed, Tensor bias, FusedActivation act, Tensor residual,
            Tensor out) {
        LinearShape g = LinearShape.of(name(), x, weight);
        gemm(false, g.transB(), g.m(), g.n(), g.k(), 1f, x, g.lda(), 0, weight, g.ldb(), 0, 0f, out, g.n(), 0, 1,
                Ops.defaultMatmulPrecision());
        if (bias != null) {
            binaryRow(BinaryOp.ADD, out, bias, out);
        }
        switch (act) {
            case GELU -> gelu(out, false, out);
            case GELU_TANH -> gelu(out, true, out);
            case SILU -> silu(out, out);
            case QUICK_GELU -> unary(UnaryOp.QUICK_GELU, out, out);
            case RELU -> unary(UnaryOp.RELU, out, out);
            default -> { }
        }
        if (residual != null) {
            binary(BinaryOp.ADD, out, residual, out);
        }
    }

    // ---- ops for the model pipelines (copy between views, unary table, RoPE, last-dim reductions)

    /**
     * Copies the view {@code src} into the view {@code dst} of the same shape and dtype, element by element;
     * either may be strided (e.g. {@code dst} a slice of a KV cache). {@code dst} maps distinct indices to
     * distinct elements and does not overlap {@code src} ({@link Ops#copyInto} ensures both).
     */
    void copyStrided(Tensor src, Tensor dst);

    /** out = op(x) elementwise (x and out contiguous, same shape and dtype; out may be x). */
    void unary(UnaryOp op, Tensor x, Tensor out);

    /**
     * Rotary position embedding (Hugging Face rotate_half) of {@code x} [B, H, S, D], a view with unit stride
     * along D (other strides arbitrary), into contiguous {@code out} of x's shape and dtype; {@code cos} and
     * {@code sin} are contiguous F32 [S, D/2] (shared by the batch) or [B, S, D/2]. See {@link Ops#rope}.
     */
    void rope(Tensor x, Tensor cos, Tensor sin, Tensor out);

    /** Log-softmax over the last dim of contiguous x into contiguous out (same shape and dtype; may be x). */
    void logSoftmax(Tensor x, Tensor out);

    /** out[r] = scale · Σ_c x[r, c] over the last dim of contiguous x; out contiguous in x's dtype. */
    void sumLastDim(Tensor x, float scale, Tensor out);

    /** out (contiguous I32, one per row) = index of the maximum of each row of contiguous x (see {@link Ops#argmaxLastDim}). */
    void argmaxLastDim(Tensor x, Tensor out);

    // ==== kernel families (issue 3). Each family edits only its own region below. ====
    // ---- attention region

    /**
     * Fused scaled dot-product attention, see {@link Attention}. q [B, Hq, Sq, D], out (same shape and dtype),
     * k and v [B, Hkv, Sk, D] are views whose last dim has stride 1 and whose other strides are any (heads sliced
     * out of a fused [B, S, 3, H, D] projection, a KV cache [B, Hkv, capacity, D] sliced along the sequence, a
     * transposed [B, S, H, D] buffer); out maps distinct elements to distinct addresses and overlaps no input.
     * keyMask is a contiguous [B, Sk] I32/I64 tensor (0 = padding) or null. A backend whose kernels read fewer
     * layouts copies what they cannot read (and copies the result back into a strided out).
     */
    void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, float scale, boolean causal, Tensor out);

    // ---- end attention region
    // ---- patch embedding region

    /**
     * 2-D patch gather: x [N, C, H, W] → cols [N, lead + (H/ph)(W/pw), C·ph·pw], the first {@code lead} rows of
     * each image zero (lead = cols.dim(1) − L: room for a class token), see {@link PatchEmbedding}.
     */
    void patchify(Tensor x, int ph, int pw, Tensor cols);

    /** 1-D im2col: x [N, C, T] → cols [N, T_out, C·K], stride and zero padding (see {@link PatchEmbedding}). */
    void im2col1d(Tensor x, int kernel, int stride, int padding, Tensor cols);

    /**
     * Fused finish on out [N, R, D] after the projection GEMM wrote its rows (R = L + 1 with a class token,
     * else L): bias [D] on the projected rows, the class token [D] into row 0, then position embeddings
     * [R, D] on every row. bias, cls, pos may be null.
     */
    void patchFinish(Tensor out, Tensor bias, Tensor cls, Tensor pos);

    /** out [N, D, T] += bias [D] along D (channels-first convolution output). */
    void biasChannelsFirst(Tensor out, Tensor bias);

    // ---- end patch embedding region
    // ---- spectrogram region

    /**
     * Real forward FFT of each row (any length, O(n log n)): {@code x} fp32 [rows, n] to {@code out}
     * fp32 [rows, n/2 + 1, 2] (re, im interleaved).
     */
    void rfft(Tensor x, Tensor out);

    /**
     * Short-time spectrum of a batch of clips, optionally projected on a filterbank (see
     * {@code native/include/tessera/spectrogram.h} for the framing): {@code x} fp32 [batch, width]; clip b is
     * {@code x[b, 0 .. lengths[b])} followed by zeros up to {@code sigLen} samples; {@code window} fp32
     * [nFft]; {@code power} 1 or 2. With {@code filters} (fp32 [nMels, nFft/2+1]) {@code out} is fp32
     * [batch, nMels, nFrames], without it the spectrum [batch, nFrames, nFft/2+1]. Arguments validated
     * by {@link LogMel}.
     */
    void melSpectrogram(Tensor x, long[] lengths, long sigLen, int nFft, int hop, Tensor window, boolean center,
            long nFrames, int power, Tensor filters, Tensor out);

    /**
     * Log / Whisper finish of each clip of {@code x} fp32 [batch, ...] into {@code out} (same shape, may be
     * {@code x}): {@code y = log ? log10(max(v, floor)) : v}; if {@code clampRange > 0},
     * {@code y = max(y, max(y over the clip) - clampRange)}; {@code out = (y + add) * mul}.
     */
    void logMelFinish(Tensor x, float floor, boolean log, float clampRange, float add, float mul, Tensor out);

    // ---- end spectrogram region
    // ---- rbm region
    /**
     * The RBM kernels of this backend (Philox sampling, fused sigmoid + sample, bias gradients, update,
     * free energy): see {@link dev.tessera.runtime.rbm.RbmKernels}. The RBM API in
     * {@code dev.tessera.runtime.rbm} validates every argument and does the GEMMs with {@link #gemm}.
     */
    default dev.tessera.runtime.rbm.RbmKernels rbmKernels() {
        throw new UnsupportedOperationException("the " + name() + " backend has no RBM kernels");
    }
    // ---- end rbm region
}
