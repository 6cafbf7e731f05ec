package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.models.Fixtures;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The tiny random-weight BERT of {@code bert/tiny} (2 layers, 48 wide, 4 heads of 12, padded batch) on CUDA against
 * the PyTorch float64 reference committed beside it ({@code make_fixtures.py}): last hidden state F32 ≤ 1e-5. It
 * needs no ONNX Runtime and no real checkpoint, so it runs from the GPU bundle (bench/gpu/run.sh); the real
 * all-MiniLM-L6-v2 against ONNX Runtime is {@link CudaMiniLmTest} (in-repo runs only: its model and ORT do not fit
 * the bundle). Skipped, with the reason, where CUDA is unavailable.
 */
class CudaBertTest {
    @Test
    void tinyBertMatchesPyTorchOnCuda() throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        Path dir = Fixtures.resource("bert/tiny");
        Npy.Array ids = Npy.read(dir.resolve("ids.npy"));
        Npy.Array mask = Npy.read(dir.resolve("mask.npy"));
        Npy.Array types = Npy.read(dir.resolve("types.npy"));
        float[] ref = Npy.read(dir.resolve("hidden.npy")).requireFloats();
        long[] sh = ids.shape();
        try (BertModel m = BertModel.fromSafetensors(dir, cuda); Scope s = Tessera.scope()) {
            Tensor h = m.forward(Tensor.ofInts(ids.ints(), cuda, sh), Tensor.ofInts(mask.ints(), cuda, sh),
                    Tensor.ofInts(types.ints(), cuda, sh));
            assertArrayEquals(new long[] {sh[0], sh[1], m.config().hiddenSize()}, h.shape());
            double r = Fixtures.relErr(h.toFloatArray(), ref);
            System.out.printf("cuda tiny BERT F32: last hidden state rel err %.3g%n", r);
            assertTrue(r <= 1e-5, "rel err " + r);
        }
    }
}
