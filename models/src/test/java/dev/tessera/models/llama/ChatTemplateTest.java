package dev.tessera.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.Fixtures;
import dev.tessera.models.llama.ChatTemplate.Message;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Templates in the style of published checkpoints (written here from their documented formats). */
class ChatTemplateTest {
    /**
     * Every case of resources/llama/chat_templates.json (made by make_chat_template_fixtures.py with Python's jinja2
     * configured as transformers configures it): the same text, or an error where jinja2 raised one.
     */
    /** Python's float repr and escapes as templates print them, whatever the default locale's digits. */
    @Test
    void pythonReprsDoNotDependOnTheLocale() {
        java.util.Locale before = java.util.Locale.getDefault();
        try {
            for (java.util.Locale l : List.of(java.util.Locale.ROOT, new java.util.Locale("ar", "SA"),
                    new java.util.Locale("fa", "IR"), new java.util.Locale("tr", "TR"))) {
                java.util.Locale.setDefault(l);
                assertEquals("1e-07", PyFilters.pyFloat(1e-7), l.toString());
                assertEquals("-2.5e+16", PyFilters.pyFloat(-2.5e16), l.toString());
                assertEquals("0.0001", PyFilters.pyFloat(1e-4), l.toString());
            }
        } finally {
            java.util.Locale.setDefault(before);
        }
    }

    @Test
    void rendersAsJinja2DoesOnTheFixtures() throws Exception {
        JsonNode root = new ObjectMapper().readTree(Fixtures.resource("llama/chat_templates.json").toFile());
        Map<String, String> specials = new HashMap<>();
        root.get("specials").fields().forEachRemaining(e -> specials.put(e.getKey(), e.getValue().asText()));
        Map<String, ChatTemplate> templates = new HashMap<>();
        root.get("templates").fields().forEachRemaining(e -> templates.put(e.getKey(),
                new ChatTemplate(e.getValue().asText(), specials)));
        ObjectMapper om = new ObjectMapper();
        List<String> wrong = new ArrayList<>();
        int n = 0;
        for (JsonNode c : root.get("cases")) {
            String name = c.get("template").asText() + "/" + c.get("conversation").asText() + "/"
                    + c.get("add_generation_prompt").asBoolean();
            List<Message> msgs = new ArrayList<>();
            for (JsonNode m : root.get("conversations").get(c.get("conversation").asText())) {
                Object content = m.get("content").isTextual() ? m.get("content").asText()
                        : om.convertValue(m.get("content"), List.class);
                msgs.add(new Message(m.get("role").asText(), content));
            }
            ChatTemplate t = templates.get(c.get("template").asText());
            n++;
            try {
                String out = t.render(msgs, c.get("add_generation_prompt").asBoolean());
                if (c.has("error")) {
                    wrong.add(name + ": rendered, jinja2 raised " + c.get("error").asText());
                } else if (!out.equals(c.get("output").asText())) {
                    wrong.add(name + ": " + om.writeValueAsString(out) + " != " + c.get("output"));
                }
            } catch (IllegalArgumentException e) {
                if (!c.has("error")) {
                    wrong.add(name + ": " + e.getMessage());
                }
            }
        }
        assertTrue(n > 200, "cases " + n);
        assertTrue(wrong.isEmpty(), wrong.size() + " of " + n + " differ, first: " + String.join("\n", wrong.subList(0,
                Math.min(20, wrong.size()))));
    }

    /** Python methods are rewritten in template code only, not in the template's text or string literals. */
    @Test
    void pythonMethodsOnlyInCode() {
        ChatTemplate t = new ChatTemplate("Use x.strip() and ', '.join(y). {{ 'a.split(b)' + ' | ' + messages[0]['content']"
                + ".strip().split(',')[1].upper() + ' | ' + '-'.join(['p', 'q']) }}", Map.of());
        assertEquals("Use x.strip() and ', '.join(y). a.split(b) | B | p-q", t.render(List.of(Message.user(" a,b ")), false));
    }

    /** Special tokens tokenizer_config.json leaves out come from special_tokens_map.json, as transformers fills them. */
    @Test
    void specialTokensFallBackToTheSpecialTokensMap(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</e>\","
                + " \"chat_template\": \"{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}\"}");
        java.nio.file.Files.writeString(dir.resolve("special_tokens_map.json"), "{\"bos_token\": {\"content\": \"<s>\"},"
                + " \"eos_token\": \"</s>\"}");
        assertEquals("<s>hi</e>", ChatTemplate.load(dir).render(List.of(Message.user("hi")), false));
    }

    /** The functions are defined names, as globals of transformers' environment (Llama 3.2 tests strftime_now). */
    @Test
    void functionsAreDefined() {
        ChatTemplate t = new ChatTemplate("{% if strftime_now is defined %}{{ strftime_now('%Y') }}{% else %}none{% endif %}"
                + "{% if raise_exception is defined %} R{% endif %}", Map.of());
        assertEquals(java.time.Year.now().toString() + " R", t.render(List.of(Message.user("x")), true));
    }

    /** Message content is text, never template code: nothing in it is evaluated. */
    @Test
    void contentIsNeverInterpreted() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}[{{ m['content'] }}]{% endfor %}", Map.of());
        String s = "{{ raise_exception('x') }} {% for i in range(3) %}{{ i }}{% endfor %} {# c #}";
        assertEquals("[" + s + "]", t.render(List.of(Message.user(s)), false));
    }

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

    /**
     * Templates are code from a model directory: one that recurses without end, nests past the parser's stack, or
     * builds a string without bound fails with one line instead of a StackOverflowError, an OutOfMemoryError or a
     * silently cut prompt (Jinjava's own limits only warn or truncate).
     */
    @Test
    void runawayTemplatesFailInOneLine() {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion limit");
        cases.put("{{ " + "[".repeat(3000) + "]".repeat(3000) + " }}", "nests too deeply");
        cases.put("{% if true %}".repeat(3000) + "x" + "{% endif %}".repeat(3000), "nests too deeply");
        cases.put("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                + "{{ ns.s|length }}", "OutputTooBig");
        cases.put("{% for i in range(100000) %}{% for j in range(1000) %}xxxxxxxx{% endfor %}{% endfor %}",
                "OutputTooBig");
        // work without output: 10^10 loop iterations would run for hours; refused after MAX_STEPS steps (also with
        // empty loop bodies, which render no node)
        cases.put("{% for i in range(100000) %}{% for j in range(100000) %}{% if false %}x{% endif %}{% endfor %}"
                + "{% endfor %}", "too much work");
        cases.put("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "too much work");
        cases.put("{% macro m(n) %}{% for i in range(100000) %}{{ '' }}{% endfor %}{% endmacro %}"
                + "{% for i in range(100000) %}{{ m(i) }}{% endfor %}", "too much work");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            ChatTemplate t = new ChatTemplate(c.getKey(), Map.of());
            String m = assertThrows(IllegalArgumentException.class, () -> t.render(List.of(Message.user("hi")), true),
                    c.getValue()).getMessage();
            assertTrue(m.contains(c.getValue()) && !m.contains("\n") && m.length() < 400, c.getValue() + ": " + m);
        }
    }
}
