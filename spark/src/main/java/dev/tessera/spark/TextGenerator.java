package dev.tessera.spark;

import dev.tessera.models.hub.ModelResolver;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A reply generated for each row's prompt by a Llama-style decoder, or by LLaVA from the prompt and the row's image,
 * appended as a string: each row is one user turn, rendered with the model's chat template (or taken as is with
 * {@link #setRaw}), answered as {@code tessera chat --model DIR PROMPT} answers it (the same tokens):
 * <pre>{@code
 * Dataset<Row> photos = spark.read().format("binaryFile").load("/data/photos")
 *         .withColumn("prompt", functions.lit("Describe this picture in one sentence."));
 * Dataset<Row> out = new TextGenerator().setModel("/models/llava-1.5-7b").setImageCol("content").setMaxTokens(60)
 *         .transform(photos).select("path", "generated");
 * }</pre>
 * Greedy decoding by default; {@link #setTemperature} and {@link #setSeed} sample (a row's reply depends only on its
 * prompt, image and the seed, not on which batch or partition it falls in). Options left unset come from the model's
 * {@code generation_config.json} as in {@code tessera chat}.
 */
public final class TextGenerator extends InferenceStage<TextGenerator> {
    private static final long serialVersionUID = 1L;
    private Integer maxTokens;
    private double temperature;
    private double topP = 1;
    private int topK;
    private Double repetitionPenalty;
    private long seed;
    private String system;
    private boolean raw;
    private String imageCol;
    private String dtype;

    /** Input {@code prompt}, output {@code generated}, greedy. */
    public TextGenerator() {
        super("prompt", "generated", 8);
    }

    /** New tokens at most (default: the model's generation_config.json, else {@value GenerationDefaults#DEFAULT_MAX_TOKENS}). */
    public TextGenerator setMaxTokens(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("max tokens must be >= 1, got " + n);
        }
        this.maxTokens = n;
        return this;
    }

    /** 0 (default): greedy; otherwise sampling at this temperature. */
    public TextGenerator setTemperature(double t) {
        if (!(t >= 0) || Double.isInfinite(t)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + t);
        }
        this.temperature = t;
        return this;
    }

    /** Nucleus sampling's mass, in (0, 1] (default 1: off). */
    public TextGenerator setTopP(double p) {
        if (!(p > 0 && p <= 1)) {
            throw new IllegalArgumentException("top p must be in (0, 1], got " + p);
        }
        this.topP = p;
        return this;
    }

    /** Sample among the k most likely tokens (default 0: off). */
    public TextGenerator setTopK(int k) {
        if (k < 0) {
            throw new IllegalArgumentException("top k must be >= 0 (0: off), got " + k);
        }
        this.topK = k;
        return this;
    }

    /** transformers' repetition penalty (default: the model's generation_config.json, else 1). */
    public TextGenerator setRepetitionPenalty(double p) {
        if (!(p > 0) || Double.isInfinite(p)) {
            throw new IllegalArgumentException("repetition penalty must be finite and > 0, got " + p);
        }
        this.repetitionPenalty = p;
        return this;
    }

    /** The sampling seed of every row (default 0). */
    public TextGenerator setSeed(long s) {
        this.seed = s;
        return this;
    }

    /** A system message before each prompt (default none; ignored with {@link #setRaw}). */
    public TextGenerator setSystemPrompt(String s) {
        this.system = s;
        return this;
    }

    /** Take the prompt as the model's whole input, without the chat template (default false). */
    public TextGenerator setRaw(boolean r) {
        this.raw = r;
        return this;
    }

    /** A binary column of encoded images, one per row, for a LLaVA model (null, the default: text only). */
    public TextGenerator setImageCol(String name) {
        if (name != null && name.isBlank()) {
            throw new IllegalArgumentException("image column name is empty");
        }
        this.imageCol = name;
        return this;
    }

    public String getImageCol() {
        return imageCol;
    }

    /**
     * {@code f32}, {@code bf16} or {@code int8} (null, the default: f32 on the CPU, bf16 on CUDA). On the CPU bf16
     * holds the model's matrices as bfloat16 (half the memory, faster decoding, still computed in f32) and int8 as
     * int8 with a scale per output feature (a quarter, faster still; the logits move by the quantization), as
     * {@code tessera chat --dtype}; on CUDA bf16 is the weights' and activations' type, int8 is refused when the
     * model loads. For LLaVA also {@code int8-dynamic} (CPU): the vision tower in dynamic INT8, the rest as int8; a
     * Llama decoder refuses it when it loads.
     */
    public TextGenerator setDType(String name) {
        if (name != null && !dynamicInt8(name)) {
            DType t = DType.parseStorage(name);
            if (t == DType.F16) {
                throw new IllegalArgumentException("dtype f16 is not offered for decoders: f32, bf16 or int8");
            }
        }
        this.dtype = name;
        return this;
    }

    public String getDType() {
        return dtype;
    }

    @Override
    protected DataType inputType() {
        return DataTypes.StringType;
    }

    @Override
    protected void checkOtherColumns(StructType input) {
        if (imageCol != null) {
            DataType t = input.fields()[fieldIndex(input, imageCol)].dataType();
            if (!t.equals(DataTypes.BinaryType)) {
                throw new IllegalArgumentException("image column '" + imageCol + "' is " + t.simpleString()
                        + "; it must hold encoded image files (binary)");
            }
        }
    }

    @Override
    protected List<StructField> outputFields() {
        return List.of(DataTypes.createStructField(getOutputCol(), DataTypes.StringType, true));
    }

    @Override
    @SuppressWarnings("try") // the batch's scope frees its tensors (image features, logits)
    protected BatchFunction batchFunction(StructType input) {
        String spec = getModel();
        int imageIdx = imageCol == null ? -1 : fieldIndex(input, imageCol);
        Integer budget = maxTokens;
        double temp = temperature;
        double p = topP;
        int k = topK;
        Double penalty = repetitionPenalty;
        long sd = seed;
        String sys = system;
        boolean asIs = raw;
        String dt = dtype;
        return (inputs, rows, names, device, values, errors) -> {
            Loaded m = ExecutorModels.get("decoder", spec, device, (asIs ? "raw" : "chat") + (dt == null ? "" : "/" + dt),
                    () -> Loaded.load(spec, device, asIs, dt == null || dynamicInt8(dt) ? null
                            : DType.parseStorage(dt), dynamicInt8(dt)));
            GenerationConfig cfg = new GenerationConfig(budget != null ? budget : m.defaults.maxNewTokens(), temp, k,
                    p, penalty != null ? penalty : m.defaults.repetitionPenalty(), sd, List.of(), List.of(), true,
                    budget != null ? 0 : m.defaults.maxLength());
            try (Scope scope = Tessera.scope()) {
                List<ChatBatch.Turn> turns = new ArrayList<>();
                List<Integer> at = new ArrayList<>();
                for (int i = 0; i < inputs.size(); i++) {
                    Object image = imageIdx >= 0 ? rows.get(i).get(imageIdx) : null;
                    ChatBatch.Turn t = m.turn((String) inputs.get(i), (byte[]) image, names.get(i), device, sys, errors,
                            i);
                    values[i] = new Object[] {null};
                    if (t != null) {
                        turns.add(t);
                        at.add(i);
                    }
                }
                // the batch's turns decoded together; each reply is the one a chat session alone gives
                List<ChatBatch.Reply> replies = new ChatBatch(m.generator, Math.max(1, turns.size())).answer(turns, cfg);
                for (int j = 0; j < replies.size(); j++) {
                    ChatBatch.Reply r = replies.get(j);
                    if (r.ok()) {
                        values[at.get(j)][0] = r.result().text();
                    } else {
                        errors[at.get(j)] = r.error().getMessage(); // e.g. a prompt longer than the context
                    }
                }
            }
        };
    }

    /** A decoder (or LLaVA) with its tokenizer, template and generation defaults. */
    private static final class Loaded implements AutoCloseable {
        final LlamaForCausalLM text;
        final LlavaForConditionalGeneration llava;
        final Tokenizer tokenizer;
        final ChatTemplate template;
        final GenerationDefaults defaults;
        final LlavaImageProcessor images;
        final Generator generator;

        private Loaded(LlamaForCausalLM text, LlavaForConditionalGeneration llava, Tokenizer tokenizer,
                ChatTemplate template, GenerationDefaults defaults, LlavaImageProcessor images) {
            this.text = text;
            this.llava = llava;
            this.tokenizer = tokenizer;
            this.template = template;
            this.defaults = defaults;
            this.images = images;
            this.generator = new Generator(llava != null ? llava.languageModel() : text, tokenizer);
        }

        static Loaded load(String spec, Device device, boolean raw, DType dtype, boolean dynamicVision) {
            Path dir = ModelResolver.resolveDefault(spec);
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IllegalArgumentException(dir + ": no config.json");
            }
            GenerationDefaults defaults = GenerationDefaults.read(dir);
            ChatTemplate template = raw ? null : ChatTemplate.load(dir);
            if (!raw && template == null) {
                throw new IllegalArgumentException(dir + " has no chat template (tokenizer_config.json chat_template,"
                        + " chat_template.jinja): setRaw(true) uses each prompt as is");
            }
            boolean isLlava = HfConfig.read(dir).getString("model_type", "llama").equals("llava");
            Tokenizer tok = Tokenizer.load(dir);
            try {
                if (isLlava) {
                    LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(dir, device, dtype,
                            dynamicVision);
                    return new Loaded(null, m, tok, template, defaults,
                            LlavaImageProcessor.load(dir, m.config().vision().imageSize()));
                }
                if (dynamicVision) {
                    throw new IllegalArgumentException("dtype int8-dynamic is for LLaVA's vision tower; " + dir
                            + " is a decoder alone (use int8)");
                }
                return new Loaded(LlamaForCausalLM.load(dir, device, dtype), null, tok, template, defaults, null);
            } catch (RuntimeException e) {
                tok.close();
                throw e;
            }
        }

        /**
         * The turn of one prompt (and image), or null with the reason in {@code errors[i]}; an image's features stay
         * in the caller's scope.
         */
        ChatBatch.Turn turn(String prompt, byte[] image, String name, Device device, String system, String[] errors,
                int i) {
            ChatSession.Backend backend;
            int imageCount = 0;
            if (llava != null) {
                Tensor features = null;
                if (image != null) {
                    String[] why = new String[1];
                    ImageBatch b = ImageBatch.of(List.of(image), List.of(name), images.preprocessor(), device, why);
                    if (b.pixels == null) {
                        errors[i] = why[0];
                        return null;
                    }
                    features = llava.imageFeatures(b.pixels);
                    imageCount = 1;
                }
                backend = LlavaChat.backend(llava, tokenizer, template, features);
            } else {
                if (image != null) {
                    errors[i] = name + ": an image was given, but the model is a text-only decoder (not LLaVA)";
                    return null;
                }
                backend = ChatSession.textBackend(text, tokenizer, template);
            }
            ChatTemplate.Message user = imageCount == 0 ? ChatTemplate.Message.user(prompt)
                    : LlavaChat.userMessage(prompt, imageCount, template);
            return new ChatBatch.Turn(backend, template == null ? null : system, user);
        }

        @Override
        public void close() {
            try {
                if (llava != null) {
                    llava.close();
                } else {
                    text.close();
                }
            } finally {
                tokenizer.close();
            }
        }
    }
}
