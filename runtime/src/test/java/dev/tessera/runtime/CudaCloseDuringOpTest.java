package dev.tessera.runtime;

import static dev.tessera.runtime.CloseDuringOpTest.race;
import static dev.tessera.runtime.CloseDuringOpTest.random;

import org.junit.jupiter.api.Test;

/**
 * {@link CloseDuringOpTest} on CUDA: ops queue their kernels on the device's one stream and return, so an argument
 * closed meanwhile goes back to the caching allocator's list for that stream, and the NaN-filled blocks allocated
 * right after it are written in stream order, after the kernels that read it. Every result must still equal the
 * undisturbed one.
 */
class CudaCloseDuringOpTest extends CudaTestBase {
    @Test
    void closeWhileOpsRunOnTheDevice() throws Exception {
        try (Tensor b = random(2, GPU, 512, 512)) {
            Tensor a = random(1, GPU, 512, 512);
            race("cuda matmul", GPU, a.numel(), a::close, () -> Ops.matmul(a, b));
        }
        try (Tensor q = random(3, GPU, 2, 8, 256, 64); Tensor k = random(4, GPU, 2, 8, 256, 64)) {
            Tensor v = random(5, GPU, 2, 8, 256, 64);
            race("cuda attention", GPU, v.numel(), v::close, () -> Attention.scaledDotProduct(q, k, v, true));
        }
        try (Tensor g = random(6, GPU, 768); Tensor be = random(7, GPU, 768)) {
            Tensor x = random(8, GPU, 512, 768);
            race("cuda layerNorm", GPU, x.numel(), x::close, () -> Ops.layerNorm(x, g, be, 1e-5f));
        }
        Tensor audio = random(9, GPU, 2, 48_000);
        race("cuda LogMel.compute", GPU, audio.numel(), audio::close,
                () -> LogMel.compute(audio, null, LogMelConfig.whisper().unpadded()));
    }
}
