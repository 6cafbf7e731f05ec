package dev.tessera.runtime.backend;

import static dev.tessera.bindings.TesseraNative.*;

import dev.tessera.bindings.Addresses;
import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.bindings.jni.GemmNative;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.FusedActivation;
import dev.tessera.runtime.HostArray;
import dev.tessera.runtime.Shape;
import dev.tessera.runtime.Storage;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.UnaryOp;
import dev.tessera.runtime.memory.HostBlockCache;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU backend: libtessera's C++ kernels (AVX2/AVX-512, threaded) and OpenBLAS for GEMM. Computes
 * in fp32; F16/BF16 tensors are converted to fp32 around each op. Host memory is 64-byte aligned; freed blocks of
 * 128 KiB and more are cached for reuse ({@link HostBlockCache}, {@code -Dtessera.cpu.cacheBytes}).
 */
public final class CpuBackend implements Backend {
    private static final int ALIGN = 64;

    /** Most bytes of freed large blocks kept for reuse ({@code -Dtessera.cpu.cacheBytes}, default 512 MiB; 0: none). */
    private static final long CACHE_BYTES = Long.getLong("tessera.cpu.cacheBytes", 512L << 20);

    private final AtomicLong allocated = new AtomicLong();
    private final HostBlockCache blocks = new HostBlockCache(new HostBlockCache.Raw() {
        @Override
        public long malloc(long bytes) {
            return tsr_host_alloc(bytes); // blocks of 2 MiB and up: huge-page aligned, see tessera.h
        }

        @Override
        public void free(long address) {
            tsr_host_free(address);
        }
    }, Math.max(0, CACHE_BYTES));
    private final AtomicLong peak = new AtomicLong();
    private final AtomicLong allocations = new AtomicLong();
    private volatile Availability availability;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Device.Type deviceType() {
        return Device.Type.CPU;
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            try {
                NativeLibrary.load();
                a = Availability.yes();
            } catch (UnsatisfiedLinkError e) {
                a = Availability.no(e.getMessage());
            }
            availability = a;
        }
        return a;
    }

    @Override
    public int deviceCount() {
        return 1;
    }

    // ------------------------------------------------------------------ memory

    @Override
    public Storage allocate(Device device, long bytes) {
        long raw = blocks.allocate(Math.max(bytes, 1) + ALIGN);
        if (raw == 0) {
            throw new OutOfMemoryError("could not allocate " + bytes + " bytes of host memory");
        }
        long aligned = (raw + ALIGN - 1) & -ALIGN;
        long now = allocated.addAndGet(bytes);
        peak.accumulateAndGet(now, Math::max);
        allocations.incrementAndGet();
        return new Storage(this, Device.CPU, aligned, bytes, raw);
    }

    @Override
    public void free(Storage storage) {
        blocks.release((Long) storage.handle(), Math.max(storage.bytes(), 1) + ALIGN);
        allocated.addAndGet(-storage.bytes());
    }

    @Override
    public MemoryStats memoryStats(Device device) {
        long a = allocated.get();
        return new MemoryStats(a, a + blocks.cachedBytes(), peak.get(), allocations.get());
    }

    @Override
    public void emptyCache(Device device) {
        blocks.emptyCache();
    }

    @Override
    public void synchronize(Device device) {
        // CPU kernels are synchronous
    }

    @Override
    public void fillZero(Tensor t) {
        Addresses.fill(t.address(), 0, t.numel() * t.dtype().size());
    }

    @Override
    public void copyFromHost(Tensor dst, HostArray src) {
        src.requireSize(dst);
        src.copyTo(dst.address());
    }

    @Override
    public void copyToHost(Tensor src, HostArray dst) {
        dst.requireSize(src);
        dst.copyFrom(src.address());
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Addresses.copy(dst.address(), src.address(), src.numel() * src.dtype().size());
    }

    @Override
    public void stridedCopy(Tensor src, Tensor dst) {
        long[] shape = src.shape();
        NativeStatus.check(tsr_cpu_strided_copy(src.address(), dst.address(), shape.length, shape, src.strides(),
                src.dtype().size()), "tsr_cpu_strided_copy");
    }

    // ------------------------------------------------------------------ fp32 staging for F16/BF16

    /** Runs an fp32 kernel on tensors of any floating dtype by converting around it. */
    private final class F32 implements AutoCloseable {
        private final List<Tensor> temps = new ArrayList<>(3);

        long in(Tensor t) {
            if (t == null) {
                return 0;
            }
            if (t.dtype() == DType.F32) {
                return t.address();
            }
            Tensor f = Tensor.empty(DType.F32, Device.CPU, t.shape());
            temps.add(f);
            convert(t, f);
            return f.address();
        }

        /** An fp32 buffer for {@code out}; {@link #finish} converts it back if needed. */
        long out(Tensor out) {
            if (out.dtype() == DType.F32) {
                return out.address();
            }
            Tensor f = Tensor.empty(DType.F32, Device.CPU, out.shape());
            temps.add(f);
            pendingOut = out;
            pendingF32 = f;
            return f.address();
        }

        private Tensor pendingOut;
        private Tensor pendingF32;

        void finish() {
            if (pendingOut != null) {
                convert(pendingF32, pendingOut);
            }
        }

        @Override
        public void close() {
            for (Tensor t : temps) {
                t.close();
            }
        }
    }

    // ------------------------------------------------------------------ ops

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_binary_f32(op.code(), f.in(a), f.in(b), f.out(out), a.numel()),
                    "tsr_cpu_binary_f32");
            f.finish();
        }
    }

    @Override
    public void binaryRow(BinaryOp op, Tensor x, Tensor row, Tensor out) {
        long cols = row.numel();
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_binary_row_f32(op.code(), f.in(x), f.in(row), f.out(out),
                    cols == 0 ? 0 : x.numel() / cols, cols), "tsr_cpu_binary_row_f32");
            f.finish();
        }
    }

    @Override
    public void binaryBroadcast(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        long[] shape = out.shape();
        if (a.dtype() == DType.F32) {
            NativeStatus.check(tsr_cpu_binary_strided_f32(op.code(), a.address(),
                    Shape.broadcastStrides(a.shape(), a.strides(), shape), b.address(),
                    Shape.broadcastStrides(b.shape(), b.strides(), shape), out.address(), shape.length, shape),
                    "tsr_cpu_binary_strided_f32");
            return;
        }
        // F16/BF16: widen contiguous copies of the (small, unbroadcast) inputs
        try (Tensor ac = a.contiguous(); Tensor bc = b.contiguous(); F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_binary_strided_f32(op.code(), f.in(ac),
                    Shape.broadcastStrides(ac.shape(), ac.strides(), shape), f.in(bc),
                    Shape.broadcastStrides(bc.shape(), bc.strides(), shape), f.out(out), shape.length, shape),
                    "tsr_cpu_binary_strided_f32");
            f.finish();
        }
    }

    @Override
    public void affine(Tensor x, float alpha, float beta, Tensor out) {
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_affine_f32(f.in(x), alpha, beta, f.out(out), x.numel()), "tsr_cpu_affine_f32");
            f.finish();
        }
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        long cols = x.dim(-1);
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_layer_norm_f32(f.in(x), f.in(gamma), f.in(beta), f.out(out),
                    cols == 0 ? 0 : x.numel() / cols, cols, eps), "tsr_cpu_layer_norm_f32");
            f.finish();
        }
    }

    @Override
    public void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        long cols = x.dim(-1);
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_rms_norm_f32(f.in(x), f.in(gamma), f.out(out),
                    cols == 0 ? 0 : x.numel() / cols, cols, eps), "tsr_cpu_rms_norm_f32");
            f.finish();
        }
    }

    @Override
    public void softmax(Tensor x, long causalQ, Tensor out) {
        long cols = x.dim(-1);
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_softmax_f32(f.in(x), f.out(out), cols == 0 ? 0 : x.numel() / cols, cols,
                    causalQ), "tsr_cpu_softmax_f32");
            f.finish();
        }
    }

    @Override
    public void gelu(Tensor x, boolean tanhApprox, Tensor out) {
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_gelu_f32(f.in(x), f.out(out), x.numel(), tanhApprox ? 1 : 0), "tsr_cpu_gelu_f32");
            f.finish();
        }
    }

    @Override
    public void silu(Tensor x, Tensor out) {
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_silu_f32(f.in(x), f.out(out), x.numel()), "tsr_cpu_silu_f32");
            f.finish();
        }
    }

    @Override
    public void embedding(Tensor ids, Tensor table, Tensor out) {
        long[] bad = {-1};
        try (F32 f = new F32()) {
            int status = tsr_cpu_embedding_f32(ids.address(), ids.dtype().code(), f.in(table), f.out(out), ids.numel(),
                    table.dim(0), table.dim(1), bad);
            if (status == NativeStatus.ERR_INDEX) {
                throw new IndexOutOfBoundsException("embedding: id at position " + bad[0] + " of " + ids.describe()
                        + " is outside the vocabulary [0, " + table.dim(0) + ")");
            }
            NativeStatus.check(status, "tsr_cpu_embedding_f32");
            f.finish();
        }
    }

    @Override
    public void transposeLast2(Tensor x, Tensor out) {
        long rows = x.dim(-2);
        long cols = x.dim(-1);
        long batch = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
        NativeStatus.check(tsr_cpu_transpose(x.address(), out.address(), batch, rows, cols, x.dtype().size()),
                "tsr_cpu_transpose");
    }

    @Override
    public void convert(Tensor x, Tensor out) {
        NativeStatus.check(tsr_cpu_convert(x.address(), x.dtype().code(), out.address(), out.dtype().code(),
                x.numel()), "tsr_cpu_convert");
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, int lda,
            long strideA, Tensor b, int ldb, long strideB, float beta, Tensor c, int ldc, long strideC, int batch,
            MatmulPrecision precision) {
        if (m == 0 || n == 0) {
            return;
        }
        if (a.dtype() != DType.F32) {
            gemmViaF32(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
            return;
        }
        long pa = a.address();
        long pb = b.address();
        long pc = c.address();
        if (!Blas.OPENBLAS) {
            for (int i = 0; i < batch; i++) {
                gemmNative(transA, transB, m, n, k, alpha, pa + 4L * i * strideA, lda, pb + 4L * i * strideB, ldb,
                        beta, pc + 4L * i * strideC, ldc);
            }
            return;
        }
        if (packPerCall(m, n, k, batch)) {
            gemmNative(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            return;
        }
        int parts = BlasSplit.parts();
        if (parts > 1 && (2.0 * m * n * k * batch >= BlasSplit.MIN_FLOPS
                || (m <= BlasSplit.MIN_ROWS && (long) k * n >= BlasSplit.MIN_B_ELEMENTS))) {
            if (batch >= parts) {
                // independent products: a range of the batch per part
                int nb = batch;
                BlasSplit.run(parts, p -> {
                    for (int i = (int) ((long) p * nb / parts), e = (int) ((long) (p + 1) * nb / parts); i < e; i++) {
                        OpenBlas.sgemm(transA, transB, m, n, k, alpha, pa + 4L * i * strideA, lda,
                                pb + 4L * i * strideB, ldb, beta, pc + 4L * i * strideC, ldc);
                    }
                });
                return;
            }
            if (m >= parts * BlasSplit.MIN_ROWS || n >= parts * BlasSplit.MIN_COLS) {
                for (int i = 0; i < batch; i++) {
                    gemmSplit(transA, transB, m, n, k, alpha, pa + 4L * i * strideA, lda, pb + 4L * i * strideB, ldb,
                            beta, pc + 4L * i * strideC, ldc, parts);
                }
                return;
            }
        }
        for (int i = 0; i < batch; i++) {
            OpenBlas.sgemm(transA, transB, m, n, k, alpha, pa + 4L * i * strideA, lda, pb + 4L * i * strideB, ldb,
                    beta, pc + 4L * i * strideC, ldc);
        }
    }

    /**
     * {@code Blas.OPENBLAS}: whether fp32 products go through OpenBLAS (the default where its preset is on the class
     * path; probed at the first product, so commands without one never load OpenBLAS). Without it
     * (a deployment that leaves the 20 MB preset out, the GPU bundle) or with {@code -Dtessera.cpu.blas=native}, every
     * product runs on Tessera's own packed GEMM ({@link #gemmNative}): same results to rounding, slower for small
     * and odd-shaped products that OpenBLAS handles better.
     */
    private static final class Blas {
        /** Decided (and OpenBLAS loaded) at the first product, not when the backend starts. */
        static final boolean OPENBLAS = openBlasWanted();
    }

    private static boolean openBlasWanted() {
        String p = System.getProperty("tessera.cpu.blas", "auto").trim();
        if (p.equalsIgnoreCase("native")) {
            return false;
        }
        if (!p.equalsIgnoreCase("auto") && !p.equalsIgnoreCase("openblas")) {
            LoggerFactory.getLogger(CpuBackend.class).warn("ignoring tessera.cpu.blas={} (expected auto, openblas or "
                    + "native)", p);
            p = "auto";
        }
        if (OpenBlas.available()) {
            return true;
        }
        if (p.equalsIgnoreCase("openblas")) {
            throw new IllegalStateException("tessera.cpu.blas=openblas but OpenBLAS does not load: "
                    + OpenBlas.unavailableReason());
        }
        LoggerFactory.getLogger(CpuBackend.class).info("OpenBLAS unavailable ({}): fp32 products run on Tessera's "
                + "packed GEMM", OpenBlas.unavailableReason());
        return false;
    }

    /** Whether the CPU backend's fp32 products run on OpenBLAS (else on Tessera's packed GEMM). */
    public static boolean usesOpenBlas() {
        return Blas.OPENBLAS;
    }

    /** "OpenBLAS x.y" or "Tessera packed GEMM (why)": what runs the CPU backend's fp32 products. */
    public static String blasDescription() {
        return Blas.OPENBLAS ? "OpenBLAS " + OpenBlas.version()
                : "Tessera packed GEMM (OpenBLAS " + (OpenBlas.available() ? "off: tessera.cpu.blas=native"
                        : "unavailable: " + OpenBlas.unavailableReason()) + ")";
    }

    /**
     * {@code C = alpha op(A) op(B) + beta C} (row-major, one product) on Tessera's packed GEMM, no OpenBLAS: B packed
     * per call, op(A) = Aᵀ copied to rows first, alpha/beta other than (1, 0) and (1, 1) through a temporary product.
     * As in BLAS, C is not read when beta is 0.
     */
    static void gemmNative(boolean transA, boolean transB, int m, int n, int k, float alpha, long pa, int lda,
            long pb, int ldb, float beta, long pc, int ldc) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            scaleRows(m, n, beta, pc, ldc, 0, 0f);
            return;
        }
        Tensor at = null;
        Tensor tmp = null;
        try {
            long x = pa;
            long ldx = lda;
            if (transA) {  // op(A)[i, kk] = A[kk, i]: gathered into [m, k] rows
                at = Tensor.empty(DType.F32, Device.CPU, (long) m * k);
                NativeStatus.check(tsr_cpu_strided_copy(pa, at.address(), 2, new long[] {m, k}, new long[] {1, lda},
                        4), "tsr_cpu_strided_copy");
                x = at.address();
                ldx = k;
            }
            boolean direct = alpha == 1f && (beta == 0f || beta == 1f);
            long out = pc;
            long ldo = ldc;
            if (!direct) {
                tmp = Tensor.empty(DType.F32, Device.CPU, (long) m * n);
                out = tmp.address();
                ldo = n;
            }
            long residual = direct && beta == 1f ? pc : 0;
            try (Tensor packed = Tensor.empty(DType.F32, Device.CPU, GemmNative.tsr_cpu_gemm_packed_floats(n, k))) {
                NativeStatus.check(GemmNative.tsr_cpu_gemm_pack_f32(pb, transB ? ldb : 1, transB ? 1 : ldb, n, k,
                        packed.address()), "tsr_cpu_gemm_pack_f32");
                NativeStatus.check(GemmNative.tsr_cpu_gemm_packed_f32(x, ldx, packed.address(), m, n, k, 0,
                        FusedActivation.NONE.code(), residual, ldc, out, ldo), "tsr_cpu_gemm_packed_f32");
            }
            if (!direct) {
                scaleRows(m, n, beta, pc, ldc, out, alpha);
            }
        } finally {
            if (at != null) {
                at.close();
            }
            if (tmp != null) {
                tmp.close();
            }
        }
    }

    /**
     * c[i, :] = alpha * t[i, :] + beta * c[i, :] for i < m (t rows n apart, c rows ldc apart; t 0: no t term; beta 0:
     * c not read, so NaN there stays out) with the native elementwise ops; one call per operand when c's rows are
     * contiguous, else one per row.
     */
    private static void scaleRows(int m, int n, float beta, long pc, int ldc, long t, float alpha) {
        boolean dense = ldc == n;
        int rows = dense ? 1 : m;
        long len = dense ? (long) m * n : n;
        for (int i = 0; i < rows; i++) {
            long ci = pc + 4L * i * ldc;
            long ti = t + 4L * i * n;
            if (t == 0 && beta == 0f) {
                org.bytedeco.javacpp.Pointer.memset(Addresses.pointer(ci), 0, 4L * len);
            } else if (t == 0) {
                NativeStatus.check(tsr_cpu_affine_f32(ci, beta, 0f, ci, len), "tsr_cpu_affine_f32");
            } else if (beta == 0f) {
                NativeStatus.check(tsr_cpu_affine_f32(ti, alpha, 0f, ci, len), "tsr_cpu_affine_f32");
            } else {
                NativeStatus.check(tsr_cpu_affine_f32(ci, beta, 0f, ci, len), "tsr_cpu_affine_f32");
                NativeStatus.check(tsr_cpu_affine_f32(ti, alpha, 0f, ti, len), "tsr_cpu_affine_f32");
                NativeStatus.check(tsr_cpu_binary_f32(BinaryOp.ADD.code(), ci, ti, ci, len), "tsr_cpu_binary_f32");
            }
        }
    }

    /** Smallest m·n·k routed through the native GEMM with B packed per call (below it OpenBLAS wins). */
    static final double PACK_PER_CALL_MIN_MNK = Double.parseDouble(
            System.getProperty("tessera.cpu.packPerCallMinMnk", String.valueOf(128.0 * 128 * 128)));

    /**
     * Whether a product goes through the native packed GEMM (B packed into a temporary per call, work on the
     * native pool) instead of OpenBLAS: one fp32 product (not a batch) big enough that packing B, and where asked
     * gathering Aᵀ or scaling by alpha / beta, is small beside the arithmetic, while OpenBLAS keeps its own threads
     * off (the default split mode). Until session 16 only plain C = A·B went this way; on the Zen 5 host OpenBLAS
     * 0.3.31 runs at half the native GEMM's rate, and the RBM's transposed, scaled and accumulated products
     * (CD-1 784×500, batch 100) took 1.93–1.99 ms a step on OpenBLAS, 1.30–1.44 ms here.
     */
    private static boolean packPerCall(int m, int n, int k, int batch) {
        return batch == 1 && k > 0 && BlasSplit.parts() > 1 && (double) m * n * k >= PACK_PER_CALL_MIN_MNK
                && m >= 16;
    }

    // ------------------------------------------------------------------ linear (tessera/gemm.h)

    @Override
    public Tensor packLinearWeight(Tensor weight) {
        if (weight.dtype() != DType.F32) {
            return null;  // F16/BF16 weights run through the fp32-staged gemm
        }
        return packPanels(weight, DType.F32);
    }

    /** The F32 weight's panels (tessera/gemm.h) of {@code storage} F32, BF16 or I8 (+ per-column scales) elements. */
    private static Tensor packPanels(Tensor weight, DType storage) {
        long n = weight.dim(0);
        long k = weight.dim(1);
        Tensor packed = Tensor.empty(storage, Device.CPU, storage == DType.I8
                ? GemmNative.tsr_cpu_gemm_packed_s8_bytes(n, k) : GemmNative.tsr_cpu_gemm_packed_floats(n, k));
        try {
            long[] st = weight.strides();
            if (storage == DType.I8) {
                if (packed.address() % 64 != 0) {
                    throw new IllegalStateException("CpuBackend: the host allocator gave an unaligned block");
                }
                NativeStatus.check(GemmNative.tsr_cpu_gemm_pack_s8(weight.address(), st[0], st[1], n, k,
                        packed.address()), "tsr_cpu_gemm_pack_s8");
            } else if (storage == DType.BF16) {
                NativeStatus.check(GemmNative.tsr_cpu_gemm_pack_bf16(weight.address(), st[0], st[1], n, k,
                        packed.address()), "tsr_cpu_gemm_pack_bf16");
            } else {
                NativeStatus.check(GemmNative.tsr_cpu_gemm_pack_f32(weight.address(), st[0], st[1], n, k,
                        packed.address()), "tsr_cpu_gemm_pack_f32");
            }
        } catch (RuntimeException e) {
            packed.close();
            throw e;
        }
        return packed;
    }

    /**
     * F32 weights may also be stored as BF16 panels (tessera/gemm.h tsr_cpu_gemm_pack_bf16) or as I8 panels with a
     * scale per output feature (tsr_cpu_gemm_pack_s8; a weight holding NaN or infinities is refused).
     */
    @Override
    public Tensor packLinearWeight(Tensor weight, DType storage) {
        if (storage != DType.BF16 && storage != DType.I8 || weight.dtype() != DType.F32) {
            return Backend.super.packLinearWeight(weight, storage);
        }
        return packPanels(weight, storage);
    }

    @Override
    public void linear(Tensor x, Tensor weight, Tensor packed, Tensor bias, FusedActivation act, Tensor residual,
            Tensor out) {
        if (x.dtype() != DType.F32) {
            Backend.super.linear(x, weight, packed, bias, act, residual, out);
            return;
        }
        long m = x.dim(0);
        long k = x.dim(1);
        long n = out.dim(1);
        long lda = Math.max(x.strides()[0], k);
        long pb = bias == null ? 0 : bias.address();
        long pr = residual == null ? 0 : residual.address();
        if (packed != null && packed.dtype() == DType.I8) {
            NativeStatus.check(GemmNative.tsr_cpu_gemm_packed_s8(x.address(), lda, packed.address(), m, n, k, pb,
                    act.code(), pr, n, out.address(), n), "tsr_cpu_gemm_packed_s8");
            return;
        }
        if (packed != null && packed.dtype() == DType.BF16) {
            NativeStatus.check(GemmNative.tsr_cpu_gemm_packed_bf16(x.address(), lda, packed.address(), m, n, k, pb,
                    act.code(), pr, n, out.address(), n), "tsr_cpu_gemm_packed_bf16");
            return;
        }
        if (packed != null) {
            NativeStatus.check(GemmNative.tsr_cpu_gemm_packed_f32(x.address(), lda, packed.address(), m, n, k, pb,
                    act.code(), pr, n, out.address(), n), "tsr_cpu_gemm_packed_f32");
            return;
        }
        // an unpacked weight: OpenBLAS (split over the cores) for the product, then the epilogue in one pass
        long[] ws = weight.strides();
        boolean transB = ws[1] == 1 || k == 1;
        int ldb = (int) Math.max(1, transB ? Math.max(ws[0], k) : Math.max(ws[1], n));
        gemm(false, transB, (int) m, (int) n, (int) k, 1f, x, (int) Math.max(1, lda), 0, weight, ldb, 0, 0f, out,
                (int) n, 0, 1, MatmulPrecision.FP32);
        NativeStatus.check(GemmNative.tsr_cpu_linear_epilogue_f32(out.address(), n, m, n, pb, act.code(), pr, n),
                "tsr_cpu_linear_epilogue_f32");
    }

    /**
     * One sgemm as {@code parts} single-threaded sgemms on disjoint blocks of C: blocks of rows (M) when there are
     * enough rows, else blocks of columns (N; decode-style products with M = 1..a few).
     */
    private static void gemmSplit(boolean transA, boolean transB, int m, int n, int k, float alpha, long pa, int lda,
            long pb, int ldb, float beta, long pc, int ldc, int parts) {
        if (m >= parts * BlasSplit.MIN_ROWS) {
            BlasSplit.run(parts, p -> {
                int r0 = BlasSplit.bound(p, parts, m, 8);
                int r1 = BlasSplit.bound(p + 1, parts, m, 8);
                if (r1 > r0) {
                    long a0 = pa + 4L * r0 * (transA ? 1 : lda);
                    OpenBlas.sgemm(transA, transB, r1 - r0, n, k, alpha, a0, lda, pb, ldb, beta, pc + 4L * r0 * ldc,
                            ldc);
                }
            });
        } else {
            BlasSplit.run(parts, p -> {
                int c0 = BlasSplit.bound(p, parts, n, 16);
                int c1 = BlasSplit.bound(p + 1, parts, n, 16);
                if (c1 > c0) {
                    long b0 = pb + 4L * c0 * (transB ? ldb : 1);
                    OpenBlas.sgemm(transA, transB, m, c1 - c0, k, alpha, pa, lda, b0, ldb, beta, pc + 4L * c0, ldc);
                }
            });
        }
    }

    /**
     * How large sgemms share the cores with Tessera's own kernel pool. By default OpenBLAS is set to one thread (its
     * pthread workers busy-wait after each call and then fight the kernel pool for the cores) and a large sgemm is
     * cut into blocks run by single-threaded OpenBLAS on {@link NativeLibrary#cpuThreads()} threads (the caller and
     * parked daemon workers). {@code -Dtessera.cpu.blasThreads=N} (or {@code TESSERA_BLAS_THREADS=N}) restores the
     * old behaviour: OpenBLAS on N threads of its own, no splitting. Splitting is also off whenever OpenBLAS is set
     * to more than one thread through {@link OpenBlas#setThreads} (a count set before the first GEMM is kept).
     */
    static final class BlasSplit {
        /** GEMMs below this many flops (2mnk, all batch items) stay in the calling thread. */
        static final double MIN_FLOPS = 4e6;
        /**
         * Products with few rows (decode) are bound by reading B: split them from this many elements of B (1 MiB) on,
         * whatever their flops.
         */
        static final long MIN_B_ELEMENTS = 1L << 18;
        /** Rows per part needed to split by rows; otherwise columns per part needed to split by columns. */
        static final int MIN_ROWS = 32;
        static final int MIN_COLS = 64;
        private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);
        private static final int PARTS;
        private static final ExecutorService WORKERS;

        static {
            String prop = System.getProperty("tessera.cpu.blasThreads");
            if (prop == null || prop.isBlank()) {
                prop = System.getenv("TESSERA_BLAS_THREADS");
            }
            int blasThreads = 0;
            if (prop != null && !prop.isBlank()) {
                try {
                    blasThreads = Integer.parseInt(prop.trim());
                } catch (NumberFormatException e) {
                    blasThreads = 0;
                }
                if (blasThreads < 1) {
                    LOG.warn("ignoring tessera.cpu.blasThreads={} (expected an integer >= 1)", prop);
                    blasThreads = 0;
                }
            }
            int parts = 1;
            if (!Blas.OPENBLAS) {
                LOG.debug("no OpenBLAS: products run on the packed GEMM on the native pool, nothing to split");
            } else if (blasThreads > 0) {
                OpenBlas.setThreads(blasThreads);
                LOG.debug("OpenBLAS on {} threads of its own (tessera.cpu.blasThreads)", blasThreads);
            } else {
                if (OpenBlas.requestedThreads() == 0) {  // keep a count the application set itself
                    OpenBlas.setThreads(1);
                }
                parts = Math.max(1, Math.min(NativeLibrary.cpuThreads(), 256));
                LOG.debug("OpenBLAS single-threaded, large sgemms split over {} threads", parts);
            }
            PARTS = parts;
            if (parts > 1) {
                AtomicInteger id = new AtomicInteger();
                WORKERS = Executors.newFixedThreadPool(parts - 1, r -> {
                    Thread t = new Thread(r, "tessera-sgemm-" + id.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
            } else {
                WORKERS = null;
            }
        }

        private BlasSplit() {}

        /** Parts to cut a large sgemm into now: 1 when splitting is off. */
        static int parts() {
            return PARTS > 1 && OpenBlas.requestedThreads() == 1 ? PARTS : 1;
        }

        /** Boundary p of [0, n) cut into `parts` pieces, rounded to a multiple of `align` (0 and n exact). */
        static int bound(int p, int parts, int n, int align) {
            if (p >= parts) {
                return n;
            }
            long b = (long) p * n / parts;
            b = (b + align / 2) / align * align;
            return (int) Math.min(b, n);
        }

        interface Part {
            void run(int p);
        }

        /** Runs part 0 in the caller and parts 1..parts-1 on the workers; returns when all are done. */
        static void run(int parts, Part part) {
            Future<?>[] futures = new Future<?>[parts - 1];
            for (int p = 1; p < parts; p++) {
                int q = p;
                futures[p - 1] = WORKERS.submit(() -> part.run(q));
            }
            Throwable failure = null;
            try {
                part.run(0);
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            boolean interrupted = false;
            for (Future<?> f : futures) {
                for (;;) {  // the workers write into C: wait for every one of them
                    try {
                        f.get();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (ExecutionException e) {
                        if (failure == null) {
                            failure = e.getCause();
                        }
                        break;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            if (failure instanceof Error err) {
                throw err;
            }
            if (failure != null) {
                throw new IllegalStateException("sgemm worker failed", failure);
            }
        }
    }

    /** F16/BF16 GEMM on the CPU: convert the operands' storage to fp32, multiply, convert back. */
    private void gemmViaF32(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, int lda,
            long strideA, Tensor b, int ldb, long strideB, float beta, Tensor c, int ldc, long strideC, int batch) {
        // the operands may be views: widen the whole spans they cover
        try (Tensor a32 = widen(a, span(transA ? k : m, transA ? m : k, lda, strideA, batch));
                Tensor b32 = widen(b, span(transB ? n : k, transB ? k : n, ldb, strideB, batch));
                Tensor c32 = widen(c, span(m, n, ldc, strideC, batch))) {
            gemm(transA, transB, m, n, k, alpha, a32, lda, strideA, b32, ldb, strideB, beta, c32, ldc, strideC, batch,
                    MatmulPrecision.FP32);
            NativeStatus.check(tsr_cpu_convert(c32.address(), DType.F32.code(), c.address(), c.dtype().code(),
                    c32.numel()), "tsr_cpu_convert");
        }
    }

    private static long span(int rows, int cols, int ld, long batchStride, int batch) {
        return (batch - 1L) * batchStride + (rows - 1L) * ld + cols;
    }

    private Tensor widen(Tensor t, long elements) {
        Tensor f = Tensor.empty(DType.F32, Device.CPU, elements);
        NativeStatus.check(tsr_cpu_convert(t.address(), t.dtype().code(), f.address(), DType.F32.code(), elements),
                "tsr_cpu_convert");
        return f;
    }

    // ------------------------------------------------------------------ ops for the model pipelines

    @Override
    public void copyStrided(Tensor src, Tensor dst) {
        long[] shape = src.shape();
        NativeStatus.check(tsr_cpu_copy_strided(src.address(), src.strides(), dst.address(), dst.strides(),
                shape.length, shape, src.dtype().size()), "tsr_cpu_copy_strided");
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_unary_f32(op.code(), f.in(x), f.out(out), x.numel()), "tsr_cpu_unary_f32");
            f.finish();
        }
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        long[] st = x.strides();
        long[] d = x.shape();
        long csBatch = cos.rank() == 3 ? cos.dim(1) * cos.dim(2) : 0;
        if (x.dtype() == DType.F32) {
            NativeStatus.check(tsr_cpu_rope_f32(x.address(), st[0], st[1], st[2], cos.address(), sin.address(),
                    csBatch, out.address(), d[0], d[1], d[2], d[3]), "tsr_cpu_rope_f32");
            return;
        }
        // F16/BF16: widen a contiguous copy, rotate in fp32, narrow into out
        try (Tensor xc = x.contiguous(); F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_rope_f32(f.in(xc), d[1] * d[2] * d[3], d[2] * d[3], d[3], cos.address(),
                    sin.address(), csBatch, f.out(out), d[0], d[1], d[2], d[3]), "tsr_cpu_rope_f32");
            f.finish();
        }
    }

    @Override
    public void logSoftmax(Tensor x, Tensor out) {
        long cols = x.dim(-1);
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_log_softmax_f32(f.in(x), f.out(out), cols == 0 ? 0 : x.numel() / cols, cols),
                    "tsr_cpu_log_softmax_f32");
            f.finish();
        }
    }

    @Override
    public void sumLastDim(Tensor x, float scale, Tensor out) {
        long cols = x.rank() == 0 ? 1 : x.dim(-1);
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_sum_rows_f32(f.in(x), f.out(out), out.numel(), cols, scale),
                    "tsr_cpu_sum_rows_f32");
            f.finish();
        }
    }

    @Override
    public void argmaxLastDim(Tensor x, Tensor out) {
        long cols = x.dim(-1);
        try (F32 f = new F32()) {
            NativeStatus.check(tsr_cpu_argmax_rows_f32(f.in(x), out.address(), out.numel(), cols),
                    "tsr_cpu_argmax_rows_f32");
        }
    }

    // ==== kernel families (issue 3). Each family edits only its own region below. ====
    // ---- attention region

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, float scale, boolean causal, Tensor out) {
        CpuAttention.attention(q, k, v, keyMask, scale, causal, out);
    }

    // ---- end attention region
    // ---- patch embedding region

    @Override
    public void patchify(Tensor x, int ph, int pw, Tensor cols) {
        CpuPatchEmbed.patchify(x, ph, pw, cols);
    }

    @Override
    public void im2col1d(Tensor x, int kernel, int stride, int padding, Tensor cols) {
        CpuPatchEmbed.im2col1d(x, kernel, stride, padding, cols);
    }

    @Override
    public void patchFinish(Tensor out, Tensor bias, Tensor cls, Tensor pos) {
        CpuPatchEmbed.finish(out, bias, cls, pos);
    }

    @Override
    public void biasChannelsFirst(Tensor out, Tensor bias) {
        CpuPatchEmbed.biasChannelsFirst(out, bias);
    }

    // ---- end patch embedding region
    // ---- spectrogram region

    @Override
    public void rfft(Tensor x, Tensor out) {
        CpuSpectrogram.rfft(x, out);
    }

    @Override
    public void melSpectrogram(Tensor x, long[] lengths, long sigLen, int nFft, int hop, Tensor window,
            boolean center, long nFrames, int power, Tensor filters, Tensor out) {
        CpuSpectrogram.melSpectrogram(x, lengths, sigLen, nFft, hop, window, center, nFrames, power, filters, out);
    }

    @Override
    public void logMelFinish(Tensor x, float floor, boolean log, float clampRange, float add, float mul, Tensor out) {
        CpuSpectrogram.logMelFinish(x, floor, log, clampRange, add, mul, out);
    }

    // ---- end spectrogram region
    // ---- rbm region
    @Override
    public dev.tessera.runtime.rbm.RbmKernels rbmKernels() {
        return CpuRbmKernels.INSTANCE;
    }
    // ---- end rbm region
}
