package dev.tessera.spark;

import dev.tessera.runtime.Device;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models loaded in this JVM (a Spark executor, or the driver in local mode), one per kind, spec, device and
 * variant: the first task that needs a model loads it, the tasks running beside it wait for that load, and every
 * later task and stage reuses it (Tessera's models are safe to use from several threads at once). They stay loaded
 * until {@link #release()} or until the JVM exits (a shutdown hook closes them, after the forward passes in
 * progress end).
 */
public final class ExecutorModels {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);
    private static final Map<Key, AutoCloseable> MODELS = new ConcurrentHashMap<>();
    private static volatile boolean hooked;

    private record Key(String kind, String spec, Device device, String variant) {}

    private ExecutorModels() {}

    /** The model of this key in this JVM, loaded by {@code loader} if it is not loaded yet. */
    static <M extends AutoCloseable> M get(String kind, String spec, Device device, String variant,
            Supplier<M> loader) {
        hook();
        @SuppressWarnings("unchecked")
        M m = (M) MODELS.computeIfAbsent(new Key(kind, spec, device, variant), k -> {
            long t0 = System.nanoTime();
            M loaded = loader.get();
            LOG.info("loaded {} model {} on {} in {} ms", kind, spec, device, (System.nanoTime() - t0) / 1_000_000);
            return loaded;
        });
        return m;
    }

    /** How many models are loaded in this JVM. */
    public static int loaded() {
        return MODELS.size();
    }

    /**
     * Closes every model loaded in this JVM (waiting for forward passes in progress on other threads) and frees their
     * native and device memory; a later task loads its model again. Returns how many were closed.
     */
    public static synchronized int release() {
        List<AutoCloseable> all = new ArrayList<>();
        for (Key k : new ArrayList<>(MODELS.keySet())) {
            AutoCloseable m = MODELS.remove(k);
            if (m != null) {
                all.add(m);
            }
        }
        RuntimeException first = null;
        for (AutoCloseable m : all) {
            try {
                m.close();
            } catch (Exception e) {
                if (first == null) {
                    first = new IllegalStateException("closing a model failed: " + e.getMessage(), e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
        return all.size();
    }

    private static void hook() {
        if (!hooked) {
            synchronized (ExecutorModels.class) {
                if (!hooked) {
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                        try {
                            release();
                        } catch (RuntimeException e) {
                            LOG.warn("at exit: {}", e.getMessage());
                        }
                    }, "tessera-spark-release"));
                    hooked = true;
                }
            }
        }
    }
}
