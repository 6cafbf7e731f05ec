package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
 * A Llama decoder on the CPU with its matrices held as int8 ({@code load(dir, CPU, I8)}, weight-only quantization with
 * a scale per output feature): its logits are those of the F32 model on a checkpoint whose matrices (projections and
 * LM head, not the embedding table) were quantized and dequantized here from the definition, the matrices take a
 * quarter of the memory, and against the F32 reference the logits move by the quantization only.
 */
public class CpuInt8WeightsTest {

    @Test
    void int8MatricesAreTheDequantizedModelInAQuarterOfTheMemory(@TempDir Path dir) throws Exception {
        Path src = LlamaParityTest.fixtureDir("llama-gqa");
        int[] matrices = {0};
        Fixtures.rewriteWeights(src, dir, (n, t) -> {
            if (t.rank() != 2 || n.equals("model.embed_tokens.weight")) {
                return t;
            }
            matrices[0]++;
            return Tensor.of(dequantized(t.toFloatArray(), (int) t.dim(0), (int) t.dim(1)), Device.CPU, t.shape());
        });
        LlamaConfig cfg = LlamaConfig.read(src);
        assertEquals(cfg.numLayers() * 7 + 1, matrices[0], "7 projections a layer and the LM head");
        int[] prompt = Npy.read(src.resolve("prompt.npy")).ints();
        long base = CpuBf16WeightsTest.allocated();
        float[] want;
        long f32Bytes;
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, DType.F32); Tensor l = m.logits(prompt)) {
            f32Bytes = CpuBf16WeightsTest.allocated() - base;
            want = l.toFloatArray();
        }
        float[] got;
        long i8Bytes;
        try (LlamaForCausalLM m = LlamaForCausalLM.load(src, Device.CPU, DType.I8); Tensor l = m.logits(prompt)) {
            i8Bytes = CpuBf16WeightsTest.allocated() - base;
            got = l.toFloatArray();
            assertEquals(DType.F32, m.dtype(), "computes in F32");
        }
        // (x · q) s against x · (q s): one rounding apart per product
        double rel = Fixtures.relErr(got, want);
        assertTrue(rel < 2e-6, "relative error against the dequantized F32 model " + rel);
        long h = cfg.hiddenSize();
        long elements = cfg.numLayers() * (h * cfg.numHeads() * cfg.headDim() * 2
                + 2 * h * cfg.numKvHeads() * cfg.headDim() + 3 * h * cfg.intermediateSize()) + h * cfg.vocabSize();
        long saved = f32Bytes - i8Bytes;
        assertTrue(saved >= elements * 3 * 9 / 10 && saved <= elements * 3 + (1 << 16),
                "bytes held: F32 " + f32Bytes + ", I8 " + i8Bytes + "; 3 x " + elements + " expected saved");
        assertEquals(base, CpuBf16WeightsTest.allocated(), "closed models hold nothing");

        float[] ref = Npy.read(src.resolve("logits.npy")).requireFloats();
        double moved = Fixtures.relErr(got, ref);
        assertTrue(moved > 1e-5 && moved < 5e-2, "relative error against the F32 reference " + moved);
        int v = cfg.vocabSize();
        int agree = 0;
        for (int p = 0; p < prompt.length; p++) {
            agree += Fixtures.argmax(got, p * v, v) == Fixtures.argmax(ref, p * v, v) ? 1 : 0;
        }
        System.out.println("int8 matrices on llama-gqa: logits " + moved + " relative from F32, next-token argmax agrees at "
                + agree + " of " + prompt.length);
        assertTrue(agree >= prompt.length * 8 / 10, "next-token argmax agrees at " + agree + " of " + prompt.length);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaForCausalLM.computeDtype(Device.cuda(0), DType.I8));
        assertTrue(e.getMessage().contains("int8 matrices are a CPU form"), e.getMessage());
    }

    /** w [n, k] quantized per row (scale max |w| / 127, to nearest even) and multiplied back, in float. */
    public static float[] dequantized(float[] w, int n, int k) {
        float[] out = new float[w.length];
        for (int j = 0; j < n; j++) {
            float mx = 0f;
            for (int kk = 0; kk < k; kk++) {
                mx = Math.max(mx, Math.abs(w[j * k + kk]));
            }
            float s = mx / 127f;
            for (int kk = 0; kk < k; kk++) {
                float q = s > 0 ? Math.max(-127f, Math.min(127f, (float) Math.rint(w[j * k + kk] / s))) : 0f;
                out[j * k + kk] = q * s;
            }
        }
        return out;
    }
}
