package dev.tessera.runtime;

/**
 * Parameters of {@link LogMel}: an immutable record with Whisper's values as defaults
 * ({@link #whisper()}, {@link #whisper(int)}) and withers for the rest.
 *
 * @param sampleRate      samples per second of the input (16,000 for Whisper); sets the filterbank frequencies
 * @param nFft            FFT length (400): any length, no zero-padding to a power of two
 * @param hopLength       samples between frames (160)
 * @param winLength       window length, at most nFft; the window is centred in the nFft frame (400)
 * @param window          window kind (periodic Hann)
 * @param periodic        periodic (DFT-even) window, as torch.hann_window's default (true)
 * @param nMels           mel bands (80; Whisper large-v3 uses 128)
 * @param fMin            lowest filterbank frequency in Hz (0)
 * @param fMax            highest filterbank frequency in Hz (8,000 = sampleRate / 2)
 * @param norm            filter normalisation (SLANEY: area 1 / bandwidth)
 * @param melScale        mel scale (SLANEY, as librosa's default; or HTK)
 * @param power           1 for magnitude, 2 for power spectrum (2)
 * @param center          frames centred with reflect padding of nFft / 2 on each side (true)
 * @param log             apply log10(max(mel, floor)) (true)
 * @param floor           the floor of the log (1e-10)
 * @param whisperScale    clamp to (max - 8) per clip, then (x + 4) / 4 (true; needs log)
 * @param padToSamples    zero-pad every clip to this many samples (480,000 = 30 s); 0 for unpadded
 * @param dropLastFrame   drop the last STFT frame, as Whisper does (480,000 samples → 3,000 frames)
 * @param filterbankArithmetic how the filterbank weights are computed (DOUBLE: librosa's float64 values, which are
 *                        Whisper's {@code mel_filters.npz}; TORCHAUDIO_FLOAT32: torchaudio's {@code melscale_fbanks}
 *                        float32 arithmetic; see {@link MelFilterbank})
 */
public record LogMelConfig(int sampleRate, int nFft, int hopLength, int winLength, Window window, boolean periodic,
        int nMels, double fMin, double fMax, MelNorm norm, MelScale melScale, int power, boolean center, boolean log,
        float floor, boolean whisperScale, int padToSamples, boolean dropLastFrame,
        FilterbankArithmetic filterbankArithmetic) {

    /** Window applied to each frame. */
    public enum Window { HANN, HAMMING, NONE }

    /** Mel scale of the filterbank: Slaney (linear below 1 kHz, log above; librosa's default) or HTK. */
    public enum MelScale { SLANEY, HTK }

    /** Filter normalisation: Slaney (each triangle divided by its width in Hz / 2) or none (peak 1). */
    public enum MelNorm { SLANEY, NONE }

    /**
     * How the filterbank weights are computed. DOUBLE: in double, rounded once to float (librosa's
     * {@code filters.mel}, hence Whisper's {@code mel_filters.npz} and transformers' feature extractor).
     * TORCHAUDIO_FLOAT32: torchaudio's {@code melscale_fbanks} step by step in float32, as every torchaudio
     * {@code MelSpectrogram} builds it (its weights differ from DOUBLE by up to 2e-7 near the triangles' edges,
     * which moves the log-mel of tonal audio by up to ~1e-3, of speech by ~1.5e-4 with 128 mels).
     */
    public enum FilterbankArithmetic { DOUBLE, TORCHAUDIO_FLOAT32 }

    /** The canonical constructor with the DOUBLE filterbank (the constructor before filterbankArithmetic existed). */
    public LogMelConfig(int sampleRate, int nFft, int hopLength, int winLength, Window window, boolean periodic,
            int nMels, double fMin, double fMax, MelNorm norm, MelScale melScale, int power, boolean center,
            boolean log, float floor, boolean whisperScale, int padToSamples, boolean dropLastFrame) {
        this(sampleRate, nFft, hopLength, winLength, window, periodic, nMels, fMin, fMax, norm, melScale, power, center,
                log, floor, whisperScale, padToSamples, dropLastFrame, FilterbankArithmetic.DOUBLE);
    }

    /** Whisper: 30 s at 16 kHz. */
    public static final int WHISPER_SAMPLES = 480_000;

    public LogMelConfig {
        if (sampleRate <= 0) throw new IllegalArgumentException("sampleRate must be > 0, got " + sampleRate);
        if (nFft < 1 || nFft > (1 << 20)) {
            throw new IllegalArgumentException("nFft must be in [1, 1048576], got " + nFft);
        }
        if (hopLength < 1) throw new IllegalArgumentException("hopLength must be >= 1, got " + hopLength);
        if (winLength < 1 || winLength > nFft) {
            throw new IllegalArgumentException("winLength must be in [1, nFft=" + nFft + "], got " + winLength);
        }
        if (window == null || norm == null || melScale == null || filterbankArithmetic == null) {
            throw new IllegalArgumentException("window, norm, melScale and filterbankArithmetic must not be null");
        }
        if (nMels < 1) throw new IllegalArgumentException("nMels must be >= 1, got " + nMels);
        if (!(fMin >= 0) || !(fMax > fMin) || fMax > sampleRate / 2.0) {
            throw new IllegalArgumentException("need 0 <= fMin < fMax <= sampleRate/2 = " + sampleRate / 2.0 + ", got fMin="
                    + fMin + ", fMax=" + fMax);
        }
        if (power != 1 && power != 2) throw new IllegalArgumentException("power must be 1 or 2, got " + power);
        if (log && !(floor >= Float.MIN_NORMAL && floor < Float.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("floor must be a positive normal float, got " + floor);
        }
        if (whisperScale && !log) {
            throw new IllegalArgumentException("whisperScale (clamp to max - 8, then (x + 4) / 4) needs log = true");
        }
        if (padToSamples < 0) throw new IllegalArgumentException("padToSamples must be >= 0, got " + padToSamples);
    }

    /** Whisper's front end with 80 mel bands. */
    public static LogMelConfig whisper() {
        return whisper(80);
    }

    /** Whisper's front end (n_fft 400, hop 160, periodic Hann, Slaney mels 0–8 kHz, log/clamp/scale, 30 s pad). */
    public static LogMelConfig whisper(int nMels) {
        return new LogMelConfig(16_000, 400, 160, 400, Window.HANN, true, nMels, 0.0, 8000.0, MelNorm.SLANEY,
                MelScale.SLANEY, 2, true, true, 1e-10f, true, WHISPER_SAMPLES, true);
    }

    public LogMelConfig withNMels(int n) {
        return new LogMelConfig(sampleRate, nFft, hopLength, winLength, window, periodic, n, fMin, fMax, norm,
                melScale, power, center, log, floor, whisperScale, padToSamples, dropLastFrame,
                filterbankArithmetic);
    }

    /** Unpadded: every clip gives its own number of frames (n / hop with Whisper's settings). */
    public LogMelConfig unpadded() {
        return withPadToSamples(0);
    }

    public LogMelConfig withPadToSamples(int samples) {
        return new LogMelConfig(sampleRate, nFft, hopLength, winLength, window, periodic, nMels, fMin, fMax, norm,
                melScale, power, center, log, floor, whisperScale, samples, dropLastFrame,
                filterbankArithmetic);
    }

    /** STFT geometry and window. */
    public LogMelConfig withStft(int nFft, int hopLength, int winLength, Window window, boolean center) {
        return new LogMelConfig(sampleRate, nFft, hopLength, winLength, window, periodic, nMels, fMin, fMax, norm,
                melScale, power, center, log, floor, whisperScale, padToSamples, dropLastFrame,
                filterbankArithmetic);
    }

    /** Filterbank. */
    public LogMelConfig withMel(int sampleRate, int nMels, double fMin, double fMax, MelScale scale, MelNorm norm) {
        return new LogMelConfig(sampleRate, nFft, hopLength, winLength, window, periodic, nMels, fMin, fMax, norm,
                scale, power, center, log, floor, whisperScale, padToSamples, dropLastFrame,
                filterbankArithmetic);
    }

    /** Spectrum power and the finish (log, floor, Whisper clamp/scale) and whether the last frame is dropped. */
    public LogMelConfig withFinish(int power, boolean log, float floor, boolean whisperScale, boolean dropLastFrame) {
        return new LogMelConfig(sampleRate, nFft, hopLength, winLength, window, periodic, nMels, fMin, fMax, norm,
                melScale, power, center, log, floor, whisperScale, padToSamples, dropLastFrame,
                filterbankArithmetic);
    }

    /** The same config with its filterbank computed as {@code arithmetic} says. */
    public LogMelConfig withFilterbankArithmetic(FilterbankArithmetic arithmetic) {
        return new LogMelConfig(sampleRate, nFft, hopLength, winLength, window, periodic, nMels, fMin, fMax, norm,
                melScale, power, center, log, floor, whisperScale, padToSamples, dropLastFrame, arithmetic);
    }

    public boolean padded() {
        return padToSamples > 0;
    }

    /** Frequency bins of one frame: nFft / 2 + 1. */
    public int bins() {
        return nFft / 2 + 1;
    }

    /**
     * Frames for a signal of {@code samples} samples (after padding): {@code 1 + (samples + 2p - nFft) / hop}
     * with p = nFft / 2 when centred, minus one if {@link #dropLastFrame}; 0 if the signal is too short.
     */
    public long frames(long samples) {
        long pad = center ? nFft / 2 : 0;
        if (samples + 2 * pad < nFft) {
            return 0;
        }
        long f = 1 + (samples + 2 * pad - nFft) / hopLength;
        return dropLastFrame ? f - 1 : f;
    }

    /** The window as nFft values (a shorter window zero-padded on both sides, centred, as torch.stft does). */
    public float[] windowValues() {
        float[] w = new float[nFft];
        int left = (nFft - winLength) / 2;
        double denom = periodic ? winLength : Math.max(1, winLength - 1);
        for (int i = 0; i < winLength; i++) {
            double c = Math.cos(2 * Math.PI * i / denom);
            double v = switch (window) {
                case HANN -> winLength == 1 ? 1.0 : 0.5 - 0.5 * c;
                case HAMMING -> winLength == 1 ? 1.0 : 0.54 - 0.46 * c;
                case NONE -> 1.0;
            };
            w[left + i] = (float) v;
        }
        return w;
    }
}
