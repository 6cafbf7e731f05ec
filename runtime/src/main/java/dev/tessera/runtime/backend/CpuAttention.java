package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.AttentionNative.tsr_cpu_attention_strided_f32;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Tensor;

/**
 * CPU kernel of the attention family ({@code tessera/attention.h}), fp32 only: the runtime's
 * {@link dev.tessera.runtime.Attention} computes F16/BF16 on the CPU by converting to F32 first. The kernel reads
 * q, k, v and writes out through their strides (any [B, H, S, D] views with a unit last-dim stride: heads sliced
 * out of a fused projection, a sliced KV cache, a transposed [B, S, H, D] output), so nothing is copied here.
 * Arguments have been validated by the caller; this class only checks the dtype and the last-dim stride.
 */
final class CpuAttention {
    private CpuAttention() {}

    static void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, float scale, boolean causal, Tensor out) {
        for (Tensor t : new Tensor[] {q, k, v, out}) {
            if (t.dtype() != DType.F32) {
                throw new IllegalArgumentException("attention on the CPU needs F32 tensors, got " + t.describe());
            }
            if (t.dim(3) > 1 && t.strides()[3] != 1) {
                throw new IllegalArgumentException("attention on the CPU needs a unit stride along head_dim, got "
                        + t.describe() + " with strides " + java.util.Arrays.toString(t.strides()));
            }
        }
        long[] qs = q.strides(), ks = k.strides(), vs = v.strides(), os = out.strides();
        NativeStatus.check(tsr_cpu_attention_strided_f32(q.address(), qs[0], qs[1], qs[2], k.address(), ks[0], ks[1],
                ks[2], v.address(), vs[0], vs[1], vs[2], out.address(), os[0], os[1], os[2], q.dim(0), q.dim(1),
                k.dim(1), q.dim(2), k.dim(2), q.dim(3), keyMask == null ? 0 : keyMask.address(),
                keyMask == null ? 0 : keyMask.dtype().code(), scale, causal ? 1 : 0), "tsr_cpu_attention_strided_f32");
    }
}
