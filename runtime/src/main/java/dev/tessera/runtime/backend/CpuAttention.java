package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.AttentionNative.tsr_cpu_attention_f32;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Tensor;

/**
 * CPU kernel of the attention family ({@code tessera/attention.h}), fp32 only: the runtime's
 * {@link dev.tessera.runtime.Attention} computes F16/BF16 on the CPU by converting to F32 first.
 * Arguments have been validated by the caller; this class only checks the dtype and maps shapes.
 */
final class CpuAttention {
    private CpuAttention() {}

    static void attention(Tensor q, Tensor k, Tensor v, long kvCapacity, Tensor keyMask, float scale, boolean causal,
            Tensor out) {
        for (Tensor t : new Tensor[] {q, k, v, out}) {
            if (t.dtype() != DType.F32) {
                throw new IllegalArgumentException("attention on the CPU needs F32 tensors, got " + t.describe());
            }
        }
        NativeStatus.check(tsr_cpu_attention_f32(q.address(), k.address(), v.address(), out.address(), q.dim(0),
                q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), kvCapacity,
                keyMask == null ? 0 : keyMask.address(), keyMask == null ? 0 : keyMask.dtype().code(), scale,
                causal ? 1 : 0), "tsr_cpu_attention_f32");
    }
}
