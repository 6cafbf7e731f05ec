package dev.tessera.runtime.memory;

import dev.tessera.bindings.cuda.CudaOutOfMemoryException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching allocator for one device, in the manner of PyTorch's: freed blocks are kept in per-stream
 * free lists by size class and reused by later requests on the same stream, so that the hot path
 * never calls {@code cudaMalloc}. Requests are rounded up to 512 bytes (below 1 MiB) or to 2 MiB
 * (above); a cached block is reused for a request of at least half its size (small blocks) or of
 * the same size class (large ones). When the device is out of memory the cache is emptied and the
 * allocation retried once before {@link CudaOutOfMemoryException} is thrown. Thread-safe.
 */
public final class CachingAllocator {
    /** The raw device allocator underneath (cudaMalloc / cudaFree, or a fake in tests). */
    public interface Raw {
        long malloc(long bytes);

        void free(long address);
    }

    /** One allocation handed out: its address, its rounded size and the stream it belongs to. */
    public record Block(long address, long size, long stream) {}

    static final long SMALL = 1L << 20;
    static final long SMALL_ROUND = 512;
    static final long LARGE_ROUND = 2L << 20;

    private final Raw raw;
    private final Map<Long, TreeMap<Long, ArrayDeque<Block>>> free = new HashMap<>();
    private long allocatedBytes;
    private long reservedBytes;
    private long peakAllocated;
    private long rawMallocs;

    public CachingAllocator(Raw raw) {
        this.raw = raw;
    }

    static long roundUp(long bytes) {
        long b = Math.max(bytes, 1);
        long unit = b < SMALL ? SMALL_ROUND : LARGE_ROUND;
        return (b + unit - 1) / unit * unit;
    }

    /** A block of at least {@code bytes} for use on {@code stream}. */
    public synchronized Block allocate(long bytes, long stream) {
        long size = roundUp(bytes);
        TreeMap<Long, ArrayDeque<Block>> lists = free.get(stream);
        if (lists != null) {
            Map.Entry<Long, ArrayDeque<Block>> e = lists.ceilingEntry(size);
            long limit = size < SMALL ? Math.min(2 * size, SMALL) : size;
            if (e != null && e.getKey() <= limit) {
                Block b = e.getValue().poll();
                if (e.getValue().isEmpty()) {
                    lists.remove(e.getKey());
                }
                track(b.size());
                return b;
            }
        }
        long address;
        try {
            address = raw.malloc(size);
        } catch (CudaOutOfMemoryException oom) {
            emptyCache();
            address = raw.malloc(size); // second failure propagates
        }
        rawMallocs++;
        reservedBytes += size;
        track(size);
        return new Block(address, size, stream);
    }

    private void track(long size) {
        allocatedBytes += size;
        peakAllocated = Math.max(peakAllocated, allocatedBytes);
    }

    /** Returns a block to the cache of its stream. */
    public synchronized void release(Block b) {
        allocatedBytes -= b.size();
        free.computeIfAbsent(b.stream(), s -> new TreeMap<>()).computeIfAbsent(b.size(), s -> new ArrayDeque<>()).add(b);
    }

    /** Frees every cached (unused) block back to the device. */
    public synchronized void emptyCache() {
        for (TreeMap<Long, ArrayDeque<Block>> lists : free.values()) {
            for (ArrayDeque<Block> q : lists.values()) {
                for (Block b : q) {
                    raw.free(b.address());
                    reservedBytes -= b.size();
                }
            }
        }
        free.clear();
    }

    /** Bytes handed out and not yet released. */
    public synchronized long allocatedBytes() {
        return allocatedBytes;
    }

    /** Bytes obtained from the device (handed out + cached). */
    public synchronized long reservedBytes() {
        return reservedBytes;
    }

    public synchronized long peakAllocatedBytes() {
        return peakAllocated;
    }

    /** Number of raw device allocations so far (a hot loop should not raise it). */
    public synchronized long rawMallocs() {
        return rawMallocs;
    }
}
