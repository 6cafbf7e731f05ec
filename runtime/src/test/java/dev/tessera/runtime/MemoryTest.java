package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/** Deterministic freeing: scopes, keep, nesting, idempotent close, and a flat memory profile in a hot loop. */
class MemoryTest {
    static long cpuAllocated() {
        return Backends.forType(Device.Type.CPU).memoryStats(Device.CPU).allocatedBytes();
    }

    @Test
    void cpuTensorsAreAlignedAndLargeOnesStartOnAHugePage() {
        // 64-byte alignment for every size; blocks of 2 MiB and more on a 2 MiB boundary (tsr_host_alloc)
        for (long n : new long[] {1, 17, 4096, 300_000, 1 << 20, 3 << 20}) {
            try (Tensor t = Tensor.zeros(DType.F32, Device.CPU, n)) {
                assertEquals(0, t.address() % 64, n + " floats");
                if (n * 4 >= 2L << 20) {
                    assertEquals(0, t.address() % (2L << 20), n + " floats: a huge-page boundary");
                }
                float[] back = t.toFloatArray();
                assertEquals(0f, back[(int) n - 1]);
            }
        }
    }

    @Test
    void tenThousandOpCallsInScopesLeaveMemoryWhereItWas() {
        Random rnd = new Random(1);
        int rows = 8;
        int cols = 32;
        float[] xd = Reference64.gaussian(rnd, rows * cols, 1);
        float[] wd = Reference64.gaussian(rnd, cols * cols, 0.2);
        float[] gd = Reference64.gaussian(rnd, cols, 1);
        long before = cpuAllocated();
        try (Tensor x = Tensor.of(xd, rows, cols); Tensor w = Tensor.of(wd, cols, cols); Tensor g = Tensor.of(gd, cols)) {
            // warm up (JIT, OpenBLAS buffers, thread pool) before measuring physical memory, and until the Java
            // heap's young generation has been collected twice: the loop's garbage (Tensor objects) otherwise touches
            // eden pages for the first time during the measured loop (32 MiB of resident Java heap in a full test
            // run, which is not native memory)
            long gcs = gcCount();
            for (int i = 0; i < 3000 || (gcCount() < gcs + 2 && i < 2_000_000); i++) {
                iteration(x, w, g, i);
            }
            long allocWarm = cpuAllocated();
            long physBefore = Pointer.physicalBytes();
            double checksum = 0;
            for (int i = 0; i < 10_000; i++) {
                checksum += iteration(x, w, g, i);
            }
            long physAfter = Pointer.physicalBytes();
            assertTrue(Double.isFinite(checksum), "loop produced non-finite values");
            assertEquals(allocWarm, cpuAllocated(), "CPU bytes still allocated after 10,000 scoped iterations");
            long growth = physAfter - physBefore;
            assertTrue(growth < 32L << 20, "physical memory grew by " + (growth >> 20) + " MiB over the loop");
        }
        assertEquals(before, cpuAllocated(), "inputs not freed");
    }

    /** Collections so far by every garbage collector of the JVM (young and mixed/old alike). */
    private static long gcCount() {
        long n = 0;
        for (java.lang.management.GarbageCollectorMXBean gc
                : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    private static double iteration(Tensor x, Tensor w, Tensor g, int i) {
        try (Scope s = Tessera.scope()) {
            Tensor y = Ops.add(x, x);
            Tensor z = Ops.gelu(y);
            Tensor n = Ops.layerNorm(z, g, null, 1e-5f);
            Tensor m = Ops.matmul(n, w);
            Tensor v = m.slice(0, 1, 3).t(); // a view in the scope, too
            Tensor c = v.contiguous();
            if (i % 1000 == 0) {
                float[] f = c.toFloatArray();
                return f[0];
            }
            assertTrue(s.size() >= 6);
            return 0;
        }
    }

    @Test
    void scopeClosesItsTensorsAndKeepMovesOneOut() {
        long before = cpuAllocated();
        Tensor kept;
        Tensor dropped;
        try (Scope s = Tessera.scope()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 4);
            dropped = Ops.scale(a, 2f);
            kept = s.keep(Ops.add(a, a));
            assertFalse(dropped.isClosed());
            assertEquals(2, s.size());
        }
        assertTrue(dropped.isClosed());
        assertFalse(kept.isClosed());
        TestSupport.assertRel(kept.toFloatArray(), new float[] {2, 4, 6, 8}, 0, "kept tensor");
        assertEquals(before + 16, cpuAllocated());
        kept.close();
        assertEquals(before, cpuAllocated());
    }

    @Test
    void keepMovesIntoTheEnclosingScope() {
        long before = cpuAllocated();
        Tensor inner;
        try (Scope outer = Tessera.scope()) {
            try (Scope in = Tessera.scope()) {
                inner = in.keep(Tensor.of(new float[] {1, 2}, 2));
                Tensor gone = Tensor.of(new float[] {3, 4}, 2);
                assertFalse(gone.isClosed());
            }
            assertFalse(inner.isClosed(), "kept tensor closed with the inner scope");
            assertEquals(1, outer.size());
        }
        assertTrue(inner.isClosed(), "kept tensor must belong to the outer scope");
        assertEquals(before, cpuAllocated());
    }

    @Test
    void nestedScopesCloseInnerTensorsFirst() {
        long before = cpuAllocated();
        try (Scope outer = Tessera.scope()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3}, 3);
            Tensor b;
            try (Scope inner = Tessera.scope()) {
                b = Ops.gelu(a);
                Tensor v = a.reshape(1, 3); // a view of an outer tensor made in the inner scope
                assertEquals(2, inner.size());
                assertFalse(v.isClosed());
            }
            assertTrue(b.isClosed());
            assertFalse(a.isClosed());
            assertEquals(before + 12, cpuAllocated(), "inner tensors freed, outer kept");
            assertEquals(3, a.toFloatArray().length);
        }
        assertEquals(before, cpuAllocated());
    }

    @Test
    void closingIsIdempotent() {
        long before = cpuAllocated();
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor v = a.t();
        a.close();
        a.close();
        v.close();
        v.close();
        assertEquals(before, cpuAllocated(), "double close must not double free");
        Scope s = Tessera.scope();
        Tensor b = Tensor.of(new float[] {1}, 1);
        b.close(); // closed by hand, then by the scope
        s.close();
        s.close();
        assertEquals(before, cpuAllocated());
    }

    @Test
    void closingScopesOutOfOrderFailsWithoutBreakingTheScopeStack() {
        long before = cpuAllocated();
        Scope outer = Tessera.scope();
        Tensor a = Tensor.of(new float[] {1, 2}, 2);
        Scope inner = Tessera.scope();
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
            assertTrue(e.getMessage().contains("reverse order"), e.getMessage());
            assertFalse(a.isClosed(), "a failed close must not close the scope's tensors");
        } finally {
            inner.close();
        }
        // the failed attempt must leave outer usable: closing it now pops it and frees its tensors
        outer.close();
        assertTrue(a.isClosed(), "outer's tensors were not closed");
        assertTrue(Scope.current() != outer && Scope.current() != inner, "a closed scope is still current");
        try (Tensor b = Tensor.of(new float[] {3}, 1)) {
            assertFalse(b.isClosed());
        }
        assertEquals(before, cpuAllocated());
    }

    @Test
    void failedOpsDoNotLeak() {
        long before = cpuAllocated();
        try (Scope s = Tessera.scope()) {
            Tensor table = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor ids = Tensor.ofInts(new int[] {0, 5}, Device.CPU, 2);
            for (int i = 0; i < 100; i++) {
                assertThrows(IndexOutOfBoundsException.class, () -> Ops.embedding(ids, table));
            }
        }
        assertEquals(before, cpuAllocated());
    }

    @Test
    void filledClosesTheTensorWhenTheWriterThrows() {
        long before = cpuAllocated();
        Tensor[] seen = new Tensor[1];
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Tensor.filled(Tensor.empty(DType.F32, Device.CPU, 1000), t -> {
                    seen[0] = t;
                    throw new IllegalStateException("writer failed");
                }));
        assertEquals("writer failed", e.getMessage());
        assertTrue(seen[0].isClosed(), "the tensor of a failed writer is still open");
        assertEquals(before, cpuAllocated());
        try (Tensor ok = Tensor.filled(Tensor.empty(DType.F32, Device.CPU, 3), t -> t.backend().fillZero(t))) {
            assertFalse(ok.isClosed());
            assertEquals(0f, ok.toFloatArray()[2]);
        }
        assertEquals(before, cpuAllocated());
    }

    @Test
    void aFailedOpClosesItsOutputWithoutAScope() {
        // Outside any scope nothing would collect an output the op forgot: the id is checked by the native kernel,
        // after the output was allocated, so the op itself must close it (Ops.filled) before the exception leaves
        long before = cpuAllocated();
        try (Tensor table = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
                Tensor ids = Tensor.ofInts(new int[] {0, 5}, Device.CPU, 2)) {
            for (int i = 0; i < 100; i++) {
                assertThrows(IndexOutOfBoundsException.class, () -> Ops.embedding(ids, table));
            }
        }
        assertEquals(before, cpuAllocated());
    }
}
