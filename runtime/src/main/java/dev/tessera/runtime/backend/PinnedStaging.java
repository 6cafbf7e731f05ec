package dev.tessera.runtime.backend;

import dev.tessera.bindings.cuda.CudaRuntime;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Page-locked host buffers through which the CUDA backend copies Java arrays to and from one device. A copy
 * from a Java array goes array → pinned buffer → device as one asynchronous DMA transfer, and the call returns
 * without waiting for the stream (the array has already been copied, so the caller may reuse it); the buffer
 * is reused once an event recorded after its transfer has completed. Without staging, each upload allocated
 * pageable memory (for large arrays a fresh mapping whose pages fault in), copied through the driver's own
 * bounce buffers and synchronised the stream, which left the GPU idle while the host prepared the next input.
 *
 * <p>At most {@link #LIMIT} bytes (by default) are kept pinned per device; larger transfers, or a failed pinned allocation,
 * make {@link #acquire} return null and the caller falls back to a pageable copy. Thread-safe.
 */
final class PinnedStaging implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PinnedStaging.class);

    /** The CUDA calls the pool makes (a fake in the unit test). */
    interface Driver {
        long hostAlloc(long bytes);

        void hostFree(long address);

        long eventCreate();

        void eventDestroy(long event);

        void eventRecord(long event, long stream);

        boolean eventDone(long event);

        void eventSynchronize(long event);
    }

    /** The CUDA runtime on {@code device}. */
    static Driver cuda(int device) {
        return new Driver() {
            @Override
            public long hostAlloc(long bytes) {
                CudaRuntime.setDevice(device);
                return CudaRuntime.hostAlloc(bytes);
            }

            @Override
            public void hostFree(long address) {
                CudaRuntime.hostFree(address);
            }

            @Override
            public long eventCreate() {
                CudaRuntime.setDevice(device);
                return CudaRuntime.eventCreate(false);
            }

            @Override
            public void eventDestroy(long event) {
                CudaRuntime.eventDestroy(event);
            }

            @Override
            public void eventRecord(long event, long stream) {
                CudaRuntime.eventRecord(event, stream);
            }

            @Override
            public boolean eventDone(long event) {
                return CudaRuntime.eventDone(event);
            }

            @Override
            public void eventSynchronize(long event) {
                CudaRuntime.eventSynchronize(event);
            }
        };
    }
    /** Pinned bytes kept per device. */
    static final long LIMIT = 512L << 20;
    private static final long ROUND = 64L << 10;
    /** Buffers of one size class in flight at once (so the host runs at most this many uploads ahead). */
    private static final int MAX_IN_FLIGHT = 2;

    /** One pinned buffer, the event after its last transfer, and whether a caller holds it. */
    static final class Buffer {
        final long address;
        final long size;
        final long event;
        boolean held;
        boolean recorded;

        Buffer(long address, long size, long event) {
            this.address = address;
            this.size = size;
            this.event = event;
        }

        long address() {
            return address;
        }
    }

    private final int device;
    private final Driver driver;
    private final long limit;
    private final List<Buffer> buffers = new ArrayList<>();
    private long pinnedBytes;
    private boolean disabled;

    PinnedStaging(int device) {
        this(device, cuda(device));
    }

    PinnedStaging(int device, Driver driver) {
        this(device, driver, LIMIT);
    }

    PinnedStaging(int device, Driver driver, long limit) {
        this.device = device;
        this.driver = driver;
        this.limit = limit;
    }

    /**
     * A held buffer of at least {@code bytes} whose previous transfer has completed (waiting for it if every
     * suitable buffer is still in flight), or null when staging cannot serve the request. Return it with
     * {@link #release}.
     */
    synchronized Buffer acquire(long bytes) {
        if (disabled || bytes > limit) {
            return null;
        }
        long size = Math.max(ROUND, (bytes + ROUND - 1) / ROUND * ROUND);
        Buffer best = null;      // idle, smallest that fits
        Buffer inFlight = null;  // busy, smallest of the request's size class
        int sameClass = 0;
        for (Buffer b : buffers) {
            if (b.held || b.size < bytes) {
                continue;
            }
            boolean inClass = b.size <= 4 * size;
            if (inClass) {
                sameClass++;
            }
            if (!b.recorded || driver.eventDone(b.event)) {
                if (best == null || b.size < best.size) {
                    best = b;
                }
            } else if (inClass && (inFlight == null || b.size < inFlight.size)) {
                inFlight = b;
            }
        }
        if (best == null && sameClass < MAX_IN_FLIGHT) {
            // make room by freeing idle buffers, then allocate
            for (int i = buffers.size() - 1; i >= 0 && pinnedBytes + size > limit; i--) {
                Buffer b = buffers.get(i);
                if (!b.held && (!b.recorded || driver.eventDone(b.event))) {
                    free(b);
                    buffers.remove(i);
                }
            }
            if (pinnedBytes + size <= limit) {
                best = allocate(size);
            }
        }
        if (best == null && inFlight != null) {
            // the host is MAX_IN_FLIGHT uploads ahead of the device: wait for one of them
            driver.eventSynchronize(inFlight.event);
            best = inFlight;
        }
        if (best == null) {
            return null;
        }
        best.held = true;
        return best;
    }

    /** Records the buffer's transfer (queued on {@code stream}) and hands the buffer back. */
    synchronized void release(Buffer b, long stream) {
        driver.eventRecord(b.event, stream);
        b.recorded = true;
        b.held = false;
    }

    /** Hands back a buffer whose transfer has already completed (or was never queued). */
    synchronized void releaseIdle(Buffer b) {
        b.held = false;
    }

    private Buffer allocate(long size) {
        long address;
        try {
            address = driver.hostAlloc(size);
        } catch (RuntimeException e) {
            LOG.warn("cuda:{}: pinned host allocation of {} bytes failed ({}); copies stay pageable", device, size,
                    e.getMessage());
            disabled = buffers.isEmpty();
            return null;
        }
        long event;
        try {
            event = driver.eventCreate();
        } catch (RuntimeException e) {
            driver.hostFree(address);
            LOG.warn("cuda:{}: event creation for pinned staging failed ({}); copies stay pageable", device,
                    e.getMessage());
            disabled = buffers.isEmpty();
            return null;
        }
        Buffer b = new Buffer(address, size, event);
        buffers.add(b);
        pinnedBytes += size;
        return b;
    }

    private void free(Buffer b) {
        driver.eventDestroy(b.event);
        driver.hostFree(b.address);
        pinnedBytes -= b.size;
    }

    /** Pinned bytes held now. */
    synchronized long pinnedBytes() {
        return pinnedBytes;
    }

    @Override
    public synchronized void close() {
        for (Buffer b : buffers) {
            if (b.recorded) {
                driver.eventSynchronize(b.event);
            }
            free(b);
        }
        buffers.clear();
    }
}
