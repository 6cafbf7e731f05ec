package dev.tessera.bench;

import dev.tessera.bindings.jni.AttentionNative;
import dev.tessera.runtime.Attention;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A first look at the Hopper attention kernel {@code flash_wgmma} in a JVM of its own, before anything else of a GPU
 * run touches it: {@code bench/gpu/run.sh} runs this probe first (with the schedule {@code TESSERA_WGMMA_SCHEDULE}
 * names, ping-pong by default) and, when it fails or dies (a kernel fault leaves the CUDA context unusable for the rest
 * of its process), probes the lockstep schedule and runs the rest with it, or, when that fails too, leaves WGMMA out
 * of the CUDA tests ({@code TESSERA_TEST_WGMMA=off}) and of the attention benchmark, so that one fault cannot cost the
 * other steps. When the default passes, it probes the warp-specialised kernel {@code flash_wgmma_ws}
 * ({@code TESSERA_WGMMA_SCHEDULE=ws}: its 257- and 130-row head_dim-64 cases run three consumer warpgroups, the
 * head_dim-128 ones two) before the tests and timings that use it.
 *
 * <p>Nine cases (D 64 and 128, BF16 and F16, causal and not, lengths not a multiple of 128, 40 query rows
 * (a block whose second warpgroup has none), grouped-query heads, a key-padding mask, cross-attention with the causal
 * diagonal bottom-right aligned; two with more work tiles than twice an H100's SMs, for the persistent grid of
 * {@code wsp}, which run.sh probes after {@code ws}), each run with {@link Attention.CudaKernel#WGMMA} and compared with the CPU
 * backend's attention of the same device-rounded inputs (relative L2 error, bound 1e-2 as the bf16 bound);
 * each also asserts that flash_wgmma is the kernel that ran (tsr_cuda_attention_last_kernel), not a fallback.
 *
 * <pre>GpuWgmmaProbe [--device cuda:0] [--out wgmma-probe.json]</pre>
 * Exit status: 0 every case ran on flash_wgmma within the bound, 1 a case failed (or threw), 2 WGMMA refused
 * (a device other than compute capability 9.0, or a library built without sm_90a), 3 CUDA unavailable.
 */
public final class GpuWgmmaProbe {
    private GpuWgmmaProbe() {}

    /** dtype, B, Hq, Hkv, Sq, Sk, D, causal, key-padding mask. */
    private record Case(DType dtype, int b, int hq, int hkv, int sq, int sk, int d, boolean causal, boolean mask) {
        String name() {
            return String.format(Locale.ROOT, "%s B%d Hq%d Hkv%d Sq%d Sk%d D%d%s%s", dtype, b, hq, hkv, sq, sk, d,
                    causal ? " causal" : "", mask ? " mask" : "");
        }
    }

    private static final List<Case> CASES = List.of(
            new Case(DType.BF16, 1, 2, 2, 257, 257, 64, false, false),
            new Case(DType.BF16, 1, 2, 2, 257, 257, 64, true, false),
            new Case(DType.F16, 1, 2, 2, 257, 257, 128, false, false),
            new Case(DType.F16, 1, 2, 2, 257, 257, 128, true, false),
            new Case(DType.BF16, 2, 4, 2, 40, 300, 128, false, true),
            new Case(DType.F16, 1, 4, 1, 130, 515, 64, true, true),
            new Case(DType.BF16, 1, 8, 8, 1024, 1024, 128, true, false),
            // more work tiles than twice the SMs of an H100 / H200 (132): under wsp each block of the persistent grid
            // takes two or three (288 causal tiles at head_dim 128 with GQA and a mask; 180 at head_dim 64, two
            // consumer warpgroups at 600 queries)
            new Case(DType.BF16, 2, 16, 8, 1100, 1100, 128, true, true),
            new Case(DType.F16, 3, 12, 12, 600, 600, 64, false, false));

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuWgmmaProbe [--device cuda:0] [--out FILE]");
        if (cli.help()) {
            return;
        }
        Path out = cli.getPath("--out", Path.of("wgmma-probe.json"));
        Map<String, Object> doc = GpuBench.header("flash_wgmma probe: Attention.CudaKernel.WGMMA vs the CPU backend, relative L2 error");
        Device device = GpuBench.device("GpuWgmmaProbe", cli.get("--device", "cuda:0"), doc, out);
        List<Object> results = new ArrayList<>();
        doc.put("results", results);
        int status = 0;
        Attention.CudaKernel before = Attention.cudaKernel();
        try {
            for (int i = 0; i < CASES.size(); i++) {
                Case c = CASES.get(i);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("case", c.name());
                results.add(r);
                try {
                    double err = run(c, device, 100 + i);
                    boolean ok = err <= 1e-2;
                    r.put("relErr", err);
                    r.put("ok", ok);
                    System.out.printf(Locale.ROOT, "%-40s rel %.2e %s%n", c.name(), err, ok ? "ok" : "FAIL");
                    status = ok ? status : 1;
                } catch (UnsupportedOperationException e) {
                    r.put("refused", e.getMessage());
                    System.out.println("WGMMA refused: " + e.getMessage());
                    status = 2;
                    break;
                } catch (RuntimeException e) {
                    r.put("error", e.toString());
                    System.out.printf(Locale.ROOT, "%-40s FAILED: %s%n", c.name(), e);
                    status = 1;
                    break; // a fault may have left the context unusable: the next cases would say nothing new
                }
            }
        } finally {
            Attention.setCudaKernel(before);
            doc.put("status", status);
            GpuBench.write(out, doc);
        }
        System.exit(status);
    }

    /** Whether TESSERA_WGMMA_SCHEDULE asks for the warp-specialised kernel (ws, ws2, ws3, wsp, wsp2, wsp3). */
    static boolean wsRequested() {
        String s = System.getenv("TESSERA_WGMMA_SCHEDULE");
        return s != null && s.startsWith("ws");
    }

    private static double run(Case c, Device device, long seed) {
        List<Tensor> ts = new ArrayList<>();
        try {
            Tensor q = keep(ts, upload(GpuAttentionBench.random((long) c.b() * c.hq() * c.sq() * c.d(), seed), device,
                    c.dtype(), c.b(), c.hq(), c.sq(), c.d()));
            Tensor k = keep(ts, upload(GpuAttentionBench.random((long) c.b() * c.hkv() * c.sk() * c.d(), seed + 1),
                    device, c.dtype(), c.b(), c.hkv(), c.sk(), c.d()));
            Tensor v = keep(ts, upload(GpuAttentionBench.random((long) c.b() * c.hkv() * c.sk() * c.d(), seed + 2),
                    device, c.dtype(), c.b(), c.hkv(), c.sk(), c.d()));
            int[] keep = new int[c.b() * c.sk()];
            for (int b = 0; b < c.b(); b++) {
                int valid = c.mask() ? c.sk() - 7 - 13 * b : c.sk();
                for (int j = 0; j < valid; j++) {
                    keep[b * c.sk() + j] = 1;
                }
            }
            Attention.Options gpuOpt = Attention.Options.defaults().withCausal(c.causal());
            Attention.Options cpuOpt = gpuOpt;
            if (c.mask()) {
                gpuOpt = gpuOpt.withKeyPaddingMask(keep(ts, Tensor.ofInts(keep, device, c.b(), c.sk())));
                cpuOpt = cpuOpt.withKeyPaddingMask(keep(ts, Tensor.ofInts(keep, Device.CPU, c.b(), c.sk())));
            }
            Tensor cq = keep(ts, q.to(Device.CPU));
            Tensor ck = keep(ts, k.to(Device.CPU));
            Tensor cv = keep(ts, v.to(Device.CPU));
            float[] want;
            try (Tensor o = Attention.scaledDotProduct(cq, ck, cv, cpuOpt)) {
                want = o.toFloatArray();
            }
            Attention.setCudaKernel(Attention.CudaKernel.WGMMA);
            float[] got;
            int ran;
            int schedule;
            try (Tensor o = Attention.scaledDotProduct(q, k, v, gpuOpt)) {
                ran = AttentionNative.tsr_cuda_attention_last_kernel();
                schedule = AttentionNative.tsr_cuda_attention_last_schedule();
                got = o.toFloatArray(); // waits for the kernel: a fault surfaces here
            }
            Backends.get(device).synchronize(device);
            if (ran != AttentionNative.KERNEL_WGMMA) {
                throw new IllegalStateException("flash_wgmma did not run (kernel " + ran + ")");
            }
            if (wsRequested() && schedule != AttentionNative.SCHEDULE_WS) {
                throw new IllegalStateException("TESSERA_WGMMA_SCHEDULE asks for flash_wgmma_ws, schedule "
                        + schedule + " ran (no tensor maps? see stderr)");
            }
            double num = 0;
            double den = 0;
            for (int i = 0; i < want.length; i++) {
                double e = Double.isNaN(got[i]) ? Double.POSITIVE_INFINITY : got[i] - want[i];
                num += e * e;
                den += (double) want[i] * want[i];
            }
            return Math.sqrt(num / den);
        } finally {
            for (Tensor t : ts) {
                t.close();
            }
        }
    }

    private static Tensor keep(List<Tensor> ts, Tensor t) {
        ts.add(t);
        return t;
    }

    private static Tensor upload(float[] data, Device device, DType dtype, long... shape) {
        try (Tensor f = Tensor.of(data, device, shape)) {
            return f.to(dtype);
        }
    }
}
