package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.llama.ChatTemplate.Message;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Templates in the style of published checkpoints (written here from their documented formats). */
class ChatTemplateTest {
    @Test
    void llama3StyleWithWhitespaceControl() {
        String tpl = "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
                + "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
                + "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
        ChatTemplate t = new ChatTemplate(tpl, Map.of("bos_token", "<|begin_of_text|>"));
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(List.of(Message.user(" Hi ")), true));
    }

    @Test
    void contentIsRenderedVerbatim() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{{ m['content'] }}|{{ m['content'] | trim }}{% endfor %}",
                Map.of());
        String s = "say \"hi\" \\ it's <b>&amp; \u00e9\u4e2d\u0015\ttab\nline";
        assertEquals(s + "|" + s, t.render(List.of(Message.user(s)), false));
    }

    @Test
    void alternationCheckRaises() {
        String tpl = "{{ bos_token }}{% for message in messages %}"
                + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
                + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";
        ChatTemplate t = new ChatTemplate(tpl, Map.of("bos_token", "<s>", "eos_token", "</s>"));
        assertEquals("<s>[INST] a [/INST]b</s>[INST] c [/INST]",
                t.render(List.of(Message.user("a"), Message.assistant("b"), Message.user("c")), true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(Message.user("a"), Message.user("c")), true));
        assertTrue(e.getMessage().contains("must alternate"), e.getMessage());
    }

    @Test
    void contentPartsForImages() {
        String tpl = "{% for message in messages %}{{ message['role'].upper() + ': ' }}"
                + "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
                + "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>\\n' }}"
                + "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}"
                + "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";
        ChatTemplate t = new ChatTemplate(tpl, Map.of());
        Message m = new Message("user", List.of(Map.of("type", "image"), Map.of("type", "text", "text", "What is it?")));
        assertEquals("USER: <image>\nWhat is it?\nASSISTANT:", t.render(List.of(m), true));
    }
}
