package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.AttentionNative.tsr_cuda_attention;
import static dev.tessera.bindings.jni.AttentionNative.tsr_cuda_attention_workspace_bytes;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.jni.AttentionNative;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * CUDA kernels of the attention family ({@code tessera/attention.h}) on the backend's stream: F32, F16,
 * BF16 storage, fp32 softmax and accumulation, asynchronous. The split-KV (flash-decoding) workspace comes
 * from the device's caching allocator and is released once the call is queued (the allocator reuses
 * blocks in stream order). The tensor-core kernel (F16/BF16) is {@link Attention#cudaKernel()}. Arguments have
 * been validated by the caller ({@link Attention}).
 *
 * <p>The kernels read contiguous q and write contiguous out; k and v either contiguous or as KV-cache views (rows
 * {@code kvCapacity} apart per head). {@link Layout} copies any other view first (and a strided out back after).
 */
final class CudaAttention {
    private CudaAttention() {}

    static int kernelCode(Attention.CudaKernel k) {
        return switch (k) {
            case AUTO -> AttentionNative.KERNEL_AUTO;
            case V1 -> AttentionNative.KERNEL_V1;
            case V2 -> AttentionNative.KERNEL_V2;
            case WGMMA -> AttentionNative.KERNEL_WGMMA;
        };
    }

    /**
     * Rows per head of the buffer behind a [B, H, S, D] view whose heads are {@code cap·D} apart and whose
     * rows are dense (strides [H·cap·D, cap·D, D, 1]), or -1 when the view has another layout.
     */
    static long kvCapacity(Tensor t) {
        long bb = t.dim(0), h = t.dim(1), s = t.dim(2), d = t.dim(3);
        long[] st = t.strides();
        if (d > 1 && st[3] != 1) {
            return -1;
        }
        if (s > 1 && st[2] != d) {
            return -1;
        }
        long headStride;
        if (h > 1) {
            headStride = st[1];
        } else if (bb > 1) {
            headStride = st[0];
        } else {
            return s;
        }
        if (headStride <= 0 || headStride % d != 0 || headStride / d < s) {
            return -1;
        }
        if (h > 1 && bb > 1 && st[0] != h * headStride) {
            return -1;
        }
        return headStride / d;
    }

    /**
     * The operands as the kernels read them: q and out contiguous (copies, or a contiguous temporary for out,
     * when not), k and v unchanged when both are KV-cache views of the same capacity (a contiguous tensor is one,
     * with capacity Sk), else contiguous copies. {@link #finish} copies a temporary out into the caller's view;
     * {@link #close} frees the temporaries.
     */
    static final class Layout implements AutoCloseable {
        final Tensor q, k, v, out;
        final long kvCapacity;
        private final Tensor target;
        private final List<Tensor> temps = new ArrayList<>(4);

        Layout(Tensor q, Tensor k, Tensor v, Tensor out) {
            try {
                this.q = contiguous(q);
                long cap = kvCapacity(k);
                if (cap < 0 || cap != kvCapacity(v)) {
                    this.k = contiguous(k);
                    this.v = contiguous(v);
                    cap = k.dim(2);
                } else {
                    this.k = k;
                    this.v = v;
                }
                this.kvCapacity = cap;
                this.target = out;
                this.out = out.isContiguous() ? out : temp(Tensor.empty(out.dtype(), out.device(), out.shape()));
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        private Tensor temp(Tensor t) {
            temps.add(t);
            return t;
        }

        private Tensor contiguous(Tensor t) {
            return t.isContiguous() ? t : temp(t.contiguous());
        }

        /** Copies the result into the caller's out when the kernel wrote a temporary. */
        void finish() {
            if (out != target) {
                Ops.copyInto(out, target);
            }
        }

        @Override
        public void close() {
            for (Tensor t : temps) {
                t.close();
            }
            temps.clear();
        }
    }

    static void attention(Tensor q, Tensor k, Tensor v, long kvCapacity, Tensor keyMask, float scale, boolean causal,
            Tensor out, long stream) {
        int dtype = q.dtype().code();
        long batch = q.dim(0), hq = q.dim(1), hkv = k.dim(1), sq = q.dim(2), sk = k.dim(2), d = q.dim(3);
        long bytes = tsr_cuda_attention_workspace_bytes(dtype, batch, hq, hkv, sq, sk, d);
        if (bytes < 0) {
            NativeStatus.check((int) -bytes, "tsr_cuda_attention_workspace_bytes");
        }
        Tensor ws = bytes > 0 ? Tensor.empty(DType.F32, q.device(), (bytes + 3) / 4) : null;
        try {
            NativeStatus.check(tsr_cuda_attention(dtype, q.address(), k.address(), v.address(), out.address(), batch,
                    hq, hkv, sq, sk, d, kvCapacity, keyMask == null ? 0 : keyMask.address(),
                    keyMask == null ? 0 : keyMask.dtype().code(), scale, causal ? 1 : 0, ws == null ? 0 : ws.address(),
                    bytes, stream, kernelCode(Attention.cudaKernel())), "tsr_cuda_attention");
        } finally {
            if (ws != null) {
                ws.close();
            }
        }
    }
}
