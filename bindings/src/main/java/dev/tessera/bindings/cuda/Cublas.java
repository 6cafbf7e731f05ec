package dev.tessera.bindings.cuda;

import static org.bytedeco.cuda.global.cublas.*;

import dev.tessera.bindings.Addresses;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Typed facade over cuBLAS GEMM for row-major tensors. cuBLAS is column-major, so a row-major
 * {@code C = op(A) op(B)} is computed as the column-major {@code Cᵀ = op(B)ᵀ op(A)ᵀ}.
 * One instance owns one handle bound to one device; not thread-safe (use one per thread or lock).
 */
public final class Cublas implements AutoCloseable {
    /** Storage types of GEMM operands. */
    public enum Type { F32, F16, BF16 }

    /** How fp32 products are computed: exact fp32, or TF32 tensor cores. */
    public enum Math { FP32, TF32 }

    private static volatile boolean plainGemmForOne =
            !"false".equalsIgnoreCase(System.getProperty("tessera.cuda.plainGemm"));

    /**
     * Whether a single product (batch 1) goes through {@code cublasGemmEx} (default) rather than
     * {@code cublasGemmStridedBatchedEx} with a batch of one ({@code -Dtessera.cuda.plainGemm=false}). For A/B
     * measurements.
     */
    public static void setPlainGemmForOne(boolean on) {
        plainGemmForOne = on;
    }

    private final cublasContext handle;
    private final FloatPointer alphaBeta = new FloatPointer(2);
    private long boundStream = -1;
    private boolean closed;

    public Cublas(int device) {
        CudaRuntime.setDevice(device);
        cublasContext h = new cublasContext();
        check(cublasCreate_v2(h), "cublasCreate");
        this.handle = h;
    }

    static void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            String name = cublasGetStatusName(status).getString();
            String text = cublasGetStatusString(status).getString();
            throw new TesseraCudaException(call, status, name + ": " + text);
        }
    }

    private static int cudaType(Type t) {
        switch (t) {
            case F32: return org.bytedeco.cuda.global.cudart.CUDA_R_32F;
            case F16: return org.bytedeco.cuda.global.cudart.CUDA_R_16F;
            default: return org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
        }
    }

    /**
     * Row-major strided batched GEMM: for each b, {@code C_b = alpha op(A_b) op(B_b) + beta C_b} with
     * {@code op(A_b)} m×k, {@code op(B_b)} k×n, C m×n; lda/ldb/ldc are the row strides of the stored
     * (untransposed) matrices. Accumulates in fp32; {@code math} applies to fp32 operands.
     */
    public void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float alpha,
            long a, int lda, long strideA, long b, int ldb, long strideB, float beta, long c, int ldc,
            long strideC, int batch, Type type, Math math, long stream) {
        if (closed) {
            throw new IllegalStateException("cuBLAS handle is closed");
        }
        if (stream != boundStream) {
            check(cublasSetStream_v2(handle, CudaRuntime.stream(stream)), "cublasSetStream");
            boundStream = stream;
        }
        int compute = CUBLAS_COMPUTE_32F;
        if (type == Type.F32 && math == Math.TF32) {
            compute = CUBLAS_COMPUTE_32F_FAST_TF32;
        }
        alphaBeta.put(0, alpha).put(1, beta);
        int dt = cudaType(type);
        // Column-major view: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m).
        if (batch == 1 && plainGemmForOne) { // the plain GEMM: cuBLAS's own heuristics for one product, no batched kernel selection
            int status = cublasGemmEx(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                    n, m, k, alphaBeta.getPointer(0), Addresses.pointer(b), dt, ldb, Addresses.pointer(a), dt, lda,
                    alphaBeta.getPointer(1), Addresses.pointer(c), dt, ldc, compute, CUBLAS_GEMM_DEFAULT);
            check(status, "cublasGemmEx(" + type + ", m=" + m + ", n=" + n + ", k=" + k + ")");
            return;
        }
        int status = cublasGemmStridedBatchedEx(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N,
                transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, alphaBeta.getPointer(0),
                Addresses.pointer(b), dt, ldb, strideB, Addresses.pointer(a), dt, lda, strideA,
                alphaBeta.getPointer(1), Addresses.pointer(c), dt, ldc, strideC, batch, compute,
                CUBLAS_GEMM_DEFAULT);
        check(status, "cublasGemmStridedBatchedEx(" + type + ", m=" + m + ", n=" + n + ", k=" + k + ", batch="
                + batch + ")");
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            check(cublasDestroy_v2(handle), "cublasDestroy");
            alphaBeta.close();
        }
    }
}
