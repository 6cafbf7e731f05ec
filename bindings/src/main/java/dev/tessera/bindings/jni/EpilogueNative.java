package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry point of {@code native/include/tessera/epilogue.h}: the fused epilogue of a linear layer on CUDA,
 * {@code y = act(y + bias) + residual} in one pass over the GEMM's output (device addresses, a dtype code, a
 * {@code TSR_ACT_*} code and a {@code cudaStream_t}). Same conventions as
 * {@link dev.tessera.bindings.TesseraNative}: raw addresses, status codes, arguments validated by the runtime
 * before the call.
 */
@Platform(include = {"tessera/tessera.h", "tessera/epilogue.h"}, link = "tessera")
public final class EpilogueNative {
    static {
        // libtessera itself is packaged once, beside TesseraNative: load it first so this JNI library
        // links against the already-loaded copy.
        dev.tessera.bindings.NativeLibrary.load();
        Loader.load();
    }

    private EpilogueNative() {}

    public static native int tsr_cuda_linear_epilogue(int dtype, @Cast("void*") long y, @Cast("const void*") long bias,
            int act, @Cast("const void*") long residual, long rows, long cols, @Cast("void*") long stream);
}
