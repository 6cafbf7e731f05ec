package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/** {@code tessera chat} on the tiny random Llama fixture of the models module, in-process. */
class ChatCommandTest {
    static final Path MODEL = Paths.get("../models/src/test/resources/llama/llama-gqa").toAbsolutePath().normalize();

    record Run(int code, String out, String err) {}

    static Run run(String stdin, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            System.setIn(new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)));
            code = TesseraCli.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Each command line exits non-zero with exactly one stderr line starting with {@code error:}. */
    static void assertOneLineErrors(String[]... cases) {
        for (String[] c : cases) {
            Run r = run(null, c);
            String what = String.join(" ", c);
            assertNotEquals(0, r.code(), what);
            String err = r.err().strip();
            assertTrue(err.startsWith("error:") && !err.contains("\n"), what + " -> " + r.err());
        }
    }

    /**
     * Machine-readable output does not depend on the default locale: in Turkish "STOP_STRING".toLowerCase() is
     * "stop_strıng", and Arabic or Persian locales format numbers with their own digits; the JSON of a run ended by a
     * stop string (and a chat template's float repr) must be the same bytes as under the root locale.
     */
    @Test
    void jsonIsTheSameInEveryLocale() throws Exception {
        java.util.Locale before = java.util.Locale.getDefault();
        try {
            java.util.Locale.setDefault(java.util.Locale.ROOT);
            Run free = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "12", "--json", "hello there");
            assertEquals(0, free.code(), free.err());
            String text = new ObjectMapper().readTree(free.out()).get("text").asText();
            assertTrue(text.length() >= 6, text);
            String stop = text.substring(3, 6);
            String[] cmd = {"chat", "--model", MODEL.toString(), "--max-tokens", "12", "--json", "--stop", stop,
                    "hello there"};
            Run ref = run(null, cmd);
            assertEquals(0, ref.code(), ref.err());
            assertEquals("stop_string", new ObjectMapper().readTree(ref.out()).get("finish").asText(), ref.out());
            for (java.util.Locale l : List.of(new java.util.Locale("tr", "TR"), new java.util.Locale("ar", "SA"),
                    new java.util.Locale("fa", "IR"), java.util.Locale.GERMANY)) {
                java.util.Locale.setDefault(l);
                Run r = run(null, cmd);
                assertEquals(0, r.code(), l + ": " + r.err());
                assertEquals(ref.out(), r.out(), "locale " + l);
            }
        } finally {
            java.util.Locale.setDefault(before);
        }
    }

    @Test
    void oneShotJsonAndStreamingAgree() throws Exception {
        Run j = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "12", "--json", "hello there");
        assertEquals(0, j.code(), j.err());
        JsonNode o = new ObjectMapper().readTree(j.out());
        assertEquals(12, o.get("tokens").size());
        assertEquals(298, o.get("prompt_tokens").get(0).asInt(), "the template starts with <s>");
        assertEquals("length", o.get("finish").asText());
        Run s = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "12", "hello there");
        assertEquals(0, s.code(), s.err());
        assertEquals(o.get("text").asText() + System.lineSeparator(), s.out());
        Run raw = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "5", "--raw", "--json",
                "--temperature", "0.8", "--seed", "3", "the cat");
        assertEquals(0, raw.code(), raw.err());
        JsonNode r = new ObjectMapper().readTree(raw.out());
        assertEquals(298, r.get("prompt_tokens").get(0).asInt(), "raw: the tokenizer adds <s>");
        assertEquals(5, r.get("tokens").size());
    }

    /** generation_config.json's repetition_penalty applies by default, as transformers' generate applies it. */
    @Test
    void theGenerationConfigsRepetitionPenaltyIsTheDefault(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        copyModel(dir);
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"repetition_penalty\": 3.0}");
        String[] common = {"--max-tokens", "24", "--raw", "--json", "the cat sat"};
        JsonNode fromConfig = tokens(run(null, concat(new String[] {"chat", "--model", dir.toString()}, common)));
        JsonNode explicit = tokens(run(null, concat(new String[] {"chat", "--model", MODEL.toString(),
            "--repetition-penalty", "3"}, common)));
        JsonNode none = tokens(run(null, concat(new String[] {"chat", "--model", MODEL.toString()}, common)));
        JsonNode overridden = tokens(run(null, concat(new String[] {"chat", "--model", dir.toString(),
            "--repetition-penalty", "1"}, common)));
        assertEquals(explicit, fromConfig);
        assertEquals(none, overridden);
        assertTrue(!none.equals(fromConfig), "the penalty changes this continuation: " + none + " / " + fromConfig);
    }

    /** generation_config.json's max_new_tokens bounds the answer without --max-tokens, as transformers' generate does. */
    @Test
    void theGenerationConfigsMaxNewTokensIsTheDefault(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        copyModel(dir);
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"max_new_tokens\": 7}");
        JsonNode fromConfig = tokens(run(null, "chat", "--model", dir.toString(), "--raw", "--json", "the cat sat"));
        JsonNode explicit = tokens(run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "7", "--raw", "--json",
                "the cat sat"));
        assertEquals(7, fromConfig.size());
        assertEquals(explicit, fromConfig);
        assertEquals(3, tokens(run(null, "chat", "--model", dir.toString(), "--max-tokens", "3", "--raw", "--json",
                "the cat sat")).size());
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"max_new_tokens\": -2}");
        Run bad = run(null, "chat", "--model", dir.toString(), "--raw", "the cat sat");
        assertTrue(bad.code() != 0 && bad.err().contains("max_new_tokens"), bad.err());
    }

    /**
     * generation_config.json's max_length (without max_new_tokens) caps prompt and answer together, as transformers'
     * generate reads it (checked there on this fixture: 11 prompt tokens, max_length 14 gives 3 new tokens and 40 gives
     * 29 without eos ids, 26 with config.json's, where an eos ends it; 9 is refused); --max-tokens wins over it; a
     * file that names no eos_token_id leaves none (transformers does not fall back to config.json's).
     */
    @Test
    void theGenerationConfigsMaxLengthCapsPromptAndAnswer(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        copyModel(dir);
        String prompt = "hello there friend";
        int n = tokens(run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "1", "--raw", "--json", prompt))
                .size() == 1 ? promptTokens(run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "1", "--raw",
                        "--json", prompt)) : -1;
        assertEquals(11, n);
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"max_length\": 14, \"eos_token_id\": 297}");
        JsonNode capped = tokens(run(null, "chat", "--model", dir.toString(), "--raw", "--json", prompt));
        assertEquals(3, capped.size());
        JsonNode explicit = tokens(run(null, "chat", "--model", dir.toString(), "--max-tokens", "30", "--raw", "--json",
                prompt));
        assertTrue(explicit.size() > 3, "--max-tokens wins over max_length: " + explicit);
        for (int i = 0; i < 3; i++) {
            assertEquals(explicit.get(i), capped.get(i));
        }
        // no eos ids in the file: the whole budget (40 - 11), through the token config.json calls eos (297, at 26)
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"max_length\": 40}");
        JsonNode noEos = tokens(run(null, "chat", "--model", dir.toString(), "--raw", "--json", prompt));
        assertEquals(29, noEos.size());
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"), "{\"max_length\": 40, \"eos_token_id\": [297, 295]}");
        JsonNode withEos = tokens(run(null, "chat", "--model", dir.toString(), "--raw", "--json", prompt));
        assertEquals(26, withEos.size());
        assertEquals(297, noEos.get(25).asInt());
        for (int i = 0; i < 26; i++) {
            assertEquals(noEos.get(i), withEos.get(i));
        }
        for (String bad : new String[] {"{\"max_length\": 9, \"eos_token_id\": 2}", "{\"max_length\": 0, \"eos_token_id\": 2}",
                "{\"max_length\": 2.5, \"eos_token_id\": 2}"}) {
            java.nio.file.Files.writeString(dir.resolve("generation_config.json"), bad);
            Run r = run(null, "chat", "--model", dir.toString(), "--raw", prompt);
            List<String> lines = r.err().strip().lines().filter(l -> !l.startsWith("[main] INFO")).toList();
            assertTrue(r.code() != 0 && lines.size() == 1 && lines.get(0).startsWith("error:")
                    && lines.get(0).contains("max_length"), bad + " -> " + r.err());
        }
    }

    private static int promptTokens(Run r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out()).get("prompt_tokens").size();
    }

    /** The test model's files copied into {@code dir} (to add a generation_config.json beside them). */
    private static void copyModel(Path dir) throws Exception {
        try (var files = java.nio.file.Files.list(MODEL)) {
            for (Path f : files.toList()) {
                java.nio.file.Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
    }

    private static JsonNode tokens(Run r) throws Exception {
        assertEquals(0, r.code(), r.err());
        return new ObjectMapper().readTree(r.out()).get("tokens");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void interactiveSessionKeepsTheCacheBetweenTurns() throws Exception {
        Run s = run("hello\nwhat is in the image?\n\nthank you\n", "chat", "--model", MODEL.toString(), "--max-tokens",
                "6", "--json", "--system", "Be brief.");
        assertEquals(0, s.code(), s.err());
        String[] lines = s.out().strip().split("\\R");
        assertEquals(3, lines.length, s.out());
        ObjectMapper m = new ObjectMapper();
        JsonNode t1 = m.readTree(lines[0]);
        JsonNode t2 = m.readTree(lines[1]);
        assertEquals(0, t1.get("cached_tokens_before").asInt());
        assertTrue(t2.get("cached_tokens_before").asInt() > 0);
        assertTrue(t2.get("cached_tokens").asInt() > t1.get("cached_tokens").asInt());
    }

    static final Path LLAVA = Paths.get("../models/src/test/resources/llava/llava-tiny").toAbsolutePath().normalize();
    static final Path PNG = Paths.get("../models/src/test/resources/llava/image-preprocess/test.png").toAbsolutePath()
            .normalize();

    @Test
    void llavaWithImages() throws Exception {
        Run j = run(null, "chat", "--model", LLAVA.toString(), "--image", PNG.toString(), "--image", PNG.toString(),
                "--max-tokens", "8", "--json", "what is in the image?");
        assertEquals(0, j.code(), j.err());
        JsonNode o = new ObjectMapper().readTree(j.out());
        int imageTokens = 0;
        for (JsonNode t : o.get("prompt_tokens")) {
            imageTokens += t.asInt() == 299 ? 1 : 0;
        }
        assertEquals(2 * 16, imageTokens, "two images of 16 patch tokens each");
        assertEquals(8, o.get("tokens").size());
        Run tags = run(null, "chat", "--model", LLAVA.toString(), "--image", PNG.toString(), "<image> <image> compare");
        assertEquals(2, tags.code());
        assertTrue(tags.err().contains("2 <image> placeholder(s) but 1 image(s)"), tags.err());
        Run bad = run(null, "chat", "--model", LLAVA.toString(), "--image",
                PNG.resolveSibling("not-an-image.png").toString(), "hi");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("error: cannot decode image"), bad.err());
        Run inter = run("what is it?\nand now?\n", "chat", "--model", LLAVA.toString(), "--image", PNG.toString(),
                "--max-tokens", "4", "--json");
        assertEquals(0, inter.code(), inter.err());
        String[] lines = inter.out().strip().split("\\R");
        assertEquals(2, lines.length, inter.out());
        JsonNode second = new ObjectMapper().readTree(lines[1]);
        assertTrue(second.get("cached_tokens_before").asInt() >= 16, "the image rows stay cached between turns");
    }

    /**
     * --dtype bf16 / int8 on the CPU: matrices held as bfloat16 / int8 (the models module checks the numbers, the Spark
     * TextGeneratorTest that the int8 replies are the library's); bad values refused.
     */
    @Test
    void bf16AndInt8MatricesOnTheCpu() throws Exception {
        Run r = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "6", "--dtype", "bf16", "--json", "hi");
        assertEquals(0, r.code(), r.err());
        assertEquals(6, new ObjectMapper().readTree(r.out()).get("tokens").size());
        assertTrue(r.err().contains("matrices stored as BF16"), r.err());
        Run llava = run(null, "chat", "--model", LLAVA.toString(), "--image", PNG.toString(), "--max-tokens", "4",
                "--dtype", "bf16", "--json", "what is it?");
        assertEquals(0, llava.code(), llava.err());
        Run i8 = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "6", "--dtype", "int8", "--json", "hi");
        assertEquals(0, i8.code(), i8.err());
        assertTrue(i8.err().contains("matrices stored as I8"), i8.err());
        assertEquals(6, new ObjectMapper().readTree(i8.out()).get("tokens").size());
        Run llava8 = run(null, "chat", "--model", LLAVA.toString(), "--image", PNG.toString(), "--max-tokens", "4",
                "--dtype", "int8", "--json", "what is it?");
        assertEquals(0, llava8.code(), llava8.err());
        // LLaVA int8-dynamic: the reply of the library's model loaded so (vision tower in dynamic INT8)
        Run dyn = run(null, "chat", "--model", LLAVA.toString(), "--image", PNG.toString(), "--max-tokens", "4",
                "--dtype", "int8-dynamic", "--json", "what is it?");
        assertEquals(0, dyn.code(), dyn.err());
        assertTrue(dyn.err().contains("vision tower quantized for dynamic INT8"), dyn.err());
        assertEquals(4, new ObjectMapper().readTree(dyn.out()).get("tokens").size(), dyn.out());
        assertOneLineErrors(new String[] {"chat", "--model", MODEL.toString(), "--dtype", "f16", "hi"},
                new String[] {"chat", "--model", MODEL.toString(), "--dtype", "int4", "hi"},
                new String[] {"chat", "--model", MODEL.toString(), "--dtype", "int8-dynamic", "hi"});
    }

    /** Each prompt of a --prompts file gets the answer it gets alone; refused ones are kept with their error. */
    @Test
    void aPromptsFileAnswersEachLineAsItsOwnChat(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        List<String> prompts = List.of("hello there", "", "what is the capital of france?", "a", "word ".repeat(400),
                "tell me a story about cats", "1 2 3 4");
        Path file = dir.resolve("prompts.txt");
        Files.write(file, prompts, StandardCharsets.UTF_8);
        for (String[] opts : new String[][] {{"--max-tokens", "10"}, {"--max-tokens", "9", "--temperature", "0.9",
                "--seed", "5", "--system", "be brief"}}) {
            String[] args = concat(new String[] {"chat", "--model", MODEL.toString(), "--prompts", file.toString(),
                    "--batch", "3"}, opts);
            Run r = run(null, args);
            assertEquals(2, r.code(), "one prompt is past the context: " + r.err());
            List<String> errors = r.err().lines().filter(l -> l.startsWith("error")).toList();
            assertEquals(1, errors.size(), r.err());
            assertTrue(errors.get(0).startsWith("error: 1 of 6 prompts refused"), r.err());
            String[] lines = r.out().strip().split("\\R");
            assertEquals(6, lines.length, r.out());
            int k = 0;
            for (int i = 0; i < prompts.size(); i++) {
                if (prompts.get(i).isBlank()) {
                    continue;
                }
                JsonNode got = new ObjectMapper().readTree(lines[k++]);
                assertEquals(i + 1, got.get("line").asInt());
                assertEquals(prompts.get(i), got.get("prompt").asText());
                Run alone = run(null, concat(new String[] {"chat", "--model", MODEL.toString(), "--json",
                        prompts.get(i)}, opts));
                if (alone.code() != 0) {
                    assertTrue(alone.err().contains(got.get("error").asText()), alone.err() + " vs " + got);
                    continue;
                }
                JsonNode want = new ObjectMapper().readTree(alone.out());
                assertEquals(want.get("tokens"), got.get("tokens"), "line " + (i + 1));
                assertEquals(want.get("text"), got.get("text"), "line " + (i + 1));
                assertEquals(want.get("finish"), got.get("finish"), "line " + (i + 1));
            }
        }
        // stdin, and LLaVA with an image for every prompt
        Run in = run("what is it?\nand the colour?\n", "chat", "--model", LLAVA.toString(), "--image", PNG.toString(),
                "--max-tokens", "6", "--prompts", "-");
        assertEquals(0, in.code(), in.err());
        String[] lines = in.out().strip().split("\\R");
        assertEquals(2, lines.length, in.out());
        for (int i = 0; i < 2; i++) {
            JsonNode got = new ObjectMapper().readTree(lines[i]);
            JsonNode want = new ObjectMapper().readTree(run(null, "chat", "--model", LLAVA.toString(), "--image",
                    PNG.toString(), "--max-tokens", "6", "--json", got.get("prompt").asText()).out());
            assertEquals(want.get("tokens"), got.get("tokens"), got.toString());
        }
        // JSON lines: each line's own image (relative to the file), none, and three lines that cannot be answered
        Files.copy(PNG, dir.resolve("photo.png"));
        Path jl = dir.resolve("captions.jsonl");
        Files.writeString(jl, String.join("\n", "{\"prompt\": \"what is it?\", \"image\": \"photo.png\"}",
                "{\"prompt\": \"hello\"}", "", "{\"prompt\": \"and this?\", \"image\": \"missing.png\"}",
                "not json", "{\"image\": \"photo.png\"}", "{\"prompt\": \"two\", \"images\": [\"photo.png\", \"photo.png\"]}"),
                StandardCharsets.UTF_8);
        Run j = run(null, "chat", "--model", LLAVA.toString(), "--max-tokens", "5", "--prompts", jl.toString());
        assertEquals(2, j.code(), j.err());
        assertTrue(j.err().lines().anyMatch(l -> l.startsWith("error: 3 of 6 prompts refused")), j.err());
        String[] out = j.out().strip().split("\\R");
        assertEquals(6, out.length, j.out());
        String[][] alone = {{"--image", dir.resolve("photo.png").toString(), "what is it?"}, {"hello"}, null, null,
            null, {"--image", dir.resolve("photo.png").toString(), "--image", dir.resolve("photo.png").toString(), "two"}};
        int[] lineNo = {1, 2, 4, 5, 6, 7};
        for (int i = 0; i < out.length; i++) {
            JsonNode got = new ObjectMapper().readTree(out[i]);
            assertEquals(lineNo[i], got.get("line").asInt(), out[i]);
            if (alone[i] == null) {
                assertTrue(got.has("error") && !got.has("tokens"), out[i]);
                continue;
            }
            JsonNode want = new ObjectMapper().readTree(run(null, concat(new String[] {"chat", "--model",
                    LLAVA.toString(), "--max-tokens", "5", "--json"}, alone[i])).out());
            assertEquals(want.get("tokens"), got.get("tokens"), out[i]);
        }
        assertTrue(new ObjectMapper().readTree(out[2]).get("error").asText().contains("missing.png"), out[2]);
        assertTrue(new ObjectMapper().readTree(out[3]).get("error").asText().contains("not JSON"), out[3]);
        assertTrue(new ObjectMapper().readTree(out[4]).get("error").asText().contains("\"prompt\""), out[4]);
        // a text-only decoder refuses a line's image, answers the others
        Path tj = dir.resolve("text.jsonl");
        Files.writeString(tj, "{\"prompt\": \"hi\"}\n{\"prompt\": \"hi\", \"image\": \"photo.png\"}\n");
        Run t = run(null, "chat", "--model", MODEL.toString(), "--max-tokens", "3", "--prompts", tj.toString());
        assertEquals(2, t.code(), t.err());
        String[] tl = t.out().strip().split("\\R");
        assertTrue(new ObjectMapper().readTree(tl[0]).has("tokens") && tl[1].contains("text-only decoder"), t.out());
        Path blank = dir.resolve("blank.txt");
        Files.writeString(blank, "\n  \n");
        assertOneLineErrors(
                new String[] {"chat", "--model", MODEL.toString(), "--prompts", file.toString(), "hi"},
                new String[] {"chat", "--model", MODEL.toString(), "--prompts", file.toString(), "--batch", "0"},
                new String[] {"chat", "--model", MODEL.toString(), "--prompts", dir.resolve("none.txt").toString()},
                new String[] {"chat", "--model", MODEL.toString(), "--prompts", blank.toString()});
    }

    @Test
    void badInputGivesOneErrorLine() throws Exception {
        Run missing = run(null, "chat", "--model", "/nonexistent/model", "hi");
        assertEquals(2, missing.code());
        assertTrue(missing.err().startsWith("error: model directory not found"), missing.err());
        Run image = run(null, "chat", "--model", MODEL.toString(), "--image", "x.png", "hi");
        assertEquals(2, image.code());
        assertTrue(image.err().contains("--image needs a LLaVA model"), image.err());
        String longPrompt = "word ".repeat(400);
        Run tooLong = run(null, "chat", "--model", MODEL.toString(), longPrompt);
        assertEquals(2, tooLong.code());
        assertTrue(tooLong.err().contains("context"), tooLong.err());
        Path empty = Files.createTempDirectory("chat-notemplate");
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
            Files.copy(MODEL.resolve(f), empty.resolve(f));
        }
        Run noTpl = run(null, "chat", "--model", empty.toString(), "hi");
        assertEquals(2, noTpl.code());
        assertTrue(noTpl.err().contains("--raw"), noTpl.err());
    }
}
