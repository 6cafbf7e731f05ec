package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/** {@code tessera info --json} (and demo argument errors; the demo itself: DemoCommandTest), run in-process with System.out captured. */
class InfoCommandTest {
    record Run(int exitCode, String out) {}

    static Run run(String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Callable<Integer> call = () -> TesseraCli.run(args);
        int code;
        try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            code = call.call();
        } finally {
            System.setOut(old);
        }
        return new Run(code, buf.toString(StandardCharsets.UTF_8));
    }

    /** Errors out of a command (picocli lets them through) end in one line and exit status 1, no stack trace. */
    @Test
    void errorsOutOfACommandAreOneLine() {
        for (Error e : new Error[] {new OutOfMemoryError("could not allocate 4096 bytes of host memory"),
            new InternalError("a fault occurred in a recent unsafe memory access operation"),
            new StackOverflowError(), new OutOfMemoryError("line one\n\tat somewhere"),
            new NoClassDefFoundError("org/bytedeco/opencv/global/opencv_imgcodecs"),
            new UnsatisfiedLinkError("no jniopencv_core in java.library.path"),
            new ExceptionInInitializerError(new IllegalStateException("x")), new AssertionError("odd")}) {
            java.io.StringWriter w = new java.io.StringWriter();
            assertEquals(1, TesseraCli.fatal(e, new java.io.PrintWriter(w)));
            String out = w.toString();
            assertEquals(1, out.strip().lines().count(), out);
            assertTrue(out.startsWith("error: "), out);
            assertTrue(e.getMessage() == null || out.contains(e.getMessage().lines().findFirst().orElseThrow()), out);
        }
    }

    @Test
    void infoJsonIsValidAndListsTheBackends() throws Exception {
        Run r = run("info", "--json");
        assertEquals(0, r.exitCode(), r.out());
        JsonNode root = new ObjectMapper().readTree(r.out()); // throws on invalid JSON
        assertTrue(root.isObject(), r.out());
        assertTrue(root.path("version").isTextual(), "version");
        assertTrue(root.path("native").path("loaded").asBoolean(), "libtessera not loaded: " + root.path("native"));
        String int8 = root.path("native").path("cpuInt8").asText();
        assertEquals(dev.tessera.runtime.Int8Linear.fast(), int8.equals("avx512-vnni"), "cpuInt8 " + int8);
        // the processor as /proc/cpuinfo names it, first entry (its family where the kernel reports one)
        java.nio.file.Path cpuinfo = java.nio.file.Path.of("/proc/cpuinfo");
        if (java.nio.file.Files.isReadable(cpuinfo)) {
            String first = java.nio.file.Files.readString(cpuinfo).split("\\n\\s*\\n")[0];
            java.util.regex.Matcher mn = java.util.regex.Pattern.compile("(?m)^model name\\s*:\\s*(.*)$").matcher(first);
            java.util.regex.Matcher fam = java.util.regex.Pattern.compile("(?m)^cpu family\\s*:\\s*(.*)$").matcher(first);
            if (mn.find()) {
                assertEquals(mn.group(1).trim(), root.path("cpu").path("model").asText(), r.out());
            }
            if (fam.find()) {
                assertEquals(fam.group(1).trim(), root.path("cpu").path("family").asText(), r.out());
                Run text = run("info");
                assertTrue(text.out().contains("(family " + fam.group(1).trim()), text.out());
            }
        }
        // OpenCV and FFmpeg are on the test class path: both media libraries load
        assertTrue(root.path("media").path("imageDecoding").path("available").asBoolean(), r.out());
        assertTrue(root.path("media").path("audioDecoding").path("available").asBoolean(), r.out());
        JsonNode backends = root.get("backends");
        assertNotNull(backends, "no \"backends\" in " + r.out());
        assertTrue(backends.isArray());
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode b : backends) {
            byName.put(b.path("name").asText(), b);
        }
        JsonNode cpu = byName.get("cpu");
        assertNotNull(cpu, "no cpu backend in " + backends);
        assertTrue(cpu.path("available").isBoolean() && cpu.path("available").asBoolean(), "cpu: " + cpu);
        JsonNode cuda = byName.get("cuda");
        assertNotNull(cuda, "no cuda backend in " + backends);
        assertTrue(cuda.path("available").isBoolean(), "cuda: " + cuda);
        if (cuda.path("available").asBoolean()) {
            JsonNode devices = cuda.get("devices");
            assertTrue(devices != null && devices.isArray() && devices.size() >= 1, "cuda devices: " + cuda);
            JsonNode d0 = devices.get(0);
            assertEquals("cuda:0", d0.path("device").asText());
            assertFalse(d0.path("name").asText().isBlank());
            assertTrue(d0.path("totalMemoryBytes").asLong() > 0);
            assertEquals("cuda:0", root.path("defaultDevice").asText());
        } else {
            assertTrue(cuda.path("reason").isTextual(), "cuda unavailable without a reason: " + cuda);
            assertFalse(cuda.path("reason").asText().isBlank(), "cuda unavailable with an empty reason: " + cuda);
            assertFalse(cuda.has("devices"));
            String prop = System.getProperty("tessera.device");
            if (prop == null || prop.isBlank()) {
                assertEquals("cpu", root.path("defaultDevice").asText());
            }
        }
    }

    /**
     * Without the OpenCV, FFmpeg and Maven Resolver jars on the class path (as in the GPU bundle), info still works and
     * says what is missing and what still works without it.
     */
    @Test
    void infoNamesMissingMediaLibraries() throws Exception {
        String cp = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> !java.nio.file.Path.of(e).getFileName().toString()
                        .matches("(opencv|ffmpeg|maven-|plexus-).*"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        Process p = new ProcessBuilder(dev.tessera.runtime.testing.ChildJvm.command(java.util.List.of(), cp,
                TesseraCli.class.getName(), "info")).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("images OpenCV unavailable: its preset jar is not on the class path")
                && out.contains("a .npy of pixels"), out);
        assertTrue(out.contains("audio  FFmpeg unavailable: its preset jar is not on the class path")
                && out.contains("16 kHz WAV"), out);
        assertTrue(out.contains("settings     Maven Resolver is not on the class path")
                && out.contains("model directories still load"), out);
        Run r = run("info");
        assertTrue(r.out().contains("images OpenCV available") && r.out().contains("audio  FFmpeg available"), r.out());
    }

    /**
     * info shows where models by Maven coordinates come from, as the settings give it (mirror, proxy, whether a remote
     * has credentials: never the credentials themselves), and a settings file it cannot read as one line.
     */
    @Test
    void infoShowsModelResolutionWithoutSecrets(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Path settings = tmp.resolve("settings.xml");
        java.nio.file.Files.writeString(settings, """
                <settings>
                  <localRepository>%s</localRepository>
                  <mirrors><mirror><id>corp</id><mirrorOf>*</mirrorOf><url>https://nexus.example/all</url></mirror></mirrors>
                  <servers><server><id>corp</id><username>bot</username><password>hunter2-secret</password></server></servers>
                  <proxies><proxy><active>true</active><protocol>https</protocol><host>proxy.example</host><port>3128</port>
                  </proxy></proxies>
                </settings>
                """.formatted(tmp.resolve("repo")));
        String[] keys = {"maven.settings", "maven.global.settings", "maven.repo.local"};
        String[] old = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            old[i] = System.getProperty(keys[i]);
        }
        try {
            System.setProperty("maven.settings", settings.toString());
            System.setProperty("maven.global.settings", tmp.resolve("none.xml").toString());
            System.clearProperty("maven.repo.local");
            Run r = run("info");
            assertEquals(0, r.exitCode(), r.out());
            assertTrue(r.out().contains("local repo   " + tmp.resolve("repo")), r.out());
            assertTrue(r.out().contains("remote       corp https://nexus.example/all (mirror of central) via"
                    + " https://proxy.example:3128 [credentials]"), r.out());
            assertFalse(r.out().contains("hunter2"), r.out());
            Run j = run("info", "--json");
            JsonNode mr = new ObjectMapper().readTree(j.out()).path("modelResolution");
            assertEquals("corp", mr.path("remotes").get(0).path("id").asText(), j.out());
            assertTrue(mr.path("remotes").get(0).path("credentials").asBoolean(), j.out());
            assertFalse(j.out().contains("hunter2"), j.out());
            java.nio.file.Files.writeString(settings, "<settings><unclosed>");
            Run bad = run("info");
            assertEquals(0, bad.exitCode(), bad.out());
            assertTrue(bad.out().contains("settings     cannot read Maven settings " + settings), bad.out());
        } finally {
            for (int i = 0; i < keys.length; i++) {
                if (old[i] == null) {
                    System.clearProperty(keys[i]);
                } else {
                    System.setProperty(keys[i], old[i]);
                }
            }
        }
    }

    @Test
    void infoTextNamesEveryBackend() throws Exception {
        Run r = run("info");
        assertEquals(0, r.exitCode(), r.out());
        assertTrue(r.out().contains("backends:"), r.out());
        assertTrue(r.out().contains("cpu") && r.out().contains("cuda"), r.out());
    }

    @Test
    void badArgumentsGiveANonZeroExitCode() throws Exception {
        assertTrue(run("info", "--no-such-option").exitCode() != 0);
        assertEquals(2, run("demo", "--pairs", "0").exitCode());
    }

    /** Every subcommand answers --help with its own usage and exit 0, whatever options it otherwise requires. */
    @Test
    void everySubcommandPrintsItsHelp() throws Exception {
        var top = new picocli.CommandLine(new TesseraCli());
        assertFalse(top.getSubcommands().isEmpty());
        for (String name : top.getSubcommands().keySet()) {
            if (name.equals("help")) {
                continue;
            }
            for (String flag : new String[] {"--help", "-h"}) {
                Run r = run(name, flag);
                assertEquals(0, r.exitCode(), name + " " + flag + ": " + r.out());
                assertTrue(r.out().startsWith("Usage: tessera " + name), name + " " + flag + ": " + r.out());
            }
        }
        Run v = run("embed", "--version");
        assertEquals(0, v.exitCode());
        assertTrue(v.out().startsWith("tessera "), v.out());
    }

    /** A mistyped command line is one error line naming the help to read, not the whole usage text. */
    @Test
    void mistypedCommandLinesGiveOneLineAndTheHelpToRead() {
        ChatCommandTest.assertOneLineErrors(new String[] {"classify", "x.png", "--model", "m", "--top", "abc"},
                new String[] {"classify"}, new String[] {"clasify"}, new String[] {"embed", "--model", "m", "--txt", "a"},
                new String[] {"logmel"}, new String[] {"dbm", "evl"});
        ChatCommandTest.Run r = ChatCommandTest.run(null, "clasify", "a.png");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("did you mean classify") && r.err().contains("(see 'tessera --help')"), r.err());
        r = ChatCommandTest.run(null, "classify", "x.png", "--model", "m", "--top", "abc");
        assertTrue(r.err().strip().equals("error: Invalid value for option '--top': 'abc' is not an int"
                + " (see 'tessera classify --help')"), r.err());
    }
}
