package dev.tessera.runtime;

/**
 * A table of ops for one kind of device, found by {@link java.util.ServiceLoader} (register the
 * implementation in {@code META-INF/services/dev.tessera.runtime.Backend}). Adding a backend means
 * implementing this interface, not editing the models.
 *
 * <p>{@link Ops} validates every argument (shapes, dtypes, devices, open tensors) before calling a
 * backend; op methods receive contiguous tensors on this backend's device, with {@code out} already
 * allocated with the right shape and dtype, unless the method says otherwise.
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

    // ==== kernel families (issue 3). Each family edits only its own region below. ====
    // ---- attention region

    // ---- end attention region
    // ---- patch embedding region

    // ---- end patch embedding region
    // ---- spectrogram region

    // ---- end spectrogram region
    // ---- rbm region

    // ---- end rbm region
}
