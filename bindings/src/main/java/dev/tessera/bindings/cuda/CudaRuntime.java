package dev.tessera.bindings.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import dev.tessera.bindings.Addresses;
import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.TesseraNative;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Typed facade over the bytedeco CUDA runtime preset: availability, device properties, memory,
 * copies and streams. Addresses are raw {@code long}s; every status is checked and turned into a
 * {@link TesseraCudaException} naming the call.
 *
 * <p>On a machine with no driver ({@code libcuda.so.1} missing) loading the preset throws
 * {@link UnsatisfiedLinkError}; {@link #availability()} catches it and reports the reason instead.
 */
public final class CudaRuntime {
    /** Whether CUDA can be used here, and if not, why. */
    public record Availability(boolean available, String reason, int deviceCount) {}

    /** What {@code tessera info} prints for one device. */
    public record DeviceInfo(int index, String name, int major, int minor, long totalMemory, long freeMemory,
            int multiprocessors) {
        public String computeCapability() {
            return major + "." + minor;
        }
    }

    private static volatile Availability availability;

    private CudaRuntime() {}

    /** Probes (once) whether libtessera has CUDA kernels, the runtime loads, and a device is visible. */
    public static Availability availability() {
        Availability a = availability;
        if (a == null) {
            synchronized (CudaRuntime.class) {
                a = availability;
                if (a == null) {
                    a = probe();
                    availability = a;
                }
            }
        }
        return a;
    }

    private static Availability probe() {
        try {
            NativeLibrary.load();
            if (!NativeLibrary.cudaCompiled()) {
                return new Availability(false, "libtessera was built without CUDA kernels (no nvcc at build time)", 0);
            }
        } catch (UnsatisfiedLinkError e) {
            return new Availability(false, firstLine(e.getMessage()), 0);
        }
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            String why = firstLine(String.valueOf(e.getMessage()));
            if (!driverPresent()) {
                return new Availability(false, "no NVIDIA driver: libcuda.so.1 not found (" + why + ")", 0);
            }
            return new Availability(false, "the CUDA 13 libraries could not be loaded (put libcudart.so.13, "
                    + "libcublas.so.13 and friends on LD_LIBRARY_PATH): " + why, 0);
        }
        int[] n = new int[1];
        int err = cudaGetDeviceCount(n);
        if (err != cudaSuccess) {
            return new Availability(false, "cudaGetDeviceCount: " + errorName(err) + " (" + errorString(err) + ")", 0);
        }
        if (n[0] == 0) {
            return new Availability(false, "no CUDA device visible", 0);
        }
        return new Availability(true, "", n[0]);
    }

    /** Whether the driver library can be found in the usual places or on LD_LIBRARY_PATH. */
    static boolean driverPresent() {
        java.util.List<String> dirs = new java.util.ArrayList<>(java.util.List.of("/usr/lib/x86_64-linux-gnu",
                "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib"));
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(java.util.Arrays.asList(ld.split(":")));
        }
        for (String d : dirs) {
            if (!d.isEmpty() && new java.io.File(d, "libcuda.so.1").exists()) {
                return true;
            }
        }
        return false;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unknown";
        }
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }

    /** Throws {@link IllegalStateException} with the reason when CUDA is not usable. */
    public static void requireAvailable() {
        Availability a = availability();
        if (!a.available()) {
            throw new IllegalStateException("CUDA is not available: " + a.reason());
        }
    }

    public static String errorName(int err) {
        return cudaGetErrorName(err).getString();
    }

    public static String errorString(int err) {
        return cudaGetErrorString(err).getString();
    }

    /** Throws a {@link TesseraCudaException} (or its OOM subclass) if {@code err} is not cudaSuccess. */
    public static void check(int err, String call) {
        if (err != cudaSuccess) {
            String msg = errorName(err) + ": " + errorString(err);
            if (err == cudaErrorMemoryAllocation) {
                throw new CudaOutOfMemoryException(call, err, msg);
            }
            throw new TesseraCudaException(call, err, msg);
        }
    }

    public static int deviceCount() {
        return availability().deviceCount();
    }

    /** Makes {@code device} current in both the preset's runtime and libtessera's static runtime. */
    public static void setDevice(int device) {
        requireAvailable();
        check(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
        NativeStatus.check(TesseraNative.tsr_cuda_set_device(device), "tsr_cuda_set_device");
    }

    public static DeviceInfo deviceInfo(int device) {
        requireAvailable();
        try (var prop = new cudaDeviceProp(); var free = new SizeTPointer(1); var total = new SizeTPointer(1)) {
            check(cudaGetDeviceProperties(prop, device), "cudaGetDeviceProperties");
            check(cudaSetDevice(device), "cudaSetDevice");
            check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return new DeviceInfo(device, prop.name().getString(), prop.major(), prop.minor(), total.get(),
                    free.get(), prop.multiProcessorCount());
        }
    }

    /** Driver version as CUDA encodes it (e.g. 13000 for 13.0). */
    public static int driverVersion() {
        requireAvailable();
        int[] v = new int[1];
        check(cudaDriverGetVersion(v), "cudaDriverGetVersion");
        return v[0];
    }

    public static int runtimeVersion() {
        requireAvailable();
        int[] v = new int[1];
        check(cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
        return v[0];
    }

    /** Raw cudaMalloc; callers should go through the runtime's caching allocator. */
    public static long malloc(long bytes) {
        Pointer p = new Pointer();
        int err = cudaMalloc(p, bytes);
        if (err != cudaSuccess) {
            cudaGetLastError(); // clear the sticky-free error state of the runtime
        }
        check(err, "cudaMalloc(" + bytes + " bytes)");
        return p.address();
    }

    public static void free(long address) {
        check(cudaFree(Addresses.pointer(address)), "cudaFree");
    }

    public static void copyHostToDevice(long dst, long src, long bytes, long stream) {
        check(cudaMemcpyAsync(Addresses.pointer(dst), Addresses.pointer(src), bytes, cudaMemcpyHostToDevice,
                stream(stream)), "cudaMemcpyAsync(HtoD)");
    }

    public static void copyDeviceToHost(long dst, long src, long bytes, long stream) {
        check(cudaMemcpyAsync(Addresses.pointer(dst), Addresses.pointer(src), bytes, cudaMemcpyDeviceToHost,
                stream(stream)), "cudaMemcpyAsync(DtoH)");
    }

    public static void copyDeviceToDevice(long dst, long src, long bytes, long stream) {
        check(cudaMemcpyAsync(Addresses.pointer(dst), Addresses.pointer(src), bytes, cudaMemcpyDeviceToDevice,
                stream(stream)), "cudaMemcpyAsync(DtoD)");
    }

    public static void memset(long dst, int value, long bytes, long stream) {
        check(cudaMemsetAsync(Addresses.pointer(dst), value, bytes, stream(stream)), "cudaMemsetAsync");
    }

    /** Creates a non-blocking stream and returns its handle. */
    public static long streamCreate() {
        CUstream_st s = new CUstream_st();
        check(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        return s.address();
    }

    public static void streamDestroy(long stream) {
        check(cudaStreamDestroy(stream(stream)), "cudaStreamDestroy");
    }

    public static void streamSynchronize(long stream) {
        check(cudaStreamSynchronize(stream(stream)), "cudaStreamSynchronize");
    }

    /**
     * Page-locked (pinned) host memory of {@code bytes} bytes, portable across devices: copies from and to it
     * are asynchronous DMA transfers. Free with {@link #hostFree}.
     */
    public static long hostAlloc(long bytes) {
        Pointer p = new Pointer();
        int err = cudaHostAlloc(p, bytes, cudaHostAllocPortable);
        if (err != cudaSuccess) {
            cudaGetLastError();
        }
        check(err, "cudaHostAlloc(" + bytes + " bytes)");
        return p.address();
    }

    public static void hostFree(long address) {
        check(cudaFreeHost(Addresses.pointer(address)), "cudaFreeHost");
    }

    /** Creates an event on the current device; {@code timing} false makes a cheaper event without timestamps. */
    public static long eventCreate(boolean timing) {
        CUevent_st e = new CUevent_st();
        check(cudaEventCreateWithFlags(e, timing ? cudaEventDefault : cudaEventDisableTiming), "cudaEventCreate");
        return e.address();
    }

    public static void eventDestroy(long event) {
        check(cudaEventDestroy(event(event)), "cudaEventDestroy");
    }

    public static void eventRecord(long event, long stream) {
        check(cudaEventRecord(event(event), stream(stream)), "cudaEventRecord");
    }

    /** Whether the work before the event's last record has completed (never blocks). */
    public static boolean eventDone(long event) {
        int err = cudaEventQuery(event(event));
        if (err == cudaErrorNotReady) { // not an error: the work is still queued
            return false;
        }
        check(err, "cudaEventQuery");
        return true;
    }

    public static void eventSynchronize(long event) {
        check(cudaEventSynchronize(event(event)), "cudaEventSynchronize");
    }

    /** Milliseconds between two completed timing events. */
    public static float eventElapsedMs(long start, long stop) {
        float[] ms = new float[1];
        check(cudaEventElapsedTime(ms, event(start), event(stop)), "cudaEventElapsedTime");
        return ms[0];
    }

    private static CUevent_st event(long handle) {
        return new CUevent_st(Addresses.pointer(handle));
    }

    /** Wraps a raw stream handle (0 = the legacy default stream). */
    public static CUstream_st stream(long handle) {
        CUstream_st s = new CUstream_st((Pointer) null);
        if (handle != 0) {
            s = new CUstream_st(Addresses.pointer(handle));
        }
        return s;
    }
}
