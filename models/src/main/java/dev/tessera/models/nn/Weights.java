package dev.tessera.models.nn;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The model-facing side of a {@link TensorSource}: a model's constructor {@link #take}s each parameter by its
 * Hugging Face name (and expected shape), then calls {@link #finish()}, which throws one
 * {@link IllegalArgumentException} listing every missing name, every shape mismatch and every unexpected name
 * together, so a user sees the whole difference between checkpoint and architecture at once.
 *
 * <p>Every tensor handed out is recorded; on failure {@link #finish()} closes them all, and a model that
 * succeeds owns them (see {@link #loaded()}).
 */
public final class Weights {
    private final TensorSource source;
    private final Device device;
    private final DType dtype;
    private final String prefix;
    private final Shared shared;

    private static final class Shared {
        final Set<String> taken = new TreeSet<>();
        final List<String> missing = new ArrayList<>();
        final List<String> badShape = new ArrayList<>();
        final List<String> badCount = new ArrayList<>();
        final Map<String, Tensor> loaded = new LinkedHashMap<>();
        final Map<String, Integer> handedOut = new java.util.HashMap<>();
        Predicate<String> ignoreExtra = n -> false;
        DType packedStorage;
        boolean dynamicInt8;
    }

    private Weights(TensorSource source, Device device, DType dtype, String prefix, Shared shared) {
        this.source = source;
        this.device = device;
        this.dtype = dtype;
        this.prefix = prefix;
        this.shared = shared;
    }

    /** Parameters from {@code source}, loaded onto {@code device} as {@code dtype} (null: as stored). */
    public static Weights of(TensorSource source, Device device, DType dtype) {
        if (source == null || device == null) {
            throw new IllegalArgumentException("source and device must not be null");
        }
        return new Weights(source, device, dtype, "", new Shared());
    }

    /**
     * A model's parameters loaded as {@code dtype} (null: F32) on {@code device}: on CUDA F32, BF16 or F16 weights and
     * activations; on the CPU F32, or {@link DType#BF16} / {@link DType#I8} meaning F32 arithmetic over linear weights
     * held packed as bfloat16 / int8 with a scale per output feature ({@link #packWeightsAs}; half or a quarter of
     * their memory; convolutions, embeddings and norms stay F32). Anything else is refused, naming {@code model}.
     */
    public static Weights forDType(TensorSource source, Device device, DType dtype, String model) {
        return forDType(source, device, dtype, false, model);
    }

    /**
     * As {@link #forDType(TensorSource, Device, DType, String)}, or with {@code dynamicInt8} a CPU record whose linear
     * layers are quantized for dynamic INT8 ({@link #quantizeDynamic}; {@code dtype} must then be null or F32).
     */
    public static Weights forDType(TensorSource source, Device device, DType dtype, boolean dynamicInt8, String model) {
        if (dynamicInt8) {
            if (!device.isCpu() || dtype != null && dtype != DType.F32) {
                throw new IllegalArgumentException(model + ": dynamic INT8 runs on the CPU over F32 weights, not "
                        + (dtype == null ? "" : dtype + " ") + "on " + device);
            }
            return of(source, device, DType.F32).quantizeDynamic();
        }
        DType dt = dtype == null ? DType.F32 : dtype;
        if (device.isCpu()) {
            if (dt != DType.F32 && dt != DType.BF16 && dt != DType.I8) {
                throw new IllegalArgumentException("the CPU " + model + " runs in F32 (its matrices may be held as BF16 or"
                        + " I8), not " + dt);
            }
            Weights w = of(source, device, DType.F32);
            return dt == DType.F32 ? w : w.packWeightsAs(dt);
        }
        if (!dt.isFloating()) {
            throw new IllegalArgumentException(dt == DType.I8 ? "int8 matrices are a CPU form (on " + device
                    + ": F32, BF16 or F16)" : "dtype must be F32, F16 or BF16, got " + dt);
        }
        return of(source, device, dt);
    }

    /** A view whose names are relative to {@code prefix} (e.g. {@code "encoder.layer.3."}); shares the record. */
    public Weights prefixed(String childPrefix) {
        return new Weights(source, device, dtype, prefix + childPrefix, shared);
    }

    /** The same record, loading as {@code as} (e.g. norms kept in F32 when matrices are BF16). */
    public Weights as(DType as) {
        return new Weights(source, device, as, prefix, shared);
    }

    /**
     * Linear layers taken from this record ({@link Linear#take}) keep their packed weights as {@code storage} (e.g.
     * BF16 on the CPU: half the memory, products still in fp32; see {@code PackedWeight.pack(Tensor, DType)}); null:
     * as loaded. Applies to the whole record. Returns this.
     */
    public Weights packWeightsAs(DType storage) {
        shared.packedStorage = storage;
        return this;
    }

    /**
     * Linear layers taken from this record ({@link Linear#take}, {@link Linear#takeStacked}) are quantized for dynamic
     * INT8: int8 weights with a scale per output feature, each input row quantized to uint8 as it comes, exact int32
     * products ({@code Int8Linear}; CPU, F32 records only). Applies to the whole record. Returns this.
     */
    public Weights quantizeDynamic() {
        return quantizeDynamic(true);
    }

    /**
     * Turns {@link #quantizeDynamic} on or off for the linear layers taken from now on (e.g. a model whose encoder
     * runs in dynamic INT8 and whose decoder keeps another form). Returns this.
     */
    public Weights quantizeDynamic(boolean on) {
        if (on && (!device.isCpu() || dtype != DType.F32)) {
            throw new IllegalArgumentException("dynamic INT8 runs on the CPU over F32 weights, not " + dtype + " on "
                    + device);
        }
        shared.dynamicInt8 = on;
        return this;
    }

    /** Whether linear layers are quantized for dynamic INT8 ({@link #quantizeDynamic}). */
    public boolean quantizesDynamic() {
        return shared.dynamicInt8;
    }

    /** How packed linear weights are held (null: as loaded). */
    public DType packedStorage() {
        return shared.packedStorage;
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    public String prefix() {
        return prefix;
    }

    /** Checkpoint names matching this are not reported as unexpected (buffers the model recomputes). */
    public Weights ignoreUnexpected(Predicate<String> ignore) {
        shared.ignoreExtra = shared.ignoreExtra.or(ignore);
        return this;
    }

    /** Whether the source holds {@code name} (relative to this view's prefix). */
    public boolean has(String name) {
        return source.names().contains(prefix + name);
    }

    /**
     * How many layers to build for a count from config.json: {@code configured} when the source holds layers
     * {@code 0 .. configured - 1} under {@code layerPrefix} (relative to this view's prefix, e.g.
     * {@code "encoder.layer."}, names {@code encoder.layer.N.*}), else the layers it holds, with the difference
     * recorded for {@link #finish()} ("config.json gives num_hidden_layers = 24, the checkpoint holds 12 layers"):
     * one line instead of one "missing" name per tensor, and never an array sized by a damaged count.
     *
     * @param key the config key, for the message (e.g. {@code "num_hidden_layers"})
     */
    public int layers(String layerPrefix, int configured, String key) {
        String p = prefix + layerPrefix;
        int present = source.layersUnder(p);
        if (configured >= 0 && configured <= present) {
            return configured;
        }
        shared.badCount.add("config.json gives " + key + " = " + configured + ", the checkpoint holds " + present
                + " layer" + (present == 1 ? "" : "s") + " (" + p + "N.*)");
        return Math.max(0, Math.min(configured, present));
    }

    /**
     * The parameter {@code name} (relative to the prefix), checked against {@code shape} when one is given.
     * Returns null when it is missing or misshapen; the problem is reported by {@link #finish()}.
     */
    public Tensor take(String name, long... shape) {
        String full = prefix + name;
        shared.taken.add(full);
        if (!source.names().contains(full)) {
            shared.missing.add(full);
            return null;
        }
        long[] stored = source.shape(full);
        if (shape.length > 0 && !Arrays.equals(stored, shape)) {
            shared.badShape.add(full + " is " + Arrays.toString(stored) + ", expected " + Arrays.toString(shape));
            return null;
        }
        Tensor t = shared.loaded.get(full);
        if (t == null) {
            t = source.load(full, device, dtype);
            shared.loaded.put(full, t);
        }
        shared.handedOut.merge(full, 1, Integer::sum);
        return t;
    }

    /** Like {@link #take} for an optional parameter: null, and no error, when the source lacks it. */
    public Tensor takeOptional(String name, long... shape) {
        return has(name) ? take(name, shape) : null;
    }

    /**
     * Ends loading: throws (after closing everything loaded) if any parameter was missing or misshapen, or if
     * the source holds names nothing took.
     */
    public void finish() {
        List<String> unexpected = source.names().stream()
                .filter(n -> !shared.taken.contains(n) && !shared.ignoreExtra.test(n)).sorted().toList();
        if (shared.badCount.isEmpty() && shared.missing.isEmpty() && shared.badShape.isEmpty() && unexpected.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder(source.describe()).append(": checkpoint does not match the model");
        for (String c : shared.badCount) {
            sb.append("; ").append(c);
        }
        if (!shared.missing.isEmpty()) {
            sb.append("; ").append(shared.missing.size()).append(" missing: ").append(shared.missing);
        }
        if (!shared.badShape.isEmpty()) {
            sb.append("; ").append(shared.badShape.size()).append(" with the wrong shape: ").append(shared.badShape);
        }
        if (!unexpected.isEmpty()) {
            sb.append("; ").append(unexpected.size()).append(" unexpected: ").append(unexpected);
        }
        closeLoaded();
        throw new IllegalArgumentException(sb.toString());
    }

    /**
     * Records {@code t}, a tensor derived from the parameters (e.g. a packed copy of a weight), among the tensors
     * handed out under {@code name}, so that the model that owns {@link #loaded()} frees it with them (and
     * {@link #finish()} frees it on failure).
     */
    public void own(String name, Tensor t) {
        if (t != null) {
            shared.loaded.put(prefix + name, t);
        }
    }

    /**
     * Frees the parameter {@code name} (relative to the prefix) if {@link #take} handed out {@code t} for it exactly
     * once, so nothing else holds it (e.g. a weight only used through its packed copy); a later {@link #take} of
     * the same name loads it again. Returns whether it was freed; a parameter taken more than once (tied
     * weights) stays loaded.
     */
    public boolean release(String name, Tensor t) {
        String full = prefix + name;
        if (t == null || shared.loaded.get(full) != t || shared.handedOut.getOrDefault(full, 0) != 1) {
            return false;
        }
        shared.loaded.remove(full);
        shared.handedOut.remove(full);
        t.close();
        return true;
    }

    /** Every tensor handed out so far, in load order (the model owns and closes them). */
    public List<Tensor> loaded() {
        return List.copyOf(shared.loaded.values());
    }

    /** Closes every tensor handed out (for a constructor that fails after loading). */
    public void closeLoaded() {
        shared.loaded.values().forEach(Tensor::close);
        shared.loaded.clear();
        shared.handedOut.clear();
    }
}
