package dev.tessera.bindings.cuda;

/** A failed CUDA, cuBLAS, cuFFT or NVRTC call: the call, its status code and the status name. */
public class TesseraCudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int code;

    public TesseraCudaException(String call, int code, String message) {
        super(call + " failed with code " + code + ": " + message);
        this.call = call;
        this.code = code;
    }

    public String call() {
        return call;
    }

    public int code() {
        return code;
    }
}
