package dev.tessera.runtime.audio;

/**
 * What {@link AudioDecoder#probe} reads from a file's header: the container, the audio stream's codec, its
 * channel count and sample rate, and its duration in seconds (NaN when the container does not say).
 */
public record AudioInfo(String container, String codec, int channels, int sampleRate, double durationSeconds,
        int streamIndex) {}
