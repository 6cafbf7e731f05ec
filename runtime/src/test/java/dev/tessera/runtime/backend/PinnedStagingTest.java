package dev.tessera.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The pinned staging pool's bookkeeping on a fake driver (no GPU needed): buffers are reused once their transfer's
 * event has completed, at most two of a size class are in flight before the host waits, held buffers are never
 * handed out twice, the byte limit holds, a failed pinned allocation falls back to pageable copies, and close frees
 * everything.
 */
class PinnedStagingTest {
    /** Host memory, events and their completion, counted. */
    static final class FakeDriver implements PinnedStaging.Driver {
        long next = 1 << 20;
        long pinned;
        int allocs;
        int frees;
        int waits;
        boolean failAlloc;
        boolean failEvent;
        final Map<Long, Long> sizes = new HashMap<>();
        final Map<Long, Boolean> done = new HashMap<>();
        final Set<Long> destroyed = new HashSet<>();
        long nextEvent = 1;

        @Override
        public long hostAlloc(long bytes) {
            if (failAlloc) {
                throw new IllegalStateException("cudaHostAlloc failed (fake)");
            }
            long a = next;
            next += bytes;
            sizes.put(a, bytes);
            pinned += bytes;
            allocs++;
            return a;
        }

        @Override
        public void hostFree(long address) {
            pinned -= sizes.remove(address);
            frees++;
        }

        @Override
        public long eventCreate() {
            if (failEvent) {
                throw new IllegalStateException("cudaEventCreate failed (fake)");
            }
            long e = nextEvent++;
            done.put(e, true);
            return e;
        }

        @Override
        public void eventDestroy(long event) {
            destroyed.add(event);
        }

        @Override
        public void eventRecord(long event, long stream) {
            done.put(event, false); // the transfer is queued, not finished
        }

        @Override
        public boolean eventDone(long event) {
            return done.get(event);
        }

        @Override
        public void eventSynchronize(long event) {
            waits++;
            done.put(event, true);
        }

        void finishAll() {
            done.replaceAll((e, d) -> true);
        }
    }

    @Test
    void buffersAreReusedOnceTheirTransferCompleted() {
        FakeDriver d = new FakeDriver();
        PinnedStaging st = new PinnedStaging(0, d);
        PinnedStaging.Buffer a = st.acquire(1000);
        assertNotNull(a);
        assertEquals(64 << 10, a.size);
        st.release(a, 7);
        PinnedStaging.Buffer b = st.acquire(1000); // a is in flight: a second buffer
        assertNotSame(a, b);
        st.release(b, 7);
        assertEquals(2, d.allocs);
        PinnedStaging.Buffer c = st.acquire(1000); // two in flight: wait for one instead of a third
        assertEquals(1, d.waits);
        assertEquals(2, d.allocs);
        assertTrue(c == a || c == b);
        st.release(c, 7);
        d.finishAll();
        PinnedStaging.Buffer e = st.acquire(5000);
        assertEquals(2, d.allocs, "a finished buffer is reused");
        assertEquals(1, d.waits);
        st.releaseIdle(e);
        st.close();
        assertEquals(2, d.frees);
        assertEquals(0, d.pinned);
        assertEquals(2, d.destroyed.size());
    }

    @Test
    void heldBuffersAreNeverSharedAndLargeOnesServeSmallRequests() {
        FakeDriver d = new FakeDriver();
        PinnedStaging st = new PinnedStaging(0, d);
        PinnedStaging.Buffer big = st.acquire(40_000_000);
        assertTrue(big.size >= 40_000_000);
        PinnedStaging.Buffer small = st.acquire(8);
        assertNotSame(big, small);
        st.releaseIdle(big);
        st.releaseIdle(small);
        assertSame(small, st.acquire(8), "the smallest idle buffer that fits");
        assertSame(big, st.acquire(8), "then any idle one that fits");
        st.close();
        assertEquals(0, d.pinned);
    }

    @Test
    void theByteLimitHoldsAndLargerTransfersArePageable() {
        FakeDriver d = new FakeDriver();
        PinnedStaging st = new PinnedStaging(0, d, 256 << 10);
        assertNull(st.acquire((256 << 10) + 1), "over the limit: the caller copies through pageable memory");
        PinnedStaging.Buffer a = st.acquire(200 << 10);
        assertEquals(256 << 10, a.size);
        st.release(a, 1);
        PinnedStaging.Buffer b = st.acquire(100 << 10); // no room for another: wait for a
        assertSame(a, b);
        assertEquals(1, d.waits);
        assertEquals(256 << 10, d.pinned);
        st.releaseIdle(b);
        PinnedStaging.Buffer c = st.acquire(1); // idle a fits
        assertSame(a, c);
        st.releaseIdle(c);
        // an idle buffer too small for a new request is freed to make room
        st.close();
        PinnedStaging st2 = new PinnedStaging(0, d, 256 << 10);
        PinnedStaging.Buffer s = st2.acquire(10);
        st2.releaseIdle(s);
        PinnedStaging.Buffer l = st2.acquire(250 << 10);
        assertNotNull(l);
        assertTrue(d.pinned <= 256 << 10, "pinned " + d.pinned);
        st2.close();
        assertEquals(0, d.pinned);
    }

    @Test
    void aFailedPinnedAllocationFallsBackToPageableCopies() {
        FakeDriver d = new FakeDriver();
        d.failAlloc = true;
        PinnedStaging st = new PinnedStaging(0, d);
        assertNull(st.acquire(1000));
        d.failAlloc = false;
        assertNull(st.acquire(1000), "staging stays off after a failure with nothing pinned");
        st.close();
        FakeDriver d2 = new FakeDriver();
        d2.failEvent = true;
        PinnedStaging st2 = new PinnedStaging(0, d2);
        assertNull(st2.acquire(1000), "no event: pageable copies");
        assertEquals(0, d2.pinned, "the pinned buffer is given back");
        st2.close();
    }
}
