package dev.tessera.models.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.llama.ChatBatch;
import dev.tessera.models.llama.ChatSession;
import dev.tessera.models.llama.ChatTemplate;
import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.llama.GenerationConfig;
import dev.tessera.models.llama.Generator;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The prompt a LLaVA conversation becomes, as transformers' processor builds it: every message's content as parts
 * for a template that selects parts by type (LLaVA-1.5's drops string content), the tokenizer's special tokens
 * unless the rendered text starts with the BOS; and the eos ids of generation_config.json.
 */
class LlavaChatTest {
    /** llava-1.5-hf's chat template: no BOS of its own, parts selected by type. */
    static final String LLAVA15 = "{% for message in messages %}{% if message['role'] != 'system' %}"
            + "{{ message['role'].upper() + ': '}}{% endif %}{% for content in message['content'] | selectattr('type',"
            + " 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}{% if message['role'] != 'assistant' %}{% for content"
            + " in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}"
            + "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
            + "{{ content['text'] + ' '}}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}"
            + "{{ 'ASSISTANT:' }}{% endif %}";

    @Test
    void aPartsTemplateGetsEveryMessageAsPartsAndTheTokenizersBos(@TempDir Path dir) throws Exception {
        Path src = LlavaTest.fixtureDir("llava-tiny");
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        ChatTemplate t = new ChatTemplate(LLAVA15, Map.of("bos_token", "<s>", "eos_token", "</s>"));
        assertTrue(LlavaChat.takesParts(t));
        assertFalse(LlavaChat.takesParts(new ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}", Map.of())));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [5, 6]}");
        try (LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(dir, Device.CPU, null);
                Tokenizer tok = Tokenizer.load(dir)) {
            // generation_config.json's eos ids replace config.json's, as transformers' generate reads them
            assertEquals(List.of(5, 6), Arrays.stream(m.config().text().eosTokenIds()).boxed().toList());
            ChatSession.Backend b = LlavaChat.backend(m, tok, t, null);
            List<Message> msgs = List.of(Message.system("Be brief."), Message.user("hello there"));
            int[] ids = b.tokens(msgs);
            String rendered = t.render(msgs.stream().map(LlavaChat::asParts).toList(), true);
            assertEquals("Be brief. USER: hello there ASSISTANT:", rendered, "system and user text are kept");
            assertTrue(Arrays.equals(tok.encode(rendered, true), ids), "with the tokenizer's special tokens");
            assertFalse(Arrays.equals(tok.encode(rendered, false), ids), "the tokenizer adds a BOS here");
            // a template that writes the BOS itself: no second one
            ChatTemplate withBos = new ChatTemplate("{{ bos_token }}" + LLAVA15, Map.of("bos_token", "<s>"));
            String r2 = withBos.render(msgs.stream().map(LlavaChat::asParts).toList(), true);
            assertTrue(Arrays.equals(tok.encode(r2, false), LlavaChat.backend(m, tok, withBos, null).tokens(msgs)));
        }
    }

    /**
     * LLaVA conversations with and without an image, batched: each reply equals the conversation alone in a session
     * (the image rows spliced into a left-padded batch as into a single prompt).
     */
    @Test
    @SuppressWarnings("try") // the scope frees the image features
    void batchedImageConversationsEqualEachAlone() throws Exception {
        Path dir = LlavaTest.fixtureDir("llava-tiny");
        Npy.Array px = Npy.read(dir.resolve("pixel_values.npy"));
        try (LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(dir, Device.CPU, null);
                Tokenizer tok = Tokenizer.load(dir); Scope scope = Tessera.scope()) {
            ChatTemplate t = ChatTemplate.load(dir);
            Tensor pixels = Tensor.of(px.requireFloats(), px.shape());
            long n = pixels.dim(0);
            List<Tensor> features = new ArrayList<>();
            for (long i = 0; i < n; i++) { // each image alone, and each upside down
                Tensor one = pixels.slice(0, i, i + 1).contiguous();
                features.add(m.imageFeatures(one));
                features.add(m.imageFeatures(Ops.mul(one, Tensor.of(new float[] {-1f}))));
            }
            Generator g = new Generator(m.languageModel(), tok);
            List<ChatBatch.Turn> turns = new ArrayList<>();
            String[] prompts = {"what is this?", "describe the picture in many words please", "hi", "colour?"};
            for (int i = 0; i < 7; i++) {
                Tensor f = i % 3 == 2 ? null : features.get(i % features.size());
                String text = prompts[i % prompts.length];
                turns.add(new ChatBatch.Turn(LlavaChat.backend(m, tok, t, f), i % 2 == 0 ? null : "Be brief.",
                        LlavaChat.userMessage(text, f == null ? 0 : 1, t)));
            }
            GenerationConfig cfg = GenerationConfig.greedy(12).withUseEos(false);
            List<ChatBatch.Reply> got = new ChatBatch(g, 4).answer(turns, cfg);
            java.util.Set<String> replies = new java.util.HashSet<>();
            for (int i = 0; i < turns.size(); i++) {
                ChatBatch.Turn turn = turns.get(i);
                Generator.Result want;
                try (ChatSession s = new ChatSession(g, turn.backend(), turn.system(), 0)) {
                    want = s.send(turn.user(), cfg, null);
                }
                assertTrue(got.get(i).ok(), "turn " + i);
                assertArrayEquals(want.tokens(), got.get(i).result().tokens(), "turn " + i);
                replies.add(Arrays.toString(want.tokens()));
            }
            assertTrue(replies.size() >= 4, "the images and prompts change the replies: " + replies.size());
        }
    }
}
