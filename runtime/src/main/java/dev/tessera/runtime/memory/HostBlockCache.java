package dev.tessera.runtime.memory;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A bounded cache of large freed host blocks for the CPU backend, so that an activation of the same size in the next
 * layer or call reuses pages that are already mapped instead of a fresh {@code malloc} (which, for blocks of
 * megabytes, glibc serves with {@code mmap}: every page then faults and is zeroed on first touch, ~22 000 faults per
 * ViT-B/16 forward at batch 8). Blocks below {@link #MIN_BYTES} are left to {@code malloc}. A request is served by a
 * cached block of exactly its size class (sizes rounded up to {@link #ROUND} bytes); a freed block is kept while the
 * cache holds at most {@code capacity} bytes, else released at once. Thread-safe (frees may come from any thread).
 */
public final class HostBlockCache {
    /** The raw allocator underneath ({@code malloc} / {@code free}). */
    public interface Raw {
        /** A block of at least {@code bytes} bytes, or 0 when out of memory. */
        long malloc(long bytes);

        void free(long address);
    }

    /** Smallest block the cache keeps. */
    public static final long MIN_BYTES = 1L << 20;
    /** Size-class granularity of cached blocks. */
    public static final long ROUND = 64L << 10;

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
        return bytes < MIN_BYTES ? bytes : (bytes + ROUND - 1) / ROUND * ROUND;
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
