package dev.tessera.bench;


import dev.tessera.bindings.Versions;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.backend.CudaBackend;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Fused attention forward on a CUDA device ({@link Attention#scaledDotProduct}, tensor-core kernel) in TFLOP/s,
 * the same cases and the same timing as {@code bench/gpu/attention_torch.py} (PyTorch
 * {@code scaled_dot_product_attention}): bf16 (or fp16), seq 1024 / 4096 / 16384, head_dim 64 and 128, causal
 * and not, B·H chosen so that B·H·seq = {@code --tokens} (default 131072: B·H = 128, 32, 8 for the three lengths,
 * 2048 query blocks of 64 rows per case, enough to fill the device; B = max(1, B·H / 16)). FLOPs =
 * 4·B·H·Sq·Sk·D, halved for causal. Per case: 3 warm-up calls, a calibration to pick the calls per repetition
 * (about {@code --target-ms}), then {@code --reps} repetitions between two CUDA events on the backend stream; the
 * best repetition is reported (and the median). Each call allocates its output from the caching allocator and
 * closes it.
 *
 * <p>Before timing, a few query rows of each case (batch 0, head 0 and the last head) are checked against a
 * float64 attention of the same bf16-rounded inputs computed here (bound 1e-2 relative).
 *
 * <pre>
 * GpuAttentionBench [--dtype bf16|fp16] [--seqs 1024,4096,16384] [--dims 64,128] [--tokens 131072]
 *                   [--device cuda:0] [--target-ms 200] [--reps 5] [--out gpu-attention-tessera.json]
 * </pre>
 * Exit status: 0 all cases ran and passed the check, 1 a check failed or a case threw, 3 CUDA unavailable.
 */
public final class GpuAttentionBench {
    private GpuAttentionBench() {}

    public static void main(String[] args) throws Exception {
        String dtypeName = "bf16";
        String seqs = "1024,4096,16384";
        String dims = "64,128";
        long tokens = 131072; // B*H*seq per case
        String dev = "cuda:0";
        double targetMs = 200;
        int reps = 5;
        Path out = Path.of("gpu-attention-tessera.json");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dtype" -> dtypeName = args[++i];
                case "--seqs" -> seqs = args[++i];
                case "--dims" -> dims = args[++i];
                case "--tokens" -> tokens = Long.parseLong(args[++i]);
                case "--device" -> dev = args[++i];
                case "--target-ms" -> targetMs = Double.parseDouble(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: GpuAttentionBench [--dtype bf16|fp16] [--seqs 1024,4096,16384]"
                            + " [--dims 64,128] [--tokens 131072] [--device cuda:0] [--target-ms 200] [--reps 5]"
                            + " [--out FILE]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (try --help)");
            }
        }
        DType dtype = switch (dtypeName) {
            case "bf16" -> DType.BF16;
            case "fp16" -> DType.F16;
            default -> throw new IllegalArgumentException("--dtype must be bf16 or fp16, got " + dtypeName);
        };
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("impl", "tessera");
        doc.put("benchmark", "fused attention forward, [B, H, S, D], " + dtypeName);
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", Versions.tessera());
        doc.put("java", HostInfo.java());
        doc.put("method", "per case: 3 warm-up calls, calibration, then " + reps + " repetitions of N back-to-back"
                + " Attention.scaledDotProduct calls (output from the caching allocator, closed) between CUDA events"
                + " on the backend stream, N chosen for ~" + targetMs + " ms; best repetition reported;"
                + " TFLOP/s = 4*B*H*S*S*D (/2 causal) / time");
        Device device = GpuBench.device("GpuAttentionBench", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(device.index());
        System.out.printf(Locale.ROOT, "GpuAttentionBench on %s (%s), %s%n", device, di.name(), dtypeName);
        System.out.printf(Locale.ROOT, "%-6s %4s %4s %-7s %10s %10s %9s %6s%n", "seq", "D", "B*H", "causal", "best ms",
                "median ms", "TFLOP/s", "check");
        List<Object> results = new ArrayList<>();
        doc.put("results", results);
        boolean allOk = true;
        long stream = cuda.stream(device);
        for (String s : seqs.split(",")) {
            int seq = Integer.parseInt(s.trim());
            for (String dd : dims.split(",")) {
                int d = Integer.parseInt(dd.trim());
                for (boolean causal : new boolean[] {false, true}) {
                    long bh = Math.max(1, tokens / seq);
                    int b = (int) Math.max(1, bh / 16);
                    int h = (int) (bh / b);
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("seq", seq);
                    r.put("headDim", d);
                    r.put("batch", b);
                    r.put("heads", h);
                    r.put("causal", causal);
                    r.put("dtype", dtypeName);
                    results.add(r);
                    List<Tensor> ts = new ArrayList<>();
                    try {
                        long n = (long) b * h * seq * d;
                        float[] hq = random(n, 11 + seq + d);
                        float[] hk = random(n, 12 + seq + d);
                        float[] hv = random(n, 13 + seq + d);
                        Tensor q = keep(ts, toDevice(ts, hq, device, dtype, b, h, seq, d));
                        Tensor k = keep(ts, toDevice(ts, hk, device, dtype, b, h, seq, d));
                        Tensor v = keep(ts, toDevice(ts, hv, device, dtype, b, h, seq, d));
                        Attention.Options opt = Attention.Options.defaults().withCausal(causal);
                        double err;
                        try (Tensor o = Attention.scaledDotProduct(q, k, v, opt)) {
                            err = check(o, q, k, v, b, h, seq, d, causal);
                        }
                        r.put("checkRelErr", err);
                        boolean ok = err <= 1e-2;
                        r.put("checkOk", ok);
                        allOk &= ok;
                        double[] t = time(cuda, device, stream, q, k, v, opt, targetMs, reps);
                        double flop = 4.0 * b * h * (double) seq * seq * d * (causal ? 0.5 : 1.0);
                        r.put("iters", (int) t[0]);
                        r.put("bestMs", t[1]);
                        r.put("medianMs", t[2]);
                        r.put("tflops", flop / (t[1] * 1e-3) / 1e12);
                        r.put("tflopsMedian", flop / (t[2] * 1e-3) / 1e12);
                        System.out.printf(Locale.ROOT, "%-6d %4d %4d %-7s %10.3f %10.3f %9.1f %6s%n", seq, d, b * h,
                                causal, t[1], t[2], flop / (t[1] * 1e-3) / 1e12, ok ? "ok" : "FAIL");
                    } catch (RuntimeException e) {
                        allOk = false;
                        r.put("error", e.toString());
                        System.out.printf(Locale.ROOT, "%-6d %4d causal=%s FAILED: %s%n", seq, d, causal, e);
                    } finally {
                        for (Tensor t : ts) {
                            t.close();
                        }
                    }
                }
            }
        }
        GpuBench.write(out, doc);
        System.exit(allOk ? 0 : 1);
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

    /** float64 attention for query rows {0, S/2, S-1} of (batch 0, head 0) and (last batch, last head). */
    private static double check(Tensor o, Tensor q, Tensor k, Tensor v, int b, int h, int s, int d, boolean causal) {
        float[] fo = o.toFloatArray();
        float[] fq = q.toFloatArray();
        float[] fk = k.toFloatArray();
        float[] fv = v.toFloatArray();
        double num = 0, den = 0;
        double scale = 1 / Math.sqrt(d);
        for (long head : new long[] {0, (long) b * h - 1}) {
            long base = head * s * d;
            for (int i : new int[] {0, s / 2, s - 1}) {
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
                    double ref = acc[c] / l;
                    double got = fo[(int) (base + (long) i * d + c)];
                    num += Double.isNaN(got) ? Double.POSITIVE_INFINITY : (got - ref) * (got - ref);
                    den += ref * ref;
                }
            }
        }
        return Math.sqrt(num / den);
    }

    private static double[] time(CudaBackend cuda, Device device, long stream, Tensor q, Tensor k, Tensor v,
            Attention.Options opt, double targetMs, int reps) {
        return GpuBench.time(cuda, device, () -> Attention.scaledDotProduct(q, k, v, opt).close(), targetMs, reps, 3);
    }

    static float[] random(long count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(count)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }
}
