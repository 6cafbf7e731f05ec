package dev.tessera.models.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Attention;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Heads}: the CPU views of a stacked q | k | v projection hold the same values as the one-copy split, read the
 * projection in place, and give an attention result whose head merge ({@code transpose(1, 2).contiguous()}) copies
 * nothing.
 */
class HeadsTest {
    @Test
    @SuppressWarnings("try")
    void viewsEqualSplitAndCopyNothing() {
        int n = 2, s = 5, heads = 3, d = 4;
        float[] data = new float[n * s * 3 * heads * d];
        Random rnd = new Random(7);
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        try (Scope ignored = Tessera.scope()) {
            Tensor qkv = Tensor.of(data, n, s, 3L * heads * d);
            Tensor[] views = Heads.forAttention(qkv, n, s, heads, d); // CPU: the views
            Tensor[] split = Heads.splitQkv(qkv, n, s, heads, d);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(new long[] {n, heads, s, d}, views[i].shape());
                assertArrayEquals(new long[] {(long) s * 3 * heads * d, d, 3L * heads * d, 1}, views[i].strides());
                assertEquals(qkv.address() + 4L * i * heads * d, views[i].address(), "view " + i + " reads in place");
                assertArrayEquals(split[i].toFloatArray(), views[i].toFloatArray(), "tensor " + i);
            }
            Tensor a = Attention.scaledDotProduct(views[0], views[1], views[2]);
            Tensor merged = a.transpose(1, 2).contiguous();
            assertEquals(a.address(), merged.address(), "the merge of heads is a view");
            Tensor ref = Attention.scaledDotProduct(split[0], split[1], split[2]).transpose(1, 2).contiguous();
            assertTrue(ref.isContiguous());
            assertArrayEquals(ref.toFloatArray(), merged.toFloatArray());
            Tensor bad = Tensor.empty(DType.F32, qkv.device(), n, s, 3L * heads * d + 1);
            assertThrows(IllegalArgumentException.class, () -> Heads.qkvViews(bad, n, s, heads, d));
        }
    }
}
