package dev.tessera.runtime.memory;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A bounded cache of large freed host blocks for the CPU backend, so that an activation of the same size in the next
 * layer or call reuses pages that are already mapped instead of a fresh {@code malloc} (which, for blocks of
 * megabytes, glibc serves with {@code mmap}: every page then faults and is zeroed on first touch, ~22 000 faults per
 * ViT-B/16 forward at batch 8). Blocks below {@link #MIN_BYTES} are left to {@code malloc}. A request is served by a
 * cached block of exactly its size class (sizes rounded up to {@link #SMALL_ROUND} bytes under 1 MiB, {@link #ROUND}
 * bytes above); a freed block is kept while the
 * cache holds at most {@code capacity} bytes, else released at once. Thread-safe (frees may come from any thread).
 */
public final class HostBlockCache {
    /** The raw allocator underneath ({@code malloc} / {@code free}). */
    public interface Raw {
        /** A block of at least {@code bytes} bytes, or 0 when out of memory. */
        long malloc(long bytes);

        void free(long address);
    }

    /**
     * Smallest block the cache keeps: glibc's initial mmap threshold. Blocks from here to 1 MiB matter as much as
     * the big ones: glibc serves them from the top of its heap once its dynamic mmap threshold has grown, and trims
     * the heap again when they are freed, so depending on where a process's other allocations happen to sit, the
     * same activation faults its pages in on every call or never (MiniLM's [128, 1152] q|k|v projection took 0.6 or
     * 1.1 ms per call from one process to the next until these blocks were cached).
     */
    public static final long MIN_BYTES = 128L << 10;
    /** Size-class granularity of cached blocks of 1 MiB and more. */
    public static final long ROUND = 64L << 10;
    /** Size-class granularity of cached blocks under 1 MiB (a page: activations of one shape reuse exactly). */
    public static final long SMALL_ROUND = 4L << 10;

    private final Raw raw;
    private final long capacity;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long cachedBytes;

    /** @param capacity most bytes kept in freed blocks (0 disables the cache) */
    public HostBlockCache(Raw raw, long capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("HostBlockCache: negative capacity " + capacity);
        }
        this.raw = raw;
        this.capacity = capacity;
    }

    /** The size a request of {@code bytes} is rounded to (its size class); blocks below MIN_BYTES keep their size. */
    public static long blockSize(long bytes) {
        if (bytes < MIN_BYTES) {
            return bytes;
        }
        long unit = bytes < (1L << 20) ? SMALL_ROUND : ROUND;
        return (bytes + unit - 1) / unit * unit;
    }

    /**
     * A block of {@link #blockSize blockSize(bytes)} bytes: a cached one of that class, else a new one (after
     * emptying the cache once if the raw allocator fails); 0 when out of memory.
     */
    public long allocate(long bytes) {
        long size = blockSize(bytes);
        if (size >= MIN_BYTES) {
            synchronized (this) {
                ArrayDeque<Long> q = free.get(size);
                if (q != null && !q.isEmpty()) {
                    cachedBytes -= size;
                    return q.pop();
                }
            }
        }
        long a = raw.malloc(size);
        if (a == 0) {
            emptyCache();
            a = raw.malloc(size);
        }
        return a;
    }

    /** Returns a block obtained from {@link #allocate allocate(bytes)} with the same {@code bytes}. */
    public void release(long address, long bytes) {
        long size = blockSize(bytes);
        if (size >= MIN_BYTES) {
            synchronized (this) {
                if (cachedBytes + size <= capacity) {
                    free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(address);
                    cachedBytes += size;
                    return;
                }
            }
        }
        raw.free(address);
    }

    /** Releases every cached block to the raw allocator. */
    public void emptyCache() {
        Map<Long, ArrayDeque<Long>> blocks;
        synchronized (this) {
            blocks = new HashMap<>(free);
            free.clear();
            cachedBytes = 0;
        }
        for (ArrayDeque<Long> q : blocks.values()) {
            for (long a : q) {
                raw.free(a);
            }
        }
    }

    /** Bytes held in cached (freed, not yet released) blocks. */
    public synchronized long cachedBytes() {
        return cachedBytes;
    }
}
