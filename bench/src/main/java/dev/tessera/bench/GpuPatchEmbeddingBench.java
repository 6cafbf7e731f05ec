package dev.tessera.bench;


import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.PatchEmbedding;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.backend.CudaBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times the ViT-B/16 patch-embedding stem on a CUDA device ({@link PatchEmbedding#embed2d} with bias, class token
 * and position embeddings: N×3×224×224 → N×197×768, patch gather kernel + cuBLAS + fused finish on the backend's
 * stream), the same way {@code bench/gpu/patch_embed_torch.py} times PyTorch's conv2d + flatten + transpose + cat +
 * add: 3 warm-up calls, a calibration to pick the calls per repetition (about {@code --target-ms}), then
 * {@code --reps} repetitions between two CUDA events; the best repetition is reported (the median too). Each call
 * allocates its output (and its im2col buffer) from the caching allocator and closes them.
 *
 * <p>Before timing each case is checked: a few output rows of the first and last image against a float64 Conv2d
 * of the same fp32 host inputs computed here (no CPU BLAS needed: the GPU bundle carries none), by relative error
 * (bounds fp32 1e-5, tf32 5e-3, bf16 / fp16 1e-2).
 *
 * <pre>
 * GpuPatchEmbeddingBench [--n 64] [--dtypes fp32,bf16] [--device cuda:0] [--target-ms 200] [--reps 5]
 *                        [--out gpu-patch-embed-tessera.json]
 * </pre>
 * dtypes: fp32 (FP32 GEMM), tf32 (fp32 tensors, TF32 GEMM), bf16, fp16. Exit status: 0 all cases ran and passed
 * the check, 1 a check failed or a case threw, 3 CUDA unavailable.
 */
public final class GpuPatchEmbeddingBench {
    static final int C = 3;
    static final int HW = 224;
    static final int P = 16;
    static final int D = 768;
    static final int L = (HW / P) * (HW / P);

    private GpuPatchEmbeddingBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuPatchEmbeddingBench [--n 64] [--dtypes fp32,bf16]"
                + " [--device cuda:0] [--target-ms 200] [--reps 5] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int n = cli.getInt("--n", 64);
        String dtypes = cli.get("--dtypes", "fp32,bf16");
        String dev = cli.get("--device", "cuda:0");
        double targetMs = cli.getDouble("--target-ms", 200);
        int reps = cli.getInt("--reps", 5);
        Path out = cli.getPath("--out", Path.of("gpu-patch-embed-tessera.json"));
        Map<String, Object> doc = GpuBench.header("ViT-B/16 patch embedding stem (conv 16x16/16 + bias, cls, pos)");
        doc.put("shape", Map.of("n", n, "c", C, "h", HW, "w", HW, "patch", P, "d", D, "l", L));
        doc.put("method", "per case: 3 warm-up calls, calibration, then " + reps + " repetitions of N back-to-back"
                + " PatchEmbedding.embed2d calls (output and im2col buffer from the caching allocator, closed) between"
                + " CUDA events on the backend stream, N chosen for ~" + targetMs + " ms; best repetition reported");
        Device device = GpuBench.device("GpuPatchEmbeddingBench", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(device.index());
        System.out.printf(Locale.ROOT, "GpuPatchEmbeddingBench on %s (%s), N=%d%n", device, di.name(), n);

        float[] hx = random(n * C * HW * HW, 21);
        float[] hw = random(D * C * P * P, 22);
        float[] hb = random(D, 23);
        float[] hc = random(D, 24);
        float[] hp = random((L + 1) * D, 25);
        double flop = 2.0 * n * L * D * C * P * P;
        List<Object> results = new ArrayList<>();
        doc.put("results", results);
        boolean allOk = true;
        MatmulPrecision saved = Ops.defaultMatmulPrecision();
        long stream = cuda.stream(device);
        for (String dt : dtypes.split(",")) {
            String dtype = dt.trim().toLowerCase(Locale.ROOT);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("n", n);
            r.put("dtype", dtype);
            results.add(r);
            List<Tensor> ts = new ArrayList<>();
            try {
                DType storage = switch (dtype) {
                    case "fp32", "tf32" -> DType.F32;
                    case "bf16" -> DType.BF16;
                    case "fp16" -> DType.F16;
                    default -> throw new IllegalArgumentException("unknown dtype " + dtype + " (fp32, tf32, bf16, fp16)");
                };
                Ops.setDefaultMatmulPrecision(dtype.equals("tf32") ? MatmulPrecision.TF32 : MatmulPrecision.FP32);
                Tensor x = upload(hx, storage, device, ts, n, C, HW, HW);
                Tensor w = upload(hw, storage, device, ts, D, C, P, P);
                Tensor b = upload(hb, storage, device, ts, D);
                Tensor cls = upload(hc, storage, device, ts, 1, 1, D);
                Tensor pos = upload(hp, storage, device, ts, 1, L + 1, D);
                double bound = switch (dtype) {
                    case "fp32" -> 1e-5;
                    case "tf32" -> 5e-3;
                    default -> 1e-2;
                };
                double err;
                try (Tensor o = PatchEmbedding.embed2d(x, w, b, cls, pos)) {
                    err = check(o.toFloatArray(), hx, hw, hb, hc, hp, n);
                }
                boolean ok = err <= bound;
                r.put("relErr", err);
                r.put("errBound", bound);
                r.put("ok", ok);
                allOk &= ok;
                double[] t = time(cuda, device, stream, x, w, b, cls, pos, targetMs, reps);
                r.put("iters", (int) t[0]);
                r.put("reps", reps);
                r.put("msBest", t[1]);
                r.put("msMedian", t[2]);
                r.put("msWall", t[3]);
                r.put("tflops", flop / (t[1] * 1e-3) / 1e12);
                r.put("imagesPerSecond", n / (t[1] * 1e-3));
                System.out.printf(Locale.ROOT, "  %-5s %9.4f ms  %7.2f TFLOP/s  %9.0f img/s  rel err %.2e %s%n", dtype, t[1],
                        flop / (t[1] * 1e-3) / 1e12, n / (t[1] * 1e-3), err, ok ? "ok" : "FAILS bound " + bound);
            } catch (RuntimeException | Error e) {
                allOk = false;
                r.put("error", e.toString());
                System.out.printf(Locale.ROOT, "  %-5s FAILED: %s%n", dtype, e);
                e.printStackTrace();
            } finally {
                Ops.setDefaultMatmulPrecision(saved);
                for (Tensor t : ts) {
                    t.close();
                }
            }
        }
        doc.put("memory", Map.of("peakAllocatedBytes", cuda.memoryStats(device).peakAllocatedBytes(),
                "rawMallocs", cuda.memoryStats(device).allocations()));
        GpuBench.write(out, doc);
        System.out.println("wrote " + out);
        System.exit(allOk ? 0 : 1);
    }

    private static Tensor upload(float[] data, DType dtype, Device device, List<Tensor> owned, long... shape) {
        Tensor t = Tensor.of(data, device, shape);
        if (dtype == DType.F32) {
            owned.add(t);
            return t;
        }
        try (t) {
            Tensor c = Ops.convert(t, dtype);
            owned.add(c);
            return c;
        }
    }

    /** Relative error of rows 0, 1, 100, L of images 0 and n-1 against a float64 Conv2d + cls + pos. */
    private static double check(float[] got, float[] x, float[] w, float[] b, float[] cls, float[] pos, int n) {
        int rows = L + 1;
        int wp = HW / P;
        double num = 0;
        double den = 0;
        for (int img : new int[] {0, n - 1}) {
            for (int r : new int[] {0, 1, 100, L}) {
                for (int o = 0; o < D; o++) {
                    double ref;
                    if (r == 0) {
                        ref = cls[o];
                    } else {
                        int p = r - 1;
                        int py = p / wp;
                        int px = p % wp;
                        ref = b[o];
                        for (int c = 0; c < C; c++) {
                            for (int i = 0; i < P; i++) {
                                for (int j = 0; j < P; j++) {
                                    ref += (double) x[((img * C + c) * HW + py * P + i) * HW + px * P + j]
                                            * w[((o * C + c) * P + i) * P + j];
                                }
                            }
                        }
                    }
                    ref += pos[r * D + o];
                    double diff = got[(img * rows + r) * D + o] - ref;
                    num += diff * diff;
                    den += ref * ref;
                }
            }
        }
        return Math.sqrt(num / den);
    }

    /** {iters, best ms per call, median ms per call, wall ms per call of the best repetition}. */
    private static double[] time(CudaBackend cuda, Device device, long stream, Tensor x, Tensor w, Tensor b,
            Tensor cls, Tensor pos, double targetMs, int reps) {
        return GpuBench.time(cuda, device, () -> PatchEmbedding.embed2d(x, w, b, cls, pos).close(), targetMs, reps, 5);
    }

    static float[] random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }
}
