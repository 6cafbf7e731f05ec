package dev.tessera.runtime;

import dev.tessera.runtime.Backend.MatmulPrecision;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The op set over {@link Tensor}s, one API for every backend. Each op checks its arguments (open
 * tensors, devices, dtypes, shapes) and throws {@link IllegalArgumentException} or
 * {@link IllegalStateException} naming the shapes <em>before</em> any native call, then dispatches
 * to the backend of the inputs' device. Results are new contiguous tensors on the same device, owned
 * by the caller (or the current {@link Scope}). Non-contiguous inputs are gathered first, except
 * where an op says it reads views in place ({@link #copyInto}, {@link #concat}, the binary ops,
 * {@link #rope}, {@link #matmul}).
 *
 * <p>Floating ops accept F32 on every backend and F16/BF16 where the backend supports them (CUDA
 * natively; CPU by computing in F32); reductions always accumulate in F32 or wider. The table of
 * every op with its semantics, dtypes and devices is {@code docs/ops.md}.
 */
public final class Ops {
    private static volatile MatmulPrecision defaultPrecision =
            "tf32".equalsIgnoreCase(System.getProperty("tessera.matmul.precision")) ? MatmulPrecision.TF32
                    : MatmulPrecision.FP32;

    private Ops() {}

    // ------------------------------------------------------------------ validation helpers

    /**
     * Temporaries made while preparing arguments, closed when the op returns; and, when made with the op's tensors,
     * an {@link InUse} holding those for the op (a close on another thread frees nothing under the native call).
     */
    private static final class Temps implements AutoCloseable {
        private final List<Tensor> list = new ArrayList<>(2);
        private final InUse use;

        /** Temporaries only (the op's tensors are held by an enclosing op). */
        Temps() {
            use = null;
        }

        /** Holds {@code held} (nulls skipped) until {@link #close()}. */
        Temps(String op, Tensor... held) {
            use = InUse.of(op, held);
        }

        Tensor contiguous(Tensor t) {
            if (t == null || t.isContiguous()) {
                return t;
            }
            Tensor c = t.contiguous();
            list.add(c);
            return c;
        }

        Tensor add(Tensor t) {
            list.add(t);
            return t;
        }

        @Override
        public void close() {
            for (Tensor t : list) {
                t.close();
            }
            if (use != null) {
                use.close();
            }
        }
    }

    /** What fills a new output tensor, with the op's temporaries. */
    @FunctionalInterface
    private interface Fill {
        void into(Temps tmp, Tensor out);
    }

    /**
     * {@code out} (a new tensor) after {@code fill} wrote it, {@code held} held and the temporaries closed on the way
     * out; if anything throws, {@code out} is closed before the exception leaves (no native or device memory lost).
     */
    private static Tensor filled(Tensor out, Fill fill, String op, Tensor... held) {
        return Tensor.filled(out, o -> {
            try (Temps tmp = new Temps(op, held)) {
                fill.into(tmp, o);
            }
        });
    }

    private static void sameDevice(String op, Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t != null && !t.device().equals(first.device())) {
                throw new IllegalArgumentException(op + ": tensors are on different devices: " + first.describe()
                        + " and " + t.describe());
            }
        }
    }

    private static void sameDtype(String op, Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t != null && t.dtype() != first.dtype()) {
                throw new IllegalArgumentException(op + ": dtype mismatch: " + first.describe() + " and " + t.describe());
            }
        }
    }

    private static void floating(String op, Tensor t) {
        if (!t.dtype().isFloating()) {
            throw new IllegalArgumentException(op + " needs a floating tensor (F32/F16/BF16), got " + t.describe());
        }
    }

    private static void rankAtLeast(String op, Tensor t, int r) {
        if (t.rank() < r) {
            throw new IllegalArgumentException(op + " needs at least " + r + " dims, got " + t.describe());
        }
    }

    private static Tensor like(Tensor t) {
        return Tensor.empty(t.dtype(), t.device(), t.shape());
    }

    private static void checkOut(String op, Tensor out, Tensor like) {
        Tensor.requireOpen(op, out);
        if (!out.device().equals(like.device()) || out.dtype() != like.dtype()
                || !Arrays.equals(out.shape(), like.shape()) || !out.isContiguous()) {
            throw new IllegalArgumentException(op + ": out must be a contiguous " + like.describe() + ", got "
                    + out.describe() + (out.isContiguous() ? "" : " (not contiguous)"));
        }
    }

    // ------------------------------------------------------------------ elementwise

    public static Tensor add(Tensor a, Tensor b) {
        return binary(BinaryOp.ADD, a, b);
    }

    public static Tensor sub(Tensor a, Tensor b) {
        return binary(BinaryOp.SUB, a, b);
    }

    public static Tensor mul(Tensor a, Tensor b) {
        return binary(BinaryOp.MUL, a, b);
    }

    public static Tensor div(Tensor a, Tensor b) {
        return binary(BinaryOp.DIV, a, b);
    }

    /**
     * {@code a (op) b} elementwise with NumPy broadcasting: shapes are aligned on the right and each pair of
     * dims must be equal or one of them 1 (e.g. a bias [D] over [B, S, D], a per-row factor [B, S, 1] over
     * [B, S, D], a mask [B, 1, S] over [B, H, S]); the result has the broadcast shape and a's dtype. Inputs
     * may be views (broadcast operands are read in place).
     */
    public static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase(java.util.Locale.ROOT);
        Tensor.requireOpen(name, a, b);
        sameDevice(name, a, b);
        sameDtype(name, a, b);
        floating(name, a);
        return Tensor.filled(Tensor.empty(a.dtype(), a.device(), broadcastShape(name, a, b)),
                out -> binary(op, a, b, out));
    }

    /**
     * As {@link #binary(BinaryOp, Tensor, Tensor)} into a preallocated contiguous {@code out} of the broadcast
     * shape; {@code out} may be {@code a} or {@code b} when that input has the broadcast shape.
     */
    public static void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        String name = op.name().toLowerCase(java.util.Locale.ROOT);
        Tensor.requireOpen(name, a, b, out);
        sameDevice(name, a, b, out);
        sameDtype(name, a, b);
        floating(name, a);
        long[] shape = broadcastShape(name, a, b);
        if (!out.device().equals(a.device()) || out.dtype() != a.dtype() || !Arrays.equals(out.shape(), shape)
                || !out.isContiguous()) {
            throw new IllegalArgumentException(name + ": out must be a contiguous " + a.dtype() + Arrays.toString(shape)
                    + " on " + a.device() + ", got " + out.describe() + (out.isContiguous() ? "" : " (not contiguous)"));
        }
        if (out.numel() == 0) {
            return; // an empty result (a [n, 0] plus a [0] row): nothing to compute, no kernel to call
        }
        boolean same = Arrays.equals(a.shape(), b.shape());
        boolean row = !same && b.rank() == 1 && a.rank() >= 1 && b.dim(0) == a.dim(-1);
        try (Temps tmp = new Temps(name, a, b, out)) {
            Tensor ca = apart(a, out, tmp);
            Tensor cb = apart(b, out, tmp);
            if (same && ca.isContiguous() && cb.isContiguous()) {
                a.backend().binary(op, ca, cb, out);
            } else if (row && ca.isContiguous() && cb.isContiguous()) {
                a.backend().binaryRow(op, ca, cb, out);
            } else {
                a.backend().binaryBroadcast(op, ca, cb, out);
            }
        }
    }

    /** The NumPy broadcast of a's and b's shapes, or an exception naming both. */
    private static long[] broadcastShape(String op, Tensor a, Tensor b) {
        long[] sa = a.shape();
        long[] sb = b.shape();
        int r = Math.max(sa.length, sb.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            int ia = i - (r - sa.length);
            int ib = i - (r - sb.length);
            long da = ia >= 0 ? sa[ia] : 1;
            long db = ib >= 0 ? sb[ib] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(sa) + " and " + Arrays.toString(sb)
                        + " do not broadcast (dims must be equal or 1, aligned on the right)");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * {@code t} itself, or a copy when it shares memory with {@code out} in another layout (a broadcast read
     * of an element the op has already overwritten).
     */
    private static Tensor apart(Tensor t, Tensor out, Temps tmp) {
        if (t.storage() != out.storage() || !extentsOverlap(t, out)) {
            return t;
        }
        if (t.offset() == out.offset() && t.isContiguous() && Arrays.equals(t.shape(), out.shape())) {
            return t; // elementwise in place
        }
        Tensor c = tmp.add(Tensor.empty(t.dtype(), t.device(), t.shape()));
        t.backend().copyStrided(t, c);
        return c;
    }

    /** {@code alpha * x + beta}. */
    public static Tensor affine(Tensor x, float alpha, float beta) {
        Tensor.requireOpen("affine", x);
        floating("affine", x);
        return filled(like(x), (tmp, out) -> x.backend().affine(tmp.contiguous(x), alpha, beta, out), "affine", x);
    }

    public static Tensor scale(Tensor x, float alpha) {
        return affine(x, alpha, 0f);
    }

    // ------------------------------------------------------------------ norms, softmax, activations

    /** Layer norm over the last dim; gamma/beta (1-D, last dim) may be null. */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Tensor.requireOpen("layerNorm", x);
        floating("layerNorm", x);
        rankAtLeast("layerNorm", x, 1);
        checkVector("layerNorm", "gamma", x, gamma);
        checkVector("layerNorm", "beta", x, beta);
        checkEps("layerNorm", eps);
        return filled(like(x), (tmp, out) -> x.backend().layerNorm(tmp.contiguous(x), tmp.contiguous(gamma),
                tmp.contiguous(beta), eps, out), "layerNorm", x, gamma, beta);
    }

    /** RMS norm over the last dim: x / sqrt(mean(x²) + eps) · gamma (gamma may be null). */
    public static Tensor rmsNorm(Tensor x, Tensor gamma, float eps) {
        Tensor.requireOpen("rmsNorm", x);
        floating("rmsNorm", x);
        rankAtLeast("rmsNorm", x, 1);
        checkVector("rmsNorm", "gamma", x, gamma);
        checkEps("rmsNorm", eps);
        return filled(like(x), (tmp, out) -> x.backend().rmsNorm(tmp.contiguous(x), tmp.contiguous(gamma), eps, out),
                "rmsNorm", x, gamma);
    }

    private static void checkEps(String op, float eps) {
        if (!(eps >= 0f) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException(op + ": eps must be finite and >= 0, got " + eps);
        }
    }

    private static void checkVector(String op, String what, Tensor x, Tensor v) {
        if (v == null) {
            return;
        }
        Tensor.requireOpen(op, v);
        sameDevice(op, x, v);
        sameDtype(op, x, v);
        if (v.rank() != 1 || v.dim(0) != x.dim(-1)) {
            throw new IllegalArgumentException(op + ": " + what + " must be 1-D of size " + x.dim(-1) + " (last dim of "
                    + x.describe() + "), got " + v.describe());
        }
    }

    /** Softmax over the last dim. */
    public static Tensor softmax(Tensor x) {
        return softmax(x, false);
    }

    /**
     * Softmax over the last dim; with {@code causal}, x is [..., q, k] scores and row i may only see
     * keys j &lt;= i + (k - q) (bottom-right aligned, as with a KV cache longer than the query).
     */
    public static Tensor softmax(Tensor x, boolean causal) {
        Tensor.requireOpen("softmax", x);
        floating("softmax", x);
        rankAtLeast("softmax", x, causal ? 2 : 1);
        long causalQ = causal ? x.dim(-2) : 0;
        if (causal && x.dim(-2) > x.dim(-1)) {
            throw new IllegalArgumentException("softmax(causal): query length " + x.dim(-2)
                    + " exceeds key length " + x.dim(-1) + " in " + x.describe());
        }
        return filled(like(x), (tmp, out) -> x.backend().softmax(tmp.contiguous(x), causalQ, out), "softmax", x);
    }

    /**
     * Log-softmax over the last dim, {@code x − max − log Σ exp(x − max)} (log-probabilities for beam search,
     * log-prob thresholds). A row holding NaN or +∞, or made only of −∞, gives NaN.
     */
    public static Tensor logSoftmax(Tensor x) {
        Tensor.requireOpen("logSoftmax", x);
        floating("logSoftmax", x);
        rankAtLeast("logSoftmax", x, 1);
        return filled(like(x), (tmp, out) -> x.backend().logSoftmax(tmp.contiguous(x), out), "logSoftmax", x);
    }

    /** GELU, exact (erf) form. */
    public static Tensor gelu(Tensor x) {
        return gelu(x, false);
    }

    /** GELU, tanh approximation ("gelu_new" / "gelu_pytorch_tanh"). */
    public static Tensor geluTanh(Tensor x) {
        return gelu(x, true);
    }

    private static Tensor gelu(Tensor x, boolean tanh) {
        Tensor.requireOpen("gelu", x);
        floating("gelu", x);
        return filled(like(x), (tmp, out) -> x.backend().gelu(tmp.contiguous(x), tanh, out), "gelu", x);
    }

    /** SiLU (swish): x · sigmoid(x). */
    public static Tensor silu(Tensor x) {
        Tensor.requireOpen("silu", x);
        floating("silu", x);
        return filled(like(x), (tmp, out) -> x.backend().silu(tmp.contiguous(x), out), "silu", x);
    }

    // ------------------------------------------------------------------ gather, layout, dtype

    /** Rows of {@code table} [vocab, dim] at {@code ids} (I32/I64, any shape) → [...ids, dim]. */
    public static Tensor embedding(Tensor ids, Tensor table) {
        Tensor.requireOpen("embedding", ids, table);
        sameDevice("embedding", ids, table);
        if (ids.dtype() != DType.I32 && ids.dtype() != DType.I64) {
            throw new IllegalArgumentException("embedding: ids must be I32 or I64, got " + ids.describe());
        }
        floating("embedding", table);
        if (table.rank() != 2) {
            throw new IllegalArgumentException("embedding: table must be [vocab, dim], got " + table.describe());
        }
        long[] ids_shape = ids.shape();
        long[] outShape = Arrays.copyOf(ids_shape, ids_shape.length + 1);
        outShape[ids_shape.length] = table.dim(1);
        return filled(Tensor.empty(table.dtype(), table.device(), outShape),
                (tmp, out) -> ids.backend().embedding(tmp.contiguous(ids), tmp.contiguous(table), out), "embedding",
                ids, table);
    }

    /** A contiguous copy with the last two dims swapped. */
    public static Tensor transpose(Tensor x) {
        Tensor.requireOpen("transpose", x);
        rankAtLeast("transpose", x, 2);
        long[] s = x.shape();
        long t = s[s.length - 1];
        s[s.length - 1] = s[s.length - 2];
        s[s.length - 2] = t;
        return filled(Tensor.empty(x.dtype(), x.device(), s),
                (tmp, out) -> x.backend().transposeLast2(tmp.contiguous(x), out), "transpose", x);
    }

    /** A contiguous copy converted among F32/F16/BF16. */
    public static Tensor convert(Tensor x, DType target) {
        Tensor.requireOpen("convert", x);
        floating("convert", x);
        if (target == null || !target.isFloating()) {
            throw new IllegalArgumentException("convert: target must be F32, F16 or BF16, got " + target);
        }
        return filled(Tensor.empty(target, x.device(), x.shape()), (tmp, out) -> {
            Tensor c = tmp.contiguous(x);
            if (target == x.dtype()) {
                x.backend().copy(c, out);
            } else {
                x.backend().convert(c, out);
            }
        }, "convert", x);
    }

    // ------------------------------------------------------------------ copies between views, concat

    /**
     * Copies {@code src} (any view) into {@code dst}, a view of the same shape, dtype and device that may itself
     * be strided: a slice of a bigger tensor such as a KV cache ({@code Ops.copyInto(kNew, cache.slice(2, pos,
     * pos + n))}) or a part of a concatenation. Views that share memory with {@code src} are handled (src is
     * staged through a temporary first). {@code dst} must not map two indices to one element (no broadcast
     * strides).
     */
    public static void copyInto(Tensor src, Tensor dst) {
        Tensor.requireOpen("copyInto", src, dst);
        sameDevice("copyInto", src, dst);
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("copyInto: dtype mismatch: src " + src.describe() + ", dst "
                    + dst.describe() + " (convert with Ops.convert first)");
        }
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw new IllegalArgumentException("copyInto: shapes differ: src " + src.describe() + ", dst "
                    + dst.describe());
        }
        if (src.numel() == 0) {
            return;
        }
        if (selfOverlapping(dst)) {
            throw new IllegalArgumentException("copyInto: dst " + dst.describe() + " with strides "
                    + Arrays.toString(dst.strides()) + " maps several indices to one element");
        }
        try (InUse use = InUse.of("copyInto", src, dst)) {
            if (src.storage() == dst.storage() && extentsOverlap(src, dst)) {
                try (Tensor staged = Tensor.empty(src.dtype(), src.device(), src.shape())) {
                    src.backend().copyStrided(src, staged);
                    src.backend().copyStrided(staged, dst);
                }
                return;
            }
            src.backend().copyStrided(src, dst);
        }
    }

    /** Whether a view reaches one element through two indices (a stride-0 or interleaved dst). */
    private static boolean selfOverlapping(Tensor t) {
        long[] d = t.shape();
        long[] s = t.strides();
        Integer[] order = new Integer[d.length];
        int n = 0;
        for (int i = 0; i < d.length; i++) {
            if (d[i] > 1) {
                order[n++] = i;
            }
        }
        Arrays.sort(order, 0, n, (a, b) -> Long.compare(Math.abs(s[a]), Math.abs(s[b])));
        long extent = 0; // largest offset reachable with the dims seen so far
        for (int j = 0; j < n; j++) {
            int i = order[j];
            long st = Math.abs(s[i]);
            if (st <= extent) {
                return true;
            }
            extent += st * (d[i] - 1);
        }
        return false;
    }

    /** Whether the element ranges spanned by two views of one storage intersect. */
    private static boolean extentsOverlap(Tensor a, Tensor b) {
        long[] ra = span(a);
        long[] rb = span(b);
        return ra[0] <= rb[1] && rb[0] <= ra[1];
    }

    private static long[] span(Tensor t) {
        long lo = t.offset();
        long hi = t.offset();
        long[] d = t.shape();
        long[] s = t.strides();
        for (int i = 0; i < d.length; i++) {
            long reach = (d[i] - 1) * s[i];
            if (reach < 0) {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        return new long[] {lo, hi};
    }

    /**
     * Concatenation along {@code dim} (negative counts from the end) of tensors (any views) with the same
     * dtype, device and rank and equal sizes in every other dim → a new contiguous tensor. Parts of size 0
     * along {@code dim} are allowed.
     */
    public static Tensor concat(int dim, Tensor... parts) {
        if (parts == null || parts.length == 0) {
            throw new IllegalArgumentException("concat: no tensors given");
        }
        Tensor.requireOpen("concat", parts);
        Tensor first = parts[0];
        sameDevice("concat", first, parts);
        sameDtype("concat", first, parts);
        int rank = first.rank();
        if (rank == 0) {
            throw new IllegalArgumentException("concat needs tensors of rank >= 1, got " + first.describe());
        }
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException("concat: dim " + dim + " is out of range for rank " + rank + " ("
                    + first.describe() + ")");
        }
        long total = 0;
        for (Tensor p : parts) {
            if (p.rank() != rank) {
                throw new IllegalArgumentException("concat: ranks differ: " + first.describe() + " and " + p.describe());
            }
            for (int i = 0; i < rank; i++) {
                if (i != d && p.dim(i) != first.dim(i)) {
                    throw new IllegalArgumentException("concat along dim " + dim + ": sizes differ in dim " + i + ": "
                            + first.describe() + " and " + p.describe());
                }
            }
            total = Math.addExact(total, p.dim(d));
        }
        long[] shape = first.shape();
        shape[d] = total;
        return Tensor.filled(Tensor.empty(first.dtype(), first.device(), shape), out -> {
            long at = 0;
            for (Tensor p : parts) {
                long n = p.dim(d);
                if (n > 0) {
                    try (Tensor view = out.slice(d, at, at + n)) {
                        copyInto(p, view);
                    }
                }
                at += n;
            }
        });
    }

    /** As {@link #concat(int, Tensor...)}. */
    public static Tensor concat(int dim, List<Tensor> parts) {
        if (parts == null) {
            throw new IllegalArgumentException("concat: no tensors given");
        }
        return concat(dim, parts.toArray(new Tensor[0]));
    }

    // ------------------------------------------------------------------ unary table

    /** {@code op(x)} elementwise (fp32 maths; F32/F16/BF16 storage) → a new tensor of x's shape and dtype. */
    public static Tensor unary(UnaryOp op, Tensor x) {
        if (op == null) {
            throw new IllegalArgumentException("unary: op is null");
        }
        String name = op.name().toLowerCase(java.util.Locale.ROOT);
        Tensor.requireOpen(name, x);
        return Tensor.filled(like(x), out -> unary(op, x, out));
    }

    /** As {@link #unary(UnaryOp, Tensor)} into a preallocated contiguous {@code out} (which may be x). */
    public static void unary(UnaryOp op, Tensor x, Tensor out) {
        if (op == null) {
            throw new IllegalArgumentException("unary: op is null");
        }
        String name = op.name().toLowerCase(java.util.Locale.ROOT);
        Tensor.requireOpen(name, x, out);
        sameDevice(name, x, out);
        floating(name, x);
        checkOut(name, out, x);
        try (Temps tmp = new Temps(name, x, out)) {
            x.backend().unary(op, tmp.contiguous(apart(x, out, tmp)), out);
        }
    }

    /** {@code 1 / (1 + e^-x)}. */
    public static Tensor sigmoid(Tensor x) {
        return unary(UnaryOp.SIGMOID, x);
    }

    public static Tensor tanh(Tensor x) {
        return unary(UnaryOp.TANH, x);
    }

    /** {@code max(x, 0)} (NaN stays NaN). */
    public static Tensor relu(Tensor x) {
        return unary(UnaryOp.RELU, x);
    }

    public static Tensor exp(Tensor x) {
        return unary(UnaryOp.EXP, x);
    }

    /** Natural log ({@code x < 0} gives NaN, 0 gives −∞). */
    public static Tensor log(Tensor x) {
        return unary(UnaryOp.LOG, x);
    }

    /** CLIP's quick GELU: {@code x · sigmoid(1.702 x)}. */
    public static Tensor quickGelu(Tensor x) {
        return unary(UnaryOp.QUICK_GELU, x);
    }

    // ------------------------------------------------------------------ rotary position embedding

    /**
     * Rotary position embedding in the Hugging Face {@code rotate_half} convention (Llama, Mistral, Qwen...):
     * with {@code x1 = x[..., :D/2]}, {@code x2 = x[..., D/2:]},
     * {@code out = cat(x1·cos − x2·sin, x2·cos + x1·sin)}.
     *
     * <p>{@code x} is [B, H, S, D] with D even, F32/F16/BF16, any view whose last dim has unit stride (e.g. a
     * [B, S, H, D] projection output viewed with {@code transpose(1, 2)}: read in place, no copy); other views
     * are gathered first. {@code cos} and {@code sin} are F32 [S, D/2] (one table for the batch: the rows of
     * the positions of x's S tokens, e.g. a slice of a precomputed table at the decode offset) or [B, S, D/2]
     * (per-sequence positions). Their second half of HF's [S, D] tables (a duplicate of the first) is not
     * passed. Returns a new contiguous tensor of x's shape and dtype (fp32 maths).
     */
    public static Tensor rope(Tensor x, Tensor cos, Tensor sin) {
        Tensor.requireOpen("rope", x, cos, sin);
        sameDevice("rope", x, cos, sin);
        floating("rope", x);
        if (x.rank() != 4) {
            throw new IllegalArgumentException("rope: x must be [batch, heads, seq, headDim], got " + x.describe());
        }
        long b = x.dim(0);
        long s = x.dim(2);
        long d = x.dim(3);
        if (d % 2 != 0) {
            throw new IllegalArgumentException("rope: head dim must be even, got " + x.describe());
        }
        for (Tensor t : new Tensor[] {cos, sin}) {
            String which = t == cos ? "cos" : "sin";
            if (t.dtype() != DType.F32) {
                throw new IllegalArgumentException("rope: " + which + " must be F32, got " + t.describe());
            }
            boolean shared = t.rank() == 2 && t.dim(0) == s && t.dim(1) == d / 2;
            boolean perBatch = t.rank() == 3 && t.dim(0) == b && t.dim(1) == s && t.dim(2) == d / 2;
            if (!shared && !perBatch) {
                throw new IllegalArgumentException("rope: " + which + " must be [" + s + ", " + d / 2 + "] or [" + b
                        + ", " + s + ", " + d / 2 + "] for x " + x.describe() + ", got " + t.describe());
            }
        }
        if (!Arrays.equals(cos.shape(), sin.shape())) {
            throw new IllegalArgumentException("rope: cos " + cos.describe() + " and sin " + sin.describe()
                    + " differ in shape");
        }
        return filled(like(x), (tmp, out) -> {
            Tensor xv = x;
            if (d > 1 && x.strides()[3] != 1) {
                xv = tmp.contiguous(x);
            }
            x.backend().rope(xv, tmp.contiguous(cos), tmp.contiguous(sin), out);
        }, "rope", x, cos, sin);
    }

    // ------------------------------------------------------------------ last-dim reductions

    /** Sum over the last dim (fp32 or wider accumulation) → x's shape without its last dim, x's dtype. */
    public static Tensor sumLastDim(Tensor x) {
        return reduceLastDim("sumLastDim", x, false);
    }

    /** Mean over the last dim (fp32 or wider accumulation) → x's shape without its last dim, x's dtype. */
    public static Tensor meanLastDim(Tensor x) {
        return reduceLastDim("meanLastDim", x, true);
    }

    private static Tensor reduceLastDim(String op, Tensor x, boolean mean) {
        Tensor.requireOpen(op, x);
        floating(op, x);
        rankAtLeast(op, x, 1);
        long cols = x.dim(-1);
        if (mean && cols == 0) {
            throw new IllegalArgumentException(op + ": the last dim of " + x.describe() + " is empty");
        }
        return filled(Tensor.empty(x.dtype(), x.device(), Arrays.copyOf(x.shape(), x.rank() - 1)), (tmp, out) -> {
            if (out.numel() > 0) {
                x.backend().sumLastDim(tmp.contiguous(x), mean ? (float) (1.0 / cols) : 1f, out);
            }
        }, op, x);
    }

    /**
     * Sum over {@code dim} (negative counts from the end) → x's shape without that dim, x's dtype; e.g. mean
     * pooling of [B, S, D] token states over S: {@code Ops.sum(Ops.mul(h, mask3), 1)} with mask3 [B, S, 1].
     * Other dims than the last are moved last by a gathering copy first.
     */
    public static Tensor sum(Tensor x, int dim) {
        return reduceDim("sum", x, dim, false);
    }

    /** Mean over {@code dim} (see {@link #sum(Tensor, int)}); an empty dim is refused. */
    public static Tensor mean(Tensor x, int dim) {
        return reduceDim("mean", x, dim, true);
    }

    private static Tensor reduceDim(String op, Tensor x, int dim, boolean mean) {
        Tensor.requireOpen(op, x);
        floating(op, x);
        rankAtLeast(op, x, 1);
        int r = x.rank();
        int d = dim < 0 ? dim + r : dim;
        if (d < 0 || d >= r) {
            throw new IllegalArgumentException(op + ": dim " + dim + " is out of range for " + x.describe());
        }
        if (d == r - 1) {
            return reduceLastDim(op, x, mean);
        }
        try (Temps tmp = new Temps()) {
            Tensor v = x;
            for (int i = d; i < r - 1; i++) { // move dim d last, keeping the order of the others
                v = tmp.add(v.transpose(i, i + 1));
            }
            return reduceLastDim(op, v, mean);
        }
    }

    /**
     * Index of the largest element of each row (last dim) of x, rows in row-major order of x's leading dims;
     * copied to the host. Ties give the first index; a row holding NaN gives the index of its first NaN (NaN
     * counts as the maximum, as in PyTorch). Greedy decoding: {@code argmaxLastDim(logits.slice(1, S - 1, S))}.
     */
    public static int[] argmaxLastDim(Tensor x) {
        Tensor.requireOpen("argmaxLastDim", x);
        floating("argmaxLastDim", x);
        rankAtLeast("argmaxLastDim", x, 1);
        long cols = x.dim(-1);
        if (cols < 1 || cols >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("argmaxLastDim: last dim must be in [1, 2^31 - 1), got " + x.describe());
        }
        long rows = x.numel() / cols;
        if (rows > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("argmaxLastDim: too many rows for a Java array: " + x.describe());
        }
        if (rows == 0) {
            return new int[0];
        }
        try (Temps tmp = new Temps("argmaxLastDim", x); Tensor out = Tensor.empty(DType.I32, x.device(), rows)) {
            x.backend().argmaxLastDim(tmp.contiguous(x), out);
            return out.toIntArray();
        }
    }

    // ------------------------------------------------------------------ matmul

    public static MatmulPrecision defaultMatmulPrecision() {
        return defaultPrecision;
    }

    /** FP32 (default) or TF32 for fp32 matmuls on CUDA; also {@code -Dtessera.matmul.precision=tf32}. */
    public static void setDefaultMatmulPrecision(MatmulPrecision p) {
        defaultPrecision = p == null ? MatmulPrecision.FP32 : p;
    }

    /**
     * Matrix product of the last two dims: a [..., m, k] · b [..., k, n] → [..., m, n]. b's batch dims equal a's
     * or broadcast to them (dims of 1, aligned on the right): b [k, n] (a weight) over all of a's batch,
     * b [1, H, k, n] over a [B, H, m, k]. a is never broadcast: the result has a's batch dims.
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, defaultPrecision);
    }

    /**
     * As {@link #matmul(Tensor, Tensor)}. Transposed views of the last two dims (e.g. {@code b.t()}) are passed to
     * BLAS as transposes, without a copy; a 2-D (or batch-of-one) b is shared by every batch (stride 0), and other
     * broadcast batch dims of b are read in place where their strides allow, else gathered.
     */
    public static Tensor matmul(Tensor a, Tensor b, MatmulPrecision precision) {
        Tensor.requireOpen("matmul", a, b);
        sameDevice("matmul", a, b);
        sameDtype("matmul", a, b);
        floating("matmul", a);
        rankAtLeast("matmul", a, 2);
        rankAtLeast("matmul", b, 2);
        long m = a.dim(-2);
        long k = a.dim(-1);
        long n = b.dim(-1);
        if (b.dim(-2) != k) {
            throw new IllegalArgumentException("matmul: inner dimensions differ: " + a.describe() + " · "
                    + b.describe() + " (" + k + " vs " + b.dim(-2) + ")");
        }
        long[] batchA = Arrays.copyOf(a.shape(), a.rank() - 2);
        long[] batchB = Arrays.copyOf(b.shape(), b.rank() - 2);
        long[] batchOut = broadcastBatch(a, b, batchA, batchB);
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("matmul: dims too large for BLAS: " + a.describe() + " · " + b.describe());
        }
        long batch = Shape.numel(batchOut);
        if (batch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("matmul: batch too large: " + a.describe() + " · " + b.describe());
        }
        long[] outShape = Arrays.copyOf(batchOut, batchOut.length + 2);
        outShape[outShape.length - 2] = m;
        outShape[outShape.length - 1] = n;
        return filled(Tensor.empty(a.dtype(), a.device(), outShape), (tmp, out) -> {
            boolean shareB = Shape.numel(batchB) == 1;
            Tensor bm = shareB && b.rank() > 2 ? tmp.add(matrixView(b)) : b;
            if (shareB && batch > 1 && a.isContiguous()) {
                // fold a's batch into rows: one GEMM [batch*m, k] · [k, n]
                long rows = batch * m;
                if (rows > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("matmul: too many rows for BLAS: " + a.describe());
                }
                Tensor a2 = tmp.add(a.reshape(rows, k));
                gemmViews(a2, bm, out, (int) rows, (int) n, (int) k, 1, false, tmp, precision);
            } else if (shareB) {
                gemmViews(a, bm, out, (int) m, (int) n, (int) k, (int) batch, true, tmp,
                        precision);
            } else {
                gemmViews(a, expand(b, batchOut, tmp), out, (int) m, (int) n, (int) k,
                        (int) batch, false, tmp, precision);
            }
        }, "matmul", a, b);
    }

    /** a's batch dims when b's broadcast to them, else an exception naming both operands. */
    private static long[] broadcastBatch(Tensor a, Tensor b, long[] ba, long[] bb) {
        boolean ok = bb.length <= ba.length;
        for (int i = 0; ok && i < bb.length; i++) {
            long da = ba[i + ba.length - bb.length];
            ok = bb[i] == da || bb[i] == 1;
        }
        if (!ok) {
            throw new IllegalArgumentException("matmul: batch dims differ: " + a.describe() + " · " + b.describe()
                    + " (b's batch dims must equal a's or be 1, aligned on the right; b may be 2-D)");
        }
        return ba;
    }

    /** The last two dims of a tensor whose batch dims are all 1, as a 2-D view. */
    private static Tensor matrixView(Tensor t) {
        long[] s = t.strides();
        t.storage().retain();
        return new Tensor(t.storage(), t.dtype(), new long[] {t.dim(-2), t.dim(-1)},
                new long[] {s[s.length - 2], s[s.length - 1]}, t.offset());
    }

    /** A view of t with its batch dims broadcast (stride 0) to {@code batch}; t itself if they already match. */
    private static Tensor expand(Tensor t, long[] batch, Temps tmp) {
        long[] shape = t.shape();
        int r = t.rank();
        if (r - 2 == batch.length && Arrays.equals(Arrays.copyOf(shape, r - 2), batch)) {
            return t;
        }
        long[] full = Arrays.copyOf(batch, batch.length + 2);
        full[batch.length] = shape[r - 2];
        full[batch.length + 1] = shape[r - 1];
        long[] st = Shape.broadcastStrides(shape, t.strides(), full);
        t.storage().retain();
        return tmp.add(new Tensor(t.storage(), t.dtype(), full, st, t.offset()));
    }

    /** {@code x [..., in] · weightᵀ + bias}, with weight [out, in] as Hugging Face stores it; bias may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return linear(x, weight, bias, FusedActivation.NONE, null);
    }

    /**
     * Fused linear layer {@code act(x [..., in] · weightᵀ + bias) + residual} with weight [out, in] (any strides);
     * bias [out] and residual (x's shape with the last dim {@code out}) may be null, act null means
     * {@link FusedActivation#NONE}. x may be a view; the result is a new contiguous tensor [..., out]. On the CPU
     * the bias, activation and residual are applied in one pass over the product; prefer
     * {@link #linear(Tensor, PackedWeight, Tensor, FusedActivation, Tensor)} for a weight used more than once.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias, FusedActivation act, Tensor residual) {
        Tensor.requireOpen("linear", x, weight);
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("linear: weight must be [out, in], got " + weight.describe());
        }
        sameDevice("linear", x, weight);
        sameDtype("linear", x, weight);
        return linearImpl(x, weight, null, weight.dim(0), weight.dim(1), bias, act, residual);
    }

    /**
     * As {@link #linear(Tensor, Tensor, Tensor, FusedActivation, Tensor)} with a weight packed once by
     * {@link PackedWeight#pack} (on the CPU: the backend's own GEMM on the packed panels, threaded on the native
     * pool, the epilogue applied while each tile of the result is in registers).
     */
    public static Tensor linear(Tensor x, PackedWeight weight, Tensor bias, FusedActivation act, Tensor residual) {
        Tensor.requireOpen("linear", x);
        if (weight == null) {
            throw new IllegalArgumentException("linear: packed weight is null");
        }
        if (weight.isClosed()) {
            throw new IllegalStateException("linear: " + weight + " is closed");
        }
        Tensor w = weight.data();
        sameDevice("linear", x, w);
        if (x.dtype() != weight.dtype()) {
            throw new IllegalArgumentException("linear: input " + x.describe() + " and " + weight
                    + " have different dtypes");
        }
        return weight.isPacked() ? linearImpl(x, null, w, weight.out(), weight.in(), bias, act, residual)
                : linearImpl(x, w, null, weight.out(), weight.in(), bias, act, residual);
    }

    private static Tensor linearImpl(Tensor x, Tensor weight, Tensor packed, long n, long k, Tensor bias,
            FusedActivation act, Tensor residual) {
        floating("linear", x);
        rankAtLeast("linear", x, 1);
        if (act == null) {
            act = FusedActivation.NONE;
        }
        if (x.dim(-1) != k) {
            throw new IllegalArgumentException("linear: input " + x.describe() + " has " + x.dim(-1)
                    + " features, weight [" + n + ", " + k + "] expects " + k);
        }
        if (bias != null) {
            Tensor.requireOpen("linear", bias);
            sameDevice("linear", x, bias);
            sameDtype("linear", x, bias);
            if (bias.rank() != 1 || bias.dim(0) != n) {
                throw new IllegalArgumentException("linear: bias must be [" + n + "], got " + bias.describe());
            }
        }
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = n;
        if (residual != null) {
            Tensor.requireOpen("linear", residual);
            sameDevice("linear", x, residual);
            sameDtype("linear", x, residual);
            if (!Arrays.equals(residual.shape(), outShape)) {
                throw new IllegalArgumentException("linear: residual " + residual.describe() + " must have the shape "
                        + Shape.str(outShape) + " of the output");
            }
        }
        long m = x.numel() / Math.max(k, 1);
        if (k == 0) {
            m = Shape.numel(Arrays.copyOf(outShape, outShape.length - 1));
        }
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("linear: dims too large: input " + x.describe() + ", weight [" + n
                    + ", " + k + "]");
        }
        Tensor out = Tensor.empty(x.dtype(), x.device(), outShape);
        if (m == 0 || n == 0) {
            return out;
        }
        try (Temps tmp = new Temps("linear", x, weight, packed, bias, residual)) {
            Tensor x2 = rowsView(x, m, k, tmp);
            Tensor w = weight;
            if (w != null && !(w.strides()[1] == 1 || w.strides()[0] == 1 || k == 1 || n == 1)) {
                w = tmp.contiguous(w);
            }
            Tensor b = tmp.contiguous(bias);
            Tensor r = residual == null ? null : tmp.add(tmp.contiguous(residual).reshape(m, n));
            Tensor o2 = tmp.add(out.reshape(m, n));
            if (k == 0) {
                x.backend().fillZero(o2);
            }
            x.backend().linear(x2, w, packed, b, act, r, o2);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** x [..., k] as a 2-D view [m, k] with unit stride along k (a copy only when the layout needs one). */
    private static Tensor rowsView(Tensor x, long m, long k, Temps tmp) {
        if (x.isContiguous()) {
            return tmp.add(x.reshape(m, k));
        }
        if (x.rank() == 2 && (x.strides()[1] == 1 || k == 1) && x.strides()[0] >= k) {
            return x;
        }
        if (x.rank() >= 2 && (x.strides()[x.rank() - 1] == 1 || k == 1)) {
            // leading dims that collapse into one row stride (e.g. a slice of the last dim)
            long[] st = x.strides();
            long[] d = x.shape();
            long rowStride = st[x.rank() - 2];
            boolean ok = rowStride >= k;
            long expect = rowStride;
            for (int i = x.rank() - 2; ok && i >= 0; i--) {
                if (d[i] != 1 && st[i] != expect) {
                    ok = false;
                }
                expect = (d[i] == 1 ? expect : st[i]) * d[i];
            }
            if (ok) {
                x.storage().retain();
                return tmp.add(new Tensor(x.storage(), x.dtype(), new long[] {m, k}, new long[] {rowStride, 1},
                        x.offset()));
            }
        }
        return tmp.add(tmp.contiguous(x).reshape(m, k));
    }

    /** Where the last two dims of a view sit in memory: row-major (ld = row stride) or transposed. */
    private record MatLayout(boolean transposed, int ld, long batchStride) {}

    private static MatLayout layout(Tensor t, int batchDims) {
        long[] s = t.strides();
        long[] d = t.shape();
        int r = d.length;
        long rows = d[r - 2];
        long cols = d[r - 1];
        long sr = s[r - 2];
        long sc = s[r - 1];
        Boolean transposed = null;
        long ld = 0;
        if ((sc == 1 || cols == 1) && sr >= Math.max(cols, 1) && sr <= Integer.MAX_VALUE) {
            transposed = false;
            ld = Math.max(sr, Math.max(cols, 1));
        } else if ((sr == 1 || rows == 1) && sc >= Math.max(rows, 1) && sc <= Integer.MAX_VALUE) {
            transposed = true;
            ld = Math.max(sc, Math.max(rows, 1));
        }
        if (transposed == null) {
            return null;
        }
        // the batch dims must collapse to one stride
        long batchStride = 0;
        long expected = -1;
        for (int i = batchDims - 1; i >= 0; i--) {
            if (d[i] == 1) {
                continue;
            }
            if (expected == -1) {
                batchStride = s[i];
            } else if (s[i] != expected) {
                return null;
            }
            expected = s[i] * d[i];
        }
        return new MatLayout(transposed, (int) ld, batchStride);
    }

    private static void gemmViews(Tensor a, Tensor b, Tensor out, int m, int n, int k, int batch, boolean shareB,
            Temps tmp, MatmulPrecision precision) {
        MatLayout la = layout(a, a.rank() - 2);
        if (la == null) {
            a = tmp.add(a.contiguous());
            la = layout(a, a.rank() - 2);
        }
        MatLayout lb = layout(b, b.rank() - 2);
        if (lb == null) {
            b = tmp.add(b.contiguous());
            lb = layout(b, b.rank() - 2);
        }
        long strideA = la.batchStride();
        long strideB = shareB ? 0 : lb.batchStride();
        a.backend().gemm(la.transposed(), lb.transposed(), m, n, k, 1f, a, la.ld(), strideA, b, lb.ld(), strideB, 0f,
                out, n, (long) m * n, batch, precision);
    }
}
