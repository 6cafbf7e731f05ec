package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Storage's leak detection: a tensor dropped without a close is reported once it is unreachable; closed ones never. */
class StorageLeakTest {

    @Test
    void unreachableUnclosedTensorsAreReportedAndClosedOnesAreNot() throws Exception {
        // sizes no other test allocates, so that leaks of other tests collected meanwhile do not count here
        long leakedSize = 4L * 12_347, closedSize = 4L * 12_349, viewSize = 4L * 12_353;
        List<Long> seen = new CopyOnWriteArrayList<>();
        Storage.onLeak = seen::add;
        try {
            long before = Storage.leaks();
            for (int i = 0; i < 5; i++) {
                Tensor.empty(DType.F32, Device.CPU, 12_347); // dropped: a leak
                Tensor.empty(DType.F32, Device.CPU, 12_349).close();
                try (Scope s = Tessera.scope()) {
                    Tensor.empty(DType.F32, Device.CPU, 12_353).reshape(1, 12_353); // freed by the scope
                }
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (seen.stream().filter(b -> b == leakedSize).count() < 5 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(5, seen.stream().filter(b -> b == leakedSize).count(), "leaks reported: " + seen);
            assertTrue(Storage.leaks() - before >= 5);
            // give the collector a little more time: nothing closed may be reported
            for (int i = 0; i < 5; i++) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(0, seen.stream().filter(b -> b == closedSize || b == viewSize).count(), "closed: " + seen);
        } finally {
            Storage.onLeak = null;
        }
    }
}
