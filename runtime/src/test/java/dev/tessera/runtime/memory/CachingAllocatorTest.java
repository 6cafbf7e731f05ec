package dev.tessera.runtime.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.bindings.cuda.CudaOutOfMemoryException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The caching allocator's policy, on a fake raw allocator that counts calls and fails on demand. */
class CachingAllocatorTest {
    static final long S1 = 0x1001;
    static final long S2 = 0x2002;

    /** A fake device: hands out distinct addresses, remembers live ones, can be told to fail. */
    static final class FakeRaw implements CachingAllocator.Raw {
        final Map<Long, Long> live = new HashMap<>();
        final List<Long> mallocSizes = new ArrayList<>();
        int mallocs;
        int frees;
        int failuresLeft;
        long capacity = Long.MAX_VALUE;
        private long next = 0x7f00_0000_0000L;

        long liveBytes() {
            return live.values().stream().mapToLong(Long::longValue).sum();
        }

        @Override
        public long malloc(long bytes) {
            if (failuresLeft > 0 || liveBytes() + bytes > capacity) {
                if (failuresLeft > 0) {
                    failuresLeft--;
                }
                throw new CudaOutOfMemoryException("cudaMalloc", 2, "out of memory (fake, " + bytes + " bytes)");
            }
            mallocs++;
            mallocSizes.add(bytes);
            long a = next;
            next += bytes + 4096;
            live.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            frees++;
            assertTrue(live.remove(address) != null, "free of an address not live: 0x" + Long.toHexString(address));
        }
    }

    @Test
    void reuseOnTheSameStreamNeedsNoNewMalloc() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        CachingAllocator.Block warm = al.allocate(1000, S1);
        CachingAllocator.Block warm2 = al.allocate(3 << 20, S1);
        al.release(warm);
        al.release(warm2);
        assertEquals(2, raw.mallocs);
        Set<Long> addresses = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            CachingAllocator.Block a = al.allocate(900 + (i % 100), S1); // same small size class
            CachingAllocator.Block b = al.allocate((3 << 20) - i, S1); // same large size class
            addresses.add(a.address());
            addresses.add(b.address());
            assertEquals(S1, a.stream());
            al.release(b);
            al.release(a);
        }
        assertEquals(2, raw.mallocs, "the hot loop called the raw allocator");
        assertEquals(2, al.rawMallocs());
        assertEquals(2, addresses.size());
        assertEquals(0, al.allocatedBytes());
        assertEquals(1024 + (4L << 20), al.reservedBytes());
        assertEquals(0, raw.frees);
    }

    @Test
    void noReuseAcrossStreams() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        CachingAllocator.Block a = al.allocate(4096, S1);
        al.release(a);
        CachingAllocator.Block b = al.allocate(4096, S2);
        assertEquals(2, raw.mallocs, "a block freed on stream 1 was handed to stream 2");
        assertNotEquals(a.address(), b.address());
        assertEquals(S2, b.stream());
        al.release(b);
        // each stream then reuses its own block
        assertEquals(a.address(), al.allocate(4096, S1).address());
        assertEquals(b.address(), al.allocate(4096, S2).address());
        assertEquals(2, raw.mallocs);
    }

    @Test
    void sizeRounding() {
        assertEquals(512, CachingAllocator.roundUp(0));
        assertEquals(512, CachingAllocator.roundUp(1));
        assertEquals(512, CachingAllocator.roundUp(512));
        assertEquals(1024, CachingAllocator.roundUp(513));
        assertEquals(1L << 20, CachingAllocator.roundUp((1L << 20) - 1));
        assertEquals(2L << 20, CachingAllocator.roundUp(1L << 20));
        assertEquals(2L << 20, CachingAllocator.roundUp((1L << 20) + 1));
        assertEquals(4L << 20, CachingAllocator.roundUp((2L << 20) + 1));
        assertEquals(6L << 20, CachingAllocator.roundUp(5L << 20));

        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        for (long req : new long[] {1, 777, 1 << 19, (1 << 20) + 3, 10_000_000}) {
            CachingAllocator.Block b = al.allocate(req, S1);
            assertEquals(CachingAllocator.roundUp(req), b.size());
            assertEquals(b.size(), (long) raw.mallocSizes.get(raw.mallocSizes.size() - 1), "raw malloc size");
            assertTrue(b.size() >= req);
        }
    }

    @Test
    void smallBlocksAreReusedForRequestsOfAtLeastHalfTheirSize() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        CachingAllocator.Block big = al.allocate(4096, S1);
        al.release(big);
        CachingAllocator.Block half = al.allocate(2048, S1); // exactly half: reused
        assertEquals(big.address(), half.address());
        assertEquals(4096, half.size());
        assertEquals(4096, al.allocatedBytes());
        al.release(half);
        CachingAllocator.Block quarter = al.allocate(1024, S1); // too small to take the 4 KiB block
        assertNotEquals(big.address(), quarter.address());
        assertEquals(2, raw.mallocs);
        // large blocks: only the same size class
        CachingAllocator.Block l = al.allocate(6L << 20, S1);
        al.release(l);
        CachingAllocator.Block l2 = al.allocate(4L << 20, S1);
        assertNotEquals(l.address(), l2.address());
        assertEquals(4, raw.mallocs);
    }

    @Test
    void statisticsTrackAllocatedReservedAndPeak() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        CachingAllocator.Block a = al.allocate(1000, S1);
        CachingAllocator.Block b = al.allocate(3000, S1);
        assertEquals(1024 + 3072, al.allocatedBytes());
        assertEquals(1024 + 3072, al.peakAllocatedBytes());
        al.release(a);
        assertEquals(3072, al.allocatedBytes());
        assertEquals(1024 + 3072, al.reservedBytes());
        assertEquals(1024 + 3072, al.peakAllocatedBytes());
        al.release(b);
        assertEquals(0, al.allocatedBytes());
        assertEquals(raw.liveBytes(), al.reservedBytes());
    }

    @Test
    void emptyCacheFreesEverythingCached() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        List<CachingAllocator.Block> blocks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            blocks.add(al.allocate(1000L * (i + 1), i % 2 == 0 ? S1 : S2));
        }
        CachingAllocator.Block big = al.allocate(5L << 20, S1);
        CachingAllocator.Block inUse = al.allocate(512, S2);
        blocks.forEach(al::release);
        al.release(big);
        al.emptyCache();
        assertEquals(11, raw.frees, "every cached block goes back to the device");
        assertEquals(1, raw.live.size(), "only the block in use stays");
        assertTrue(raw.live.containsKey(inUse.address()));
        assertEquals(512, al.reservedBytes());
        assertEquals(512, al.allocatedBytes());
        // after emptying, a new request needs a new raw malloc
        int before = raw.mallocs;
        al.allocate(1000, S1);
        assertEquals(before + 1, raw.mallocs);
        al.release(inUse);
        al.emptyCache();
        assertEquals(1024, al.reservedBytes());
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetriesOnce() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        CachingAllocator.Block cached = al.allocate(8L << 20, S1);
        al.release(cached);
        raw.capacity = 10L << 20; // 8 MiB cached + 4 MiB new does not fit until the cache is emptied
        CachingAllocator.Block b = al.allocate(4L << 20, S1);
        assertEquals(1, raw.frees, "the cache was not emptied before the retry");
        assertEquals(4L << 20, al.reservedBytes());
        assertEquals(4L << 20, al.allocatedBytes());
        assertEquals(2, al.rawMallocs());
        al.release(b);

        // one transient failure: emptied and retried once, success
        raw.capacity = Long.MAX_VALUE;
        raw.failuresLeft = 1;
        CachingAllocator.Block c = al.allocate(1000, S2);
        assertEquals(0, raw.failuresLeft);
        assertEquals(1024, c.size());
        assertEquals(2, raw.frees, "the 4 MiB cached block was freed before the retry");
    }

    @Test
    void outOfMemoryPropagatesAfterOneRetry() {
        FakeRaw raw = new FakeRaw();
        CachingAllocator al = new CachingAllocator(raw);
        CachingAllocator.Block keep = al.allocate(1000, S1);
        CachingAllocator.Block cached = al.allocate(2000, S1);
        al.release(cached);
        long reserved = al.reservedBytes();
        raw.failuresLeft = 5;
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> al.allocate(1L << 30, S1));
        assertTrue(e.getMessage().contains("out of memory"), e.getMessage());
        assertEquals(3, raw.failuresLeft, "exactly one retry after the first failure");
        assertEquals(1, raw.frees, "the cache was emptied before the retry");
        assertEquals(reserved - 2048, al.reservedBytes());
        assertEquals(1024, al.allocatedBytes(), "a failed allocation must not count as allocated");
        assertEquals(2, al.rawMallocs());
        raw.failuresLeft = 0;
        CachingAllocator.Block after = al.allocate(1L << 30, S1);
        assertEquals(1L << 30, after.size());
        al.release(after);
        al.release(keep);
    }
}
