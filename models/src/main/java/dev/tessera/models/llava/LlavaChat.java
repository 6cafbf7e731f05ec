package dev.tessera.models.llava;

import dev.tessera.models.llama.ChatSession;
import dev.tessera.models.llama.ChatTemplate;
import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.llama.KvCache;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Chatting with LLaVA: a {@link ChatSession.Backend} that renders the conversation, expands each {@code <image>}
 * placeholder to the image's rows and splices the projected image features in, and the user message that carries
 * images in the form the chat template expects (content parts {@code {"type": "image"}} for templates that iterate
 * over parts, an {@code "<image>\n"} prefix per image otherwise).
 */
public final class LlavaChat {
    private LlavaChat() {}

    /**
     * The backend of a conversation about the images whose features are {@code features} ({@code [N, T, hidden]}
     * from {@link LlavaForConditionalGeneration#imageFeatures}, owned by the caller; null for none). {@code template}
     * null means raw text turns.
     */
    public static ChatSession.Backend backend(LlavaForConditionalGeneration model, Tokenizer tokenizer,
            ChatTemplate template, Tensor features) {
        int images = features == null ? 0 : (int) features.dim(0);
        int tok = model.config().imageTokenIndex();
        boolean parts = takesParts(template);
        return new ChatSession.Backend() {
            private boolean placed;

            @Override
            public int[] tokens(List<Message> messages) {
                int[] ids;
                if (template != null) {
                    List<Message> msgs = parts ? messages.stream().map(LlavaChat::asParts).toList() : messages;
                    String text = template.render(msgs, true);
                    // transformers' processor: the tokenizer's special tokens unless the template wrote the BOS
                    String bos = template.specialTokens().get("bos_token");
                    ids = tokenizer.encode(text, bos == null || bos.isEmpty() || !text.startsWith(bos));
                } else {
                    StringBuilder sb = new StringBuilder();
                    for (Message m : messages) {
                        sb.append(m.content());
                    }
                    ids = tokenizer.encode(sb.toString(), true);
                }
                boolean any = false;
                for (int id : ids) {
                    any |= id == tok;
                }
                if (!any && placed) {
                    return ids; // the conversation was trimmed past the message with the images
                }
                int[] out = model.expandImageTokens(ids, images); // checks placeholders against the images
                placed |= any;
                return out;
            }

            @Override
            public Tensor prefill(KvCache cache, int[] tokens) {
                boolean any = false;
                for (int id : tokens) {
                    any |= id == tok;
                }
                return model.forward(cache, tokens, any ? features : null, false);
            }

            @Override
            public Tensor embeds(int[] tokens) {
                boolean any = false;
                for (int id : tokens) {
                    any |= id == tok;
                }
                return model.inputEmbeds(tokens, any ? features : null);
            }
        };
    }

    /**
     * Whether {@code template} reads message content as a list of parts ({@code {"type": "text", "text": ...}}, as
     * transformers' processors pass every message) rather than a string: a text given as a string does not appear
     * in what it renders, as a part it does (LLaVA-1.5's template selects the parts by type and would drop a string).
     */
    static boolean takesParts(ChatTemplate template) {
        if (template == null) {
            return false;
        }
        String mark = "tessera-probe-7f3a";
        try {
            if (template.render(List.of(Message.user(mark)), true).contains(mark)) {
                return false;
            }
            return template.render(List.of(asParts(Message.user(mark))), true).contains(mark);
        } catch (IllegalArgumentException e) { // a template that refuses the probe: judge by its text
            String src = template.source();
            return src.contains("'type'") || src.contains("\"type\"") || src.contains(".type");
        }
    }

    /** {@code m} with a string content as one text part. */
    static Message asParts(Message m) {
        return m.content() instanceof String s ? new Message(m.role(), List.of(Map.of("type", "text", "text", s))) : m;
    }

    /** A user message carrying {@code images} images for {@code template} (null: raw text). */
    public static Message userMessage(String text, int images, ChatTemplate template) {
        if (images == 0 || text.contains("<image>")) {
            return Message.user(text);
        }
        if (takesParts(template)) {
            List<Map<String, Object>> content = new ArrayList<>();
            for (int i = 0; i < images; i++) {
                content.add(Map.of("type", "image"));
            }
            content.add(Map.of("type", "text", "text", text));
            return new Message("user", content);
        }
        return Message.user("<image>\n".repeat(images) + text);
    }
}
