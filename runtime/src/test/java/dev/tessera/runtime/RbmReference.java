package dev.tessera.runtime;

/**
 * Independent float64 references for the RBM tests (RbmTest, CudaRbmTest): a Philox4x32-10 written from
 * the Random123 paper's description, the same counter layout as {@code tessera/rbm.h}, and a whole CD-k
 * step of a binary or Gaussian-visible RBM driven by those uniforms.
 */
final class RbmReference {
    private RbmReference() {}

    static final long M0 = 0xD2511F53L;
    static final long M1 = 0xCD9E8D57L;
    static final int W0 = 0x9E3779B9;
    static final int W1 = 0xBB67AE85;

    /** Philox4x32-10 of counter c[0..3] under key k[0..1] (unsigned words in ints). */
    static int[] philox(int[] c, int[] k) {
        long c0 = c[0] & 0xffffffffL, c1 = c[1] & 0xffffffffL, c2 = c[2] & 0xffffffffL, c3 = c[3] & 0xffffffffL;
        int k0 = k[0], k1 = k[1];
        for (int r = 0; r < 10; r++) {
            long p0 = M0 * c0; // < 2^64 as unsigned; Java long wraps, the bits are right
            long p1 = M1 * c2;
            long hi0 = p0 >>> 32, lo0 = p0 & 0xffffffffL;
            long hi1 = p1 >>> 32, lo1 = p1 & 0xffffffffL;
            long n0 = (hi1 ^ c1 ^ (k0 & 0xffffffffL)) & 0xffffffffL;
            long n2 = (hi0 ^ c3 ^ (k1 & 0xffffffffL)) & 0xffffffffL;
            c0 = n0;
            c1 = lo1;
            c2 = n2;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        return new int[] {(int) c0, (int) c1, (int) c2, (int) c3};
    }

    /** The block of counter index ctr (words 0-1), sub-index sub (word 2) under seed. */
    static int[] block(long seed, long ctr, int sub) {
        return philox(new int[] {(int) ctr, (int) (ctr >>> 32), sub, 0}, new int[] {(int) seed, (int) (seed >>> 32)});
    }

    static float toUniform(int word) {
        return (word >>> 8) * 0x1p-24f;
    }

    static float uniform(long seed, long ctr) {
        return toUniform(block(seed, ctr, 0)[0]);
    }

    /** The standard normal of counter ctr (Box-Muller on words 0 and 1), in double. */
    static double normal(long seed, long ctr) {
        int[] b = block(seed, ctr, 0);
        double u1 = ((b[0] >>> 8) + 1) * 0x1p-24;
        double u2 = (b[1] >>> 8) * 0x1p-24;
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    /** c[m][n] = a[m][k] b[k][n] for flat row-major arrays. */
    static double[] mm(double[] a, double[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                double av = a[i * k + p];
                for (int j = 0; j < n; j++) {
                    c[i * n + j] += av * b[p * n + j];
                }
            }
        }
        return c;
    }

    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }

    static double[] d(float[] f) {
        double[] o = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            o[i] = f[i];
        }
        return o;
    }

    /** The parameters after CD-k steps, and the closest |u - p| of any Bernoulli decision (ties). */
    static final class Step {
        double[] w;
        double[] vb;
        double[] hb;
        double[] wv;
        double[] vbv;
        double[] hbv;
        double minGap = Double.POSITIVE_INFINITY;
        long offset;
    }

    /**
     * Applies {@code steps} CD-k updates on the same batch v0 [b, nv] in float64, with the uniforms of the
     * Philox stream (gaussian: Gaussian visible units). Mirrors ContrastiveDivergence's counter usage.
     */
    static Step cdSteps(float[] v0f, int b, int nv, int nh, float[] w0, float[] vb0, float[] hb0, int k,
            boolean gaussian, float lr, float mom, float decay, float sparsityTarget, float sparsityCost, long seed,
            int steps) {
        Step s = new Step();
        s.w = d(w0);
        s.vb = d(vb0);
        s.hb = d(hb0);
        s.wv = new double[nv * nh];
        s.vbv = new double[nv];
        s.hbv = new double[nh];
        double[] v0 = d(v0f);
        for (int it = 0; it < steps; it++) {
            double[] p0 = up(v0, s.w, s.hb, b, nv, nh);
            double[] h = bernoulli(p0, seed, s);
            double[] vk = null;
            double[] pk = null;
            for (int st = 1; st <= k; st++) {
                double[] pre = mm(h, transpose(s.w, nv, nh), b, nh, nv);
                vk = new double[b * nv];
                for (int r = 0; r < b; r++) {
                    for (int i = 0; i < nv; i++) {
                        double m = pre[r * nv + i] + s.vb[i];
                        if (gaussian) {
                            vk[r * nv + i] = m + normal(seed, s.offset + (long) r * nv + i);
                        } else {
                            double p = sigmoid(m);
                            double u = uniform(seed, s.offset + (long) r * nv + i);
                            s.minGap = Math.min(s.minGap, Math.abs(u - p));
                            vk[r * nv + i] = u < p ? 1 : 0;
                        }
                    }
                }
                s.offset += (long) b * nv;
                pk = up(vk, s.w, s.hb, b, nv, nh);
                if (st < k) {
                    h = bernoulli(pk, seed, s);
                }
            }
            double[] gw = new double[nv * nh];
            double[] gvb = new double[nv];
            double[] ghb = new double[nh];
            double[] pos = mm(transpose(v0, b, nv), p0, nv, b, nh);
            double[] neg = mm(transpose(vk, b, nv), pk, nv, b, nh);
            for (int i = 0; i < gw.length; i++) {
                gw[i] = (pos[i] - neg[i]) / b;
            }
            double[] vbar = new double[nv];
            double[] qhat = new double[nh];
            for (int r = 0; r < b; r++) {
                for (int i = 0; i < nv; i++) {
                    gvb[i] += (v0[r * nv + i] - vk[r * nv + i]) / b;
                    vbar[i] += v0[r * nv + i] / b;
                }
                for (int j = 0; j < nh; j++) {
                    ghb[j] += (p0[r * nh + j] - pk[r * nh + j]) / b;
                    qhat[j] += p0[r * nh + j] / b;
                }
            }
            if (sparsityCost > 0) {
                for (int j = 0; j < nh; j++) {
                    double sp = sparsityCost * (sparsityTarget - qhat[j]);
                    ghb[j] += sp;
                    for (int i = 0; i < nv; i++) {
                        gw[i * nh + j] += vbar[i] * sp;
                    }
                }
            }
            update(s.w, s.wv, gw, lr, mom, decay);
            update(s.vb, s.vbv, gvb, lr, mom, 0);
            update(s.hb, s.hbv, ghb, lr, mom, 0);
        }
        return s;
    }

    static double[] up(double[] v, double[] w, double[] hb, int b, int nv, int nh) {
        double[] pre = mm(v, w, b, nv, nh);
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < nh; j++) {
                pre[r * nh + j] = sigmoid(pre[r * nh + j] + hb[j]);
            }
        }
        return pre;
    }

    private static double[] bernoulli(double[] p, long seed, Step s) {
        double[] h = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double u = uniform(seed, s.offset + i);
            s.minGap = Math.min(s.minGap, Math.abs(u - p[i]));
            h[i] = u < p[i] ? 1 : 0;
        }
        s.offset += p.length;
        return h;
    }

    private static void update(double[] p, double[] vel, double[] g, float lr, float mom, float decay) {
        for (int i = 0; i < p.length; i++) {
            vel[i] = mom * vel[i] + lr * (g[i] - decay * p[i]);
            p[i] += vel[i];
        }
    }
}
