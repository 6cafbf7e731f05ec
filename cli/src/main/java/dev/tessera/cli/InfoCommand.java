package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tessera.models.hub.MavenSettings;
import dev.tessera.models.hub.ModelResolver;
import dev.tessera.runtime.SystemInfo;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.eclipse.aether.repository.RemoteRepository;
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
        info.put("modelResolution", modelResolution());
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(info));
            return 0;
        }
        System.out.print(format(info));
        return 0;
    }

    /**
     * Where {@code --model maven:...} and the aliases are looked for, as the user's Maven settings give it: the local
     * repository, offline or not, each remote (after mirrors) with its proxy and whether it has credentials (never
     * the credentials), the extraction cache; a settings file that cannot be read is reported, not thrown.
     */
    static Map<String, Object> modelResolution() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        try {
            MavenSettings s = MavenSettings.load();
            m.put("localRepository", s.localRepository().toString());
            m.put("offline", s.offline() || Boolean.getBoolean("tessera.offline"));
            List<Object> remotes = new java.util.ArrayList<>();
            for (RemoteRepository r : s.remoteRepositories()) {
                Map<String, Object> rm = new java.util.LinkedHashMap<>();
                rm.put("id", r.getId());
                rm.put("url", r.getUrl());
                if (!r.getMirroredRepositories().isEmpty()) {
                    rm.put("mirrorOf", r.getMirroredRepositories().stream().map(RemoteRepository::getId).toList());
                }
                var proxy = r.getProxy();
                if (proxy != null) {
                    rm.put("proxy", proxy.getType() + "://" + proxy.getHost() + ":" + proxy.getPort());
                }
                rm.put("credentials", r.getAuthentication() != null || s.httpHeaders().containsKey(r.getId()));
                remotes.add(rm);
            }
            m.put("remotes", remotes);
        } catch (RuntimeException e) {
            m.put("error", TesseraCli.message(e));
        } catch (LinkageError e) { // Maven Resolver left off the class path (as in the GPU bundle): maven: specs fail
            m.put("error", "Maven Resolver is not on the class path (" + e.getMessage() + "): --model maven:... and the"
                    + " aliases cannot be resolved; model directories still load");
        }
        try {
            m.put("cache", ModelResolver.defaultCacheRoot().toString());
        } catch (LinkageError e) {
            // as above: without Maven Resolver there is no cache of model jars either
        }
        return m;
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
            Map<String, Object> cpu = (Map<String, Object>) info.getOrDefault("cpu", Map.of());
            String family = cpu.get("family") == null ? "" : " (family " + cpu.get("family")
                    + (cpu.get("modelNumber") == null ? "" : " model " + cpu.get("modelNumber")) + ")";
            sb.append("  cpu          ").append(cpu.getOrDefault("model", "?")).append(family).append(": ")
                    .append(nat.get("cpuSimd")).append(", ").append(nat.get("cpuThreads"))
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
                String without = what.equals("images") ? " (a .npy of pixels still works)"
                        : " (logmel and transcribe still read 16 kHz WAV files)";
                sb.append(String.format("  %-6s %s %s%n", what, m.get("library"), Boolean.TRUE.equals(m.get("available"))
                        ? "available" : "unavailable: " + m.get("reason") + without));
            }
        }
        sb.append("default device: ").append(info.get("defaultDevice")).append('\n');
        Map<String, Object> mr = (Map<String, Object>) info.get("modelResolution");
        if (mr != null) {
            sb.append("models by Maven coordinates (--model maven:G:A:V, aliases such as minilm):\n");
            if (mr.containsKey("error")) {
                sb.append("  settings     ").append(mr.get("error")).append('\n');
            } else {
                sb.append("  local repo   ").append(mr.get("localRepository"))
                        .append(Boolean.TRUE.equals(mr.get("offline")) ? " (offline)" : "").append('\n');
                for (Object o : (List<Object>) mr.get("remotes")) {
                    Map<String, Object> r = (Map<String, Object>) o;
                    sb.append("  remote       ").append(r.get("id")).append(' ').append(r.get("url"));
                    if (r.containsKey("mirrorOf")) {
                        sb.append(" (mirror of ").append(String.join(", ", (List<String>) r.get("mirrorOf")))
                                .append(')');
                    }
                    if (r.containsKey("proxy")) {
                        sb.append(" via ").append(r.get("proxy"));
                    }
                    if (Boolean.TRUE.equals(r.get("credentials"))) {
                        sb.append(" [credentials]");
                    }
                    sb.append('\n');
                }
            }
            if (mr.containsKey("cache")) {
                sb.append("  cache        ").append(mr.get("cache")).append('\n');
            }
        }
        return sb.toString();
    }
}
