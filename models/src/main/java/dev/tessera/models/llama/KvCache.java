package dev.tessera.models.llama;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.util.Arrays;

/**
 * A preallocated key/value cache for a batch of sequences: per layer {@code k, v [batch, kvHeads, capacity,
 * headDim]} written in place as tokens arrive, so decoding never reallocates. Rows are left-aligned in time:
 * every sequence of the batch advances by the same number of slots per step; a sequence whose prompt is shorter
 * than the others has its leading slots marked as padding (never attended, positions not counted).
 *
 * <p>Owns its tensors: close it (or reuse it with {@link #reset()}).
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys;
    private final Tensor[] values;
    private int batch;
    private final int capacity;
    /** 1 = a real token in that slot, 0 = padding; [batch][capacity]. */
    private int[][] valid;
    /** The rotary position the next real token of each sequence gets. */
    private int[] nextPosition;
    private int length;
    private boolean closed;

    KvCache(LlamaConfig cfg, int batch, int capacity, DType dtype, Device device) {
        if (batch < 1) {
            throw new IllegalArgumentException("KV cache batch must be >= 1, got " + batch);
        }
        if (capacity < 1 || capacity > cfg.contextLength()) {
            throw new IllegalArgumentException("KV cache capacity must be in [1, max_position_embeddings = "
                    + cfg.contextLength() + "], got " + capacity);
        }
        long bytes = 2L * cfg.numLayers() * batch * cfg.numKvHeads() * (long) capacity * cfg.headDim() * dtype.size();
        // device allocations fail with an exception of their own; host ones succeed and the zeroing is killed
        long available = device.isCpu() ? dev.tessera.runtime.SystemInfo.availableMemoryBytes() : Long.MAX_VALUE;
        if (bytes > available) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "a KV cache of batch %d x %d"
                    + " positions needs %.1f GiB, more than the %.1f GiB of memory available", batch, capacity,
                    bytes / (double) (1L << 30), available / (double) (1L << 30)));
        }
        this.batch = batch;
        this.capacity = capacity;
        this.keys = new Tensor[cfg.numLayers()];
        this.values = new Tensor[cfg.numLayers()];
        try {
            for (int l = 0; l < cfg.numLayers(); l++) {
                keys[l] = Tensor.zeros(dtype, device, batch, cfg.numKvHeads(), capacity, cfg.headDim());
                values[l] = Tensor.zeros(dtype, device, batch, cfg.numKvHeads(), capacity, cfg.headDim());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.valid = new int[batch][capacity];
        this.nextPosition = new int[batch];
    }

    public int batch() {
        return batch;
    }

    public int capacity() {
        return capacity;
    }

    /** Slots filled so far (the same for every sequence of the batch). */
    public int length() {
        return length;
    }

    /** Slots left. */
    public int remaining() {
        return capacity - length;
    }

    /** Forgets every token (the memory stays allocated). */
    public void reset() {
        ensureOpen();
        length = 0;
        for (int[] v : valid) {
            Arrays.fill(v, 0);
        }
        Arrays.fill(nextPosition, 0);
    }

    /**
     * Drops the slots after {@code newLength} (e.g. a rejected continuation); the tensors are overwritten later.
     * Positions are recounted from the kept slots.
     */
    public void truncate(int newLength) {
        ensureOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("truncate: length " + newLength + " outside [0, " + length + "]");
        }
        for (int b = 0; b < batch; b++) {
            int n = 0;
            for (int i = 0; i < capacity; i++) {
                if (i >= newLength) {
                    valid[b][i] = 0;
                }
                n += valid[b][i];
            }
            nextPosition[b] = n;
        }
        length = newLength;
    }

    Tensor keys(int layer) {
        return keys[layer];
    }

    Tensor values(int layer) {
        return values[layer];
    }

    /**
     * Reserves {@code steps} slots for the next forward pass; {@code real[b][s]} says which new slots hold a real
     * token. Returns the rotary positions [batch][steps] of the new tokens (padding slots get the position of the
     * next real token, which they never influence).
     */
    int[][] reserve(boolean[][] real, int steps) {
        ensureOpen();
        if (steps > capacity - length) {
            throw new IllegalArgumentException("the sequence no longer fits the KV cache: " + length + " tokens held + "
                    + steps + " new > capacity " + capacity + " (at most max_position_embeddings)");
        }
        int[][] pos = new int[batch][steps];
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < steps; s++) {
                boolean r = real == null || real[b][s];
                pos[b][s] = nextPosition[b];
                if (r) {
                    nextPosition[b]++;
                }
                valid[b][length + s] = r ? 1 : 0;
            }
        }
        return pos;
    }

    /** Commits the slots reserved by the last {@link #reserve}. */
    void advance(int steps) {
        length += steps;
    }

    /** Rolls back a reservation whose forward pass failed. */
    void unreserve(int steps) {
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < steps; s++) {
                if (valid[b][length + s] == 1) {
                    nextPosition[b]--;
                }
                valid[b][length + s] = 0;
            }
        }
    }

    /**
     * Keeps only the sequences {@code rows} (strictly increasing batch indices), in that order, with their slots and
     * positions: the batch shrinks to {@code rows.length}, so later passes compute only those (finished sequences of
     * a batch drop out). The rows move in place; the memory stays allocated until the cache is closed.
     */
    void keepRows(int[] rows) {
        ensureOpen();
        if (rows.length == 0) {
            throw new IllegalArgumentException("keepRows: no rows");
        }
        for (int j = 0; j < rows.length; j++) {
            if (rows[j] < 0 || rows[j] >= batch || j > 0 && rows[j] <= rows[j - 1]) {
                throw new IllegalArgumentException("keepRows: rows must be increasing indices below " + batch + ", got "
                        + Arrays.toString(rows));
            }
        }
        if (rows.length == batch) {
            return;
        }
        int n = rows.length;
        for (Tensor[] ts : new Tensor[][] {keys, values}) {
            for (int l = 0; l < ts.length; l++) {
                Tensor t = ts[l];
                for (int j = 0; j < n; j++) {
                    if (rows[j] != j && length > 0) { // row j <= rows[j]: moving down never overwrites a row still to move
                        // (every view holds the storage until closed: the row views too)
                        try (Tensor srcRow = t.slice(0, rows[j], rows[j] + 1); Tensor src = srcRow.slice(2, 0, length);
                                Tensor dstRow = t.slice(0, j, j + 1); Tensor dst = dstRow.slice(2, 0, length)) {
                            Ops.copyInto(src, dst);
                        }
                    }
                }
                ts[l] = t.slice(0, 0, n); // a view: it keeps the storage alive after the full tensor's close
                t.close();
            }
        }
        int[][] v = new int[n][];
        int[] next = new int[n];
        for (int j = 0; j < n; j++) {
            v[j] = valid[rows[j]];
            next[j] = nextPosition[rows[j]];
        }
        valid = v;
        nextPosition = next;
        batch = n;
    }

    /** The key-padding mask [batch, upto] (1 = attend) or null when no slot is padding. */
    int[] mask(int upto) {
        boolean any = false;
        int[] m = new int[batch * upto];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < upto; i++) {
                m[b * upto + i] = valid[b][i];
                any |= valid[b][i] == 0;
            }
        }
        return any ? m : null;
    }

    /** Whether the cache still holds its memory. */
    public boolean isOpen() {
        return !closed;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("KV cache is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Tensor[] ts : new Tensor[][] {keys, values}) {
            for (Tensor t : ts) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }
}
