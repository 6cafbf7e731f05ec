package dev.tessera.models.vit;

import dev.tessera.models.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ViT logits vs torchvision's VisionTransformer loaded with the same random weights (fixtures from
 * src/test/resources/vision/make_fixtures.py) on two sizes; bad inputs.
 */
class ViTParityTest {
    static Path fixtureDir(String name) {
        return Fixtures.resource("vision/" + name);
    }


    @ParameterizedTest
    @ValueSource(strings = {"vit-a", "vit-b", "vit-c"})
    void logitsMatchTorchvision(String name) throws Exception {
        Path dir = fixtureDir(name);
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        try (ViTForImageClassification m = ViTForImageClassification.load(dir, Device.CPU, null);
                Tensor pixels = Tensor.of(px.requireFloats(), px.shape());
                Tensor logits = m.logits(pixels)) {
            assertEquals(m.config().labels().size(), logits.dim(1));
            assertEquals("class_0", m.config().labels().get(0));
            double r = Fixtures.relErr(logits.toFloatArray(), Npy.read(dir.resolve("logits.npy")).requireFloats());
            System.out.printf("%s: logits rel err vs torchvision %.3g%n", name, r);
            assertTrue(r <= 1e-4, "rel err " + r);
        }
    }

    @Test
    void memoryFlatOverManyInferences() throws Exception {
        Path dir = fixtureDir("vit-a");
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        try (ViTForImageClassification m = ViTForImageClassification.load(dir, Device.CPU, null);
                Tensor pixels = Tensor.of(px.requireFloats(), px.shape())) {
            // the whole pipeline: decode a real photo, preprocess, classify
            Path photo = Paths.get("../runtime/src/test/resources/image/chelsea.png").toAbsolutePath().normalize();
            dev.tessera.runtime.image.ImagePreprocessor pre = dev.tessera.runtime.image.ImagePreprocessor.load(dir,
                    m.config().imageSize(), dev.tessera.runtime.image.ImagePreprocessor.HALF,
                    dev.tessera.runtime.image.ImagePreprocessor.HALF, new dev.tessera.runtime.image.ImageDecoder());
            Runnable once = () -> {
                m.logits(pixels).close();
                try (Tensor img = pre.preprocess(java.util.List.of(photo), Device.CPU); Tensor l = m.logits(img)) {
                    assertEquals(5, l.dim(1));
                }
            };
            once.run();
            dev.tessera.runtime.Backend cpu = dev.tessera.runtime.Backends.get(Device.CPU);
            long before = cpu.memoryStats(Device.CPU).allocatedBytes();
            for (int i = 0; i < 50; i++) {
                once.run();
            }
            assertEquals(before, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes allocated after 50 rounds of decode + preprocess + 2 inferences");
        }
    }

    @Test
    void badInputs(@TempDir Path tmp) throws Exception {
        Path dir = fixtureDir("vit-a");
        try (ViTForImageClassification m = ViTForImageClassification.load(dir, Device.CPU, null);
                Tensor wrong = Tensor.of(new float[3 * 16 * 16], 1, 3, 16, 16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.logits(wrong));
            assertTrue(e.getMessage().contains("[N, 3, 32, 32]"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ViTForImageClassification.load(tmp, Device.CPU, null));
        Files.writeString(tmp.resolve("config.json"), "{\"hidden_size\": 64, \"num_attention_heads\": 5}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ViTForImageClassification.load(tmp, Device.CPU, null));
        assertTrue(e.getMessage().contains("num_attention_heads"), e.getMessage());
        Files.writeString(tmp.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
        Files.copy(dir.resolve("model.safetensors"), tmp.resolve("model.safetensors"));
        e = assertThrows(IllegalArgumentException.class, () -> ViTForImageClassification.load(tmp, Device.CPU, null));
        assertTrue(e.getMessage().contains("num_hidden_layers = 3, the checkpoint holds 2 layers (vit.encoder.layer.N.*)"),
                e.getMessage());
    }
}
