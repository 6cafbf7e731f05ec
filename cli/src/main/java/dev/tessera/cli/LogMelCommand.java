package dev.tessera.cli;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.LogMel;
import dev.tessera.runtime.LogMelConfig;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tessera logmel AUDIO --out FILE.npy [--n-mels 80|128] [--no-pad] [--device cpu|cuda]}: Whisper log-mel
 * features of a 16 kHz WAV file (any channel count, mixed to mono), written as float32 [n_mels, frames].
 * Padded to 30 s (3,000 frames) by default, and longer audio is cut to its first 30 s (as Whisper's
 * {@code pad_or_trim} and transformers' {@code WhisperFeatureExtractor} do; a note goes to stderr);
 * {@code --no-pad} gives samples / 160 frames of the whole file.
 */
@Command(name = "logmel", description = "Whisper log-mel features of any audio or video file (decoded by FFmpeg, mono 16 kHz), written as float32 [n_mels, frames] .npy.")
final class LogMelCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "AUDIO", description = "Audio file: WAV, FLAC, MP3, Opus/Ogg, AAC/M4A, or a video file's audio track.")
    Path audio;

    @Option(names = "--out", required = true, paramLabel = "FILE.npy", description = "Output .npy file.")
    Path out;

    @Option(names = "--n-mels", defaultValue = "80", description = "Mel bands: 80 or 128 (default ${DEFAULT-VALUE}).")
    int nMels;

    @Option(names = "--no-pad", description = "Do not pad (or cut) to 30 s: samples / 160 frames of the whole file."
            + " Without it, audio longer than 30 s is cut to its first 30 s, as Whisper's pad_or_trim does.")
    boolean noPad;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda[:N] (default ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() {
        if (nMels != 80 && nMels != 128) {
            throw new IllegalArgumentException("--n-mels must be 80 or 128, got " + nMels);
        }
        Device dev = Device.parse(device);
        Backend be = Backends.forType(dev.type());
        if (!be.availability().available()) {
            throw new IllegalStateException("device " + dev + " unavailable: " + be.availability().reason());
        }
        if (!Files.isRegularFile(audio)) {
            throw new IllegalArgumentException("audio file not found: " + audio);
        }
        float[] samples;
        int channels;
        try {
            channels = AudioDecoder.probe(audio).channels();
            samples = AudioDecoder.decode(audio, 16_000);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + audio + ": " + e.getMessage(), e);
        }
        double seconds = samples.length / 16_000.0;
        LogMelConfig cfg = LogMelConfig.whisper(nMels);
        if (noPad) {
            cfg = cfg.unpadded();
        } else if (samples.length > cfg.padToSamples()) {
            System.err.printf("note: %s is %.2f s long (%d samples at 16 kHz); only its first %d s (%d samples) are used"
                    + " (--no-pad keeps all of it)%n", audio, seconds, samples.length, cfg.padToSamples() / 16_000,
                    cfg.padToSamples());
            samples = java.util.Arrays.copyOf(samples, cfg.padToSamples());
        }
        try (Tensor mel = LogMel.compute(samples, cfg, dev)) {
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
