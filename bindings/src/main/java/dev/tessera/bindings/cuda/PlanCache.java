package dev.tessera.bindings.cuda;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;

/**
 * A bounded cache of native plan handles (cuFFT plans) by key, least recently used first out: a plan owns device
 * memory (its work area), so a process that transforms many shapes (unpadded clips of many lengths) must not keep one
 * per shape for ever. Not thread-safe: the owner ({@link Cufft}) guards it.
 *
 * @param <K> what a plan is made for (length, batch)
 */
final class PlanCache<K> {
    private final int capacity;
    private final LinkedHashMap<K, Integer> handles = new LinkedHashMap<>(16, 0.75f, true);

    /** A cache of at most {@code capacity} (>= 1) plans. */
    PlanCache(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("plan cache capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /**
     * The plan for {@code key}: the cached one (now the most recently used), or a new one from {@code create}. When
     * the cache is full, the least recently used plan goes to {@code evict} before {@code create} runs (its memory is
     * freed first); if {@code create} throws, nothing is added.
     */
    int get(K key, IntSupplier create, IntConsumer evict) {
        Integer h = handles.get(key);
        if (h != null) {
            return h;
        }
        while (handles.size() >= capacity) {
            Iterator<Map.Entry<K, Integer>> eldest = handles.entrySet().iterator();
            int old = eldest.next().getValue();
            eldest.remove();
            evict.accept(old);
        }
        int made = create.getAsInt();
        handles.put(key, made);
        return made;
    }

    /** Empties the cache and returns its plans (for the owner to destroy). */
    List<Integer> clear() {
        List<Integer> all = new ArrayList<>(handles.values());
        handles.clear();
        return all;
    }

    int size() {
        return handles.size();
    }

    int capacity() {
        return capacity;
    }
}
