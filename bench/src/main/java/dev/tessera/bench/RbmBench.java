package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Idx;
import dev.tessera.runtime.rbm.ContrastiveDivergence;
import dev.tessera.runtime.rbm.RbmConfig;
import dev.tessera.runtime.rbm.RbmParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * CD-1 of a binary RBM on the CPU, 784 x 500, batch 100 ({@link ContrastiveDivergence#step}: GEMMs on
 * OpenBLAS, fused libtessera kernels), against PyTorch on the CPU doing the same maths
 * ({@code bench/python/rbm_peer.py}, Debian python3-torch, timed in its own process in the same run).
 * Config: learning rate 0.1, momentum 0.5, decay 2e-4, no sparsity.
 *
 * <ul>
 *   <li>{@code step}: one CD-1 step on a fixed batch of MNIST digits (pixel / 255).</li>
 *   <li>{@code epoch}: one pass over the 3,000 digits of {@code data/mnist} in batches of 100.</li>
 * </ul>
 * As JMH benchmarks ({@code java -jar tessera-bench.jar RbmBench}) or, with the peer and the JSON
 * (bench/results/rbm-cpu.json), by {@code main}:
 * <pre>
 * java -cp 'bench/target/tessera-bench-*.jar:bench/target/lib/*' dev.tessera.bench.RbmBench \
 *     [--threads 2] [--reps 5] [--iters 20] [--python /usr/bin/python3] [--out bench/results/rbm-cpu.json]
 * </pre>
 * Both sides use the same thread count (libtessera's pool, OpenBLAS through OPENBLAS_NUM_THREADS /
 * its default, torch.set_num_threads).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class RbmBench {
    static final int NV = 784;
    static final int NH = 500;
    static final int BATCH = 100;

    private RbmParams params;
    private ContrastiveDivergence cd;
    private Tensor data;
    private Tensor batch;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        data = loadMnist();
        batch = data.slice(0, 0, BATCH);
        params = RbmParams.init(NV, NH, 0.01f, 1, Device.CPU);
        cd = new ContrastiveDivergence(params, RbmConfig.defaults().withLearningRate(0.1f).withMomentum(0.5f)
                .withWeightDecay(2e-4f).withSeed(7));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cd.close();
        params.close();
        batch.close();
        data.close();
    }

    @Benchmark
    public void step() {
        cd.step(batch);
    }

    @Benchmark
    public void epoch() {
        long n = data.dim(0);
        for (long s = 0; s + BATCH <= n; s += BATCH) {
            try (Tensor b = data.slice(0, s, s + BATCH)) {
                cd.step(b);
            }
        }
    }

    static Tensor loadMnist() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("data/mnist/train-images-idx3-ubyte.gz");
            if (Files.exists(p)) {
                return Idx.read(p).toTensor(1f / 255f, Device.CPU);
            }
        }
        throw new IOException("data/mnist/train-images-idx3-ubyte.gz not found above " + Path.of("").toAbsolutePath());
    }

    // ------------------------------------------------------------------ same-run comparison with PyTorch

    private static double[] time(Runnable r, int warmup, int reps, int iters) {
        for (int i = 0; i < warmup; i++) {
            r.run();
        }
        double[] t = new double[reps];
        for (int k = 0; k < reps; k++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                r.run();
            }
            t[k] = (System.nanoTime() - t0) / 1e6 / iters;
        }
        Arrays.sort(t);
        return new double[] {t[0], t[reps / 2]};
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "RbmBench [--threads 2] [--reps 5] [--iters 20] [--python PATH]"
                + " [--out FILE]");
        if (cli.help()) {
            return;
        }
        int threads = cli.getInt("--threads", 2);
        int reps = cli.getInt("--reps", 5);
        int iters = cli.getInt("--iters", 20);
        String python = cli.get("--python", "/usr/bin/python3");
        Path out = cli.getPath("--out", Path.of("bench/results/rbm-cpu.json"));
        TesseraNative.tsr_cpu_set_threads(threads);
        RbmBench b = new RbmBench();
        b.setup();
        int rows = (int) b.data.dim(0);
        double[] step;
        double[] epoch;
        try {
            step = time(b::step, 10, reps, iters);
            epoch = time(b::epoch, 1, Math.max(3, reps / 2), 1);
        } finally {
            b.tearDown();
        }
        Map<String, Object> ours = new LinkedHashMap<>();
        ours.put("step_best_ms", step[0]);
        ours.put("step_median_ms", step[1]);
        ours.put("epoch_best_ms", epoch[0]);
        ours.put("epoch_median_ms", epoch[1]);
        ours.put("epoch_rows", rows);
        ours.put("simd", TesseraNative.tsr_cpu_simd().getString());
        ours.put("threads", threads);

        String peer = BenchUtil.peerScript("rbm_peer.py").toString();
        List<String> cmd = new ArrayList<>(List.of(python, peer, "--threads", "" + threads,
                "--reps", "" + reps, "--iters", "" + iters, "--mnist-rows", "" + rows));
        BenchUtil.PeerRun peerRun = BenchUtil.runPeer(cmd);
        String peerOut = peerRun.out();
        int rc = peerRun.exit();
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("benchmark", "RBM CD-1 step, binary 784x500, batch 100 (lr 0.1, momentum 0.5, decay 2e-4)");
        res.put("date", ZonedDateTime.now().toString());
        res.put("host", HostInfo.cpu());
        res.put("java", HostInfo.java());
        res.put("tessera", ours);
        String summary;
        if (rc == 0) {
            double peerStep = BenchUtil.bestMs(peerOut, "step");
            double peerEpoch = BenchUtil.bestMs(peerOut, "epoch");
            res.put("pytorch_raw", peerOut.trim());
            res.put("pytorch_step_best_ms", peerStep);
            res.put("pytorch_epoch_best_ms", peerEpoch);
            res.put("speedup_step", peerStep / step[0]);
            res.put("speedup_epoch", peerEpoch / epoch[0]);
            summary = String.format("CD-1 step: tessera %.2f ms, pytorch %.2f ms -> %.2fx; epoch of %d: tessera %.1f"
                    + " ms, pytorch %.1f ms -> %.2fx (ratios > 1: tessera faster)", step[0], peerStep,
                    peerStep / step[0], rows, epoch[0], peerEpoch, peerEpoch / epoch[0]);
        } else {
            res.put("pytorch_error", "peer exited with status " + rc);
            summary = String.format("CD-1 step: tessera %.2f ms; epoch of %d: %.1f ms; the PyTorch peer failed (rc %d)",
                    step[0], rows, epoch[0], rc);
        }
        res.put("summary", summary);
        res.put("note", "Debian's python3-torch is built with BLAS_INFO=generic: its GEMMs go to whatever the system"
                + " libblas.so.3 alternative is (pytorch_raw.libblas: the reference netlib BLAS or OpenBLAS), through"
                + " the generic BLAS interface, so the ratio also measures that path, not the fused kernels alone.");
        System.out.println(summary);
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, Json.write(res) + "\n");
        System.out.println("wrote " + out);
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble();
        }
        return a;
    }
}
