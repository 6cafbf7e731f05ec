package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Llama decoder on the CPU with its matrices held as bfloat16 ({@code load(dir, CPU, BF16)}): the logits of a
 * BF16 checkpoint are the bits of the same checkpoint computed with F32 matrices (its values are bfloat16 already, so
 * the F32 panels hold the same numbers), the matrices take half the memory, and on the F32 fixture the answer stays
 * within bfloat16's rounding of the F32 model's.
 */
class CpuBf16WeightsTest {
    static long allocated() {
        return GenerationTest.allocated();
    }

    @Test
    void bf16MatricesGiveTheF32ProductOfTheirValuesInHalfTheMemory(@TempDir Path dir) throws Exception {
        Path src = LlamaParityTest.fixtureDir("llama-gqa");
        Fixtures.rewriteWeights(src, dir, (n, t) -> t.to(DType.BF16));
        int[] prompt = Npy.read(src.resolve("prompt.npy")).ints();
        long base = allocated();
        float[] f32;
        long f32Bytes;
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, DType.F32); Tensor l = m.logits(prompt)) {
            f32Bytes = allocated() - base;
            f32 = l.toFloatArray();
        }
        float[] bf;
        long bfBytes;
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, DType.BF16); Tensor l = m.logits(prompt)) {
            bfBytes = allocated() - base;
            bf = l.toFloatArray();
            assertEquals(DType.F32, m.dtype(), "computes in F32");
        }
        assertArrayEquals(f32, bf, "the bits of the F32 matrices holding the same values");
        // the fixture's matrices are most of its parameters: packed as bfloat16 they take half
        LlamaConfig cfg = LlamaConfig.read(src);
        long h = cfg.hiddenSize();
        long matrices = cfg.numLayers() * (h * cfg.numHeads() * cfg.headDim() * 2
                + 2 * h * cfg.numKvHeads() * cfg.headDim() + 3 * h * cfg.intermediateSize()) + h * cfg.vocabSize();
        long saved = f32Bytes - bfBytes;
        assertTrue(saved >= matrices * 2 * 9 / 10 && saved <= matrices * 2 * 11 / 10 + (1 << 16),
                "bytes held: F32 " + f32Bytes + ", BF16 " + bfBytes + "; 2 x " + matrices + " expected saved");
        assertEquals(base, allocated(), "closed models hold nothing");

        // the F32 fixture held as bfloat16: near the F32 model (bfloat16 keeps 8 bits of mantissa)
        float[] ref = Npy.read(src.resolve("logits.npy")).requireFloats();
        try (LlamaForCausalLM m = LlamaForCausalLM.load(src, Device.CPU, DType.BF16); Tensor l = m.logits(prompt)) {
            float[] got = l.toFloatArray();
            double rel = Fixtures.relErr(got, ref);
            assertTrue(rel > 1e-6 && rel < 3e-2, "relative error against the F32 reference " + rel);
            int v = cfg.vocabSize();
            int agree = 0;
            for (int p = 0; p < prompt.length; p++) {
                agree += Fixtures.argmax(got, p * v, v) == Fixtures.argmax(ref, p * v, v) ? 1 : 0;
            }
            assertTrue(agree >= prompt.length * 8 / 10, "next-token argmax agrees at " + agree + " of " + prompt.length);
        }
    }

}
