package dev.tessera.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link PlanCache} (cuFFT's plan cache) against a plain model of a least-recently-used cache, with fake handles:
 * what is evicted and when (before the new plan is made), that no live handle is ever evicted twice or lost, and
 * that the size stays within the capacity over a long random run of keys.
 */
class PlanCacheTest {

    @Test
    void evictsTheLeastRecentlyUsedBeforeMakingTheNewPlan() {
        PlanCache<String> c = new PlanCache<>(2);
        List<String> events = new ArrayList<>();
        int[] next = {100};
        int a = c.get("a", () -> { events.add("make a"); return next[0]++; }, h -> events.add("evict " + h));
        int b = c.get("b", () -> { events.add("make b"); return next[0]++; }, h -> events.add("evict " + h));
        assertEquals(a, c.get("a", () -> { throw new AssertionError("cached"); }, h -> events.add("evict " + h)));
        // "b" is now the least recently used: it goes, before "c" is made
        c.get("c", () -> { events.add("make c"); return next[0]++; }, h -> events.add("evict " + h));
        assertEquals(List.of("make a", "make b", "evict " + b, "make c"), events);
        assertEquals(2, c.size());
    }

    @Test
    void aFailedCreateAddsNothing() {
        PlanCache<Integer> c = new PlanCache<>(1);
        c.get(1, () -> 7, h -> {});
        List<Integer> evicted = new ArrayList<>();
        assertThrows(IllegalStateException.class, () -> c.get(2, () -> {
            throw new IllegalStateException("cufftPlanMany failed");
        }, evicted::add));
        assertEquals(List.of(7), evicted);
        assertEquals(0, c.size());
        assertEquals(List.of(), c.clear());
        assertThrows(IllegalArgumentException.class, () -> new PlanCache<String>(0));
    }

    @Test
    void longRandomRunMatchesAnLruModel() {
        for (int capacity : new int[] {1, 3, 8}) {
            PlanCache<Integer> c = new PlanCache<>(capacity);
            List<Integer> model = new ArrayList<>(); // keys, least recently used first
            Set<Integer> live = new HashSet<>();
            int[] keyOf = new int[100_000];
            int[] next = {0};
            SplittableRandom r = new SplittableRandom(capacity);
            for (int step = 0; step < 5_000; step++) {
                int key = r.nextInt(12);
                List<Integer> evicted = new ArrayList<>();
                int h = c.get(key, () -> {
                    int made = next[0]++;
                    keyOf[made] = key;
                    live.add(made);
                    return made;
                }, evicted::add);
                String what = "capacity " + capacity + ", step " + step;
                assertEquals(key, keyOf[h], what + ": handle of another key");
                if (model.remove(Integer.valueOf(key))) {
                    assertEquals(List.of(), evicted, what + ": a hit evicts nothing");
                } else if (model.size() >= capacity) {
                    int lru = model.remove(0);
                    assertEquals(1, evicted.size(), what);
                    assertEquals(lru, keyOf[evicted.get(0)], what + ": not the least recently used");
                    assertEquals(true, live.remove(evicted.get(0)), what + ": evicted twice");
                }
                model.add(key);
                assertEquals(model.size(), c.size(), what);
            }
            List<Integer> rest = c.clear();
            assertEquals(live, new HashSet<>(rest), "capacity " + capacity + ": clear returns exactly the live plans");
            assertEquals(0, c.size());
        }
    }
}
