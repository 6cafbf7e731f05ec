package dev.tessera.bench;

import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    static void write(Path out, Map<String, Object> doc) throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(out, Json.write(doc));
    }
}
