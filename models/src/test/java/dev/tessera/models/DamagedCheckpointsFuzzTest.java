package dev.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.bert.BertModel;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.models.clip.ClipModel;
import dev.tessera.models.llama.ChatTemplate;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.models.text.PrecompiledCharsmapTest;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.models.whisper.WhisperModel;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.image.ImagePreprocessor;
import dev.tessera.runtime.image.RgbImage;
import dev.tessera.runtime.testing.Fuzz;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged checkpoint files (see runtime's {@link Fuzz}) through the model loaders: a config.json, a tokenizer.json,
 * a preprocessor_config.json or an ONNX export, each damaged, is loaded (and the model run once) or refused with a
 * clear {@link IllegalArgumentException} / {@link IOException}; never another exception, never a crash in native
 * code (the tokenizers library, the kernels). {@code -Dtessera.fuzz.iterations=N} runs N mutations per seed file.
 */
class DamagedCheckpointsFuzzTest {
    @TempDir
    Path dir;

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy of the fixture folder {@code fixture} in which {@code file} is replaced for each input. */
    private Fuzz.Target inCopyOf(String fixture, String file, Consumer<Path> load) throws IOException {
        Path src = Fixtures.resource(fixture);
        Path copy = Files.createDirectories(dir.resolve(fixture.replace('/', '_') + "-" + file));
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        return in -> {
            Files.write(copy.resolve(file), in);
            load.accept(copy);
        };
    }

    @Test
    void visionConfigs() throws IOException {
        Fuzz.runJson("vit-config", List.of(read(Fixtures.resource("vision/vit-a/config.json"))), Fuzz.iterations(150), 11,
                inCopyOf("vision/vit-a", "config.json", d -> {
                    try (var scope = Tessera.scope();
                            ViTForImageClassification m = ViTForImageClassification.load(d, Device.CPU, DType.F32)) {
                        int s = m.config().imageSize();
                        int c = m.config().numChannels();
                        float[] logits = m.logits(Tensor.of(new float[c * s * s], Device.CPU, 1, c, s, s))
                                .toFloatArray();
                        assertEquals(m.config().labels().size(), logits.length, "one logit per label");
                    }
                }));
        Fuzz.runJson("clip-config", List.of(read(Fixtures.resource("vision/clip-a/config.json"))), Fuzz.iterations(100),
                12, inCopyOf("vision/clip-a", "config.json", d -> {
                    try (var scope = Tessera.scope(); ClipModel m = ClipModel.load(d, Device.CPU, DType.F32)) {
                        int[][] ids = m.tokenize(m.tokenizer(), List.of("a photo of a cat"));
                        assertEquals(m.projectionDim(), m.textEmbeds(ids).dim(1), "text embedding size");
                    }
                }));
    }

    /** LLaVA: config.json (vision tower, projector, decoder, image token) and its preprocessor_config.json. */
    @Test
    void llavaConfigs() throws IOException {
        Fuzz.Target config = inCopyOf("llava/llava-tiny", "config.json", DamagedCheckpointsFuzzTest::llava);
        Fuzz.Target preprocessor = inCopyOf("llava/llava-tiny", "preprocessor_config.json",
                DamagedCheckpointsFuzzTest::llava);
        byte[] cfg = read(Fixtures.resource("llava/llava-tiny/config.json"));
        byte[] pp = read(Fixtures.resource("llava/llava-tiny/preprocessor_config.json"));
        Fuzz.runJson("llava-config", List.of(cfg, pp), Fuzz.iterations(80), 22, in -> {
            // which file this input damages: the seeds are told apart by a key only the config has
            if (new String(in, StandardCharsets.UTF_8).contains("text_config")) {
                config.accept(in);
            } else {
                preprocessor.accept(in);
            }
        });
    }

    private static void llava(Path d) {
        try (var scope = Tessera.scope();
                dev.tessera.models.llava.LlavaForConditionalGeneration m =
                        dev.tessera.models.llava.LlavaForConditionalGeneration.load(d, Device.CPU, null)) {
            int[] prompt = m.expandImageTokens(new int[] {1, m.config().imageTokenIndex(), 5}, 1);
            int s = m.config().vision().imageSize();
            try (Tensor px = Tensor.of(new float[3 * s * s], Device.CPU, 1, 3, s, s); Tensor l = m.logits(prompt, px)) {
                assertEquals(m.config().text().vocabSize(), l.dim(2), "one logit per vocabulary entry");
            }
            dev.tessera.models.llava.LlavaImageProcessor p = dev.tessera.models.llava.LlavaImageProcessor.load(d, s);
            try (Tensor px = p.preprocess(List.of(Fixtures.resource("llava/image-preprocess/test.png")), Device.CPU)) {
                if (p.cropHeight() > 0) { // -1: no centre crop, the size follows the image
                    assertEquals(p.cropHeight(), px.dim(2), "preprocessed height");
                }
            }
        }
    }

    @Test
    void textAndSpeechConfigs() throws IOException {
        Fuzz.runJson("bert-config", List.of(read(Fixtures.resource("bert/tiny/config.json"))), Fuzz.iterations(150), 13,
                inCopyOf("bert/tiny", "config.json", d -> {
                    try (var scope = Tessera.scope(); BertModel m = SentenceEncoder.loadModel(d, Device.CPU)) {
                        Tensor ids = Tensor.ofInts(new int[] {1, 2, 3}, Device.CPU, 1, 3);
                        assertEquals(m.config().hiddenSize(), m.forward(ids, null, null).dim(2), "hidden size");
                    }
                }));
        Fuzz.runJson("whisper-config", List.of(read(Fixtures.resource("whisper/tiny-a/config.json")),
                read(Fixtures.resource("whisper/tiny-a/generation_config.json"))), Fuzz.iterations(100), 14,
                new Fuzz.Target() {
                    int round;
                    final Fuzz.Target config = inCopyOf("whisper/tiny-a", "config.json", DamagedCheckpointsFuzzTest::whisper);
                    final Fuzz.Target generation = inCopyOf("whisper/tiny-a", "generation_config.json",
                            DamagedCheckpointsFuzzTest::whisper);

                    @Override
                    public void accept(byte[] in) throws Exception {
                        // the first seed's mutations go to config.json, the second's to generation_config.json
                        (round++ < Fuzz.iterations(100) ? config : generation).accept(in);
                    }
                });
        Fuzz.runJson("llama-config", List.of(read(Fixtures.resource("llama/llama-gqa/config.json"))), Fuzz.iterations(100),
                15, inCopyOf("llama/llama-gqa", "config.json", d -> {
                    try (var scope = Tessera.scope(); LlamaForCausalLM m = LlamaForCausalLM.load(d, Device.CPU,
                            DType.F32)) {
                        float[] logits = m.logits(new int[] {1, 2, 3}).toFloatArray();
                        assertEquals(3L * m.config().vocabSize(), logits.length, "logits of 3 positions");
                    }
                }));
    }

    private static void whisper(Path d) {
        try (var scope = Tessera.scope(); WhisperModel m = WhisperModel.load(d, Device.CPU, DType.F32)) {
            int frames = 2 * m.config().maxSourcePositions();
            Tensor mel = Tensor.of(new float[m.config().numMelBins() * frames], Device.CPU, 1,
                    m.config().numMelBins(), frames);
            assertEquals(m.config().maxSourcePositions(), m.encode(mel).dim(1), "encoder positions");
        }
    }

    /** A BERT-style WordPiece tokenizer (normalizer, pre-tokenizer, BertProcessing, decoder). */
    static final String WORDPIECE = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [{"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true}, {"id": 1, "content": "[UNK]", "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                "strip_accents": null, "lowercase": true},
             "pre_tokenizer": {"type": "BertPreTokenizer"},
             "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
             "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100, "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4,
                "photo": 5, "of": 6, "cat": 7, "##s": 8, ",": 9, "1": 10, "##2": 11, "un": 12, "##ic": 13}}}
            """;

    /** A T5-style Unigram tokenizer (normalizer sequence, Metaspace, TemplateProcessing). */
    static final String UNIGRAM = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true}, {"id": 1, "content": "</s>", "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
             "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
             "post_processor": {"type": "TemplateProcessing",
                "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "</s>", "type_id": 1}}],
                "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
             "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
             "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false, "vocab": [["<unk>", 0.0],
                ["</s>", 0.0], ["\u2581a", -2.0], ["\u2581photo", -3.0], ["\u2581of", -2.5], ["\u2581cat", -3.0],
                ["s", -4.0], ["\u2581", -1.0], [",", -3.5], ["1", -5.0], ["2", -5.0], ["c", -6.0], ["t", -6.0]]}}
            """;

    /** A Llama-3-style byte-level BPE (Split + ByteLevel, a Sequence post-processor with a template). */
    static final String BYTE_BPE = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [{"id": 7, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true}],
             "normalizer": null,
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split",
                "pattern": {"Regex": " ?[a-z]+|[0-9]+| ?[^a-z0-9 ]+| +"}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
             "post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel", "add_prefix_space": true,
                "trim_offsets": false, "use_regex": true}, {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [7],
                    "tokens": ["<|begin_of_text|>"]}}}]},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": {"a": 0, "c": 1, "t": 2, "\u0120": 3, "\u0120a": 4, "ca": 5, "cat": 6},
                "merges": [["\u0120", "a"], ["c", "a"], ["ca", "t"]]}}
            """;

    /** A word-level tokenizer with RoBERTa's post-processor. */
    static final String WORDLEVEL = """
            {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
             "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
             "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                "trim_offsets": true, "add_prefix_space": false},
             "decoder": null,
             "model": {"type": "WordLevel", "vocab": {"<s>": 0, "[UNK]": 1, "</s>": 2, "a": 3, "photo": 4},
                "unk_token": "[UNK]"}}
            """;

    @Test
    void tokenizers() throws Exception {
        Path f = dir.resolve("tokenizer.json");
        Fuzz.Target encode = in -> {
            Files.write(f, in);
            try (Tokenizer t = Tokenizer.load(f)) {
                int[] ids = t.encode("a photo of a cat, 12 ünïcödé", true);
                t.decode(ids, true);
                t.encodeFull("cats");
            }
        };
        List<byte[]> seeds = new java.util.ArrayList<>(List.of(read(Fixtures.resource("llama/tokenizer.json")),
                read(Fixtures.resource("vision/clip-a/tokenizer.json"))));
        for (String json : List.of(WORDPIECE, UNIGRAM, BYTE_BPE, WORDLEVEL, PrecompiledCharsmapTest.tokenizerJson(
                PrecompiledCharsmapTest.buildRules(PrecompiledCharsmapTest.RULES)))) {
            seeds.add(json.getBytes(StandardCharsets.UTF_8));
        }
        for (byte[] seed : seeds) {
            encode.accept(seed); // each seed is a working tokenizer
        }
        Fuzz.runJson("tokenizer", seeds, Fuzz.iterations(100), 16, encode);
    }

    /**
     * Chat templates are code (Jinja2, rendered by Jinjava): damaged copies of the published-style templates of
     * ChatTemplateTest's fixtures, each compiled and rendered over a conversation with and without the generation
     * prompt. A template may render anything; what it may not do is fail with anything but a one-line
     * IllegalArgumentException.
     */
    @Test
    void chatTemplates() throws Exception {
        JsonNode root = new ObjectMapper().readTree(Fixtures.resource("llama/chat_templates.json").toFile());
        java.util.Map<String, String> specials = new java.util.HashMap<>();
        root.get("specials").fields().forEachRemaining(e -> specials.put(e.getKey(), e.getValue().asText()));
        List<byte[]> seeds = new java.util.ArrayList<>();
        root.get("templates").forEach(t -> seeds.add(t.asText().getBytes(StandardCharsets.UTF_8)));
        List<ChatTemplate.Message> chat = List.of(ChatTemplate.Message.system("be brief"),
                ChatTemplate.Message.user("hi"), ChatTemplate.Message.assistant("hello"),
                ChatTemplate.Message.user("and now?"));
        Fuzz.run("chat-template", seeds, Fuzz.iterations(40), 19, in -> {
            ChatTemplate t = new ChatTemplate(new String(in, StandardCharsets.UTF_8), specials);
            t.render(chat, true);
            t.render(chat.subList(0, 2), false);
        });
        // and the files they come in: tokenizer_config.json (with its special tokens) and chat_template.json
        Path d = Files.createDirectories(dir.resolve("chat"));
        List<byte[]> configs = List.of(read(Fixtures.resource("llama/tokenizer_config.json")),
                ("{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T{{ tools }}\"}, {\"name\": "
                        + "\"default\", \"template\": \"{% for m in messages %}{{ m.content }}{% endfor %}\"}]}")
                        .getBytes(StandardCharsets.UTF_8));
        Fuzz.runJson("chat-template-config", configs, Fuzz.iterations(150), 20, in -> {
            Files.write(d.resolve("tokenizer_config.json"), in);
            ChatTemplate t = ChatTemplate.load(d);
            if (t != null) {
                t.render(chat, true);
            }
        });
    }

    @Test
    void onnxExports() {
        // BERT (two opsets), DistilBERT and RoBERTa exports: their graphs map to the encoder differently
        List<byte[]> seeds = Stream.of("bert/tiny/onnx", "bert/tiny/onnx17", "bert/distilbert/onnx", "bert/roberta/onnx")
                .map(d -> read(Fixtures.resource(d + "/model.onnx"))).toList();
        Fuzz.run("bert-onnx", seeds, Fuzz.iterations(60), 17, in -> {
            Path d = Files.createDirectories(dir.resolve("onnx"));
            Files.write(d.resolve("model.onnx"), in);
            try (var scope = Tessera.scope(); BertModel m = SentenceEncoder.loadModel(d, Device.CPU)) {
                Tensor ids = Tensor.ofInts(new int[] {1, 2, 3, 4}, Device.CPU, 2, 2);
                assertEquals(m.config().hiddenSize(), m.forward(ids, null, null).dim(2), "hidden size");
            }
        });
    }

    @Test
    void preprocessorConfigs() {
        List<byte[]> seeds = Stream.of(
                "{\"do_resize\": true, \"size\": {\"shortest_edge\": 40}, \"do_center_crop\": true, \"crop_size\": 32,"
                        + " \"resample\": 3, \"do_rescale\": true, \"rescale_factor\": 0.00392156862745098,"
                        + " \"do_normalize\": true, \"image_mean\": [0.48, 0.45, 0.4], \"image_std\": [0.26, 0.26, 0.27],"
                        + " \"image_processor_type\": \"CLIPImageProcessor\"}",
                "{\"size\": {\"height\": 32, \"width\": 32}, \"resample\": 2, \"image_mean\": 0.5, \"image_std\": 0.5}",
                "{\"size\": 32, \"feature_extractor_type\": \"ViTFeatureExtractor\", \"do_normalize\": false}")
                .map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
        byte[] rgb = new byte[45 * 30 * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 7);
        }
        RgbImage image = new RgbImage(45, 30, rgb);
        Path pp = dir.resolve("preprocessor");
        Fuzz.runJson("preprocessor", seeds, Fuzz.iterations(200), 18, in -> {
            Files.createDirectories(pp);
            Files.write(pp.resolve("preprocessor_config.json"), in);
            ImagePreprocessor p = ImagePreprocessor.load(pp, 32, ImagePreprocessor.HALF, ImagePreprocessor.HALF,
                    new dev.tessera.runtime.image.ImageDecoder());
            ImagePreprocessor.Result r = p.process(image);
            assertEquals(3L * r.height() * r.width(), r.chw().length, "3 planes");
        });
    }

    private static String message(Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }

    /**
     * What the fuzzer first found, kept as plain cases. The three tokenizers aborted the whole JVM (a Rust panic
     * across DJL's JNI); the configs threw OutOfMemoryError, ArithmeticException or NegativeArraySizeException.
     */
    @Test
    void inputsThatOnceCrashed() throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, WORDPIECE.replace("\"cleanup\": true}", "\"cleanup\": tru}"));
        String m = message(() -> Tokenizer.load(f));
        assertTrue(m.contains("not a valid tokenizer.json") && m.contains("'tru'"), m);
        Files.writeString(f, UNIGRAM.replace("\"type\": \"TemplateProcessing\"", "\"type\": -2147483648")
                .replace("\"special_tokens\": {\"</s>\": {\"id\": \"</s>\", \"ids\": [1], \"tokens\": [\"</s>\"]}}",
                        "\"special_tokens\": {}"));
        assertTrue(message(() -> Tokenizer.load(f)).contains("uses the special token \"</s>\""), "template");
        Files.writeString(f, BYTE_BPE.replace("\"continuing_subword_prefix\": null",
                "\"continuing_subword_prefix\": \"gelu\""));
        assertTrue(message(() -> Tokenizer.load(f)).contains("lacks the continuing_subword_prefix"), "BPE prefix");

        // a RoBERTa export whose padding id (the Equal that masks input_ids) is beyond int: ArithmeticException
        var model = dev.tessera.runtime.onnx.proto.OnnxIr.Model.parseFrom(
                read(Fixtures.resource("bert/roberta/onnx/model.onnx")));
        var graph = model.getGraph().toBuilder();
        String padName = null;
        for (var n : graph.getNodeList()) {
            if (n.getOpType().equals("Equal") && n.getInputList().contains("input_ids")) {
                padName = n.getInput(n.getInput(0).equals("input_ids") ? 1 : 0);
            }
        }
        assertTrue(padName != null, "the RoBERTa fixture masks its ids with an Equal");
        boolean replaced = false;
        for (int i = 0; i < graph.getNodeCount(); i++) {
            var n = graph.getNode(i);
            if (n.getOpType().equals("Constant") && n.getOutputList().contains(padName)) {
                var t = n.getAttribute(0).getT().toBuilder().clearRawData().clearInt64Data()
                        .addInt64Data(Long.MAX_VALUE);
                graph.setNode(i, n.toBuilder().setAttribute(0, n.getAttribute(0).toBuilder().setT(t)));
                replaced = true;
            }
        }
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            if (graph.getInitializer(i).getName().equals(padName)) {
                graph.setInitializer(i, graph.getInitializer(i).toBuilder().clearRawData().clearInt64Data()
                        .addInt64Data(Long.MAX_VALUE));
                replaced = true;
            }
        }
        assertTrue(replaced, "found the padding id " + padName);
        Path roberta = Files.createDirectories(dir.resolve("roberta"));
        Files.write(roberta.resolve("model.onnx"), model.toBuilder().setGraph(graph).build().toByteArray());
        assertTrue(message(() -> SentenceEncoder.loadModel(roberta, Device.CPU)).contains("out of range"), "pad id");

        Path vit = Files.createDirectories(dir.resolve("vit"));
        for (String name : List.of("config.json", "model.safetensors")) {
            Files.copy(Fixtures.resource("vision/vit-a/" + name), vit.resolve(name));
        }
        String config = Files.readString(vit.resolve("config.json"));
        Files.writeString(vit.resolve("config.json"), config.replace("\"num_hidden_layers\": 2",
                "\"num_hidden_layers\": 99999999999999999999"));
        assertTrue(message(() -> ViTForImageClassification.load(vit, Device.CPU, DType.F32))
                .contains("\"num_hidden_layers\" must be an integer"), "an integer beyond int");
        Files.writeString(vit.resolve("config.json"), config.replace("\"num_hidden_layers\": 2",
                "\"num_hidden_layers\": 2000000000"));
        assertTrue(message(() -> ViTForImageClassification.load(vit, Device.CPU, DType.F32))
                .contains("num_hidden_layers = 2000000000, the checkpoint holds 2 layers"), "more layers than stored");

        Path llama = Files.createDirectories(dir.resolve("llama"));
        for (String name : List.of("config.json", "model.safetensors")) {
            Files.copy(Fixtures.resource("llama/llama-gqa/" + name), llama.resolve(name));
        }
        Files.writeString(llama.resolve("config.json"), Files.readString(llama.resolve("config.json"))
                .replaceAll("\"num_attention_heads\": *\\d+", "\"num_attention_heads\": 0"));
        assertTrue(message(() -> LlamaForCausalLM.load(llama, Device.CPU, DType.F32))
                .contains("num_attention_heads must be positive"), "zero heads");

        JsonNode pp = new ObjectMapper().readTree("{\"size\": {\"height\": 1e308, \"width\": 32}}");
        assertTrue(message(() -> ImagePreprocessor.of(pp, 32, ImagePreprocessor.HALF, ImagePreprocessor.HALF))
                .contains("size.height must be an integer in [1, 65536]"), "an absurd resize");
    }
}
