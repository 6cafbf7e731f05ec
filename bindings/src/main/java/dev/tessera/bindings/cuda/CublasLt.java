package dev.tessera.bindings.cuda;

import static org.bytedeco.cuda.global.cublas.*;

import dev.tessera.bindings.Addresses;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * A linear layer as one cuBLASLt matmul: {@code out [m, n] = x [m, k] · Wᵀ + bias + residual} with the bias added by
 * cuBLASLt's BIAS epilogue and the residual as the GEMM's C operand (beta = 1, C ≠ D), so neither costs a pass
 * over the output. Row-major operands are read as their column-major transposes: {@code outᵀ (n×m) = op(W) (n×k) ·
 * xᵀ (k×m)}. Plans (descriptor, layouts, the heuristic's first algorithm) are cached per shape. One instance owns
 * one handle and a device workspace on one device; not thread-safe (lock it). {@link #linear} returns false (and
 * does nothing) where it cannot serve the call (operands not 256-byte aligned, no algorithm), so the caller falls
 * back to cuBLAS + its own epilogue.
 */
public final class CublasLt implements AutoCloseable {
    private static final long ALIGN = 256;

    private record Key(Cublas.Type type, Cublas.Math math, int m, int n, int k, int lda, int ldw, boolean wNK,
            boolean bias, boolean residual) {}

    private static final class Plan {
        cublasLtMatmulDescOpaque_t desc;
        cublasLtMatrixLayoutOpaque_t a, b, c;
        cublasLtMatmulHeuristicResult_t algo;
        boolean usable;
    }

    private final cublasLtContext handle;
    private final long workspace;
    private final long workspaceBytes;
    private final Map<Key, Plan> plans = new HashMap<>();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);
    private final LongPointer biasAddress = new LongPointer(1);
    private boolean closed;

    /** A handle on {@code device} (current on the calling thread) with a workspace of {@code workspaceBytes}. */
    public CublasLt(int device, long workspaceBytes) {
        CudaRuntime.setDevice(device);
        cublasLtContext h = new cublasLtContext();
        check(cublasLtCreate(h), "cublasLtCreate");
        this.handle = h;
        this.workspaceBytes = workspaceBytes;
        long ws;
        try {
            ws = workspaceBytes > 0 ? CudaRuntime.malloc(workspaceBytes) : 0;
        } catch (RuntimeException e) {
            cublasLtDestroy(h);
            throw e;
        }
        this.workspace = ws;
    }

    static void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            throw new TesseraCudaException(call, status, cublasLtGetStatusName(status).getString() + ": "
                    + cublasLtGetStatusString(status).getString());
        }
    }

    private static int cudaType(Cublas.Type t) {
        switch (t) {
            case F32: return org.bytedeco.cuda.global.cudart.CUDA_R_32F;
            case F16: return org.bytedeco.cuda.global.cudart.CUDA_R_16F;
            default: return org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
        }
    }

    /**
     * {@code out = x · op(W) + bias + residual} on {@code stream}. x [m, k] row-major with row stride lda; W either
     * [n, k] row-major with row stride ldw ({@code wNK}) or its transpose [k, n] with row stride ldw; bias [n] and
     * residual [m, n] contiguous or 0; out [m, n] contiguous, not overlapping residual. fp32 accumulation ({@code math}
     * TF32 for F32 operands on tensor cores). Returns false, having queued nothing, when the call is not served.
     */
    public boolean linear(Cublas.Type type, Cublas.Math math, int m, int n, int k, long x, int lda, long w, int ldw,
            boolean wNK, long bias, long residual, long out, long stream) {
        if (closed) {
            throw new IllegalStateException("cuBLASLt handle is closed");
        }
        if (x % ALIGN != 0 || w % ALIGN != 0 || out % ALIGN != 0 || bias % ALIGN != 0 || residual % ALIGN != 0) {
            return false;
        }
        Key key = new Key(type, math, m, n, k, lda, ldw, wNK, bias != 0, residual != 0);
        Plan p = plans.get(key);
        if (p == null) {
            p = plan(key);
            plans.put(key, p);
        }
        if (!p.usable) {
            return false;
        }
        if (bias != 0) {
            biasAddress.put(0, bias);
            check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8),
                    "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
        }
        long c = residual != 0 ? residual : out;
        int status = cublasLtMatmul(handle, p.desc, one, Addresses.pointer(w), p.a, Addresses.pointer(x), p.b,
                residual != 0 ? one : zero, Addresses.pointer(c), p.c, Addresses.pointer(out), p.c, p.algo.algo(),
                Addresses.pointer(workspace), workspaceBytes, CudaRuntime.stream(stream));
        check(status, "cublasLtMatmul(" + type + ", m=" + m + ", n=" + n + ", k=" + k + ", bias=" + (bias != 0)
                + ", residual=" + (residual != 0) + ")");
        return true;
    }

    private Plan plan(Key key) {
        Plan p = new Plan();
        int dt = cudaType(key.type());
        int compute = key.type() == Cublas.Type.F32 && key.math() == Cublas.Math.TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                : CUBLAS_COMPUTE_32F;
        PointerPointer<?> pp = new PointerPointer<>(1);
        check(cublasLtMatmulDescCreate(pp, compute, org.bytedeco.cuda.global.cudart.CUDA_R_32F),
                "cublasLtMatmulDescCreate");
        p.desc = new cublasLtMatmulDescOpaque_t(pp.get(0));
        // outᵀ (n×m, col-major, ld n) = op(A) (n×k) · B (k×m): A is W, B is xᵀ (x row-major [m, k] = col-major k×m)
        IntPointer op = new IntPointer(1);
        op.put(0, key.wNK() ? CUBLAS_OP_T : CUBLAS_OP_N);
        check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, op, 4), "set TRANSA");
        op.put(0, CUBLAS_OP_N);
        check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, op, 4), "set TRANSB");
        op.put(0, key.bias() ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT);
        check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, op, 4), "set EPILOGUE");
        op.close();
        // W [n, k] row-major = col-major k×n (ld ldw), used transposed; Wᵀ [k, n] row-major = col-major n×k (ld ldw)
        p.a = layout(dt, key.wNK() ? key.k() : key.n(), key.wNK() ? key.n() : key.k(), key.ldw());
        p.b = layout(dt, key.k(), key.m(), key.lda());
        p.c = layout(dt, key.n(), key.m(), key.n());
        PointerPointer<?> prefp = new PointerPointer<>(1);
        check(cublasLtMatmulPreferenceCreate(prefp), "cublasLtMatmulPreferenceCreate");
        cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(prefp.get(0));
        try {
            LongPointer wsb = new LongPointer(1);
            wsb.put(0, workspaceBytes);
            check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, wsb, 8),
                    "set MAX_WORKSPACE_BYTES");
            wsb.close();
            p.algo = new cublasLtMatmulHeuristicResult_t();
            int[] count = new int[1];
            int st = cublasLtMatmulAlgoGetHeuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, p.algo, count);
            p.usable = st == CUBLAS_STATUS_SUCCESS && count[0] > 0 && p.algo.state() == CUBLAS_STATUS_SUCCESS;
        } finally {
            cublasLtMatmulPreferenceDestroy(pref);
        }
        return p;
    }

    private static cublasLtMatrixLayoutOpaque_t layout(int dt, long rows, long cols, long ld) {
        PointerPointer<?> pp = new PointerPointer<>(1);
        check(cublasLtMatrixLayoutCreate(pp, dt, rows, cols, ld), "cublasLtMatrixLayoutCreate");
        return new cublasLtMatrixLayoutOpaque_t(pp.get(0));
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Plan p : plans.values()) {
                cublasLtMatrixLayoutDestroy(p.a);
                cublasLtMatrixLayoutDestroy(p.b);
                cublasLtMatrixLayoutDestroy(p.c);
                cublasLtMatmulDescDestroy(p.desc);
                if (p.algo != null) {
                    p.algo.close();
                }
            }
            plans.clear();
            if (workspace != 0) {
                CudaRuntime.free(workspace);
            }
            check(cublasLtDestroy(handle), "cublasLtDestroy");
            one.close();
            zero.close();
            biasAddress.close();
        }
    }
}
