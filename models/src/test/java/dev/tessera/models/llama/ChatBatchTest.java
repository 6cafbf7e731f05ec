package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Device;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ChatBatch} against its definition: each reply equals what a fresh {@link ChatSession} (the model's whole
 * context, as {@code tessera chat} opens it) gives to the same turn, whatever the batch size and order.
 */
class ChatBatchTest {
    static LlamaForCausalLM model;
    static Tokenizer tokenizer;
    static ChatTemplate template;
    static Generator generator;

    @BeforeAll
    static void load() {
        Path dir = LlamaParityTest.fixtureDir("llama-gqa");
        model = LlamaForCausalLM.load(dir, Device.CPU, null);
        tokenizer = Tokenizer.load(LlamaParityTest.fixtureDir("tokenizer.json"));
        template = ChatTemplate.load(dir.getParent());
        generator = new Generator(model, tokenizer);
    }

    @AfterAll
    static void close() {
        model.close();
        tokenizer.close();
    }

    /** Prompts of many lengths (the fixture's context is 128 tokens), some with a system message. */
    static List<ChatBatch.Turn> turns(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        String[] words = {"cat", "the", "dog", "what", "is", "a", "story", "of", "ships", "ok", "1", "2", "?", "tell"};
        List<ChatBatch.Turn> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + r.nextInt(i % 4 == 3 ? 40 : 12);
            for (int w = 0; w < len; w++) {
                sb.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            String system = r.nextInt(3) == 0 ? "You are terse." : null;
            out.add(new ChatBatch.Turn(ChatSession.textBackend(model, tokenizer, template), system,
                    Message.user(sb.toString())));
        }
        return out;
    }

    /** The reference: the turn alone in a session with the model's whole context. */
    static ChatBatch.Reply alone(ChatBatch.Turn t, GenerationConfig cfg) {
        try (ChatSession s = new ChatSession(generator, t.backend(), t.system(), 0)) {
            return new ChatBatch.Reply(s.send(t.user(), cfg, null), null);
        } catch (IllegalArgumentException e) {
            return new ChatBatch.Reply(null, e);
        }
    }

    static void assertSameReplies(List<ChatBatch.Turn> turns, GenerationConfig cfg, List<ChatBatch.Reply> got) {
        assertEquals(turns.size(), got.size());
        for (int i = 0; i < turns.size(); i++) {
            ChatBatch.Reply want = alone(turns.get(i), cfg);
            ChatBatch.Reply r = got.get(i);
            String what = "turn " + i + " (" + turns.get(i).user().content() + ")";
            if (want.ok()) {
                assertTrue(r.ok(), what + ": " + (r.ok() ? "" : r.error().getMessage()));
                assertNull(r.error());
                assertArrayEquals(want.result().tokens(), r.result().tokens(), what);
                assertEquals(want.result().text(), r.result().text(), what);
                assertEquals(want.result().finish(), r.result().finish(), what);
            } else {
                assertNull(r.result(), what);
                assertEquals(want.error().getMessage(), r.error().getMessage(), what);
            }
        }
    }

    @Test
    void greedyRepliesEqualEachTurnAloneForEveryBatchSize() {
        List<ChatBatch.Turn> turns = turns(1, 13);
        GenerationConfig cfg = GenerationConfig.greedy(20); // eos on: rows of a batch end at different steps
        for (int batch : new int[] {1, 3, 8, 64}) {
            assertSameReplies(turns, cfg, new ChatBatch(generator, batch).answer(turns, cfg));
        }
        GenerationConfig noEos = GenerationConfig.greedy(24).withUseEos(false);
        assertSameReplies(turns, noEos, new ChatBatch(generator, 5).answer(turns, noEos));
        // rows that stop at different steps leave the batch (the cache is compacted) and the rest go on
        GenerationConfig stops = GenerationConfig.greedy(30).withUseEos(false).withStopStrings(List.of("e"));
        List<ChatBatch.Reply> got = new ChatBatch(generator, 8).answer(turns, stops);
        assertSameReplies(turns, stops, got);
        Set<Integer> ends = new HashSet<>();
        got.forEach(r -> ends.add(r.result().tokens().length));
        assertTrue(ends.size() >= 4 && got.stream().anyMatch(r -> r.result().finish() == Generator.FinishReason.LENGTH)
                && got.stream().anyMatch(r -> r.result().finish() == Generator.FinishReason.STOP_STRING),
                "rows end at different steps: " + ends);
    }

    @Test
    void sampledRepliesDependOnlyOnTheirTurnAndTheSeed() {
        List<ChatBatch.Turn> turns = turns(2, 9);
        GenerationConfig cfg = new GenerationConfig(16, 0.9, 40, 0.95, 1.2, 77, List.of(), List.of(), true);
        List<ChatBatch.Reply> got = new ChatBatch(generator, 4).answer(turns, cfg);
        assertSameReplies(turns, cfg, got);
        // reversed order and another batch size: the same reply for each turn
        List<ChatBatch.Turn> reversed = new ArrayList<>(turns);
        java.util.Collections.reverse(reversed);
        List<ChatBatch.Reply> back = new ChatBatch(generator, 3).answer(reversed, cfg);
        for (int i = 0; i < turns.size(); i++) {
            assertArrayEquals(got.get(i).result().tokens(), back.get(turns.size() - 1 - i).result().tokens());
        }
        // the seed matters (the replies are sampled, not greedy)
        GenerationConfig other = new GenerationConfig(16, 0.9, 40, 0.95, 1.2, 78, List.of(), List.of(), true);
        List<ChatBatch.Reply> seeded = new ChatBatch(generator, 4).answer(turns, other);
        Set<String> differ = new HashSet<>();
        for (int i = 0; i < turns.size(); i++) {
            if (!java.util.Arrays.equals(got.get(i).result().tokens(), seeded.get(i).result().tokens())) {
                differ.add("" + i);
            }
        }
        assertTrue(differ.size() >= turns.size() / 2, "another seed changed only " + differ);
    }

    @Test
    void eachTurnKeepsItsOwnBudgetUnderMaxLengthAndTheContext() {
        List<ChatBatch.Turn> turns = new ArrayList<>(turns(3, 10));
        // one turn past maxLength (refused), and long ones that reach the 128-token context together with a budget
        turns.add(new ChatBatch.Turn(ChatSession.textBackend(model, tokenizer, template), null,
                Message.user("tell the story of ships ".repeat(9))));
        turns.add(new ChatBatch.Turn(ChatSession.textBackend(model, tokenizer, template), null,
                Message.user("cat dog ".repeat(30))));
        GenerationConfig capped = GenerationConfig.greedy(40).withUseEos(false).withMaxLength(60);
        List<ChatBatch.Reply> got = new ChatBatch(generator, 6).answer(turns, capped);
        assertSameReplies(turns, capped, got);
        assertTrue(got.stream().anyMatch(r -> !r.ok() && r.error().getMessage().contains("maxLength")),
                "a prompt past maxLength is refused");
        Set<Integer> lengths = new HashSet<>();
        got.stream().filter(ChatBatch.Reply::ok).forEach(r -> lengths.add(r.result().tokens().length));
        assertTrue(lengths.size() > 2, "budgets differ by prompt length: " + lengths);
        // without a cap, the context (128) limits the long turns: a group never outgrows it
        GenerationConfig uncapped = GenerationConfig.greedy(90).withUseEos(false);
        assertSameReplies(turns, uncapped, new ChatBatch(generator, 12).answer(turns, uncapped));
    }

    @Test
    void turnsTheBatchCannotTakeAreAnsweredOrRefusedAsASessionWould() {
        List<ChatBatch.Turn> turns = new ArrayList<>(turns(4, 5));
        ChatSession.Backend plain = ChatSession.textBackend(model, tokenizer, template);
        ChatSession.Backend noEmbeds = new ChatSession.Backend() { // a custom backend that cannot batch
            @Override
            public int[] tokens(List<Message> messages) {
                return plain.tokens(messages);
            }

            @Override
            public Tensor prefill(KvCache cache, int[] tokens) {
                return plain.prefill(cache, tokens);
            }
        };
        turns.add(1, new ChatBatch.Turn(noEmbeds, null, Message.user("what is a cat")));
        turns.add(new ChatBatch.Turn(plain, null, Message.user("ships ".repeat(200)))); // past the context
        ChatSession.Backend empty = new ChatSession.Backend() {
            @Override
            public int[] tokens(List<Message> messages) {
                return new int[0];
            }

            @Override
            public Tensor prefill(KvCache cache, int[] tokens) {
                throw new AssertionError("never prefilled");
            }
        };
        turns.add(0, new ChatBatch.Turn(empty, null, Message.user("x")));
        GenerationConfig cfg = GenerationConfig.greedy(10);
        List<ChatBatch.Reply> got = new ChatBatch(generator, 4).answer(turns, cfg);
        assertSameReplies(turns, cfg, got);
        assertTrue(got.get(0).error().getMessage().contains("empty"), got.get(0).error().getMessage());
        assertTrue(got.get(turns.size() - 1).error().getMessage().contains("does not fit the context"));
        assertNotNull(got.get(2).result(), "the backend without embeddings still answers");
    }

    @Test
    void repeatedBatchesKeepNativeMemoryFlat() {
        List<ChatBatch.Turn> turns = turns(5, 10);
        GenerationConfig cfg = GenerationConfig.sampling(8, 0.8, 0.9, 3);
        ChatBatch batch = new ChatBatch(generator, 4);
        batch.answer(turns, cfg);
        long before = GenerationTest.allocated();
        for (int i = 0; i < 5; i++) {
            batch.answer(turns, cfg);
            assertEquals(before, GenerationTest.allocated(), "native memory changed after batch " + i);
        }
    }

    @Test
    void badArgumentsAreRefusedInWords() {
        assertThrows(IllegalArgumentException.class, () -> new ChatBatch(generator, 0));
        assertThrows(IllegalArgumentException.class, () -> new ChatBatch(null, 4));
        ChatBatch b = new ChatBatch(generator, 2);
        assertThrows(IllegalArgumentException.class, () -> b.answer(null, GenerationConfig.greedy(3)));
        assertThrows(IllegalArgumentException.class, () -> b.answer(turns(6, 2), null));
        assertThrows(IllegalArgumentException.class, () -> new ChatBatch.Turn(null, null, Message.user("x")));
        assertTrue(b.answer(List.of(), GenerationConfig.greedy(3)).isEmpty());
        List<ChatBatch.Turn> withNull = new ArrayList<>(turns(6, 2));
        withNull.add(null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.answer(withNull, GenerationConfig.greedy(3)));
        assertTrue(e.getMessage().contains("turn 2"), e.getMessage());
    }
}
