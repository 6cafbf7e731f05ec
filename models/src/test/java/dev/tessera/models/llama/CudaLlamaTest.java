package dev.tessera.models.llama;

import dev.tessera.models.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The decoder on CUDA against the committed reference: F32 (≤ 1e-4, same greedy tokens) and BF16 (≤ 2e-2). */
class CudaLlamaTest {
    @Test
    void logitsAndGreedyOnCuda() throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        Path dir = LlamaParityTest.fixtureDir("llama-gqa");
        int[] prompt = Npy.read(dir.resolve("prompt.npy")).ints();
        float[] ref = Npy.read(dir.resolve("logits.npy")).requireFloats();
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, cuda, dt); Tensor t = m.logits(prompt)) {
                double r = Fixtures.relErr(t.toFloatArray(), ref);
                System.out.printf("cuda %s: logits rel err %.3g%n", dt, r);
                assertTrue(r <= (dt == DType.F32 ? 1e-4 : 2e-2), dt + " rel err " + r);
                if (dt == DType.F32) {
                    Generator.Result g = new Generator(m, null).generate(prompt,
                            GenerationConfig.greedy(32).withUseEos(false), null);
                    assertArrayEquals(Npy.read(dir.resolve("greedy.npy")).ints(), g.tokens());
                }
            }
        }
    }
}
