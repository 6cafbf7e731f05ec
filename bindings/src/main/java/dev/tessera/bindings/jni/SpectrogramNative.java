package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/spectrogram.h}: real FFT, STFT power, fused mel
 * spectrogram and the log / Whisper finish (CPU), and the CUDA kernels around cuFFT (framing, power,
 * power fused with the mel projection, finish). Same conventions as {@link dev.tessera.bindings.TesseraNative}: raw addresses, status codes
 * (check with {@link dev.tessera.bindings.NativeStatus#check}); every argument validated by the runtime
 * before the call.
 */
@Platform(include = {"tessera/tessera.h", "tessera/spectrogram.h"}, link = "tessera")
public final class SpectrogramNative {
    static {
        // libtessera itself is packaged once, beside TesseraNative: load it first so this JNI library
        // links against the already-loaded copy.
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    /** Device scratch floats per clip for {@link #tsr_cuda_log_mel_finish}. */
    public static final int LOGMEL_PARTIALS = 64;
    /** Largest spectrum (n_fft / 2 + 1 bins) {@link #tsr_cuda_mel_power} takes (TSR_CUDA_MEL_MAX_BINS). */
    public static final int CUDA_MEL_MAX_BINS = 372;
    /** Largest FFT length the CPU kernels accept. */
    public static final int FFT_MAX_N = 1 << 20;

    private SpectrogramNative() {}

    // ---- CPU
    public static native int tsr_cpu_rfft_f32(@Cast("const float*") long x, @Cast("float*") long out, long rows,
            long n);

    public static native int tsr_cpu_stft_power_f32(@Cast("const float*") long x, long batch, long xStride,
            @Cast("const int64_t*") long[] lengths, long sigLen, long nFft, long hop,
            @Cast("const float*") long window, int center, long nFrames, int power, @Cast("float*") long out);

    public static native int tsr_cpu_mel_spectrogram_f32(@Cast("const float*") long x, long batch, long xStride,
            @Cast("const int64_t*") long[] lengths, long sigLen, long nFft, long hop,
            @Cast("const float*") long window, int center, long nFrames, int power,
            @Cast("const float*") long filters, long nMels, @Cast("float*") long out);

    public static native int tsr_cpu_log_mel_finish_f32(@Cast("const float*") long x, @Cast("float*") long out,
            long batch, long perClip, float floor, int doLog, float clampRange, float add, float mul);

    // ---- CUDA (device addresses, cudaStream_t as an address)
    public static native int tsr_cuda_stft_frames(@Cast("const float*") long x, long batch, long xStride,
            @Cast("const int64_t*") long lengthsDev, long sigLen, long nFft, long hop,
            @Cast("const float*") long window, int center, long nFrames, @Cast("float*") long frames,
            @Cast("void*") long stream);

    public static native int tsr_cuda_power_spectrum(@Cast("const float*") long complexIn, @Cast("float*") long out,
            long count, int power, @Cast("void*") long stream);

    public static native int tsr_cuda_mel_power(@Cast("const float*") long complexIn, long batch, long nFrames,
            long bins, int power, @Cast("const float*") long filters, long nMels, @Cast("int32_t*") long bands,
            @Cast("float*") long out, @Cast("void*") long stream);

    public static native int tsr_cuda_log_mel_finish(@Cast("const float*") long x, @Cast("float*") long out,
            long batch, long perClip, float floor, int doLog, float clampRange, float add, float mul,
            @Cast("float*") long scratch, @Cast("void*") long stream);
}
