package dev.tessera.models.whisper;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;

/**
 * The decoder state of a batch of Whisper sequences: per layer a preallocated self-attention cache
 * {@code k, v [batch, heads, capacity, head_dim]} written in place as tokens arrive, and the cross-attention
 * keys/values of the encoder states, computed once per audio. All rows share one slot count ({@link #length()});
 * a row whose prompt is shorter than the others' is left-padded ({@link #padLeft}): its first slots hold no token,
 * are never attended to, and its positions start after them. Rows can be reordered, repeated or dropped
 * ({@link #reorder}). Owns its tensors: close it.
 */
public final class WhisperCache implements AutoCloseable {
    private int batch;
    private final int capacity;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final Tensor[] crossK;
    private final Tensor[] crossV;
    /** Per row, which row of the original encoder states its cross keys/values are (reorders skip equal rows). */
    private int[] crossRow;
    private int[] pad;
    private int length;
    private boolean closed;

    WhisperCache(int batch, int capacity, int layers, int heads, long headDim, DType dtype, Device device,
            Tensor[] crossK, Tensor[] crossV) {
        this.batch = batch;
        this.capacity = capacity;
        this.crossRow = new int[batch];
        for (int i = 0; i < batch; i++) {
            crossRow[i] = i;
        }
        this.crossK = crossK;
        this.crossV = crossV;
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        try {
            for (int l = 0; l < layers; l++) {
                keys[l] = Tensor.zeros(dtype, device, batch, heads, capacity, headDim);
                values[l] = Tensor.zeros(dtype, device, batch, heads, capacity, headDim);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public int batch() {
        return batch;
    }

    public int capacity() {
        return capacity;
    }

    /** Tokens cached so far. */
    public int length() {
        return length;
    }

    public boolean isOpen() {
        return !closed;
    }

    Tensor keys(int layer) {
        return keys[layer];
    }

    Tensor values(int layer) {
        return values[layer];
    }

    Tensor crossKeys(int layer) {
        return crossK[layer];
    }

    Tensor crossValues(int layer) {
        return crossV[layer];
    }

    void advance(int n) {
        length += n;
    }

    /**
     * Leading padding slots per row (null when no row is padded). Row {@code i}'s token at slot {@code j} has
     * position {@code j - padding()[i]}.
     */
    int[] padding() {
        return pad == null ? null : pad.clone();
    }

    /**
     * Left-pads the rows of an empty cache: row {@code i} leaves its first {@code pad[i]} slots empty (masked), so
     * that prompts of different lengths end at the same slot and the batch then advances together.
     */
    public void padLeft(int[] pad) {
        if (length != 0) {
            throw new IllegalStateException("padLeft needs an empty cache, this one holds " + length + " tokens");
        }
        if (pad.length != batch) {
            throw new IllegalArgumentException("padLeft needs " + batch + " values, got " + pad.length);
        }
        boolean any = false;
        for (int p : pad) {
            if (p < 0 || p >= capacity) {
                throw new IllegalArgumentException("padding " + p + " outside [0, capacity " + capacity + ")");
            }
            any |= p > 0;
        }
        this.pad = any ? pad.clone() : null;
    }

    /** Forgets the decoded tokens (keeps the encoder's keys/values and the padding): a new decode of the same audio. */
    public void reset() {
        length = 0;
    }

    /**
     * Reorders, repeats or drops rows (beam search, finished sequences): new row {@code i} is the old row
     * {@code from[i]}, for the self-attention cache (the first {@link #length()} slots), the padding and the
     * cross-attention keys/values (copied only where the new row's encoder states differ from the old row's at
     * that index). {@code from} may be shorter or longer than the batch.
     */
    public void reorder(int[] from) {
        if (closed) {
            throw new IllegalStateException("cache is closed");
        }
        if (from.length == 0) {
            throw new IllegalArgumentException("reorder needs at least one row");
        }
        boolean identity = from.length == batch;
        boolean sameCross = from.length == batch;
        for (int i = 0; i < from.length; i++) {
            if (from[i] < 0 || from[i] >= batch) {
                throw new IllegalArgumentException("reorder index " + from[i] + " outside [0, " + batch + ")");
            }
            identity &= from[i] == i;
            sameCross &= i < batch && crossRow[from[i]] == crossRow[i];
        }
        if (identity) {
            return;
        }
        for (Tensor[] arr : new Tensor[][] {keys, values}) {
            for (int l = 0; l < arr.length; l++) {
                arr[l] = gather(arr[l], from, length, 2);
            }
        }
        if (!sameCross) {
            for (Tensor[] arr : new Tensor[][] {crossK, crossV}) {
                for (int l = 0; l < arr.length; l++) {
                    arr[l] = gather(arr[l], from, arr[l].dim(2), 2);
                }
            }
        }
        int[] cr = new int[from.length];
        int[] p = pad == null ? null : new int[from.length];
        for (int i = 0; i < from.length; i++) {
            cr[i] = crossRow[from[i]];
            if (p != null) {
                p[i] = pad[from[i]];
            }
        }
        crossRow = cr;
        pad = p;
        batch = from.length;
    }

    private static Tensor gather(Tensor t, int[] from, long len, int seqDim) {
        long[] shape = t.shape();
        shape[0] = from.length;
        Tensor out = Tensor.zeros(t.dtype(), t.device(), shape);
        try {
            if (len > 0) {
                for (int i = 0; i < from.length; i++) {
                    // (each view holds the storage until closed: the row views too, or the old cache never frees)
                    try (Tensor srcRow = t.slice(0, from[i], from[i] + 1); Tensor src = srcRow.slice(seqDim, 0, len);
                            Tensor dstRow = out.slice(0, i, i + 1); Tensor dst = dstRow.slice(seqDim, 0, len)) {
                        Ops.copyInto(src, dst);
                    }
                }
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        t.close();
        return out;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Tensor[] arr : new Tensor[][] {keys, values, crossK, crossV}) {
            for (Tensor t : arr) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }
}
