package dev.tessera.models.nn;

import dev.tessera.runtime.Tensor;

/**
 * Attention heads out of a stacked q | k | v projection: {@link #splitQkv} turns the projection's output
 * {@code [N, S, 3·H·D]} (columns q | k | v, each H heads of D) into contiguous {@code q}, {@code k}, {@code v}
 * {@code [N, H, S, D]} with ONE strided copy into a {@code [3, N, H, S, D]} buffer (instead of a copy per tensor in
 * the attention call); the three results are views of that buffer. Exact: only the layout changes.
 */
public final class Heads {
    private Heads() {}

    /**
     * {@code {q, k, v}}, each a contiguous {@code [n, heads, s, d]} view of one new buffer, from {@code qkv}
     * {@code [n, s, 3·heads·d]} (contiguous).
     */
    public static Tensor[] splitQkv(Tensor qkv, long n, long s, long heads, long d) {
        if (qkv.numel() != n * s * 3 * heads * d) {
            throw new IllegalArgumentException("Heads.splitQkv: " + qkv.describe() + " is not [" + n + ", " + s
                    + ", 3·" + heads + "·" + d + "]");
        }
        // [N, S, 3, H, D] -> [3, N, H, S, D]
        Tensor t = qkv.reshape(n, s, 3, heads, d).transpose(0, 2).transpose(1, 2).transpose(2, 3).contiguous();
        Tensor[] out = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            out[i] = t.slice(0, i, i + 1).reshape(n, heads, s, d);
        }
        return out;
    }
}
