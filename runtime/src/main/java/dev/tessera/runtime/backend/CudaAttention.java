package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.AttentionNative.tsr_cuda_attention;
import static dev.tessera.bindings.jni.AttentionNative.tsr_cuda_attention_workspace_bytes;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.jni.AttentionNative;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Tensor;

/**
 * CUDA kernels of the attention family ({@code tessera/attention.h}) on the backend's stream: F32, F16,
 * BF16 storage, fp32 softmax and accumulation, asynchronous. The split-KV (flash-decoding) workspace comes
 * from the device's caching allocator and is released once the call is queued (the allocator reuses
 * blocks in stream order). The tensor-core kernel (F16/BF16) is {@link Attention#cudaKernel()}. Arguments have
 * been validated by the caller ({@link Attention}).
 */
final class CudaAttention {
    private CudaAttention() {}

    static int kernelCode(Attention.CudaKernel k) {
        return switch (k) {
            case AUTO -> AttentionNative.KERNEL_AUTO;
            case V1 -> AttentionNative.KERNEL_V1;
            case V2 -> AttentionNative.KERNEL_V2;
        };
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
