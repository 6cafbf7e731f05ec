package dev.tessera.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fused scaled dot-product attention: {@code softmax(Q·Kᵀ·scale + masks)·V} in one native pass that never
 * materialises the {@code [Sq, Sk]} score matrix (flash-style tiles with an online softmax).
 *
 * <h2>Layout</h2>
 * Every tensor is {@code [batch, heads, seq, head_dim]}:
 * <ul>
 *   <li>{@code q [B, Hq, Sq, D]} → result {@code [B, Hq, Sq, D]}, same dtype and device;</li>
 *   <li>{@code k, v [B, Hkv, Sk, D]}. {@code Sk} may differ from {@code Sq} (cross-attention, KV cache);
 *       {@code Hkv} may be smaller than {@code Hq} (grouped-query attention: {@code Hq % Hkv == 0}, query
 *       head {@code h} uses KV head {@code h / (Hq / Hkv)}; {@code Hkv = 1} is multi-query attention).</li>
 * </ul>
 * q, k and v may be any views (slices, transposes): heads sliced out of a fused projection
 * ({@code qkv.reshape(B, S, 3·H, D).slice(2, 0, H).transpose(1, 2)}), a {@code [B, S, H, D]} tensor transposed,
 * a sliced KV cache. On the CPU the kernel reads them in place through their strides (a view whose head_dim is
 * not unit stride is copied first); on CUDA the ones its kernels cannot read are copied (q contiguous; k and v
 * contiguous or KV-cache views).
 *
 * <p>The result's memory layout follows q's on the CPU (as PyTorch's preserve-format): when q's heads lie inside
 * its rows ({@code q.strides()[1] < q.strides()[2]}, with more than one head and row, e.g. q a view of a
 * {@code [B, S, H, D]} or {@code [B, S, 3, H, D]} buffer) the result is the {@code transpose(1, 2)} view of a new
 * contiguous {@code [B, Sq, Hq, D]} tensor, so {@code out.transpose(1, 2).contiguous()} (merging the heads back
 * into rows) is a view, no copy. Otherwise, and always on CUDA, the result is a contiguous
 * {@code [B, Hq, Sq, D]} tensor.
 *
 * <h2>Masks and scale ({@link Options})</h2>
 * <ul>
 *   <li>causal: query row {@code i} sees keys {@code j <= i + (Sk - Sq)} (bottom-right aligned, as for a KV
 *       cache longer than the query; the same rule as {@link Ops#softmax(Tensor, boolean)});</li>
 *   <li>key-padding mask: {@code [B, Sk]} I32 or I64 as Hugging Face's {@code attention_mask}: 0 = padding,
 *       never attended; non-zero = attend;</li>
 *   <li>a query row that sees no key at all gets zeros;</li>
 *   <li>scale defaults to {@code 1/sqrt(D)}.</li>
 * </ul>
 *
 * <h2>KV cache</h2>
 * {@code k} and {@code v} may be views of a preallocated cache {@code [B, Hkv, capacity, D]} sliced along the
 * sequence ({@code cache.slice(2, 0, len)}): the kernels read the cache in place (its strides are passed
 * down), no copy. {@link #decode} is that call spelled out. With 1–4 query rows the kernels split the keys
 * over the cores / SMs and merge the partial softmax results (flash-decoding).
 *
 * <h2>Precision and devices</h2>
 * F32 on every backend; F16 / BF16 natively on CUDA (tensor cores, fp32 softmax and accumulation) and through
 * F32 on the CPU. head_dim 1..256.
 *
 * <h2>CUDA kernel choice</h2>
 * The F16 / BF16 tensor-core path has two kernels computing the same function ({@link CudaKernel}): {@code V1}
 * and the faster-by-design {@code V2} (128-row query blocks, double-buffered key tiles; head_dim 64 and 128,
 * other sizes fall back to V1), and on Hopper a third, {@code WGMMA} (warpgroup MMA, compute capability 9.0 only).
 * {@code AUTO}, the default, takes WGMMA on a compute capability 9.0 device for head_dim 128, for head_dim 64
 * without a causal mask and for head_dim 64 causal from 4096 query rows (1.0–1.4× the faster of V1 / V2 there on
 * an H200); elsewhere V2 for head_dim 128 without a causal mask (1.2× V1 there on an H100) and V1 otherwise.
 * Chosen process-wide by
 * {@link #setCudaKernel}, or at start-up by the system property {@code tessera.cuda.attention} (or the
 * environment variable {@code TESSERA_CUDA_ATTENTION}) = {@code auto | v1 | v2 | wgmma}.
 *
 * <p>Every argument is checked before any native call: open tensors ({@link IllegalStateException}), ranks,
 * batch, head counts, head_dim, dtypes, devices and mask shape ({@link IllegalArgumentException} naming the
 * shapes). Results are new tensors (views owning their storage alone, see Layout) owned by the caller (or the
 * current {@link Scope}); temporaries are closed.
 */
public final class Attention {
    /** Largest head_dim the kernels accept. */
    public static final int MAX_HEAD_DIM = 256;

    /** System property choosing the {@link CudaKernel} ({@code auto}, {@code v1}, {@code v2} or {@code wgmma}). */
    public static final String CUDA_KERNEL_PROPERTY = "tessera.cuda.attention";
    /** Environment variable read when {@link #CUDA_KERNEL_PROPERTY} is not set. */
    public static final String CUDA_KERNEL_ENV = "TESSERA_CUDA_ATTENTION";

    /**
     * Tensor-core kernel of the CUDA F16 / BF16 path (F32, decode with 1–4 query rows and head_dim above 128 use
     * the SIMT kernel whatever the choice). Every kernel computes the same function; results differ by fp32
     * rounding order only.
     */
    public enum CudaKernel {
        /**
         * The library's choice: on compute capability 9.0, {@link #WGMMA} for head_dim 128, for head_dim 64 without a
         * causal mask and for head_dim 64 causal from 4096 query rows; elsewhere {@link #V2} for head_dim 128 without
         * a causal mask, else {@link #V1}.
         */
        AUTO,
        /** 64 query rows per block, single-buffered 64-key tiles; any head_dim up to 128 (padded to 64 / 128). */
        V1,
        /**
         * 128 query rows per block (32 per warp), double-buffered key tiles; head_dim 64 and 128 with a positive
         * scale on devices with enough shared memory per block (sm_80, sm_90); other cases run {@link #V1}.
         */
        V2,
        /**
         * Hopper warpgroup MMA ({@code wgmma.mma_async}, code for sm_90a only): 128 query rows per block in two
         * warpgroups (ping-pong schedule; {@code TESSERA_WGMMA_SCHEDULE=lockstep} for the first one, {@code ws} for the
         * warp-specialised TMA kernel, not yet run on a GPU), 128-key tiles
         * in swizzled shared memory; head_dim 64 and 128 with a positive scale, other cases run {@link #V1}.
         * On a device other than compute capability 9.0 (H100 / H200) the F16 / BF16 tensor-core calls throw
         * {@link UnsupportedOperationException} (the SIMT paths are unaffected).
         */
        WGMMA;

        /**
         * Parses {@code auto}, {@code v1}, {@code v2} or {@code wgmma} (any case, surrounding blanks ignored).
         *
         * @throws IllegalArgumentException for any other value
         */
        public static CudaKernel parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "auto" -> AUTO;
                case "v1" -> V1;
                case "v2" -> V2;
                case "wgmma" -> WGMMA;
                default -> throw new IllegalArgumentException("CUDA attention kernel must be auto, v1, v2 or wgmma,"
                        + " got '" + value + "'");
            };
        }
    }

    private static volatile CudaKernel cudaKernel; // null: not yet read from the property / environment

    private Attention() {}

    /**
     * The CUDA tensor-core kernel in use: the last {@link #setCudaKernel} value, else (read once) the system
     * property {@value #CUDA_KERNEL_PROPERTY}, else the environment variable {@value #CUDA_KERNEL_ENV}, else
     * {@link CudaKernel#AUTO}.
     *
     * @throws IllegalArgumentException if the property or variable holds something other than auto, v1, v2, wgmma
     */
    public static CudaKernel cudaKernel() {
        CudaKernel k = cudaKernel;
        if (k == null) {
            String prop = System.getProperty(CUDA_KERNEL_PROPERTY);
            String src = CUDA_KERNEL_PROPERTY;
            if (prop == null) {
                prop = System.getenv(CUDA_KERNEL_ENV);
                src = CUDA_KERNEL_ENV;
            }
            try {
                k = prop == null ? CudaKernel.AUTO : CudaKernel.parse(prop);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(src + ": " + e.getMessage(), e);
            }
            cudaKernel = k;
        }
        return k;
    }

    /** Chooses the CUDA tensor-core kernel for later calls, process-wide ({@code null} = {@code AUTO}). */
    public static void setCudaKernel(CudaKernel kernel) {
        cudaKernel = kernel == null ? CudaKernel.AUTO : kernel;
    }

    /**
     * Options of {@link #scaledDotProduct(Tensor, Tensor, Tensor, Options)}; immutable.
     *
     * @param causal bottom-right aligned causal mask
     * @param keyPaddingMask {@code [B, Sk]} I32/I64, 0 = padding; or null
     * @param scale the factor applied to {@code Q·Kᵀ}; {@code NaN} means the default {@code 1/sqrt(D)}
     */
    public record Options(boolean causal, Tensor keyPaddingMask, float scale) {
        /** No mask, default scale. */
        public static Options defaults() {
            return new Options(false, null, Float.NaN);
        }

        /** Causal, default scale. */
        public static Options causalMask() {
            return new Options(true, null, Float.NaN);
        }

        public Options withCausal(boolean c) {
            return new Options(c, keyPaddingMask, scale);
        }

        public Options withKeyPaddingMask(Tensor mask) {
            return new Options(causal, mask, scale);
        }

        public Options withScale(float s) {
            return new Options(causal, keyPaddingMask, s);
        }

        /** The scale used for head_dim {@code d}. */
        public float scaleFor(long d) {
            return Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(d)) : scale;
        }
    }

    /** {@code softmax(Q·Kᵀ/sqrt(D))·V} without masks. */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v) {
        return scaledDotProduct(q, k, v, Options.defaults());
    }

    /** {@code softmax(Q·Kᵀ/sqrt(D))·V}, causal or not. */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, boolean causal) {
        return scaledDotProduct(q, k, v, Options.defaults().withCausal(causal));
    }

    /**
     * Scaled dot-product attention (see the class comment for layouts and semantics).
     *
     * @throws IllegalArgumentException if a rank, batch, head count, head_dim, dtype, device or the mask shape
     *     does not match (the message names the shapes)
     * @throws IllegalStateException if a tensor is closed
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, Options options) {
        final String op = "Attention.scaledDotProduct";
        Options opt = options == null ? Options.defaults() : options;
        Tensor mask = opt.keyPaddingMask();
        Tensor.requireOpen(op, q, k, v);
        if (mask != null) {
            Tensor.requireOpen(op, mask);
        }
        rank4(op, "q", q);
        rank4(op, "k", k);
        rank4(op, "v", v);
        for (Tensor t : new Tensor[] {k, v, mask}) {
            if (t != null && !t.device().equals(q.device())) {
                throw new IllegalArgumentException(op + ": tensors are on different devices: q " + q.describe()
                        + " and " + t.describe());
            }
        }
        if (!q.dtype().isFloating()) {
            throw new IllegalArgumentException(op + " needs floating tensors (F32/F16/BF16), got q " + q.describe());
        }
        if (k.dtype() != q.dtype() || v.dtype() != q.dtype()) {
            throw new IllegalArgumentException(op + ": dtype mismatch: q " + q.describe() + ", k " + k.describe()
                    + ", v " + v.describe());
        }
        long b = q.dim(0), hq = q.dim(1), sq = q.dim(2), d = q.dim(3);
        long hkv = k.dim(1), sk = k.dim(2);
        if (k.dim(0) != b || v.dim(0) != b) {
            throw new IllegalArgumentException(op + ": batch mismatch: q " + q.describe() + ", k " + k.describe()
                    + ", v " + v.describe());
        }
        if (v.dim(1) != hkv) {
            throw new IllegalArgumentException(op + ": k and v head counts differ: k " + k.describe() + ", v "
                    + v.describe());
        }
        if (v.dim(2) != sk) {
            throw new IllegalArgumentException(op + ": k and v sequence lengths differ: k " + k.describe() + ", v "
                    + v.describe());
        }
        if (k.dim(3) != d || v.dim(3) != d) {
            throw new IllegalArgumentException(op + ": head_dim mismatch: q " + q.describe() + ", k " + k.describe()
                    + ", v " + v.describe() + " (the last dims must be equal)");
        }
        if (hq < 1 || hkv < 1 || hq % hkv != 0) {
            throw new IllegalArgumentException(op + ": mismatched head counts: q has " + hq + " heads " + q.describe()
                    + ", k/v have " + hkv + " " + k.describe() + "; query heads must be a positive multiple of the"
                    + " key/value heads (grouped-query attention)");
        }
        if (b < 1 || d < 1 || d > MAX_HEAD_DIM) {
            throw new IllegalArgumentException(op + ": need batch >= 1 and 1 <= head_dim <= " + MAX_HEAD_DIM + ", got q "
                    + q.describe());
        }
        if (mask != null) {
            if (mask.dtype() != DType.I32 && mask.dtype() != DType.I64) {
                throw new IllegalArgumentException(op + ": key padding mask must be I32 or I64 [B, Sk] = [" + b + ", "
                        + sk + "], got " + mask.describe());
            }
            if (mask.rank() != 2 || mask.dim(0) != b || mask.dim(1) != sk) {
                throw new IllegalArgumentException(op + ": key padding mask must be [B, Sk] = [" + b + ", " + sk
                        + "] for q " + q.describe() + " and k " + k.describe() + ", got " + mask.describe());
            }
        }
        float scale = opt.scaleFor(d);
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException(op + ": scale must be finite, got " + scale);
        }

        boolean cpu = q.device().isCpu();
        boolean headsInsideRows = cpu && headsInsideRows(q);
        Tensor out = allocate(q.dtype(), q.device(), b, hq, sq, d, headsInsideRows);
        if (sq == 0) {
            return out;
        }
        List<Tensor> temps = new ArrayList<>(6);
        try (InUse use = InUse.of(op, q, k, v, mask)) {
            Backend backend = q.backend();
            Tensor mc = contiguous(temps, mask);
            if (cpu && q.dtype() != DType.F32) {
                // the CPU kernels are fp32: contiguous F32 copies in, an F32 result in out's layout, converted
                Tensor qc = keep(temps, Ops.convert(q, DType.F32));
                Tensor kc = keep(temps, Ops.convert(k, DType.F32));
                Tensor vc = keep(temps, Ops.convert(v, DType.F32));
                try (Tensor o32 = allocate(DType.F32, q.device(), b, hq, sq, d, headsInsideRows)) {
                    backend.attention(qc, kc, vc, mc, scale, opt.causal(), o32);
                    try (Tensor o32rows = headsInsideRows ? o32.transpose(1, 2) : o32.contiguous();
                            Tensor outRows = headsInsideRows ? out.transpose(1, 2) : out.contiguous()) {
                        backend.convert(o32rows, outRows); // both contiguous, same physical layout
                    }
                }
            } else {
                backend.attention(unitLastStride(temps, q), unitLastStride(temps, k), unitLastStride(temps, v), mc,
                        scale, opt.causal(), out);
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        } finally {
            for (Tensor t : temps) {
                t.close();
            }
        }
        return out;
    }

    /**
     * Decode step against a KV cache: {@code q [B, Hq, Sq, D]} (typically 1–4 new rows) attends to the first
     * {@code length} rows of {@code kCache}/{@code vCache [B, Hkv, capacity, D]}, read in place. With
     * {@code options.causal()} the new rows are the last {@code Sq} of those {@code length} positions.
     */
    public static Tensor decode(Tensor q, Tensor kCache, Tensor vCache, long length, Options options) {
        final String op = "Attention.decode";
        Tensor.requireOpen(op, q, kCache, vCache);
        rank4(op, "kCache", kCache);
        rank4(op, "vCache", vCache);
        if (length < 0 || length > kCache.dim(2) || length > vCache.dim(2)) {
            throw new IllegalArgumentException(op + ": length " + length + " outside [0, capacity] for kCache "
                    + kCache.describe() + " and vCache " + vCache.describe());
        }
        try (Tensor k = kCache.slice(2, 0, length); Tensor v = vCache.slice(2, 0, length)) {
            return scaledDotProduct(q, k, v, options);
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Whether {@code q [B, H, S, D]}'s strides put the heads inside the sequence ({@code stride(1) < stride(2)}, as
     * for a view of a {@code [B, S, H, D]} or {@code [B, S, 3, H, D]} buffer) with more than one head and row: the
     * CPU result then takes that layout too.
     */
    static boolean headsInsideRows(Tensor q) {
        long[] st = q.strides();
        return q.dim(1) > 1 && q.dim(2) > 1 && st[1] < st[2];
    }

    /**
     * A new {@code [b, h, s, d]} tensor: contiguous, or (headsInsideRows) the {@code transpose(1, 2)} view of a
     * contiguous {@code [b, s, h, d]} one, which owns the storage alone.
     */
    private static Tensor allocate(DType dtype, Device device, long b, long h, long s, long d,
            boolean headsInsideRows) {
        if (!headsInsideRows) {
            return Tensor.empty(dtype, device, b, h, s, d);
        }
        try (Tensor rows = Tensor.empty(dtype, device, b, s, h, d)) {
            return rows.transpose(1, 2);
        }
    }

    /** {@code t} itself when its last dim has unit stride (or size 1), else a contiguous copy kept in temps. */
    private static Tensor unitLastStride(List<Tensor> temps, Tensor t) {
        if (t.dim(3) == 1 || t.strides()[3] == 1 || t.numel() == 0) {
            return t;
        }
        return keep(temps, t.contiguous());
    }

    private static Tensor keep(List<Tensor> temps, Tensor t) {
        temps.add(t);
        return t;
    }

    private static Tensor contiguous(List<Tensor> temps, Tensor t) {
        if (t == null || t.isContiguous()) {
            return t;
        }
        return keep(temps, t.contiguous());
    }

    private static void rank4(String op, String name, Tensor t) {
        if (t.rank() != 4) {
            throw new IllegalArgumentException(op + ": " + name + " must be [batch, heads, seq, head_dim], got "
                    + t.describe());
        }
    }
}
