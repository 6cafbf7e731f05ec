package dev.tessera.runtime;

import dev.tessera.bindings.NativeLibrary;
import dev.tessera.bindings.Versions;
import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.bindings.cuda.CudaRuntime;
import dev.tessera.runtime.backend.CpuBackend;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.Loader;

/**
 * What {@code tessera info} reports, as a JSON-friendly tree of maps and lists: versions, native
 * library, CPU SIMD level and threads, and each backend's state (for CUDA: devices, compute
 * capability, memory, driver and runtime versions, or the reason it is unavailable).
 */
public final class SystemInfo {
    private SystemInfo() {}

    /**
     * The processor as {@code /proc/cpuinfo} names it (its first entry): {@code model} ("AMD EPYC"), {@code vendor},
     * {@code family} and {@code modelNumber} (a VM's model name often names no generation: AMD family 25 is Zen 3 /
     * Zen 4, 26 Zen 5, and the CPU kernels' speed doubles between the last two); values not found are absent, and
     * off Linux only {@code model} (from {@code os.arch}) is given.
     */
    public static Map<String, Object> cpuIdentity() {
        Map<String, String> entry = cpuinfo();
        Map<String, Object> m = new LinkedHashMap<>();
        String[][] keys = {{"model name", "model"}, {"vendor_id", "vendor"}, {"cpu family", "family"},
            {"model", "modelNumber"}};
        for (String[] k : keys) {
            if (entry.containsKey(k[0])) {
                m.put(k[1], entry.get(k[0]));
            }
        }
        m.putIfAbsent("model", System.getProperty("os.arch"));
        return m;
    }

    /** The instruction-set flags {@code /proc/cpuinfo} lists for the first processor ("avx2", ...); empty off Linux. */
    public static List<String> cpuFlags() {
        String flags = cpuinfo().getOrDefault("flags", "").trim();
        return flags.isEmpty() ? List.of() : List.of(flags.split("\\s+"));
    }

    /**
     * Host memory a new allocation can have without swapping: {@code MemAvailable} of {@code /proc/meminfo} on Linux,
     * else the physical memory the JVM reports; {@link Long#MAX_VALUE} where neither is known.
     */
    public static long availableMemoryBytes() {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemAvailable:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: below
        }
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean s ? s.getTotalMemorySize() : Long.MAX_VALUE;
    }

    /** The first processor's entry of {@code /proc/cpuinfo} (key: value lines); empty where it cannot be read. */
    private static Map<String, String> cpuinfo() {
        Map<String, String> m = new LinkedHashMap<>();
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    if (line.isBlank() && !m.isEmpty()) {
                        break; // the first processor's entry is enough
                    }
                    continue;
                }
                m.putIfAbsent(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux (or unreadable)
        }
        return m;
    }

    public static Map<String, Object> collect() {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("version", Versions.tessera());
        info.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        info.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        Map<String, Object> versions = new LinkedHashMap<>(Versions.all());
        try {
            versions.put("javacpp.loaded", Loader.getVersion());
        } catch (java.io.IOException e) {
            versions.put("javacpp.loaded", "unknown");
        }
        info.put("presets", versions);

        Map<String, Object> nat = new LinkedHashMap<>();
        try {
            NativeLibrary.load();
            nat.put("loaded", true);
            nat.put("version", NativeLibrary.version());
            nat.put("path", NativeLibrary.path());
            nat.put("cpuSimd", NativeLibrary.cpuSimd());
            nat.put("cpuThreads", NativeLibrary.cpuThreads());
            nat.put("cpuInt8", Int8Linear.fast() ? "avx512-vnni" : "portable (INT8 models run dequantized by default)");
            nat.put("cudaKernels", NativeLibrary.cudaCompiled());
            nat.put("cudaArchs", NativeLibrary.cudaArchs());
        } catch (UnsatisfiedLinkError e) {
            nat.put("loaded", false);
            nat.put("error", e.getMessage());
        }
        info.put("native", nat);
        info.put("availableProcessors", Runtime.getRuntime().availableProcessors());
        info.put("cpu", cpuIdentity());

        List<Object> backends = new ArrayList<>();
        for (Backend b : Backends.all()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", b.name());
            Backend.Availability a = b.availability();
            m.put("available", a.available());
            if (!a.available()) {
                m.put("reason", a.reason());
            }
            if (a.available() && b.deviceType() == Device.Type.CPU) {
                m.put("blas", CpuBackend.blasDescription());
                if (CpuBackend.usesOpenBlas()) {
                    m.put("blasThreads", OpenBlas.threads());
                }
            }
            if (a.available() && b.deviceType() == Device.Type.CUDA) {
                m.put("driverVersion", cudaVersion(CudaRuntime.driverVersion()));
                m.put("runtimeVersion", cudaVersion(CudaRuntime.runtimeVersion()));
                List<Object> devices = new ArrayList<>();
                for (int i = 0; i < b.deviceCount(); i++) {
                    CudaRuntime.DeviceInfo d = CudaRuntime.deviceInfo(i);
                    Map<String, Object> dm = new LinkedHashMap<>();
                    dm.put("device", "cuda:" + i);
                    dm.put("name", d.name());
                    dm.put("computeCapability", d.computeCapability());
                    dm.put("totalMemoryBytes", d.totalMemory());
                    dm.put("freeMemoryBytes", d.freeMemory());
                    dm.put("multiprocessors", d.multiprocessors());
                    devices.add(dm);
                }
                m.put("devices", devices);
            }
            backends.add(m);
        }
        info.put("backends", backends);
        // the media presets: image files decode through OpenCV, audio files through FFmpeg (a .npy of pixels and
        // 16 kHz WAVs for logmel need neither); either may be missing (natives for another platform, a slim class path)
        Map<String, Object> media = new LinkedHashMap<>();
        media.put("imageDecoding", loads("OpenCV", OPENCV_PRESET));
        media.put("audioDecoding", loads("FFmpeg", FFMPEG_PRESET));
        info.put("media", media);
        try {
            info.put("defaultDevice", Backends.defaultDevice().toString());
        } catch (RuntimeException e) {
            info.put("defaultDevice", "none: " + e.getMessage());
        }
        return info;
    }

    /** Whether the JavaCPP preset class {@code cls} and its natives load: {library, available[, reason]}. */
    private static Map<String, Object> loads(String library, String cls) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("library", library);
        String problem = loadProblem(cls);
        m.put("available", problem == null);
        if (problem != null) {
            m.put("reason", problem);
        }
        return m;
    }

    /** The OpenCV preset class whose natives decode JPEG, PNG, BMP, WebP, TIFF and GIF images. */
    public static final String OPENCV_PRESET = "org.bytedeco.opencv.global.opencv_imgcodecs";

    /** The FFmpeg preset class whose natives (with avcodec, avutil and swresample) decode audio and AVIF images. */
    public static final String FFMPEG_PRESET = "org.bytedeco.ffmpeg.global.avformat";

    /** Each preset class's first answer from {@link #loadProblem} ("" where it loaded). */
    private static final Map<String, String> PRESET_PROBLEMS = new ConcurrentHashMap<>();

    /**
     * Null when the JavaCPP preset class {@code cls} (e.g. {@code org.bytedeco.ffmpeg.global.avformat}) and its
     * natives load here, else why not: its jar off the class path, no natives for this platform, or a system library
     * they link against missing (named, from the loader's own error: the linux-arm64 FFmpeg preset, unlike the
     * linux-x86_64 one, does not carry libva and libdrm). The first answer is kept: once a preset class failed its
     * static initialiser, the JVM only says "Could not initialize class".
     */
    public static String loadProblem(String cls) {
        String p = PRESET_PROBLEMS.computeIfAbsent(cls, SystemInfo::firstLoadProblem);
        return p.isEmpty() ? null : p;
    }

    /**
     * Throws {@link IllegalStateException} naming {@code what} and the reason when preset class {@code cls} cannot
     * be loaded (see {@link #loadProblem}); a caller checks before its first native call instead of letting a
     * {@code NoClassDefFoundError} or {@code UnsatisfiedLinkError} reach its own caller.
     */
    public static void requirePreset(String cls, String what) {
        String p = loadProblem(cls);
        if (p != null) {
            throw new IllegalStateException(what + " cannot be loaded here: " + p);
        }
    }

    private static String firstLoadProblem(String cls) {
        try {
            Loader.load(Class.forName(cls));
            return "";
        } catch (ClassNotFoundException e) {
            return "its preset jar is not on the class path (no " + cls + ")";
        } catch (LinkageError | ReflectiveOperationException | RuntimeException e) {
            return describeLoadFailure(e);
        }
    }

    /** The innermost cause of a failed load; where it is a shared object the loader did not find, that one named. */
    static String describeLoadFailure(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getClass().getSimpleName() + ": " + root.getMessage();
        int so = msg.indexOf(": cannot open shared object file");
        if (so > 0) { // "<extracted path>: libva-drm.so.2: cannot open shared object file: No such file ..."
            String lib = msg.substring(msg.lastIndexOf(':', so - 1) + 1, so).trim();
            return "the system library " + lib + " that its natives (" + Loader.getPlatform()
                    + ") link against is missing; install it with the system's packages (" + msg + ")";
        }
        return msg;
    }

    private static String cudaVersion(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }
}
