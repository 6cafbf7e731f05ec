package dev.tessera.runtime.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A close racing the calls of other threads: {@code threads} threads repeat {@code call} (which checks its own
 * result) until it throws an {@link IllegalStateException} saying "closed"; once each has made {@code warm} calls,
 * {@code close} runs on this thread. Fails when a call ends any other way; returns how many calls completed.
 */
public final class CloseRace {
    private CloseRace() {}

    public static int run(int threads, int warm, Callable<?> call, Runnable close) throws InterruptedException {
        AtomicReference<Throwable> wrong = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch warmed = new CountDownLatch(threads);
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    for (int k = 1; ; k++) {
                        call.call();
                        calls.incrementAndGet();
                        if (k == warm) {
                            warmed.countDown();
                        }
                    }
                } catch (IllegalStateException e) {
                    if (e.getMessage() == null || !e.getMessage().contains("closed")) {
                        wrong.set(e);
                    }
                } catch (Throwable e) {
                    wrong.set(e);
                } finally {
                    warmed.countDown(); // a thread that ended early does not hold the close back
                }
            });
            th.start();
            started.add(th);
        }
        if (!warmed.await(2, TimeUnit.MINUTES)) {
            throw new AssertionError("the threads did not make " + warm + " calls each in 2 minutes");
        }
        close.run();
        for (Thread th : started) {
            th.join(120_000);
        }
        if (wrong.get() != null) {
            throw new AssertionError("a call ended otherwise than with its result or 'closed': " + wrong.get(),
                    wrong.get());
        }
        return calls.get();
    }
}
