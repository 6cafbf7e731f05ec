package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera classify / clip / embed --image} on the random ViT and CLIP fixtures of the models module and
 * the real photo of the runtime module, in-process; the bad-input list (one line on stderr, non-zero exit).
 */
class VisionCommandsTest {
    static final Path VIT = Paths.get("../models/src/test/resources/vision/vit-a").toAbsolutePath().normalize();
    static final Path CLIP = Paths.get("../models/src/test/resources/vision/clip-a").toAbsolutePath().normalize();
    static final Path IMAGES = Paths.get("../runtime/src/test/resources/image").toAbsolutePath().normalize();

    static ChatCommandTest.Run run(String... args) {
        return ChatCommandTest.run(null, args);
    }

    static double rel(float[] out, float[] ref) {
        assertEquals(ref.length, out.length);
        double num = 0, den = 0;
        for (int i = 0; i < out.length; i++) {
            num += ((double) out[i] - ref[i]) * ((double) out[i] - ref[i]);
            den += (double) ref[i] * ref[i];
        }
        double r = Math.sqrt(num / den);
        assertTrue(!Double.isNaN(r));
        return r;
    }

    /**
     * Pixels ({@code .npy}) need no image decoding: classify and embed run in a JVM whose class path has no OpenCV
     * (as the GPU bundle, or a slim deployment), with the logits of the full class path; an image file there fails
     * in one line naming OpenCV and its missing preset class (it used to fail on the first OpenCV class even for pixels, with a stack
     * trace: picocli lets the NoClassDefFoundError through).
     */
    @Test
    void pixelsNeedNoOpenCv(@TempDir Path tmp) throws Exception {
        Path pixels = VIT.resolve("pixels.npy");
        assertEquals(0, run("classify", pixels.toString(), "--model", VIT.toString(), "--logits-out",
                tmp.resolve("with.npy").toString()).code());
        String cp = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().startsWith("opencv"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        assertTrue(!cp.equals(System.getProperty("java.class.path")), "OpenCV is on the test class path");
        for (List<String> args : List.of(
                List.of("classify", pixels.toString(), "--model", VIT.toString(), "--logits-out",
                        tmp.resolve("without.npy").toString()),
                List.of("embed", "--model", CLIP.toString(), "--image", CLIP.resolve("pixels.npy").toString(), "--out",
                        tmp.resolve("embeds.npy").toString()),
                List.of("classify", IMAGES.resolve("chelsea.png").toString(), "--model", VIT.toString()))) {
            List<String> cmd = dev.tessera.runtime.testing.ChildJvm.command(List.of(), cp, TesseraCli.class.getName(),
                    args.toArray(String[]::new));
            Process p = new ProcessBuilder(cmd).redirectError(tmp.resolve("err.txt").toFile()).start();
            p.getInputStream().readAllBytes();
            int code = p.waitFor();
            String err = Files.readString(tmp.resolve("err.txt"));
            if (args.get(1).endsWith(".png")) {
                assertEquals(1, code, err);
                assertEquals(1, err.strip().lines().count(), err);
                assertTrue(err.startsWith("error: OpenCV (decoding PNG images) cannot be loaded here: its preset jar is not"
                        + " on the class path") && err.contains("opencv"), err);
            } else {
                assertEquals(0, code, err);
            }
        }
        assertArrayEquals(Npy.read(tmp.resolve("with.npy")).requireFloats(),
                Npy.read(tmp.resolve("without.npy")).requireFloats());
        assertEquals(2, Npy.read(tmp.resolve("embeds.npy")).shape()[0]);
    }

    /**
     * A multi-label classifier (problem_type multi_label_classification) shows each class's sigmoid, as transformers'
     * pipeline does, not a softmax over the classes; an id2label key far past any real class count is refused in one
     * line (it used to allocate two billion labels and end out of memory).
     */
    @Test
    void multiLabelProbabilitiesAreSigmoidsAndAHugeLabelIdIsRefused(@TempDir Path tmp) throws Exception {
        Path ml = Files.createDirectories(tmp.resolve("multi"));
        Files.copy(VIT.resolve("model.safetensors"), ml.resolve("model.safetensors"));
        com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode cfg =
                (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(VIT.resolve("config.json").toFile());
        cfg.put("problem_type", "multi_label_classification");
        om.writeValue(ml.resolve("config.json").toFile(), cfg);
        Path pixels = VIT.resolve("pixels.npy");
        ChatCommandTest.Run r = run("classify", pixels.toString(), "--model", ml.toString(), "--json", "--top", "100",
                "--logits-out", tmp.resolve("l.npy").toString());
        assertEquals(0, r.code(), r.err());
        float[] logits = Npy.read(tmp.resolve("l.npy")).requireFloats();
        com.fasterxml.jackson.databind.JsonNode out = om.readTree(r.out());
        int c = logits.length / out.size();
        double sum = 0;
        for (com.fasterxml.jackson.databind.JsonNode t : out.get(0).get("top")) {
            double want = 1 / (1 + Math.exp(-logits[t.get("index").asInt()]));
            assertEquals(want, t.get("prob").asDouble(), 1e-6, t.toString());
            sum += t.get("prob").asDouble();
        }
        assertEquals(c, out.get(0).get("top").size());
        assertTrue(Math.abs(sum - 1) > 1e-3, "the probabilities sum to 1: a softmax");
        Path huge = Files.createDirectories(tmp.resolve("huge"));
        Files.copy(VIT.resolve("model.safetensors"), huge.resolve("model.safetensors"));
        cfg.remove("problem_type");
        cfg.putObject("id2label").put("2000000000", "x");
        om.writeValue(huge.resolve("config.json").toFile(), cfg);
        ChatCommandTest.assertOneLineErrors(new String[][] {{"classify", pixels.toString(), "--model", huge.toString()}});
        ChatCommandTest.Run h = run("classify", pixels.toString(), "--model", huge.toString());
        assertTrue(h.err().contains("id2label key 2000000000 is outside"), h.err());
    }

    /**
     * Under LC_ALL=C (ASCII), main prints UTF-8 all the same: labels read from a UTF-8 file come back intact in the
     * JSON (JDK 17 wrote '?' for every non-ASCII character; transcripts and chat replies went the same way).
     */
    @Test
    void outputIsUtf8WhateverTheLocale(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("labels.txt");
        Files.writeString(file, "caf\u00e9 cr\u00e8me\n\u65e5\u672c\u8a9e\n", java.nio.charset.StandardCharsets.UTF_8);
        ProcessBuilder pb = new ProcessBuilder(dev.tessera.runtime.testing.ChildJvm.command(TesseraCli.class.getName(),
                "clip", IMAGES.resolve("one.png").toString(), "--model", CLIP.toString(), "--labels-file", file.toString(),
                "--json"));
        pb.environment().remove("LANG");
        pb.environment().put("LC_ALL", "C");
        pb.redirectError(tmp.resolve("err.txt").toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), Files.readString(tmp.resolve("err.txt")));
        String json = new String(out, java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(json.contains("caf\u00e9 cr\u00e8me") && json.contains("\u65e5\u672c\u8a9e"), json);
    }

    @Test
    void classifyARealPhotoMatchesPillowPlusTorchvision(@TempDir Path tmp) throws Exception {
        Path logits = tmp.resolve("l.npy");
        ChatCommandTest.Run r = run("classify", IMAGES.resolve("chelsea.png").toString(), "--model", VIT.toString(),
                "--top", "3", "--json", "--logits-out", logits.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals(3, o.get(0).get("top").size());
        double e = rel(Npy.read(logits).requireFloats(), Npy.read(VIT.resolve("chelsea_logits.npy")).requireFloats());
        System.out.printf("classify chelsea.png: logits rel err vs Pillow+torchvision %.3g%n", e);
        assertTrue(e <= 1e-4, "rel err " + e);
        // preprocessed pixels from a .npy, in batches of 1 (progress bar on stderr)
        ChatCommandTest.Run n = run("classify", VIT.resolve("pixels.npy").toString(), "--model", VIT.toString(),
                "--batch", "1", "--logits-out", logits.toString());
        assertEquals(0, n.code(), n.err());
        assertTrue(n.err().contains("2/2"), n.err());
        assertEquals(2, n.out().strip().split("\n").length);
        double e2 = rel(Npy.read(logits).requireFloats(), Npy.read(VIT.resolve("logits.npy")).requireFloats());
        assertTrue(e2 <= 1e-4, "rel err " + e2);
        // --dtype f32 is the CPU's default: the same logits, at the same batch size (OpenBLAS's Haswell kernels, which
        // a host with OPENBLAS_CORETYPE=Haswell gets, sum products of another M in another order: the logits of a
        // batch of 1 and of 2 then differ in the 7th digit)
        Path l32 = tmp.resolve("l32.npy");
        assertEquals(0, run("classify", VIT.resolve("pixels.npy").toString(), "--model", VIT.toString(), "--dtype", "f32",
                "--batch", "1", "--logits-out", l32.toString()).code());
        assertArrayEquals(Npy.read(logits).requireFloats(), Npy.read(l32).requireFloats());
        // the same pixels as NumPy's default float64 (what np.save of np.random.randn(...) writes): read as float32
        Npy.Array px = Npy.read(VIT.resolve("pixels.npy"));
        Path f64 = tmp.resolve("pixels_f64.npy");
        writeFloat64(f64, px.requireFloats(), px.shape());
        Path l64 = tmp.resolve("l64.npy");
        ChatCommandTest.Run d = run("classify", f64.toString(), "--model", VIT.toString(), "--batch", "1",
                "--logits-out", l64.toString());
        assertEquals(0, d.code(), d.err());
        assertArrayEquals(Npy.read(l32).requireFloats(), Npy.read(l64).requireFloats());
    }

    /**
     * {@code --image-backend torchvision} reaches the preprocessing of classify, clip and embed --image: each gives what
     * the same command gives on the pixels that ImagePreprocessor's torchvision backend makes (checked against
     * transformers in the runtime module), and something else than the default pil backend.
     */
    @Test
    void imageBackendReachesEveryVisionCommand(@TempDir Path tmp) throws Exception {
        Path photo = IMAGES.resolve("chelsea.png");
        for (String[] c : new String[][] {{"classify", VIT.toString()}, {"embed", CLIP.toString()}, {"clip", CLIP.toString()}}) {
            Path model = Path.of(c[1]);
            dev.tessera.runtime.image.ImagePreprocessor.Style style = c[0].equals("classify")
                    ? dev.tessera.runtime.image.ImagePreprocessor.Style.VIT
                    : dev.tessera.runtime.image.ImagePreprocessor.Style.CLIP;
            Path pixels = tmp.resolve(c[0] + "-pixels.npy");
            try (dev.tessera.runtime.Tensor px = dev.tessera.runtime.image.ImagePreprocessor.load(model, 32, style,
                            new dev.tessera.runtime.image.ImageDecoder())
                    .withBackend(dev.tessera.runtime.image.ImagePreprocessor.Backend.TORCHVISION)
                    .preprocess(List.of(photo), dev.tessera.runtime.Device.CPU)) {
                Npy.writeFloats(pixels, px.toFloatArray(), 1, 3, 32, 32);
            }
            String[] outs = new String[3];
            String[][] inputs = {{photo.toString(), "torchvision"}, {pixels.toString(), "pil"}, {photo.toString(), "pil"}};
            for (int i = 0; i < 3; i++) {
                Path out = tmp.resolve(c[0] + i + ".npy");
                List<String> args = new java.util.ArrayList<>(List.of(c[0]));
                if (c[0].equals("embed")) {
                    args.addAll(List.of("--image", inputs[i][0], "--out", out.toString()));
                } else {
                    args.add(inputs[i][0]);
                }
                args.addAll(List.of("--model", c[1], "--image-backend", inputs[i][1]));
                if (c[0].equals("classify")) {
                    args.addAll(List.of("--logits-out", out.toString()));
                } else if (c[0].equals("clip")) {
                    args.addAll(List.of("--labels", "a cat,a dog,a car", "--json"));
                }
                ChatCommandTest.Run r = run(args.toArray(String[]::new));
                assertEquals(0, r.code(), c[0] + " " + i + ": " + r.err());
                outs[i] = c[0].equals("clip") ? r.out().replace(pixels.getFileName() + "[0]", photo.toString())
                        : java.util.Arrays.toString(Npy.read(out).requireFloats());
            }
            assertEquals(outs[1], outs[0], c[0] + ": torchvision backend vs its pixels");
            assertTrue(!outs[0].equals(outs[2]), c[0] + ": the pil backend gave the same output");
        }
        ChatCommandTest.Run bad = run("classify", photo.toString(), "--model", VIT.toString(), "--image-backend", "cv2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--image-backend") && bad.err().contains("pil, torchvision or transforms"),
                bad.err());
    }

    /** A little-endian float64 C-order .npy, as {@code np.save} writes it (Npy writes float32 only). */
    static void writeFloat64(Path path, float[] data, long[] shape) throws java.io.IOException {
        StringBuilder sh = new StringBuilder();
        for (long d : shape) {
            sh.append(d).append(", ");
        }
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + sh.substring(0, sh.length() - 2) + "), }";
        String header = dict + " ".repeat(63 - (10 + dict.length()) % 64) + "\n";
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + header.length() + 8 * data.length)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        for (float v : data) {
            b.putDouble(v);
        }
        java.nio.file.Files.write(path, b.array());
    }

    @Test
    void clipZeroShotAndEmbed(@TempDir Path tmp) throws Exception {
        ChatCommandTest.Run r = run("clip", IMAGES.resolve("chelsea.png").toString(), IMAGES.resolve("small.webp").toString(),
                "--model", CLIP.toString(), "--labels", "a photo of a cat, a photo of a dog,the red car", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals(2, o.size());
        double s = 0;
        for (JsonNode p : o.get(0).get("probs")) {
            s += p.asDouble();
        }
        assertEquals(1.0, s, 1e-5);
        // the text form: one line per image, its best label, then every label's probability in the labels' order
        ChatCommandTest.Run plain = run("clip", IMAGES.resolve("chelsea.png").toString(), "--model", CLIP.toString(),
                "--labels", "a photo of a cat, a photo of a dog,the red car");
        assertEquals(0, plain.code(), plain.err());
        JsonNode p0 = o.get(0).get("probs");
        String want = String.format(java.util.Locale.ROOT, "%s: %s (a photo of a cat=%.4f, a photo of a dog=%.4f, the red car=%.4f)",
                IMAGES.resolve("chelsea.png"), o.get(0).get("label").asText(), p0.get("a photo of a cat").asDouble(),
                p0.get("a photo of a dog").asDouble(), p0.get("the red car").asDouble());
        assertEquals(want, plain.out().strip());
        Path img = tmp.resolve("img.npy");
        ChatCommandTest.Run e = run("embed", "--model", CLIP.toString(), "--image", CLIP.resolve("pixels.npy").toString(),
                "--out", img.toString());
        assertEquals(0, e.code(), e.err());
        double d = rel(Npy.read(img).requireFloats(), Npy.read(CLIP.resolve("image_embeds.npy")).requireFloats());
        assertTrue(d <= 1e-4, "rel err " + d);
        Path txt = tmp.resolve("txt.npy");
        ChatCommandTest.Run t = run("embed", "--model", CLIP.toString(), "--text", "a photo of a cat", "--text", "dog",
                "--out", txt.toString());
        assertEquals(0, t.code(), t.err());
        assertEquals(2, Npy.read(txt).shape()[0]);
        assertEquals(24, Npy.read(txt).shape()[1]);
    }

    @Test
    void embedTakesSeveralValuesAfterOneImageOrTextFlag(@TempDir Path tmp) throws Exception {
        // the contract reads "embed --model DIR (--image F... | --text T...)": "--image a.png b.webp" used to fail with
        // "Unmatched arguments" (one value per flag); both forms must give the same rows, in order
        String a = IMAGES.resolve("chelsea.png").toString();
        String b = IMAGES.resolve("small.webp").toString();
        Path one = tmp.resolve("one.npy");
        Path many = tmp.resolve("many.npy");
        ChatCommandTest.Run r1 = run("embed", "--model", CLIP.toString(), "--image", a, "--image", b, "--image", a,
                "--out", one.toString());
        assertEquals(0, r1.code(), r1.err());
        ChatCommandTest.Run r2 = run("embed", "--model", CLIP.toString(), "--image", a, b, "--image", a, "--out",
                many.toString());
        assertEquals(0, r2.code(), r2.err());
        assertArrayEquals(new long[] {3, 24}, Npy.read(many).shape());
        assertArrayEquals(Npy.read(one).requireFloats(), Npy.read(many).requireFloats());
        ChatCommandTest.Run t1 = run("embed", "--model", CLIP.toString(), "--text", "a photo of a cat", "--text", "dog",
                "--text", "-the red car", "--out", one.toString());
        assertEquals(0, t1.code(), t1.err());
        ChatCommandTest.Run t2 = run("embed", "--model", CLIP.toString(), "--text", "a photo of a cat", "dog",
                "-the red car", "--out", many.toString());
        assertEquals(0, t2.code(), t2.err());
        assertArrayEquals(new long[] {3, 24}, Npy.read(many).shape());
        assertArrayEquals(Npy.read(one).requireFloats(), Npy.read(many).requireFloats());
    }

    @Test
    void aFolderGivesItsImagesByNameSkippingHiddenFilesAndOthers(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("photos"));
        Files.copy(IMAGES.resolve("chelsea.png"), dir.resolve("b.PNG"));
        Files.copy(IMAGES.resolve("one.png"), dir.resolve("a.png"));
        Files.copy(IMAGES.resolve("gif_transparent.gif"), dir.resolve("c.gif"));
        Files.write(dir.resolve("._a.png"), new byte[] {0, 5, 22, 7, 0, 2, 0, 0}); // a macOS resource fork
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        Files.createDirectories(dir.resolve("nested.png")); // a folder named like an image
        Path viaFolder = tmp.resolve("folder.npy");
        Path viaFiles = tmp.resolve("files.npy");
        ChatCommandTest.Run f = run("classify", dir.toString(), "--model", VIT.toString(), "--logits-out",
                viaFolder.toString());
        assertEquals(0, f.code(), f.err());
        ChatCommandTest.Run e = run("classify", dir.resolve("a.png").toString(), dir.resolve("b.PNG").toString(),
                dir.resolve("c.gif").toString(), "--model", VIT.toString(), "--logits-out", viaFiles.toString());
        assertEquals(0, e.code(), e.err());
        assertEquals(3, Npy.read(viaFolder).shape()[0], "a.png, b.PNG and c.gif");
        assertArrayEquals(Npy.read(viaFiles).shape(), Npy.read(viaFolder).shape());
        assertArrayEquals(Npy.read(viaFiles).requireFloats(), Npy.read(viaFolder).requireFloats());
        assertTrue(f.out().indexOf("a.png") < f.out().indexOf("b.PNG") && f.out().indexOf("b.PNG") < f.out().indexOf("c.gif")
                && !f.out().contains("._a"), f.out());
    }

    @Test
    void clipLabelsFromAFileAndThroughATemplate(@TempDir Path tmp) throws Exception {
        String img = IMAGES.resolve("chelsea.png").toString();
        Path file = tmp.resolve("labels.txt");
        Files.writeString(file, "a photo of a cat, sitting\n\n  a photo of a dog.  \n");
        ChatCommandTest.Run f = run("clip", img, "--model", CLIP.toString(), "--labels-file", file.toString(), "--json");
        assertEquals(0, f.code(), f.err());
        var probs = new com.fasterxml.jackson.databind.ObjectMapper().readTree(f.out()).get(0).get("probs");
        assertEquals(List.of("a photo of a cat, sitting", "a photo of a dog."), iterable(probs.fieldNames()));
        // a template gives what the full prompts give, under the bare labels
        ChatCommandTest.Run t = run("clip", img, "--model", CLIP.toString(), "--labels", "cat,dog", "--template",
                "a photo of a {}.", "--json");
        ChatCommandTest.Run p = run("clip", img, "--model", CLIP.toString(), "--labels",
                "a photo of a cat.,a photo of a dog.", "--json");
        assertEquals(0, t.code(), t.err());
        assertEquals(0, p.code(), p.err());
        var tp = new com.fasterxml.jackson.databind.ObjectMapper().readTree(t.out()).get(0).get("probs");
        var pp = new com.fasterxml.jackson.databind.ObjectMapper().readTree(p.out()).get(0).get("probs");
        assertEquals(List.of("cat", "dog"), iterable(tp.fieldNames()));
        assertEquals(pp.get("a photo of a cat.").asDouble(), tp.get("cat").asDouble(), 0.0);
        assertEquals(pp.get("a photo of a dog.").asDouble(), tp.get("dog").asDouble(), 0.0);
        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "\n  \n");
        ChatCommandTest.assertOneLineErrors(new String[][] {
            {"clip", img, "--model", CLIP.toString()},
            {"clip", img, "--model", CLIP.toString(), "--labels", "a", "--labels-file", file.toString()},
            {"clip", img, "--model", CLIP.toString(), "--labels-file", tmp.resolve("missing.txt").toString()},
            {"clip", img, "--model", CLIP.toString(), "--labels-file", empty.toString()},
            {"clip", img, "--model", CLIP.toString(), "--labels", "a,b", "--template", "no slot"},
        });
        ChatCommandTest.Run none = run("clip", img, "--model", CLIP.toString());
        assertTrue(none.err().startsWith("error: Missing required argument"), none.err()); // not "error: Error: ..."
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void badInputsGiveOneLineErrors(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("empty-folder"));
        Path bad = tmp.resolve("bad.npy");
        Npy.writeFloats(bad, new float[12], 1, 12);
        // malformed JSON files: Jackson's messages carry a second " at [Source: ...]" line
        Path badConfig = Files.createDirectories(tmp.resolve("bad-config"));
        Path badPre = Files.createDirectories(tmp.resolve("bad-preprocessor"));
        Path badTok = Files.createDirectories(tmp.resolve("bad-tokenizer"));
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(VIT.resolve(f), badPre.resolve(f));
        }
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(CLIP.resolve(f), badTok.resolve(f));
        }
        Files.copy(VIT.resolve("model.safetensors"), badConfig.resolve("model.safetensors"));
        Files.writeString(badConfig.resolve("config.json"), "{\"model_type\": \"vit\", \"hidden_size\": 64,\n");
        Files.writeString(badPre.resolve("preprocessor_config.json"), "{\"size\": {\"height\": 32,, \"width\": 32}}");
        Files.writeString(badTok.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}");
        String[][] cases = {
            {"classify", IMAGES.resolve("one.png").toString(), "--model", badConfig.toString()},
            {"classify", IMAGES.resolve("one.png").toString(), "--model", badPre.toString()},
            {"clip", IMAGES.resolve("one.png").toString(), "--model", badTok.toString(), "--labels", "a,b"},
            {"classify", IMAGES.resolve("empty.png").toString(), "--model", VIT.toString()},
            {"classify", IMAGES.resolve("text.png").toString(), "--model", VIT.toString()},
            {"classify", IMAGES.resolve("truncated.png").toString(), "--model", VIT.toString()},
            {"classify", IMAGES.resolve("huge.png").toString(), "--model", VIT.toString()},
            {"classify", tmp.resolve("missing.jpg").toString(), "--model", VIT.toString()},
            {"classify", tmp.resolve("empty-folder").toString(), "--model", VIT.toString()},
            {"classify", bad.toString(), "--model", VIT.toString()},
            {"classify", IMAGES.resolve("one.png").toString(), "--model", tmp.toString()},
            {"classify", IMAGES.resolve("one.png").toString(), "--model", VIT.toString(), "--top", "0"},
            {"classify", IMAGES.resolve("one.png").toString(), "--model", CLIP.toString()},
            {"clip", IMAGES.resolve("one.png").toString(), "--model", CLIP.toString(), "--labels", " , "},
            // a repeated label used to be accepted and its first probability dropped from the JSON object
            {"clip", IMAGES.resolve("one.png").toString(), "--model", CLIP.toString(), "--labels", "cat, dog,cat"},
            {"clip", IMAGES.resolve("one.png").toString(), "--model", VIT.toString(), "--labels", "a"},
            {"embed", "--model", CLIP.toString(), "--image", IMAGES.resolve("one.png").toString(), "--text", "a"},
            {"embed", "--model", CLIP.toString()},
            // half precision is a CUDA setting (bf16 / int8 on the cpu hold the matrices only); a typo is named
            {"classify", IMAGES.resolve("one.png").toString(), "--model", VIT.toString(), "--dtype", "f16"},
            {"classify", IMAGES.resolve("one.png").toString(), "--model", VIT.toString(), "--dtype", "int4"},
            {"clip", IMAGES.resolve("one.png").toString(), "--model", CLIP.toString(), "--labels", "a,b", "--dtype",
                "f16"},
            {"embed", "--model", CLIP.toString(), "--text", "a", "--dtype", "fp8"},
            {"embed", "--model", "minilm", "--text", "a", "--dtype", "f16"},
            {"classify", IMAGES.resolve("one.png").toString(), "--model", VIT.toString(), "--dtype", "int8-dynamic",
                "--device", "cuda"},
        };
        ChatCommandTest.assertOneLineErrors(cases);
        // int32 pixels: used to be "expected a float32 array, got I32 [...]" (no file name, exit 1)
        Path ints = tmp.resolve("ints.npy");
        Npy.writeInts(ints, new int[2 * 3 * 4 * 4], 2, 3, 4, 4);
        ChatCommandTest.Run r = run("classify", ints.toString(), "--model", VIT.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().strip().equals("error: " + ints + ": pixels must be a float array [N, C, H, W] (float32; float16 "
                + "and float64 are converted), got I32 [2, 3, 4, 4]"), r.err());
        // 1x1 image works
        ChatCommandTest.Run one = run("classify", IMAGES.resolve("one.png").toString(), "--model", VIT.toString());
        assertEquals(0, one.code(), one.err());
    }

    /**
     * {@code --dtype bf16 | int8 | int8-dynamic} on the cpu: ViT logits and CLIP embeddings are the library's on the
     * model loaded so (the matrices held as bfloat16 / int8 with f32 arithmetic, or int8 weights and activations),
     * close to the f32 reference and not equal to it.
     */
    @Test
    void cpuStoredMatricesGiveTheLibrarysOutputs(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Npy.Array px = Npy.read(VIT.resolve("pixels.npy"));
        float[] f32 = Npy.read(VIT.resolve("logits.npy")).requireFloats();
        for (String dt : new String[] {"bf16", "int8", "int8-dynamic"}) {
            boolean dynamic = dt.equals("int8-dynamic");
            Path l = tmp.resolve("logits-" + dt + ".npy");
            ChatCommandTest.Run r = run("classify", VIT.resolve("pixels.npy").toString(), "--model", VIT.toString(),
                    "--dtype", dt, "--batch", "2", "--logits-out", l.toString());
            assertEquals(0, r.code(), r.err());
            float[] got = Npy.read(l).requireFloats();
            float[] want;
            try (dev.tessera.models.vit.ViTForImageClassification m = dev.tessera.models.vit.ViTForImageClassification.load(
                    VIT, dev.tessera.runtime.Device.CPU, dynamic ? null : dev.tessera.runtime.DType.parseStorage(dt), dynamic);
                    dev.tessera.runtime.Tensor p = dev.tessera.runtime.Tensor.of(px.requireFloats(),
                            dev.tessera.runtime.Device.CPU, px.shape());
                    dev.tessera.runtime.Tensor lg = m.logits(p)) {
                want = lg.toFloatArray();
            }
            assertArrayEquals(want, got, dt + ": the library's logits");
            double e = rel(got, f32);
            assertTrue(e > 0 && e <= (dt.equals("bf16") ? 1e-2 : dynamic ? 6e-2 : 3e-2), dt + ": rel err vs f32 " + e);
            Path t = tmp.resolve("text-" + dt + ".npy");
            Path t32 = tmp.resolve("text-f32.npy");
            String[] texts = {"--text", "a photo of a cat", "--text", "a dog"};
            r = run(TranscribeCommandTest.concat(new String[] {"embed", "--model", CLIP.toString(), "--dtype", dt, "--out",
                t.toString()}, texts));
            assertEquals(0, r.code(), r.err());
            assertEquals(0, run(TranscribeCommandTest.concat(new String[] {"embed", "--model", CLIP.toString(), "--out",
                t32.toString()}, texts)).code());
            double te = rel(Npy.read(t).requireFloats(), Npy.read(t32).requireFloats());
            assertTrue(te > 0 && te <= (dt.equals("bf16") ? 1e-2 : dynamic ? 6e-2 : 3e-2), dt + ": CLIP text rel err vs f32 "
                    + te);
            System.out.printf("--dtype %s: ViT logits rel err %.2e, CLIP text embeddings %.2e%n", dt, e, te);
        }
    }
}
