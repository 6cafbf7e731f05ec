package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.SpectrogramNative.*;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.runtime.Tensor;

/** CPU side of the spectrogram family: libtessera's FFT / STFT / mel / finish kernels (arguments validated above). */
final class CpuSpectrogram {
    private CpuSpectrogram() {}

    static void rfft(Tensor x, Tensor out) {
        NativeStatus.check(tsr_cpu_rfft_f32(x.address(), out.address(), x.dim(0), x.dim(1)), "tsr_cpu_rfft_f32");
    }

    static void melSpectrogram(Tensor x, long[] lengths, long sigLen, int nFft, int hop, Tensor window,
            boolean center, long nFrames, int power, Tensor filters, Tensor out) {
        long batch = x.dim(0);
        long width = x.dim(1);
        if (filters == null) {
            NativeStatus.check(tsr_cpu_stft_power_f32(x.address(), batch, width, lengths, sigLen, nFft, hop,
                    window.address(), center ? 1 : 0, nFrames, power, out.address()), "tsr_cpu_stft_power_f32");
        } else {
            NativeStatus.check(tsr_cpu_mel_spectrogram_f32(x.address(), batch, width, lengths, sigLen, nFft, hop,
                    window.address(), center ? 1 : 0, nFrames, power, filters.address(), filters.dim(0),
                    out.address()), "tsr_cpu_mel_spectrogram_f32");
        }
    }

    static void logMelFinish(Tensor x, float floor, boolean log, float clampRange, float add, float mul, Tensor out) {
        long batch = x.rank() == 0 ? 1 : x.dim(0);
        long per = batch == 0 ? 0 : x.numel() / batch;
        NativeStatus.check(tsr_cpu_log_mel_finish_f32(x.address(), out.address(), batch, per, floor, log ? 1 : 0,
                clampRange, add, mul), "tsr_cpu_log_mel_finish_f32");
    }
}
