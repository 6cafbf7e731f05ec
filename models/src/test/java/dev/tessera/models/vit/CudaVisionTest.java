package dev.tessera.models.vit;

import dev.tessera.models.Fixtures;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.clip.ClipModel;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** ViT logits and CLIP image embeddings on CUDA vs the committed references: F32 (≤ 1e-4) and BF16 (≤ 3e-2). */
class CudaVisionTest {
    @Test
    void vitAndClipOnCuda() throws Exception {
        Backend.Availability av = Backends.forType(Device.Type.CUDA).availability();
        Assumptions.assumeTrue(av.available(), "CUDA unavailable: " + av.reason());
        Device cuda = Device.parse("cuda:0");
        for (String name : new String[] {"vit-a", "vit-b"}) {
            Path dir = ViTParityTest.fixtureDir(name);
            Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
            float[] ref = Npy.read(dir.resolve("logits.npy")).requireFloats();
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                try (ViTForImageClassification m = ViTForImageClassification.load(dir, cuda, dt);
                        Tensor x = Tensor.of(px.requireFloats(), cuda, px.shape()); Tensor l = m.logits(x);
                        Tensor h = l.to(Device.CPU)) {
                    double r = Fixtures.relErr(h.toFloatArray(), ref);
                    System.out.printf("cuda %s %s: logits rel err %.3g%n", name, dt, r);
                    assertTrue(r <= (dt == DType.F32 ? 1e-4 : 3e-2), name + " " + dt + " rel err " + r);
                }
            }
        }
        Path dir = ViTParityTest.fixtureDir("clip-b");
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        try (ClipModel m = ClipModel.load(dir, cuda, DType.F32); Tensor x = Tensor.of(px.requireFloats(), cuda, px.shape());
                Tensor e = m.imageEmbeds(x); Tensor h = e.to(Device.CPU)) {
            double r = Fixtures.relErr(h.toFloatArray(), Npy.read(dir.resolve("image_embeds.npy")).requireFloats());
            System.out.printf("cuda clip-b F32: image embeds rel err %.3g%n", r);
            assertTrue(r <= 1e-4, "rel err " + r);
        }
    }
}
