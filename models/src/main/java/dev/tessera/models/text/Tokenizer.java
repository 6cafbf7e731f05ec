package dev.tessera.models.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
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
    private final HuggingFaceTokenizer tok;
    private final Path source;

    private Tokenizer(HuggingFaceTokenizer tok, Path source) {
        this.tok = tok;
        this.source = source;
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
        try {
            return new Tokenizer(HuggingFaceTokenizer.newInstance(f, opts), f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + f + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a valid tokenizer.json: " + f + ": " + e.getMessage(), e);
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
        Encoding e = tok.encode(text, addSpecialTokens, false);
        return toInts(e.getIds());
    }

    /** Token ids and type ids (segment ids, for BERT pairs) of {@code text} with special tokens. */
    public Encoded encodeFull(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        Encoding e = tok.encode(text, true, false);
        return new Encoded(toInts(e.getIds()), toInts(e.getTypeIds()), e.getTokens());
    }

    /** The text of {@code ids}, without special tokens when {@code skipSpecialTokens}. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return tok.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    /** The id of a token string (e.g. {@code "<|endoftext|>"}), or -1 when the vocabulary lacks it. */
    public int tokenToId(String token) {
        Encoding e = tok.encode(new String[] {token}, false, false);
        long[] ids = e.getIds();
        String[] toks = e.getTokens();
        return ids.length == 1 && token.equals(toks[0]) ? (int) ids[0] : -1;
    }

    @Override
    public void close() {
        tok.close();
    }

    private static int[] toInts(long[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = Math.toIntExact(a[i]);
        }
        return out;
    }

    /** One encoded text: ids, segment (type) ids and token strings. */
    public record Encoded(int[] ids, int[] typeIds, String[] tokens) {}
}
