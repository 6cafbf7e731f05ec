package dev.tessera.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-mel spectrogram, Whisper-compatible by default ({@link LogMelConfig#whisper()}): 16 kHz mono float
 * audio, n_fft 400, hop 160, periodic Hann window, centred frames with reflect padding, power spectrum,
 * Slaney mel filterbank (0–8 kHz, Slaney normalisation), {@code log10(max(mel, 1e-10))}, clamp to
 * (max − 8) per clip, {@code (x + 4) / 4}; clips zero-padded to 30 s (480,000 samples → 3,000 frames,
 * the last STFT frame dropped) or unpadded ({@code n / 160} frames).
 *
 * <p>CPU: libtessera's mixed-radix FFT (exact n_fft = 400, no zero padding to 512), threaded over
 * frames, with the mel projection and the finish fused natively. CUDA: framing kernel, batched R2C cuFFT,
 * power kernel, cuBLAS mel GEMM and the log/clamp kernels, all on the device.
 *
 * <p>Every argument is validated here before any native call: empty audio, NaN / infinite samples,
 * clips longer than the padding, clips too short for one frame, wrong ranks and dtypes all throw
 * {@link IllegalArgumentException} naming the offending shape or sample.
 */
public final class LogMel {
    private LogMel() {}

    /** The features of one clip on {@code device}: fp32 [nMels, frames]. */
    public static Tensor compute(float[] audio, LogMelConfig cfg, Device device) {
        if (audio == null) {
            throw new IllegalArgumentException("audio clip 0 is null");
        }
        return compute(List.of(audio), cfg, device).get(0); // which checks the samples (once)
    }

    /**
     * Features of several clips of any lengths, one fp32 [nMels, frames_i] tensor each on {@code device}.
     * Padded configs give the same frame count for every clip (one batched call); unpadded ones give each
     * clip its own (clips of equal length are batched together).
     */
    public static List<Tensor> compute(List<float[]> clips, LogMelConfig cfg, Device device) {
        if (clips == null || clips.isEmpty()) {
            throw new IllegalArgumentException("no audio clips given");
        }
        requireConfig(cfg);
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        for (int i = 0; i < clips.size(); i++) {
            requireAudio(clips.get(i), i);
            signalLength(clips.get(i).length, cfg, i);  // length checks before any work
        }
        List<Tensor> out = new ArrayList<>(clips.size());
        try {
            if (cfg.padded()) {
                Tensor all = computeBatch(clips, cfg, device);
                try {
                    for (int i = 0; i < clips.size(); i++) {
                        try (Tensor row = all.slice(0, i, i + 1)) {
                            out.add(row.reshape(cfg.nMels(), all.dim(2)));
                        }
                    }
                } finally {
                    all.close();
                }
            } else {
                for (int i = 0; i < clips.size(); i++) {
                    Tensor one = computeBatch(List.of(clips.get(i)), cfg, device);
                    try {
                        out.add(one.reshape(cfg.nMels(), one.dim(2)));
                    } finally {
                        one.close();
                    }
                }
            }
        } catch (RuntimeException e) {
            out.forEach(Tensor::close);
            throw e;
        }
        return out;
    }

    /** Batched features of equal-signal-length clips: fp32 [B, nMels, frames]. */
    private static Tensor computeBatch(List<float[]> clips, LogMelConfig cfg, Device device) {
        int width = 0;
        for (float[] c : clips) {
            width = Math.max(width, c.length);
        }
        if (clips.size() == 1) { // no staging copy: the clip itself goes to the device
            float[] c = clips.get(0);
            try (Tensor x = Tensor.of(c, device, 1, c.length)) {
                return compute(x, null, cfg);
            }
        }
        long[] lengths = new long[clips.size()];
        float[] data = new float[Math.multiplyExact(clips.size(), width)];
        for (int i = 0; i < clips.size(); i++) {
            float[] c = clips.get(i);
            System.arraycopy(c, 0, data, i * width, c.length);
            lengths[i] = c.length;
        }
        try (Tensor x = Tensor.of(data, device, clips.size(), width)) {
            return compute(x, lengths, cfg);
        }
    }

    /**
     * Batched features of audio {@code x} fp32 [B, n] (any device): clip b is {@code x[b, 0 .. lengths[b])}
     * followed by zeros. Padded configs zero-pad every clip to {@code padToSamples} (n may exceed it only if
     * lengths are given and every one fits); unpadded ones treat every clip as n samples (zeros after
     * {@code lengths[b]}). Returns
     * fp32 [B, nMels, frames] on x's device. {@code lengths} may be null (all n). NaN samples propagate here
     * (the float[] entry points reject them).
     */
    public static Tensor compute(Tensor x, long[] lengths, LogMelConfig cfg) {
        requireConfig(cfg);
        if (x == null) {
            throw new IllegalArgumentException("audio tensor must not be null");
        }
        x.ensureOpen();
        if (x.rank() != 2 || x.dtype() != DType.F32) {
            throw new IllegalArgumentException("audio must be fp32 [batch, samples], got " + x.describe());
        }
        if (!x.isContiguous()) {
            throw new IllegalArgumentException("audio tensor must be contiguous, got " + x.describe());
        }
        long batch = x.dim(0);
        long n = x.dim(1);
        if (batch == 0 || n == 0) {
            throw new IllegalArgumentException("audio is empty: " + x.describe());
        }
        long sigLen = cfg.padded() ? cfg.padToSamples() : n;
        long[] lens = lengths == null ? null : lengths.clone();
        if (lens != null) {
            if (lens.length != batch) {
                throw new IllegalArgumentException("lengths has " + lens.length + " entries for audio " + x.describe());
            }
            for (int b = 0; b < batch; b++) {
                if (lens[b] < 1 || lens[b] > n) {
                    throw new IllegalArgumentException("lengths[" + b + "] = " + lens[b] + " outside [1, " + n
                            + "] for audio " + x.describe());
                }
                signalLength(lens[b], cfg, b);
            }
        } else {
            signalLength(n, cfg, 0);
        }
        if (lens == null && n > sigLen) {
            throw new IllegalArgumentException("audio " + x.describe() + " is longer than the " + sigLen
                    + " samples it is padded to; pass lengths or use an unpadded config");
        }
        long frames = cfg.frames(sigLen);
        if (frames < 1) {
            throw new IllegalArgumentException("audio of " + sigLen + " samples gives no frame (n_fft=" + cfg.nFft()
                    + ", hop=" + cfg.hopLength() + ")");
        }
        Device device = x.device();
        Backend be = Backends.get(device);
        float[] filters = MelFilterbank.of(cfg);
        return Tensor.filled(Tensor.empty(DType.F32, device, batch, cfg.nMels(), frames), out -> {
            try (InUse use = InUse.of("LogMel.compute", x);
                    Tensor win = Tensor.of(cfg.windowValues(), device, cfg.nFft());
                    Tensor fb = Tensor.of(filters, device, cfg.nMels(), cfg.bins())) {
                be.melSpectrogram(x, lens, sigLen, cfg.nFft(), cfg.hopLength(), win, cfg.center(), frames, cfg.power(),
                        fb, out);
                if (cfg.log() || cfg.whisperScale()) {
                    boolean w = cfg.whisperScale();
                    be.logMelFinish(out, cfg.floor(), cfg.log(), w ? 8f : 0f, w ? 4f : 0f, w ? 0.25f : 1f, out);
                }
            }
        });
    }

    /**
     * Real forward FFT of each row of {@code x} fp32 [rows, n] (any n >= 1): fp32 [rows, n/2 + 1, 2]
     * (re, im) on x's device.
     */
    public static Tensor rfft(Tensor x) {
        if (x == null) {
            throw new IllegalArgumentException("input must not be null");
        }
        x.ensureOpen();
        if (x.rank() != 2 || x.dtype() != DType.F32 || !x.isContiguous()) {
            throw new IllegalArgumentException("rfft needs a contiguous fp32 [rows, n] tensor, got " + x.describe());
        }
        if (x.dim(1) < 1 || x.dim(1) > (1 << 20)) {
            throw new IllegalArgumentException("rfft length n must be in [1, 1048576], got " + x.describe());
        }
        return Tensor.filled(Tensor.empty(DType.F32, x.device(), x.dim(0), x.dim(1) / 2 + 1, 2), out -> {
            try (InUse use = InUse.of("LogMel.rfft", x)) {
                Backends.get(x.device()).rfft(x, out);
            }
        });
    }

    // ------------------------------------------------------------------ validation

    private static void requireConfig(LogMelConfig cfg) {
        if (cfg == null) {
            throw new IllegalArgumentException("config must not be null (use LogMelConfig.whisper())");
        }
    }

    /**
     * The largest sample magnitude accepted: a frame's power |X|^2 <= (|x|max * n_fft)^2 stays below float32's
     * 3.4e38 for n_fft up to 2^18 with a margin of 2^10 for the mel sums (float64 references stay finite further; a
     * sample of 1e12 is no audio signal).
     */
    static final float MAX_SAMPLE = 1e12f;

    private static float[] requireAudio(float[] audio, int clip) {
        if (audio == null) {
            throw new IllegalArgumentException("audio clip " + clip + " is null");
        }
        if (audio.length == 0) {
            throw new IllegalArgumentException("audio clip " + clip + " is empty (0 samples)");
        }
        // All finite? (bits & exponent) + one exponent step has its sign bit set only for an all-ones exponent (NaN,
        // inf): a branch-free OR that the JIT vectorises (3x the per-sample test, which runs only to name the sample)
        int bad = 0;
        int maxBits = 0; // of |v|: the bits of non-negative floats order as their values
        for (float v : audio) {
            int bits = Float.floatToRawIntBits(v);
            bad |= (bits & 0x7f800000) + 0x00800000;
            maxBits = Math.max(maxBits, bits & 0x7fffffff);
        }
        if (bad >= 0 && Float.intBitsToFloat(maxBits) > MAX_SAMPLE) {
            throw new IllegalArgumentException("audio clip " + clip + " has samples up to "
                    + Float.intBitsToFloat(maxBits) + " in magnitude: beyond " + MAX_SAMPLE + " the float32 spectrum"
                    + " overflows (audio is expected in [-1, 1]; scale it down)");
        }
        if (bad < 0) {
            for (int i = 0; i < audio.length; i++) {
                float v = audio[i];
                if (Float.isNaN(v) || Float.isInfinite(v)) {
                    throw new IllegalArgumentException("audio clip " + clip + " has "
                            + (Float.isNaN(v) ? "a NaN" : "an infinite") + " sample at index " + i + " of "
                            + audio.length);
                }
            }
        }
        return audio;
    }

    /** The signal length a clip of {@code n} samples is transformed at; throws if it does not fit. */
    private static long signalLength(long n, LogMelConfig cfg, int clip) {
        long sig = n;
        if (cfg.padded()) {
            if (n > cfg.padToSamples()) {
                throw new IllegalArgumentException("audio clip " + clip + " has " + n + " samples, more than the "
                        + cfg.padToSamples() + " (" + cfg.padToSamples() / (double) cfg.sampleRate()
                        + " s) it is padded to; use an unpadded config (--no-pad) or split the audio");
            }
            sig = cfg.padToSamples();
        }
        long pad = cfg.center() ? cfg.nFft() / 2 : 0;
        if (cfg.center() && sig <= pad) {
            throw new IllegalArgumentException("audio clip " + clip + " has " + n + " samples; reflect padding needs more than"
                    + " n_fft/2 = " + pad);
        }
        if (cfg.frames(sig) < 1) {
            throw new IllegalArgumentException("audio clip " + clip + " has " + n + " samples, too short for one frame"
                    + " (n_fft=" + cfg.nFft() + ", hop=" + cfg.hopLength() + ")");
        }
        return sig;
    }
}
