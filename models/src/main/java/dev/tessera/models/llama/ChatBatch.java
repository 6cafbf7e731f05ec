package dev.tessera.models.llama;

import dev.tessera.models.llama.ChatTemplate.Message;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Answers many independent one-turn chats (an optional system message and one user message each) in batches:
 * prompts of similar length are left-padded and prefilled in one pass, then decoded together, one token per
 * conversation per step, so each step reads the decoder's weights once for the whole batch instead of once per
 * conversation (on a CPU, where decoding one sequence is bound by memory bandwidth, a batch of 8 decodes several
 * times as many tokens per second).
 *
 * <p>Each reply is the one a fresh {@link ChatSession} gives to the same turn: greedy, the same tokens; sampled, the
 * same tokens for the same seed, whichever batch the turn falls in and wherever it sits in it. Each conversation
 * keeps its own token budget (a {@code maxLength} cap counts its own prompt, not the batch's padded length) and its
 * own sampler. Turns a batch cannot take (a backend without {@link ChatSession.Backend#embeds}, or a prompt the
 * session refuses: empty, longer than the context, past {@code maxLength}) go through a {@link ChatSession} one at a
 * time, which answers them or gives its own error.
 *
 * <pre>{@code
 * ChatBatch batch = new ChatBatch(new Generator(model, tokenizer), 8);
 * List<ChatBatch.Turn> turns = prompts.stream()
 *         .map(p -> new ChatBatch.Turn(ChatSession.textBackend(model, tokenizer, template), null, Message.user(p)))
 *         .toList();
 * for (ChatBatch.Reply r : batch.answer(turns, GenerationConfig.greedy(64))) {
 *     System.out.println(r.ok() ? r.result().text() : "refused: " + r.error().getMessage());
 * }
 * }</pre>
 *
 * <p>Memory: a batch holds a KV cache of {@code batch × (longest prompt + largest budget)} positions; when the host
 * lacks the memory for it, the batch is split in halves (a single conversation still needs its own cache).
 */
public final class ChatBatch {
    private final Generator generator;
    private final int maxBatch;

    /**
     * One conversation of one turn.
     *
     * @param backend how the turn becomes model input ({@link ChatSession#textBackend}, LLaVA's backend, ...)
     * @param system a system message, or null / empty for none
     * @param user the user's message
     */
    public record Turn(ChatSession.Backend backend, String system, Message user) {
        public Turn {
            if (backend == null || user == null) {
                throw new IllegalArgumentException("a turn needs a backend and a user message");
            }
        }
    }

    /**
     * The answer to one turn: its {@code result}, or the {@code error} a {@link ChatSession} gives for that turn
     * (exactly one of them is null).
     */
    public record Reply(Generator.Result result, IllegalArgumentException error) {
        public boolean ok() {
            return error == null;
        }
    }

    /**
     * @param generator the decoder and its tokenizer
     * @param maxBatch the most conversations decoded together (at least 1)
     */
    public ChatBatch(Generator generator, int maxBatch) {
        if (generator == null) {
            throw new IllegalArgumentException("generator must not be null");
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("the batch size must be >= 1, got " + maxBatch);
        }
        this.generator = generator;
        this.maxBatch = maxBatch;
    }

    /**
     * A turn's prompt tokens and token budget; {@code batchable} false: a session takes it alone ({@code tokens} null
     * when the backend refused to render it).
     */
    private record Planned(int index, int[] tokens, int budget, boolean batchable) {}

    /** The replies to {@code turns}, in their order. */
    public List<Reply> answer(List<Turn> turns, GenerationConfig cfg) {
        if (turns == null || cfg == null) {
            throw new IllegalArgumentException("answer: the turns and the generation config must not be null");
        }
        for (int i = 0; i < turns.size(); i++) {
            if (turns.get(i) == null) {
                throw new IllegalArgumentException("answer: turn " + i + " is null");
            }
        }
        int context = generator.model().config().contextLength();
        Reply[] replies = new Reply[turns.size()];
        List<Planned> planned = new ArrayList<>();
        for (int i = 0; i < turns.size(); i++) {
            Planned p = plan(i, turns.get(i), cfg, context);
            if (p.batchable()) {
                planned.add(p);
            } else {
                replies[i] = alone(turns.get(i), p.tokens(), cfg, context);
            }
        }
        // shortest prompts first: rows of a batch have similar lengths, so little of it is padding
        planned.sort(Comparator.comparingInt((Planned p) -> p.tokens().length).thenComparingInt(Planned::index));
        List<Planned> group = new ArrayList<>();
        int maxBudget = 0;
        for (Planned p : planned) {
            // the longest prompt (this one) and the largest budget of the group must fit the context together
            boolean fits = group.size() < maxBatch && p.tokens().length + Math.max(maxBudget, p.budget()) <= context;
            if (!group.isEmpty() && !fits) {
                run(group, turns, cfg, context, replies);
                group = new ArrayList<>();
                maxBudget = 0;
            }
            group.add(p);
            maxBudget = Math.max(maxBudget, p.budget());
        }
        if (!group.isEmpty()) {
            run(group, turns, cfg, context, replies);
        }
        return Arrays.asList(replies);
    }

    /** The turn's messages as a {@link ChatSession} holds them. */
    private static List<Message> messages(Turn t) {
        List<Message> m = new ArrayList<>(2);
        if (t.system() != null && !t.system().isEmpty()) {
            m.add(Message.system(t.system()));
        }
        m.add(t.user());
        return m;
    }

    /** The turn's tokens and budget; not batchable when a session must take it alone (it may refuse it). */
    private static Planned plan(int index, Turn t, GenerationConfig cfg, int context) {
        int[] tokens;
        try {
            tokens = t.backend().tokens(messages(t));
        } catch (IllegalArgumentException e) {
            return new Planned(index, null, 0, false);
        }
        if (tokens.length == 0 || tokens.length + 1 > context) {
            return new Planned(index, tokens, 0, false);
        }
        int budget;
        try {
            budget = cfg.budgetAfter(tokens.length);
        } catch (IllegalArgumentException e) {
            return new Planned(index, tokens, -1, false);
        }
        // a session sized prompt + budget + 1 (at most the context) answers with at most this many tokens
        return new Planned(index, tokens, Math.min(budget, context - tokens.length), true);
    }

    /**
     * One turn through its own session: its reply, or the error the session gives. {@code tokens}: its prompt as
     * {@link #plan} rendered it (null: the backend refused it), which sizes the session's cache.
     */
    private Reply alone(Turn t, int[] tokens, GenerationConfig cfg, int context) {
        int capacity = 1; // enough for a turn the session refuses: it says why before using the cache
        if (tokens != null && tokens.length + 1 > context) {
            capacity = context; // its message names the context
        } else if (tokens != null && tokens.length > 0) {
            try {
                capacity = (int) Math.min(context, (long) tokens.length + cfg.budgetAfter(tokens.length) + 1);
            } catch (IllegalArgumentException e) {
                // past maxLength: the session gives the error itself
            }
        }
        try (ChatSession s = new ChatSession(generator, t.backend(), t.system(), capacity)) {
            return new Reply(s.send(t.user(), cfg, null), null);
        } catch (IllegalArgumentException e) {
            return new Reply(null, e);
        }
    }

    /** Prefills and decodes one group (rows whose backend gives no embeddings go alone). */
    private void run(List<Planned> group, List<Turn> turns, GenerationConfig cfg, int context, Reply[] replies) {
        LlamaForCausalLM model = generator.model();
        try (Scope scope = Tessera.scope()) {
            List<Planned> rows = new ArrayList<>(group.size());
            List<Tensor> embeds = new ArrayList<>(group.size());
            for (Planned p : group) {
                Tensor e = turns.get(p.index()).backend().embeds(p.tokens());
                if (e == null) {
                    replies[p.index()] = alone(turns.get(p.index()), p.tokens(), cfg, context);
                    continue;
                }
                long hidden = model.config().hiddenSize();
                if (e.rank() != 3 || e.dim(0) != 1 || e.dim(1) != p.tokens().length || e.dim(2) != hidden) {
                    throw new IllegalStateException("a chat backend's embeddings are " + e.describe() + ", expected [1, "
                            + p.tokens().length + ", " + hidden + "]");
                }
                rows.add(p);
                embeds.add(e);
            }
            if (!rows.isEmpty()) {
                decodeGroup(rows, embeds, cfg, context, replies);
            }
        }
    }

    private void decodeGroup(List<Planned> rows, List<Tensor> embeds, GenerationConfig cfg, int context,
            Reply[] replies) {
        LlamaForCausalLM model = generator.model();
        int b = rows.size();
        int len = 0;
        int maxBudget = 0;
        for (Planned p : rows) {
            len = Math.max(len, p.tokens().length);
            maxBudget = Math.max(maxBudget, p.budget());
        }
        KvCache cache;
        try {
            cache = model.newCache(b, (int) Math.min(context, (long) len + Math.max(maxBudget, 1)));
        } catch (IllegalArgumentException e) { // not enough memory for the whole batch's cache
            if (b == 1) {
                throw e;
            }
            decodeGroup(rows.subList(0, b / 2), embeds.subList(0, b / 2), cfg, context, replies);
            decodeGroup(rows.subList(b / 2, b), embeds.subList(b / 2, b), cfg, context, replies);
            return;
        }
        try (cache; Scope scope = Tessera.scope()) {
            Tensor x = Tensor.zeros(model.dtype(), model.device(), b, len, model.config().hiddenSize());
            boolean[][] real = new boolean[b][len];
            boolean padded = false;
            List<int[]> histories = new ArrayList<>(b);
            int[] budgets = new int[b];
            long[] seeds = new long[b];
            for (int i = 0; i < b; i++) {
                int[] tokens = rows.get(i).tokens();
                int pad = len - tokens.length;
                Ops.copyInto(embeds.get(i), x.slice(0, i, i + 1).slice(1, pad, len));
                Arrays.fill(real[i], pad, len, true);
                padded |= pad > 0;
                histories.add(tokens);
                budgets[i] = rows.get(i).budget();
                seeds[i] = cfg.seed(); // as a session's only row
            }
            float[][] last = Generator.rows(model.forwardEmbeds(x, padded ? real : null, cache, false));
            List<Generator.Result> results = generator.decode(cache, last, histories, cfg, budgets, seeds, null, true);
            for (int i = 0; i < b; i++) {
                replies[rows.get(i).index()] = new Reply(results.get(i), null);
            }
        }
    }
}
