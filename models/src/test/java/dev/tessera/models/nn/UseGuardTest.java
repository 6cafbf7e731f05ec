package dev.tessera.models.nn;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link UseGuard}: close waits for uses on other threads, refuses new ones, and cannot wait for itself. */
class UseGuardTest {
    @Test
    void closeWaitsForAUseOnAnotherThread() throws Exception {
        UseGuard g = new UseGuard("m");
        CountDownLatch inside = new CountDownLatch(1);
        AtomicLong leftAt = new AtomicLong();
        Thread t = new Thread(() -> {
            try (UseGuard.Use u = g.enter(); UseGuard.Use nested = g.enter()) {
                inside.countDown();
                Thread.sleep(300);
                leftAt.set(System.nanoTime());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        assertTrue(g.close());
        long closedAt = System.nanoTime();
        assertTrue(leftAt.get() != 0 && leftAt.get() <= closedAt, "close returned before the use ended");
        t.join();
        assertTrue(g.isClosed());
        assertFalse(g.close());
        IllegalStateException e = assertThrows(IllegalStateException.class, g::enter);
        assertTrue(e.getMessage().equals("m is closed"), e.getMessage());
        assertThrows(IllegalStateException.class, g::ensureOpen);
    }

    @Test
    void closeInsideOwnUseIsRefused() {
        UseGuard g = new UseGuard("m");
        try (UseGuard.Use u = g.enter()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, g::close);
            assertTrue(e.getMessage().contains("inside its own forward pass"), e.getMessage());
        }
        assertTrue(g.close());
    }
}
