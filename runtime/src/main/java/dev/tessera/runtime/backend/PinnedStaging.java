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
 * <p>At most {@link #LIMIT} bytes are kept pinned per device; larger transfers, or a failed pinned allocation,
 * make {@link #acquire} return null and the caller falls back to a pageable copy. Thread-safe.
 */
final class PinnedStaging implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PinnedStaging.class);
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
    private final List<Buffer> buffers = new ArrayList<>();
    private long pinnedBytes;
    private boolean disabled;

    PinnedStaging(int device) {
        this.device = device;
    }

    /**
     * A held buffer of at least {@code bytes} whose previous transfer has completed (waiting for it if every
     * suitable buffer is still in flight), or null when staging cannot serve the request. Return it with
     * {@link #release}.
     */
    synchronized Buffer acquire(long bytes) {
        if (disabled || bytes > LIMIT) {
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
            if (!b.recorded || CudaRuntime.eventDone(b.event)) {
                if (best == null || b.size < best.size) {
                    best = b;
                }
            } else if (inClass && (inFlight == null || b.size < inFlight.size)) {
                inFlight = b;
            }
        }
        if (best == null && sameClass < MAX_IN_FLIGHT) {
            // make room by freeing idle buffers, then allocate
            for (int i = buffers.size() - 1; i >= 0 && pinnedBytes + size > LIMIT; i--) {
                Buffer b = buffers.get(i);
                if (!b.held && (!b.recorded || CudaRuntime.eventDone(b.event))) {
                    free(b);
                    buffers.remove(i);
                }
            }
            if (pinnedBytes + size <= LIMIT) {
                best = allocate(size);
            }
        }
        if (best == null && inFlight != null) {
            // the host is MAX_IN_FLIGHT uploads ahead of the device: wait for the oldest of them
            CudaRuntime.eventSynchronize(inFlight.event);
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
        CudaRuntime.eventRecord(b.event, stream);
        b.recorded = true;
        b.held = false;
    }

    /** Hands back a buffer whose transfer has already completed (or was never queued). */
    synchronized void releaseIdle(Buffer b) {
        b.held = false;
    }

    private Buffer allocate(long size) {
        CudaRuntime.setDevice(device);
        long address;
        try {
            address = CudaRuntime.hostAlloc(size);
        } catch (RuntimeException e) {
            LOG.warn("cuda:{}: pinned host allocation of {} bytes failed ({}); copies stay pageable", device, size,
                    e.getMessage());
            disabled = buffers.isEmpty();
            return null;
        }
        long event;
        try {
            event = CudaRuntime.eventCreate(false);
        } catch (RuntimeException e) {
            CudaRuntime.hostFree(address);
            throw e;
        }
        Buffer b = new Buffer(address, size, event);
        buffers.add(b);
        pinnedBytes += size;
        return b;
    }

    private void free(Buffer b) {
        CudaRuntime.eventDestroy(b.event);
        CudaRuntime.hostFree(b.address);
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
                CudaRuntime.eventSynchronize(b.event);
            }
            free(b);
        }
        buffers.clear();
    }
}
