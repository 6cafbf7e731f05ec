package dev.tessera.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors an op is reading or writing, held for the op's duration: while an {@code InUse} is open, each of its
 * tensors keeps a reference on its {@link Storage}, so a {@link Tensor#close()} on another thread meanwhile frees
 * no memory under the running native call; the close takes effect when the op ends. A tensor that is already closed
 * when the op starts is refused with {@link IllegalStateException} naming the op. Every op of the runtime holds one
 * around its native calls ({@code try (InUse use = InUse.of("myOp", x, y)) { ... }}); code outside the runtime
 * that hands {@link Tensor#address()} to native code should do the same. Belongs to the thread that opened it.
 */
public final class InUse implements AutoCloseable {
    private final String op;
    private final List<Tensor> held = new ArrayList<>(4);
    private boolean closed;

    private InUse(String op) {
        this.op = op;
    }

    /**
     * Holds {@code tensors} (null entries skipped) for {@code op}.
     *
     * @throws IllegalStateException when one of them is closed (those held before it are let go)
     */
    public static InUse of(String op, Tensor... tensors) {
        InUse use = new InUse(op);
        try {
            for (Tensor t : tensors) {
                use.add(t);
            }
        } catch (RuntimeException e) {
            use.close();
            throw e;
        }
        return use;
    }

    /** Holds one more tensor (null is skipped); returns it. */
    public Tensor add(Tensor t) {
        if (closed) {
            throw new IllegalStateException(op + ": InUse already closed");
        }
        if (t != null) {
            t.acquire(op);
            held.add(t);
        }
        return t;
    }

    /** Lets the tensors go; a close that came meanwhile frees their memory now. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = held.size() - 1; i >= 0; i--) {
            held.get(i).release();
        }
        held.clear();
    }
}
