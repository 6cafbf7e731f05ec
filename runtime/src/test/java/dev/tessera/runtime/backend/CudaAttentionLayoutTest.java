package dev.tessera.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.testing.ScopePerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the CUDA attention kernels are handed ({@link CudaAttention.Layout}), checked on CPU tensors (only strides
 * matter, no GPU needed): q and out contiguous, k and v read in place when both are KV-cache views of one capacity
 * (a contiguous tensor, a cache sliced along the sequence), any other view copied; a strided out gets the result
 * copied back.
 */
@ExtendWith(ScopePerTest.class)
class CudaAttentionLayoutTest {
    static Tensor iota(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = i;
        }
        return Tensor.of(a, shape);
    }

    @Test
    void kvCapacityOfViews() {
        int b = 2, h = 3, cap = 50, s = 20, d = 8;
        Tensor cache = Tensor.empty(DType.F32, Device.CPU, b, h, cap, d);
        assertEquals(cap, CudaAttention.kvCapacity(cache.slice(2, 0, s)), "a sliced cache is read with its capacity");
        assertEquals(cap, CudaAttention.kvCapacity(cache));
        assertEquals(1, CudaAttention.kvCapacity(Tensor.empty(DType.F32, Device.CPU, 1, 1, 1, d)));
        // [B, S, H, D] transposed to [B, H, S, D]: rows are H·D apart, not a cache view
        assertEquals(-1, CudaAttention.kvCapacity(Tensor.empty(DType.F32, Device.CPU, b, s, h, d).transpose(1, 2)));
        // a slice of heads of a bigger cache: batch stride is not H·cap·D
        assertEquals(-1, CudaAttention.kvCapacity(cache.slice(1, 0, 2)));
        // head_dim not unit stride
        assertEquals(-1, CudaAttention.kvCapacity(Tensor.empty(DType.F32, Device.CPU, b, h, d, s).transpose(2, 3)));
    }

    @Test
    void layoutCopiesOnlyWhatTheKernelsCannotRead() {
        int b = 2, h = 3, s = 7, cap = 30, d = 8;
        Tensor q = iota(b, h, s, d);
        Tensor kc = iota(b, h, cap, d).slice(2, 0, s);
        Tensor vc = iota(b, h, cap, d).slice(2, 0, s);
        Tensor out = Tensor.empty(DType.F32, Device.CPU, b, h, s, d);
        try (CudaAttention.Layout in = new CudaAttention.Layout(q, kc, vc, out)) {
            assertSame(q, in.q);
            assertSame(kc, in.k);
            assertSame(vc, in.v);
            assertSame(out, in.out);
            assertEquals(cap, in.kvCapacity);
        }
        // q, k from a fused [B, S, 3H, D] buffer, v contiguous, out the [B, H, S, D] view of a [B, S, H, D] tensor
        Tensor fused = iota(b, s, 3 * h, d);
        Tensor qv = fused.slice(2, 0, h).transpose(1, 2);
        Tensor kv = fused.slice(2, h, 2 * h).transpose(1, 2);
        Tensor v = iota(b, h, s, d);
        Tensor outRows = Tensor.empty(DType.F32, Device.CPU, b, s, h, d);
        Tensor outView = outRows.transpose(1, 2);
        try (CudaAttention.Layout in = new CudaAttention.Layout(qv, kv, v, outView)) {
            assertNotSame(qv, in.q);
            assertTrue(in.q.isContiguous() && in.k.isContiguous() && in.v.isContiguous() && in.out.isContiguous());
            assertArrayEquals(qv.toFloatArray(), in.q.toFloatArray());
            assertArrayEquals(kv.toFloatArray(), in.k.toFloatArray());
            assertEquals(s, in.kvCapacity, "copied k and v are contiguous: capacity Sk");
            float[] r = iota(b, h, s, d).toFloatArray();
            in.out.copyFrom(r);
            in.finish();
            assertArrayEquals(r, outView.toFloatArray(), "the result lands in the caller's strided out");
        }
        // k and v views of different capacities: both copied
        Tensor v2 = iota(b, h, cap + 1, d).slice(2, 0, s);
        try (CudaAttention.Layout in = new CudaAttention.Layout(q, kc, v2, out)) {
            assertNotSame(kc, in.k);
            assertNotSame(v2, in.v);
            assertEquals(s, in.kvCapacity);
        }
    }
}
