package dev.tessera.models.nn;

import dev.tessera.runtime.Tensor;

/**
 * Attention heads out of a stacked q | k | v projection {@code [N, S, 3·H·D]} (columns q | k | v, each H heads of
 * D). {@link #forAttention} is what an encoder layer calls: on the CPU the attention kernel reads strided views, so
 * {@link #qkvViews} (no copy); elsewhere {@link #splitQkv} (ONE strided copy into a {@code [3, N, H, S, D]} buffer
 * instead of a copy per tensor in the attention call). Exact: only the layout changes.
 */
public final class Heads {
    private Heads() {}

    /**
     * {@code {q, k, v}}, each a contiguous {@code [n, heads, s, d]} view of one new buffer, from {@code qkv}
     * {@code [n, s, 3·heads·d]} (contiguous).
     */
    public static Tensor[] splitQkv(Tensor qkv, long n, long s, long heads, long d) {
        check("splitQkv", qkv, n, s, heads, d);
        // [N, S, 3, H, D] -> [3, N, H, S, D]
        Tensor t = qkv.reshape(n, s, 3, heads, d).transpose(0, 2).transpose(1, 2).transpose(2, 3).contiguous();
        Tensor[] out = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            out[i] = t.slice(0, i, i + 1).reshape(n, heads, s, d);
        }
        return out;
    }

    /**
     * {@code {q, k, v}}, each an {@code [n, heads, s, d]} view of {@code qkv} {@code [n, s, 3·heads·d]} (contiguous)
     * itself, no copy: heads are {@code d} apart and rows {@code 3·heads·d} apart. For the CPU attention, which
     * reads such views in place and returns its result in the same heads-inside-rows layout.
     */
    public static Tensor[] qkvViews(Tensor qkv, long n, long s, long heads, long d) {
        check("qkvViews", qkv, n, s, heads, d);
        Tensor[] out = new Tensor[3];
        try (Tensor rows = qkv.reshape(n, s, 3 * heads, d)) { // [N, S, 3·H, D]
            for (int i = 0; i < 3; i++) {
                try (Tensor part = rows.slice(2, i * heads, (i + 1) * heads)) {
                    out[i] = part.transpose(1, 2);
                }
            }
        }
        return out;
    }

    /** {@link #qkvViews} on the CPU, {@link #splitQkv} on other devices. */
    public static Tensor[] forAttention(Tensor qkv, long n, long s, long heads, long d) {
        return qkv.device().isCpu() ? qkvViews(qkv, n, s, heads, d) : splitQkv(qkv, n, s, heads, d);
    }

    private static void check(String op, Tensor qkv, long n, long s, long heads, long d) {
        if (qkv.numel() != n * s * 3 * heads * d) {
            throw new IllegalArgumentException("Heads." + op + ": " + qkv.describe() + " is not [" + n + ", " + s
                    + ", 3·" + heads + "·" + d + "]");
        }
    }
}
