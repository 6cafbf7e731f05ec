package dev.tessera.runtime.rbm;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The parameters of an RBM on one device: weights {@code W [nv, nh]}, visible bias {@code [nv]}, hidden
 * bias {@code [nh]}, all contiguous F32, plus their momentum buffers (same shapes, zero at creation).
 * {@link ContrastiveDivergence} updates them in place. Owns its tensors: {@link #close()} frees them, and
 * any use afterwards throws {@link IllegalStateException}.
 */
public final class RbmParams implements AutoCloseable {
    private final int nv;
    private final int nh;
    private final Tensor w;
    private final Tensor vbias;
    private final Tensor hbias;
    private final Tensor wVel;
    private final Tensor vbVel;
    private final Tensor hbVel;
    private volatile boolean closed;

    private RbmParams(int nv, int nh, Tensor[] t) {
        this.nv = nv;
        this.nh = nh;
        this.w = t[0];
        this.vbias = t[1];
        this.hbias = t[2];
        this.wVel = t[3];
        this.vbVel = t[4];
        this.hbVel = t[5];
    }

    /**
     * Parameters owning the tensors {@code w}, {@code vbias} and {@code hbias} make (in that order) and three new zero
     * momentum buffers on {@code device}; if any of them fails (a closed source, out of memory), those already made
     * are closed before the exception leaves.
     */
    private static RbmParams build(int nv, int nh, Device device, Supplier<Tensor> w, Supplier<Tensor> vbias,
            Supplier<Tensor> hbias) {
        Tensor[] t = new Tensor[6];
        try {
            t[0] = w.get();
            t[1] = vbias.get();
            t[2] = hbias.get();
            t[3] = Tensor.zeros(DType.F32, device, nv, nh);
            t[4] = Tensor.zeros(DType.F32, device, nv);
            t[5] = Tensor.zeros(DType.F32, device, nh);
            return new RbmParams(nv, nh, t);
        } catch (RuntimeException | Error e) {
            for (Tensor made : t) {
                if (made != null) {
                    try {
                        made.close();
                    } catch (RuntimeException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
            }
            throw e;
        }
    }

    /** The most weights an RBM may have: {@link #init} and {@link #of} hold them in one Java array. */
    private static final long MAX_WEIGHTS = Integer.MAX_VALUE - 8;

    private static void checkSizes(long nv, long nh) {
        if (nv < 1 || nh < 1 || nv > Integer.MAX_VALUE || nh > Integer.MAX_VALUE || nv * nh > MAX_WEIGHTS) {
            throw new IllegalArgumentException("RBM size [nv " + nv + ", nh " + nh
                    + "]: both must be >= 1 and nv * nh at most " + MAX_WEIGHTS + " (a Java array's limit)");
        }
    }

    /**
     * Weights drawn from N(0, weightStd^2) with {@code seed} (java.util.SplittableRandom, so the same on
     * every device), zero biases.
     */
    public static RbmParams init(int nv, int nh, float weightStd, long seed, Device device) {
        checkSizes(nv, nh);
        if (!(weightStd >= 0) || Float.isInfinite(weightStd)) {
            throw new IllegalArgumentException("weightStd must be finite and >= 0, got " + weightStd);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] wv = new float[nv * nh];
        for (int i = 0; i < wv.length; i++) {
            wv[i] = (float) (gaussian(rnd) * weightStd);
        }
        return of(wv, new float[nv], new float[nh], nv, nh, device);
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = 1.0 - r.nextDouble();
        double u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Parameters holding copies of host arrays: w row-major [nv, nh], vbias [nv], hbias [nh]. */
    public static RbmParams of(float[] w, float[] vbias, float[] hbias, int nv, int nh, Device device) {
        checkSizes(nv, nh);
        if (w == null || vbias == null || hbias == null || device == null) {
            throw new IllegalArgumentException("RbmParams.of: arrays and device must not be null");
        }
        if (w.length != (long) nv * nh || vbias.length != nv || hbias.length != nh) {
            throw new IllegalArgumentException("RbmParams.of: for [nv " + nv + ", nh " + nh + "] need w of " + (long) nv * nh
                    + ", vbias of " + nv + ", hbias of " + nh + " elements, got " + w.length + ", " + vbias.length + ", "
                    + hbias.length);
        }
        return build(nv, nh, device, () -> Tensor.of(w, device, nv, nh), () -> Tensor.of(vbias, device, nv),
                () -> Tensor.of(hbias, device, nh));
    }

    /** Parameters holding copies of {@code w [nv, nh]}, {@code vbias [nv]}, {@code hbias [nh]} (F32, one device). */
    public static RbmParams copyOf(Tensor w, Tensor vbias, Tensor hbias) {
        Tensor.requireOpen("RbmParams.copyOf", w, vbias, hbias);
        if (w.rank() != 2 || vbias.rank() != 1 || hbias.rank() != 1 || vbias.dim(0) != w.dim(0)
                || hbias.dim(0) != w.dim(1)) {
            throw new IllegalArgumentException("RbmParams.copyOf: need w [nv, nh], vbias [nv], hbias [nh]; got w "
                    + Arrays.toString(w.shape()) + ", vbias " + Arrays.toString(vbias.shape()) + ", hbias "
                    + Arrays.toString(hbias.shape()));
        }
        Check.f32("RbmParams.copyOf", w, vbias, hbias);
        Check.sameDevice("RbmParams.copyOf", w, vbias, hbias);
        checkSizes(w.dim(0), w.dim(1));
        Device d = w.device();
        return build((int) w.dim(0), (int) w.dim(1), d, () -> w.to(d), () -> vbias.to(d), () -> hbias.to(d));
    }

    /** A copy of these parameters (not the momentum) on {@code device}. */
    public RbmParams to(Device device) {
        ensureOpen();
        try (Tensor a = w.to(device); Tensor b = vbias.to(device); Tensor c = hbias.to(device)) {
            return copyOf(a, b, c);
        }
    }

    public int visibleSize() {
        return nv;
    }

    public int hiddenSize() {
        return nh;
    }

    public Device device() {
        ensureOpen();
        return w.device();
    }

    /** The weights {@code [nv, nh]} (owned by these parameters: do not close). */
    public Tensor weights() {
        ensureOpen();
        return w;
    }

    /** The visible bias {@code [nv]} (owned: do not close). */
    public Tensor visibleBias() {
        ensureOpen();
        return vbias;
    }

    /** The hidden bias {@code [nh]} (owned: do not close). */
    public Tensor hiddenBias() {
        ensureOpen();
        return hbias;
    }

    Tensor weightVelocity() {
        return wVel;
    }

    Tensor visibleVelocity() {
        return vbVel;
    }

    Tensor hiddenVelocity() {
        return hbVel;
    }

    /** Resets the momentum buffers to zero. */
    public void resetMomentum() {
        ensureOpen();
        for (Tensor t : new Tensor[] {wVel, vbVel, hbVel}) {
            t.copyFrom(new float[Math.toIntExact(t.numel())]);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** Throws {@link IllegalStateException} if closed. */
    public void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("RbmParams [nv " + nv + ", nh " + nh + "] is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Tensor t : new Tensor[] {w, vbias, hbias, wVel, vbVel, hbVel}) {
                t.close();
            }
        }
    }

    @Override
    public String toString() {
        return "RbmParams[nv " + nv + ", nh " + nh + (closed ? ", closed" : ", on " + w.device()) + "]";
    }
}
