package dev.tessera.models.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.models.bert.BertConfig;
import dev.tessera.models.bert.BertModel;
import dev.tessera.models.vit.ViTConfig;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.PackedWeight;
import dev.tessera.runtime.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A model whose linear weights are packed for the CPU GEMM holds each of them once: the native bytes a loaded
 * model owns are exactly its checkpoint's parameter bytes, with every projection counted at its packed size
 * (query/key/value stacked into one), not the stored copy plus the packed one.
 */
class PackedWeightMemoryTest {
    private static long allocated() {
        return Backends.get(Device.CPU).memoryStats(Device.CPU).allocatedBytes();
    }

    /** Bytes of {@code [out, in]} F32 packed for the CPU GEMM. */
    private static long packedBytes(long out, long in) {
        try (Tensor w = Tensor.zeros(DType.F32, Device.CPU, out, in); PackedWeight p = PackedWeight.pack(w)) {
            assertTrue(p.isPacked(), "F32 on the CPU has a packed form");
            return p.packedBytes();
        }
    }

    /** All stored parameters' F32 bytes (names matching {@code skip} excluded). */
    private static long checkpointBytes(Path dir, java.util.function.Predicate<String> skip) {
        try (TensorSource src = TensorSource.safetensors(dir)) {
            long n = 0;
            for (String name : src.names()) {
                if (skip.test(name)) {
                    continue;
                }
                long e = 1;
                for (long d : src.shape(name)) {
                    e *= d;
                }
                n += 4 * e;
            }
            return n;
        }
    }

    /** Checkpoint bytes with each listed linear {@code [out, in]} weight replaced by its packed size. */
    private static long expected(long stored, List<long[]> linears) {
        long e = stored;
        for (long[] s : linears) {
            e += packedBytes(s[0], s[1]) - 4 * s[0] * s[1];
        }
        return e;
    }

    private static <M extends AutoCloseable> long ownedBytes(Supplier<M> load) throws Exception {
        long before = allocated();
        long owned;
        try (M m = load.get()) {
            owned = allocated() - before;
        }
        assertEquals(before, allocated(), "closing the model frees everything it owned");
        return owned;
    }

    /**
     * The [out, in] shapes of the linear layers of the ViT checkpoint in {@code dir}: per layer q | k | v stacked,
     * output, MLP up, down; the head.
     */
    private static List<long[]> vitLinears(Path dir) throws Exception {
        ViTConfig cfg;
        try (ViTForImageClassification m = ViTForImageClassification.load(dir, Device.CPU, null)) {
            cfg = m.config();
        }
        long d = cfg.hiddenSize();
        long f = cfg.intermediateSize();
        List<long[]> lin = new ArrayList<>();
        for (int i = 0; i < cfg.numLayers(); i++) {
            lin.add(new long[] {3 * d, d});
            lin.add(new long[] {d, d});
            lin.add(new long[] {f, d});
            lin.add(new long[] {d, f});
        }
        lin.add(new long[] {cfg.labels().size(), d});
        return lin;
    }

    @Test
    void vitHoldsEachProjectionOnce() throws Exception {
        Path dir = Fixtures.resource("vision/vit-b");
        List<long[]> lin = vitLinears(dir);
        long want = expected(checkpointBytes(dir, n -> n.contains("pooler.") || n.endsWith("position_ids")), lin);
        long got = ownedBytes(() -> ViTForImageClassification.load(dir, Device.CPU, null));
        assertEquals(want, got, "ViT native bytes (parameters once, linears packed)");
    }

    @Test
    void bertHoldsEachProjectionOnce() throws Exception {
        Path dir = Path.of("src/test/resources/bert/tiny");
        BertConfig cfg;
        try (BertModel m = BertModel.fromSafetensors(dir, Device.CPU)) {
            cfg = m.config();
        }
        long h = cfg.hiddenSize();
        long f = cfg.intermediateSize();
        List<long[]> lin = new ArrayList<>();
        for (int i = 0; i < cfg.numLayers(); i++) {
            lin.add(new long[] {3 * h, h});
            lin.add(new long[] {h, h});
            lin.add(new long[] {f, h});
            lin.add(new long[] {h, f});
        }
        long want = expected(checkpointBytes(dir, n -> n.contains("pooler.") || n.endsWith("position_ids")), lin);
        long got = ownedBytes(() -> BertModel.fromSafetensors(dir, Device.CPU));
        assertEquals(want, got, "BERT native bytes (parameters once, linears packed)");
    }

    /**
     * Quantized for dynamic INT8 ({@link Weights#quantizeDynamic}): each linear weight held once, as its packed int8
     * panels with their zero points and scales (no F32 copy), everything freed with the model; an image's logits are
     * the ones it gets alone (each token quantized on its own).
     */
    @Test
    void vitQuantizedForDynamicInt8HoldsEachProjectionOnceAsInt8() throws Exception {
        Path dir = Fixtures.resource("vision/vit-b");
        List<long[]> lin = vitLinears(dir);
        long want = checkpointBytes(dir, n -> n.contains("pooler.") || n.endsWith("position_ids"));
        for (long[] s : lin) {
            try (dev.tessera.runtime.Int8Linear q = dev.tessera.runtime.Int8Linear.quantize(new float[(int) (s[0] * s[1])],
                    s[0], s[1])) {
                long bytes = 0;
                for (Tensor t : q.tensors()) {
                    bytes += t.numel() * t.dtype().size();
                }
                want += bytes - 4 * s[0] * s[1];
            }
        }
        long got = ownedBytes(() -> ViTForImageClassification.load(dir, Device.CPU, null, true));
        assertEquals(want, got, "ViT native bytes (linears as int8 panels, zero points and scales)");
        try (ViTForImageClassification m = ViTForImageClassification.load(dir, Device.CPU, null, true);
                dev.tessera.runtime.Scope scope = dev.tessera.runtime.Tessera.scope()) {
            int c = m.config().numChannels();
            int size = m.config().imageSize();
            float[] px = new float[2 * c * size * size];
            java.util.SplittableRandom r = new java.util.SplittableRandom(5);
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) r.nextGaussian();
            }
            float[] both = m.logits(Tensor.of(px, Device.CPU, 2, c, size, size)).toFloatArray();
            float[] second = m.logits(Tensor.of(java.util.Arrays.copyOfRange(px, px.length / 2, px.length), Device.CPU,
                    1, c, size, size)).toFloatArray();
            int k = both.length / 2;
            for (int j = 0; j < k; j++) {
                assertEquals(both[k + j], second[j], 1e-5f * (1 + Math.abs(second[j])), "logit " + j + " alone vs batched");
            }
        }
    }
}
