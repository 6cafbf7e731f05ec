package dev.tessera.runtime.backend;

import static dev.tessera.bindings.TesseraNative.*;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.cuda.Cublas;
import dev.tessera.bindings.cuda.CublasLt;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.bindings.jni.EpilogueNative;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.HostArray;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Shape;
import dev.tessera.runtime.Storage;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.UnaryOp;
import dev.tessera.runtime.memory.CachingAllocator;
import org.bytedeco.javacpp.Pointer;

/**
 * The CUDA backend: libtessera's CUDA kernels and cuBLAS, on one non-blocking stream per device.
 * Device memory comes from a {@link CachingAllocator} per device. F32, F16 and BF16 tensors are
 * computed natively (fp32 accumulation). Unavailable (with the reason) when libtessera has no CUDA
 * kernels, the driver is missing, or no device is visible.
 *
 * <p>Nothing on the hot path synchronises the stream except reading data back to the host: Java arrays are
 * uploaded through pinned staging buffers ({@link PinnedStaging}) without waiting for the stream, and a linear
 * layer is one cuBLAS GEMM followed by one fused epilogue pass (bias, activation, residual). With
 * {@code -Dtessera.cuda.profile=true} (or {@link #startProfiling()}) each queued op is timed with CUDA events by
 * a {@link CudaProfiler}.
 */
public final class CudaBackend implements Backend {
    private final Object lock = new Object();
    private CachingAllocator[] allocators;
    private long[] streams;
    private Cublas[] cublas;
    private CublasLt[] cublasLt;
    private PinnedStaging[] staging;
    private volatile CudaProfiler profiler = CudaProfiler.requested() ? new CudaProfiler() : null;
    private final ThreadLocal<int[]> current = ThreadLocal.withInitial(() -> new int[] {-1});

    // A/B switches of the encoder-path changes (static: they describe how the process runs)
    private static volatile boolean fusedEpilogue =
            !"false".equalsIgnoreCase(System.getProperty("tessera.cuda.fusedEpilogue"));
    private static volatile boolean useCublasLt = Boolean.getBoolean("tessera.cuda.cublasLt");
    private static volatile boolean pinnedUploads =
            !"false".equalsIgnoreCase(System.getProperty("tessera.cuda.pinnedUploads"));
    private static volatile boolean fusedMel =
            !"false".equalsIgnoreCase(System.getProperty("tessera.cuda.fusedMel"));
    private static volatile long logMelPassBytes = Long.getLong("tessera.cuda.logmelPassBytes", 1L << 30);

    /**
     * Whether {@link #linear} applies bias, activation and residual in one fused pass (default; off with
     * {@code -Dtessera.cuda.fusedEpilogue=false}: a pass per term, as before). For A/B measurements.
     */
    public static void setFusedEpilogue(boolean on) {
        fusedEpilogue = on;
    }

    /**
     * Whether {@link #linear} runs as one cuBLASLt matmul with the bias as its BIAS epilogue and the residual as
     * its C operand (then only an activation is left for the fused epilogue pass), where the operands are 256-byte
     * aligned and cuBLASLt has an algorithm; off by default (on with {@code -Dtessera.cuda.cublasLt=true}): an
     * experiment measured by {@code GpuEncoderProfile}.
     */
    public static void setCublasLt(boolean on) {
        useCublasLt = on;
    }

    /**
     * Whether copies between Java arrays and the device go through pinned staging, uploads without a stream sync
     * (default; off with {@code -Dtessera.cuda.pinnedUploads=false}: pageable memory and a sync per upload, as
     * before). For A/B measurements.
     */
    public static void setPinnedUploads(boolean on) {
        pinnedUploads = on;
    }

    /**
     * Whether the mel spectrogram's power and mel projection run as one kernel over the cuFFT output (default, for
     * spectra of up to {@code SpectrogramNative.CUDA_MEL_MAX_BINS} bins: n_fft up to 743; off with
     * {@code -Dtessera.cuda.fusedMel=false}: a power kernel, then a strided-batched cuBLAS GEMM, as before). For A/B
     * measurements.
     */
    public static void setFusedMel(boolean on) {
        fusedMel = on;
    }

    static boolean fusedMel() {
        return fusedMel;
    }

    /**
     * Device memory a mel spectrogram's temporaries (frames, their spectrum) may take at once: a larger batch runs in
     * passes of whole clips (default 1 GiB, 89 clips of 30 s; {@code -Dtessera.cuda.logmelPassBytes=N}). The
     * features do not depend on it.
     */
    public static void setLogMelPassBytes(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("log-mel pass budget must be >= 1 byte, got " + bytes);
        }
        logMelPassBytes = bytes;
    }

    static long logMelPassBytes() {
        return logMelPassBytes;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Device.Type deviceType() {
        return Device.Type.CUDA;
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public Availability availability() {
        CudaRuntime.Availability a = CudaRuntime.availability();
        return a.available() ? Availability.yes() : Availability.no(a.reason());
    }

    @Override
    public int deviceCount() {
        return CudaRuntime.availability().deviceCount();
    }

    private void init() {
        synchronized (lock) {
            if (allocators == null) {
                CudaRuntime.requireAvailable();
                int n = deviceCount();
                CachingAllocator[] al = new CachingAllocator[n];
                for (int i = 0; i < n; i++) {
                    final int dev = i;
                    al[i] = new CachingAllocator(new CachingAllocator.Raw() {
                        @Override
                        public long malloc(long bytes) {
                            CudaRuntime.setDevice(dev);
                            return CudaRuntime.malloc(bytes);
                        }

                        @Override
                        public void free(long address) {
                            CudaRuntime.setDevice(dev);
                            CudaRuntime.free(address);
                        }
                    });
                }
                streams = new long[n];
                cublas = new Cublas[n];
                cublasLt = new CublasLt[n];
                PinnedStaging[] st = new PinnedStaging[n];
                for (int i = 0; i < n; i++) {
                    st[i] = new PinnedStaging(i);
                }
                staging = st;
                allocators = al;
            }
        }
    }

    /** Makes the device current on this thread (both runtimes) and returns its stream. */
    private long enter(Device d) {
        init();
        int[] cur = current.get();
        if (cur[0] != d.index()) {
            CudaRuntime.setDevice(d.index());
            cur[0] = d.index();
        }
        synchronized (lock) {
            if (streams[d.index()] == 0) {
                streams[d.index()] = CudaRuntime.streamCreate();
            }
            return streams[d.index()];
        }
    }

    /** The stream ops on {@code device} are queued on. */
    public long stream(Device device) {
        return enter(device);
    }

    /** The op profiler, or null unless {@code -Dtessera.cuda.profile=true} or {@link #startProfiling()}. */
    public CudaProfiler profiler() {
        return profiler;
    }

    /**
     * Starts timing every queued op with CUDA events (see {@link CudaProfiler}) and returns the profiler (the
     * running one if profiling is already on).
     */
    public synchronized CudaProfiler startProfiling() {
        if (profiler == null) {
            profiler = new CudaProfiler();
        }
        return profiler;
    }

    /** Stops timing ops (the profiler's totals stay readable). */
    public synchronized void stopProfiling() {
        profiler = null;
    }

    /** Starts timing a queued op when profiling is on (null otherwise); {@link #end} names it. */
    long[] begin(long stream) {
        CudaProfiler p = profiler;
        return p == null ? null : p.begin(stream);
    }

    void end(long[] mark, String kind) {
        CudaProfiler p = profiler;
        if (mark != null && p != null) {
            p.end(kind, mark);
        }
    }

    /** The allocator of {@code device} (for statistics and {@code emptyCache}). */
    public CachingAllocator allocator(Device device) {
        init();
        return allocators[device.index()];
    }

    // ------------------------------------------------------------------ memory

    @Override
    public Storage allocate(Device device, long bytes) {
        long stream = enter(device);
        CachingAllocator.Block b = allocators[device.index()].allocate(bytes, stream);
        return new Storage(this, device, b.address(), bytes, b);
    }

    @Override
    public void free(Storage storage) {
        allocators[storage.device().index()].release((CachingAllocator.Block) storage.handle());
    }

    @Override
    public MemoryStats memoryStats(Device device) {
        CachingAllocator a = allocator(device);
        return new MemoryStats(a.allocatedBytes(), a.reservedBytes(), a.peakAllocatedBytes(), a.rawMallocs());
    }

    @Override
    public void emptyCache(Device device) {
        enter(device); // the device current on this thread: the cached blocks are freed on it
        allocator(device).emptyCache();
    }

    @Override
    public void synchronize(Device device) {
        CudaRuntime.streamSynchronize(enter(device));
    }

    @Override
    public void fillZero(Tensor t) {
        long s = enter(t.device());
        long[] p = begin(s);
        CudaRuntime.memset(t.address(), 0, t.numel() * t.dtype().size(), s);
        end(p, "memset");
    }

    /**
     * Host → device. A native source (off-heap, possibly pinned by its owner) is copied directly and the stream
     * synchronised, as before. A Java array goes through a pinned staging buffer: the array is copied into it,
     * the DMA transfer is queued, and the call returns without waiting (the array may be reused at once).
     */
    @Override
    public void copyFromHost(Tensor dst, HostArray src) {
        src.requireSize(dst);
        long bytes = src.bytes();
        long stream = enter(dst.device());
        if (bytes == 0) {
            return;
        }
        if (src.isNative()) {
            long[] p = begin(stream);
            CudaRuntime.copyHostToDevice(dst.address(), src.address(), bytes, stream);
            end(p, "copy H2D");
            CudaRuntime.streamSynchronize(stream);
            return;
        }
        PinnedStaging st = staging[dst.device().index()];
        PinnedStaging.Buffer b = pinnedUploads ? st.acquire(bytes) : null;
        if (b != null) {
            boolean queued = false;
            try {
                src.copyTo(b.address());
                long[] p = begin(stream);
                CudaRuntime.copyHostToDevice(dst.address(), b.address(), bytes, stream);
                end(p, "copy H2D (pinned)");
                queued = true;
            } finally {
                if (queued) {
                    st.release(b, stream);
                } else {
                    st.releaseIdle(b);
                }
            }
            return;
        }
        Pointer pageable = Pointer.malloc(Math.max(bytes, 1));
        try {
            src.copyTo(pageable.address());
            long[] p = begin(stream);
            CudaRuntime.copyHostToDevice(dst.address(), pageable.address(), bytes, stream);
            end(p, "copy H2D (pageable)");
            CudaRuntime.streamSynchronize(stream);
        } finally {
            Pointer.free(pageable);
        }
    }

    /** Device → host; waits for the stream (the data is needed now), through pinned staging for Java arrays. */
    @Override
    public void copyToHost(Tensor src, HostArray dst) {
        dst.requireSize(src);
        long bytes = dst.bytes();
        long stream = enter(src.device());
        if (bytes == 0) {
            return;
        }
        if (dst.isNative()) {
            long[] p = begin(stream);
            CudaRuntime.copyDeviceToHost(dst.address(), src.address(), bytes, stream);
            end(p, "copy D2H");
            CudaRuntime.streamSynchronize(stream);
            return;
        }
        PinnedStaging st = staging[src.device().index()];
        PinnedStaging.Buffer b = pinnedUploads ? st.acquire(bytes) : null;
        if (b != null) {
            try {
                long[] p = begin(stream);
                CudaRuntime.copyDeviceToHost(b.address(), src.address(), bytes, stream);
                end(p, "copy D2H (pinned)");
                CudaRuntime.streamSynchronize(stream);
                dst.copyFrom(b.address());
            } finally {
                st.releaseIdle(b);
            }
            return;
        }
        Pointer pageable = Pointer.malloc(Math.max(bytes, 1));
        try {
            long[] p = begin(stream);
            CudaRuntime.copyDeviceToHost(pageable.address(), src.address(), bytes, stream);
            end(p, "copy D2H (pageable)");
            CudaRuntime.streamSynchronize(stream);
            dst.copyFrom(pageable.address());
        } finally {
            Pointer.free(pageable);
        }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        long s = enter(src.device());
        long[] p = begin(s);
        CudaRuntime.copyDeviceToDevice(dst.address(), src.address(), src.numel() * src.dtype().size(), s);
        end(p, "copy D2D");
    }

    @Override
    public void stridedCopy(Tensor src, Tensor dst) {
        long[] shape = src.shape();
        long s = enter(src.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_strided_copy(src.address(), dst.address(), shape.length, shape, src.strides(),
                src.dtype().size(), s), "tsr_cuda_strided_copy");
        end(p, "strided copy to contiguous");
    }

    // ------------------------------------------------------------------ ops

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        long s = enter(a.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_binary(op.code(), a.dtype().code(), a.address(), b.address(), out.address(),
                a.numel(), s), "tsr_cuda_binary");
        end(p, "binary " + op);
    }

    @Override
    public void binaryRow(BinaryOp op, Tensor x, Tensor row, Tensor out) {
        long cols = row.numel();
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_binary_row(op.code(), x.dtype().code(), x.address(), row.address(), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, s), "tsr_cuda_binary_row");
        end(p, "binary row " + op);
    }

    @Override
    public void binaryBroadcast(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        long[] shape = out.shape();
        long s = enter(a.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_binary_strided(op.code(), a.dtype().code(), a.address(),
                Shape.broadcastStrides(a.shape(), a.strides(), shape), b.address(),
                Shape.broadcastStrides(b.shape(), b.strides(), shape), out.address(), shape.length, shape,
                s), "tsr_cuda_binary_strided");
        end(p, "binary broadcast " + op);
    }

    @Override
    public void affine(Tensor x, float alpha, float beta, Tensor out) {
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_affine(x.dtype().code(), x.address(), alpha, beta, out.address(), x.numel(),
                s), "tsr_cuda_affine");
        end(p, "affine");
    }

    private static long addr(Tensor t) {
        return t == null ? 0 : t.address();
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        long cols = x.dim(-1);
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_layer_norm(x.dtype().code(), x.address(), addr(gamma), addr(beta), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, eps, s), "tsr_cuda_layer_norm");
        end(p, "layer norm");
    }

    @Override
    public void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        long cols = x.dim(-1);
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_rms_norm(x.dtype().code(), x.address(), addr(gamma), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, eps, s), "tsr_cuda_rms_norm");
        end(p, "rms norm");
    }

    @Override
    public void softmax(Tensor x, long causalQ, Tensor out) {
        long cols = x.dim(-1);
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_softmax(x.dtype().code(), x.address(), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, causalQ, s), "tsr_cuda_softmax");
        end(p, "softmax");
    }

    @Override
    public void gelu(Tensor x, boolean tanhApprox, Tensor out) {
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_gelu(x.dtype().code(), x.address(), out.address(), x.numel(), tanhApprox ? 1 : 0,
                s), "tsr_cuda_gelu");
        end(p, "gelu");
    }

    @Override
    public void silu(Tensor x, Tensor out) {
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_silu(x.dtype().code(), x.address(), out.address(), x.numel(), s), "tsr_cuda_silu");
        end(p, "silu");
    }

    @Override
    public void embedding(Tensor ids, Tensor table, Tensor out) {
        long stream = enter(ids.device());
        try (Tensor bad = Tensor.empty(DType.I64, ids.device(), 1)) {
            long[] p = begin(stream);
            CudaRuntime.memset(bad.address(), 0xFF, 8, stream); // -1
            NativeStatus.check(tsr_cuda_embedding(table.dtype().code(), ids.address(), ids.dtype().code(),
                    table.address(), out.address(), ids.numel(), table.dim(0), table.dim(1), bad.address(), stream),
                    "tsr_cuda_embedding");
            end(p, "embedding");
            long[] pos = new long[1];
            copyToHost(bad, HostArray.of(pos));
            if (pos[0] >= 0) {
                throw new IndexOutOfBoundsException("embedding: id at position " + pos[0] + " of " + ids.describe()
                        + " is outside the vocabulary [0, " + table.dim(0) + ")");
            }
        }
    }

    @Override
    public void transposeLast2(Tensor x, Tensor out) {
        long rows = x.dim(-2);
        long cols = x.dim(-1);
        long batch = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_transpose(x.address(), out.address(), batch, rows, cols, x.dtype().size(),
                s), "tsr_cuda_transpose");
        end(p, "transpose");
    }

    @Override
    public void convert(Tensor x, Tensor out) {
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_convert(x.address(), x.dtype().code(), out.address(), out.dtype().code(),
                x.numel(), s), "tsr_cuda_convert");
        end(p, "convert");
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, int lda,
            long strideA, Tensor b, int ldb, long strideB, float beta, Tensor c, int ldc, long strideC, int batch,
            MatmulPrecision precision) {
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        long stream = enter(a.device());
        Cublas.Type type = a.dtype() == DType.F32 ? Cublas.Type.F32
                : a.dtype() == DType.F16 ? Cublas.Type.F16 : Cublas.Type.BF16;
        Cublas.Math math = precision == MatmulPrecision.TF32 ? Cublas.Math.TF32 : Cublas.Math.FP32;
        Cublas h = handle(a.device());
        long[] p = begin(stream);
        synchronized (h) {
            h.gemmStridedBatched(transA, transB, m, n, k, alpha, a.address(), lda, strideA, b.address(), ldb, strideB,
                    beta, c.address(), ldc, strideC, batch, type, math, stream);
        }
        if (p != null) {
            end(p, "gemm " + a.dtype().name().toLowerCase(java.util.Locale.ROOT)
                    + (type == Cublas.Type.F32 ? "/" + math.name().toLowerCase(java.util.Locale.ROOT) : "")
                    + (batch > 1 ? " " + batch + "x" : " ") + m + "x" + n + "x" + k);
        }
    }

    /**
     * One cuBLAS GEMM into {@code out}, then (when there is a bias, an activation or a residual) one fused epilogue
     * pass {@code out = act(out + bias) + residual} in fp32 ({@code tessera/epilogue.h}) instead of a separate pass
     * per term. CUDA has no packed weight form ({@link #packLinearWeight} is null), so {@code weight} is set.
     */
    @Override
    public void linear(Tensor x, Tensor weight, Tensor packed, Tensor bias, FusedActivation act, Tensor residual,
            Tensor out) {
        if (!fusedEpilogue) {
            Backend.super.linear(x, weight, packed, bias, act, residual, out);
            return;
        }
        LinearShape g = LinearShape.of(name(), x, weight);
        int m = g.m();
        int n = g.n();
        FusedActivation a = act == null ? FusedActivation.NONE : act;
        // cuBLASLt (opt-in) does the product itself, with bias (and residual) in its epilogue
        if (useCublasLt && linearLt(x, g.lda(), weight, g.ldb(), g.transB(), m, n, g.k(), bias, a, residual, out)) {
            return;
        }
        gemm(false, g.transB(), m, n, g.k(), 1f, x, g.lda(), 0, weight, g.ldb(), 0, 0f, out, n, 0, 1,
                Ops.defaultMatmulPrecision());
        if (bias == null && residual == null && a == FusedActivation.NONE) {
            return;
        }
        long s = enter(out.device());
        long[] p = begin(s);
        NativeStatus.check(EpilogueNative.tsr_cuda_linear_epilogue(out.dtype().code(), out.address(), addr(bias),
                a.code(), addr(residual), m, n, s), "tsr_cuda_linear_epilogue");
        if (p != null) {
            end(p, "linear epilogue" + (bias != null ? " +bias" : "") + (a != FusedActivation.NONE
                    ? " " + a.name().toLowerCase(java.util.Locale.ROOT) : "") + (residual != null ? " +residual" : ""));
        }
    }

    /** {@link #linear} through cuBLASLt (see {@link #setCublasLt}); false when cuBLASLt declined the call. */
    private boolean linearLt(Tensor x, int lda, Tensor weight, int ldb, boolean wNK, int m, int n, int k, Tensor bias,
            FusedActivation a, Tensor residual, Tensor out) {
        long stream = enter(out.device());
        Cublas.Type type = x.dtype() == DType.F32 ? Cublas.Type.F32
                : x.dtype() == DType.F16 ? Cublas.Type.F16 : Cublas.Type.BF16;
        Cublas.Math math = Ops.defaultMatmulPrecision() == MatmulPrecision.TF32 ? Cublas.Math.TF32 : Cublas.Math.FP32;
        boolean ltResidual = residual != null && a == FusedActivation.NONE;
        CublasLt lt = ltHandle(out.device());
        long[] p = begin(stream);
        boolean served;
        synchronized (lt) {
            served = lt.linear(type, math, m, n, k, x.address(), lda, weight.address(), ldb, wNK, addr(bias),
                    ltResidual ? residual.address() : 0, out.address(), stream);
        }
        if (p != null) {
            end(p, served ? "cublasLt " + x.dtype().name().toLowerCase(java.util.Locale.ROOT) + " " + m + "x" + n
                    + "x" + k + (bias != null ? " +bias" : "") + (ltResidual ? " +residual" : "") : "cublasLt declined");
        }
        if (!served) {
            return false;
        }
        if (a != FusedActivation.NONE || (residual != null && !ltResidual)) {
            long[] q = begin(stream);
            NativeStatus.check(EpilogueNative.tsr_cuda_linear_epilogue(out.dtype().code(), out.address(), 0,
                    a.code(), ltResidual ? 0 : addr(residual), m, n, stream), "tsr_cuda_linear_epilogue");
            if (q != null) {
                end(q, "linear epilogue" + (a != FusedActivation.NONE ? " " + a.name().toLowerCase(java.util.Locale.ROOT)
                        : "") + (residual != null && !ltResidual ? " +residual" : ""));
            }
        }
        return true;
    }

    private CublasLt ltHandle(Device d) {
        synchronized (lock) {
            if (cublasLt[d.index()] == null) {
                cublasLt[d.index()] = new CublasLt(d.index(), 32L << 20);
            }
            return cublasLt[d.index()];
        }
    }

    private Cublas handle(Device d) {
        synchronized (lock) {
            if (cublas[d.index()] == null) {
                cublas[d.index()] = new Cublas(d.index());
            }
            return cublas[d.index()];
        }
    }

    // ------------------------------------------------------------------ ops for the model pipelines

    @Override
    public void copyStrided(Tensor src, Tensor dst) {
        long[] shape = src.shape();
        long s = enter(src.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_copy_strided(src.address(), src.strides(), dst.address(), dst.strides(),
                shape.length, shape, src.dtype().size(), s), "tsr_cuda_copy_strided");
        end(p, "strided copy view to view");
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_unary(op.code(), x.dtype().code(), x.address(), out.address(), x.numel(),
                s), "tsr_cuda_unary");
        end(p, "unary " + op);
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        long[] st = x.strides();
        long[] d = x.shape();
        long csBatch = cos.rank() == 3 ? cos.dim(1) * cos.dim(2) : 0;
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_rope(x.dtype().code(), x.address(), st[0], st[1], st[2], cos.address(),
                sin.address(), csBatch, out.address(), d[0], d[1], d[2], d[3], s), "tsr_cuda_rope");
        end(p, "rope");
    }

    @Override
    public void logSoftmax(Tensor x, Tensor out) {
        long cols = x.dim(-1);
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_log_softmax(x.dtype().code(), x.address(), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, s), "tsr_cuda_log_softmax");
        end(p, "log softmax");
    }

    @Override
    public void sumLastDim(Tensor x, float scale, Tensor out) {
        long cols = x.rank() == 0 ? 1 : x.dim(-1);
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_sum_rows(x.dtype().code(), x.address(), out.address(), out.numel(), cols, scale,
                s), "tsr_cuda_sum_rows");
        end(p, "sum rows");
    }

    @Override
    public void argmaxLastDim(Tensor x, Tensor out) {
        long s = enter(x.device());
        long[] p = begin(s);
        NativeStatus.check(tsr_cuda_argmax_rows(x.dtype().code(), x.address(), out.address(), out.numel(), x.dim(-1),
                s), "tsr_cuda_argmax_rows");
        end(p, "argmax rows");
    }

    // ==== kernel families (issue 3). Each family edits only its own region below. ====
    // ---- attention region

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, float scale, boolean causal, Tensor out) {
        // the copies the kernels need (CudaAttention.Layout) are queued, and profiled, as ops of their own
        try (CudaAttention.Layout in = new CudaAttention.Layout(q, k, v, out)) {
            long s = enter(q.device());
            long[] p = begin(s);
            CudaAttention.attention(in.q, in.k, in.v, in.kvCapacity, keyMask, scale, causal, in.out, s);
            if (p != null) {
                end(p, "attention " + q.dtype().name().toLowerCase(java.util.Locale.ROOT) + " b" + q.dim(0) + " h"
                        + q.dim(1) + "/" + k.dim(1) + " q" + q.dim(2) + " k" + k.dim(2) + " d" + q.dim(3)
                        + (causal ? " causal" : "") + (keyMask != null ? " masked" : ""));
            }
            in.finish();
        }
    }

    // ---- end attention region
    // ---- patch embedding region

    @Override
    public void patchify(Tensor x, int ph, int pw, Tensor cols) {
        long s = enter(x.device());
        long[] p = begin(s);
        CudaPatchEmbed.patchify(x, ph, pw, cols, s);
        end(p, "patchify");
    }

    @Override
    public void im2col1d(Tensor x, int kernel, int stride, int padding, Tensor cols) {
        long s = enter(x.device());
        long[] p = begin(s);
        CudaPatchEmbed.im2col1d(x, kernel, stride, padding, cols, s);
        end(p, "im2col 1d");
    }

    @Override
    public void patchFinish(Tensor out, Tensor bias, Tensor cls, Tensor pos) {
        long s = enter(out.device());
        long[] p = begin(s);
        CudaPatchEmbed.finish(out, bias, cls, pos, s);
        end(p, "patch finish");
    }

    @Override
    public void biasChannelsFirst(Tensor out, Tensor bias) {
        long s = enter(out.device());
        long[] p = begin(s);
        CudaPatchEmbed.biasChannelsFirst(out, bias, s);
        end(p, "bias channels first");
    }

    // ---- end patch embedding region
    // ---- spectrogram region
    private final CudaSpectrogram spectrogram = new CudaSpectrogram(this);

    @Override
    public void rfft(Tensor x, Tensor out) {
        spectrogram.rfft(x, out);
    }

    @Override
    public void melSpectrogram(Tensor x, long[] lengths, long sigLen, int nFft, int hop, Tensor window,
            boolean center, long nFrames, int power, Tensor filters, Tensor out) {
        spectrogram.melSpectrogram(x, lengths, sigLen, nFft, hop, window, center, nFrames, power, filters, out);
    }

    @Override
    public void logMelFinish(Tensor x, float floor, boolean log, float clampRange, float add, float mul, Tensor out) {
        spectrogram.logMelFinish(x, floor, log, clampRange, add, mul, out);
    }

    // ---- end spectrogram region
    // ---- rbm region
    private final CudaRbmKernels rbmKernels = new CudaRbmKernels(this);

    @Override
    public dev.tessera.runtime.rbm.RbmKernels rbmKernels() {
        return rbmKernels;
    }
    // ---- end rbm region
}
