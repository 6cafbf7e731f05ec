package dev.tessera.models.hub;

import static dev.tessera.models.hub.MavenSettings.child;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.w3c.dom.Element;

/**
 * The conditions of a settings profile's {@code <activation>} as Maven 3 evaluates them: {@code <property>} (a
 * system property, or {@code env.NAME} an environment variable; {@code !name} for absent, {@code !value} for
 * different), {@code <jdk>} (a prefix of {@code java.version}, {@code !prefix}, or a range such as {@code [11,)}),
 * {@code <os>} ({@code name}, {@code family}, {@code arch}, {@code version}, each with {@code !}) and {@code <file>}
 * ({@code exists} / {@code missing}). A profile is activated when it has at least one condition and all of them hold
 * ({@code activeByDefault} is not a condition: see {@link MavenSettings}). Checked against Maven 3.8.7's
 * {@code help:active-profiles} on the cases of {@code ModelResolverTest}.
 */
final class ProfileActivation {
    private final Map<String, String> env;
    private final Function<String, String> systemProperty;

    /** Conditions evaluated against {@code env} and {@code systemProperty} (e.g. {@code System::getProperty}). */
    ProfileActivation(Map<String, String> env, Function<String, String> systemProperty) {
        this.env = env;
        this.systemProperty = systemProperty;
    }

    /** A condition's values: {@code text(element, childName)} gives the interpolated text of a child, or null. */
    interface Values {
        String text(Element parent, String name);
    }

    /** Whether {@code activation} (may be null) has a condition and every condition it has holds. */
    boolean activates(Element activation, Values v) {
        if (activation == null) {
            return false;
        }
        List<Boolean> held = new ArrayList<>();
        Element property = child(activation, "property");
        if (property != null) {
            held.add(property(v.text(property, "name"), v.text(property, "value")));
        }
        String jdk = v.text(activation, "jdk");
        if (jdk != null && !jdk.isEmpty()) {
            held.add(jdk(jdk, systemProperty.apply("java.version")));
        }
        Element os = child(activation, "os");
        if (os != null) {
            held.add(os(v.text(os, "name"), v.text(os, "family"), v.text(os, "arch"), v.text(os, "version")));
        }
        Element file = child(activation, "file");
        if (file != null) {
            held.add(file(v.text(file, "exists"), v.text(file, "missing")));
        }
        return !held.isEmpty() && !held.contains(Boolean.FALSE);
    }

    private String lookup(String name) {
        return name.startsWith("env.") ? env.get(name.substring(4)) : systemProperty.apply(name);
    }

    boolean property(String name, String value) {
        if (name == null || name.isEmpty() || name.equals("!")) {
            return false; // Maven refuses such a profile; here it is simply not activated
        }
        if (value == null || value.isEmpty()) {
            boolean negate = name.startsWith("!");
            String actual = lookup(negate ? name.substring(1) : name);
            boolean set = actual != null && !actual.isEmpty();
            return negate != set;
        }
        String actual = lookup(name);
        boolean negate = value.startsWith("!");
        boolean equal = (negate ? value.substring(1) : value).equals(actual);
        return negate != equal;
    }

    static boolean jdk(String spec, String javaVersion) {
        if (javaVersion == null) {
            return false;
        }
        String s = spec.trim();
        if (s.startsWith("[") || s.startsWith("(")) {
            return inRanges(s, javaVersion);
        }
        boolean negate = s.startsWith("!");
        String prefix = negate ? s.substring(1) : s;
        return negate != javaVersion.startsWith(prefix);
    }

    /** {@code version} within one of the comma-separated ranges of {@code spec} ({@code [a,b)}, {@code (,b]}, …). */
    private static boolean inRanges(String spec, String version) {
        int i = 0;
        while (i < spec.length()) {
            char open = spec.charAt(i);
            int close = indexOfAny(spec, i + 1);
            if ((open != '[' && open != '(') || close < 0) {
                return false; // malformed: not activated
            }
            String body = spec.substring(i + 1, close);
            int comma = body.indexOf(',');
            String lo = comma < 0 ? body.trim() : body.substring(0, comma).trim();
            String hi = comma < 0 ? body.trim() : body.substring(comma + 1).trim();
            boolean ok = (lo.isEmpty() || compare(version, lo) > 0 || (open == '[' && compare(version, lo) == 0))
                    && (hi.isEmpty() || compare(version, hi) < 0
                            || (spec.charAt(close) == ']' && compare(version, hi) == 0));
            if (ok) {
                return true;
            }
            i = close + 1;
            while (i < spec.length() && (spec.charAt(i) == ',' || Character.isWhitespace(spec.charAt(i)))) {
                i++;
            }
        }
        return false;
    }

    private static int indexOfAny(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (s.charAt(i) == ']' || s.charAt(i) == ')') {
                return i;
            }
        }
        return -1;
    }

    /**
     * Compares the numeric parts of two versions ({@code 17.0.15} against {@code 11}: only as many parts as the
     * shorter has, so {@code 11.0.2} equals {@code 11}, as Maven's JDK ranges treat them).
     */
    static int compare(String version, String bound) {
        String[] a = version.split("[._+-]");
        String[] b = bound.split("[._+-]");
        for (int k = 0; k < Math.min(a.length, b.length); k++) {
            int c = Long.compare(number(a[k]), number(b[k]));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static long number(String part) {
        int end = 0;
        while (end < part.length() && end < 18 && Character.isDigit(part.charAt(end))) {
            end++;
        }
        return end == 0 ? 0 : Long.parseLong(part.substring(0, end));
    }

    private boolean os(String name, String family, String arch, String version) {
        String osName = lower(systemProperty.apply("os.name"));
        return matches(name, n -> osName.equals(n))
                && matches(family, f -> isFamily(f, osName))
                && matches(arch, a -> a.equals(lower(systemProperty.apply("os.arch"))))
                && matches(version, ver -> ver.equals(lower(systemProperty.apply("os.version"))));
    }

    private static boolean matches(String spec, Predicate<String> test) {
        if (spec == null || spec.isEmpty()) {
            return true;
        }
        String s = spec.toLowerCase(Locale.ROOT);
        boolean negate = s.startsWith("!");
        return negate != test.test(negate ? s.substring(1) : s);
    }

    /** Maven's (plexus-utils') operating system families, for the systems a JVM runs on. */
    private boolean isFamily(String family, String osName) {
        String separator = systemProperty.apply("path.separator") == null ? File.pathSeparator
                : systemProperty.apply("path.separator");
        return switch (family) {
            case "windows" -> osName.contains("windows");
            case "win9x" -> osName.contains("windows") && (osName.contains("95") || osName.contains("98")
                    || osName.contains("me") || osName.contains("ce"));
            case "winnt" -> osName.contains("windows") && !isFamily("win9x", osName);
            case "mac" -> osName.contains("mac");
            case "unix" -> ":".equals(separator) && !osName.contains("openvms")
                    && (!osName.contains("mac") || osName.endsWith("x"));
            case "dos" -> ";".equals(separator) && !osName.contains("netware");
            case "netware" -> osName.contains("netware");
            case "os/2" -> osName.contains("os/2");
            case "z/os" -> osName.contains("z/os") || osName.contains("os/390");
            case "os/400" -> osName.contains("os/400");
            case "openvms" -> osName.contains("openvms");
            case "tandem" -> osName.contains("nonstop_kernel");
            default -> false;
        };
    }

    private static boolean file(String exists, String missing) {
        if (exists != null && !exists.isEmpty()) {
            return Files.exists(Path.of(exists));
        }
        if (missing != null && !missing.isEmpty()) {
            return !Files.exists(Path.of(missing));
        }
        return false;
    }

    private static String lower(String s) {
        return s == null ? "" : s.toLowerCase(Locale.ROOT);
    }
}
