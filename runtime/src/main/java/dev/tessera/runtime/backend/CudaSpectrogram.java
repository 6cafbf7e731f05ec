package dev.tessera.runtime.backend;

import static dev.tessera.bindings.jni.SpectrogramNative.*;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.cuda.Cufft;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.Arrays;

/**
 * CUDA side of the spectrogram family: framing kernel → batched R2C cuFFT (plans cached per (n, batch))
 * → power and mel projection fused in one kernel over each filter row's non-zero span (the CPU kernel's sums;
 * spectra up to {@code CUDA_MEL_MAX_BINS} bins, else, or with {@code -Dtessera.cuda.fusedMel=false}, a power
 * kernel and one strided-batched cuBLAS GEMM in fp32) → log / clamp kernels with the per-clip max reduced on the
 * device. Everything is queued on the backend's stream; temporaries
 * come from the caching allocator and are released (stream-ordered) when the call returns.
 */
final class CudaSpectrogram {
    private final CudaBackend backend;
    private Cufft[] ffts;

    CudaSpectrogram(CudaBackend backend) {
        this.backend = backend;
    }

    private synchronized Cufft fft(Device d) {
        if (ffts == null) {
            ffts = new Cufft[Math.max(1, backend.deviceCount())];
        }
        if (ffts[d.index()] == null) {
            ffts[d.index()] = new Cufft(d.index());
        }
        return ffts[d.index()];
    }

    private static int intSize(long v, String what) {
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " = " + v + " exceeds cuFFT's int range");
        }
        return (int) v;
    }

    void rfft(Tensor x, Tensor out) {
        long rows = x.dim(0);
        long n = x.dim(1);
        if (rows == 0) {
            return;
        }
        long stream = backend.stream(x.device());
        int nn = intSize(n, "n");
        int batch = intSize(rows, "rows");
        if (out.address() % 8 == 0) {
            fft(x.device()).r2c(nn, batch, x.address(), out.address(), stream);
        } else {
            try (Tensor tmp = Tensor.empty(DType.F32, x.device(), out.shape())) {
                fft(x.device()).r2c(nn, batch, x.address(), tmp.address(), stream);
                backend.copy(tmp, out);
            }
        }
    }

    /**
     * Clips per pass of {@link #melSpectrogram}: as many as keep its temporaries (frames, spectrum and, on the GEMM
     * path, the power spectrum: {@code bytesPerClip} each) within {@code budget} bytes, at least one.
     */
    static long clipsPerPass(long batch, long bytesPerClip, long budget) {
        return Math.max(1, Math.min(batch, budget / Math.max(1, bytesPerClip)));
    }

    void melSpectrogram(Tensor x, long[] lengths, long sigLen, int nFft, int hop, Tensor window, boolean center,
            long nFrames, int power, Tensor filters, Tensor out) {
        long batch = x.dim(0);
        if (batch == 0 || nFrames == 0) {
            return;
        }
        // a large batch runs in passes of whole clips, so that the temporaries stay within the budget
        long bins = nFft / 2 + 1;
        long perClip = Math.multiplyExact(nFrames, (nFft + 3 * bins) * (long) Float.BYTES);
        long pass = clipsPerPass(batch, perClip, CudaBackend.logMelPassBytes());
        if (pass >= batch) {
            melSpectrogramPass(x, lengths, sigLen, nFft, hop, window, center, nFrames, power, filters, out);
            return;
        }
        for (long b0 = 0; b0 < batch; b0 += pass) {
            long b1 = Math.min(batch, b0 + pass);
            long[] lens = lengths == null ? null : Arrays.copyOfRange(lengths, (int) b0, (int) b1);
            try (Tensor xs = x.slice(0, b0, b1); Tensor os = out.slice(0, b0, b1)) {
                melSpectrogramPass(xs, lens, sigLen, nFft, hop, window, center, nFrames, power, filters, os);
            }
        }
    }

    private void melSpectrogramPass(Tensor x, long[] lengths, long sigLen, int nFft, int hop, Tensor window,
            boolean center, long nFrames, int power, Tensor filters, Tensor out) {
        long batch = x.dim(0);
        Device dev = x.device();
        long stream = backend.stream(dev);
        int bins = nFft / 2 + 1;
        int fftBatch = intSize(batch * nFrames, "batch * frames");
        try (Tensor len = lengths == null ? null : Tensor.ofLongs(lengths, dev, lengths.length);
                Tensor frames = Tensor.empty(DType.F32, dev, batch * nFrames, nFft);
                Tensor spec = Tensor.empty(DType.F32, dev, batch * nFrames, bins, 2)) {
            long[] mark = backend.begin(stream);
            NativeStatus.check(tsr_cuda_stft_frames(x.address(), batch, x.dim(1), len == null ? 0 : len.address(),
                    sigLen, nFft, hop, window.address(), center ? 1 : 0, nFrames, frames.address(), stream),
                    "tsr_cuda_stft_frames");
            backend.end(mark, "log-mel framing");
            mark = backend.begin(stream);
            fft(dev).r2c(nFft, fftBatch, frames.address(), spec.address(), stream);
            backend.end(mark, "log-mel R2C cuFFT n=" + nFft);
            if (filters == null) {
                mark = backend.begin(stream);
                NativeStatus.check(tsr_cuda_power_spectrum(spec.address(), out.address(), batch * nFrames * bins,
                        power, stream), "tsr_cuda_power_spectrum");
                backend.end(mark, "log-mel power");
                return;
            }
            if (CudaBackend.fusedMel() && bins <= CUDA_MEL_MAX_BINS) {
                try (Tensor bands = Tensor.empty(DType.I32, dev, 2 * filters.dim(0))) {
                    mark = backend.begin(stream);
                    NativeStatus.check(tsr_cuda_mel_power(spec.address(), batch, nFrames, bins, power,
                            filters.address(), filters.dim(0), bands.address(), out.address(), stream),
                            "tsr_cuda_mel_power");
                    backend.end(mark, "log-mel power + mel (fused)");
                }
                return;
            }
            try (Tensor pw = Tensor.empty(DType.F32, dev, batch, nFrames, bins)) {
                mark = backend.begin(stream);
                NativeStatus.check(tsr_cuda_power_spectrum(spec.address(), pw.address(), batch * nFrames * bins, power,
                        stream), "tsr_cuda_power_spectrum");
                backend.end(mark, "log-mel power");
                int nMels = (int) filters.dim(0);
                int nf = intSize(nFrames, "frames");
                // out_b [nMels, nFrames] = F [nMels, bins] · P_bᵀ, P_b [nFrames, bins]
                backend.gemm(false, true, nMels, nf, bins, 1f, filters, bins, 0L, pw, bins, nFrames * bins, 0f, out,
                        nf, (long) nMels * nFrames, intSize(batch, "batch"), MatmulPrecision.FP32);
            }
        }
    }

    void logMelFinish(Tensor x, float floor, boolean log, float clampRange, float add, float mul, Tensor out) {
        long batch = x.rank() == 0 ? 1 : x.dim(0);
        if (batch == 0 || x.numel() == 0) {
            return;
        }
        long per = x.numel() / batch;
        Device dev = x.device();
        long stream = backend.stream(dev);
        try (Tensor scratch = Tensor.empty(DType.F32, dev, batch * LOGMEL_PARTIALS)) {
            long[] mark = backend.begin(stream);
            NativeStatus.check(tsr_cuda_log_mel_finish(x.address(), out.address(), batch, per, floor, log ? 1 : 0,
                    clampRange, add, mul, scratch.address(), stream), "tsr_cuda_log_mel_finish");
            backend.end(mark, "log-mel log / max / clamp");
        }
    }

}
