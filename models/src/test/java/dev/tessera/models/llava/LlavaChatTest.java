package dev.tessera.models.llava;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.llama.ChatSession;
import dev.tessera.models.llama.ChatTemplate;
import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Device;
import java.nio.file.Files;
import java.nio.file.Path;
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
}
