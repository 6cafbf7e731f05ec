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
        return new ChatSession.Backend() {
            private boolean placed;

            @Override
            public int[] tokens(List<Message> messages) {
                int[] ids;
                if (template != null) {
                    ids = tokenizer.encode(template.render(messages, true), false);
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
        };
    }

    /** A user message carrying {@code images} images for {@code template} (null: raw text). */
    public static Message userMessage(String text, int images, ChatTemplate template) {
        if (images == 0 || text.contains("<image>")) {
            return Message.user(text);
        }
        boolean parts = template != null && (template.source().contains("'type'") || template.source().contains("\"type\"")
                || template.source().contains(".type"));
        if (parts) {
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
