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

    /** The filterbank of {@code cfg}: [nMels, nFft/2 + 1] row-major. */
    public static float[] of(LogMelConfig cfg) {
        return create(cfg.sampleRate(), cfg.nFft(), cfg.nMels(), cfg.fMin(), cfg.fMax(), cfg.melScale(), cfg.norm());
    }

    /** [nMels, nFft/2 + 1] row-major. */
    public static float[] create(int sampleRate, int nFft, int nMels, double fMin, double fMax,
            LogMelConfig.MelScale scale, LogMelConfig.MelNorm norm) {
        if (sampleRate <= 0 || nFft < 1 || nMels < 1 || !(fMin >= 0) || !(fMax > fMin)) {
            throw new IllegalArgumentException("bad filterbank parameters: sampleRate=" + sampleRate + ", nFft=" + nFft
                    + ", nMels=" + nMels + ", fMin=" + fMin + ", fMax=" + fMax);
        }
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
