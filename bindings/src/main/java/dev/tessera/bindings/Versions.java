package dev.tessera.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/** Versions Tessera was built with: its own and the pinned JavaCPP preset set. */
public final class Versions {
    private static final Map<String, String> VERSIONS = load();

    private Versions() {}

    private static Map<String, String> load() {
        Properties p = new Properties();
        try (InputStream in = Versions.class.getResourceAsStream("versions.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // leave empty
        }
        Map<String, String> m = new TreeMap<>();
        p.forEach((k, v) -> m.put(k.toString(), v.toString()));
        return Map.copyOf(m);
    }

    /** e.g. {"tessera": "0.1.0-SNAPSHOT", "javacpp": "1.5.13", "cuda": "13.1-9.19-1.5.13", ...}. */
    public static Map<String, String> all() {
        return VERSIONS;
    }

    public static String tessera() {
        return VERSIONS.getOrDefault("tessera", "unknown");
    }
}
