package dev.tessera.bench;

import dev.tessera.models.bert.BertModel;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.backend.CudaBackend;
import dev.tessera.runtime.backend.CudaProfiler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Where the GPU time of an encoder forward goes: runs ViT-B/16 224 bf16 (batch {@code --vit-batch}, 64) and the
 * MiniLM-shaped BERT fp32 (batch {@code --bert-batch}, 32, 128 tokens) on random weights, first plainly timed
 * (forward ms between CUDA events, as GpuVitBench / GpuMiniLmBench measure it), then again with the backend's
 * {@link CudaProfiler} timing every queued op with CUDA events, and prints per model a table: op kind (GEMMs and
 * attention with their shapes), calls, total ms, ms per forward, % of the forward. The gap between the sum of the
 * ops and the forward is time the GPU waited for the host. Also times the forward with each host-side fix of the
 * CUDA backend switched back off alone (unfused linear epilogue; a batch-of-one strided-batched GEMM; pageable
 * uploads with a sync each) and with the
 * cuBLASLt experiment switched on ({@link CudaBackend#setCublasLt}), an A/B in the same run. Writes the tables to {@code --out} (JSON).
 *
 * <pre>bench/gpu/run.sh  (step "encoder profile")</pre>
 */
public final class GpuEncoderProfile {
    private GpuEncoderProfile() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuEncoderProfile [--vit-batch 64] [--bert-batch 32] [--iters 5]"
                + " [--models vit,bert] [--device cuda:0] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int vitBatch = cli.getInt("--vit-batch", 64);
        int bertBatch = cli.getInt("--bert-batch", 32);
        int iters = cli.getInt("--iters", 5);
        String models = cli.get("--models", "vit,bert");
        String dev = cli.get("--device", "cuda:0");
        Path out = cli.getPath("--out", Path.of(System.getenv().getOrDefault("OUT", "."), "gpu-encoder-profile.json"));
        Map<String, Object> doc = GpuBench.header("op-level GPU time of encoder forwards (CudaProfiler)");
        doc.put("method", "3 warm-up forwards; forward ms = best of 3 runs of " + iters + " back-to-back forwards"
                + " between CUDA events without the profiler; then " + iters + " forwards with every op bracketed by"
                + " CUDA events, summed per op kind");
        Device device = GpuBench.device("GpuEncoderProfile", dev, doc, out);
        CudaBackend cuda = (CudaBackend) Backends.get(device);
        List<Object> tables = new ArrayList<>();
        Path tmp = Files.createTempDirectory("tessera-profile");
        try {
            if (models.contains("vit")) {
                tables.add(profileVit(cuda, device, vitBatch, iters, tmp));
            }
            if (models.contains("bert")) {
                tables.add(profileBert(cuda, device, bertBatch, iters));
            }
        } finally {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        doc.put("results", tables);
        GpuBench.write(out, doc);
        System.out.println("wrote " + out);
    }

    private static Map<String, Object> profileVit(CudaBackend cuda, Device device, int batch, int iters, Path tmp)
            throws Exception {
        Path wdir = tmp.resolve("vit");
        GpuVitBench.writeRandomCheckpoint(wdir);
        try (ViTForImageClassification m = ViTForImageClassification.load(wdir, device, DType.BF16)) {
            SplittableRandom r = new SplittableRandom(7);
            float[] px = new float[batch * 3 * 224 * 224];
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) (2 * r.nextDouble() - 1);
            }
            Runnable call = () -> {
                try (Scope sc = Tessera.scope()) {
                    m.logits(Tensor.of(px, device, batch, 3, 224, 224));
                }
            };
            return profile("ViT-B/16 224 bf16 logits, batch " + batch + " (F32 pixels uploaded each call)", cuda,
                    device, call, iters);
        }
    }

    private static Map<String, Object> profileBert(CudaBackend cuda, Device device, int batch, int iters)
            throws Exception {
        int seq = 128;
        Ops.setDefaultMatmulPrecision(dev.tessera.runtime.Backend.MatmulPrecision.FP32);
        Map<String, Tensor> weights = GpuMiniLmBench.randomWeights(GpuMiniLmBench.MINILM, 2026);
        try (TensorSource src = TensorSource.of(weights, "random MiniLM-shaped weights");
                BertModel model = BertModel.load(src, GpuMiniLmBench.MINILM, device)) {
            weights.values().forEach(Tensor::close);
            SplittableRandom r = new SplittableRandom(7 + batch);
            int[] ids = new int[batch * seq];
            int[] mask = new int[batch * seq];
            for (int i = 0; i < ids.length; i++) {
                int t = i % seq;
                ids[i] = t == 0 ? 101 : t == seq - 1 ? 102 : 1000 + r.nextInt(29000);
                mask[i] = 1;
            }
            Runnable call = () -> {
                try (Scope sc = Tessera.scope()) {
                    model.forward(Tensor.ofInts(ids, device, batch, seq), Tensor.ofInts(mask, device, batch, seq),
                            null);
                }
            };
            return profile("MiniLM-shaped BERT fp32 forward, batch " + batch + ", " + seq + " tokens", cuda, device,
                    call, iters);
        }
    }

    private static Map<String, Object> profile(String what, CudaBackend cuda, Device device, Runnable call,
            int iters) {
        // one untimed round first: in run 3 the first timed configuration was 10-20% slower than every later one
        // (clocks, the allocator's first growth), which made each A/B variant below look like a win
        GpuBench.time(cuda, device, call, 0, 1, iters);
        double[] t = GpuBench.time(cuda, device, call, 0, 3, iters);
        double forwardMs = t[1];
        // host time to queue a forward (the GPU keeps up with the host only if this is below forwardMs)
        double wallMs = Double.MAX_VALUE;
        for (int r = 0; r < 3; r++) {
            cuda.synchronize(device);
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                call.run();
            }
            wallMs = Math.min(wallMs, (System.nanoTime() - t0) / 1e6 / iters);
        }
        cuda.synchronize(device);
        // A/B of the host-side fixes, same run: each switched back to the old behaviour alone
        Map<String, Object> variants = new LinkedHashMap<>();
        variants.put("current", forwardMs);
        CudaBackend.setFusedEpilogue(false);
        try {
            variants.put("linear epilogue unfused (bias, activation, residual as separate passes)",
                    GpuBench.time(cuda, device, call, 0, 3, iters)[1]);
        } finally {
            CudaBackend.setFusedEpilogue(true);
        }
        CudaBackend.setCublasLt(true); // the experiment: bias and residual inside the GEMM
        try {
            variants.put("cublasLt linear (bias epilogue, residual as C; activation in the fused pass)",
                    GpuBench.time(cuda, device, call, 0, 3, iters)[1]);
        } catch (RuntimeException e) {
            variants.put("cublasLt linear (bias epilogue, residual as C; activation in the fused pass)",
                    "failed: " + e);
            System.out.println("cublasLt variant failed: " + e);
        } finally {
            CudaBackend.setCublasLt(false);
        }
        dev.tessera.bindings.cuda.Cublas.setPlainGemmForOne(false);
        try {
            variants.put("GEMMs through cublasGemmStridedBatchedEx with a batch of 1",
                    GpuBench.time(cuda, device, call, 0, 3, iters)[1]);
        } finally {
            dev.tessera.bindings.cuda.Cublas.setPlainGemmForOne(true);
        }
        CudaBackend.setPinnedUploads(false);
        try {
            variants.put("uploads pageable with a stream sync each",
                    GpuBench.time(cuda, device, call, 0, 3, iters)[1]);
        } finally {
            CudaBackend.setPinnedUploads(true);
        }
        // the current configuration again, last: the spread between the two says how far the variants can be trusted
        variants.put("current, again after the variants", GpuBench.time(cuda, device, call, 0, 3, iters)[1]);
        CudaProfiler prof = GpuBench.profile(cuda, device, call, iters);
        String table = prof.table(iters, forwardMs);
        List<Object> rows = new ArrayList<>();
        double sum = 0;
        for (CudaProfiler.Row row : prof.snapshot()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("op", row.kind());
            m.put("calls", row.calls());
            m.put("msPerForward", row.totalMs() / iters);
            m.put("percentOfForward", 100 * row.totalMs() / iters / forwardMs);
            rows.add(m);
            sum += row.totalMs() / iters;
        }
        System.out.printf(Locale.ROOT, "%n== %s: forward %.3f ms (unprofiled, best of 3 x %d; the host queues one in %.3f"
                + " ms)%n%s", what, forwardMs, iters, wallMs, table);
        System.out.printf(Locale.ROOT, "GPU busy in ops %.3f ms of %.3f ms per forward (%.1f%%); the rest is the GPU"
                + " waiting for the host%n", sum, forwardMs, 100 * sum / forwardMs);
        variants.forEach((k, v) -> System.out.printf(Locale.ROOT, "  forward ms, %s: %s%n", k,
                v instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : v));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("what", what);
        doc.put("forwardMs", forwardMs);
        doc.put("hostQueueMsPerForward", wallMs);
        doc.put("opsMsPerForward", sum);
        doc.put("forwardMsVariants", variants);
        doc.put("ops", rows);
        return doc;
    }
}
