package dev.tessera.bench;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.cblas_sgemm;

import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Square fp32 matmul on the CPU, Tessera against its own BLAS called directly.
 *
 * <ul>
 *   <li>{@code tensorMatmul}: {@link Ops#matmul(Tensor, Tensor)} on CPU tensors made in setup. Ops has no
 *       preallocated-output matmul, so each call includes allocating (and closing) the n×n output tensor,
 *       as a user of the API pays it.</li>
 *   <li>{@code backendGemm}: the CPU backend's {@code gemm} into an output tensor made in setup (the
 *       same path as {@code tensorMatmul} without the argument checks and the output allocation); it
 *       shows how much of any gap is allocation.</li>
 *   <li>{@code rawOpenBlasSgemm}: {@code cblas_sgemm} from the bytedeco OpenBLAS preset on
 *       {@link FloatPointer}s made in setup: the peer.</li>
 * </ul>
 * GFLOP/s = 2n³ / time; {@link BenchMain} computes them and the ratios.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MatmulBench {
    @Param({"256", "1024"})
    public int size;

    private Tensor a;
    private Tensor b;
    private Tensor c;
    private Backend cpu;
    private FloatPointer pa;
    private FloatPointer pb;
    private FloatPointer pc;

    /** OpenBLAS's thread count as the CPU backend configured it (taken at the first setup in this JVM). */
    private static int backendBlasThreads;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        int n = size;
        float[] da = random(n * n, 1);
        float[] db = random(n * n, 2);
        a = Tensor.of(da, Device.CPU, n, n);
        b = Tensor.of(db, Device.CPU, n, n);
        c = Tensor.empty(DType.F32, Device.CPU, n, n);
        cpu = Backends.get(Device.CPU);
        pa = new FloatPointer((long) n * n).put(da);
        pb = new FloatPointer((long) n * n).put(db);
        pc = new FloatPointer((long) n * n);
        // sanity: both paths give the same product (catches a benchmark that measures nothing)
        try (Tensor t = Ops.matmul(a, b)) {
            rawOpenBlasSgemm();
            float[] mine = t.toFloatArray();
            float[] ref = new float[n * n];
            pc.get(ref);
            double num = 0;
            double den = 0;
            for (int i = 0; i < ref.length; i++) {
                double d = (double) mine[i] - ref[i];
                num += d * d;
                den += (double) ref[i] * ref[i];
            }
            double rel = Math.sqrt(num / den);
            if (!(rel <= 1e-5)) {
                throw new IllegalStateException("Ops.matmul and cblas_sgemm differ at n=" + n + ": rel err " + rel);
            }
        }
        if (backendBlasThreads == 0) {
            backendBlasThreads = Math.max(1, OpenBlas.requestedThreads());
        }
        // The peer is OpenBLAS as an application calling it directly runs it: on its own threads, one per core.
        // The CPU backend sets OpenBLAS to one thread and splits large sgemms itself (CpuBackend.BlasSplit).
        OpenBlas.setThreads(params.getBenchmark().endsWith("rawOpenBlasSgemm")
                ? Runtime.getRuntime().availableProcessors() : backendBlasThreads);
    }

    static float[] random(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        c.close();
        pa.close();
        pb.close();
        pc.close();
    }

    @Benchmark
    public long tensorMatmul() {
        try (Tensor out = Ops.matmul(a, b)) {
            return out.numel();
        }
    }

    @Benchmark
    public void backendGemm() {
        int n = size;
        cpu.gemm(false, false, n, n, n, 1f, a, n, 0, b, n, 0, 0f, c, n, (long) n * n, 1, Backend.MatmulPrecision.FP32);
    }

    @Benchmark
    public void rawOpenBlasSgemm() {
        int n = size;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1f, pa, n, pb, n, 0f, pc, n);
    }
}
