package dev.tessera.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A region of code whose tensors are closed together: every tensor created on this thread while the
 * scope is the innermost open one is closed when the scope closes, unless {@link #keep kept}.
 * Obtain one with {@link Tessera#scope()} in a try-with-resources block. Scopes nest; not thread-safe
 * (a scope belongs to the thread that opened it).
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Deque<Scope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final List<Tensor> tensors = new ArrayList<>();
    private final Thread owner = Thread.currentThread();
    private boolean closed;
    private int pruneAt = 1024;

    Scope() {
        STACK.get().push(this);
    }

    static Scope current() {
        return STACK.get().peek();
    }

    void register(Tensor t) {
        if (tensors.size() >= pruneAt) {
            // tensors closed early (op temporaries, explicit close) need not be remembered
            tensors.removeIf(Tensor::isClosed);
            pruneAt = Math.max(1024, 2 * tensors.size());
        }
        tensors.add(t);
    }

    /**
     * Moves {@code t} out of this scope into the enclosing one (or makes it unscoped, owned by the
     * caller, if this is the outermost scope). Returns {@code t}.
     */
    public Tensor keep(Tensor t) {
        if (tensors.remove(t)) {
            Deque<Scope> stack = STACK.get();
            Scope parent = null;
            boolean seen = false;
            for (Scope s : stack) {
                if (seen) {
                    parent = s;
                    break;
                }
                seen = s == this;
            }
            if (parent != null) {
                parent.register(t);
            }
        }
        return t;
    }

    /** Tensors this scope will close (for tests and diagnostics). */
    public int size() {
        return tensors.size();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("a scope must be closed by the thread that opened it");
        }
        Deque<Scope> stack = STACK.get();
        if (stack.peek() != this) {
            // not marked closed: the scope stays on the stack and a later close() in order still frees it
            throw new IllegalStateException("scopes must be closed in reverse order of opening");
        }
        closed = true;
        stack.pop();
        RuntimeException first = null;
        for (int i = tensors.size() - 1; i >= 0; i--) {
            try {
                tensors.get(i).close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        tensors.clear();
        if (first != null) {
            throw first;
        }
    }
}
