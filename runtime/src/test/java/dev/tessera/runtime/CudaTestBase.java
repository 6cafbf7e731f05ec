package dev.tessera.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the CUDA test classes: skipped, with the backend's reason, where CUDA is unavailable
 * ({@link RequiresCuda}); each test runs inside its own {@link Scope} on {@code cuda:0}, and the device
 * is synchronised after it so that an asynchronous failure is reported by the test that caused it.
 */
@RequiresCuda
abstract class CudaTestBase {
    static final Device GPU = Device.cuda(0);

    private Scope testScope;

    @BeforeEach
    void openTestScope() {
        testScope = Tessera.scope();
    }

    @AfterEach
    void closeTestScope() {
        testScope.close();
        Backends.forType(Device.Type.CUDA).synchronize(GPU);
    }
}
