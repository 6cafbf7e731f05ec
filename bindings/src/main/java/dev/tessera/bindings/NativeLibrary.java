package dev.tessera.bindings;

import org.bytedeco.javacpp.Loader;

/** Loads libtessera once and reports what it was built with. */
public final class NativeLibrary {
    private static volatile Throwable loadError;
    private static volatile boolean loaded;

    private NativeLibrary() {}

    /** Loads the library (idempotent); throws {@link UnsatisfiedLinkError} with the cause if it cannot. */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        if (loadError != null) {
            throw linkError(loadError);
        }
        try {
            Loader.load(TesseraNative.class);
            loaded = true;
        } catch (Throwable t) {
            loadError = t;
            throw linkError(t);
        }
    }

    private static UnsatisfiedLinkError linkError(Throwable t) {
        var e = new UnsatisfiedLinkError("libtessera could not be loaded: " + t);
        e.initCause(t);
        return e;
    }

    public static String version() {
        load();
        return TesseraNative.tsr_version().getString();
    }

    /** SIMD level the CPU kernels use here: avx512, avx2 or scalar. */
    public static String cpuSimd() {
        load();
        return TesseraNative.tsr_cpu_simd().getString();
    }

    public static int cpuThreads() {
        load();
        return TesseraNative.tsr_cpu_threads();
    }

    /**
     * Sets the CPU kernels' thread count (the pool's participants, caller included) for the whole process, as
     * {@code TESSERA_NUM_THREADS} does at start; the pool resizes on its next parallel call. Results are the same bits
     * on any count.
     */
    public static void setCpuThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("CPU threads must be >= 1, got " + n);
        }
        load();
        TesseraNative.tsr_cpu_set_threads(n);
    }

    public static boolean cudaCompiled() {
        load();
        return TesseraNative.tsr_cuda_compiled() != 0;
    }

    public static String cudaArchs() {
        load();
        return TesseraNative.tsr_cuda_archs().getString();
    }

    /** Path of the extracted libtessera.so, or null if not known. */
    public static String path() {
        load();
        for (var entry : Loader.getLoadedLibraries().entrySet()) {
            if (entry.getKey().contains("tessera")) {
                return entry.getValue();
            }
        }
        return null;
    }
}
