package dev.tessera.runtime;

import java.util.Random;

/**
 * Independent float64 reference implementations of the op set, plus the fp16/bf16 rounding rules
 * (round to nearest even on the float bits) written as scalar Java. Inputs are the float values the
 * kernels see; everything is computed in double. Nothing here calls native code.
 */
public final class Reference64 {
    private Reference64() {}

    // ------------------------------------------------------------------ data and error

    /** n gaussian samples times {@code scale}, from a seeded generator. */
    public static float[] gaussian(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    public static float[] gaussian(long seed, int n) {
        return gaussian(new Random(seed), n, 1.0);
    }

    /** n uniform samples in [lo, hi). */
    public static float[] uniform(Random rnd, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return a;
    }

    /** Uniform in ±[lo, hi) with random sign (values kept away from zero, e.g. for divisors). */
    public static float[] awayFromZero(Random rnd, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            double v = lo + (hi - lo) * rnd.nextDouble();
            a[i] = (float) (rnd.nextBoolean() ? v : -v);
        }
        return a;
    }

    public static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /**
     * ||out - ref|| / ||ref||; +inf if anything is NaN (NaN never passes) or if ref is all zero and
     * out is not. Both zero gives 0.
     */
    public static double relError(float[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new AssertionError("length " + out.length + " vs reference " + ref.length);
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (Float.isNaN(out[i]) || Double.isNaN(ref[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        if (den == 0) {
            return num == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        double e = Math.sqrt(num / den);
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }

    public static double relError(float[] out, float[] ref) {
        return relError(out, toDouble(ref));
    }

    // ------------------------------------------------------------------ elementwise

    public static double apply(BinaryOp op, double a, double b) {
        switch (op) {
            case ADD:
                return a + b;
            case SUB:
                return a - b;
            case MUL:
                return a * b;
            default:
                return a / b;
        }
    }

    public static double[] binary(BinaryOp op, float[] a, float[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = apply(op, a[i], b[i]);
        }
        return out;
    }

    /** out[r, c] = x[r, c] (op) row[c]. */
    public static double[] binaryRow(BinaryOp op, float[] x, float[] row) {
        int cols = row.length;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = apply(op, x[i], row[i % cols]);
        }
        return out;
    }

    public static double[] affine(float[] x, double alpha, double beta) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = alpha * x[i] + beta;
        }
        return out;
    }

    // ------------------------------------------------------------------ norms and softmax

    /** Layer norm over rows of {@code cols}; biased variance; gamma/beta may be null. */
    public static double[] layerNorm(float[] x, float[] gamma, float[] beta, int cols, double eps) {
        int rows = x.length / cols;
        double[] out = new double[x.length];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double mean = 0;
            for (int c = 0; c < cols; c++) {
                mean += x[o + c];
            }
            mean /= cols;
            double var = 0;
            for (int c = 0; c < cols; c++) {
                double d = x[o + c] - mean;
                var += d * d;
            }
            var /= cols;
            double inv = 1 / Math.sqrt(var + eps);
            for (int c = 0; c < cols; c++) {
                double v = (x[o + c] - mean) * inv;
                if (gamma != null) {
                    v *= gamma[c];
                }
                if (beta != null) {
                    v += beta[c];
                }
                out[o + c] = v;
            }
        }
        return out;
    }

    /** x / sqrt(mean(x²) + eps) · gamma (gamma may be null). */
    public static double[] rmsNorm(float[] x, float[] gamma, int cols, double eps) {
        int rows = x.length / cols;
        double[] out = new double[x.length];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double ms = 0;
            for (int c = 0; c < cols; c++) {
                ms += (double) x[o + c] * x[o + c];
            }
            ms /= cols;
            double inv = 1 / Math.sqrt(ms + eps);
            for (int c = 0; c < cols; c++) {
                double v = x[o + c] * inv;
                out[o + c] = gamma == null ? v : v * gamma[c];
            }
        }
        return out;
    }

    /**
     * Row-wise softmax. With {@code causalQ > 0} the rows form groups of causalQ query rows and row i
     * of a group sees columns j &lt;= i + (cols - causalQ) (bottom-right aligned); masked entries are 0.
     */
    public static double[] softmax(float[] x, int cols, int causalQ) {
        int rows = x.length / cols;
        double[] out = new double[x.length];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            int visible = cols;
            if (causalQ > 0) {
                int i = r % causalQ;
                visible = Math.min(cols, Math.max(0, i + (cols - causalQ) + 1));
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < visible; c++) {
                max = Math.max(max, x[o + c]);
            }
            double sum = 0;
            for (int c = 0; c < visible; c++) {
                sum += Math.exp(x[o + c] - max);
            }
            for (int c = 0; c < cols; c++) {
                out[o + c] = c < visible ? Math.exp(x[o + c] - max) / sum : 0;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ activations

    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

    /**
     * erf in float64, accurate to ~1e-15: Maclaurin series for |x| &lt; 2 (summed until negligible;
     * the largest term at 2 is ~2.4, so cancellation costs under one digit) and a continued fraction
     * for erfc beyond (at 2.5 the series would already lose ~4e-15 to cancellation).
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return Double.NaN;
        }
        double ax = Math.abs(x);
        double r;
        if (ax < 2.0) {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double x2 = ax * ax;
            double term = ax; // (-1)^n x^(2n+1) / n!
            double sum = ax;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.abs(t) < 1e-18 * Math.abs(sum)) {
                    break;
                }
            }
            r = TWO_OVER_SQRT_PI * sum;
        } else {
            r = 1 - erfcLarge(ax);
        }
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x >= 2 by the continued fraction erfc(x) = e^{-x²}/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))). */
    static double erfcLarge(double x) {
        double f = 0;
        for (int n = 200; n >= 1; n--) {
            f = (n / 2.0) / (x + f);
        }
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
    }

    /** GELU, erf form: x/2 · (1 + erf(x/√2)). */
    public static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** GELU, tanh form: x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³))). */
    public static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    public static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    public static double[] gelu(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = gelu(x[i]);
        }
        return out;
    }

    public static double[] geluTanh(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = geluTanh(x[i]);
        }
        return out;
    }

    public static double[] silu(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = silu(x[i]);
        }
        return out;
    }

    // ------------------------------------------------------------------ gather and layout

    /** Rows of table [vocab, dim] at ids → [n, dim]. */
    public static double[] embedding(long[] ids, float[] table, int dim) {
        double[] out = new double[ids.length * dim];
        for (int i = 0; i < ids.length; i++) {
            int row = Math.toIntExact(ids[i]);
            for (int c = 0; c < dim; c++) {
                out[i * dim + c] = table[row * dim + c];
            }
        }
        return out;
    }

    /** out[b, c, r] = x[b, r, c]. */
    public static double[] transposeLast2(float[] x, int rows, int cols) {
        int batch = rows * cols == 0 ? 0 : x.length / (rows * cols);
        double[] out = new double[x.length];
        for (int b = 0; b < batch; b++) {
            int o = b * rows * cols;
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    out[o + c * rows + r] = x[o + r * cols + c];
                }
            }
        }
        return out;
    }

    /** a [batch, m, k] · b [batch or 1, k, n] → [batch, m, n], double accumulation. */
    public static double[] matmul(float[] a, float[] b, int batch, int m, int k, int n, boolean broadcastB) {
        double[] out = new double[batch * m * n];
        for (int p = 0; p < batch; p++) {
            int oa = p * m * k;
            int ob = broadcastB ? 0 : p * k * n;
            int oc = p * m * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int q = 0; q < k; q++) {
                        s += (double) a[oa + i * k + q] * b[ob + q * n + j];
                    }
                    out[oc + i * n + j] = s;
                }
            }
        }
        return out;
    }

    public static double[] matmul(float[] a, float[] b, int m, int k, int n) {
        return matmul(a, b, 1, m, k, n, false);
    }

    /** x [rows, in] · w[out, in]ᵀ + bias (bias may be null). */
    public static double[] linear(float[] x, float[] w, float[] bias, int in, int outF) {
        int rows = x.length / in;
        double[] out = new double[rows * outF];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < outF; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int q = 0; q < in; q++) {
                    s += (double) x[r * in + q] * w[o * in + q];
                }
                out[r * outF + o] = s;
            }
        }
        return out;
    }

    /** Element-wise transpose of a row-major [rows, cols] float matrix (for building inputs). */
    public static float[] transposed(float[] x, int rows, int cols) {
        float[] out = new float[x.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = x[r * cols + c];
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ fp16 / bf16 rounding

    /** IEEE binary16 bits of {@code f}, round to nearest even; overflow → inf; NaN → a quiet NaN. */
    public static short toF16Bits(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int exp = (x >>> 23) & 0xff;
        int mant = x & 0x7fffff;
        if (exp == 0xff) {
            return (short) (mant == 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13));
        }
        int e = exp - 127 + 15;
        if (e >= 31) {
            return (short) (sign | 0x7c00);
        }
        if (e >= 1) {
            int q = (e << 10) | (mant >>> 13);
            int rem = mant & 0x1fff;
            if (rem > 0x1000 || (rem == 0x1000 && (q & 1) == 1)) {
                q++; // a carry into the exponent is correct, up to inf (0x7c00)
            }
            return (short) (sign | q);
        }
        // half subnormal (or zero): value = m · 2^(exp-150), unit 2^-24 → q = m >> (126 - exp)
        if (exp == 0) {
            return (short) sign; // float subnormals are far below half's smallest subnormal / 2
        }
        int m = mant | 0x800000;
        int shift = 126 - exp; // >= 14
        if (shift > 24) {
            return (short) sign; // < half of the smallest subnormal
        }
        int q = m >>> shift;
        int rem = m & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rem > half || (rem == half && (q & 1) == 1)) {
            q++;
        }
        return (short) (sign | q);
    }

    /** The float value of binary16 bits (exact). */
    public static float f16BitsToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 31) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** bfloat16 bits of {@code f}, round to nearest even; NaN → a quiet NaN. */
    public static short toBf16Bits(float f) {
        int x = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((x >>> 16) | 0x40);
        }
        int q = x >>> 16;
        int rem = x & 0xffff;
        if (rem > 0x8000 || (rem == 0x8000 && (q & 1) == 1)) {
            q++; // carries through exponent up to inf, as it should
        }
        return (short) q;
    }

    public static float bf16BitsToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    public static float roundF16(float f) {
        return f16BitsToFloat(toF16Bits(f));
    }

    public static float roundBf16(float f) {
        return bf16BitsToFloat(toBf16Bits(f));
    }

    /** Rounds every element to {@code dtype}'s precision (F32: unchanged copy). */
    public static float[] round(float[] x, DType dtype) {
        float[] out = x.clone();
        if (dtype == DType.F16) {
            for (int i = 0; i < out.length; i++) {
                out[i] = roundF16(out[i]);
            }
        } else if (dtype == DType.BF16) {
            for (int i = 0; i < out.length; i++) {
                out[i] = roundBf16(out[i]);
            }
        }
        return out;
    }
    // ------------------------------------------------------------------ model-pipeline ops

    /** The float64 value of {@code op} at x. */
    public static double unary(UnaryOp op, double x) {
        switch (op) {
            case SIGMOID:
                return 1 / (1 + Math.exp(-x));
            case TANH:
                return Math.tanh(x);
            case RELU:
                return Double.isNaN(x) ? x : Math.max(x, 0);
            case EXP:
                return Math.exp(x);
            case LOG:
                return Math.log(x);
            case QUICK_GELU:
                return x == Double.NEGATIVE_INFINITY ? -0.0 : x / (1 + Math.exp(-1.702 * x));
            case NEG:
                return -x;
            case SQRT:
                return Math.sqrt(x);
            case RSQRT:
                return 1 / Math.sqrt(x);
            case ABS:
                return Math.abs(x);
            case SQUARE:
                return x * x;
            default:
                throw new IllegalArgumentException(op.name());
        }
    }

    public static double[] unary(UnaryOp op, float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = unary(op, x[i]);
        }
        return out;
    }

    /**
     * RoPE (rotate_half) of contiguous x [b, h, s, d]; cos / sin [s, d/2] ({@code perBatch} false) or
     * [b, s, d/2].
     */
    public static double[] rope(float[] x, float[] cos, float[] sin, int b, int h, int s, int d, boolean perBatch) {
        int half = d / 2;
        double[] out = new double[x.length];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                for (int si = 0; si < s; si++) {
                    int row = ((bi * h + hi) * s + si) * d;
                    int cs = ((perBatch ? bi * s : 0) + si) * half;
                    for (int j = 0; j < half; j++) {
                        double x1 = x[row + j];
                        double x2 = x[row + j + half];
                        double c = cos[cs + j];
                        double sn = sin[cs + j];
                        out[row + j] = x1 * c - x2 * sn;
                        out[row + j + half] = x2 * c + x1 * sn;
                    }
                }
            }
        }
        return out;
    }

    /** Row sums of x [rows, cols] times {@code scale}. */
    public static double[] sumRows(float[] x, int cols, double scale) {
        int rows = cols == 0 ? 0 : x.length / cols;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            for (int c = 0; c < cols; c++) {
                acc += x[r * cols + c];
            }
            out[r] = acc * scale;
        }
        return out;
    }

    /** Row argmax of x [rows, cols]: first maximum; the first NaN if the row has one. */
    public static int[] argmaxRows(float[] x, int cols) {
        int rows = x.length / cols;
        int[] out = new int[rows];
        for (int r = 0; r < rows; r++) {
            int best = 0;
            for (int c = 0; c < cols; c++) {
                float v = x[r * cols + c];
                if (Float.isNaN(v)) {
                    best = c;
                    break;
                }
                if (v > x[r * cols + best]) {
                    best = c;
                }
            }
            out[r] = best;
        }
        return out;
    }

    /** Row-wise log-softmax of x [rows, cols]. */
    public static double[] logSoftmax(float[] x, int cols) {
        double[] out = new double[x.length];
        for (int r = 0; r < x.length / cols; r++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
                m = Math.max(m, x[r * cols + c]);
            }
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += Math.exp(x[r * cols + c] - m);
            }
            double ls = Math.log(s);
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = x[r * cols + c] - m - ls;
            }
        }
        return out;
    }
}
