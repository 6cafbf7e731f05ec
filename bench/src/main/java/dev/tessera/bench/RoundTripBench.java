package dev.tessera.bench;

import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.TesseraNative;
import dev.tessera.runtime.BinaryOp;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
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
 * The cost of crossing from Java to libtessera and back, on the CPU.
 *
 * <ul>
 *   <li>{@code noop}: {@code tsr_noop(int)}, the bare JNI call (JavaCPP-generated).</li>
 *   <li>{@code tinyAdd}: {@code Ops.binary(ADD, a, b, out)} on 16-element tensors made in setup: argument
 *       checks, backend dispatch and the native kernel; no allocation.</li>
 *   <li>{@code tinyAddAlloc}: {@code Ops.add(a, b)} then {@code close()}: the same plus allocating and
 *       freeing the output tensor.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RoundTripBench {
    static final int N = 16;

    private Tensor a;
    private Tensor b;
    private Tensor out;
    private int x = 42;

    @Setup(Level.Trial)
    public void setup() {
        NativeLibrary.load();
        float[] da = MatmulBench.random(N, 3);
        float[] db = MatmulBench.random(N, 4);
        a = Tensor.of(da, Device.CPU, N);
        b = Tensor.of(db, Device.CPU, N);
        out = Tensor.empty(DType.F32, Device.CPU, N);
        Ops.binary(BinaryOp.ADD, a, b, out);
        float[] got = out.toFloatArray();
        for (int i = 0; i < N; i++) {
            if (got[i] != da[i] + db[i]) {
                throw new IllegalStateException("tiny add is wrong at " + i + ": " + got[i] + " != " + (da[i] + db[i]));
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        out.close();
    }

    @Benchmark
    public int noop() {
        return TesseraNative.tsr_noop(x);
    }

    @Benchmark
    public Tensor tinyAdd() {
        Ops.binary(BinaryOp.ADD, a, b, out);
        return out;
    }

    @Benchmark
    public long tinyAddAlloc() {
        try (Tensor c = Ops.add(a, b)) {
            return c.numel();
        }
    }
}
