package dev.tessera.runtime.backend;

import static dev.tessera.bindings.TesseraNative.*;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.cuda.Cublas;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.HostArray;
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
 */
public final class CudaBackend implements Backend {
    private final Object lock = new Object();
    private CachingAllocator[] allocators;
    private long[] streams;
    private Cublas[] cublas;
    private final ThreadLocal<int[]> current = ThreadLocal.withInitial(() -> new int[] {-1});

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
    public void synchronize(Device device) {
        CudaRuntime.streamSynchronize(enter(device));
    }

    @Override
    public void fillZero(Tensor t) {
        CudaRuntime.memset(t.address(), 0, t.numel() * t.dtype().size(), enter(t.device()));
    }

    @Override
    public void copyFromHost(Tensor dst, HostArray src) {
        src.requireSize(dst);
        long bytes = src.bytes();
        long stream = enter(dst.device());
        if (src.isNative()) {
            CudaRuntime.copyHostToDevice(dst.address(), src.address(), bytes, stream);
            CudaRuntime.streamSynchronize(stream);
            return;
        }
        Pointer staging = Pointer.malloc(Math.max(bytes, 1));
        try {
            src.copyTo(staging.address());
            CudaRuntime.copyHostToDevice(dst.address(), staging.address(), bytes, stream);
            CudaRuntime.streamSynchronize(stream);
        } finally {
            Pointer.free(staging);
        }
    }

    @Override
    public void copyToHost(Tensor src, HostArray dst) {
        dst.requireSize(src);
        long bytes = dst.bytes();
        long stream = enter(src.device());
        if (dst.isNative()) {
            CudaRuntime.copyDeviceToHost(dst.address(), src.address(), bytes, stream);
            CudaRuntime.streamSynchronize(stream);
            return;
        }
        Pointer staging = Pointer.malloc(Math.max(bytes, 1));
        try {
            CudaRuntime.copyDeviceToHost(staging.address(), src.address(), bytes, stream);
            CudaRuntime.streamSynchronize(stream);
            dst.copyFrom(staging.address());
        } finally {
            Pointer.free(staging);
        }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CudaRuntime.copyDeviceToDevice(dst.address(), src.address(), src.numel() * src.dtype().size(),
                enter(src.device()));
    }

    @Override
    public void stridedCopy(Tensor src, Tensor dst) {
        long[] shape = src.shape();
        NativeStatus.check(tsr_cuda_strided_copy(src.address(), dst.address(), shape.length, shape, src.strides(),
                src.dtype().size(), enter(src.device())), "tsr_cuda_strided_copy");
    }

    // ------------------------------------------------------------------ ops

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        NativeStatus.check(tsr_cuda_binary(op.code(), a.dtype().code(), a.address(), b.address(), out.address(),
                a.numel(), enter(a.device())), "tsr_cuda_binary");
    }

    @Override
    public void binaryRow(BinaryOp op, Tensor x, Tensor row, Tensor out) {
        long cols = row.numel();
        NativeStatus.check(tsr_cuda_binary_row(op.code(), x.dtype().code(), x.address(), row.address(), out.address(),
                x.numel() / cols, cols, enter(x.device())), "tsr_cuda_binary_row");
    }

    @Override
    public void binaryBroadcast(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        long[] shape = out.shape();
        NativeStatus.check(tsr_cuda_binary_strided(op.code(), a.dtype().code(), a.address(),
                Shape.broadcastStrides(a.shape(), a.strides(), shape), b.address(),
                Shape.broadcastStrides(b.shape(), b.strides(), shape), out.address(), shape.length, shape,
                enter(a.device())), "tsr_cuda_binary_strided");
    }

    @Override
    public void affine(Tensor x, float alpha, float beta, Tensor out) {
        NativeStatus.check(tsr_cuda_affine(x.dtype().code(), x.address(), alpha, beta, out.address(), x.numel(),
                enter(x.device())), "tsr_cuda_affine");
    }

    private static long addr(Tensor t) {
        return t == null ? 0 : t.address();
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        long cols = x.dim(-1);
        NativeStatus.check(tsr_cuda_layer_norm(x.dtype().code(), x.address(), addr(gamma), addr(beta), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, eps, enter(x.device())), "tsr_cuda_layer_norm");
    }

    @Override
    public void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        long cols = x.dim(-1);
        NativeStatus.check(tsr_cuda_rms_norm(x.dtype().code(), x.address(), addr(gamma), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, eps, enter(x.device())), "tsr_cuda_rms_norm");
    }

    @Override
    public void softmax(Tensor x, long causalQ, Tensor out) {
        long cols = x.dim(-1);
        NativeStatus.check(tsr_cuda_softmax(x.dtype().code(), x.address(), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, causalQ, enter(x.device())), "tsr_cuda_softmax");
    }

    @Override
    public void gelu(Tensor x, boolean tanhApprox, Tensor out) {
        NativeStatus.check(tsr_cuda_gelu(x.dtype().code(), x.address(), out.address(), x.numel(), tanhApprox ? 1 : 0,
                enter(x.device())), "tsr_cuda_gelu");
    }

    @Override
    public void silu(Tensor x, Tensor out) {
        NativeStatus.check(tsr_cuda_silu(x.dtype().code(), x.address(), out.address(), x.numel(), enter(x.device())),
                "tsr_cuda_silu");
    }

    @Override
    public void embedding(Tensor ids, Tensor table, Tensor out) {
        long stream = enter(ids.device());
        try (Tensor bad = Tensor.empty(DType.I64, ids.device(), 1)) {
            CudaRuntime.memset(bad.address(), 0xFF, 8, stream); // -1
            NativeStatus.check(tsr_cuda_embedding(table.dtype().code(), ids.address(), ids.dtype().code(),
                    table.address(), out.address(), ids.numel(), table.dim(0), table.dim(1), bad.address(), stream),
                    "tsr_cuda_embedding");
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
        NativeStatus.check(tsr_cuda_transpose(x.address(), out.address(), batch, rows, cols, x.dtype().size(),
                enter(x.device())), "tsr_cuda_transpose");
    }

    @Override
    public void convert(Tensor x, Tensor out) {
        NativeStatus.check(tsr_cuda_convert(x.address(), x.dtype().code(), out.address(), out.dtype().code(),
                x.numel(), enter(x.device())), "tsr_cuda_convert");
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
        synchronized (h) {
            h.gemmStridedBatched(transA, transB, m, n, k, alpha, a.address(), lda, strideA, b.address(), ldb, strideB,
                    beta, c.address(), ldc, strideC, batch, type, math, stream);
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
        NativeStatus.check(tsr_cuda_copy_strided(src.address(), src.strides(), dst.address(), dst.strides(),
                shape.length, shape, src.dtype().size(), enter(src.device())), "tsr_cuda_copy_strided");
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        NativeStatus.check(tsr_cuda_unary(op.code(), x.dtype().code(), x.address(), out.address(), x.numel(),
                enter(x.device())), "tsr_cuda_unary");
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        long[] st = x.strides();
        long[] d = x.shape();
        long csBatch = cos.rank() == 3 ? cos.dim(1) * cos.dim(2) : 0;
        NativeStatus.check(tsr_cuda_rope(x.dtype().code(), x.address(), st[0], st[1], st[2], cos.address(),
                sin.address(), csBatch, out.address(), d[0], d[1], d[2], d[3], enter(x.device())), "tsr_cuda_rope");
    }

    @Override
    public void logSoftmax(Tensor x, Tensor out) {
        long cols = x.dim(-1);
        NativeStatus.check(tsr_cuda_log_softmax(x.dtype().code(), x.address(), out.address(),
                cols == 0 ? 0 : x.numel() / cols, cols, enter(x.device())), "tsr_cuda_log_softmax");
    }

    @Override
    public void sumLastDim(Tensor x, float scale, Tensor out) {
        long cols = x.rank() == 0 ? 1 : x.dim(-1);
        NativeStatus.check(tsr_cuda_sum_rows(x.dtype().code(), x.address(), out.address(), out.numel(), cols, scale,
                enter(x.device())), "tsr_cuda_sum_rows");
    }

    @Override
    public void argmaxLastDim(Tensor x, Tensor out) {
        NativeStatus.check(tsr_cuda_argmax_rows(x.dtype().code(), x.address(), out.address(), out.numel(), x.dim(-1),
                enter(x.device())), "tsr_cuda_argmax_rows");
    }

    // ==== kernel families (issue 3). Each family edits only its own region below. ====
    // ---- attention region

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, long kvCapacity, Tensor keyMask, float scale, boolean causal,
            Tensor out) {
        CudaAttention.attention(q, k, v, kvCapacity, keyMask, scale, causal, out, enter(q.device()));
    }

    // ---- end attention region
    // ---- patch embedding region

    @Override
    public void patchify(Tensor x, int ph, int pw, Tensor cols) {
        CudaPatchEmbed.patchify(x, ph, pw, cols, enter(x.device()));
    }

    @Override
    public void im2col1d(Tensor x, int kernel, int stride, int padding, Tensor cols) {
        CudaPatchEmbed.im2col1d(x, kernel, stride, padding, cols, enter(x.device()));
    }

    @Override
    public void patchFinish(Tensor out, Tensor bias, Tensor cls, Tensor pos) {
        CudaPatchEmbed.finish(out, bias, cls, pos, enter(out.device()));
    }

    @Override
    public void biasChannelsFirst(Tensor out, Tensor bias) {
        CudaPatchEmbed.biasChannelsFirst(out, bias, enter(out.device()));
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
