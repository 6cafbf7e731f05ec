package dev.tessera.models.clip;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.Fixtures;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CLIP's image and text towers on CUDA vs the committed float64-PyTorch references of the fixtures
 * ({@link ClipParityTest}'s): F32 ≤ 1e-4 like the CPU; BF16 ≤ 2e-2 (issue 4), or no worse than PyTorch's own
 * {@code torch.autocast(bfloat16)} on the same weights and inputs where that is larger ({@code vision/bf16_reference.json},
 * written by {@code bf16_reference.py}: 2.8e-3 to 1.1e-2 on these fixtures, so 2e-2 applies to all three). Skipped,
 * with the backend's reason, where CUDA is unavailable.
 */
class CudaClipTest {
    @ParameterizedTest
    @ValueSource(strings = {"clip-a", "clip-b", "clip-c"})
    void imageAndTextEmbeddingsOnCuda(String name) throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        JsonNode torchBf16 = new ObjectMapper().readTree(Fixtures.resource("vision/bf16_reference.json").toFile()).get(name);
        double imageBf16 = Math.max(2e-2, torchBf16.get("autocast_bf16_image_rel_err").asDouble());
        double textBf16 = Math.max(2e-2, torchBf16.get("autocast_bf16_text_rel_err").asDouble());
        Path dir = ClipParityTest.fixtureDir(name);
        Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
        int[][] ids = ClipParityTest.ids(dir);
        float[] refImage = Npy.read(dir.resolve("image_embeds.npy")).requireFloats();
        float[] refText = Npy.read(dir.resolve("text_embeds.npy")).requireFloats();
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            try (ClipModel m = ClipModel.load(dir, cuda, dt); Tensor x = Tensor.of(px.requireFloats(), cuda, px.shape());
                    Tensor e = m.imageEmbeds(x); Tensor he = e.to(Device.CPU); Tensor t = m.textEmbeds(ids);
                    Tensor ht = t.to(Device.CPU)) {
                double ri = Fixtures.relErr(he.toFloatArray(), refImage);
                double rt = Fixtures.relErr(ht.toFloatArray(), refText);
                System.out.printf("cuda %s %s: image embeds rel err %.3g, text embeds rel err %.3g%n", name, dt, ri, rt);
                double bi = dt == DType.F32 ? 1e-4 : imageBf16;
                double bt = dt == DType.F32 ? 1e-4 : textBf16;
                assertTrue(ri <= bi, name + " " + dt + " image embeds rel err " + ri + " (bound " + bi + ")");
                assertTrue(rt <= bt, name + " " + dt + " text embeds rel err " + rt + " (bound " + bt + ")");
            }
        }
    }
}
