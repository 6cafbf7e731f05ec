package dev.tessera.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.llama.ChatSession;
import dev.tessera.models.llama.ChatTemplate;
import dev.tessera.models.llama.GenerationConfig;
import dev.tessera.models.llama.Generator;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.models.llava.LlavaChat;
import dev.tessera.models.llava.LlavaForConditionalGeneration;
import dev.tessera.models.llava.LlavaImageProcessor;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link TextGenerator} on the models module's tiny random Llama (GQA, with a chat template) and LLaVA checkpoints,
 * against a {@link ChatSession} driven directly, as {@code tessera chat} drives it.
 */
class TextGeneratorTest {
    static final Path LLAMA = Path.of("../models/src/test/resources/llama/llama-gqa").toAbsolutePath();
    static final Path LLAVA = Path.of("../models/src/test/resources/llava/llava-tiny").toAbsolutePath();

    @BeforeAll
    static void start() {
        SparkInferenceTest.start();
    }

    @AfterAll
    static void stop() {
        SparkInferenceTest.stop();
    }

    static Dataset<Row> prompts(List<String> p) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < p.size(); i++) {
            rows.add(RowFactory.create(i, p.get(i)));
        }
        return SparkInferenceTest.spark.createDataFrame(rows, new StructType().add("id", DataTypes.IntegerType)
                .add("prompt", DataTypes.StringType)).repartition(2);
    }

    static String direct(Path dir, String prompt, GenerationConfig cfg, String system) {
        return direct(dir, prompt, cfg, system, null);
    }

    static String direct(Path dir, String prompt, GenerationConfig cfg, String system, dev.tessera.runtime.DType dt) {
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, dt); Tokenizer tok = Tokenizer.load(dir)) {
            ChatTemplate t = ChatTemplate.load(dir);
            try (ChatSession chat = new ChatSession(new Generator(m, tok), ChatSession.textBackend(m, tok, t), system,
                    0)) {
                return chat.send(prompt, cfg, null).text();
            }
        }
    }

    @Test
    void repliesEqualAChatSessionDrivenDirectly() {
        List<String> p = List.of("hello there", "what is the capital of france?", "a", "tell me a story about cats",
                "1 2 3 4", "word ".repeat(400));
        List<Row> out = new TextGenerator().setModel(LLAMA.toString()).setMaxTokens(12).setBatchSize(2)
                .setErrorCol("error").transform(prompts(p)).orderBy("id").collectAsList();
        assertEquals(6, out.size());
        GenerationConfig greedy = GenerationConfig.greedy(12);
        int nonEmpty = 0;
        for (int i = 0; i < 5; i++) {
            String want = direct(LLAMA, p.get(i), greedy, null);
            assertEquals(want, out.get(i).getString(2), "prompt " + i);
            assertNull(out.get(i).get(3));
            nonEmpty += want.isEmpty() ? 0 : 1;
        }
        assertTrue(nonEmpty >= 3, "replies with text: " + nonEmpty);
        assertTrue(out.get(5).isNullAt(2) && out.get(5).getString(3).contains("context"), out.get(5).toString());

        // sampling: a row's reply depends on its prompt and the seed only; another seed changes something
        GenerationConfig sampled = GenerationConfig.sampling(12, 1.5, 1.0, 7);
        List<Row> s7 = new TextGenerator().setModel(LLAMA.toString()).setMaxTokens(12).setTemperature(1.5).setSeed(7)
                .setSystemPrompt("be brief").transform(prompts(p.subList(0, 4))).orderBy("id").collectAsList();
        List<Row> s8 = new TextGenerator().setModel(LLAMA.toString()).setMaxTokens(12).setTemperature(1.5).setSeed(8)
                .setSystemPrompt("be brief").transform(prompts(p.subList(0, 4))).orderBy("id").collectAsList();
        boolean differs = false;
        for (int i = 0; i < 4; i++) {
            assertEquals(direct(LLAMA, p.get(i), sampled, "be brief"), s7.get(i).getString(2), "sampled prompt " + i);
            differs |= !s7.get(i).getString(2).equals(s8.get(i).getString(2));
        }
        assertTrue(differs, "seed 8 gave the same replies as seed 7");

        // bf16 matrices: each reply equals the session over the model loaded so
        List<Row> b = new TextGenerator().setModel(LLAMA.toString()).setMaxTokens(12).setDType("bf16")
                .transform(prompts(p.subList(0, 4))).orderBy("id").collectAsList();
        for (int i = 0; i < 4; i++) {
            assertEquals(direct(LLAMA, p.get(i), greedy, null, dev.tessera.runtime.DType.BF16), b.get(i).getString(2),
                    "bf16 prompt " + i);
        }
        // int8 matrices: the same
        List<Row> q = new TextGenerator().setModel(LLAMA.toString()).setMaxTokens(12).setDType("int8")
                .transform(prompts(p.subList(0, 2))).orderBy("id").collectAsList();
        for (int i = 0; i < 2; i++) {
            assertEquals(direct(LLAMA, p.get(i), greedy, null, dev.tessera.runtime.DType.I8), q.get(i).getString(2),
                    "int8 prompt " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> new TextGenerator().setDType("f16"));
        assertThrows(IllegalArgumentException.class, () -> new TextGenerator().setDType("int4"));
    }

    @Test
    @SuppressWarnings("try") // the scope frees the reference run's tensors
    void llavaAnswersAboutEachRowsImage() throws Exception {
        Path dir = SparkInferenceTest.imageDir("llava", 4);
        Dataset<Row> files = SparkInferenceTest.spark.read().format("binaryFile").load(dir.toString())
                .withColumn("prompt", functions.lit("what is in this picture?"));
        // f32, and int8-dynamic (the vision tower in dynamic INT8): each reply is the session's over the model loaded so
        for (String dt : new String[] {null, "int8-dynamic"}) {
            List<Row> out = new TextGenerator().setModel(LLAVA.toString()).setImageCol("content").setMaxTokens(10)
                    .setDType(dt).setErrorCol("error").transform(files).drop("content").collectAsList();
            assertEquals(5, out.size());
            Map<String, String> want = new HashMap<>();
            try (LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(LLAVA, Device.CPU, null,
                    dt != null);
                    Tokenizer tok = Tokenizer.load(LLAVA)) {
                ChatTemplate t = ChatTemplate.load(LLAVA);
                LlavaImageProcessor proc = LlavaImageProcessor.load(LLAVA, m.config().vision().imageSize());
                for (Path img : SparkInferenceTest.imagesIn(dir)) {
                    try (Scope scope = Tessera.scope()) {
                        Tensor features = m.imageFeatures(proc.preprocess(List.of(img), Device.CPU));
                        try (ChatSession chat = new ChatSession(new Generator(m.languageModel(), tok),
                                LlavaChat.backend(m, tok, t, features), null, 0)) {
                            want.put(img.getFileName().toString(), chat.send(LlavaChat.userMessage(
                                    "what is in this picture?", 1, t), GenerationConfig.greedy(10), null).text());
                        }
                    }
                }
            }
            int checked = 0;
            for (Row r : out) {
                String name = SparkInferenceTest.fileName(r);
                String w = want.get(name);
                int g = r.fieldIndex("generated");
                if (w == null) {
                    assertTrue(r.isNullAt(g) && r.getString(r.fieldIndex("error")).contains("notes.png"), r.toString());
                    continue;
                }
                assertEquals(w, r.getString(g), dt + " " + name);
                checked++;
            }
            assertEquals(4, checked);
            assertNotEquals(1, new java.util.HashSet<>(want.values()).size(), "every image gave the same reply");
        }
    }

    @Test
    void badSettingsAreRefused() {
        Dataset<Row> t = prompts(List.of("a"));
        var e = assertThrows(IllegalArgumentException.class,
                () -> new TextGenerator().setModel("x").setImageCol("prompt").transform(t));
        assertTrue(e.getMessage().contains("image column 'prompt' is string"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> new TextGenerator().setModel("x").setImageCol("photo").transform(t));
        assertTrue(e2.getMessage().contains("no column 'photo'"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TextGenerator().setTemperature(-1));
        assertThrows(IllegalArgumentException.class, () -> new TextGenerator().setTopP(0));
        assertThrows(IllegalArgumentException.class, () -> new TextGenerator().setMaxTokens(0));
        // an image for a text-only decoder: that row's error
        StructType schema = new StructType().add("prompt", DataTypes.StringType).add("img", DataTypes.BinaryType);
        Dataset<Row> withImage = SparkInferenceTest.spark.createDataFrame(
                List.of(RowFactory.create("hi", new byte[] {1, 2, 3})), schema);
        List<Row> r = new TextGenerator().setModel(LLAMA.toString()).setImageCol("img").setMaxTokens(4)
                .setErrorCol("error").transform(withImage).collectAsList();
        assertTrue(r.get(0).isNullAt(2) && r.get(0).getString(3).contains("text-only decoder"), r.get(0).toString());
        Path noTemplate = SparkInferenceTest.tmp.resolve("llama-no-template");
        Exception e3 = assertThrows(Exception.class, () -> {
            Files.createDirectories(noTemplate);
            for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
                Files.copy(LLAMA.resolve(f), noTemplate.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            new TextGenerator().setModel(noTemplate.toString()).transform(t).count();
        });
        assertTrue(SparkInferenceTest.causes(e3).contains("setRaw(true)"), SparkInferenceTest.causes(e3));
    }
}
