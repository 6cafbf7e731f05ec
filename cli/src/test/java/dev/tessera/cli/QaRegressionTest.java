package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regressions for the bugs the QA pass found through the CLI (docs/verification.md); fixtures and their reference
 * logits (torchvision VisionTransformer + Pillow preprocessing) from src/test/resources/qa/make_fixtures.py.
 */
class QaRegressionTest {
    static final Path QA = Paths.get("src/test/resources/qa").toAbsolutePath().normalize();

    @Test
    void classifyPixelsOfAOneChannelViT(@TempDir Path tmp) throws Exception {
        // num_channels 1: a .npy [N, 1, H, W] used to be refused as "must be [N, 3, H, W]"
        Path dir = QA.resolve("vit-gray");
        classifyMatchesReference(tmp, dir, "pixels.npy", "classify 1-channel ViT: logits rel err vs torchvision");
        // a 3-channel image file into a 1-channel model: one clear line
        ChatCommandTest.Run bad = VisionCommandsTest.run("classify",
                QA.resolve("vit-int-size").resolve("wide.png").toString(), "--model", dir.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("pixel values must be [N, 1, 16, 16]"), bad.err());
    }

    @Test
    void bareIntSizeOfAViTProcessorIsASquareAndNearestMatchesPillow(@TempDir Path tmp) throws Exception {
        // preprocessor_config.json {"size": 48, "resample": 0} (ViTFeatureExtractor): a 32x20 photo is resized to
        // 48x48 (it used to be read as a shortest edge, giving 76x48 and a shape error), with Pillow's nearest indices
        Path dir = QA.resolve("vit-int-size");
        classifyMatchesReference(tmp, dir, "wide.png", "classify with int size + nearest: logits rel err vs Pillow+torchvision");
    }

    @Test
    void patchSizeThatDoesNotDivideTheImageSize(@TempDir Path tmp) throws Exception {
        // image_size 20, patch_size 8 (used to be refused): the last 4 rows and columns are not seen, as in transformers
        Path dir = QA.resolve("vit-floor");
        classifyMatchesReference(tmp, dir, "pixels.npy", "classify with patch 8 on 20 px: logits rel err vs torchvision on the 16 px crop");
    }

    @Test
    void aCheckpointOfAnotherArchitectureIsNamedInTheError() {
        // used to list every missing ViT tensor, or complain about hidden_act, instead of naming the model type
        ChatCommandTest.Run r = VisionCommandsTest.run("classify", QA.resolve("vit-floor").resolve("pixels.npy").toString(),
                "--model", VisionCommandsTest.CLIP.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("model_type \"clip\" is not a ViT"), r.err());
        ChatCommandTest.Run c = VisionCommandsTest.run("chat", "--model", VisionCommandsTest.VIT.toString(), "--raw", "hi");
        assertEquals(2, c.code());
        assertTrue(c.err().contains("model_type \"vit\" is not supported: Tessera runs llama, mistral, qwen2 decoders"), c.err());
    }

    @Test
    void aOneClassViTShowsTheSigmoidOfItsLogit(@TempDir Path tmp) throws Exception {
        // num_labels 1: the probability shown was the softmax over one class, always 1.0000; transformers' pipelines
        // show sigmoid(logit) for a single label
        Path dir = QA.resolve("vit-one-label");
        classifyMatchesReference(tmp, dir, "pixels.npy", "classify 1-class ViT: logits rel err vs torchvision");
        ChatCommandTest.Run r = VisionCommandsTest.run("classify", dir.resolve("pixels.npy").toString(), "--model",
                dir.toString(), "--json", "--top", "3");
        assertEquals(0, r.code(), r.err());
        com.fasterxml.jackson.databind.JsonNode js = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        float[] ref = Npy.read(dir.resolve("ref_logits.npy")).requireFloats();
        assertEquals(ref.length, js.size());
        for (int i = 0; i < ref.length; i++) {
            com.fasterxml.jackson.databind.JsonNode top = js.get(i).get("top");
            assertEquals(1, top.size(), "--top 3 of one class");
            assertEquals("LABEL_0", top.get(0).get("label").asText());
            double p = top.get(0).get("prob").asDouble();
            double want = 1 / (1 + Math.exp(-ref[i]));
            assertTrue(Math.abs(p - want) <= 1e-5, "image " + i + ": prob " + p + ", sigmoid of torchvision's logit " + want);
        }
    }

    /** classify INPUT (a file in dir) --logits-out, compared with dir/ref_logits.npy (relative error <= 1e-4). */
    private static void classifyMatchesReference(Path tmp, Path dir, String input, String what) throws Exception {
        Path logits = tmp.resolve("l.npy");
        ChatCommandTest.Run r = VisionCommandsTest.run("classify", dir.resolve(input).toString(), "--model",
                dir.toString(), "--logits-out", logits.toString());
        assertEquals(0, r.code(), r.err());
        double e = VisionCommandsTest.rel(Npy.read(logits).requireFloats(),
                Npy.read(dir.resolve("ref_logits.npy")).requireFloats());
        System.out.printf(what + " %.3g%n", e);
        assertTrue(e <= 1e-4, what + ": rel err " + e);
    }
}
