package dev.tessera.bindings.cuda;

/** Device memory exhausted (after the caching allocator emptied its cache and retried). */
public class CudaOutOfMemoryException extends TesseraCudaException {
    private static final long serialVersionUID = 1L;

    public CudaOutOfMemoryException(String call, int code, String message) {
        super(call, code, message);
    }
}
