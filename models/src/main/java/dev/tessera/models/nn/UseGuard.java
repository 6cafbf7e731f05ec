package dev.tessera.models.nn;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Keeps a model's weights alive while threads are using them: each public entry point holds a use
 * ({@code try (var u = guard.enter()) { ... }}), and {@link #close()} waits for the uses in progress on other threads
 * before the weights are freed, then refuses new ones. So a model closed while another thread is in a forward pass
 * (a server shutting down) ends that pass normally instead of freeing native memory under a running kernel.
 */
public final class UseGuard {
    private final String what;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Use use = new Use();
    private volatile boolean closed;

    /** @param what the model's name in the "is closed" message */
    public UseGuard(String what) {
        this.what = what;
    }

    /** A use in progress; closing it ends the use (on the thread that entered). */
    public final class Use implements AutoCloseable {
        private Use() {}

        @Override
        public void close() {
            lock.readLock().unlock();
        }
    }

    /**
     * Starts a use on this thread (uses nest).
     *
     * @throws IllegalStateException when the model is closed
     */
    public Use enter() {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            throw new IllegalStateException(what + " is closed");
        }
        return use;
    }

    /** Throws the "is closed" exception when closed (for accessors that touch no weights). */
    public void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(what + " is closed");
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Waits for the uses in progress on other threads, then marks the model closed.
     *
     * @return true the first time (the caller then frees the weights), false when already closed
     * @throws IllegalStateException when called inside a use on this thread (it would wait for itself)
     */
    public boolean close() {
        if (lock.getReadHoldCount() > 0) {
            throw new IllegalStateException(what + ": close() called inside its own forward pass");
        }
        lock.writeLock().lock();
        try {
            if (closed) {
                return false;
            }
            closed = true;
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }
}
