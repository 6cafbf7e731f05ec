package dev.tessera.bindings.cuda;

import static org.bytedeco.cuda.global.cufft.*;

import dev.tessera.bindings.Addresses;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cudart.float2;

/**
 * Typed facade over cuFFT (bytedeco preset) for batched 1-D real-to-complex transforms, the FFT of the
 * spectrogram family. Plans are created once per (n, batch) and cached; every {@code cufftResult} is
 * checked and turned into {@link TesseraCudaException}. One instance per device; thread-safe (the
 * plan cache and the stream binding of a plan are guarded).
 */
public final class Cufft implements AutoCloseable {
    private record Key(int n, int batch) {}

    private final int device;
    private final Map<Key, Integer> plans = new HashMap<>();
    private final Map<Integer, Long> boundStreams = new HashMap<>();
    private boolean closed;

    public Cufft(int device) {
        this.device = device;
    }

    /** Name of a {@code cufftResult} code. */
    public static String resultName(int r) {
        if (r == CUFFT_SUCCESS) return "CUFFT_SUCCESS";
        if (r == CUFFT_INVALID_PLAN) return "CUFFT_INVALID_PLAN";
        if (r == CUFFT_ALLOC_FAILED) return "CUFFT_ALLOC_FAILED";
        if (r == CUFFT_INVALID_TYPE) return "CUFFT_INVALID_TYPE";
        if (r == CUFFT_INVALID_VALUE) return "CUFFT_INVALID_VALUE";
        if (r == CUFFT_INTERNAL_ERROR) return "CUFFT_INTERNAL_ERROR";
        if (r == CUFFT_EXEC_FAILED) return "CUFFT_EXEC_FAILED";
        if (r == CUFFT_SETUP_FAILED) return "CUFFT_SETUP_FAILED";
        if (r == CUFFT_INVALID_SIZE) return "CUFFT_INVALID_SIZE";
        if (r == CUFFT_UNALIGNED_DATA) return "CUFFT_UNALIGNED_DATA";
        if (r == CUFFT_INVALID_DEVICE) return "CUFFT_INVALID_DEVICE";
        if (r == CUFFT_NO_WORKSPACE) return "CUFFT_NO_WORKSPACE";
        if (r == CUFFT_NOT_IMPLEMENTED) return "CUFFT_NOT_IMPLEMENTED";
        if (r == CUFFT_NOT_SUPPORTED) return "CUFFT_NOT_SUPPORTED";
        if (r == CUFFT_MISSING_DEPENDENCY) return "CUFFT_MISSING_DEPENDENCY";
        return "cufftResult " + r;
    }

    static void check(int result, String call) {
        if (result != CUFFT_SUCCESS) {
            throw new TesseraCudaException(call, result, resultName(result));
        }
    }

    /** The cached R2C plan for {@code batch} transforms of {@code n} reals (dense rows, n/2+1 outputs each). */
    private synchronized int plan(int n, int batch) {
        if (closed) {
            throw new IllegalStateException("cuFFT facade is closed");
        }
        Key key = new Key(n, batch);
        Integer p = plans.get(key);
        if (p == null) {
            CudaRuntime.setDevice(device);
            int[] handle = new int[1];
            check(cufftPlanMany(handle, 1, new int[] {n}, (int[]) null, 1, n, (int[]) null, 1, n / 2 + 1, CUFFT_R2C,
                    batch), "cufftPlanMany(R2C, n=" + n + ", batch=" + batch + ")");
            p = handle[0];
            plans.put(key, p);
        }
        return p;
    }

    /**
     * Forward real-to-complex FFT of {@code batch} rows: {@code in} (device, float[batch, n]) to
     * {@code out} (device, interleaved complex float[batch, n/2+1, 2]), queued on {@code stream}.
     * The caller has validated sizes (n >= 1, batch >= 1) and the buffers (8-byte aligned output).
     */
    public void r2c(int n, int batch, long in, long out, long stream) {
        if (n < 1 || batch < 1) {
            throw new IllegalArgumentException("cuFFT R2C needs n >= 1 and batch >= 1, got n=" + n + ", batch=" + batch);
        }
        int p = plan(n, batch);
        synchronized (this) {
            Long bound = boundStreams.get(p);
            if (bound == null || bound != stream) {
                check(cufftSetStream(p, CudaRuntime.stream(stream)), "cufftSetStream");
                boundStreams.put(p, stream);
            }
            check(cufftExecR2C(p, Addresses.floats(in), new float2(Addresses.pointer(out))),
                    "cufftExecR2C(n=" + n + ", batch=" + batch + ")");
        }
    }

    /** Destroys the cached plans (frees their work areas). */
    public synchronized void clearPlans() {
        RuntimeException first = null;
        for (int p : plans.values()) {
            try {
                check(cufftDestroy(p), "cufftDestroy");
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        plans.clear();
        boundStreams.clear();
        if (first != null) throw first;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            clearPlans();
            closed = true;
        }
    }
}
