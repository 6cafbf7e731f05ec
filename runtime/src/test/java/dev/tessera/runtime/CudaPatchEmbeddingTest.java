package dev.tessera.runtime;

import static dev.tessera.runtime.PatchEmbeddingTest.conv1dRef;
import static dev.tessera.runtime.PatchEmbeddingTest.conv2dRef;
import static dev.tessera.runtime.PatchEmbeddingTest.random;
import static dev.tessera.runtime.TestSupport.assertRel;
import static dev.tessera.runtime.TestSupport.assertShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.PatchEmbedding.Layout;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link PatchEmbedding} on CUDA (gather kernel + cuBLAS + fused finish, F32 / F16 / BF16). The GPU bundle
 * carries no OpenBLAS, so the CPU op (which {@link PatchEmbeddingTest} checks against the same reference) cannot
 * run there; the CUDA result is compared with the float64 Conv2d / Conv1d of {@link PatchEmbeddingTest} instead.
 * Bounds: fp32 ≤ 1e-5 (FP32 matmul precision), F16 / BF16 ≤ 1e-2. Device outputs are poisoned with NaN before
 * each op (a NaN block of the output's size is allocated and released, and the caching allocator hands it back).
 *
 * <p>Skipped, with the reason, where CUDA is unavailable.
 */
class CudaPatchEmbeddingTest extends CudaTestBase {
    private MatmulPrecision saved;

    @BeforeEach
    void savePrecision() {
        saved = Ops.defaultMatmulPrecision();
        Ops.setDefaultMatmulPrecision(MatmulPrecision.FP32);
    }

    @AfterEach
    void restorePrecision() {
        Ops.setDefaultMatmulPrecision(saved);
    }

    private static void poison(DType dtype, long elements) {
        float[] nan = new float[Math.toIntExact(elements)];
        Arrays.fill(nan, Float.NaN);
        try (Tensor t = Tensor.of(nan, GPU, elements); Tensor c = dtype == DType.F32 ? null : t.to(dtype)) {
            Backends.get(GPU).synchronize(GPU);
        }
    }

    private static Tensor gpu(float[] data, DType dtype, long... shape) {
        Tensor t = Tensor.of(data, GPU, shape);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    static Stream<Arguments> cases2d() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            b.add(Arguments.of(dt, 4, 3, 224, 224, 64, 16, 16, true, true, true)); // ViT-B/16 geometry
            b.add(Arguments.of(dt, 3, 1, 12, 12, 5, 4, 4, true, false, true));
            b.add(Arguments.of(dt, 3, 2, 6, 9, 7, 2, 3, false, true, false)); // ph != pw, odd D (no vector path)
            b.add(Arguments.of(dt, 2, 3, 32, 48, 33, 16, 16, true, false, false));
            b.add(Arguments.of(dt, 2, 3, 32, 32, 16, 8, 8, false, false, true));
            b.add(Arguments.of(dt, 1, 3, 16, 16, 8, 16, 16, false, false, false));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} n={1} c={2} {3}x{4} d={5} patch {6}x{7} bias={8} cls={9} pos={10}")
    @MethodSource("cases2d")
    void embed2dMatchesConv2d(DType dt, int n, int c, int h, int w, int d, int ph, int pw, boolean withBias,
            boolean withCls, boolean withPos) {
        int l = (h / ph) * (w / pw);
        int rows = l + (withCls ? 1 : 0);
        float[] x = random(n * c * h * w, 101);
        float[] wt = random(d * c * ph * pw, 102);
        float[] bias = withBias ? random(d, 103) : null;
        float[] cls = withCls ? random(d, 104) : null;
        float[] pos = withPos ? random(rows * d, 105) : null;
        Tensor tx = gpu(x, dt, n, c, h, w);
        Tensor tw = gpu(wt, dt, d, c, ph, pw);
        Tensor tb = bias == null ? null : gpu(bias, dt, d);
        Tensor tc = cls == null ? null : gpu(cls, dt, 1, 1, d);
        Tensor tp = pos == null ? null : gpu(pos, dt, 1, rows, d);
        poison(dt, (long) n * rows * d);
        Tensor out = PatchEmbedding.embed2d(tx, tw, tb, tc, tp);
        assertShape(out, n, rows, d);
        assertEquals(dt, out.dtype());
        double tol = dt == DType.F32 ? 1e-5 : 1e-2;
        double e = assertRel(out.toFloatArray(), conv2dRef(x, n, c, h, w, wt, d, ph, pw, bias, cls, pos), tol,
                "cuda embed2d " + dt);
        System.out.printf("cuda embed2d %s n=%d %dx%d d=%d patch %dx%d: rel err %.3e%n", dt, n, h, w, d, ph, pw, e);
    }

    static Stream<Arguments> cases1d() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (DType dt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (Layout layout : Layout.values()) {
                b.add(Arguments.of(dt, layout, 2, 5, 15, 6, 3, 1, 1, true));
                b.add(Arguments.of(dt, layout, 3, 4, 16, 8, 3, 2, 1, false));
                b.add(Arguments.of(dt, layout, 2, 80, 300, 64, 3, 1, 1, true)); // Whisper conv1 geometry
                b.add(Arguments.of(dt, layout, 2, 64, 300, 64, 3, 2, 1, true)); // Whisper conv2 geometry
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1} n={2} c={3} t={4} d={5} k={6} stride={7} pad={8} bias={9}")
    @MethodSource("cases1d")
    void conv1dMatchesConv1d(DType dt, Layout layout, int n, int c, int t, int d, int k, int stride, int pad,
            boolean withBias) {
        float[] x = random(n * c * t, 201);
        float[] wt = random(d * c * k, 202);
        float[] bias = withBias ? random(d, 203) : null;
        int tOut = (t + 2 * pad - k) / stride + 1;
        Tensor tx = gpu(x, dt, n, c, t);
        Tensor tw = gpu(wt, dt, d, c, k);
        Tensor tb = bias == null ? null : gpu(bias, dt, d);
        poison(dt, (long) n * tOut * d);
        Tensor out = PatchEmbedding.conv1d(tx, tw, tb, stride, pad, layout);
        boolean cf = layout == Layout.CHANNELS_FIRST;
        if (cf) {
            assertShape(out, n, d, tOut);
        } else {
            assertShape(out, n, tOut, d);
        }
        double tol = dt == DType.F32 ? 1e-5 : 1e-2;
        double e = assertRel(out.toFloatArray(), conv1dRef(x, n, c, t, wt, d, k, bias, stride, pad, cf), tol,
                "cuda conv1d " + dt + " " + layout);
        System.out.printf("cuda conv1d %s %s t=%d k=%d s=%d: rel err %.3e%n", dt, layout, t, k, stride, e);
    }

    @Test
    void gathersMatchTheCpuGathers() {
        // the im2col kernels alone need no BLAS: compare them bit for bit with the CPU ones
        float[] x = random(2 * 3 * 12 * 20, 301);
        try (Tensor cpu = PatchEmbedding.patchify(Tensor.of(x, 2, 3, 12, 20), 4, 5);
                Tensor g = PatchEmbedding.patchify(Tensor.of(x, GPU, 2, 3, 12, 20), 4, 5)) {
            assertRel(g.toFloatArray(), cpu.toFloatArray(), 0, "cuda patchify");
        }
        try (Tensor cpu = PatchEmbedding.im2col1d(Tensor.of(x, 2, 9, 80), 3, 2, 1);
                Tensor g = PatchEmbedding.im2col1d(Tensor.of(x, GPU, 2, 9, 80), 3, 2, 1)) {
            assertRel(g.toFloatArray(), cpu.toFloatArray(), 0, "cuda im2col1d");
        }
    }

    @Test
    void mixedDevicesAreRejected() {
        Tensor x = Tensor.of(random(3 * 16 * 16, 1), GPU, 1, 3, 16, 16);
        Tensor w = Tensor.of(random(4 * 3 * 4 * 4, 2), 4, 3, 4, 4); // on the CPU
        var e = assertThrows(IllegalArgumentException.class, () -> PatchEmbedding.embed2d(x, w, null));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("different devices"), e.getMessage());
    }
}
