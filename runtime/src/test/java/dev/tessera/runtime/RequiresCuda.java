package dev.tessera.runtime;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs the annotated test class or method only where the CUDA backend is available; elsewhere it is
 * reported as skipped with the backend's reason (e.g. "CUDA unavailable: no CUDA device visible").
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@java.lang.annotation.Inherited
@ExtendWith(RequiresCuda.Condition.class)
public @interface RequiresCuda {
    /** The JUnit condition behind {@link RequiresCuda}. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Backend.Availability a;
            try {
                a = Backends.forType(Device.Type.CUDA).availability();
            } catch (RuntimeException | LinkageError e) {
                return ConditionEvaluationResult.disabled("CUDA unavailable: " + e);
            }
            return a.available() ? ConditionEvaluationResult.enabled("CUDA available")
                    : ConditionEvaluationResult.disabled("CUDA unavailable: " + a.reason());
        }
    }
}
