package dev.tessera.bindings.jni;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of {@code native/include/tessera/rbm.h} (placeholder until the kernels land).
 * Same conventions as {@link dev.tessera.bindings.TesseraNative}: raw addresses, status codes.
 */
@Platform(include = {"tessera/tessera.h"}, link = "tessera")
public final class RbmNative {
    static {
        Loader.load();
    }

    private RbmNative() {}
}
