package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.NativeStatus;
import org.junit.jupiter.api.Test;

/**
 * libtessera's status codes as Java exceptions. The native side turns a C++ exception at its C boundary (a scratch
 * buffer that cannot be allocated, thrown on the caller or rethrown there from a pool worker: native
 * threadpool_test) into TSR_ERR_NO_MEMORY / TSR_ERR_INTERNAL instead of letting it unwind into the JVM.
 */
class NativeStatusTest {
    @Test
    void eachCodeHasItsException() {
        assertDoesNotThrow(() -> NativeStatus.check(NativeStatus.OK, "tsr_x"));
        assertThrows(IllegalArgumentException.class, () -> NativeStatus.check(NativeStatus.ERR_ARG, "tsr_x"));
        assertThrows(IndexOutOfBoundsException.class, () -> NativeStatus.check(NativeStatus.ERR_INDEX, "tsr_x"));
        assertThrows(UnsupportedOperationException.class,
                () -> NativeStatus.check(NativeStatus.ERR_UNSUPPORTED, "tsr_x"));
        OutOfMemoryError oom = assertThrows(OutOfMemoryError.class,
                () -> NativeStatus.check(NativeStatus.ERR_NO_MEMORY, "tsr_cpu_rfft_f32"));
        assertTrue(oom.getMessage().startsWith("tsr_cpu_rfft_f32: "), oom.getMessage());
        IllegalStateException internal = assertThrows(IllegalStateException.class,
                () -> NativeStatus.check(NativeStatus.ERR_INTERNAL, "tsr_cpu_qgemm_f32"));
        assertTrue(internal.getMessage().startsWith("tsr_cpu_qgemm_f32: "), internal.getMessage());
        assertThrows(IllegalStateException.class, () -> NativeStatus.check(99, "tsr_x"));
    }
}
