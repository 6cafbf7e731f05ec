package dev.tessera.models.llama;

import dev.tessera.models.Fixtures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Parity with the float64 PyTorch reference of {@code src/test/resources/llama/make_fixtures.py} (written from
 * the published architecture; not transformers) on random-weight tiny checkpoints: GQA + Llama-3 rope scaling +
 * untied head (F32-stored), and MQA + tied head + Qwen2 q/k/v bias (BF16-stored, converted to F32).
 */
class LlamaParityTest {
    static Path fixtureDir(String name) {
        return Fixtures.resource("llama/" + name);
    }


    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa", "llama-tied"})
    void logitsGreedyAndCacheMatchReference(String name) throws Exception {
        Path dir = fixtureDir(name);
        int[] prompt = Npy.read(dir.resolve("prompt.npy")).ints();
        float[] ref = Npy.read(dir.resolve("logits.npy")).requireFloats();
        int[] greedyRef = Npy.read(dir.resolve("greedy.npy")).ints();
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, null)) {
            int v = m.config().vocabSize();
            // 1. full-prompt logits
            float[] logits;
            try (Tensor t = m.logits(prompt)) {
                assertArrayEquals(new long[] {1, prompt.length, v}, t.shape());
                logits = t.toFloatArray();
            }
            double r = Fixtures.relErr(logits, ref);
            System.out.printf("%s: prompt logits rel err %.3g%n", name, r);
            assertTrue(r <= 1e-4, name + ": logits rel err " + r);

            // 2. prefill in two chunks then decode one token at a time == recomputing the prefix
            try (KvCache cache = m.newCache(1, prompt.length + 40)) {
                int split = prompt.length / 3;
                int[] a = java.util.Arrays.copyOfRange(prompt, 0, split);
                int[] b = java.util.Arrays.copyOfRange(prompt, split, prompt.length);
                float[] chunked = new float[prompt.length * v];
                try (Tensor t = m.forward(new int[][] {a}, null, cache, true)) {
                    System.arraycopy(t.toFloatArray(), 0, chunked, 0, split * v);
                }
                try (Tensor t = m.forward(new int[][] {b}, null, cache, true)) {
                    System.arraycopy(t.toFloatArray(), 0, chunked, split * v, b.length * v);
                }
                double rc = Fixtures.relErr(chunked, logits);
                System.out.printf("%s: chunked prefill vs one pass rel err %.3g%n", name, rc);
                assertTrue(rc <= 1e-5, "chunked prefill differs: " + rc);

                // 3. greedy 32 tokens with the cache; every step's logits equal a full recomputation
                int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + 32);
                float[] last = java.util.Arrays.copyOfRange(logits, (prompt.length - 1) * v, prompt.length * v);
                int[] got = new int[32];
                double worst = 0;
                for (int i = 0; i < 32; i++) {
                    int next = argmax(last);
                    got[i] = next;
                    seq[prompt.length + i] = next;
                    try (Tensor t = m.forward(new int[][] {{next}}, null, cache, false)) {
                        last = t.toFloatArray();
                    }
                    if (i % 8 == 7) {
                        int n = prompt.length + i + 1;
                        try (Tensor full = m.logits(java.util.Arrays.copyOf(seq, n))) {
                            float[] f = full.toFloatArray();
                            worst = Math.max(worst, Fixtures.relErr(last, java.util.Arrays.copyOfRange(f, (n - 1) * v, n * v)));
                        }
                    }
                }
                System.out.printf("%s: KV-cache decode vs recompute worst rel err %.3g%n", name, worst);
                assertTrue(worst <= 1e-5, "cached decode differs from recomputation: " + worst);
                assertArrayEquals(greedyRef, got, name + ": greedy continuation differs from the reference");
            }
        }
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }
}
