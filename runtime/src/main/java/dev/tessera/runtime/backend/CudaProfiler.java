package dev.tessera.runtime.backend;

import dev.tessera.bindings.cuda.CudaRuntime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Op-level GPU time of the CUDA backend: with {@code -Dtessera.cuda.profile=true} every kernel launch or copy the
 * backend queues is bracketed by two CUDA events, and {@link #snapshot()} sums the elapsed times per op kind
 * (e.g. {@code gemm bf16 12608x3072x768}, {@code linear epilogue gelu}, {@code strided copy}, {@code attention}).
 * The events cost a few microseconds of host time per op and nothing measurable on the GPU; off by default, when
 * the backend's calls cost one field test. Each op's time is the GPU time between its two events, which includes
 * the launch latency when the GPU was idle waiting for the host. Events belong to the device current when they are
 * made: profile one device at a time. Thread-safe.
 */
public final class CudaProfiler {
    /** One op kind's totals. */
    public record Row(String kind, long calls, double totalMs) {}

    private static final int FLUSH_AT = 4096;

    private record Pending(String kind, long start, long stop) {}

    private final ArrayDeque<Long> pool = new ArrayDeque<>();
    private final List<Pending> pending = new ArrayList<>();
    private final Map<String, double[]> totals = new LinkedHashMap<>();

    CudaProfiler() {}

    /** Whether {@code -Dtessera.cuda.profile=true} was given. */
    static boolean requested() {
        return Boolean.getBoolean("tessera.cuda.profile");
    }

    /** Records the start of an op on {@code stream}; pass the result to {@link #end}. */
    synchronized long[] begin(long stream) {
        long start = event();
        CudaRuntime.eventRecord(start, stream);
        return new long[] {start, stream};
    }

    /** Records the end of the op begun with {@code mark}. */
    synchronized void end(String kind, long[] mark) {
        long stop = event();
        CudaRuntime.eventRecord(stop, mark[1]);
        pending.add(new Pending(kind, mark[0], stop));
        if (pending.size() >= FLUSH_AT) {
            flush();
        }
    }

    private long event() {
        Long e = pool.poll();
        return e != null ? e : CudaRuntime.eventCreate(true);
    }

    /** Waits for the recorded ops and adds their times to the totals. */
    private void flush() {
        for (Pending p : pending) {
            CudaRuntime.eventSynchronize(p.stop());
            double ms = CudaRuntime.eventElapsedMs(p.start(), p.stop());
            double[] t = totals.computeIfAbsent(p.kind(), k -> new double[2]);
            t[0]++;
            t[1] += ms;
            pool.add(p.start());
            pool.add(p.stop());
        }
        pending.clear();
    }

    /** The totals so far (waits for the recorded ops), largest total first. */
    public synchronized List<Row> snapshot() {
        flush();
        List<Row> rows = new ArrayList<>();
        totals.forEach((k, t) -> rows.add(new Row(k, (long) t[0], t[1])));
        rows.sort((a, b) -> Double.compare(b.totalMs(), a.totalMs()));
        return rows;
    }

    /** Forgets the totals (waits for the recorded ops first). */
    public synchronized void reset() {
        flush();
        totals.clear();
    }

    /**
     * The totals as a text table (op, calls, total ms, ms per {@code perCalls} calls of the caller's unit, % of
     * {@code wholeMs}); {@code wholeMs} &lt;= 0 leaves the percentage out.
     */
    public String table(int perCalls, double wholeMs) {
        List<Row> rows = snapshot();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-48s %8s %11s %11s %7s%n", "op", "calls", "total ms",
                "ms/iter", "%"));
        double sum = 0;
        for (Row r : rows) {
            sum += r.totalMs();
            sb.append(String.format(Locale.ROOT, "%-48s %8d %11.3f %11.4f %7s%n", r.kind(), r.calls(), r.totalMs(),
                    r.totalMs() / Math.max(1, perCalls), wholeMs > 0
                            ? String.format(Locale.ROOT, "%.1f", 100 * r.totalMs() / (wholeMs * perCalls)) : ""));
        }
        sb.append(String.format(Locale.ROOT, "%-48s %8s %11.3f %11.4f %7s%n", "sum of ops", "", sum,
                sum / Math.max(1, perCalls), wholeMs > 0
                        ? String.format(Locale.ROOT, "%.1f", 100 * sum / (wholeMs * perCalls)) : ""));
        return sb.toString();
    }
}
