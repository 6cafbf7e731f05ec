package dev.tessera.bench;

import static org.bytedeco.cuda.global.cudart.cudaEventCreate;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaEventSynchronize;

import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.backend.CudaBackend;
import dev.tessera.runtime.backend.CudaProfiler;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the GPU benchmark mains share: CUDA availability (exit status 3), the device record, JSON output. */
final class GpuBench {
    private GpuBench() {}

    /**
     * The device to benchmark on. Where CUDA is unavailable, records why in {@code doc}, writes it to
     * {@code out} and exits with status 3 (run.sh reports that as "CUDA unavailable"); otherwise records
     * the card (name, compute capability, SMs, memory, driver and runtime versions) under "device".
     */
    static Device device(String bench, String spec, Map<String, Object> doc, Path out) throws IOException {
        Backend.Availability av = Backends.forType(Device.Type.CUDA).availability();
        if (!av.available()) {
            doc.put("available", false);
            doc.put("reason", av.reason());
            write(out, doc);
            System.err.println(bench + ": CUDA is not available: " + av.reason());
            System.exit(3);
        }
        Device device = Device.parse(spec);
        Backends.get(device);
        CudaRuntime.DeviceInfo di = CudaRuntime.deviceInfo(device.index());
        Map<String, Object> dm = new LinkedHashMap<>();
        dm.put("name", di.name());
        dm.put("computeCapability", di.computeCapability());
        dm.put("multiprocessors", di.multiprocessors());
        dm.put("totalMemoryBytes", di.totalMemory());
        dm.put("driverVersion", CudaRuntime.driverVersion());
        dm.put("runtimeVersion", CudaRuntime.runtimeVersion());
        doc.put("available", true);
        doc.put("device", dm);
        return device;
    }

    /** A result document's first fields: impl "tessera", {@code benchmark}, date, Tessera's and Java's versions. */
    static Map<String, Object> header(String benchmark) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("impl", "tessera");
        doc.put("benchmark", benchmark);
        doc.put("date", java.time.ZonedDateTime.now().format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", dev.tessera.bindings.Versions.tessera());
        doc.put("java", HostInfo.java());
        return doc;
    }

    static void write(Path out, Map<String, Object> doc) throws IOException {
        BenchUtil.writeJson(out, doc);
    }

    /**
     * GPU time per queued op over {@code iters} calls of {@code call} (CUDA events around each op: {@link
     * CudaProfiler}), after one profiled call that creates the events; profiling is off again on return, the totals
     * readable ({@code table}, {@code snapshot}).
     */
    static CudaProfiler profile(CudaBackend cuda, Device device, Runnable call, int iters) {
        CudaProfiler prof = cuda.startProfiling();
        try {
            call.run();
            cuda.synchronize(device);
            prof.reset();
            for (int i = 0; i < iters; i++) {
                call.run();
            }
            cuda.synchronize(device);
            return prof;
        } finally {
            cuda.stopProfiling();
        }
    }

    /**
     * Times {@code call} on the device's stream with CUDA events: 3 warm-up calls, a 3-call calibration
     * choosing N (at least {@code minIters}) for about {@code targetMs} per repetition, then {@code reps}
     * repetitions of N back-to-back calls. Returns {iters, best ms per call, median ms per call, wall-clock ms
     * per call of the best repetition}.
     */
    static double[] time(CudaBackend cuda, Device device, Runnable call, double targetMs, int reps, int minIters) {
        for (int i = 0; i < 3; i++) {
            call.run();
        }
        cuda.synchronize(device);
        CUevent_st start = new CUevent_st();
        CUevent_st stop = new CUevent_st();
        CudaRuntime.check(cudaEventCreate(start), "cudaEventCreate");
        CudaRuntime.check(cudaEventCreate(stop), "cudaEventCreate");
        try {
            CUstream_st st = CudaRuntime.stream(cuda.stream(device));
            double per = run(start, stop, st, cuda, device, call, 3)[0] / 3;
            int iters = (int) Math.max(minIters, Math.min(2000, Math.round(targetMs / Math.max(per, 1e-4))));
            double[] ms = new double[reps];
            double[] wall = new double[reps];
            int best = 0;
            for (int r = 0; r < reps; r++) {
                double[] t = run(start, stop, st, cuda, device, call, iters);
                ms[r] = t[0] / iters;
                wall[r] = t[1] / iters;
                if (ms[r] < ms[best]) {
                    best = r;
                }
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            return new double[] {iters, ms[best], sorted[reps / 2], wall[best]};
        } finally {
            cudaEventDestroy(start);
            cudaEventDestroy(stop);
        }
    }

    /** {event ms, wall ms} for {@code iters} back-to-back calls. */
    private static double[] run(CUevent_st start, CUevent_st stop, CUstream_st st, CudaBackend cuda, Device device,
            Runnable call, int iters) {
        cuda.synchronize(device);
        long t0 = System.nanoTime();
        CudaRuntime.check(cudaEventRecord(start, st), "cudaEventRecord");
        for (int i = 0; i < iters; i++) {
            call.run();
        }
        CudaRuntime.check(cudaEventRecord(stop, st), "cudaEventRecord");
        CudaRuntime.check(cudaEventSynchronize(stop), "cudaEventSynchronize");
        long t1 = System.nanoTime();
        float[] ms = new float[1];
        CudaRuntime.check(cudaEventElapsedTime(ms, start, stop), "cudaEventElapsedTime");
        return new double[] {ms[0], (t1 - t0) / 1e6};
    }
}
