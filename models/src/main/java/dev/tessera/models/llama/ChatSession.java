package dev.tessera.models.llama;

import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A conversation with a chat model that keeps its messages and its {@link KvCache} between turns. Each turn
 * renders the whole conversation with the chat template, finds how much of it the cache already holds (the
 * common token prefix) and prefills only the rest, so a turn costs its own tokens, not the history's.
 *
 * <p>Memory is bounded by the cache capacity (at most the model's context): when the conversation no longer
 * fits, the oldest turns after the system message are dropped and the cache is rebuilt from what remains.
 * Without a template ({@code raw}), turns are concatenated as plain text.
 */
public final class ChatSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChatSession.class);

    private final Generator generator;
    private final Backend backend;
    private final KvCache cache;
    private final List<Message> messages = new ArrayList<>();
    private int[] cached = new int[0];
    private int[] lastPrompt = new int[0];

    /**
     * How a conversation becomes model input: its token ids, and the pass that feeds the ids after those the cache
     * holds. The default renders the chat template (or concatenates raw text) and runs the decoder; LLaVA splices
     * image features.
     */
    public interface Backend {
        /** The token ids of the whole conversation, ending where the reply starts. */
        int[] tokens(List<Message> messages);

        /**
         * Feeds {@code tokens} after the {@code cache.length()} already held (the backend may truncate the cache
         * further first) and returns the F32 logits of the last position {@code [1, 1, vocab]}.
         */
        Tensor prefill(KvCache cache, int[] tokens);

        /**
         * The decoder's input embeddings {@code [1, S, hidden]} (its dtype, on its device) of the whole of
         * {@code tokens}, as {@link #prefill} would feed them into an empty cache: what lets {@link ChatBatch} prefill
         * several conversations in one batch. Null (the default) when the backend cannot give them: such
         * conversations are then answered one at a time.
         */
        default Tensor embeds(int[] tokens) {
            return null;
        }
    }

    /** The plain decoder backend: template (or raw text) → tokenizer → {@link LlamaForCausalLM#forward}. */
    public static Backend textBackend(LlamaForCausalLM model, Tokenizer tokenizer, ChatTemplate template) {
        return new Backend() {
            @Override
            public int[] tokens(List<Message> messages) {
                if (template != null) {
                    return tokenizer.encode(template.render(messages, true), false);
                }
                StringBuilder sb = new StringBuilder();
                for (Message m : messages) {
                    sb.append(m.content());
                }
                return tokenizer.encode(sb.toString(), true);
            }

            @Override
            public Tensor prefill(KvCache cache, int[] tokens) {
                int[] suffix = Arrays.copyOfRange(tokens, cache.length(), tokens.length);
                return model.forward(new int[][] {suffix}, null, cache, false);
            }

            @Override
            public Tensor embeds(int[] tokens) {
                return model.embed(new int[][] {tokens});
            }
        };
    }

    /**
     * @param generator the model and its tokenizer (required here)
     * @param template the chat template, or null for raw text turns
     * @param systemPrompt a system message, or null
     * @param capacity the KV cache size in tokens (0: the model's context)
     */
    public ChatSession(Generator generator, ChatTemplate template, String systemPrompt, int capacity) {
        this(generator, textBackend(generator.model(), requireTokenizer(generator), template), systemPrompt, capacity);
    }

    private static Tokenizer requireTokenizer(Generator g) {
        if (g.tokenizer() == null) {
            throw new IllegalArgumentException("a chat session needs a tokenizer");
        }
        return g.tokenizer();
    }

    /** A session over a custom {@link Backend} (e.g. LLaVA's); {@code capacity} 0 = the model's context. */
    public ChatSession(Generator generator, Backend backend, String systemPrompt, int capacity) {
        this.generator = generator;
        this.backend = backend;
        int context = generator.model().config().contextLength();
        this.cache = generator.model().newCache(1, capacity <= 0 ? context : Math.min(capacity, context));
        if (systemPrompt != null && !systemPrompt.isEmpty()) {
            messages.add(Message.system(systemPrompt));
        }
    }

    /** The conversation so far. */
    public List<Message> messages() {
        return List.copyOf(messages);
    }

    /** Tokens held in the KV cache. */
    public int cachedTokens() {
        return cache.length();
    }

    public KvCache cache() {
        return cache;
    }

    /** The token ids of the last turn's prompt (the whole conversation up to the reply). */
    public int[] lastPrompt() {
        return lastPrompt.clone();
    }

    /** Sends a user message and generates the reply (streamed to {@code listener}, which may be null). */
    public Generator.Result send(String userText, GenerationConfig cfg, Generator.TokenListener listener) {
        if (userText == null) {
            throw new IllegalArgumentException("message must not be null");
        }
        return send(Message.user(userText), cfg, listener);
    }

    /** Sends a message (e.g. with image parts for LLaVA) and generates the reply. */
    public Generator.Result send(Message user, GenerationConfig cfg, Generator.TokenListener listener) {
        if (user == null || cfg == null) {
            throw new IllegalArgumentException("send: the message and the generation config must not be null");
        }
        messages.add(user);
        int[] prompt;
        int budget;
        try {
            prompt = backend.tokens(messages);
            // the oldest turns go while the conversation leaves no room for the answer: under a maxLength cap, none at
            // all; in the cache, less than the answer's budget or half the cache, whichever is smaller
            while ((cfg.maxLength() > 0 && prompt.length >= cfg.maxLength()
                    || prompt.length + Math.max(1, Math.min(cfg.budgetAfter(prompt.length), cache.capacity() / 2))
                            > cache.capacity()) && dropOldestTurn()) {
                prompt = backend.tokens(messages);
            }
            budget = cfg.budgetAfter(prompt.length); // refuses a message that alone reaches maxLength
        } catch (RuntimeException e) {
            messages.remove(messages.size() - 1);
            throw e;
        }
        if (prompt.length == 0) { // a template that renders nothing, or an empty raw prompt with no BOS token
            messages.remove(messages.size() - 1);
            throw new IllegalArgumentException("the prompt is empty (0 tokens): nothing to continue from");
        }
        if (prompt.length + 1 > cache.capacity()) {
            messages.remove(messages.size() - 1);
            LlamaConfig mc = generator.model().config();
            String why = cache.capacity() < mc.contextLength() ? "the cache size asked for"
                    : mc.contextLength() < mc.maxPositionEmbeddings() ? "the model's sliding_window: sliding-window "
                            + "attention is not implemented, so the context stops where the window would begin to "
                            + "hide keys" : "the model's max_position_embeddings";
            throw new IllegalArgumentException("the message does not fit the context: " + prompt.length
                    + " tokens (one more is needed to answer), the context holds " + cache.capacity() + " (" + why
                    + ")");
        }
        int common = commonPrefix(cached, prompt);
        if (common == prompt.length) {
            common--; // at least one token must be fed to get logits
        }
        cache.truncate(Math.min(common, cache.length()));
        budget = Math.min(budget, cache.capacity() - prompt.length);
        float[][] last;
        try (Tensor logits = backend.prefill(cache, prompt)) {
            last = new float[][] {logits.toFloatArray()};
        } catch (RuntimeException e) {
            messages.remove(messages.size() - 1);
            cache.reset();
            cached = new int[0];
            throw e;
        }
        lastPrompt = prompt;
        Generator.Result r;
        try {
            r = generator.decode(cache, last, List.of(prompt), cfg.withMaxNewTokens(budget), listener).get(0);
        } catch (RuntimeException | Error e) { // e.g. the listener threw: no reply, so the message goes too
            messages.remove(messages.size() - 1);
            cache.reset();
            cached = new int[0];
            throw e;
        }
        int keep = Math.max(0, r.tokens().length - 1);
        cached = Arrays.copyOf(prompt, prompt.length + keep);
        System.arraycopy(r.tokens(), 0, cached, prompt.length, keep);
        if (cached.length != cache.length()) {
            throw new IllegalStateException("chat cache bookkeeping: " + cached.length + " tokens vs " + cache.length());
        }
        messages.add(Message.assistant(r.text()));
        return r;
    }

    private boolean dropOldestTurn() {
        int first = !messages.isEmpty() && messages.get(0).role().equals("system") ? 1 : 0;
        if (messages.size() - first <= 1) {
            return false;
        }
        messages.remove(first);
        while (messages.size() - first > 1 && !messages.get(first).role().equals("user")) {
            messages.remove(first);
        }
        LOG.debug("conversation trimmed to {} messages to fit the context", messages.size());
        return true;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    @Override
    public void close() {
        cache.close();
    }
}
