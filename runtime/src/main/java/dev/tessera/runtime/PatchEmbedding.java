package dev.tessera.runtime;

import dev.tessera.runtime.Backend.MatmulPrecision;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Patch embedding, the stem of ViT / CLIP, and the 1-D convolution stem of Whisper: one op family built
 * from three steps that both share, on every backend and without leaving the device:
 *
 * <ol>
 *   <li>im2col: a native gather of the input windows into a matrix {@code cols [N, L, C·k]}
 *       ({@link #patchify} for non-overlapping 2-D patches, {@link #im2col1d} for a strided, zero-padded
 *       1-D window). With a class token the gather leaves one zero row in front of each image's patches;</li>
 *   <li>one GEMM over all N·(L + 1) or N·L rows with the convolution weight read as a {@code [D, C·k]}
 *       matrix, transposed in the BLAS call (no copy): OpenBLAS on the CPU, cuBLAS on CUDA. It writes
 *       straight into the result (no copy);</li>
 *   <li>one fused "finish" pass that adds the bias, writes the class token over the zero row and adds the
 *       position embeddings.</li>
 * </ol>
 *
 * <p>{@link #embed2d} equals {@code Conv2d(C, D, kernel=stride=(ph, pw))(images).flatten(2).transpose(1, 2)},
 * then {@code cat([cls, ·], dim=1) + pos}. {@link #conv1d} equals {@code Conv1d(C, D, K, stride, padding)}
 * with the result as {@code [N, T_out, D]} (sequence major, what the transformer after a stem wants) or, with
 * {@link Layout#CHANNELS_FIRST}, {@code [N, D, T_out]} as torch returns it.
 *
 * <p>Every argument is checked before any native call: open tensors ({@link IllegalStateException}),
 * devices, dtypes, shapes ({@link IllegalArgumentException} naming the shapes). Inputs may be any view
 * (non-contiguous ones are gathered first). F32 on every backend; F16 / BF16 natively on CUDA (fp32
 * accumulation) and through F32 on the CPU. Results are new tensors owned by the caller (or the current
 * {@link Scope}); temporaries are closed before returning.
 */
public final class PatchEmbedding {
    /** Memory layout of a {@link #conv1d} result. */
    public enum Layout {
        /** {@code [N, T_out, D]}: one row per output position. */
        SEQUENCE_MAJOR,
        /** {@code [N, D, T_out]}: torch's Conv1d layout. */
        CHANNELS_FIRST
    }

    private PatchEmbedding() {}

    // ------------------------------------------------------------------ public API

    /**
     * The ViT / CLIP stem without class token and position embeddings: {@code images [N, C, H, W]},
     * {@code weight [D, C, ph, pw]} (Conv2d layout; the patch size is read from it), optional
     * {@code bias [D]} → {@code [N, L, D]}, {@code L = (H/ph)·(W/pw)}, patches in row-major order.
     */
    public static Tensor embed2d(Tensor images, Tensor weight, Tensor bias) {
        return embed2d(images, weight, bias, null, null);
    }

    /**
     * The ViT / CLIP stem: patches of {@code images [N, C, H, W]} projected with {@code weight [D, C, ph, pw]}
     * (stride = patch size, no padding), plus {@code bias [D]}; then {@code clsToken} ({@code [D]}, also
     * accepted as {@code [1, D]} or {@code [1, 1, D]}) prepended as row 0 and {@code posEmbed}
     * ({@code [R, D]} or {@code [1, R, D]}, R = L + 1 with a class token, else L) added to every row.
     * Each of bias, clsToken, posEmbed may be null. Result: {@code [N, R, D]}.
     *
     * @throws IllegalArgumentException if the patch size does not divide H or W, or a shape, dtype or device
     *     does not match (the message names the shapes)
     * @throws IllegalStateException if a tensor is closed
     */
    public static Tensor embed2d(Tensor images, Tensor weight, Tensor bias, Tensor clsToken, Tensor posEmbed) {
        final String op = "PatchEmbedding.embed2d";
        Tensor.requireOpen(op, images, weight);
        openOptional(op, bias, clsToken, posEmbed);
        common(op, images, weight, bias, clsToken, posEmbed);
        rank(op, "images", images, 4, "[N, C, H, W]");
        rank(op, "weight", weight, 4, "[D, C, ph, pw]");
        long n = images.dim(0);
        long c = images.dim(1);
        long h = images.dim(2);
        long w = images.dim(3);
        long d = weight.dim(0);
        long ph = weight.dim(2);
        long pw = weight.dim(3);
        if (weight.dim(1) != c) {
            throw new IllegalArgumentException(op + ": weight " + shape(weight) + " ([D, C, ph, pw]) has "
                    + weight.dim(1) + " input channels but images " + shape(images) + " have " + c);
        }
        if (c < 1 || h < 1 || w < 1 || d < 1 || ph < 1 || pw < 1) {
            throw new IllegalArgumentException(op + ": empty images " + shape(images) + " or weight " + shape(weight));
        }
        if (h % ph != 0 || w % pw != 0) {
            throw new IllegalArgumentException(op + ": patch size " + ph + "x" + pw + " (weight " + shape(weight)
                    + ") does not divide the image size " + h + "x" + w + " (images " + shape(images) + ")");
        }
        long l = (h / ph) * (w / pw);
        long k = c * ph * pw;
        checkBias(op, bias, d);
        if (clsToken != null && !vectorLike(clsToken, d)) {
            throw new IllegalArgumentException(op + ": class token " + shape(clsToken) + " must be [" + d + "] (or [1, "
                    + d + "], [1, 1, " + d + "]) for weight " + shape(weight));
        }
        long rows = l + (clsToken != null ? 1 : 0);
        checkPos(op, posEmbed, rows, d, l, clsToken != null, images, weight);
        intSized(op, k, d, rows, l);
        try (InUse use = InUse.of(op, images, weight, bias, clsToken, posEmbed)) {
            if (!images.device().isCpu() || images.dtype() == DType.F32) {
                return run2d(images, weight, bias, clsToken, posEmbed, n, c, h, w, (int) ph, (int) pw, d, l, k);
            }
            try (Tensor x32 = images.to(DType.F32); Tensor w32 = weight.to(DType.F32); Tensor b32 = f32(bias);
                    Tensor c32 = f32(clsToken); Tensor p32 = f32(posEmbed);
                    Tensor out = run2d(x32, w32, b32, c32, p32, n, c, h, w, (int) ph, (int) pw, d, l, k)) {
                return out.to(images.dtype());
            }
        }
    }

    /** {@link #conv1d(Tensor, Tensor, Tensor, int, int, Layout)} with the result as {@code [N, T_out, D]}. */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return conv1d(x, weight, bias, stride, padding, Layout.SEQUENCE_MAJOR);
    }

    /**
     * 1-D convolution (Whisper's stem): {@code x [N, C, T]}, {@code weight [D, C, K]} (Conv1d layout),
     * optional {@code bias [D]}, {@code stride ≥ 1}, zero {@code padding ≥ 0} on both sides, no dilation →
     * {@code [N, T_out, D]} or {@code [N, D, T_out]} by {@code layout}, with
     * {@code T_out = (T + 2·padding − K) / stride + 1} ({@link #outputLength1d}).
     *
     * @throws IllegalArgumentException for a kernel longer than the padded input, a bad stride / padding, or
     *     a shape, dtype or device that does not match (the message names the shapes)
     * @throws IllegalStateException if a tensor is closed
     */
    public static Tensor conv1d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, Layout layout) {
        final String op = "PatchEmbedding.conv1d";
        Tensor.requireOpen(op, x, weight);
        openOptional(op, bias);
        if (layout == null) {
            throw new IllegalArgumentException(op + ": layout is null");
        }
        common(op, x, weight, bias);
        rank(op, "x", x, 3, "[N, C, T]");
        rank(op, "weight", weight, 3, "[D, C, K]");
        long n = x.dim(0);
        long c = x.dim(1);
        long t = x.dim(2);
        long d = weight.dim(0);
        long kw = weight.dim(2);
        if (weight.dim(1) != c) {
            throw new IllegalArgumentException(op + ": weight " + shape(weight) + " ([D, C, K]) has " + weight.dim(1)
                    + " input channels but x " + shape(x) + " has " + c);
        }
        if (c < 1 || t < 1 || d < 1 || kw < 1) {
            throw new IllegalArgumentException(op + ": empty x " + shape(x) + " or weight " + shape(weight));
        }
        long tOut = outputLength(op, t, kw, stride, padding, x, weight);
        checkBias(op, bias, d);
        long k = c * kw;
        intSized(op, k, d, tOut);
        try (InUse use = InUse.of(op, x, weight, bias)) {
            if (!x.device().isCpu() || x.dtype() == DType.F32) {
                return run1d(x, weight, bias, stride, padding, layout, n, c, t, d, kw, tOut, k);
            }
            try (Tensor x32 = x.to(DType.F32); Tensor w32 = weight.to(DType.F32); Tensor b32 = f32(bias);
                    Tensor out = run1d(x32, w32, b32, stride, padding, layout, n, c, t, d, kw, tOut, k)) {
                return out.to(x.dtype());
            }
        }
    }

    /** Output length of {@link #conv1d}: {@code (t + 2·padding − kernel) / stride + 1}; checks the arguments. */
    public static long outputLength1d(long t, int kernel, int stride, int padding) {
        return outputLength("PatchEmbedding.outputLength1d", t, kernel, stride, padding, null, null);
    }

    /**
     * The 2-D im2col alone: {@code images [N, C, H, W]} → {@code [N, (H/ph)·(W/pw), C·ph·pw]}, column
     * {@code (c·ph + i)·pw + j} of patch {@code (py, px)} holding pixel {@code (c, py·ph + i, px·pw + j)}.
     */
    public static Tensor patchify(Tensor images, int ph, int pw) {
        final String op = "PatchEmbedding.patchify";
        Tensor.requireOpen(op, images);
        floating(op, images);
        rank(op, "images", images, 4, "[N, C, H, W]");
        long h = images.dim(2);
        long w = images.dim(3);
        if (ph < 1 || pw < 1) {
            throw new IllegalArgumentException(op + ": patch size " + ph + "x" + pw + " must be positive");
        }
        if (images.dim(1) < 1 || h < 1 || w < 1 || h % ph != 0 || w % pw != 0) {
            throw new IllegalArgumentException(op + ": patch size " + ph + "x" + pw + " does not divide the image size "
                    + h + "x" + w + " (images " + shape(images) + ")");
        }
        long n = images.dim(0);
        long l = (h / ph) * (w / pw);
        long k = images.dim(1) * ph * pw;
        Tensor result = Tensor.empty(images.dtype(), images.device(), n, l, k);
        if (n == 0) {
            return result;
        }
        return Tensor.filled(result, out -> {
            try (InUse use = InUse.of(op, images); Temps tmp = new Temps()) {
                Tensor x = tmp.contiguous(images);
                if (x.device().isCpu() && x.dtype() != DType.F32) {
                    Tensor x32 = tmp.add(x.to(DType.F32));
                    Tensor o32 = tmp.add(Tensor.empty(DType.F32, Device.CPU, n, l, k));
                    backend(x).patchify(x32, ph, pw, o32);
                    Backends.get(Device.CPU).convert(o32, out);
                } else {
                    backend(x).patchify(x, ph, pw, out);
                }
            }
        });
    }

    /**
     * The 1-D im2col alone: {@code x [N, C, T]} → {@code [N, T_out, C·kernel]}, column {@code c·kernel + kk}
     * of row {@code t} holding {@code x[n, c, t·stride − padding + kk]} (0 outside the input).
     */
    public static Tensor im2col1d(Tensor x, int kernel, int stride, int padding) {
        final String op = "PatchEmbedding.im2col1d";
        Tensor.requireOpen(op, x);
        floating(op, x);
        rank(op, "x", x, 3, "[N, C, T]");
        if (x.dim(1) < 1 || x.dim(2) < 1) {
            throw new IllegalArgumentException(op + ": empty x " + shape(x));
        }
        long tOut = outputLength(op, x.dim(2), kernel, stride, padding, x, null);
        long n = x.dim(0);
        long k = Math.multiplyExact(x.dim(1), (long) kernel);
        Tensor result = Tensor.empty(x.dtype(), x.device(), n, tOut, k);
        if (n == 0) {
            return result;
        }
        return Tensor.filled(result, out -> {
            try (InUse use = InUse.of(op, x); Temps tmp = new Temps()) {
                Tensor xc = tmp.contiguous(x);
                if (xc.device().isCpu() && xc.dtype() != DType.F32) {
                    Tensor x32 = tmp.add(xc.to(DType.F32));
                    Tensor o32 = tmp.add(Tensor.empty(DType.F32, Device.CPU, n, tOut, k));
                    backend(xc).im2col1d(x32, kernel, stride, padding, o32);
                    Backends.get(Device.CPU).convert(o32, out);
                } else {
                    backend(xc).im2col1d(xc, kernel, stride, padding, out);
                }
            }
        });
    }

    // ------------------------------------------------------------------ the shared machinery

    /** F32 on the CPU, any floating dtype on CUDA; arguments validated. */
    private static Tensor run2d(Tensor images, Tensor weight, Tensor bias, Tensor cls, Tensor pos, long n, long c,
            long h, long w, int ph, int pw, long d, long l, long k) {
        long rows = l + (cls != null ? 1 : 0);
        Tensor result = Tensor.empty(images.dtype(), images.device(), n, rows, d);
        if (n == 0) {
            return result;
        }
        return Tensor.filled(result, out -> {
            try (Temps tmp = new Temps()) {
                Tensor x = tmp.contiguous(images);
                Backend be = backend(x);
                // with a class token each image's cols start with one zero row, so that one GEMM over all
                // N·(1 + L) rows fills the whole output and the finish overwrites those rows with the token
                Tensor cols = tmp.add(Tensor.empty(x.dtype(), x.device(), n, rows, k));
                be.patchify(x, ph, pw, cols);
                project(be, tmp, cols, n, rows, k, weight, d, bias, cls, pos, out);
            }
        });
    }

    private static Tensor run1d(Tensor x, Tensor weight, Tensor bias, int stride, int padding, Layout layout, long n,
            long c, long t, long d, long kw, long tOut, long k) {
        Tensor result = layout == Layout.SEQUENCE_MAJOR ? Tensor.empty(x.dtype(), x.device(), n, tOut, d)
                : Tensor.empty(x.dtype(), x.device(), n, d, tOut);
        if (n == 0) {
            return result;
        }
        return Tensor.filled(result, out -> {
            try (Temps tmp = new Temps()) {
                Tensor xc = tmp.contiguous(x);
                Backend be = backend(xc);
                Tensor cols = tmp.add(Tensor.empty(xc.dtype(), xc.device(), n, tOut, k));
                be.im2col1d(xc, (int) kw, stride, padding, cols);
                if (layout == Layout.SEQUENCE_MAJOR) {
                    project(be, tmp, cols, n, tOut, k, weight, d, bias, null, null, out);
                } else {
                    // out[n] [D, T_out] = W [D, K] · cols[n]ᵀ [K, T_out], one GEMM per batch entry
                    Tensor w2 = tmp.add(tmp.contiguous(weight).reshape(d, k));
                    be.gemm(false, true, (int) d, (int) tOut, (int) k, 1f, w2, (int) k, 0, cols, (int) k, tOut * k, 0f,
                            out, (int) tOut, d * tOut, Math.toIntExact(n), Ops.defaultMatmulPrecision());
                    if (bias != null) {
                        be.biasChannelsFirst(out, tmp.add(tmp.contiguous(bias).reshape(d)));
                    }
                }
            }
        });
    }

    /**
     * out [N, R, D] ← cols [N, R, K] · Wᵀ, then the fused finish. The batch folds into the GEMM's M (one call
     * of N·R rows) where that fits an int, else one GEMM per image.
     */
    private static void project(Backend be, Temps tmp, Tensor cols, long n, long rows, long k, Tensor weight, long d,
            Tensor bias, Tensor cls, Tensor pos, Tensor out) {
        MatmulPrecision prec = Ops.defaultMatmulPrecision();
        Tensor w2 = tmp.add(tmp.contiguous(weight).reshape(d, k));
        if (n * rows <= Integer.MAX_VALUE) {
            be.gemm(false, true, (int) (n * rows), (int) d, (int) k, 1f, cols, (int) k, 0, w2, (int) k, 0, 0f, out,
                    (int) d, 0, 1, prec);
        } else {
            be.gemm(false, true, (int) rows, (int) d, (int) k, 1f, cols, (int) k, rows * k, w2, (int) k, 0, 0f, out,
                    (int) d, rows * d, Math.toIntExact(n), prec);
        }
        if (bias != null || cls != null || pos != null) {
            be.patchFinish(out, bias == null ? null : tmp.add(tmp.contiguous(bias).reshape(d)),
                    cls == null ? null : tmp.add(tmp.contiguous(cls).reshape(d)),
                    pos == null ? null : tmp.add(tmp.contiguous(pos).reshape(rows, d)));
        }
    }

    // ------------------------------------------------------------------ validation

    /** Temporaries made while preparing arguments; closed when the op returns. */
    private static final class Temps implements AutoCloseable {
        private final List<Tensor> list = new ArrayList<>(6);

        Tensor contiguous(Tensor t) {
            if (t.isContiguous()) {
                return t;
            }
            return add(t.contiguous());
        }

        Tensor add(Tensor t) {
            list.add(t);
            return t;
        }

        @Override
        public void close() {
            for (int i = list.size() - 1; i >= 0; i--) {
                list.get(i).close();
            }
        }
    }

    private static Backend backend(Tensor t) {
        return Backends.get(t.device());
    }

    private static Tensor f32(Tensor t) {
        return t == null ? null : t.to(DType.F32);
    }

    private static String shape(Tensor t) {
        return t.describe();
    }

    private static void openOptional(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null) {
                Tensor.requireOpen(op, t);
            }
        }
    }

    private static void floating(String op, Tensor t) {
        if (!t.dtype().isFloating()) {
            throw new IllegalArgumentException(op + " needs floating tensors (F32/F16/BF16), got " + t.describe());
        }
    }

    /** Same device and dtype as the first, floating. */
    private static void common(String op, Tensor first, Tensor... others) {
        floating(op, first);
        for (Tensor t : others) {
            if (t == null) {
                continue;
            }
            if (!t.device().equals(first.device())) {
                throw new IllegalArgumentException(op + ": tensors are on different devices: " + first.describe()
                        + " and " + t.describe());
            }
            if (t.dtype() != first.dtype()) {
                throw new IllegalArgumentException(op + ": dtype mismatch: " + first.describe() + " and "
                        + t.describe());
            }
        }
    }

    private static void rank(String op, String what, Tensor t, int r, String layout) {
        if (t.rank() != r) {
            throw new IllegalArgumentException(op + ": " + what + " must be " + layout + ", got " + t.describe());
        }
    }

    /** Shape [d], or [1, ..., 1, d]. */
    private static boolean vectorLike(Tensor t, long d) {
        long[] s = t.shape();
        if (s.length == 0 || s[s.length - 1] != d) {
            return false;
        }
        for (int i = 0; i < s.length - 1; i++) {
            if (s[i] != 1) {
                return false;
            }
        }
        return true;
    }

    private static void checkBias(String op, Tensor bias, long d) {
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != d)) {
            throw new IllegalArgumentException(op + ": bias " + bias.describe() + " must be [" + d
                    + "] (one per output channel of the weight)");
        }
    }

    private static void checkPos(String op, Tensor pos, long rows, long d, long l, boolean cls, Tensor images,
            Tensor weight) {
        if (pos == null) {
            return;
        }
        long[] s = pos.shape();
        boolean ok = (s.length == 2 || (s.length == 3 && s[0] == 1)) && s[s.length - 2] == rows && s[s.length - 1] == d;
        if (!ok) {
            throw new IllegalArgumentException(op + ": position embeddings " + pos.describe() + " must be [" + rows
                    + ", " + d + "] (or [1, " + rows + ", " + d + "]): " + l + " patches of images " + images.describe()
                    + " with weight " + weight.describe() + (cls ? " plus the class token" : " (no class token)"));
        }
    }

    private static long outputLength(String op, long t, long kernel, int stride, int padding, Tensor x,
            Tensor weight) {
        String what = (x == null ? "" : " (x " + x.describe() + (weight == null ? "" : ", weight " + weight.describe())
                + ")");
        if (stride < 1 || padding < 0 || kernel < 1) {
            throw new IllegalArgumentException(op + ": kernel " + kernel + ", stride " + stride + ", padding " + padding
                    + ": need kernel >= 1, stride >= 1, padding >= 0" + what);
        }
        if (t > Long.MAX_VALUE - 2L * padding) {
            throw new IllegalArgumentException(op + ": input length " + t + " plus padding 2*" + padding
                    + " overflows a long" + what);
        }
        if (t < 1 || t + 2L * padding < kernel) {
            throw new IllegalArgumentException(op + ": kernel " + kernel + " is longer than the input length " + t
                    + " plus padding 2*" + padding + what);
        }
        return (t + 2L * padding - kernel) / stride + 1;
    }

    private static void intSized(String op, long... sizes) {
        for (long s : sizes) {
            if (s > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(op + ": size " + s + " exceeds the GEMM limit " + Integer.MAX_VALUE
                        + " " + Arrays.toString(sizes));
            }
        }
    }
}
