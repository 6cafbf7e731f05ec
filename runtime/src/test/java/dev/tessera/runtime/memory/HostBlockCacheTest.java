package dev.tessera.runtime.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HostBlockCacheTest {
    /** Fake raw allocator: distinct addresses, live sizes, and an optional failure of the next malloc. */
    static final class FakeRaw implements HostBlockCache.Raw {
        final Map<Long, Long> live = new HashMap<>();
        long next = 1 << 12;
        int mallocs;
        boolean failNext;

        @Override
        public long malloc(long bytes) {
            if (failNext) {
                failNext = false;
                return 0;
            }
            mallocs++;
            long a = next;
            next += bytes + 4096;
            live.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            if (live.remove(address) == null) {
                throw new IllegalStateException("double or foreign free " + address);
            }
        }
    }

    @Test
    void largeBlocksAreReusedBySizeClassSmallOnesAreNot() {
        FakeRaw raw = new FakeRaw();
        HostBlockCache c = new HostBlockCache(raw, 64L << 20);
        long big = 3_000_000;
        long a = c.allocate(big);
        assertEquals(HostBlockCache.blockSize(big), raw.live.get(a));
        c.release(a, big);
        assertEquals(HostBlockCache.blockSize(big), c.cachedBytes());
        // same class (a few bytes more, rounded to the same 64 KiB) reuses the block
        assertEquals(a, c.allocate(big + 100));
        assertEquals(0, c.cachedBytes());
        assertEquals(1, raw.mallocs);
        // another class does not
        long b = c.allocate(big + HostBlockCache.ROUND);
        assertNotEquals(a, b);
        c.release(a, big + 100);
        c.release(b, big + HostBlockCache.ROUND);
        // small blocks go straight back
        long s = c.allocate(1000);
        c.release(s, 1000);
        assertEquals(2, raw.live.size());
        c.emptyCache();
        assertEquals(0, raw.live.size());
        assertEquals(0, c.cachedBytes());
    }

    @Test
    void midSizedBlocksAreCachedInPageClasses() {
        FakeRaw raw = new FakeRaw();
        HostBlockCache c = new HostBlockCache(raw, 64L << 20);
        long mid = 128 * 1152 * 4 + 64; // MiniLM's q|k|v activation at batch 1 plus the alignment slack
        assertEquals(mid + (4096 - mid % 4096), HostBlockCache.blockSize(mid));
        long a = c.allocate(mid);
        c.release(a, mid);
        assertEquals(a, c.allocate(mid), "freed 590 KB block reused");
        assertEquals(1, raw.mallocs);
        long nextPage = HostBlockCache.blockSize(mid) + 1; // one byte past the class: another class
        long b = c.allocate(nextPage);
        assertNotEquals(a, b);
        // under MIN_BYTES nothing is kept
        long small = HostBlockCache.MIN_BYTES - 1;
        assertEquals(small, HostBlockCache.blockSize(small));
        long s = c.allocate(small);
        c.release(s, small);
        assertEquals(0, c.cachedBytes());
    }

    @Test
    void capacityBoundsTheCacheAndFailureEmptiesItOnce() {
        FakeRaw raw = new FakeRaw();
        HostBlockCache c = new HostBlockCache(raw, 5L << 20);
        long[] a = new long[4];
        for (int i = 0; i < a.length; i++) {
            a[i] = c.allocate(2L << 20);
        }
        for (long x : a) {
            c.release(x, 2L << 20);
        }
        assertEquals(4L << 20, c.cachedBytes()); // two kept, two released
        assertEquals(2, raw.live.size());
        raw.failNext = true;
        long y = c.allocate(3L << 20); // fails once: the cache is emptied and the malloc retried
        assertNotEquals(0, y);
        assertEquals(0, c.cachedBytes());
        assertEquals(1, raw.live.size());
        assertThrows(IllegalArgumentException.class, () -> new HostBlockCache(raw, -1));
    }

    @Test
    void zeroCapacityCachesNothing() {
        FakeRaw raw = new FakeRaw();
        HostBlockCache c = new HostBlockCache(raw, 0);
        long a = c.allocate(4L << 20);
        c.release(a, 4L << 20);
        assertEquals(0, raw.live.size());
    }

    /** Through the runtime: a freed 4 MiB CPU tensor stays reserved until {@code Tessera.emptyCache}. */
    @Test
    void emptyCacheReturnsTheCpuBackendsFreedBlocks() {
        dev.tessera.runtime.Device cpu = dev.tessera.runtime.Device.CPU;
        dev.tessera.runtime.Backend b = dev.tessera.runtime.Backends.get(cpu);
        dev.tessera.runtime.Tensor.zeros(dev.tessera.runtime.DType.F32, cpu, 1 << 20).close();
        dev.tessera.runtime.Backend.MemoryStats before = b.memoryStats(cpu);
        org.junit.jupiter.api.Assumptions.assumeTrue(before.reservedBytes() > before.allocatedBytes(),
                "host block cache disabled (-Dtessera.cpu.cacheBytes=0)");
        dev.tessera.runtime.Tessera.emptyCache(cpu);
        dev.tessera.runtime.Backend.MemoryStats after = b.memoryStats(cpu);
        assertEquals(after.allocatedBytes(), after.reservedBytes(), "nothing cached after emptyCache");
    }
}
