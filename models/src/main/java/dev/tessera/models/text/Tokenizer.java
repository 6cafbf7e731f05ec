package dev.tessera.models.text;

import dev.tessera.runtime.io.JsonFiles;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's binding of the Rust {@code tokenizers} library (its
 * native library ships inside the DJL jar: nothing is downloaded). No padding and no truncation happen here:
 * models pad batches themselves and check lengths against their context with a clear error.
 */
public final class Tokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        // DJL reports each JVM that loads a tokenizer on an EC2 host to its telemetry service unless told not to
        // (https://docs.djl.ai/master/docs/telemetry.html). A library does not phone home on its users' behalf:
        // opted out unless the user set OPT_OUT_TRACKING either way.
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private final HuggingFaceTokenizer tok;
    private final Path source;
    /** The Rust tokenizer is freed by close(): a close while another thread encodes waits for that encode. */
    private final dev.tessera.models.nn.UseGuard guard;

    private Tokenizer(HuggingFaceTokenizer tok, Path source) {
        this.tok = tok;
        this.source = source;
        this.guard = new dev.tessera.models.nn.UseGuard("tokenizer " + source);
    }

    /**
     * The {@code model_max_length} of {@code dir}'s {@code tokenizer_config.json} (transformers' truncation length for
     * {@code truncation=True}), capped at {@code positions}, never below 2; {@code -1} without such a file or key. A
     * tokenizer without a limit saves 1e30 there, which reads as {@code positions}.
     */
    public static int modelMaxLength(Path dir, int positions) {
        Path tc = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(tc)) {
            return -1;
        }
        dev.tessera.models.nn.HfConfig c = dev.tessera.models.nn.HfConfig.read(tc);
        if (!c.has("model_max_length")) {
            return -1;
        }
        double m = c.getDouble("model_max_length", positions);
        return m >= positions ? positions : Math.max(2, (int) m);
    }

    /** Loads {@code path}: a {@code tokenizer.json} file, or a directory that holds one. */
    public static Tokenizer load(Path path) {
        Path f = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("no tokenizer file: " + f);
        }
        Map<String, String> opts = new HashMap<>();
        opts.put("addSpecialTokens", "true");
        opts.put("truncation", "false");
        opts.put("padding", "false");
        opts.put("maxLength", String.valueOf(Integer.MAX_VALUE / 2));
        opts.put("modelMaxLength", String.valueOf(Integer.MAX_VALUE / 2));
        byte[] json = canonicalJson(f);
        try {
            return new Tokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), opts), f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + f + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a valid tokenizer.json: " + f + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file as well-formed JSON, parsed and written again by Jackson before the Rust library sees it. The
     * {@code tokenizers} library (0.21, in DJL 0.38) panics instead of failing on a syntax error inside the
     * normalizer, pre-tokenizer, post-processor or decoder sections, and a panic across DJL's JNI aborts the
     * JVM: a truncated or hand-damaged tokenizer.json must be an exception here instead.
     */
    private static byte[] canonicalJson(Path f) {
        try {
            JsonNode tree = JSON.readTree(Files.readAllBytes(f));
            if (tree == null || !tree.isObject()) {
                throw new IllegalArgumentException("not a valid tokenizer.json: " + f + ": not a JSON object");
            }
            String problem = panicProblem(tree);
            if (problem != null) {
                throw new IllegalArgumentException("not a valid tokenizer.json: " + f + ": " + problem);
            }
            return JSON.writeValueAsBytes(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a valid tokenizer.json: " + f + ": " + JsonFiles.describe(e), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + f + ": " + e.getMessage(), e);
        }
    }

    public Path source() {
        return source;
    }

    /** Token ids of {@code text}, with the tokenizer's special tokens (e.g. [CLS] … [SEP]) when asked. */
    public int[] encode(String text, boolean addSpecialTokens) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        return toInts(encoding(text, addSpecialTokens).getIds());
    }

    /** Token ids and type ids (segment ids, for BERT pairs) of {@code text} with special tokens. */
    public Encoded encodeFull(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        Encoding e = encoding(text, true);
        return new Encoded(toInts(e.getIds()), toInts(e.getTypeIds()), e.getTokens());
    }

    /** The library's encoding; its errors (a vocabulary without its unknown token, ...) as IllegalArgumentException. */
    private Encoding encoding(String text, boolean addSpecialTokens) {
        try (var use = guard.enter()) { // IllegalStateException when closed
            try {
                return tok.encode(text, addSpecialTokens, false);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(source + " cannot encode the text: " + e.getMessage(), e);
            }
        }
    }

    /** The text of {@code ids}, without special tokens when {@code skipSpecialTokens}. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        try (var use = guard.enter()) {
            try {
                return tok.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(source + " cannot decode the ids: " + e.getMessage(), e);
            }
        }
    }

    /** The id of a token string (e.g. {@code "<|endoftext|>"}), or -1 when the vocabulary lacks it. */
    public int tokenToId(String token) {
        Encoding e;
        try (var use = guard.enter()) {
            try {
                e = tok.encode(new String[] {token}, false, false);
            } catch (RuntimeException ex) {
                throw new IllegalArgumentException(source + " cannot encode the token: " + ex.getMessage(), ex);
            }
        }
        long[] ids = e.getIds();
        String[] toks = e.getTokens();
        return ids.length == 1 && token.equals(toks[0]) ? (int) ids[0] : -1;
    }

    @Override
    public void close() {
        if (guard.close()) {
            tok.close();
        }
    }

    private int[] toInts(long[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            if (a[i] < 0 || a[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(source + " gives the token id " + a[i]
                        + ", beyond the int range of model vocabularies");
            }
            out[i] = (int) a[i];
        }
        return out;
    }

    /**
     * What the Rust library would panic on (a panic aborts the JVM) rather than report, found by fuzzing it
     * ({@code DamagedCheckpointsFuzzTest}): a TemplateProcessing post-processor (anywhere in the tree, e.g. inside
     * a Sequence, typed or not) whose {@code single} or {@code pair} template names a special token its
     * {@code special_tokens} map lacks, or a special token whose {@code ids} and {@code tokens} differ in length
     * (both at the first encode); a BPE model with a {@code continuing_subword_prefix} one of whose merges has a
     * right part without that prefix (at load); a {@code Precompiled} normalizer (SentencePiece's) without a
     * canonical base64 {@code precompiled_charsmap} (at load), or with a map the library would index out of range
     * ({@link PrecompiledCharsmap}, at the first encode). Null when there is none.
     */
    private static String panicProblem(JsonNode n) {
        if (n.isObject() && "Precompiled".equals(n.path("type").textValue())) {
            // any error in this normalizer, at load or at the first encode, is a panic: the map must be well formed
            JsonNode text = n.path("precompiled_charsmap");
            if (!text.isTextual()) {
                return "the Precompiled normalizer has no precompiled_charsmap string";
            }
            byte[] map;
            try {
                map = java.util.Base64.getDecoder().decode(text.textValue());
            } catch (IllegalArgumentException e) {
                return "normalizer precompiled_charsmap is not base64: " + e.getMessage();
            }
            if (!java.util.Base64.getEncoder().encodeToString(map).equals(text.textValue())) {
                return "normalizer precompiled_charsmap is not canonical base64 (padding, trailing bits)";
            }
            String p = PrecompiledCharsmap.problem(map);
            if (p != null) {
                return "normalizer precompiled_charsmap: " + p;
            }
        }
        if (n.isObject() && n.path("continuing_subword_prefix").isTextual() && n.path("merges").isArray()) {
            String prefix = n.path("continuing_subword_prefix").textValue();
            for (JsonNode m : n.path("merges")) {
                String right = m.isArray() && m.size() == 2 ? m.get(1).asText()
                        : m.isTextual() && m.textValue().indexOf(' ') >= 0
                                ? m.textValue().substring(m.textValue().indexOf(' ') + 1) : null;
                if (right != null && !right.startsWith(prefix)) {
                    return "BPE merge " + m + ": \"" + right + "\" lacks the continuing_subword_prefix \"" + prefix
                            + "\"";
                }
            }
        }
        // by shape, not by "type": the library also reads an object without a (valid) type as whichever kind fits
        if (n.isObject() && (n.has("single") || n.has("pair") || n.has("special_tokens"))) {
            JsonNode special = n.path("special_tokens");
            for (java.util.Iterator<Map.Entry<String, JsonNode>> it = special.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode ids = e.getValue().path("ids");
                JsonNode toks = e.getValue().path("tokens");
                if (ids.isArray() && toks.isArray() && ids.size() != toks.size()) {
                    return "post_processor special token \"" + e.getKey() + "\" has " + ids.size() + " ids but "
                            + toks.size() + " tokens";
                }
            }
            for (String t : new String[] {"single", "pair"}) {
                for (JsonNode piece : n.path(t)) {
                    JsonNode id = piece.path("SpecialToken").path("id");
                    if (id.isTextual() && !special.has(id.textValue())) {
                        return "post_processor template \"" + t + "\" uses the special token \"" + id.textValue()
                                + "\", which its special_tokens do not define";
                    }
                }
            }
        }
        for (JsonNode c : n) {
            String p = panicProblem(c);
            if (p != null) {
                return p;
            }
        }
        return null;
    }

    /** One encoded text: ids, segment (type) ids and token strings. */
    public record Encoded(int[] ids, int[] typeIds, String[] tokens) {}
}
