package dev.tessera.bench;

import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.rbm.ContrastiveDivergence;
import dev.tessera.runtime.rbm.Rbm;
import dev.tessera.runtime.rbm.RbmConfig;
import dev.tessera.runtime.rbm.RbmParams;
import dev.tessera.runtime.rbm.VisibleType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times one CD-1 step of a binary RBM ({@link ContrastiveDivergence#step}, cuBLAS GEMMs + libtessera's
 * fused kernels, no host round trip) on a CUDA device, as {@code bench/gpu/rbm_torch.py} times the same
 * maths in PyTorch: 784 x 500 at batch 100 (the size) and larger cases. Per case: warm-up steps,
 * then {@code --reps} repetitions of {@code --iters} back-to-back steps between two stream
 * synchronisations (wall clock); best and median ms per step. A check first: the step runs, parameters
 * stay finite and the reconstruction error of the batch falls over the warm-up. The same cases on our
 * CPU backend are timed when it can run GEMMs (not from the GPU bundle, which has no OpenBLAS).
 *
 * <pre>
 * GpuRbmBench [--cases 784x500x100,784x500x1000,4096x4096x256] [--reps 5] [--iters 50] [--device cuda:0]
 *             [--out gpu-rbm-tessera.json]
 * </pre>
 * Exit status: 0 ok, 1 a check failed or a case threw, 3 CUDA unavailable.
 */
public final class GpuRbmBench {
    private GpuRbmBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuRbmBench [--cases NVxNHxB,...] [--reps 5] [--iters 50]"
                + " [--device cuda:0] [--out FILE]");
        if (cli.help()) {
            return;
        }
        String cases = cli.get("--cases", "784x500x100,784x500x1000,4096x4096x256");
        int reps = cli.getInt("--reps", 5);
        int iters = cli.getInt("--iters", 50);
        String dev = cli.get("--device", "cuda:0");
        Path out = cli.getPath("--out", Path.of("gpu-rbm-tessera.json"));
        Backend cuda = Backends.forType(Device.Type.CUDA);
        if (!cuda.availability().available()) {
            System.err.println("GpuRbmBench: CUDA unavailable: " + cuda.availability().reason());
            System.exit(3);
        }
        Device gpu = Device.parse(dev);
        List<Map<String, Object>> results = new ArrayList<>();
        boolean ok = true;
        for (String c : cases.split(",")) {
            String[] p = c.trim().split("x");
            int nv = Integer.parseInt(p[0]);
            int nh = Integer.parseInt(p[1]);
            int b = Integer.parseInt(p[2]);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("nv", nv);
            r.put("nh", nh);
            r.put("batch", b);
            try {
                double[] g = time(gpu, nv, nh, b, reps, iters, r);
                r.put("gpu_best_ms", g[0]);
                r.put("gpu_median_ms", g[1]);
                // FLOPs of the 5 GEMMs of CD-1 (2 up, 1 down, 2 gradient): 10 B nv nh
                r.put("gpu_gemm_tflops", 10.0 * b * nv * nh / (g[0] * 1e-3) / 1e12);
                try {
                    double[] cpu = time(Device.CPU, nv, nh, b, Math.min(reps, 3), Math.max(1, iters / 10), null);
                    r.put("cpu_best_ms", cpu[0]);
                    r.put("gpu_speedup_vs_cpu", cpu[0] / g[0]);
                } catch (RuntimeException | LinkageError e) {
                    r.put("cpu", "unavailable: " + e);
                }
                System.out.printf("CD-1 %dx%d batch %d: CUDA %.3f ms (median %.3f)%s%n", nv, nh, b, g[0], g[1],
                        r.containsKey("cpu_best_ms") ? String.format(", CPU %.2f ms", (double) r.get("cpu_best_ms")) : "");
            } catch (RuntimeException | AssertionError e) {
                ok = false;
                r.put("error", e.toString());
                System.err.println("GpuRbmBench: case " + c + " failed: " + e);
            }
            results.add(r);
        }
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("benchmark", "RBM CD-1 step (binary, lr 0.1, momentum 0.5, decay 2e-4), Tessera CUDA");
        res.put("date", ZonedDateTime.now().toString());
        res.put("device", dev);
        res.put("cuda", CudaRuntime.availability().toString());
        res.put("cases", results);
        Files.writeString(out, Json.write(res) + "\n");
        System.out.println("wrote " + out);
        System.exit(ok ? 0 : 1);
    }

    /** Best and median ms per step; with check != null also checks the training signal first. */
    private static double[] time(Device d, int nv, int nh, int b, int reps, int iters, Map<String, Object> check) {
        Backend be = Backends.get(d);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] data = new float[b * nv];
        for (int i = 0; i < data.length; i++) {
            data[i] = rnd.nextDouble() < 0.2 ? 1f : 0f;
        }
        try (dev.tessera.runtime.Scope s = dev.tessera.runtime.Tessera.scope();
                RbmParams p = RbmParams.init(nv, nh, 0.01f, 1, d);
                ContrastiveDivergence cd = new ContrastiveDivergence(p, RbmConfig.defaults().withLearningRate(0.1f)
                        .withMomentum(0.5f).withWeightDecay(2e-4f).withSeed(7))) {
            Tensor batch = Tensor.of(data, d, b, nv);
            double before = check != null ? Rbm.reconstructionError(p, VisibleType.BINARY, batch) : 0;
            for (int i = 0; i < 10; i++) {
                cd.step(batch);
            }
            be.synchronize(d);
            if (check != null) {
                double after = Rbm.reconstructionError(p, VisibleType.BINARY, batch);
                check.put("recon_error_before", before);
                check.put("recon_error_after_10_steps", after);
                if (!(after < before)) {
                    throw new AssertionError("reconstruction error did not fall: " + before + " -> " + after);
                }
            }
            double[] t = new double[reps];
            for (int k = 0; k < reps; k++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) {
                    cd.step(batch);
                }
                be.synchronize(d);
                t[k] = (System.nanoTime() - t0) / 1e6 / iters;
            }
            java.util.Arrays.sort(t);
            return new double[] {t[0], t[reps / 2]};
        }
    }
}
