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

    /**
     * {@link ChatBatch} on CUDA (F32): left-padded prefill, batched decode and the KV cache compacted as rows stop
     * (a stop string ends them at different steps), each reply against the same turn alone in a CUDA session.
     */
    @Test
    void chatBatchOnCudaEqualsEachTurnAlone() throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        // a GPU bundle without the tokenizers or the chat templates (bench/gpu/make-bundle.sh: TESSERA_BUNDLE_EXTRAS
        // tok and tmpl; Jinjava needs java.beans from the jre's java.desktop) cannot run this case: aborted, not failed
        String[] needed = {"ai.djl.huggingface.tokenizers.HuggingFaceTokenizer", "com.hubspot.jinjava.Jinjava",
            "java.beans.Introspector"};
        for (String c : needed) {
            try {
                Class.forName(c, false, getClass().getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                org.junit.jupiter.api.Assumptions.abort(c + " is not on this class path (" + e + ")");
            }
        }
        Path dir = LlamaParityTest.fixtureDir("llama-gqa");
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, cuda, DType.F32);
                dev.tessera.models.text.Tokenizer tok = dev.tessera.models.text.Tokenizer.load(
                        LlamaParityTest.fixtureDir("tokenizer.json"))) {
            ChatTemplate t = ChatTemplate.load(dir.getParent());
            Generator g = new Generator(m, tok);
            String[] prompts = {"hello", "what is the capital of france?", "a", "tell me a story about ships and cats",
                "1 2 3", "ok ok ok ok ok ok ok ok ok ok ok ok", "why?"};
            java.util.List<ChatBatch.Turn> turns = new java.util.ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                turns.add(new ChatBatch.Turn(ChatSession.textBackend(m, tok, t), i % 2 == 0 ? null : "Be brief.",
                        ChatTemplate.Message.user(prompts[i])));
            }
            GenerationConfig cfg = GenerationConfig.greedy(24).withUseEos(false).withStopStrings(java.util.List.of("e"));
            java.util.List<ChatBatch.Reply> got = new ChatBatch(g, 4).answer(turns, cfg);
            int same = 0;
            for (int i = 0; i < turns.size(); i++) {
                try (ChatSession s = new ChatSession(g, turns.get(i).backend(), turns.get(i).system(), 0)) {
                    Generator.Result want = s.send(turns.get(i).user(), cfg, null);
                    same += java.util.Arrays.equals(want.tokens(), got.get(i).result().tokens()) ? 1 : 0;
                }
            }
            System.out.printf("cuda ChatBatch: %d of %d replies equal to the turn alone%n", same, turns.size());
            assertTrue(same == turns.size(), same + " of " + turns.size() + " replies equal");
        }
    }
}
