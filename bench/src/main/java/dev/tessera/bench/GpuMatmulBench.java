package dev.tessera.bench;


import dev.tessera.bindings.Versions;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.backend.CudaBackend;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times {@link Ops#matmul} on a CUDA device for square matrices in fp32, tf32 (fp32 tensors with
 * {@link MatmulPrecision#TF32}) and bf16, the same way {@code bench/gpu/torch_matmul.py} times
 * {@code torch.matmul}: a few warm-up calls, a calibration to pick the number of calls per repetition
 * (about {@code --target-ms} each), then {@code --reps} repetitions of that many back-to-back calls
 * between two CUDA events on the backend's stream; the best repetition is reported (the median too).
 * Each call allocates its output from the caching allocator and closes it, as torch.matmul does.
 *
 * <p>Before timing, each case is checked: the product is computed into an output poisoned with NaN and
 * a few rows are compared with a float64 product of the same (fp32) inputs computed here, by relative
 * error (bounds: fp32 1e-5, tf32 5e-4, bf16 1e-2). This needs no CPU BLAS, so it works from the GPU
 * bundle, which carries no OpenBLAS.
 *
 * <pre>
 * GpuMatmulBench [--sizes 1024,4096,8192] [--dtypes fp32,tf32,bf16] [--device cuda:0]
 *                [--target-ms 200] [--reps 5] [--out gpu-matmul-tessera.json]
 * </pre>
 * Exit status: 0 all cases ran and passed the check, 1 a check failed or a case threw, 3 CUDA unavailable.
 */
public final class GpuMatmulBench {
    private GpuMatmulBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuMatmulBench [--sizes 1024,4096,8192] [--dtypes fp32,tf32,bf16]"
                + " [--device cuda:0] [--target-ms 200] [--reps 5] [--check-rows 4] [--out FILE]");
        if (cli.help()) {
            return;
        }
        String sizes = cli.get("--sizes", "1024,4096,8192");
        String dtypes = cli.get("--dtypes", "fp32,tf32,bf16");
        String dev = cli.get("--device", "cuda:0");
        double targetMs = cli.getDouble("--target-ms", 200);
        int reps = cli.getInt("--reps", 5);
        int checkRows = cli.getInt("--check-rows", 4);
        Path out = cli.getPath("--out", Path.of("gpu-matmul-tessera.json"));

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("impl", "tessera");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", Versions.tessera());
        doc.put("java", HostInfo.java());
        doc.put("method", "per case: 3 warm-up calls, calibration, then " + reps + " repetitions of N back-to-back"
                + " Ops.matmul calls (output allocated from the caching allocator and closed) between CUDA events"
                + " on the backend stream, N chosen for ~" + targetMs + " ms; best repetition reported");
        Device device = GpuBench.device("GpuMatmulBench", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(device.index());
        System.out.printf(Locale.ROOT, "GpuMatmulBench on %s (%s, cc %s)%n", device, di.name(), di.computeCapability());

        List<Object> results = new ArrayList<>();
        doc.put("results", results);
        boolean allOk = true;
        long stream = cuda.stream(device);
        for (String s : sizes.split(",")) {
            int n = Integer.parseInt(s.trim());
            float[] ha = random(n * n, 11);
            float[] hb = random(n * n, 12);
            try (Tensor a32 = Tensor.of(ha, device, n, n); Tensor b32 = Tensor.of(hb, device, n, n)) {
                for (String dt : dtypes.split(",")) {
                    String dtype = dt.trim().toLowerCase(Locale.ROOT);
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("size", n);
                    r.put("dtype", dtype);
                    results.add(r);
                    Tensor a = null;
                    Tensor b = null;
                    try {
                        MatmulPrecision prec = dtype.equals("tf32") ? MatmulPrecision.TF32 : MatmulPrecision.FP32;
                        switch (dtype) {
                            case "fp32", "tf32" -> {
                                a = a32.reshape(n, n);
                                b = b32.reshape(n, n);
                            }
                            case "bf16" -> {
                                a = Ops.convert(a32, DType.BF16);
                                b = Ops.convert(b32, DType.BF16);
                            }
                            case "fp16" -> {
                                a = Ops.convert(a32, DType.F16);
                                b = Ops.convert(b32, DType.F16);
                            }
                            default -> throw new IllegalArgumentException("unknown dtype " + dtype
                                    + " (fp32, tf32, bf16, fp16)");
                        }
                        double bound = switch (dtype) {
                            case "fp32" -> 1e-5;
                            case "tf32" -> 5e-4;
                            default -> 1e-2;
                        };
                        double err = check(cuda, device, a, b, ha, hb, n, prec, checkRows);
                        r.put("relErr", err);
                        r.put("errBound", bound);
                        boolean ok = err <= bound; // false for NaN
                        r.put("ok", ok);
                        allOk &= ok;
                        double[] t = time(cuda, device, stream, a, b, prec, targetMs, reps);
                        double flop = 2.0 * n * n * n;
                        r.put("iters", (int) t[0]);
                        r.put("reps", reps);
                        r.put("msBest", t[1]);
                        r.put("msMedian", t[2]);
                        r.put("msWall", t[3]);
                        r.put("tflops", flop / (t[1] * 1e-3) / 1e12);
                        r.put("tflopsMedian", flop / (t[2] * 1e-3) / 1e12);
                        System.out.printf(Locale.ROOT, "  n=%-5d %-4s %9.4f ms  %8.2f TFLOP/s  rel err %.2e %s%n", n,
                                dtype, t[1], flop / (t[1] * 1e-3) / 1e12, err, ok ? "ok" : "FAILS bound " + bound);
                    } catch (RuntimeException | Error e) {
                        allOk = false;
                        r.put("error", e.toString());
                        System.out.printf(Locale.ROOT, "  n=%-5d %-4s FAILED: %s%n", n, dtype, e);
                        e.printStackTrace();
                    } finally {
                        if (a != null) {
                            a.close();
                        }
                        if (b != null) {
                            b.close();
                        }
                    }
                }
            }
        }
        doc.put("memory", Map.of("peakAllocatedBytes", cuda.memoryStats(device).peakAllocatedBytes(),
                "rawMallocs", cuda.memoryStats(device).allocations()));
        GpuBench.write(out, doc);
        System.out.println("wrote " + out);
        System.exit(allOk ? 0 : 1);
    }

    /** Product into a NaN-poisoned output; a few rows against float64 from the fp32 host inputs. */
    private static double check(CudaBackend cuda, Device device, Tensor a, Tensor b, float[] ha, float[] hb, int n,
            MatmulPrecision prec, int rows) {
        Tensor c;
        try (Tensor nan = Ops.affine(a, 0f, Float.NaN)) {
            c = nan.reshape(n, n);
        }
        try (Tensor cc = c) {
            cuda.gemm(false, false, n, n, n, 1f, a, n, 0, b, n, 0, 0f, cc, n, (long) n * n, 1, prec);
            cuda.synchronize(device);
            double num = 0;
            double den = 0;
            int[] pick = rows <= 1 ? new int[] {n - 1} : new int[rows];
            for (int i = 0; i < pick.length && rows > 1; i++) {
                pick[i] = (int) ((long) i * (n - 1) / (rows - 1));
            }
            double[] ref = new double[n];
            for (int r : pick) {
                Arrays.fill(ref, 0);
                for (int k = 0; k < n; k++) {
                    double av = ha[r * n + k];
                    int off = k * n;
                    for (int j = 0; j < n; j++) {
                        ref[j] += av * hb[off + j];
                    }
                }
                float[] got;
                try (Tensor row = cc.slice(0, r, r + 1)) {
                    got = row.toFloatArray();
                }
                for (int j = 0; j < n; j++) {
                    double d = got[j] - ref[j];
                    num += d * d;
                    den += ref[j] * ref[j];
                }
            }
            return Math.sqrt(num / den);
        }
    }

    /** {iters, best ms per call, median ms per call, wall ms per call of the best repetition}. */
    private static double[] time(CudaBackend cuda, Device device, long stream, Tensor a, Tensor b,
            MatmulPrecision prec, double targetMs, int reps) {
        return GpuBench.time(cuda, device, () -> Ops.matmul(a, b, prec).close(), targetMs, reps, 5);
    }

    static float[] random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }
}
