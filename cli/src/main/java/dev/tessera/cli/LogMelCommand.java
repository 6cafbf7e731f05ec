package dev.tessera.cli;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.audio.AudioInfo;
import dev.tessera.runtime.audio.AudioStream;
import dev.tessera.runtime.audio.WavReader;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tessera logmel AUDIO --out FILE.npy [--n-mels 80|128] [--no-pad] [--device cpu|cuda]}: Whisper log-mel
 * features of any file FFmpeg decodes (channels averaged, resampled to 16 kHz by swresample's default filter as
 * {@code ffmpeg -ar 16000} does; docs/audio.md), written as float32 [n_mels, frames]. Padded to 30 s (3,000 frames)
 * by default, and longer audio is cut to its first 30 s (as Whisper's {@code pad_or_trim} and transformers'
 * {@code WhisperFeatureExtractor} do; a note goes to stderr): only those 30 s are decoded, so a file of any length
 * works. {@code --no-pad} gives samples / 160 frames of the whole file (at most 2 hours; more than 200 samples).
 * The filterbank is torchaudio's float32 one by default (the reference of the CLI contract: torchaudio's
 * {@code MelSpectrogram(norm="slaney", mel_scale="slaney")}); {@code --mel-filters whisper} takes Whisper's own
 * {@code mel_filters.npz} weights (librosa, float64) instead.
 */
@Command(name = "logmel", description = "Whisper log-mel features of any audio or video file (decoded by FFmpeg, mono 16 kHz), written as float32 [n_mels, frames] .npy.")
final class LogMelCommand implements Callable<Integer> {
    private static final int SAMPLE_RATE = AudioFiles.RATE;

    @Parameters(index = "0", paramLabel = "AUDIO", description = "Audio file: WAV, FLAC, MP3, Opus/Ogg, AAC/M4A, or a video file's audio track.")
    Path audio;

    @Option(names = "--out", required = true, paramLabel = "FILE.npy", description = "Output .npy file.")
    Path out;

    @Option(names = "--n-mels", defaultValue = "80", description = "Mel bands, 1 to 201 (the FFT's bins): 80, or 128 as"
            + " Whisper large-v3 (default ${DEFAULT-VALUE}).")
    int nMels;

    @Option(names = "--no-pad", description = "Do not pad (or cut) to 30 s: samples / 160 frames of the whole file."
            + " Without it, audio longer than 30 s is cut to its first 30 s, as Whisper's pad_or_trim does.")
    boolean noPad;

    @Option(names = "--mel-filters", defaultValue = "torchaudio", paramLabel = "torchaudio|whisper",
            description = "Filterbank weights: torchaudio (default: as torchaudio's MelSpectrogram computes them, in float32)"
                    + " or whisper (librosa's float64 weights: Whisper's mel_filters.npz, transformers' feature extractor)."
                    + " They differ by up to 2e-7, which moves the features of tonal audio by up to ~1e-3.")
    String melFilters;

    @Mixin
    DeviceOptions.DeviceOption device;

    @Override
    public Integer call() {
        if (nMels < 1 || nMels > 201) { // past n_fft / 2 + 1 bins, most filters would be empty
            throw new IllegalArgumentException("--n-mels must be between 1 and 201 (80, or 128 for Whisper large-v3), got "
                    + nMels);
        }
        Device dev = device.resolve();
        if (!Files.isRegularFile(audio)) {
            throw new IllegalArgumentException(Files.isDirectory(audio) ? audio + " is a folder: give one audio file"
                    : "audio file not found: " + audio);
        }
        LogMelConfig cfg = LogMelConfig.whisper(nMels).withFilterbankArithmetic(switch (melFilters) {
            case "torchaudio" -> LogMelConfig.FilterbankArithmetic.TORCHAUDIO_FLOAT32;
            case "whisper", "librosa" -> LogMelConfig.FilterbankArithmetic.DOUBLE;
            default -> throw new IllegalArgumentException("--mel-filters must be torchaudio or whisper, got " + melFilters);
        });
        float[] samples;
        AudioInfo info;
        boolean cut = false;
        try {
            if (!AudioFiles.ffmpegLoads()) { // a 16 kHz WAV, read without FFmpeg
                WavReader.Audio a = AudioFiles.readWithoutFfmpeg(audio);
                info = new AudioInfo("wav", "pcm", a.channels(), a.sampleRate(), a.seconds(), 0);
                cut = !noPad && a.samples().length > cfg.padToSamples();
                samples = cut ? Arrays.copyOf(a.samples(), cfg.padToSamples()) : a.samples();
            } else if (noPad) {
                info = AudioDecoder.probe(audio);
                if (info.durationSeconds() > AudioDecoder.DEFAULT_MAX_SECONDS) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT, "%s is %.1f s long; --no-pad reads at"
                            + " most %.0f s (2 h) into memory (without --no-pad its first 30 s are used)", audio,
                            info.durationSeconds(), AudioDecoder.DEFAULT_MAX_SECONDS));
                }
                samples = AudioDecoder.decode(audio, SAMPLE_RATE);
            } else {
                // only the first 30 s are used: stream them (a file of any length, memory bounded), and one sample
                // more to know whether anything was cut
                try (AudioStream s = AudioDecoder.open(audio, SAMPLE_RATE)) {
                    info = s.info();
                    float[] buf = new float[cfg.padToSamples() + 1];
                    int n = 0;
                    for (int r; n < buf.length && (r = s.read(buf, n, buf.length - n)) > 0; ) {
                        n += r;
                    }
                    cut = n > cfg.padToSamples();
                    samples = Arrays.copyOf(buf, Math.min(n, cfg.padToSamples()));
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + audio + ": " + e.getMessage(), e);
        }
        if (samples.length == 0) {
            throw new IllegalArgumentException(audio + ": no audio samples in this file");
        }
        double seconds = samples.length / (double) SAMPLE_RATE;
        if (noPad) {
            cfg = cfg.unpadded();
            if (samples.length <= cfg.nFft() / 2) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "%s has %d samples at 16 kHz (%.1f ms);"
                        + " --no-pad needs more than %d (n_fft/2) for the reflect padding of the first frame, as"
                        + " torch.stft does (without --no-pad it is padded to 30 s)", audio, samples.length,
                        seconds * 1000, cfg.nFft() / 2));
            }
        } else if (cut) {
            double d = info.durationSeconds();
            boolean known = Double.isFinite(d) && d > 30; // the header's duration, where it has one
            if (known) {
                seconds = d;
            }
            System.err.println(String.format(Locale.ROOT, "note: %s is %s; only its first %d s (%d samples at 16 kHz)"
                    + " are used (--no-pad keeps all of it)", audio,
                    known ? String.format(Locale.ROOT, "%.2f s long", d) : "longer than 30 s",
                    cfg.padToSamples() / SAMPLE_RATE, cfg.padToSamples()));
        }
        int channels = info.channels();
        Tensor computed;
        try {
            computed = LogMel.compute(samples, cfg, dev);
        } catch (IllegalArgumentException e) { // e.g. a NaN sample in a float WAV
            throw new IllegalArgumentException(audio + ": " + e.getMessage(), e);
        }
        try (Tensor mel = computed) {
            float[] data = mel.toFloatArray();
            Npy.writeFloats(out, data, mel.shape());
            System.out.printf("%s: %.2f s, %d channel(s) -> %s float32 [%d, %d] (%s)%n", audio, seconds, channels,
                    out, mel.dim(0), mel.dim(1), dev);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
        return 0;
    }
}
