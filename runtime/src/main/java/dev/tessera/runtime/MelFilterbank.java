package dev.tessera.runtime;

/**
 * Triangular mel filterbanks, computed in double and stored as float, the same construction as librosa's
 * {@code filters.mel} (which made Whisper's {@code mel_filters.npz}) and torchaudio's
 * {@code melscale_fbanks}: {@code nMels + 2} points equally spaced on the mel scale between fMin and fMax,
 * converted to Hz; filter m rises from point m to m+1 and falls to m+2, evaluated at the bin
 * frequencies {@code linspace(0, sampleRate / 2, nFft/2 + 1)} (= {@code k * sampleRate / nFft} for even nFft); Slaney normalisation divides filter m by
 * {@code (f[m+2] - f[m]) / 2}.
 */
public final class MelFilterbank {
    private MelFilterbank() {}

    private static final double F_SP = 200.0 / 3;          // Hz per mel below 1 kHz (Slaney)
    private static final double MIN_LOG_HZ = 1000.0;
    private static final double MIN_LOG_MEL = MIN_LOG_HZ / F_SP;  // 15
    private static final double LOG_STEP = Math.log(6.4) / 27.0;

    /** Hz → mel. */
    public static double hzToMel(double hz, LogMelConfig.MelScale scale) {
        if (scale == LogMelConfig.MelScale.HTK) {
            return 2595.0 * Math.log10(1.0 + hz / 700.0);
        }
        return hz < MIN_LOG_HZ ? hz / F_SP : MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP;
    }

    /** mel → Hz. */
    public static double melToHz(double mel, LogMelConfig.MelScale scale) {
        if (scale == LogMelConfig.MelScale.HTK) {
            return 700.0 * (Math.pow(10.0, mel / 2595.0) - 1.0);
        }
        return mel < MIN_LOG_MEL ? mel * F_SP : MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL));
    }

    /** The filterbank of {@code cfg} (computed as its {@code filterbankArithmetic} says): [nMels, nFft/2 + 1] row-major. */
    public static float[] of(LogMelConfig cfg) {
        if (cfg.filterbankArithmetic() == LogMelConfig.FilterbankArithmetic.TORCHAUDIO_FLOAT32) {
            return torchaudio(cfg.sampleRate(), cfg.nFft(), cfg.nMels(), cfg.fMin(), cfg.fMax(), cfg.melScale(),
                    cfg.norm());
        }
        return create(cfg.sampleRate(), cfg.nFft(), cfg.nMels(), cfg.fMin(), cfg.fMax(), cfg.melScale(), cfg.norm());
    }

    /**
     * [nMels, nFft/2 + 1] row-major, as torchaudio's {@code melscale_fbanks(nFft/2 + 1, fMin, fMax, nMels,
     * sampleRate, norm, mel_scale)} computes it: the band edges in Python doubles, everything else in float32, step
     * by step ({@code torch.linspace} with its 8-lane vector formula, mel → Hz, slopes, triangles, Slaney norm), as
     * PyTorch's AVX2 kernels run them (its CPU capability on x86 machines with AVX2, this project's reference): fused
     * multiply-adds where GCC contracted them and SLEEF's {@code expf}. Bit-identical to torchaudio 0.13 there for
     * every band count and FFT size tried (1-299 bands; n_fft 400, 512, 1024). PyTorch's scalar ("default") and
     * AVX-512 paths round some band edges differently (weights within 4e-7 of these). With the Slaney scale; the HTK
     * scale follows the same steps with {@code pow} in double rounded to float (not checked bit for bit).
     */
    public static float[] torchaudio(int sampleRate, int nFft, int nMels, double fMin, double fMax,
            LogMelConfig.MelScale scale, LogMelConfig.MelNorm norm) {
        checkParameters(sampleRate, nFft, nMels, fMin, fMax);
        int bins = nFft / 2 + 1;
        float[] allFreqs = linspaceF32(0f, (float) (sampleRate / 2), bins);     // sample_rate // 2: an int
        float[] m = linspaceF32((float) hzToMel(fMin, scale), (float) hzToMel(fMax, scale), nMels + 2);
        float[] f = new float[nMels + 2];
        for (int i = 0; i < f.length; i++) {
            if (scale == LogMelConfig.MelScale.HTK) {
                f[i] = 700f * ((float) Math.pow(10.0, m[i] / 2595f) - 1f);
            } else {
                final float fSp = (float) (200.0 / 3);
                final float minLogMel = (float) (1000.0 / (200.0 / 3));
                final float logStep = (float) (Math.log(6.4) / 27.0);
                f[i] = 0f + fSp * m[i];
                if (m[i] >= minLogMel) {
                    f[i] = 1000f * sleefExpf(logStep * (m[i] - minLogMel));
                }
            }
        }
        float[] out = new float[nMels * bins];
        for (int j = 0; j < nMels; j++) {
            float lower = f[j + 1] - f[j];
            float upper = f[j + 2] - f[j + 1];
            float enorm = norm == LogMelConfig.MelNorm.SLANEY ? 2f / (f[j + 2] - f[j]) : 1f;
            for (int k = 0; k < bins; k++) {
                float down = (-1f * (f[j] - allFreqs[k])) / lower;
                float up = (f[j + 2] - allFreqs[k]) / upper;
                float w = Math.max(0f, Math.min(down, up));
                out[j * bins + k] = norm == LogMelConfig.MelNorm.SLANEY ? w * enorm : w;
            }
        }
        return out;
    }

    /**
     * {@code torch.linspace(start, end, steps)} in float32 as PyTorch's AVX2 kernel computes it: step = (end - start) /
     * (steps - 1); the serial vectorized loop takes whole blocks of 16 (two 8-lane vectors), each vector as
     * {@code Vectorized::arange(base, step)} (lane i = base + i * step, a product and a sum), the rest one by one; a
     * base or a single value is {@code start + step * i} below the half, else {@code end - step * (steps - i - 1)},
     * each one fused multiply-add (GCC contracts them in that AVX2 translation unit; not the lanes' arithmetic).
     */
    static float[] linspaceF32(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int half = steps / 2;
        int lanes = 8;
        int vec = steps / (2 * lanes) * (2 * lanes);
        for (int b = 0; b < vec; b += lanes) {
            float base = b < half ? Math.fma(step, (float) b, start) : Math.fma(-step, (float) (steps - b - 1), end);
            for (int i = 0; i < lanes; i++) {
                out[b + i] = base + (float) i * step;
            }
        }
        for (int i = vec; i < steps; i++) {
            out[i] = i < half ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    /**
     * SLEEF's {@code expf_u10} (what {@code torch.exp} runs on float32 CPU tensors in PyTorch's vectorized kernels),
     * with fused multiply-adds as in its AVX2 build: x = q ln 2 + s (q = rint(x / ln 2), s in two steps), a degree-6
     * polynomial for e^s, scaled by 2^q. Within 1 ulp of e^x; equal to {@code torch.exp} bit for bit (a million random
     * floats in [-1, 3] checked against torch 1.13).
     */
    static float sleefExpf(float d) {
        if (Float.isNaN(d)) {
            return d;
        }
        if (d < -104f) {
            return 0f;
        }
        if (d > 100f) {
            return Float.POSITIVE_INFINITY;
        }
        int q = (int) Math.rint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
        float qf = q;
        float s = Math.fma(qf, -0.693145751953125f, d);
        s = Math.fma(qf, -1.428606765330187045e-06f, s);
        float u = 0.000198527617612853646278381f;
        u = Math.fma(u, s, 0.00139304355252534151077271f);
        u = Math.fma(u, s, 0.00833336077630519866943359f);
        u = Math.fma(u, s, 0.0416664853692054748535156f);
        u = Math.fma(u, s, 0.166666671633720397949219f);
        u = Math.fma(u, s, 0.5f);
        u = 1.0f + Math.fma(s * s, u, s);
        // SLEEF's ldexp2k: two power-of-two factors, so that q down to -150 and up to 128 stays in range
        return u * Float.intBitsToFloat(((q >> 1) + 127) << 23) * Float.intBitsToFloat(((q - (q >> 1)) + 127) << 23);
    }

    private static void checkParameters(int sampleRate, int nFft, int nMels, double fMin, double fMax) {
        if (sampleRate <= 0 || nFft < 1 || nMels < 1 || !(fMin >= 0) || !(fMax > fMin)) {
            throw new IllegalArgumentException("bad filterbank parameters: sampleRate=" + sampleRate + ", nFft=" + nFft
                    + ", nMels=" + nMels + ", fMin=" + fMin + ", fMax=" + fMax);
        }
        if ((long) nMels * (nFft / 2 + 1) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("filterbank of " + nMels + " mels x " + (nFft / 2 + 1)
                    + " frequency bins is larger than a Java array (2^31 - 9 values)");
        }
    }

    /** [nMels, nFft/2 + 1] row-major. */
    public static float[] create(int sampleRate, int nFft, int nMels, double fMin, double fMax,
            LogMelConfig.MelScale scale, LogMelConfig.MelNorm norm) {
        checkParameters(sampleRate, nFft, nMels, fMin, fMax);
        int bins = nFft / 2 + 1;
        double mMin = hzToMel(fMin, scale);
        double mMax = hzToMel(fMax, scale);
        double[] f = new double[nMels + 2];
        for (int i = 0; i < nMels + 2; i++) {
            f[i] = melToHz(mMin + (mMax - mMin) * i / (nMels + 1), scale);
        }
        float[] out = new float[nMels * bins];
        for (int m = 0; m < nMels; m++) {
            double lower = f[m + 1] - f[m];
            double upper = f[m + 2] - f[m + 1];
            double enorm = norm == LogMelConfig.MelNorm.SLANEY ? 2.0 / (f[m + 2] - f[m]) : 1.0;
            for (int k = 0; k < bins; k++) {
                // bin frequencies as librosa / torchaudio space them: linspace(0, sampleRate / 2, bins)
                double hz = bins == 1 ? 0.0 : (double) k * (sampleRate / 2.0) / (bins - 1);
                double w = Math.max(0.0, Math.min((hz - f[m]) / lower, (f[m + 2] - hz) / upper));
                out[m * bins + k] = (float) (w * enorm);
            }
        }
        return out;
    }
}
