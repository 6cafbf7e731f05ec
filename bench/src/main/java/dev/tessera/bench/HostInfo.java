package dev.tessera.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a result file says about the machine it ran on. */
final class HostInfo {
    private HostInfo() {}

    /**
     * CPU model, family / model numbers and vendor (a VM's "AMD EPYC" names no generation: family 25 is Zen 3 / 4,
     * 26 Zen 5, whose full-width AVX-512 doubles the fp32 peak per cycle), logical processors (as the JVM sees
     * them), physical cores and sockets where /proc/cpuinfo tells.
     */
    static Map<String, Object> cpu() {
        Map<String, Object> m = new LinkedHashMap<>();
        int logical = 0;
        java.util.Set<String> cores = new java.util.HashSet<>();
        java.util.Set<String> sockets = new java.util.HashSet<>();
        String flags = "";
        String phys = "0";
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            for (String line : lines) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String k = line.substring(0, colon).trim();
                String v = line.substring(colon + 1).trim();
                switch (k) {
                    case "processor" -> logical++;
                    case "physical id" -> {
                        phys = v;
                        sockets.add(v);
                    }
                    case "core id" -> cores.add(phys + ":" + v);
                    case "flags" -> flags = v;
                    default -> { }
                }
            }
        } catch (IOException e) {
            // not Linux: leave unknown
        }
        m.putAll(dev.tessera.runtime.SystemInfo.cpuIdentity()); // model, vendor, family, modelNumber
        m.put("availableProcessors", Runtime.getRuntime().availableProcessors());
        m.put("logicalProcessors", logical);
        m.put("physicalCores", cores.isEmpty() ? null : cores.size());
        m.put("sockets", sockets.isEmpty() ? null : sockets.size());
        String simd = flags.contains("avx512f") ? "avx512f" : flags.contains("avx2") ? "avx2"
                : flags.contains("avx") ? "avx" : flags.isEmpty() ? "unknown" : "sse";
        m.put("isa", simd);
        return m;
    }

    static String java() {
        return System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")";
    }

    /**
     * A CPU result document's first fields: {@code benchmark}, date, Tessera's and Java's versions, the CPU, the
     * native pool's thread count and the SIMD level its kernels run.
     */
    static java.util.Map<String, Object> header(String benchmark) {
        java.util.Map<String, Object> doc = new java.util.LinkedHashMap<>();
        doc.put("benchmark", benchmark);
        doc.put("date", java.time.ZonedDateTime.now().format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", dev.tessera.bindings.Versions.tessera());
        doc.put("java", java());
        doc.put("cpu", cpu());
        doc.put("threads", dev.tessera.bindings.TesseraNative.tsr_cpu_threads());
        doc.put("simd", dev.tessera.bindings.TesseraNative.tsr_cpu_simd().getString());
        return doc;
    }
}
