package dev.tessera.cli;

import dev.tessera.runtime.SystemInfo;
import dev.tessera.runtime.audio.WavReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Audio input of the CLI where FFmpeg cannot load (its natives missing for the platform, or its jar left off the
 * class path, as in the GPU bundle): WAV files at 16 kHz are then read by {@link WavReader}, which gives FFmpeg's
 * samples bit for bit (16-bit, 24-bit, 32-bit integer and float PCM, channels averaged; {@code LogMelCommandTest},
 * {@code TranscribeCommandTest}); any other file is refused with one line saying why. With FFmpeg the commands use
 * {@code AudioDecoder} as before.
 */
final class AudioFiles {
    private AudioFiles() {}

    /** The rate the CLI's audio commands work at (Whisper's). */
    static final int RATE = 16_000;

    private static volatile String problem;
    private static volatile Boolean loads;

    /** Whether the FFmpeg preset's classes and natives load here (checked once). */
    static boolean ffmpegLoads() {
        if (Boolean.getBoolean("tessera.audio.noFfmpeg")) { // tests: the path of a machine without FFmpeg
            problem = "-Dtessera.audio.noFfmpeg=true";
            return false;
        }
        Boolean l = loads;
        if (l == null) {
            problem = SystemInfo.loadProblem(SystemInfo.FFMPEG_PRESET);
            l = problem == null;
            loads = l;
        }
        return l;
    }

    /** Refuses {@code audio} unless it is a WAV file, which is all that is read without FFmpeg. */
    static void requireWav(Path audio) {
        if (!audio.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".wav")) {
            throw new IllegalArgumentException("FFmpeg cannot be loaded here (" + problem
                    + "): without it only WAV files at 16 kHz are read, not " + audio);
        }
    }

    /** The mono samples at 16 kHz of {@code audio}, a WAV file, read without FFmpeg. */
    static WavReader.Audio readWithoutFfmpeg(Path audio) throws IOException {
        requireWav(audio);
        return WavReader.readMono(audio, RATE);
    }
}
