package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation (batching, sampling, stops, streaming), chat templates and chat sessions on the tiny fixtures. */
class GenerationTest {
    static LlamaForCausalLM model;
    static Tokenizer tokenizer;
    static int[] prompt;
    static int[] greedyRef;

    @BeforeAll
    static void load() throws Exception {
        Path dir = LlamaParityTest.fixtureDir("llama-gqa");
        model = LlamaForCausalLM.load(dir, Device.CPU, null);
        tokenizer = Tokenizer.load(LlamaParityTest.fixtureDir("tokenizer.json"));
        prompt = Npy.read(dir.resolve("prompt.npy")).ints();
        greedyRef = Npy.read(dir.resolve("greedy.npy")).ints();
    }

    @AfterAll
    static void close() {
        model.close();
        tokenizer.close();
    }

    @Test
    void greedyGenerationMatchesReferenceAlsoInABatchWithPadding() {
        Generator g = new Generator(model, null);
        GenerationConfig cfg = GenerationConfig.greedy(32).withUseEos(false);
        Generator.Result one = g.generate(prompt, cfg, null);
        assertArrayEquals(greedyRef, one.tokens());
        assertEquals(Generator.FinishReason.LENGTH, one.finish());
        // a batch: a shorter prompt (left-padded) beside the reference prompt, and the reference prompt again
        int[] shorter = Arrays.copyOfRange(prompt, 0, 9);
        Generator.Result shortAlone = g.generate(shorter, cfg.withMaxNewTokens(12), null);
        List<Generator.Result> batch = g.generate(List.of(shorter, prompt), cfg, null);
        assertArrayEquals(greedyRef, batch.get(1).tokens(), "padded batch row differs");
        assertArrayEquals(shortAlone.tokens(), Arrays.copyOf(batch.get(0).tokens(), 12), "left-padded row differs");
    }

    /**
     * A maxLength cap counts the prompt (for a batch, its padded length): a prompt of p tokens gets maxLength - p new
     * tokens, the same tokens as an uncapped run; a prompt that reaches the cap is refused (transformers' generate
     * raises there); maxNewTokens still bounds it.
     */
    @Test
    void maxLengthCapsPromptAndAnswerTogether() {
        Generator g = new Generator(model, null);
        GenerationConfig cfg = GenerationConfig.greedy(1000).withUseEos(false).withMaxLength(prompt.length + 9);
        assertEquals(9, cfg.budgetAfter(prompt.length));
        assertEquals(4, cfg.withMaxNewTokens(4).budgetAfter(prompt.length));
        assertEquals(1000, GenerationConfig.greedy(1000).budgetAfter(prompt.length), "0: no cap");
        Generator.Result r = g.generate(prompt, cfg, null);
        assertArrayEquals(Arrays.copyOf(greedyRef, 9), r.tokens());
        assertEquals(Generator.FinishReason.LENGTH, r.finish());
        int[] shorter = Arrays.copyOfRange(prompt, 0, 5);
        List<Generator.Result> batch = g.generate(List.of(shorter, prompt), cfg, null);
        assertEquals(9, batch.get(0).tokens().length, "the padded length counts");
        assertArrayEquals(r.tokens(), batch.get(1).tokens());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.generate(prompt, cfg.withMaxLength(prompt.length), null));
        assertTrue(e.getMessage().contains("maxLength"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> cfg.withMaxLength(-1));
    }

    /**
     * In a conversation under a maxLength cap the oldest turns go once the conversation reaches the cap (as they go
     * when it outgrows the cache), each answer gets what the cap leaves, and a first message that alone reaches the
     * cap is refused and not kept.
     */
    @Test
    void aConversationUnderMaxLengthDropsItsOldestTurns() {
        ChatTemplate t = ChatTemplate.load(LlamaParityTest.fixtureDir("llama-gqa").getParent());
        Generator g = new Generator(model, tokenizer);
        GenerationConfig free = GenerationConfig.greedy(6).withUseEos(false);
        int alone;
        try (ChatSession chat = new ChatSession(g, t, null, 0)) {
            chat.send("and then", free, null);
            alone = chat.lastPrompt().length;
        }
        try (ChatSession chat = new ChatSession(g, t, null, 0)) {
            chat.send("hello there", free, null);
            int cap = alone + 4; // room for the second message alone, not beside the first exchange
            Generator.Result r = chat.send("and then", free.withMaxLength(cap), null);
            assertEquals(alone, chat.lastPrompt().length, "the first exchange was dropped");
            assertEquals(2, chat.messages().size(), chat.messages().toString());
            assertEquals(4, r.tokens().length, "what the cap leaves");
        }
        try (ChatSession chat = new ChatSession(g, t, null, 0)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> chat.send("hello there", GenerationConfig.greedy(6).withMaxLength(3), null));
            assertTrue(e.getMessage().contains("maxLength"), e.getMessage());
            assertEquals(0, chat.messages().size());
        }
    }

    /**
     * A generation_config.json's eos ids replace config.json's; one that names none leaves none, as transformers'
     * generate then stops on none.
     */
    @Test
    void generationConfigEosIdsReplaceConfigsEvenWhenAbsent(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        LlamaConfig base = model.config();
        assertTrue(base.eosTokenIds().length > 0);
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [7, 8, 7]}");
        assertArrayEquals(new int[] {7, 8}, LlamaConfig.withGenerationConfig(base, dir).eosTokenIds());
        for (String none : new String[] {"{\"max_length\": 40}", "{\"eos_token_id\": null}", "{\"eos_token_id\": []}"}) {
            java.nio.file.Files.writeString(dir.resolve("generation_config.json"), none);
            assertArrayEquals(new int[0], LlamaConfig.withGenerationConfig(base, dir).eosTokenIds(), none);
        }
        java.nio.file.Files.delete(dir.resolve("generation_config.json"));
        assertArrayEquals(base.eosTokenIds(), LlamaConfig.withGenerationConfig(base, dir).eosTokenIds(), "no file");
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() {
        Generator g = new Generator(model, tokenizer);
        GenerationConfig s = GenerationConfig.sampling(20, 0.9, 0.95, 42).withUseEos(false);
        int[] a = g.generate(prompt, s, null).tokens();
        int[] b = g.generate(prompt, s, null).tokens();
        int[] c = g.generate(prompt, s.withSeed(43), null).tokens();
        assertArrayEquals(a, b, "same seed, same tokens");
        assertTrue(!Arrays.equals(a, c), "another seed should change the sample");
        int[] k1 = g.generate(prompt, s.withTopK(1).withMaxNewTokens(32), null).tokens();
        assertArrayEquals(greedyRef, k1, "top-k 1 is greedy");
    }

    @Test
    void samplerFollowsTemperatureTopKTopPAndPenalty() {
        float[] logits = {2f, 1f, 0.5f, 0f, -1f};
        GenerationConfig t1 = GenerationConfig.sampling(1, 1.0, 1.0, 0);
        SplittableRandom rng = new SplittableRandom(7);
        int n = 40000;
        int[] counts = new int[5];
        for (int i = 0; i < n; i++) {
            counts[Generator.sample(logits, new int[0], t1, rng)]++;
        }
        double z = 0;
        for (float l : logits) {
            z += Math.exp(l);
        }
        for (int i = 0; i < 5; i++) {
            double p = Math.exp(logits[i]) / z;
            double sd = Math.sqrt(p * (1 - p) / n);
            assertEquals(p, counts[i] / (double) n, 5 * sd + 1e-3, "token " + i);
        }
        // top-p 0.6: softmax = [.53, .20, .12, .07, .03] -> only tokens 0 and 1 remain
        int[] c2 = new int[5];
        for (int i = 0; i < 5000; i++) {
            c2[Generator.sample(logits, new int[0], t1.withTopP(0.6), rng)]++;
        }
        assertEquals(0, c2[2] + c2[3] + c2[4]);
        assertTrue(c2[1] > 0);
        int[] c3 = new int[5];
        for (int i = 0; i < 5000; i++) {
            c3[Generator.sample(logits, new int[0], t1.withTopK(3), rng)]++;
        }
        assertEquals(0, c3[3] + c3[4]);
        // repetition penalty 10 on token 0 (logit 2 -> 0.2): greedy picks token 1
        assertEquals(1, Generator.sample(logits, new int[] {0}, GenerationConfig.greedy(1).withRepetitionPenalty(10), rng));
        assertEquals(0, Generator.sample(logits, new int[] {0}, GenerationConfig.greedy(1), rng));
    }

    @Test
    void streamingAndStopStringsAndStopTokens() {
        Generator g = new Generator(model, tokenizer);
        GenerationConfig cfg = GenerationConfig.greedy(32).withUseEos(false);
        StringBuilder streamed = new StringBuilder();
        List<Integer> toks = new ArrayList<>();
        Generator.Result r = g.generate(prompt, cfg, (seq, tok, text) -> {
            assertEquals(0, seq);
            toks.add(tok);
            streamed.append(text);
        });
        assertEquals(r.text(), streamed.toString());
        assertArrayEquals(r.tokens(), toks.stream().mapToInt(Integer::intValue).toArray());
        assertEquals(tokenizer.decode(greedyRef, true), r.text());
        // stop string: a piece of the greedy text in the middle
        String full = r.text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        int at = full.indexOf(stop);
        StringBuilder streamed2 = new StringBuilder();
        Generator.Result s = g.generate(prompt, cfg.withStopStrings(List.of(stop)), (q, t, x) -> streamed2.append(x));
        assertEquals(Generator.FinishReason.STOP_STRING, s.finish());
        assertEquals(full.substring(0, at), s.text());
        assertEquals(s.text(), streamed2.toString());
        // stop token: the 5th greedy token
        Generator.Result st = g.generate(prompt, cfg.withStopTokens(List.of(greedyRef[4])), null);
        assertEquals(Generator.FinishReason.STOP_TOKEN, st.finish());
        int first = 0;
        while (greedyRef[first] != greedyRef[4]) {
            first++;
        }
        assertArrayEquals(Arrays.copyOf(greedyRef, first + 1), st.tokens());
    }

    @Test
    void chatTemplateRendersAndRaises() {
        ChatTemplate t = ChatTemplate.load(LlamaParityTest.fixtureDir("llama-gqa").getParent());
        String s = t.render(List.of(Message.system("Be brief."), Message.user("  hello there "),
                Message.assistant("hi"), Message.user("what is in the image?")), true);
        assertEquals("<s><|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n"
                + "<|im_start|>assistant\nhi<|im_end|>\n<|im_start|>user\nwhat is in the image?<|im_end|>\n"
                + "<|im_start|>assistant\n", s);
        String noGen = t.render(List.of(Message.user("x")), false);
        assertEquals("<s><|im_start|>user\nx<|im_end|>\n", noGen);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(new Message("robot", "x")), true));
        assertTrue(e.getMessage().contains("Unknown role: robot"), e.getMessage());
        int[] ids = tokenizer.encode(s, false);
        assertEquals(298, ids[0], "<s> is one special token");
        assertEquals(296, ids[1], "<|im_start|> is one special token");
    }

    @Test
    void promptLongerThanContextIsRejected() {
        Generator g = new Generator(model, tokenizer);
        int[] tooLong = new int[model.config().maxPositionEmbeddings() + 1];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.generate(tooLong, GenerationConfig.greedy(4), null));
        assertTrue(e.getMessage().contains("context"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> model.logits(new int[] {1, 300}));
    }

    /**
     * A conversation that tokenizes to nothing (a template rendering no text, an empty raw prompt without a BOS token)
     * is refused in words (it ended in "truncate: length -1 outside [0, 0]"), and the message is not kept.
     */
    @Test
    void anEmptyPromptIsRefusedInWords() {
        Generator g = new Generator(model, tokenizer);
        ChatSession.Backend nothing = new ChatSession.Backend() {
            @Override
            public int[] tokens(List<Message> messages) {
                return new int[0];
            }

            @Override
            public dev.tessera.runtime.Tensor prefill(KvCache cache, int[] tokens) {
                throw new AssertionError("nothing to prefill");
            }
        };
        try (ChatSession chat = new ChatSession(g, nothing, null, 0)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> chat.send("", GenerationConfig.greedy(4), null));
            assertTrue(e.getMessage().contains("the prompt is empty"), e.getMessage());
            assertEquals(0, chat.messages().size());
        }
    }

    /**
     * Inputs the decode loop and the forward pass used to take on trust: logits rows shorter than the vocabulary
     * (greedy could only pick their ids), history ids outside it, ragged padding flags (an index error), a KV cache
     * larger than the machine's memory (the process was killed by the OS while zeroing it).
     */
    @Test
    void malformedDecodeInputsAreRefused() {
        Generator g = new Generator(model, tokenizer);
        try (KvCache cache = model.newCache(1, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.decode(cache, new float[][] {new float[5]}, null, GenerationConfig.greedy(3), null));
            assertTrue(e.getMessage().contains("logits row 0"), e.getMessage());
            int v = model.config().vocabSize();
            e = assertThrows(IllegalArgumentException.class, () -> g.decode(cache, new float[][] {new float[v]},
                    List.of(new int[] {-3}), GenerationConfig.greedy(3), null));
            assertTrue(e.getMessage().contains("token -3"), e.getMessage());
            // an id past the vocabulary (LLaVA's image placeholder outside the text model's) takes no penalty
            float[] logits = new float[v];
            logits[5] = 1;
            assertEquals(5, g.decode(cache, new float[][] {logits}, List.of(new int[] {v, v + 7}),
                    GenerationConfig.greedy(1).withRepetitionPenalty(1.3), null).get(0).tokens()[0]);
        }
        try (KvCache two = model.newCache(2, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.forward(
                    new int[][] {{1, 2}, {1, 2}}, new boolean[][] {{true, true}, {true}}, two, false));
            assertTrue(e.getMessage().contains("padding flags"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.newCache(Integer.MAX_VALUE / 64, model.config().contextLength()));
        assertTrue(e.getMessage().contains("GiB of memory available"), e.getMessage());
    }

    /** A reply that fails midway (here the listener throws) leaves the conversation as it was before the message. */
    @Test
    void aFailedTurnLeavesTheConversationAsItWas() {
        ChatTemplate t = ChatTemplate.load(LlamaParityTest.fixtureDir("llama-gqa").getParent());
        Generator g = new Generator(model, tokenizer);
        try (ChatSession chat = new ChatSession(g, t, "You are terse.", 0)) {
            chat.send("first", GenerationConfig.greedy(3), null);
            List<Message> before = List.copyOf(chat.messages());
            assertThrows(IllegalStateException.class, () -> chat.send("second", GenerationConfig.greedy(3),
                    (seq, token, text) -> {
                        throw new IllegalStateException("listener failed");
                    }));
            assertEquals(before, chat.messages());
            assertThrows(IllegalArgumentException.class, () -> chat.send("third", null, null));
            assertEquals(before, chat.messages());
            Generator.Result r = chat.send("fourth", GenerationConfig.greedy(3), null);
            assertEquals(3, r.tokens().length);
            assertEquals(before.size() + 2, chat.messages().size());
        }
    }

    @Test
    void thousandTurnChatKeepsMemoryBoundedByTheContext() {
        ChatTemplate t = ChatTemplate.load(LlamaParityTest.fixtureDir("llama-gqa").getParent());
        Generator g = new Generator(model, tokenizer);
        GenerationConfig cfg = GenerationConfig.sampling(6, 0.8, 0.9, 1).withUseEos(false);
        try (ChatSession chat = new ChatSession(g, t, "You are terse.", 0)) {
            long warm = 0;
            int maxCached = 0;
            int maxMessages = 0;
            for (int turn = 0; turn < 1000; turn++) {
                Generator.Result r = chat.send("turn " + turn + " tell me more", cfg, null);
                assertTrue(r.tokens().length > 0);
                maxCached = Math.max(maxCached, chat.cachedTokens());
                maxMessages = Math.max(maxMessages, chat.messages().size());
                if (turn == 50) {
                    warm = allocated();
                }
                if (turn > 50) {
                    assertEquals(warm, allocated(), "native memory changed at turn " + turn);
                }
            }
            assertTrue(maxCached <= model.config().maxPositionEmbeddings(), "cache " + maxCached);
            assertTrue(maxMessages < 40, "the conversation is trimmed to the context, max messages " + maxMessages);
            assertEquals("system", chat.messages().get(0).role(), "the system message is kept");
        }
    }

    static long allocated() {
        return Backends.forType(Device.Type.CPU).memoryStats(Device.CPU).allocatedBytes();
    }
}
