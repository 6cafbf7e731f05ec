package dev.tessera.runtime;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block of native memory (host or device) shared by a tensor and its views. Reference counted:
 * the last {@link #release()} hands the block back to its backend's allocator.
 */
public final class Storage {
    private final Backend backend;
    private final Device device;
    private final long address;
    private final long bytes;
    private final Object handle;
    private final AtomicInteger refs = new AtomicInteger(1);

    /**
     * @param handle backend-private bookkeeping (e.g. the allocator block), passed back on free
     */
    public Storage(Backend backend, Device device, long address, long bytes, Object handle) {
        this.backend = backend;
        this.device = device;
        this.address = address;
        this.bytes = bytes;
        this.handle = handle;
    }

    public Device device() {
        return device;
    }

    public Backend backend() {
        return backend;
    }

    public long address() {
        return address;
    }

    public long bytes() {
        return bytes;
    }

    public Object handle() {
        return handle;
    }

    public boolean isFreed() {
        return refs.get() <= 0;
    }

    void retain() {
        int r;
        do {
            r = refs.get();
            if (r <= 0) {
                throw new IllegalStateException("storage already freed");
            }
        } while (!refs.compareAndSet(r, r + 1));
    }

    void release() {
        if (refs.decrementAndGet() == 0) {
            backend.free(this);
        }
    }
}
