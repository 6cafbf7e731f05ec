package dev.tessera.runtime.testing;

import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tessera;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs each test of a class inside its own {@link Tessera#scope()}: every tensor a test makes without closing it is
 * freed when the test ends ({@code @ExtendWith(ScopePerTest.class)}).
 */
public final class ScopePerTest implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ScopePerTest.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("scope", Tessera.scope());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Scope scope = context.getStore(NS).remove("scope", Scope.class);
        if (scope != null) {
            scope.close();
        }
    }
}
