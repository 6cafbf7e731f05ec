package dev.tessera.runtime;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A block of native memory (host or device) shared by a tensor and its views. Reference counted:
 * the last {@link #release()} hands the block back to its backend's allocator.
 *
 * <p>Leak detection: a storage that becomes unreachable while still held (a tensor neither closed nor made inside a
 * {@link Tessera#scope()}) is reported by a {@link Cleaner} in a warning (the first leak, then each power of two),
 * with the allocation's stack trace under {@code -Dtessera.leakTrace=true}; {@link #leaks()} counts them. The
 * memory is not freed then: an op may still be reading an address it took from an object the JIT already considers
 * dead (freeing would need reachability fences on every such path), so a leak stays a leak, now a reported one.
 * Close tensors, or use scopes. Costs ~30 ns per allocation.
 */
public final class Storage {
    private static final Logger LOG = LoggerFactory.getLogger(Storage.class);
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "tessera-storage-cleaner");
        t.setDaemon(true);
        return t;
    });
    private static final boolean TRACE = Boolean.getBoolean("tessera.leakTrace");
    private static final AtomicLong LEAKS = new AtomicLong();
    private static final AtomicLong LEAKED_BYTES = new AtomicLong();
    /** Tests: told the bytes of each leak found. */
    static volatile java.util.function.LongConsumer onLeak;

    private final Backend backend;
    private final Device device;
    private final long address;
    private final long bytes;
    private final Object handle;
    private final AtomicInteger refs;
    private final Cleaner.Cleanable cleanable;

    /**
     * @param handle backend-private bookkeeping (e.g. the allocator block), passed back on free
     */
    public Storage(Backend backend, Device device, long address, long bytes, Object handle) {
        this.backend = backend;
        this.device = device;
        this.address = address;
        this.bytes = bytes;
        this.handle = handle;
        this.refs = new AtomicInteger(1);
        // the action never holds this object (else it would never become unreachable)
        this.cleanable = CLEANER.register(this, new Leak(device, bytes, refs,
                TRACE ? new Throwable("allocated here") : null));
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
            cleanable.clean(); // deregisters; its action sees the count at 0 and does nothing
        }
    }

    /** Storages found unreachable while still held (never closed) since the start of the process. */
    public static long leaks() {
        return LEAKS.get();
    }

    /** Their bytes. */
    public static long leakedBytes() {
        return LEAKED_BYTES.get();
    }

    /** Reports a storage that became unreachable while still held; nothing for one released before. */
    private static final class Leak implements Runnable {
        private final Device device;
        private final long bytes;
        private final AtomicInteger refs;
        private final Throwable site;

        Leak(Device device, long bytes, AtomicInteger refs, Throwable site) {
            this.device = device;
            this.bytes = bytes;
            this.refs = refs;
            this.site = site;
        }

        @Override
        public void run() {
            if (refs.get() <= 0) {
                return; // released by its owner (the Cleaner runs an action once)
            }
            long n = LEAKS.incrementAndGet();
            LEAKED_BYTES.addAndGet(bytes);
            java.util.function.LongConsumer hook = onLeak;
            if (hook != null) {
                hook.accept(bytes);
            }
            if (Long.bitCount(n) == 1) {
                String msg = "{} bytes of {} memory were never closed and can no longer be (a Tensor neither closed nor"
                        + " made in a Tessera.scope()): leaked ({} such so far, {} bytes){}";
                if (site != null) {
                    LOG.warn(msg, bytes, device, n, LEAKED_BYTES.get(), "", site);
                } else {
                    LOG.warn(msg, bytes, device, n, LEAKED_BYTES.get(),
                            "; -Dtessera.leakTrace=true records where each was allocated");
                }
            }
        }
    }
}
