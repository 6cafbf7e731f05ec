package dev.tessera.bindings.cuda;

import static org.bytedeco.cuda.global.cufft.*;

import dev.tessera.bindings.Addresses;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cudart.float2;

/**
 * Typed facade over cuFFT (bytedeco preset) for batched 1-D real-to-complex transforms, the FFT of the
 * spectrogram family. Plans are created once per (n, batch) and cached, at most {@link #MAX_PLANS_PROPERTY} of them
 * (default 8; the least recently used is destroyed, after its stream has finished with it, when a new one would
 * exceed that: each owns a work area in device memory); every {@code cufftResult} is checked and turned into
 * {@link TesseraCudaException}. One instance per device; thread-safe (the plan cache, the stream binding of a plan
 * and its execution are guarded together).
 */
public final class Cufft implements AutoCloseable {
    /** System property: how many cuFFT plans one device keeps (default 8, at least 1). */
    public static final String MAX_PLANS_PROPERTY = "tessera.cuda.cufftPlans";

    private record Key(int n, int batch) {}

    private final int device;
    private final PlanCache<Key> plans = new PlanCache<>(maxPlans());
    private final Map<Integer, Long> boundStreams = new HashMap<>();
    private boolean closed;

    public Cufft(int device) {
        this.device = device;
    }

    private static int maxPlans() {
        String v = System.getProperty(MAX_PLANS_PROPERTY);
        if (v == null || v.isBlank()) {
            return 8;
        }
        try {
            return Math.max(1, Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(MAX_PLANS_PROPERTY + " must be an integer, got '" + v + "'", e);
        }
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
    private int plan(int n, int batch) {
        if (closed) {
            throw new IllegalStateException("cuFFT facade is closed");
        }
        return plans.get(new Key(n, batch), () -> {
            CudaRuntime.setDevice(device);
            int[] handle = new int[1];
            check(cufftPlanMany(handle, 1, new int[] {n}, (int[]) null, 1, n, (int[]) null, 1, n / 2 + 1, CUFFT_R2C,
                    batch), "cufftPlanMany(R2C, n=" + n + ", batch=" + batch + ")");
            return handle[0];
        }, this::destroy);
    }

    /** Destroys an evicted plan once the stream it last ran on has finished with it. */
    private void destroy(int p) {
        Long stream = boundStreams.remove(p);
        if (stream != null) {
            CudaRuntime.streamSynchronize(stream);
        }
        check(cufftDestroy(p), "cufftDestroy");
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
        synchronized (this) { // the plan cannot be evicted between its lookup and its execution
            int p = plan(n, batch);
            Long bound = boundStreams.get(p);
            if (bound == null || bound != stream) {
                check(cufftSetStream(p, CudaRuntime.stream(stream)), "cufftSetStream");
                boundStreams.put(p, stream);
            }
            check(cufftExecR2C(p, Addresses.floats(in), new float2(Addresses.pointer(out))),
                    "cufftExecR2C(n=" + n + ", batch=" + batch + ")");
        }
    }

    /** How many plans are cached (for tests and statistics). */
    public synchronized int cachedPlans() {
        return plans.size();
    }

    /** Destroys the cached plans (frees their work areas), each once its stream has finished with it. */
    public synchronized void clearPlans() {
        RuntimeException first = null;
        for (int p : plans.clear()) {
            try {
                destroy(p);
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
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
