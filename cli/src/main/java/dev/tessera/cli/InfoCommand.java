package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tessera.runtime.SystemInfo;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera info [--json]}: versions, native library, CPU, and each backend's state. */
@Command(name = "info", description = "Show versions, the native library and each backend's state.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> info = SystemInfo.collect();
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(info));
            return 0;
        }
        System.out.print(format(info));
        return 0;
    }

    @SuppressWarnings("unchecked")
    static String format(Map<String, Object> info) {
        StringBuilder sb = new StringBuilder();
        sb.append("Tessera ").append(info.get("version")).append('\n');
        sb.append("  java         ").append(info.get("java")).append('\n');
        sb.append("  os           ").append(info.get("os")).append('\n');
        Map<String, Object> nat = (Map<String, Object>) info.get("native");
        if (Boolean.TRUE.equals(nat.get("loaded"))) {
            sb.append("  libtessera   ").append(nat.get("version")).append("  ").append(nat.get("path")).append('\n');
            sb.append("  cpu          ").append(nat.get("cpuSimd")).append(", ").append(nat.get("cpuThreads"))
                    .append(" threads, int8 ").append(nat.get("cpuInt8")).append('\n');
            sb.append("  cuda kernels ").append(Boolean.TRUE.equals(nat.get("cudaKernels"))
                    ? "compiled for " + nat.get("cudaArchs") : "not compiled (no nvcc at build time)").append('\n');
        } else {
            sb.append("  libtessera   NOT LOADED: ").append(nat.get("error")).append('\n');
        }
        Map<String, Object> presets = (Map<String, Object>) info.get("presets");
        sb.append("  presets      javacpp ").append(presets.get("javacpp")).append(", cuda ").append(presets.get("cuda"))
                .append(", tensorrt ").append(presets.get("tensorrt")).append(", opencv ").append(presets.get("opencv"))
                .append(", ffmpeg ").append(presets.get("ffmpeg")).append(", openblas ").append(presets.get("openblas"))
                .append('\n');
        sb.append("backends:\n");
        for (Object o : (List<Object>) info.get("backends")) {
            Map<String, Object> b = (Map<String, Object>) o;
            sb.append(String.format("  %-5s %s", b.get("name"),
                    Boolean.TRUE.equals(b.get("available")) ? "available" : "unavailable: " + b.get("reason")));
            if (b.containsKey("blas")) {
                sb.append(" (").append(b.get("blas"));
                if (b.containsKey("blasThreads")) {
                    sb.append(", ").append(b.get("blasThreads")).append(" threads");
                }
                sb.append(")");
            }
            if (b.containsKey("driverVersion")) {
                sb.append(" (driver ").append(b.get("driverVersion")).append(", runtime ").append(b.get("runtimeVersion"))
                        .append(')');
            }
            sb.append('\n');
            if (b.containsKey("devices")) {
                for (Object d : (List<Object>) b.get("devices")) {
                    Map<String, Object> dm = (Map<String, Object>) d;
                    sb.append(String.format("        %s %s, compute %s, %d SMs, %.1f GiB (%.1f GiB free)%n",
                            dm.get("device"), dm.get("name"), dm.get("computeCapability"), dm.get("multiprocessors"),
                            ((Number) dm.get("totalMemoryBytes")).doubleValue() / (1L << 30),
                            ((Number) dm.get("freeMemoryBytes")).doubleValue() / (1L << 30)));
                }
            }
        }
        Map<String, Object> media = (Map<String, Object>) info.get("media");
        if (media != null) {
            sb.append("media:\n");
            for (Map.Entry<String, Object> e : media.entrySet()) {
                Map<String, Object> m = (Map<String, Object>) e.getValue();
                String what = e.getKey().equals("imageDecoding") ? "images" : "audio";
                sb.append(String.format("  %-6s %s %s%n", what, m.get("library"), Boolean.TRUE.equals(m.get("available"))
                        ? "available" : "unavailable: " + m.get("reason") + (what.equals("images")
                                ? " (a .npy of pixels still works)" : " (logmel and transcribe still read 16 kHz WAV files)")));
            }
        }
        sb.append("default device: ").append(info.get("defaultDevice")).append('\n');
        return sb.toString();
    }
}
