package dev.tessera.runtime;

/** Entry points of the runtime. */
public final class Tessera {
    private Tessera() {}

    /**
     * Opens a scope: tensors created on this thread until it closes are closed with it.
     * <pre>{@code
     * try (var scope = Tessera.scope()) {
     *     Tensor y = Ops.gelu(Ops.matmul(x, w));
     *     result = scope.keep(y);   // survives the scope
     * }
     * }</pre>
     */
    public static Scope scope() {
        return new Scope();
    }

    /**
     * Returns the memory the runtime keeps cached for reuse (freed host blocks of 1 MiB and more on the CPU,
     * the CUDA caching allocator's free blocks) on {@code device} to the system. Live tensors are untouched.
     */
    public static void emptyCache(Device device) {
        Backends.get(device).emptyCache(device);
    }

    /** The default device ({@code -Dtessera.device} or the best available backend). */
    public static Device defaultDevice() {
        return Backends.defaultDevice();
    }
}
