package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.llama.ChatBatch;
import dev.tessera.models.llama.ChatSession;
import dev.tessera.models.llama.ChatTemplate;
import dev.tessera.models.llama.GenerationConfig;
import dev.tessera.models.llama.GenerationDefaults;
import dev.tessera.models.llama.Generator;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.models.llava.LlavaChat;
import dev.tessera.models.llava.LlavaForConditionalGeneration;
import dev.tessera.models.llava.LlavaImageProcessor;
import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tessera chat --model DIR [--image FILE]... [--max-tokens N] [--temperature T] [--seed S] [--json] [--raw]
 * ["prompt"]}: answers one prompt with a Llama-style (or LLaVA) checkpoint, streaming the text; without a prompt,
 * an interactive session reads one user message per line from stdin and keeps the conversation and its KV cache
 * between turns. With {@code --prompts FILE}, each line is its own one-turn chat, answered in batches
 * ({@link ChatBatch}).
 */
@Command(name = "chat", description = "Chat with a Llama-style or LLaVA checkpoint (config.json + safetensors + tokenizer.json).")
final class ChatCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROMPT",
            description = "The user message; without one, an interactive session reads messages from stdin.")
    String prompt;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory.")
    Path model;

    @Option(names = "--image", paramLabel = "FILE", description = "An image for a LLaVA model (repeatable; one per <image> tag).")
    List<Path> images = new ArrayList<>();

    @Option(names = "--max-tokens", description = "Tokens to generate at most (default: the model's "
            + "generation_config.json max_new_tokens, as transformers' generate reads it; else its max_length, a cap on "
            + "prompt and answer together; else 256).")
    Integer maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling threshold (default ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens, 0 = all (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--repetition-penalty", description = "> 1 discourages repeats (default: the model's "
            + "generation_config.json repetition_penalty, as transformers' generate applies it even when greedy; else 1).")
    Double repetitionPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "A stop string (repeatable).")
    List<String> stops = new ArrayList<>();

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message.")
    String system;

    @Option(names = "--json", description = "Print a JSON object per answer: prompt token ids, generated ids, text.")
    boolean json;

    @Option(names = "--raw", description = "Skip the chat template: the prompt is the model's input text.")
    boolean raw;

    @Option(names = "--prompts", paramLabel = "FILE", description = "Answer each non-blank line of FILE ('-': stdin) "
            + "as its own one-turn chat (with --image: each about those images; a .jsonl file: {\"prompt\": ..., "
            + "\"image\": PATH} per line, LLaVA), decoding --batch of them together; prints a JSON line per prompt, in "
            + "order: line, prompt, tokens, text, finish, or line, prompt, error. Each answer is the one that prompt "
            + "alone gets.")
    String promptsFile;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "N",
            description = "With --prompts: conversations decoded together (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--dtype", paramLabel = "TYPE", description = "f32, bf16 or int8. On cpu (default f32) bf16 keeps "
            + "the model's matrices in bfloat16: half the memory and faster decoding, still computed in f32 (each "
            + "product the f32 product on the rounded weights); int8 keeps them as int8 with a scale per output feature: "
            + "a quarter of the memory, faster still, the logits moved by the quantization; for LLaVA also int8-dynamic: "
            + "the vision tower in int8 weights and activations (about twice as fast), the rest as int8. On cuda (default "
            + "bf16): the weights' and activations' type (f32, bf16, f16).")
    String dtype;

    @Mixin
    DeviceOptions.DeviceOption device;

    @Mixin
    VisionInputs.BackendOption imageBackend;

    @Override
    public Integer call() {
        if (maxTokens != null && maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        }
        // the options' own names in the errors (GenerationConfig checks the same ranges under its field names)
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be finite and >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k must be >= 0 (0: off), got " + topK);
        }
        if (repetitionPenalty != null && (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty))) {
            throw new IllegalArgumentException("--repetition-penalty must be finite and > 0, got " + repetitionPenalty);
        }
        if (promptsFile != null && prompt != null) {
            throw new IllegalArgumentException("give a PROMPT or --prompts FILE, not both");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        }
        List<PromptLine> lines = promptsFile == null ? null : readPrompts(promptsFile);
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException("model directory not found: " + model);
        }
        Device dev = device.resolve();
        DType dt = null;
        boolean dynamicVision = DeviceOptions.isDynamicInt8(dtype);
        if (dynamicVision && !dev.isCpu()) {
            throw new IllegalArgumentException("--dtype int8-dynamic runs on the cpu, not " + dev);
        }
        if (dtype != null && !dynamicVision) {
            try {
                dt = DType.parseStorage(dtype);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dtype: " + e.getMessage(), e);
            }
            if (dt == DType.F16 && dev.isCpu()) {
                throw new IllegalArgumentException("--dtype f16 needs --device cuda (on the cpu: f32, or bf16 or int8"
                        + " matrices)");
            }
            if (dt == DType.I8 && !dev.isCpu()) {
                throw new IllegalArgumentException("--dtype int8 is a cpu form (on " + dev + ": f32, bf16 or f16)");
            }
        }
        GenerationDefaults defaults = GenerationDefaults.read(model);
        double penalty = repetitionPenalty != null ? repetitionPenalty : defaults.repetitionPenalty();
        int budget = maxTokens != null ? maxTokens : defaults.maxNewTokens();
        // --max-tokens wins over the file's max_length, as max_new_tokens does in transformers
        GenerationConfig cfg = new GenerationConfig(budget, temperature, topK, topP, penalty, seed, List.of(),
                stops, true, maxTokens != null ? 0 : defaults.maxLength());
        ChatTemplate template = raw ? null : ChatTemplate.load(model);
        if (!raw && template == null) {
            throw new IllegalArgumentException(model + " has no chat template (tokenizer_config.json chat_template, "
                    + "chat_template.jinja): pass --raw to use the prompt as is");
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String type = HfConfig.read(model).getString("model_type", "llama");
        if (dynamicVision && !type.equals("llava")) {
            throw new IllegalArgumentException("--dtype int8-dynamic is for LLaVA's vision tower; a " + type + " decoder"
                    + " takes --dtype int8 (int8 weights, f32 activations: faster for its one-row steps)");
        }
        if (type.equals("llava")) {
            try (LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(model, dev, dt, dynamicVision);
                    Tokenizer tok = Tokenizer.load(model)) {
                LlavaImageProcessor proc = LlavaImageProcessor.load(model, m.config().vision().imageSize())
                        .withBackend(imageBackend.get());
                Tensor features = null;
                try {
                    if (!images.isEmpty()) {
                        try (Tensor px = proc.preprocess(images, dev)) {
                            features = m.imageFeatures(px);
                        }
                    }
                    Generator gen = new Generator(m.languageModel(), tok);
                    Tensor f = features;
                    if (lines != null) {
                        String sys = raw ? null : system;
                        return answerAll(gen, cfg, out, lines, pl -> {
                            // a line's own images (JSON lines), else --image's; features freed with the chunk's scope
                            Tensor lf = f;
                            int n = images.size();
                            if (!pl.images().isEmpty()) {
                                try (Tensor px = proc.preprocess(pl.images(), dev)) {
                                    lf = m.imageFeatures(px);
                                }
                                n = pl.images().size();
                            }
                            return new ChatBatch.Turn(LlavaChat.backend(m, tok, template, lf), sys,
                                    userMessage(pl.prompt(), n, template));
                        });
                    }
                    run(gen, LlavaChat.backend(m, tok, template, f), template, cfg, out, images.size());
                } finally {
                    if (features != null) {
                        features.close();
                    }
                }
            }
            return 0;
        }
        if (!images.isEmpty()) {
            throw new IllegalArgumentException("--image needs a LLaVA model; " + model + " is a text-only decoder");
        }
        try (LlamaForCausalLM m = LlamaForCausalLM.load(model, dev, dt);
                Tokenizer tok = Tokenizer.load(model)) {
            Generator gen = new Generator(m, tok);
            if (lines != null) {
                String sys = raw ? null : system;
                return answerAll(gen, cfg, out, lines, pl -> {
                    if (!pl.images().isEmpty()) {
                        throw new IllegalArgumentException("images were given, but the model is a text-only decoder"
                                + " (not LLaVA)");
                    }
                    return new ChatBatch.Turn(ChatSession.textBackend(m, tok, template), sys,
                            ChatTemplate.Message.user(pl.prompt()));
                });
            }
            run(gen, ChatSession.textBackend(m, tok, template), template, cfg, out, 0);
        }
        return 0;
    }

    private void run(Generator gen, ChatSession.Backend backend, ChatTemplate template, GenerationConfig cfg,
            PrintStream out, int imageCount) {
        try (ChatSession chat = new ChatSession(gen, backend, raw ? null : system, 0)) {
            if (prompt != null) {
                Generator.Result r = chat.send(userMessage(prompt, imageCount, template), cfg,
                        json ? null : (s, t, text) -> out.print(text));
                finish(out, chat.lastPrompt(), r, -1, chat.cachedTokens());
                return;
            }
            boolean tty = System.console() != null;
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            boolean first = true;
            while (true) {
                if (tty) {
                    System.err.print("> ");
                    System.err.flush();
                }
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit") || line.strip().equals("/quit")) {
                    break;
                }
                if (line.isBlank()) {
                    continue;
                }
                int before = chat.cachedTokens();
                Generator.Result r = chat.send(userMessage(line, first ? imageCount : 0, template), cfg,
                        json ? null : (s, t, text) -> out.print(text));
                first = false;
                finish(out, chat.lastPrompt(), r, before, chat.cachedTokens());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One prompt of a {@code --prompts} file: its line (1-based), its text, its own images (a JSON line's
     * {@code image} / {@code images}; empty: {@code --image}'s), or why the line cannot be read.
     */
    record PromptLine(int line, String prompt, List<Path> images, String error) {}

    /**
     * The non-blank lines of {@code file} ('-': stdin), UTF-8: each a prompt, or for a {@code .jsonl} /
     * {@code .ndjson} file a JSON object {@code {"prompt": TEXT, "image": PATH}} ({@code "images": [PATH, ...]};
     * relative paths from the file's folder).
     */
    static List<PromptLine> readPrompts(String file) {
        List<String> raw = new ArrayList<>();
        try (BufferedReader in = file.equals("-")
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                raw.add(line);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("prompts file not found: " + file);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
        String lower = file.toLowerCase(java.util.Locale.ROOT);
        boolean json = lower.endsWith(".jsonl") || lower.endsWith(".ndjson");
        Path base = file.equals("-") ? Path.of("") : Path.of(file).toAbsolutePath().getParent();
        List<PromptLine> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            String line = raw.get(i);
            if (line.isBlank()) {
                continue;
            }
            out.add(json ? jsonLine(i + 1, line, base) : new PromptLine(i + 1, line, List.of(), null));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + ": no prompts (every line is blank)");
        }
        return out;
    }

    private static PromptLine jsonLine(int n, String line, Path base) {
        String why = "a JSON object with a string \"prompt\" and optionally \"image\": PATH or \"images\": [PATH, ...]";
        com.fasterxml.jackson.databind.JsonNode o;
        try {
            o = JSON.readTree(line);
        } catch (IOException e) {
            return new PromptLine(n, line, List.of(), "line " + n + ": not JSON (" + why + ")");
        }
        if (o == null || !o.isObject() || !o.path("prompt").isTextual()) {
            return new PromptLine(n, line, List.of(), "line " + n + ": not " + why);
        }
        List<Path> imgs = new ArrayList<>();
        com.fasterxml.jackson.databind.JsonNode one = o.get("image");
        com.fasterxml.jackson.databind.JsonNode many = o.get("images");
        if (one != null && !one.isNull()) {
            if (!one.isTextual()) {
                return new PromptLine(n, o.get("prompt").asText(), List.of(), "line " + n + ": \"image\" must be a path");
            }
            imgs.add(base.resolve(one.asText()));
        }
        if (many != null && !many.isNull()) {
            if (!many.isArray()) {
                return new PromptLine(n, o.get("prompt").asText(), List.of(), "line " + n + ": \"images\" must be a list"
                        + " of paths");
            }
            for (com.fasterxml.jackson.databind.JsonNode p : many) {
                if (!p.isTextual()) {
                    return new PromptLine(n, o.get("prompt").asText(), List.of(), "line " + n + ": \"images\" must be"
                            + " a list of paths");
                }
                imgs.add(base.resolve(p.asText()));
            }
        }
        return new PromptLine(n, o.get("prompt").asText(), List.copyOf(imgs), null);
    }

    /** How a prompt line becomes a turn ({@link IllegalArgumentException}: that line's error). */
    @FunctionalInterface
    interface TurnMaker {
        ChatBatch.Turn make(PromptLine line);
    }

    /**
     * Every prompt line as its own one-turn chat through {@link ChatBatch}, a JSON line each in order; returns 2
     * when a prompt was refused (after printing every line, the refused ones with their error).
     */
    @SuppressWarnings("try") // the chunk's scope frees the lines' image features
    private int answerAll(Generator gen, GenerationConfig cfg, PrintStream out, List<PromptLine> lines,
            TurnMaker maker) {
        ChatBatch chats = new ChatBatch(gen, batch);
        int refused = 0;
        int chunk = Math.max(batch * 8, 64); // lines sorted into batches together; output streams per chunk
        for (int c = 0; c < lines.size(); c += chunk) {
            List<PromptLine> part = lines.subList(c, Math.min(lines.size(), c + chunk));
            String[] errors = new String[part.size()];
            ChatBatch.Reply[] replies = new ChatBatch.Reply[part.size()];
            try (Scope scope = Tessera.scope()) {
                List<Integer> at = new ArrayList<>();
                List<ChatBatch.Turn> turns = new ArrayList<>();
                for (int j = 0; j < part.size(); j++) {
                    PromptLine pl = part.get(j);
                    errors[j] = pl.error();
                    if (errors[j] != null) {
                        continue;
                    }
                    try {
                        turns.add(maker.make(pl));
                        at.add(j);
                    } catch (IllegalArgumentException e) {
                        errors[j] = e.getMessage(); // e.g. an image that does not decode
                    }
                }
                List<ChatBatch.Reply> got = chats.answer(turns, cfg);
                for (int t = 0; t < got.size(); t++) {
                    replies[at.get(t)] = got.get(t);
                }
            }
            for (int j = 0; j < part.size(); j++) {
                ObjectNode o = JSON.createObjectNode();
                o.put("line", part.get(j).line());
                o.put("prompt", part.get(j).prompt());
                ChatBatch.Reply r = replies[j];
                if (r != null && r.ok()) {
                    o.putPOJO("tokens", r.result().tokens());
                    o.put("text", r.result().text());
                    o.put("finish", r.result().finish().name().toLowerCase(java.util.Locale.ROOT));
                } else {
                    o.put("error", r != null ? r.error().getMessage() : errors[j]);
                    refused++;
                }
                try {
                    out.println(JSON.writeValueAsString(o));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        if (refused > 0) {
            System.err.println("error: " + refused + " of " + lines.size() + " prompts refused (the \"error\" of their"
                    + " JSON lines)");
            return 2;
        }
        return 0;
    }

    private ChatTemplate.Message userMessage(String text, int imageCount, ChatTemplate template) {
        if (imageCount == 0) {
            return ChatTemplate.Message.user(text);
        }
        return LlavaChat.userMessage(text, imageCount, template);
    }

    void finish(PrintStream out, int[] promptIds, Generator.Result r, int cachedBefore, int cachedAfter) {
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.putPOJO("prompt_tokens", promptIds);
            o.putPOJO("tokens", r.tokens());
            o.put("text", r.text());
            o.put("finish", r.finish().name().toLowerCase(java.util.Locale.ROOT));
            if (cachedBefore >= 0) {
                o.put("cached_tokens_before", cachedBefore);
            }
            o.put("cached_tokens", cachedAfter);
            try {
                out.println(JSON.writeValueAsString(o));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            out.println();
        }
    }
}
