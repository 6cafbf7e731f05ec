package dev.tessera.models.bert;

import dev.tessera.models.hub.ModelResolver;
import dev.tessera.models.nn.HfConfig;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.onnx.OnnxModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sentence embeddings the sentence-transformers way: tokenize ({@code tokenizer.json}), run a {@link BertModel},
 * pool the last hidden state ({@link Pooling}: mean over the real, non-padding tokens by default; the {@code [CLS]}
 * state, the maximum, the sum over the square root of the length, the position-weighted mean, the last token, or
 * several of them concatenated) and L2-normalise. The model directory's {@code modules.json} and
 * {@code 1_Pooling/config.json} choose pooling and normalisation as in sentence-transformers (see
 * {@link Pooling.Setup#read}); {@link #withPooling} overrides them.
 * <pre>{@code
 * try (var enc = SentenceEncoder.load("minilm")) {
 *     float[][] e = enc.embed(List.of("a cat sits on the mat", "a kitten rests on a rug"));
 *     float sim = SentenceEncoder.cosine(e[0], e[1]);
 * }
 * }</pre>
 * Texts of different lengths are batched together with padding (sorted by length so that a batch holds similar
 * lengths; results come back in input order). A text longer than {@link #maxLength()} word pieces is truncated
 * to it, keeping {@code [CLS]} ... {@code [SEP]}, as sentence-transformers does: the limit is the model
 * directory's {@code sentence_bert_config.json} {@code max_seq_length}, else {@code min(max_position_embeddings,
 * model_max_length)} of {@code tokenizer_config.json} as sentence-transformers derives it (all the positions without
 * one; {@value #DEFAULT_MAX_LENGTH} for a bare ONNX file); change it with {@link #withMaxLength(int)}.
 *
 * <p>Model specs ({@link #load(String)}): a directory, {@code maven:GROUP:ARTIFACT:VERSION} or an alias such as
 * {@code minilm} (see {@link ModelResolver}). A directory holds {@code config.json} + safetensors (Hugging Face
 * layout) or one {@code *.onnx} file (imported, see {@link BertOnnxImport}), and a {@code tokenizer.json} (or one
 * {@code *tokenizer*.json}).
 */
public final class SentenceEncoder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SentenceEncoder.class);
    /** The default truncation length (sentence-transformers' {@code max_seq_length} of all-MiniLM-L6-v2). */
    public static final int DEFAULT_MAX_LENGTH = 256;
    /** Texts per forward pass in {@link #embed(List)}. */
    public static final int DEFAULT_BATCH_SIZE = 32;

    private final BertModel model;
    private final Tokenizer tokenizer;
    private final int maxLength;
    private final Pooling.Setup pooling;
    private final boolean owner;
    /** sentence_bert_config.json's do_lower_case: texts lowercased before the tokenizer sees them. */
    private final boolean lowerCase;

    private SentenceEncoder(BertModel model, Tokenizer tokenizer, int maxLength, Pooling.Setup pooling,
            boolean owner) {
        this(model, tokenizer, maxLength, pooling, owner, false);
    }

    private SentenceEncoder(BertModel model, Tokenizer tokenizer, int maxLength, Pooling.Setup pooling,
            boolean owner, boolean lowerCase) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.pooling = pooling;
        this.owner = owner;
        this.lowerCase = lowerCase;
    }

    /** Loads {@code spec} (directory, {@code maven:G:A:V} or alias) on the default device. */
    public static SentenceEncoder load(String spec) {
        return load(spec, Tessera.defaultDevice());
    }

    /** Loads {@code spec} (directory, {@code maven:G:A:V} or alias) on {@code device}. */
    public static SentenceEncoder load(String spec, Device device) {
        return load(ModelResolver.resolveDefault(spec), device);
    }

    /**
     * Loads {@code spec} on {@code device} with the encoder's projections held as {@code storage} on the CPU:
     * {@link DType#BF16} or {@link DType#I8} (half or a quarter of their memory, F32 arithmetic; see
     * {@link BertModel#load(dev.tessera.models.nn.TensorSource, BertConfig, Device, DType)}); null or F32: as loaded.
     */
    public static SentenceEncoder load(String spec, Device device, DType storage) {
        return load(ModelResolver.resolveDefault(spec), device, storage);
    }

    /**
     * Loads {@code spec} on the CPU with the encoder quantized for dynamic INT8 ({@link BertModel#loadQuantized}: int8
     * weights per output feature, activations quantized to uint8 token by token, exact int32 products): about twice
     * the sentences per second of F32 on an AVX-512 VNNI CPU, embeddings within cosine ~0.998 of F32 on average.
     */
    public static SentenceEncoder loadQuantized(String spec, Device device) {
        return load(spec, device, null, true);
    }

    /** Loads {@code spec} as {@link #load(String, Device, DType)} does, or quantized for dynamic INT8 ({@link #loadQuantized}). */
    public static SentenceEncoder load(String spec, Device device, DType storage, boolean quantize) {
        return load(ModelResolver.resolveDefault(spec), device, storage, quantize);
    }

    /** Loads a model directory on {@code device}. */
    public static SentenceEncoder load(Path dir, Device device) {
        return load(dir, device, null);
    }

    /** Loads a model directory on {@code device}, the projections held as {@code storage} on the CPU (BF16 / I8). */
    public static SentenceEncoder load(Path dir, Device device, DType storage) {
        return load(dir, device, storage, false);
    }

    /** As {@link #load(Path, Device, DType)}, or quantized for dynamic INT8 ({@link #loadQuantized}). */
    public static SentenceEncoder load(Path dir, Device device, DType storage, boolean quantize) {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a model directory: " + dir);
        }
        Pooling.Setup pooling = Pooling.Setup.read(dir);
        Path tdir = Pooling.transformerDir(dir); // 0_Transformer/ in older sentence-transformers saves
        Path tokFile;
        try {
            tokFile = findTokenizer(tdir);
        } catch (IllegalArgumentException e) {
            if (tdir.equals(dir)) {
                throw e;
            }
            tokFile = findTokenizer(dir); // the tokenizer beside modules.json
        }
        Tokenizer tok = Tokenizer.load(tokFile);
        BertModel model;
        try {
            model = loadModel(tdir, device, storage, quantize);
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
        int width = pooling.pooledWidth(model.config().hiddenSize());
        for (DenseLayer d : pooling.dense()) { // the Dense chain must fit the model before any text is embedded
            if (d.in() != width) {
                model.close();
                tok.close();
                throw new IllegalArgumentException(dir + ": a Dense module takes " + d.in() + " values but receives "
                        + width + " (the model's hidden size or the previous module's output)");
            }
            width = d.out();
        }
        int max;
        boolean lower = false;
        try {
            max = defaultMaxLength(tdir, model);
        } catch (RuntimeException e) {
            model.close();
            tok.close();
            throw e;
        }
        Path sb = Files.isRegularFile(dir.resolve("sentence_bert_config.json")) ? dir.resolve("sentence_bert_config.json")
                : tdir.resolve("sentence_bert_config.json");
        if (Files.isRegularFile(sb)) {
            try {
                HfConfig c = HfConfig.read(sb);
                int seq = c.getInt("max_seq_length", max); // null: the default above, as sentence-transformers
                if (seq < 2) { // [CLS] and [SEP] at least, as checkMax asks of --max-length
                    throw new IllegalArgumentException(sb + ": max_seq_length " + seq + " leaves no room for a token"
                            + " (need >= 2)");
                }
                max = Math.min(model.config().maxTokens(), seq);
                lower = c.getBoolean("do_lower_case", false);
            } catch (RuntimeException e) {
                model.close();
                tok.close();
                throw e;
            }
        }
        LOG.debug("sentence encoder {} on {}: {} max {} tokens, pooling {}{}", dir, device, model.config(), max, pooling,
                lower ? ", texts lowercased" : "");
        return new SentenceEncoder(model, tok, max, pooling, true, lower);
    }

    /** An encoder over an existing model and tokenizer (not closed by this encoder), mean pooling, normalised. */
    public static SentenceEncoder of(BertModel model, Tokenizer tokenizer, int maxLength) {
        checkMax(maxLength, model);
        return new SentenceEncoder(model, tokenizer, maxLength, Pooling.Setup.DEFAULT, false);
    }

    /**
     * An encoder of token ids only ({@link #embedIds}) over an existing model (not closed by this encoder): mean
     * pooling, normalised, truncation length {@code min(max_position_embeddings, }{@value #DEFAULT_MAX_LENGTH}{@code )};
     * no tokenizer, so {@link #tokenize} and the text methods throw and {@link #tokenizer()} is null. For hosts
     * without the tokenizer's native library (the GPU bundle).
     */
    public static SentenceEncoder forTokenIds(BertModel model) {
        if (model == null) {
            throw new IllegalArgumentException("model must not be null");
        }
        return new SentenceEncoder(model, null, Math.min(model.config().maxTokens(), DEFAULT_MAX_LENGTH),
                Pooling.Setup.DEFAULT, false);
    }

    /** The BERT encoder of a model directory: HF safetensors (with config.json) or the one ONNX file. */
    public static BertModel loadModel(Path dir, Device device) {
        return loadModel(dir, device, null);
    }

    /** As {@link #loadModel(Path, Device)} with the projections held as {@code storage} on the CPU (BF16 / I8). */
    public static BertModel loadModel(Path dir, Device device, DType storage) {
        return loadModel(dir, device, storage, false);
    }

    /** As {@link #loadModel(Path, Device, DType)}, or quantized for dynamic INT8 ({@link BertModel#loadQuantized}). */
    public static BertModel loadModel(Path dir, Device device, DType storage, boolean quantize) {
        boolean hf = Files.isRegularFile(dir.resolve("config.json"))
                && (Files.isRegularFile(dir.resolve("model.safetensors"))
                        || Files.isRegularFile(dir.resolve("model.safetensors.index.json")));
        if (hf) {
            return BertModel.fromSafetensors(dir, device, storage, quantize);
        }
        List<Path> onnx = list(dir, ".onnx");
        if (onnx.size() > 1) {
            List<Path> fp = onnx.stream().filter(p -> !p.getFileName().toString().matches(".*(-q|_quant.*|-int8)\\.onnx"))
                    .toList();
            onnx = fp.size() == 1 ? fp : onnx;
        }
        if (onnx.size() != 1) {
            throw new IllegalArgumentException(dir + ": expected config.json + model.safetensors or exactly one .onnx"
                    + " file, found " + (onnx.isEmpty() ? "neither" : onnx));
        }
        return BertModel.fromOnnx(OnnxModel.read(onnx.get(0)), null, device, storage, quantize);
    }

    /**
     * The truncation length when {@code sentence_bert_config.json} names none, as sentence-transformers' Transformer
     * module derives it: {@code min(max_position_embeddings, model_max_length)} of {@code tokenizer_config.json}
     * (the positions a RoBERTa-style offset leaves); without a {@code tokenizer_config.json}, all the positions for a
     * Hugging Face directory, and {@value #DEFAULT_MAX_LENGTH} (all-MiniLM-L6-v2's) for a bare ONNX file such as a
     * langchain4j jar's.
     */
    private static int defaultMaxLength(Path tdir, BertModel model) {
        int positions = model.config().maxTokens();
        int m = Tokenizer.modelMaxLength(tdir, positions);
        if (m > 0) {
            return m;
        }
        return Files.isRegularFile(tdir.resolve("config.json")) ? positions : Math.min(positions, DEFAULT_MAX_LENGTH);
    }

    private static Path findTokenizer(Path dir) {
        Path t = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(t)) {
            return t;
        }
        List<Path> c = list(dir, ".json").stream().filter(p -> p.getFileName().toString().contains("tokenizer"))
                .filter(p -> !p.getFileName().toString().contains("tokenizer_config")).toList();
        if (c.size() != 1) {
            throw new IllegalArgumentException(dir + ": no tokenizer.json" + (c.isEmpty() ? "" : " (several candidates: "
                    + c + ")"));
        }
        return c.get(0);
    }

    private static List<Path> list(Path dir, String suffix) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private static void checkMax(int maxLength, BertModel model) {
        if (maxLength < 2 || maxLength > model.config().maxTokens()) {
            throw new IllegalArgumentException("maxLength must be in [2, " + model.config().maxTokens() + "], got "
                    + maxLength);
        }
    }

    /** This encoder with another truncation length (sharing model and tokenizer; only the original closes them). */
    public SentenceEncoder withMaxLength(int maxLength) {
        checkMax(maxLength, model);
        return new SentenceEncoder(model, tokenizer, maxLength, pooling, false, lowerCase);
    }

    /**
     * This encoder with another pooling and normalisation, its Dense modules kept (sharing model and tokenizer, as
     * {@link #withMaxLength}).
     */
    public SentenceEncoder withPooling(Pooling mode, boolean normalize) {
        if (mode == null) {
            throw new IllegalArgumentException("pooling must not be null");
        }
        return withPooling(List.of(mode), normalize);
    }

    /**
     * This encoder with several pooling modes, their vectors concatenated in the given order (as a
     * sentence-transformers 6 Pooling module with a list of modes), and the given normalisation. The model's Dense
     * modules are kept only when they take the concatenated width.
     */
    public SentenceEncoder withPooling(List<Pooling> modes, boolean normalize) {
        if (modes == null || modes.isEmpty() || modes.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("pooling modes must be given, none null");
        }
        Pooling.Setup setup = new Pooling.Setup(modes, normalize, pooling.dense());
        if (!setup.dense().isEmpty()
                && setup.dense().get(0).in() != setup.pooledWidth(model.config().hiddenSize())) {
            throw new IllegalArgumentException("pooling " + setup.modes() + " gives " + setup.pooledWidth(
                    model.config().hiddenSize()) + " values; the model's first Dense module takes "
                    + setup.dense().get(0).in());
        }
        return new SentenceEncoder(model, tokenizer, maxLength, setup, false, lowerCase);
    }

    /** How token states become the embedding, and whether it is normalised. */
    public Pooling.Setup pooling() {
        return pooling;
    }

    public int maxLength() {
        return maxLength;
    }

    /** Width of the embeddings (the model's width, or the last Dense module's output). */
    public int dimension() {
        return pooling.width(model.config().hiddenSize());
    }

    public BertModel model() {
        return model;
    }

    /** The tokenizer; null for an encoder of token ids ({@link #forTokenIds}). */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Token ids of {@code text} with special tokens, truncated to {@link #maxLength()} (the last id kept). */
    public int[] tokenize(String text) {
        if (tokenizer == null) {
            throw new IllegalStateException("this encoder has no tokenizer (SentenceEncoder.forTokenIds): give token"
                    + " ids to embedIds");
        }
        // sentence-transformers' Transformer module: text.strip(), then text.lower() when do_lower_case (full Unicode
        // case mapping in both; the strip matters to byte-level BPE tokenizers, where " a" and "a" differ)
        String t = text == null ? null : dev.tessera.models.text.PyStrings.strip(text);
        int[] ids = tokenizer.encode(lowerCase && t != null ? t.toLowerCase(Locale.ROOT) : t, true);
        if (ids.length > maxLength) {
            int last = ids[ids.length - 1];
            ids = Arrays.copyOf(ids, maxLength);
            ids[maxLength - 1] = last;
        }
        return ids;
    }

    /** Embeddings (pooled and normalised as {@link #pooling()} says), one row per text, in input order. */
    public float[][] embed(List<String> texts) {
        return embed(texts, DEFAULT_BATCH_SIZE);
    }

    /** As {@link #embed(List)} with {@code batchSize} texts per forward pass. */
    public float[][] embed(List<String> texts, int batchSize) {
        if (texts == null) {
            throw new IllegalArgumentException("texts must not be null");
        }
        List<int[]> ids = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null) {
                throw new IllegalArgumentException("text " + i + " is null");
            }
            ids.add(tokenize(t));
        }
        return embedIds(ids, batchSize);
    }

    /** The embedding of one text. */
    public float[] embed(String text) {
        return embed(List.of(text))[0];
    }

    /**
     * Embeddings of already tokenized texts (ids with special tokens, at most {@code max_position_embeddings}
     * long, not truncated here), batched {@code batchSize} at a time by similar length.
     */
    public float[][] embedIds(List<int[]> ids, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        int n = ids.size();
        float[][] out = new float[n][];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            int[] t = ids.get(i);
            if (t == null || t.length == 0) {
                throw new IllegalArgumentException("token ids " + i + " are empty");
            }
            if (t.length > model.config().maxTokens()) {
                throw new IllegalArgumentException("token ids " + i + " have " + t.length + " tokens, more than the"
                        + " model's " + model.config().maxTokens() + " positions");
            }
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> ids.get(i).length));
        for (int start = 0; start < n; start += batchSize) {
            int end = Math.min(n, start + batchSize);
            List<int[]> batch = new ArrayList<>(end - start);
            for (int j = start; j < end; j++) {
                batch.add(ids.get(order[j]));
            }
            float[][] e = embedBatch(batch);
            for (int j = start; j < end; j++) {
                out[order[j]] = e[j - start];
            }
        }
        return out;
    }

    /** Pads {@code batch} to its longest, runs the model and pools; rows in batch order. */
    @SuppressWarnings("try")
    private float[][] embedBatch(List<int[]> batch) {
        int b = batch.size();
        int s = batch.stream().mapToInt(a -> a.length).max().orElse(1);
        int[] flat = new int[b * s];
        int[] mask = new int[b * s];
        for (int i = 0; i < b; i++) {
            int[] t = batch.get(i);
            System.arraycopy(t, 0, flat, i * s, t.length);
            Arrays.fill(mask, i * s, i * s + t.length, 1);
        }
        int h = model.config().hiddenSize();
        boolean padded = batch.stream().anyMatch(a -> a.length != s);
        List<Pooling> modes = pooling.modes();
        float[][] pooled = new float[modes.size()][]; // per mode [B, H]
        try (Scope ignored = Tessera.scope()) {
            Device dev = model.device();
            Tensor ids = Tensor.ofInts(flat, dev, b, s);
            Tensor hidden = model.forward(ids, padded ? Tensor.ofInts(mask, dev, b, s) : null, null); // [B, S, H]
            float[] host = modes.contains(Pooling.MAX) || modes.contains(Pooling.LAST_TOKEN) ? hidden.toFloatArray()
                    : null;
            for (int m = 0; m < modes.size(); m++) {
                Pooling mode = modes.get(m);
                pooled[m] = switch (mode) {
                    case CLS -> hidden.slice(1, 0, 1).contiguous().toFloatArray(); // [B, 1, H]
                    case MAX -> maxOverTokens(host, batch, s, h);
                    case LAST_TOKEN -> lastTokens(host, batch, s, h);
                    // one batched product: weights [B, 1, S] (0 on padding) · hidden
                    case MEAN, MEAN_SQRT_LEN, WEIGHTED_MEAN ->
                        Ops.matmul(Tensor.of(tokenWeights(mode, batch, s), dev, b, 1, s), hidden).toFloatArray();
                };
            }
        }
        int w = h * modes.size();
        float[][] out = new float[b][w];
        for (int i = 0; i < b; i++) {
            for (int m = 0; m < modes.size(); m++) { // the modes' vectors side by side, as sentence-transformers
                System.arraycopy(pooled[m], i * h, out[i], m * h, h);
            }
        }
        for (DenseLayer d : pooling.dense()) { // the whole batch through each module
            out = d.apply(out);
        }
        if (pooling.normalize()) {
            for (float[] v : out) {
                double norm = 0;
                for (float x : v) {
                    norm += (double) x * x;
                }
                double inv = 1.0 / Math.max(Math.sqrt(norm), 1e-12);
                for (int c = 0; c < v.length; c++) {
                    v[c] = (float) (v[c] * inv);
                }
            }
        }
        return out;
    }

    /**
     * Each real token's weight in a weighted sum, [B, S]: {@code 1/len} (mean), {@code 1/sqrt(len)} (sum over the
     * square root of the length) or {@code (t+1) / (len (len+1) / 2)} (positions 1, 2, ... normalised: weighted mean).
     */
    private static float[] tokenWeights(Pooling mode, List<int[]> batch, int s) {
        float[] weights = new float[batch.size() * s];
        for (int i = 0; i < batch.size(); i++) {
            int len = batch.get(i).length;
            for (int t = 0; t < len; t++) {
                weights[i * s + t] = switch (mode) {
                    case MEAN -> (float) (1.0 / len);
                    case MEAN_SQRT_LEN -> (float) (1.0 / Math.sqrt(len));
                    case WEIGHTED_MEAN -> (float) ((t + 1) / (len * (len + 1) / 2.0));
                    default -> throw new IllegalArgumentException(mode + " is not a weighted sum");
                };
            }
        }
        return weights;
    }

    /** The state of each text's last real token, [B, H]. */
    private static float[] lastTokens(float[] hidden, List<int[]> batch, int s, int h) {
        float[] out = new float[batch.size() * h];
        for (int i = 0; i < batch.size(); i++) {
            System.arraycopy(hidden, (i * s + batch.get(i).length - 1) * h, out, i * h, h);
        }
        return out;
    }

    private static float[] maxOverTokens(float[] hidden, List<int[]> batch, int s, int h) {
        float[] out = new float[batch.size() * h];
        for (int i = 0; i < batch.size(); i++) {
            Arrays.fill(out, i * h, (i + 1) * h, Float.NEGATIVE_INFINITY);
            for (int t = 0; t < batch.get(i).length; t++) {
                for (int c = 0; c < h; c++) {
                    out[i * h + c] = Math.max(out[i * h + c], hidden[(i * s + t) * h + c]);
                }
            }
        }
        return out;
    }

    /** Cosine similarity of two vectors of the same length. */
    public static float cosine(float[] a, float[] b) {
        if (a == null || b == null || a.length != b.length) {
            throw new IllegalArgumentException("cosine needs two vectors of the same length");
        }
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        double d = Math.sqrt(na) * Math.sqrt(nb);
        return d == 0 ? 0f : (float) (dot / d);
    }

    /** The matrix of pairwise cosine similarities of {@code rows}. */
    public static float[][] cosineMatrix(float[][] rows) {
        int n = rows.length;
        float[][] m = new float[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                m[i][j] = m[j][i] = i == j ? 1f : cosine(rows[i], rows[j]);
            }
        }
        return m;
    }

    /** Closes the model and tokenizer when this encoder loaded them. */
    @Override
    public void close() {
        if (owner) {
            try {
                model.close();
            } finally {
                tokenizer.close();
            }
        }
    }
}
