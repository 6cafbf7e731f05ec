package dev.tessera.spark;

import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.blas.OpenBlas;
import org.apache.spark.TaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The executor JVM's CPU thread count for Tessera's kernels and OpenBLAS (see {@link InferenceStage#setThreadsPerTask}). */
final class CpuThreads {
    private static final Logger LOG = LoggerFactory.getLogger(CpuThreads.class);
    private CpuThreads() {}

    /** Applies {@code setting} (-1: the task's cpus unless TESSERA_NUM_THREADS is set; 0: nothing; n: n). */
    static void apply(int setting) {
        int n = setting;
        if (n < 0) {
            if (System.getenv("TESSERA_NUM_THREADS") != null) {
                return;
            }
            TaskContext tc = TaskContext.get();
            n = tc != null ? Math.max(1, tc.cpus()) : 0;
        }
        if (n == 0 || NativeLibrary.cpuThreads() == n) {
            return;
        }
        synchronized (CpuThreads.class) {
            if (NativeLibrary.cpuThreads() == n) {
                return;
            }
            NativeLibrary.setCpuThreads(n);
            try {
                OpenBlas.setThreads(n); // its spinning workers would take the cores of the tasks beside this one
            } catch (LinkageError | RuntimeException e) {
                // no OpenBLAS here: Tessera's own GEMM runs the products
            }
            LOG.info("CPU threads per task: {}", n);
        }
    }
}
