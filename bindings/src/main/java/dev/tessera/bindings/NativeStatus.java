package dev.tessera.bindings;

import dev.tessera.bindings.cuda.TesseraCudaException;

/** Turns libtessera status codes into Java exceptions. */
public final class NativeStatus {
    public static final int OK = 0;
    public static final int ERR_ARG = 1;
    public static final int ERR_INDEX = 2;
    public static final int ERR_NO_CUDA = 3;
    public static final int ERR_UNSUPPORTED = 4;
    public static final int ERR_NO_MEMORY = 5;
    public static final int ERR_INTERNAL = 6;
    public static final int ERR_CUDA_BASE = 1000;

    private NativeStatus() {}

    /** Throws if {@code status} is not {@link #OK}; {@code call} names the native function. */
    public static void check(int status, String call) {
        if (status == OK) {
            return;
        }
        String msg = lastError();
        if (status >= ERR_CUDA_BASE) {
            int code = status - ERR_CUDA_BASE;
            throw new TesseraCudaException(call, code, msg.isEmpty() ? "cudaError " + code : msg);
        }
        switch (status) {
            case ERR_ARG:
                throw new IllegalArgumentException(call + ": " + msg);
            case ERR_INDEX:
                throw new IndexOutOfBoundsException(call + ": " + msg);
            case ERR_NO_CUDA:
                throw new UnsupportedOperationException(call + ": libtessera was built without CUDA (" + msg + ")");
            case ERR_UNSUPPORTED:
                throw new UnsupportedOperationException(call + ": " + msg);
            case ERR_NO_MEMORY:
                throw new OutOfMemoryError(call + ": " + msg);
            case ERR_INTERNAL:
                throw new IllegalStateException(call + ": " + msg);
            default:
                throw new IllegalStateException(call + " returned status " + status + ": " + msg);
        }
    }

    /** The message libtessera left for the last failed call on this thread. */
    public static String lastError() {
        var p = TesseraNative.tsr_last_error();
        return p == null ? "" : p.getString();
    }
}
