package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.rbm.ContrastiveDivergence;
import dev.tessera.runtime.rbm.Rbm;
import dev.tessera.runtime.rbm.RbmConfig;
import dev.tessera.runtime.rbm.RbmParams;
import dev.tessera.runtime.rbm.VisibleType;
import dev.tessera.runtime.testing.Fuzz;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Random calls of the CPU ops with arguments that are often almost right: shapes one dimension off, empty
 * dimensions, transposed and sliced views, other dtypes, closed tensors, token ids outside the table, NaN audio.
 * Every call either returns a result that can be read, or throws an {@link IllegalArgumentException} /
 * {@link IllegalStateException} (or, for token ids outside the table, Tessera's own
 * {@link IndexOutOfBoundsException}) with a one-line message before any native call: no other exception, no crash in
 * the kernels, and the CPU tensors' native memory back where it was after each call. A call that took a view gives
 * what it gives on contiguous copies of the same values. {@code
 * -Dtessera.fuzz.iterations=N} makes N calls per op (CI: a few hundred).
 */
class OpsArgumentFuzzTest {
    private static final DType[] FLOATS = {DType.F32, DType.F32, DType.F32, DType.F16, DType.BF16};

    /** Random tensors, mostly of the shape asked for, sometimes not. */
    private static final class Gen {
        final SplittableRandom r;
        /** Hand out contiguous copies of the views (same values): the second run of {@link #sameOnCopies}. */
        final boolean copies;
        boolean sawView;

        Gen(SplittableRandom r, boolean copies) {
            this.r = r;
            this.copies = copies;
        }

        long dim(long wanted) {
            return switch (r.nextInt(12)) {
                case 0 -> 0;
                case 1 -> wanted + 1;
                case 2 -> Math.max(0, wanted - 1);
                default -> wanted;
            };
        }

        /** A tensor of about {@code shape}: maybe another dtype, a view, closed. */
        Tensor about(long... shape) {
            long[] s = shape.clone();
            if (r.nextInt(10) == 0 && s.length > 0) {
                s[r.nextInt(s.length)] = dim(s[r.nextInt(s.length)]);
            }
            if (r.nextInt(15) == 0) { // a rank more or less
                s = r.nextBoolean() ? Arrays.copyOf(s, s.length + 1) : Arrays.copyOf(s, Math.max(0, s.length - 1));
                if (s.length > shape.length) {
                    s[s.length - 1] = 1 + r.nextInt(3);
                }
            }
            DType dt = r.nextInt(8) == 0 ? FLOATS[r.nextInt(FLOATS.length)] : DType.F32;
            Tensor t = make(dt, s);
            if (s.length >= 2 && r.nextInt(6) == 0) { // the same values as a transposed view of a transposed copy
                Tensor c = make(dt, swapLast(s));
                t = c.transpose(s.length - 2, s.length - 1);
            } else if (s.length >= 1 && s[0] > 1 && r.nextInt(8) == 0) { // a slice of a larger tensor
                long[] big = s.clone();
                big[0] += 2;
                t = make(dt, big).slice(0, 1, 1 + s[0]);
            }
            if (!t.isContiguous()) {
                sawView = true;
                if (copies) {
                    t = t.contiguous();
                }
            }
            if (r.nextInt(40) == 0) {
                t.close();
            }
            return t;
        }

        private static long[] swapLast(long[] s) {
            long[] o = s.clone();
            o[s.length - 1] = s[s.length - 2];
            o[s.length - 2] = s[s.length - 1];
            return o;
        }

        Tensor make(DType dt, long... s) {
            long n = 1;
            for (long d : s) {
                n *= d;
            }
            float[] v = new float[(int) n];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * (r.nextInt(50) == 0 ? 1e30 : 1));
            }
            Tensor t = Tensor.of(v, Device.CPU, s);
            if (dt != DType.F32) {
                t = Ops.convert(t, dt);
            }
            return t;
        }

        Tensor ids(long n, int vocab) {
            int[] v = new int[(int) n];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.nextInt(20) == 0 ? (r.nextBoolean() ? -1 - r.nextInt(3) : vocab + r.nextInt(3))
                        : r.nextInt(Math.max(1, vocab));
            }
            Tensor t = r.nextInt(4) == 0 ? Tensor.ofLongs(Arrays.stream(v).asLongStream().toArray(), Device.CPU, n)
                    : Tensor.ofInts(v, Device.CPU, n);
            return t;
        }

        int small(int max) {
            return 1 + r.nextInt(max);
        }
    }

    /**
     * One op under test; {@code sampled}: its result goes through random sampling (an RBM step), where a last-bit
     * difference between two layouts may flip a sample, so views are not compared with copies.
     */
    private record Case(String name, Function<Gen, Tensor> call, boolean sampled) {
        Case(String name, Function<Gen, Tensor> call) {
            this(name, call, false);
        }
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("add", g -> {
            long[] s = {g.small(4), g.small(7)};
            return Ops.add(g.about(s), g.r.nextBoolean() ? g.about(s) : g.about(s[1]));
        }));
        c.add(new Case("div", g -> {
            long[] s = {g.small(3), g.small(3), g.small(9)};
            return Ops.div(g.about(s), g.about(s));
        }));
        c.add(new Case("layerNorm", g -> {
            long d = g.small(70);
            return Ops.layerNorm(g.about(g.small(5), d), g.r.nextBoolean() ? g.about(d) : null,
                    g.r.nextBoolean() ? g.about(d) : null, g.r.nextInt(10) == 0 ? -1f : 1e-5f);
        }));
        c.add(new Case("rmsNorm", g -> {
            long d = g.small(70);
            return Ops.rmsNorm(g.about(g.small(3), g.small(3), d), g.about(d), 1e-6f);
        }));
        c.add(new Case("softmax", g -> Ops.softmax(g.about(g.small(4), g.small(40)), g.r.nextBoolean())));
        c.add(new Case("logSoftmax", g -> Ops.logSoftmax(g.about(g.small(4), g.small(40)))));
        c.add(new Case("gelu", g -> Ops.gelu(g.about(g.small(4), g.small(40)))));
        c.add(new Case("silu", g -> Ops.silu(g.about(g.small(100)))));
        c.add(new Case("embedding", g -> {
            int vocab = g.small(30);
            return Ops.embedding(g.ids(g.small(12), vocab), g.about(vocab, g.small(16)));
        }));
        c.add(new Case("transpose", g -> Ops.transpose(g.about(g.small(9), g.small(9)))));
        c.add(new Case("convert", g -> Ops.convert(g.about(g.small(5), g.small(33)),
                FLOATS[g.r.nextInt(FLOATS.length)])));
        c.add(new Case("concat", g -> {
            long rows = g.small(5);
            int dim = g.r.nextInt(3) - (g.r.nextInt(10) == 0 ? 2 : 0);
            return Ops.concat(dim, g.about(rows, g.small(6)), g.about(rows, g.small(6)));
        }));
        c.add(new Case("sum", g -> Ops.sum(g.about(g.small(4), g.small(6), g.small(5)), g.r.nextInt(5) - 1)));
        c.add(new Case("rope", g -> {
            long s = g.small(6);
            long d = 2 * g.small(8);
            return Ops.rope(g.about(1, g.small(3), s, d), g.about(s, d / 2), g.about(s, d / 2));
        }));
        c.add(new Case("matmul", g -> {
            long b = g.small(3);
            long m = g.small(17);
            long k = g.small(40);
            long n = g.small(17);
            return Ops.matmul(g.about(b, m, k), g.r.nextBoolean() ? g.about(b, k, n) : g.about(k, n));
        }));
        c.add(new Case("linear", g -> {
            long in = g.small(64);
            long out = g.small(40);
            return Ops.linear(g.about(g.small(9), in), g.about(out, in), g.r.nextBoolean() ? g.about(out) : null);
        }));
        c.add(new Case("attention", g -> {
            long b = g.small(2);
            long h = g.small(4);
            long hkv = g.r.nextInt(3) == 0 ? Math.max(1, h / 2) : h;
            long sq = g.small(20);
            long sk = g.r.nextBoolean() ? sq : g.small(20);
            long d = new long[] {32, 64, 8, 33}[g.r.nextInt(4)];
            Attention.Options o = Attention.Options.defaults().withCausal(g.r.nextBoolean());
            if (g.r.nextInt(4) == 0) {
                o = o.withKeyPaddingMask(g.ids(b * sk, 2).reshape(b, sk));
            }
            return Attention.scaledDotProduct(g.about(b, h, sq, d), g.about(b, hkv, sk, d), g.about(b, hkv, sk, d), o);
        }));
        c.add(new Case("decode", g -> {
            long h = g.small(4);
            long cap = g.small(30);
            long d = g.r.nextBoolean() ? 32 : 64;
            long len = g.r.nextInt((int) cap + 3) - 1;
            return Attention.decode(g.about(1, h, 1, d), g.about(1, h, cap, d), g.about(1, h, cap, d), len,
                    Attention.Options.defaults());
        }));
        c.add(new Case("patchEmbed", g -> {
            long p = g.small(4);
            long ch = g.small(3);
            long side = p * g.small(4) + (g.r.nextInt(6) == 0 ? 1 : 0);
            long d = g.small(24);
            long patches = (side / p) * (side / p);
            boolean cls = g.r.nextBoolean();
            return PatchEmbedding.embed2d(g.about(g.small(2), ch, side, side), g.about(d, ch, p, p), g.about(d),
                    cls ? g.about(1, 1, d) : null, g.r.nextBoolean() ? g.about(1, patches + (cls ? 1 : 0), d) : null);
        }));
        c.add(new Case("conv1d", g -> {
            long ch = g.small(5);
            long out = g.small(8);
            return PatchEmbedding.conv1d(g.about(g.small(2), ch, g.small(30)), g.about(out, ch, 3), g.about(out),
                    g.small(2), g.r.nextInt(3) - (g.r.nextInt(10) == 0 ? 2 : 0));
        }));
        c.add(new Case("rbmStep", g -> {
            int nv = g.small(12);
            int nh = g.small(8);
            VisibleType type = VisibleType.values()[g.r.nextInt(3)];
            RbmConfig cfg = new RbmConfig(type, g.r.nextInt(4), g.r.nextInt(3) == 0, g.r.nextInt(4) - 1,
                    g.r.nextInt(10) == 0 ? Float.NaN : 0.05f, g.r.nextInt(10) == 0 ? 1f : 0.5f, 1e-4f,
                    g.r.nextBoolean() ? 0.1f : 0f, g.r.nextBoolean() ? 0.01f : 0f, g.r.nextLong());
            RbmParams p = RbmParams.init(nv, nh, 0.01f, g.r.nextLong(), Device.CPU);
            try (ContrastiveDivergence cd = new ContrastiveDivergence(p, cfg)) {
                Tensor batch = g.about(g.small(6), nv);
                if (type == VisibleType.SOFTMAX && !batch.isClosed() && batch.dtype() == DType.F32
                        && batch.isContiguous() && g.r.nextBoolean()) {
                    float[] v = batch.toFloatArray(); // word counts, as the type expects
                    for (int i = 0; i < v.length; i++) {
                        v[i] = Math.round(Math.abs(v[i]) * 2);
                    }
                    batch.copyFrom(v);
                }
                cd.step(batch);
                if (g.r.nextBoolean()) {
                    cd.step(batch);
                }
                Tensor fe = Rbm.freeEnergy(p, type, batch);
                assertEquals(batch.dim(0), fe.numel(), "one free energy per row");
                return p.weights().contiguous();
            } finally {
                p.close();
            }
        }, true));
        c.add(new Case("logMel", g -> {
            long t = g.r.nextInt(10) == 0 ? g.r.nextInt(300) : 400 + g.r.nextInt(4000);
            Tensor x = g.about(g.small(2), t);
            if (g.r.nextInt(10) == 0 && !x.isClosed() && x.numel() > 0 && x.dtype() == DType.F32 && x.isContiguous()) {
                float[] v = x.toFloatArray();
                v[g.r.nextInt(v.length)] = Float.NaN;
                x.copyFrom(v);
            }
            return LogMel.compute(x, null, LogMelConfig.whisper(80).unpadded());
        }));
        return c;
    }

    /**
     * IllegalArgumentException / IllegalStateException, or an IndexOutOfBoundsException Tessera throws itself (token
     * ids outside the table: its top frame is ours, not the JDK's bounds check), with a one-line message.
     */
    private static boolean clean(Throwable t) {
        boolean ours = t instanceof IndexOutOfBoundsException && t.getStackTrace().length > 0
                && t.getStackTrace()[0].getClassName().startsWith("dev.tessera.");
        return (t instanceof IllegalArgumentException || t instanceof IllegalStateException || ours)
                && Fuzz.hasOneLineMessage(t);
    }

    /**
     * A call that took a transposed or sliced view gives what the same call gives on contiguous copies of the same
     * values (the kernels' stride handling against their contiguous path); to rounding where a kernel may sum in
     * another order for another layout.
     */
    private static void sameOnCopies(Case c, long seed, Tensor out, float[] got, int call) {
        Tensor ref = c.call().apply(new Gen(new SplittableRandom(seed), true));
        assertEquals(java.util.Arrays.toString(out.shape()), java.util.Arrays.toString(ref.shape()),
                c.name() + " call " + call + ": shape on views vs copies");
        float[] want = ref.toFloatArray();
        double tol = out.dtype() == DType.F32 ? 1e-4 : 2e-2;
        // sums of the inputs' rare 1e30 entries cancel to a value whose last digits depend on the order: rounding
        // is measured against the largest value of the output
        double big = 0;
        for (float w : want) {
            if (Float.isFinite(w)) {
                big = Math.max(big, Math.abs(w));
            }
        }
        for (int k = 0; k < got.length; k++) {
            float a = got[k];
            float b = want[k];
            // where the inputs' 1e30 entries overflow, another summation order may give inf or NaN, or a huge
            // finite value: only the overflow itself must agree
            boolean overflow = !Float.isFinite(a) || !Float.isFinite(b);
            boolean same = Float.compare(a, b) == 0
                    || (overflow ? (!Float.isFinite(a) && !Float.isFinite(b))
                            || Math.min(Math.abs(a), Math.abs(b)) >= 1e36f
                            : Math.abs(a - b) <= tol * (1 + Math.abs(b) + 1e-3 * big));
            if (!same) {
                throw new AssertionError(c.name() + " call " + call + ": element " + k + " is " + a + " on views, "
                        + b + " on contiguous copies");
            }
        }
    }

    @Test
    void almostRightArgumentsAreComputedOrRefusedClearly() {
        Backend cpu = Backends.forType(Device.Type.CPU);
        int n = Fuzz.iterations(150);
        SplittableRandom r = new SplittableRandom(42 + 1_000_003L * Long.getLong("tessera.fuzz.seed", 0));
        for (Case c : cases()) {
            int ok = 0;
            int views = 0;
            for (int call = 0; call < n; call++) {
                final int i = call;
                long before = cpu.memoryStats(Device.CPU).allocatedBytes();
                long seed = r.nextLong();
                Gen g = new Gen(new SplittableRandom(seed), false);
                Throwable refusal = null;
                try (Scope scope = Tessera.scope()) {
                    Tensor out = c.call().apply(g);
                    if (out.dtype() == DType.F32 || out.dtype() == DType.F16 || out.dtype() == DType.BF16) {
                        float[] got = out.toFloatArray();
                        assertEquals(out.numel(), got.length, c.name() + ": readable result");
                        if (g.sawView && !c.sampled()) {
                            sameOnCopies(c, seed, out, got, i);
                            views++;
                        }
                    }
                    ok++;
                } catch (AssertionError e) {
                    throw e;
                } catch (Throwable t) {
                    refusal = t;
                }
                if (refusal != null && !clean(refusal)) {
                    throw new AssertionError(c.name() + " call " + i + ": " + refusal + " instead of a clear"
                            + " IllegalArgumentException / IllegalStateException", refusal);
                }
                long after = cpu.memoryStats(Device.CPU).allocatedBytes();
                assertEquals(before, after, c.name() + " call " + i + ": native bytes kept");
            }
            System.out.printf("ops fuzz %s: %d of %d calls computed (%d on views, equal on contiguous copies), the rest"
                    + " refused cleanly%n", c.name(), ok, n, views);
            assertTrue(ok > 0 || c.name().equals("decode"), c.name() + ": no call got through the checks");
        }
    }

    /** What the fuzzer found, kept as a plain case: a row broadcast over zero columns divided by zero in Java. */
    @Test
    void rowBroadcastOverZeroColumns() {
        try (Scope scope = Tessera.scope()) {
            Tensor out = Ops.add(Tensor.zeros(DType.F32, Device.CPU, 3, 0), Tensor.zeros(DType.F32, Device.CPU, 0));
            assertEquals("[3, 0]", Arrays.toString(out.shape()));
        }
    }
}
