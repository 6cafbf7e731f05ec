package dev.tessera.runtime.rbm;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Tensor;
import java.util.Arrays;

/** Argument checks of the RBM API: everything is checked here, before any native call. */
final class Check {
    private Check() {}

    static void params(String op, RbmParams p) {
        if (p == null) {
            throw new IllegalArgumentException(op + ": params must not be null");
        }
        if (p.isClosed()) {
            throw new IllegalStateException(op + ": " + p + " is closed");
        }
    }

    static void f32(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32) {
                throw new IllegalArgumentException(op + " needs F32 tensors, got " + t.describe());
            }
        }
    }

    static void sameDevice(String op, Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t != null && !t.device().equals(first.device())) {
                throw new IllegalArgumentException(op + ": tensors are on different devices: " + first.describe()
                        + " and " + t.describe());
            }
        }
    }

    /** t is [rows, cols] with cols == expectedCols (rows >= 1 when nonEmpty). Returns rows. */
    static long matrix(String op, String what, Tensor t, long expectedCols, String colsName) {
        if (t.rank() != 2 || t.dim(1) != expectedCols) {
            throw new IllegalArgumentException(op + ": " + what + " must be [rows, " + colsName + " = " + expectedCols
                    + "], got " + t.describe());
        }
        if (t.dim(0) < 1) {
            throw new IllegalArgumentException(op + ": " + what + " has no rows: " + t.describe());
        }
        return t.dim(0);
    }

    static void shape(String op, String what, Tensor t, long... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new IllegalArgumentException(op + ": " + what + " must be " + Arrays.toString(expected) + ", got "
                    + t.describe());
        }
    }

    static void visibleType(String op, VisibleType t) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": visible type must not be null");
        }
    }
}
