package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.models.llama.CpuInt8WeightsTest;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whisper on the CPU with its matrices held as bfloat16 or int8 ({@code load(dir, CPU, BF16 | I8)}; F32 arithmetic):
 * a BF16 checkpoint gives the bits of its F32 load (encoder states and logits), and an int8 load gives the F32 model of
 * the checkpoint whose matrices (attention projections, FFNs and the tied token embedding) were quantized and
 * dequantized here from the definition (re-quantizing those values gives back the same int8 values); on the
 * F32 fixture the logits move by the quantization only.
 */
class CpuStoredWeightsWhisperTest {

    @Test
    void bf16AndInt8MatricesComputeTheF32ModelOfTheirValues(@TempDir Path tmp) throws Exception {
        Path src = WhisperParityTest.fixtureDir("tiny-a");
        Path bf = copy(src, tmp.resolve("bf16"), (name) -> null, DType.BF16);
        float[][] f32 = run(bf, DType.F32);
        float[][] b16 = run(bf, DType.BF16);
        assertArrayEquals(f32[0], b16[0], "encoder: the bits of the F32 load of the same values");
        assertArrayEquals(f32[1], b16[1], "logits: the bits of the F32 load of the same values");

        Path deq = copy(src, tmp.resolve("deq"), CpuStoredWeightsWhisperTest::isMatrix, DType.F32);
        float[][] want = run(deq, DType.F32);
        float[][] got = run(deq, DType.I8);
        double e = Fixtures.relErr(got[0], want[0]);
        double l = Fixtures.relErr(got[1], want[1]);
        assertTrue(e < 2e-6 && l < 2e-6, "int8 against the dequantized F32 model: encoder " + e + ", logits " + l);

        float[][] q = run(src, DType.I8);
        float[] ref = Npy.read(src.resolve("logits.npy")).requireFloats();
        double moved = Fixtures.relErr(q[1], ref);
        assertTrue(moved > 1e-5 && moved < 5e-2, "int8 logits against the F32 reference " + moved);
        System.out.println("whisper tiny-a, int8 matrices: logits " + moved + " relative from F32");

        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> WhisperModel.load(src, Device.CPU, DType.F16));
        assertTrue(bad.getMessage().contains("BF16 or I8"), bad.getMessage());
    }

    /**
     * Dynamic INT8 ({@code load(dir, CPU, null, true)}: int8 weights and each token's activations): the encoder states
     * and logits move from F32 by the quantization only; two windows encoded together give each window's states alone
     * (every token quantized on its own); CUDA and a second form are refused.
     */
    @Test
    void dynamicInt8MovesTheOutputsByTheQuantizationOnly() throws Exception {
        Path src = WhisperParityTest.fixtureDir("tiny-a");
        Path fx = src;
        float[] refLogits = Npy.read(src.resolve("logits.npy")).requireFloats();
        float[] refEnc = Npy.read(src.resolve("encoder.npy")).requireFloats();
        try (WhisperModel m = WhisperModel.load(src, Device.CPU, null, true);
                Tensor mel = Fixtures.npyTensor(fx.resolve("features.npy")); Tensor enc = m.encode(mel)) {
            int[] prompt = WhisperParityTest.ints(fx.resolve("prompt.npy"));
            float[] logits;
            try (WhisperCache c = m.newCache(enc, prompt.length); Tensor l = m.decode(new int[][] {prompt}, c, true)) {
                logits = l.toFloatArray();
            }
            double e = Fixtures.relErr(enc.toFloatArray(), refEnc);
            double l = Fixtures.relErr(logits, refLogits);
            System.out.printf("whisper tiny-a, dynamic INT8: encoder %.2e, logits %.2e relative from F32%n", e, l);
            assertTrue(e > 1e-5 && e < 5e-2 && l > 1e-5 && l < 5e-2, "encoder " + e + ", logits " + l);
            float[] one = mel.toFloatArray();
            float[] two = new float[2 * one.length];
            for (int i = 0; i < one.length; i++) {
                two[i] = one[i] * 0.5f - 0.3f;
                two[one.length + i] = one[i];
            }
            try (Tensor pair = Tensor.of(two, Device.CPU, 2, mel.dim(1), mel.dim(2)); Tensor both = m.encode(pair)) {
                float[] b = both.toFloatArray();
                float[] alone = enc.toFloatArray();
                for (int i = 0; i < alone.length; i++) {
                    assertEquals(alone[i], b[alone.length + i], 1e-5f * (1 + Math.abs(alone[i])), "state " + i);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> WhisperModel.load(src, Device.CPU, DType.BF16, true));
    }

    /** Whether the checkpoint tensor is one the storage applies to (a Linear weight, or the tied token embedding). */
    private static Boolean isMatrix(String name) {
        return name.endsWith("_proj.weight") || name.endsWith("fc1.weight") || name.endsWith("fc2.weight")
                || name.equals("model.decoder.embed_tokens.weight") ? Boolean.TRUE : null;
    }

    /**
     * {@code src} copied to {@code dir}: every tensor as {@code dtype}, the ones {@code dequantize} names quantized per
     * row and multiplied back ({@link CpuInt8WeightsTest#dequantized}).
     */
    private static Path copy(Path src, Path dir, java.util.function.Function<String, Boolean> dequantize, DType dtype)
            throws Exception {
        int[] changed = {0};
        Fixtures.rewriteWeights(src, dir, (n, t) -> {
            if (dequantize.apply(n) != null) {
                t = Tensor.of(CpuInt8WeightsTest.dequantized(t.toFloatArray(), (int) t.dim(0), (int) t.dim(1)),
                        Device.CPU, t.shape());
                changed[0]++;
            }
            return dtype == DType.F32 ? t : t.to(dtype);
        });
        if (dequantize.apply("model.decoder.embed_tokens.weight") != null) {
            WhisperConfig cfg = WhisperConfig.read(src);
            assertEquals(6 * cfg.encoderLayers() + 10 * cfg.decoderLayers() + 1, changed[0], "matrices dequantized");
        }
        return dir;
    }

    /** Encoder states of the fixture's features and the decoder's logits at every prompt position. */
    private static float[][] run(Path dir, DType dtype) throws Exception {
        Path fx = WhisperParityTest.fixtureDir("tiny-a");
        try (WhisperModel m = WhisperModel.load(dir, Device.CPU, dtype);
                Tensor mel = Fixtures.npyTensor(fx.resolve("features.npy")); Tensor enc = m.encode(mel)) {
            assertEquals(DType.F32, m.dtype(), "computes in F32");
            int[] prompt = WhisperParityTest.ints(fx.resolve("prompt.npy"));
            try (WhisperCache c = m.newCache(enc, prompt.length); Tensor l = m.decode(new int[][] {prompt}, c, true)) {
                return new float[][] {enc.toFloatArray(), l.toFloatArray()};
            }
        }
    }
}
