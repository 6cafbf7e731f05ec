package dev.tessera.models.whisper;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;

/**
 * The decoder state of a batch of Whisper sequences: per layer a preallocated self-attention cache
 * {@code k, v [batch, heads, capacity, head_dim]} written in place as tokens arrive, and the cross-attention
 * keys/values of the encoder states, computed once per audio. Owns its tensors: close it.
 */
public final class WhisperCache implements AutoCloseable {
    private final int batch;
    private final int capacity;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final Tensor[] crossK;
    private final Tensor[] crossV;
    private int length;
    private boolean closed;

    WhisperCache(int batch, int capacity, int layers, int heads, long headDim, DType dtype, Device device,
            Tensor[] crossK, Tensor[] crossV) {
        this.batch = batch;
        this.capacity = capacity;
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

    /** Forgets the decoded tokens (keeps the encoder's keys/values): a new decode of the same audio. */
    public void reset() {
        length = 0;
    }

    /**
     * Reorders the batch (beam search): row {@code i} becomes the old row {@code from[i]}, for the self-attention
     * cache (the first {@link #length()} slots) and the cross-attention keys/values.
     */
    public void reorder(int[] from) {
        if (from.length != batch) {
            throw new IllegalArgumentException("reorder needs " + batch + " indices, got " + from.length);
        }
        boolean identity = true;
        for (int i = 0; i < from.length; i++) {
            if (from[i] < 0 || from[i] >= batch) {
                throw new IllegalArgumentException("reorder index " + from[i] + " outside [0, " + batch + ")");
            }
            identity &= from[i] == i;
        }
        if (identity || length == 0) {
            return;
        }
        for (Tensor[] arr : new Tensor[][] {keys, values}) {
            for (int l = 0; l < arr.length; l++) {
                arr[l] = gather(arr[l], from, length);
            }
        }
    }

    private static Tensor gather(Tensor t, int[] from, int len) {
        Tensor out = Tensor.zeros(t.dtype(), t.device(), t.shape());
        try {
            for (int i = 0; i < from.length; i++) {
                try (Tensor src = t.slice(0, from[i], from[i] + 1).slice(2, 0, len);
                        Tensor dst = out.slice(0, i, i + 1).slice(2, 0, len)) {
                    Ops.copyInto(src, dst);
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
