package dev.tessera.bench;


import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.bindings.jni.AttentionNative;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
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
 * Fused attention forward on a CUDA device ({@link Attention#scaledDotProduct}, tensor-core kernels) in TFLOP/s,
 * the same cases and the same timing as {@code bench/gpu/attention_torch.py} (PyTorch
 * {@code scaled_dot_product_attention}): bf16 (or fp16), seq 1024 / 4096 / 16384, head_dim 64 and 128, causal
 * and not, B·H chosen so that B·H·seq = {@code --tokens} (default 131072: B·H = 128, 32, 8 for the three lengths;
 * B = max(1, B·H / 16)); plus the {@code --extra} cases {@code BxHxSxD} (default {@code 64x12x197x64}, the
 * attention of ViT-B/16 at batch 64), causal and not. FLOPs = 4·B·H·Sq·Sk·D, halved for causal (as PyTorch's
 * flash-attention benchmarks count it).
 *
 * <p>Every case runs each tensor-core kernel of {@code --kernels} (default {@code v1,v2,wgmma}: {@link
 * Attention.CudaKernel#V1}, {@link Attention.CudaKernel#V2} and {@link Attention.CudaKernel#WGMMA}, chosen with
 * {@link Attention#setCudaKernel}) on the same inputs, one result record per (case, kernel) with a {@code kernel}
 * field (the kernel asked for) and a {@code kernelUsed} field (the one that ran: v1, v2, wgmma or simt, from
 * tsr_cuda_attention_last_kernel; a V2 request that fell back to V1 shows here). WGMMA (first run on an H200,
 * bench/results/gpu/run4-h200) is refused by devices other than compute capability 9.0: its records
 * then carry a {@code skipped} field with the reason instead of timings, and do not count as failures. Per record:
 * 3 warm-up calls,
 * a calibration to pick the calls per repetition (about {@code --target-ms}), then {@code --reps} repetitions
 * between two CUDA events on the backend stream; the best repetition is reported (and the median). Each call
 * allocates its output from the caching allocator and closes it.
 *
 * <p>Before timing, a few query rows of each case and kernel (batch 0, head 0 and the last head) are checked
 * against a float64 attention of the same bf16-rounded inputs computed here (bound 1e-2 relative).
 *
 * <pre>
 * GpuAttentionBench [--dtype bf16|fp16] [--seqs 1024,4096,16384] [--dims 64,128] [--tokens 131072]
 *                   [--extra 64x12x197x64] [--kernels v1,v2,wgmma] [--device cuda:0] [--target-ms 200] [--reps 5]
 *                   [--out gpu-attention-tessera.json]
 * </pre>
 * Exit status: 0 all cases ran and passed the check, 1 a check failed or a case threw, 3 CUDA unavailable.
 */
public final class GpuAttentionBench {
    private GpuAttentionBench() {}

    /** One shape: B, H, S (= Sq = Sk), D. */
    private record Shape(int b, int h, int seq, int d) {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuAttentionBench [--dtype bf16|fp16] [--seqs 1024,4096,16384]"
                + " [--dims 64,128] [--tokens 131072] [--extra 64x12x197x64] [--kernels v1,v2,wgmma]"
                + " [--device cuda:0] [--target-ms 200] [--reps 5] [--out FILE]");
        if (cli.help()) {
            return;
        }
        String dtypeName = cli.get("--dtype", "bf16");
        String seqs = cli.get("--seqs", "1024,4096,16384");
        String dims = cli.get("--dims", "64,128");
        String extra = cli.get("--extra", "64x12x197x64");
        String kernels = cli.get("--kernels", "v1,v2,wgmma");
        long tokens = cli.getLong("--tokens", 131072); // B*H*seq per case
        String dev = cli.get("--device", "cuda:0");
        double targetMs = cli.getDouble("--target-ms", 200);
        int reps = cli.getInt("--reps", 5);
        Path out = cli.getPath("--out", Path.of("gpu-attention-tessera.json"));
        DType dtype = switch (dtypeName) {
            case "bf16" -> DType.BF16;
            case "fp16" -> DType.F16;
            default -> throw new IllegalArgumentException("--dtype must be bf16 or fp16, got " + dtypeName);
        };
        List<Attention.CudaKernel> kernelList = new ArrayList<>();
        for (String k : kernels.split(",")) {
            if (!k.isBlank()) {
                kernelList.add(Attention.CudaKernel.parse(k));
            }
        }
        List<Shape> shapes = new ArrayList<>();
        for (String s : seqs.split(",")) {
            if (s.isBlank()) {
                continue;
            }
            int seq = Integer.parseInt(s.trim());
            for (String dd : dims.split(",")) {
                int d = Integer.parseInt(dd.trim());
                long bh = Math.max(1, tokens / seq);
                int b = (int) Math.max(1, bh / 16);
                shapes.add(new Shape(b, (int) (bh / b), seq, d));
            }
        }
        for (String e : extra.split(",")) {
            if (e.isBlank()) {
                continue;
            }
            String[] f = e.trim().split("x");
            if (f.length != 4) {
                throw new IllegalArgumentException("--extra cases are BxHxSxD, got " + e);
            }
            shapes.add(new Shape(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                    Integer.parseInt(f[3])));
        }
        Map<String, Object> doc = GpuBench.header("fused attention forward, [B, H, S, D], " + dtypeName);
        doc.put("kernels", kernels);
        doc.put("method", "per case and kernel: 3 warm-up calls, calibration, then " + reps + " repetitions of N"
                + " back-to-back Attention.scaledDotProduct calls (output from the caching allocator, closed) between"
                + " CUDA events on the backend stream, N chosen for ~" + targetMs + " ms; best repetition reported;"
                + " TFLOP/s = 4*B*H*S*S*D (/2 causal) / time");
        Device device = GpuBench.device("GpuAttentionBench", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(device.index());
        System.out.printf(Locale.ROOT, "GpuAttentionBench on %s (%s), %s, kernels %s%n", device, di.name(), dtypeName,
                kernels);
        System.out.printf(Locale.ROOT, "%-6s %4s %4s %-7s %-6s %10s %10s %9s %8s%n", "seq", "D", "B*H", "causal",
                "kernel", "best ms", "median ms", "TFLOP/s", "check");
        List<Object> results = new ArrayList<>();
        doc.put("results", results);
        boolean allOk = true;
        long stream = cuda.stream(device);
        Attention.CudaKernel before = Attention.cudaKernel();
        try {
            for (Shape sh : shapes) {
                for (boolean causal : new boolean[] {false, true}) {
                    allOk &= runCase(cuda, device, stream, dtype, dtypeName, sh, causal, kernelList, targetMs, reps,
                            results);
                }
            }
        } finally {
            Attention.setCudaKernel(before);
        }
        GpuBench.write(out, doc);
        System.exit(allOk ? 0 : 1);
    }

    /** One shape, causal or not, every kernel on the same inputs; appends one record per kernel. */
    private static boolean runCase(CudaBackend cuda, Device device, long stream, DType dtype, String dtypeName,
            Shape sh, boolean causal, List<Attention.CudaKernel> kernels, double targetMs, int reps,
            List<Object> results) {
        int b = sh.b(), h = sh.h(), seq = sh.seq(), d = sh.d();
        boolean ok = true;
        List<Tensor> ts = new ArrayList<>();
        try {
            long n = (long) b * h * seq * d;
            Tensor q = keep(ts, toDevice(ts, random(n, 11 + seq + d), device, dtype, b, h, seq, d));
            Tensor k = keep(ts, toDevice(ts, random(n, 12 + seq + d), device, dtype, b, h, seq, d));
            Tensor v = keep(ts, toDevice(ts, random(n, 13 + seq + d), device, dtype, b, h, seq, d));
            Reference ref = new Reference(q, k, v, b, h, seq, d, causal);
            Attention.Options opt = Attention.Options.defaults().withCausal(causal);
            for (Attention.CudaKernel kernel : kernels) {
                String kname = kernel.name().toLowerCase(Locale.ROOT);
                Map<String, Object> r = caseRecord(seq, d, b, h, causal, dtypeName);
                r.put("kernel", kname);
                results.add(r);
                try {
                    Attention.setCudaKernel(kernel);
                    double err;
                    try (Tensor o = Attention.scaledDotProduct(q, k, v, opt)) {
                        String used = kernelName(AttentionNative.tsr_cuda_attention_last_kernel());
                        int schedule = AttentionNative.tsr_cuda_attention_last_schedule();
                        r.put("wgmmaSchedule", scheduleName(schedule));
                        if (used.equals("wgmma") && GpuWgmmaProbe.wsRequested()
                                && schedule != AttentionNative.SCHEDULE_WS) {
                            used = "wgmma-" + scheduleName(schedule); // asked for ws, ran another: compare.py flags it
                        }
                        r.put("kernelUsed", used);
                        err = ref.relErr(o);
                    }
                    r.put("checkRelErr", err);
                    boolean good = err <= 1e-2;
                    r.put("checkOk", good);
                    ok &= good;
                    double[] t = GpuBench.time(cuda, device, () -> Attention.scaledDotProduct(q, k, v, opt).close(),
                            targetMs, reps, 3);
                    double flop = 4.0 * b * h * (double) seq * seq * d * (causal ? 0.5 : 1.0);
                    r.put("iters", (int) t[0]);
                    r.put("bestMs", t[1]);
                    r.put("medianMs", t[2]);
                    r.put("tflops", flop / (t[1] * 1e-3) / 1e12);
                    r.put("tflopsMedian", flop / (t[2] * 1e-3) / 1e12);
                    System.out.printf(Locale.ROOT, "%-6d %4d %4d %-7s %-6s %10.3f %10.3f %9.1f %8s%n", seq, d, b * h,
                            causal, kname, t[1], t[2], flop / (t[1] * 1e-3) / 1e12,
                            good ? "ok" : String.format(Locale.ROOT, "FAIL %.1e", err));
                } catch (UnsupportedOperationException e) {
                    // WGMMA on a device other than compute capability 9.0: refused before any launch, not a failure
                    r.put("skipped", e.getMessage());
                    System.out.printf(Locale.ROOT, "%-6d %4d %4d %-7s %-6s skipped: %s%n", seq, d, b * h, causal, kname,
                            e.getMessage());
                } catch (RuntimeException e) {
                    ok = false;
                    r.put("error", e.toString());
                    System.out.printf(Locale.ROOT, "%-6d %4d causal=%s kernel=%s FAILED: %s%n", seq, d, causal, kname,
                            e);
                }
            }
        } catch (RuntimeException e) {
            Map<String, Object> r = caseRecord(seq, d, b, h, causal, dtypeName);
            r.put("error", e.toString());
            results.add(r);
            System.out.printf(Locale.ROOT, "%-6d %4d causal=%s FAILED: %s%n", seq, d, causal, e);
            ok = false;
        } finally {
            for (Tensor t : ts) {
                t.close();
            }
        }
        return ok;
    }

    /** tsr_cuda_attention_last_kernel's value as the name used in the results (v1, v2, wgmma, simt). */
    private static String kernelName(int code) {
        return switch (code) {
            case AttentionNative.KERNEL_V1 -> "v1";
            case AttentionNative.KERNEL_V2 -> "v2";
            case AttentionNative.KERNEL_WGMMA -> "wgmma";
            case AttentionNative.KERNEL_SIMT -> "simt";
            case AttentionNative.KERNEL_SIMT_ROWS -> "simt_rows";
            default -> "none";
        };
    }

    /** tsr_cuda_attention_last_schedule's value as a name (pingpong, lockstep, ws; none: not flash_wgmma). */
    private static String scheduleName(int code) {
        return switch (code) {
            case AttentionNative.SCHEDULE_PINGPONG -> "pingpong";
            case AttentionNative.SCHEDULE_LOCKSTEP -> "lockstep";
            case AttentionNative.SCHEDULE_WS -> "ws";
            default -> "none";
        };
    }

    private static Tensor keep(List<Tensor> ts, Tensor t) {
        ts.add(t);
        return t;
    }

    private static Tensor toDevice(List<Tensor> ts, float[] data, Device device, DType dtype, long... shape) {
        try (Tensor f = Tensor.of(data, device, shape)) {
            return f.to(dtype);
        }
    }

    /**
     * float64 attention for query rows {0, S/2, S-1} of (batch 0, head 0) and (last batch, last head), from the
     * device inputs as stored (bf16/fp16-rounded); copied to the host once per case.
     */
    private static final class Reference {
        private final int s, d;
        private final long[] heads;
        private final int[] rows;
        private final double[][] expected; // [head * rows + row][d]

        Reference(Tensor q, Tensor k, Tensor v, int b, int h, int s, int d, boolean causal) {
            this.s = s;
            this.d = d;
            this.heads = new long[] {0, (long) b * h - 1};
            this.rows = new int[] {0, s / 2, s - 1};
            float[] fq = q.toFloatArray();
            float[] fk = k.toFloatArray();
            float[] fv = v.toFloatArray();
            double scale = 1 / Math.sqrt(d);
            expected = new double[heads.length * rows.length][];
            int e = 0;
            for (long head : heads) {
                long base = head * s * d;
                for (int i : rows) {
                    int keys = causal ? i + 1 : s;
                    double[] sc = new double[keys];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < keys; j++) {
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) fq[(int) (base + (long) i * d + c)] * fk[(int) (base + (long) j * d + c)];
                        }
                        sc[j] = dot * scale;
                        max = Math.max(max, sc[j]);
                    }
                    double l = 0;
                    double[] acc = new double[d];
                    for (int j = 0; j < keys; j++) {
                        double p = Math.exp(sc[j] - max);
                        l += p;
                        for (int c = 0; c < d; c++) {
                            acc[c] += p * fv[(int) (base + (long) j * d + c)];
                        }
                    }
                    for (int c = 0; c < d; c++) {
                        acc[c] /= l;
                    }
                    expected[e++] = acc;
                }
            }
        }

        /** Relative L2 error of {@code o}'s checked rows (NaN counts as infinite). */
        double relErr(Tensor o) {
            float[] fo = o.toFloatArray();
            double num = 0, den = 0;
            int e = 0;
            for (long head : heads) {
                long base = head * s * d;
                for (int i : rows) {
                    double[] ref = expected[e++];
                    for (int c = 0; c < d; c++) {
                        double got = fo[(int) (base + (long) i * d + c)];
                        num += Double.isNaN(got) ? Double.POSITIVE_INFINITY : (got - ref[c]) * (got - ref[c]);
                        den += ref[c] * ref[c];
                    }
                }
            }
            return Math.sqrt(num / den);
        }
    }

    static float[] random(long count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(count)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** The fields naming one benchmark case in the results. */
    private static Map<String, Object> caseRecord(int seq, int d, int b, int h, boolean causal, String dtype) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("seq", seq);
        r.put("headDim", d);
        r.put("batch", b);
        r.put("heads", h);
        r.put("causal", causal);
        r.put("dtype", dtype);
        return r;
    }
}
