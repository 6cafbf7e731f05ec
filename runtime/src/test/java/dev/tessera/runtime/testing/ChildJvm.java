package dev.tessera.runtime.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The command line of a test's child JVM: this JVM's java, the options every child gets, then the caller's. */
public final class ChildJvm {
    private ChildJvm() {}

    /**
     * {@code java [--enable-native-access=ALL-UNNAMED] jvmOptions -cp classPath main args}: native access so that
     * JDK 24+ prints no restricted-method warning on stderr (which some tests require empty); JDK 17 accepts it.
     */
    public static List<String> command(List<String> jvmOptions, String classPath, String main, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classPath, main));
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    /** {@link #command} on this JVM's class path, no further options. */
    public static List<String> command(String main, String... args) {
        return command(List.of(), System.getProperty("java.class.path"), main, args);
    }
}
