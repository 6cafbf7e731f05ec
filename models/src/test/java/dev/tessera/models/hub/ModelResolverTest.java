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
import java.util.Map;
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

    @Test
    void cacheRootFallsBackToAPrivateTemporaryDirectoryWhereHomeCannotBeWritten() throws IOException {
        Path home = tmp.resolve("home");
        Path tmpDir = Files.createDirectories(tmp.resolve("tmp"));
        // explicit roots win, as given
        assertEquals(Path.of("/x/p"), ModelResolver.cacheRoot("/x/p", "/x/e", home, tmpDir, "u"));
        assertEquals(Path.of("/x/e"), ModelResolver.cacheRoot(" ", "/x/e", home, tmpDir, "u"));
        // a home whose nearest existing ancestor is a writable directory: used (created later, on extraction)
        assertEquals(home.resolve(".cache/tessera"),
                ModelResolver.cacheRoot(null, null, home.resolve(".cache/tessera"), tmpDir, "u"));
        // a home that cannot hold directories (a file where a directory should be; root may write anywhere else):
        // the user's own owner-only directory in the temporary directory
        Files.writeString(home.getParent().resolve("notadir"), "x");
        Path blocked = home.getParent().resolve("notadir").resolve(".cache/tessera");
        Path fb = ModelResolver.cacheRoot(null, null, blocked, tmpDir, "svc user/1");
        assertEquals(tmpDir.resolve("tessera-cache-svc_user_1"), fb);
        assertTrue(Files.isDirectory(fb));
        if (fb.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(fb)));
            // one that others may write to is not trusted: back to the home path, whose extraction then fails
            // with its hint
            Files.setPosixFilePermissions(fb, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
            assertEquals(blocked, ModelResolver.cacheRoot(null, null, blocked, tmpDir, "svc user/1"));
        }
        // a link in its place is not followed
        Path link = tmpDir.resolve("tessera-cache-v");
        Files.createSymbolicLink(link, Files.createDirectories(tmp.resolve("elsewhere")));
        assertEquals(blocked, ModelResolver.cacheRoot(null, null, blocked, tmpDir, "v"));
    }

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
        Path remote = remoteWith("remote", "remote-model", "2.1", "m.onnx", "REMOTE");
        Path local = tmp.resolve("local");
        RemoteRepository repo = new RemoteRepository.Builder("test-remote", "default", remote.toUri().toString())
                .build();
        ModelResolver r = new ModelResolver(local, List.of(repo), tmp.resolve("cache"), false);
        Path dir = r.resolve("maven:org.example:remote-model:2.1");
        assertEquals("REMOTE", Files.readString(dir.resolve("m.onnx")));
        assertTrue(Files.isRegularFile(artifact(local, "org.example", "remote-model", "2.1")));
    }

    /** Maven's long coordinates: a classified zip from a remote, a classified jar from the local repository. */
    @Test
    void classifiedArchivesByTheLongCoordinates() throws IOException {
        Path remote = tmp.resolve("remote-classified");
        Path zip = artifact(remote, "org.example", "vision", "1.2").resolveSibling("vision-1.2-weights.zip");
        jar(zip, "vit/model.safetensors", "WEIGHTS", "vit/config.json", "{}");
        pom(remote, "org.example", "vision", "1.2");
        jar(artifact(remote, "org.example", "vision", "1.2"), "other.onnx", "PLAIN"); // the unclassified jar
        Path local = tmp.resolve("local-classified");
        jar(artifact(local, "org.example", "vision", "1.2").resolveSibling("vision-1.2-small.jar"), "s.onnx", "SMALL");
        RemoteRepository repo = new RemoteRepository.Builder("r", "default", remote.toUri().toString()).build();
        ModelResolver r = new ModelResolver(local, List.of(repo), tmp.resolve("cache"), false);
        Path weights = r.resolve("maven:org.example:vision:zip:weights:1.2");
        assertEquals("WEIGHTS", Files.readString(weights.resolve("model.safetensors")));
        assertTrue(weights.startsWith(tmp.resolve("cache/models/org.example/vision-weights/1.2")), weights.toString());
        assertEquals("SMALL", Files.readString(r.resolve("maven:org.example:vision:jar:small:1.2").resolve("s.onnx")));
        assertEquals("PLAIN", Files.readString(r.resolve("maven:org.example:vision:jar:1.2").resolve("other.onnx")));
        for (String bad : new String[] {"maven:org.example:vision:pom:1.2", "maven:a:b:c:d:e:f", "maven:a::1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.resolve(bad));
            assertTrue(e.getMessage().startsWith("bad Maven model spec"), e.getMessage());
        }
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

    /**
     * Damaged settings files (and settings-security files) are read or refused with one clear line, never another
     * exception: every part of the settings this class reads is in the seeds (mirrors, servers with encrypted
     * passwords and headers, proxies, profiles with conditions and policies).
     */
    @Test
    void damagedSettingsAreReadOrRefusedClearly() throws IOException {
        java.util.Properties enc = encryptedPasswords();
        String settingsXml = """
                <settings>
                  <localRepository>${user.home}/m2-${env.TSR_TEAM}</localRepository>
                  <offline>false</offline>
                  <mirrors><mirror><id>all</id><mirrorOf>external:*,!internal</mirrorOf><url>https://n.example/all</url>
                    <blocked>false</blocked></mirror></mirrors>
                  <servers><server><id>all</id><username>bot</username><password>%s</password>
                    <configuration><httpHeaders><property><name>Private-Token</name><value>t</value></property>
                    </httpHeaders></configuration></server></servers>
                  <proxies><proxy><active>true</active><protocol>https</protocol><host>p.example</host><port>3128</port>
                    <username>px</username><password>%s</password><nonProxyHosts>*.internal|localhost</nonProxyHosts>
                  </proxy></proxies>
                  <profiles><profile><id>p</id><activation><property><name>!x</name></property><jdk>[11,)</jdk>
                    <os><family>unix</family></os><file><missing>/nonexistent</missing></file></activation>
                    <repositories><repository><id>models</id><url>https://models.example/repo</url>
                      <releases><enabled>true</enabled><updatePolicy>interval:5</updatePolicy></releases>
                      <snapshots><enabled>false</enabled><checksumPolicy>fail</checksumPolicy></snapshots>
                    </repository></repositories></profile>
                    <profile><id>d</id><activation><activeByDefault>true</activeByDefault></activation></profile>
                  </profiles>
                  <activeProfiles><activeProfile>p</activeProfile></activeProfiles>
                </settings>
                """.formatted(enc.getProperty("server"), enc.getProperty("proxy"));
        Path settings = tmp.resolve("fuzz-settings.xml");
        Path security = tmp.resolve("fuzz-settings-security.xml");
        byte[] goodSecurity = Files.readAllBytes(encryptedFixture("settings-security.xml"));
        Files.write(security, goodSecurity);
        Fuzz.run("maven-settings", List.of(settingsXml.getBytes(StandardCharsets.UTF_8)), Fuzz.iterations(300), 29,
                in -> {
                    Files.write(settings, in);
                    MavenSettings.load(settings, null, security, Map.of("TSR_TEAM", "ml"));
                });
        Files.writeString(settings, settingsXml);
        Fuzz.run("settings-security", List.of(goodSecurity), Fuzz.iterations(200), 31, in -> {
            Files.write(security, in);
            MavenSettings.load(settings, null, security, Map.of("TSR_TEAM", "ml"));
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
    }

    /**
     * What corporate settings files use beyond the basics, resolved as Maven resolves them: {@code ${env.*}} and
     * system-property expressions in any value, an exact-id mirror before an earlier {@code *} one, exclusions,
     * {@code external:*} (not for localhost or file: repositories), proxies with {@code nonProxyHosts}, credentials
     * for the mirror's id.
     */
    @Test
    void settingsInterpolateAndMirrorAndProxyAsMavenDoes() throws IOException {
        Path settings = tmp.resolve("settings-corp.xml");
        Files.writeString(settings, """
                <settings>
                  <localRepository>${user.home}/m2-${env.TSR_TEAM}</localRepository>
                  <mirrors>
                    <mirror><id>all</id><mirrorOf>external:*,!internal</mirrorOf><url>https://nexus.example/all</url></mirror>
                    <mirror><id>models-mirror</id><mirrorOf>models</mirrorOf><url>https://${env.TSR_HOST}/models</url></mirror>
                  </mirrors>
                  <servers>
                    <server><id>all</id><username>${env.TSR_USER}</username><password>${env.TSR_TOKEN}</password></server>
                  </servers>
                  <proxies>
                    <proxy><id>off</id><active>false</active><protocol>https</protocol><host>unused</host></proxy>
                    <proxy><active>true</active><protocol>https</protocol><host>proxy.example</host><port>3128</port>
                      <nonProxyHosts>*.internal.example|localhost</nonProxyHosts></proxy>
                  </proxies>
                  <profiles><profile><id>p</id><repositories>
                    <repository><id>models</id><url>https://models.example/repo</url></repository>
                    <repository><id>internal</id><url>https://repo.internal.example/maven</url></repository>
                    <repository><id>local-dev</id><url>http://localhost:8081/repo</url></repository>
                    <repository><id>unset</id><url>https://${env.TSR_NOT_SET}/repo</url></repository>
                  </repositories></profile></profiles>
                  <activeProfiles><activeProfile>${env.TSR_PROFILE}</activeProfile></activeProfiles>
                </settings>
                """);
        Map<String, String> env = Map.of("TSR_TEAM", "ml", "TSR_HOST", "mirror.example", "TSR_USER", "bot",
                "TSR_TOKEN", "s3cret", "TSR_PROFILE", "p");
        String old = System.getProperty("maven.repo.local");
        System.clearProperty("maven.repo.local");
        MavenSettings s;
        try {
            s = MavenSettings.load(settings, null, env);
        } finally {
            if (old != null) {
                System.setProperty("maven.repo.local", old);
            }
        }
        assertEquals(Path.of(System.getProperty("user.home"), "m2-ml"), s.localRepository());
        Map<String, RemoteRepository> byId = new java.util.LinkedHashMap<>();
        s.remoteRepositories().forEach(r -> byId.put(r.getId(), r));
        // models: its exact-id mirror, though the '*' mirror comes first; internal: excluded from it; localhost:
        // not external; the unset variable stays as written (its repository is external, so 'all' mirrors it);
        // central: the '*' mirror (listed once, with 'unset' folded into it)
        assertEquals(List.of("models-mirror", "internal", "local-dev", "all"), List.copyOf(byId.keySet()));
        assertEquals("https://mirror.example/models", byId.get("models-mirror").getUrl());
        assertEquals(List.of("https://${env.TSR_NOT_SET}/repo"), byId.get("all").getMirroredRepositories().stream()
                .map(RemoteRepository::getUrl).toList());
        // the credentials of the mirror's id, interpolated
        assertEquals(new org.eclipse.aether.util.repository.AuthenticationBuilder().addUsername("bot")
                .addPassword("s3cret").build(), byId.get("all").getAuthentication());
        assertEquals(null, byId.get("internal").getAuthentication());
        // the active https proxy, except for the non-proxy hosts
        assertEquals("proxy.example:3128", byId.get("models-mirror").getProxy().getHost() + ":"
                + byId.get("models-mirror").getProxy().getPort());
        assertEquals(null, byId.get("internal").getProxy());
        assertEquals(null, byId.get("local-dev").getProxy()); // localhost is a non-proxy host
    }

    /**
     * A repository serving {@code remote} at {@code http://127.0.0.1:PORT/repo/} to requests whose header
     * {@code header} is {@code expected}, 401 with a Basic challenge to others (as a Nexus answers); each request is
     * added to {@code seen} as "METHOD PATH HEADER-VALUE". Started; the caller stops it.
     */
    private static com.sun.net.httpserver.HttpServer privateRepository(Path remote, String header, String expected,
            List<String> seen) throws IOException {
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/repo/", ex -> {
            String given = ex.getRequestHeaders().getFirst(header);
            seen.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " " + (given == null ? "-" : given));
            if (!expected.equals(given)) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"models\"");
                ex.sendResponseHeaders(401, -1);
                ex.close();
            } else {
                serve(ex, remote.resolve(ex.getRequestURI().getPath().substring("/repo/".length())));
            }
        });
        server.start();
        return server;
    }

    /**
     * A server's {@code <configuration><httpHeaders>} (GitLab's package registry takes a {@code Private-Token} or
     * {@code Job-Token} header instead of a password) are sent with every request to its repository, interpolated.
     */
    @Test
    void serverHttpHeadersAreSent() throws IOException {
        Path remote = remoteWith("gitlab-remote", "token-model", "2.0", "t.onnx", "WITH-TOKEN");
        List<String> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        com.sun.net.httpserver.HttpServer server = privateRepository(remote, "Private-Token", "glpat-123", seen);
        try {
            Path settings = tmp.resolve("settings-headers.xml");
            Files.writeString(settings, """
                    <settings>
                      <servers><server><id>gitlab</id><configuration><httpHeaders>
                        <property><name>Private-Token</name><value>${env.TSR_GITLAB_TOKEN}</value></property>
                      </httpHeaders></configuration></server>
                      <server><id>unused</id><configuration><httpHeaders>
                        <property><name>X-Other</name><value>x</value></property>
                      </httpHeaders></configuration></server></servers>
                      <profiles><profile><id>p</id><repositories>
                        <repository><id>gitlab</id><url>http://127.0.0.1:%d/repo</url></repository>
                      </repositories></profile></profiles>
                      <activeProfiles><activeProfile>p</activeProfile></activeProfiles>
                    </settings>
                    """.formatted(server.getAddress().getPort()));
            MavenSettings s = MavenSettings.load(settings, null, Map.of("TSR_GITLAB_TOKEN", "glpat-123"));
            assertEquals(Map.of("gitlab", Map.of("Private-Token", "glpat-123")), s.httpHeaders());
            ModelResolver r = new ModelResolver(tmp.resolve("local-gitlab"), s.remoteRepositories(),
                    tmp.resolve("cache"), false, s.httpHeaders());
            Path dir = r.resolve("maven:org.example:token-model:2.0");
            assertEquals("WITH-TOKEN", Files.readString(dir.resolve("t.onnx")));
            assertTrue(seen.stream().anyMatch(x -> x.equals("GET /repo/org/example/token-model/2.0/token-model-2.0.jar"
                    + " glpat-123")), seen.toString());
            // without the headers the same repository refuses
            ModelResolver bare = new ModelResolver(tmp.resolve("local-gitlab-2"), s.remoteRepositories(),
                    tmp.resolve("cache-2"), false);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bare.resolve("maven:org.example:token-model:2.0"));
            assertTrue(e.getMessage().contains("401"), e.getMessage());
        } finally {
            server.stop(0);
        }
    }

    /** A remote repository {@code tmp/dir} holding org.example:ARTIFACT:VERSION: a jar with one file, and its POM. */
    private Path remoteWith(String dir, String artifact, String version, String file, String content)
            throws IOException {
        Path remote = tmp.resolve(dir);
        jar(artifact(remote, "org.example", artifact, version), file, content);
        pom(remote, "org.example", artifact, version);
        return remote;
    }

    /** Answers {@code ex} with file {@code f} (200, a HEAD without the body) or 404 where there is none. */
    private static void serve(com.sun.net.httpserver.HttpExchange ex, Path f) throws IOException {
        if (f != null && Files.isRegularFile(f)) {
            byte[] body = Files.readAllBytes(f);
            ex.sendResponseHeaders(200, "HEAD".equals(ex.getRequestMethod()) ? -1 : body.length);
            if (!"HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseBody().write(body);
            }
        } else {
            ex.sendResponseHeaders(404, -1);
        }
        ex.close();
    }

    /**
     * End to end through a proxy from settings.xml: the repository's host does not resolve here, so the artifact can
     * only come through the proxy (a local HTTP server that answers absolute-URI requests from a folder).
     */
    @Test
    void downloadsThroughTheSettingsProxy() throws IOException {
        Path remote = remoteWith("behind-proxy", "proxied-model", "3.0", "p.onnx", "VIA-PROXY");
        List<String> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        com.sun.net.httpserver.HttpServer proxy = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        proxy.createContext("/", ex -> {
            java.net.URI uri = ex.getRequestURI();
            seen.add(ex.getRequestMethod() + " " + uri);
            Path f = "models.example".equals(uri.getHost()) && uri.getPath().startsWith("/repo/")
                    ? remote.resolve(uri.getPath().substring("/repo/".length())) : null;
            serve(ex, f);
        });
        proxy.start();
        try {
            Path settings = tmp.resolve("settings-proxy.xml");
            Files.writeString(settings, """
                    <settings>
                      <proxies><proxy><active>true</active><protocol>http</protocol><host>127.0.0.1</host>
                        <port>%d</port></proxy></proxies>
                      <profiles><profile><id>p</id><repositories>
                        <repository><id>models</id><url>http://models.example/repo</url></repository>
                      </repositories></profile></profiles>
                      <activeProfiles><activeProfile>p</activeProfile></activeProfiles>
                    </settings>
                    """.formatted(proxy.getAddress().getPort()));
            MavenSettings s = MavenSettings.load(settings, null, Map.of());
            RemoteRepository models = s.remoteRepositories().get(0);
            assertEquals("models", models.getId());
            ModelResolver r = new ModelResolver(tmp.resolve("local-proxy"), List.of(models), tmp.resolve("cache"),
                    false);
            Path dir = r.resolve("maven:org.example:proxied-model:3.0");
            assertEquals("VIA-PROXY", Files.readString(dir.resolve("p.onnx")));
            assertTrue(seen.stream().anyMatch(x -> x.startsWith("GET http://models.example/repo/org/example/"
                    + "proxied-model/3.0/proxied-model-3.0.jar")), seen.toString());
        } finally {
            proxy.stop(0);
        }
    }

    /** The Maven installation's global settings under the user's, merged as Maven merges them. */
    @Test
    void userSettingsWinOverTheGlobalOnes() throws IOException {
        Path user = tmp.resolve("user-settings.xml");
        Path global = tmp.resolve("maven-home/conf/settings.xml");
        Files.createDirectories(global.getParent());
        Files.writeString(user, """
                <settings>
                  <servers><server><id>corp</id><username>me</username><password>mine</password></server></servers>
                  <profiles><profile><id>models</id><repositories>
                    <repository><id>models</id><url>https://models.example/repo</url></repository>
                  </repositories></profile></profiles>
                  <activeProfiles><activeProfile>models</activeProfile></activeProfiles>
                </settings>
                """);
        Files.writeString(global, """
                <settings>
                  <localRepository>/shared/m2</localRepository>
                  <offline>false</offline>
                  <mirrors><mirror><id>corp</id><mirrorOf>central</mirrorOf><url>https://nexus.example/c</url></mirror>
                  </mirrors>
                  <servers><server><id>corp</id><username>ci</username><password>theirs</password></server></servers>
                  <profiles><profile><id>models</id><repositories>
                    <repository><id>shadowed</id><url>https://shadowed.example/</url></repository>
                  </repositories></profile></profiles>
                </settings>
                """);
        assertEquals(global, MavenSettings.globalSettingsFile(Map.of("MAVEN_HOME", tmp.resolve("maven-home").toString())));
        assertEquals(null, MavenSettings.globalSettingsFile(Map.of()));
        // else the installation of the mvn first on PATH, through its links (as Debian's /usr/bin/mvn)
        Path bin = Files.createDirectories(tmp.resolve("maven-home/bin"));
        Path mvn = Files.writeString(bin.resolve("mvn"), "#!/bin/sh\n");
        mvn.toFile().setExecutable(true);
        Path usrBin = Files.createDirectories(tmp.resolve("usr-bin"));
        Files.createSymbolicLink(usrBin.resolve("mvn"), mvn);
        String path = tmp.resolve("empty-dir") + java.io.File.pathSeparator + usrBin;
        assertEquals(global.toRealPath(), MavenSettings.globalSettingsFile(Map.of("PATH", path)));
        assertEquals(null, MavenSettings.globalSettingsFile(Map.of("PATH", tmp.resolve("empty-dir").toString())));
        String old = System.getProperty("maven.repo.local");
        System.clearProperty("maven.repo.local");
        MavenSettings s;
        try {
            s = MavenSettings.load(user, global, Map.of());
        } finally {
            if (old != null) {
                System.setProperty("maven.repo.local", old);
            }
        }
        assertEquals(Path.of("/shared/m2"), s.localRepository()); // the user's file does not set it
        assertEquals(List.of("models https://models.example/repo", "corp https://nexus.example/c"),
                s.remoteRepositories().stream().map(x -> x.getId() + " " + x.getUrl()).toList());
        assertEquals(new org.eclipse.aether.util.repository.AuthenticationBuilder().addUsername("me")
                .addPassword("mine").build(), s.remoteRepositories().get(1).getAuthentication());
    }

    private static String profile(String id, String activation) {
        return "<profile><id>" + id + "</id><activation>" + activation + "</activation><repositories><repository><id>"
                + id + "</id><url>https://" + id + ".example/repo</url></repository></repositories></profile>";
    }

    private static List<String> profileRepositories(Path settings, Map<String, String> env) {
        return MavenSettings.load(settings, null, env).remoteRepositories().stream().map(RemoteRepository::getId)
                .filter(id -> !id.equals("central")).toList();
    }

    /**
     * Profiles activated by their conditions as Maven 3 activates them: a property (set, absent with {@code !},
     * equal or not to a value, {@code env.*}), a JDK prefix or range, the OS family, a file that exists or is
     * missing; every condition of a profile must hold; {@code activeByDefault} ones always (for settings profiles
     * Maven does not drop them when others are active, as it does for a POM's). The expected lists are what Maven
     * 3.8.7's {@code mvn -s FILE -Dtsr.flavour=gpu help:active-profiles} printed for the same settings (with
     * TSR_CI=true in the environment, the marker file beside it).
     */
    @Test
    void profilesActivateByTheirConditionsAsMavenDoes() throws IOException {
        Files.writeString(tmp.resolve("marker"), "x");
        boolean unix = !System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("windows");
        Path settings = tmp.resolve("settings-activation.xml");
        Files.writeString(settings, "<settings><profiles>"
                + profile("prop", "<property><name>tsr.flavour</name><value>gpu</value></property>")
                + profile("propOther", "<property><name>tsr.flavour</name><value>cpu</value></property>")
                + profile("propNotValue", "<property><name>tsr.flavour</name><value>!cpu</value></property>")
                + profile("propSet", "<property><name>tsr.flavour</name></property>")
                + profile("propAbsent", "<property><name>!tsr.never.set</name></property>")
                + profile("propUnset", "<property><name>tsr.never.set</name></property>")
                + profile("env", "<property><name>env.TSR_CI</name><value>true</value></property>")
                + profile("jdkRange", "<jdk>[11,)</jdk>")
                + profile("jdkOld", "<jdk>1.8</jdk>")
                + profile("jdkNot", "<jdk>!1.8</jdk>")
                + profile("jdkBefore11", "<jdk>(,11)</jdk>")
                + profile("osUnix", "<os><family>unix</family></os>")
                + profile("osWindows", "<os><family>windows</family></os>")
                + profile("file", "<file><exists>${user.dir.tsr}/marker</exists></file>")
                + profile("fileMissing", "<file><missing>${user.dir.tsr}/marker</missing></file>")
                + profile("allMustHold", "<property><name>tsr.flavour</name></property><jdk>1.8</jdk>")
                + profile("default", "<activeByDefault>true</activeByDefault>")
                + "</profiles></settings>");
        System.setProperty("tsr.flavour", "gpu");
        System.setProperty("user.dir.tsr", tmp.toString());
        try {
            List<String> expected = new java.util.ArrayList<>(List.of("prop", "propNotValue", "propSet", "propAbsent",
                    "env", "jdkRange", "jdkNot"));
            expected.add(unix ? "osUnix" : "osWindows");
            expected.add("file");
            expected.add("default");
            assertEquals(expected, profileRepositories(settings, Map.of("TSR_CI", "true")));
            expected.remove("env");
            assertEquals(expected, profileRepositories(settings, Map.of("TSR_CI", "false")));
        } finally {
            System.clearProperty("tsr.flavour");
            System.clearProperty("user.dir.tsr");
        }
        Path defaults = tmp.resolve("settings-default.xml");
        Files.writeString(defaults, "<settings><profiles>"
                + profile("propUnset", "<property><name>tsr.never.set</name></property>")
                + profile("default", "<activeByDefault>true</activeByDefault>")
                + "</profiles><activeProfiles><activeProfile>no-such-profile</activeProfile></activeProfiles>"
                + "</settings>");
        assertEquals(List.of("default"), profileRepositories(defaults, Map.of()));
    }

    /** The fixtures of make_encrypted.sh: a settings-security.xml and passwords encrypted by Maven 3.8.7's CLI. */
    private static Path encryptedFixture(String name) {
        try {
            return Path.of(ModelResolverTest.class.getResource("/maven/" + name).toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static java.util.Properties encryptedPasswords() throws IOException {
        java.util.Properties p = new java.util.Properties();
        try (var in = Files.newInputStream(encryptedFixture("encrypted-passwords.properties"))) {
            p.load(in);
        }
        return p;
    }

    /**
     * Passwords encrypted as Maven 3 encrypts them ({@code mvn --encrypt-password}, fixtures made by Maven's own CLI)
     * are decrypted for servers (also with a comment around the braces, as Maven allows) and proxies; without the
     * master password they are sent as written, as Maven sends them; plain ones are left alone.
     */
    @Test
    void encryptedPasswordsAreDecryptedAsMavenDoes() throws IOException {
        java.util.Properties enc = encryptedPasswords();
        assertTrue(enc.getProperty("server").startsWith("{") && enc.getProperty("proxy").startsWith("{"));
        Path settings = tmp.resolve("settings-encrypted.xml");
        Files.writeString(settings, """
                <settings>
                  <mirrors>
                    <mirror><id>corp</id><mirrorOf>central</mirrorOf><url>https://nexus.example/central</url></mirror>
                  </mirrors>
                  <servers>
                    <server><id>corp</id><username>bot</username><password>%s</password></server>
                    <server><id>models</id><username>ci</username><password>rotated 2026-11 %s</password></server>
                    <server><id>plain</id><username>me</username><password>not-encrypted</password></server>
                  </servers>
                  <proxies><proxy><active>true</active><protocol>https</protocol><host>proxy.example</host>
                    <username>px</username><password>%s</password></proxy></proxies>
                  <profiles><profile><id>p</id><repositories>
                    <repository><id>models</id><url>https://models.example/repo</url></repository>
                    <repository><id>plain</id><url>https://plain.example/repo</url></repository>
                  </repositories></profile></profiles>
                  <activeProfiles><activeProfile>p</activeProfile></activeProfiles>
                </settings>
                """.formatted(enc.getProperty("server"), enc.getProperty("server"), enc.getProperty("proxy")));
        Map<String, RemoteRepository> byId = new java.util.LinkedHashMap<>();
        MavenSettings.load(settings, null, encryptedFixture("settings-security.xml"), Map.of()).remoteRepositories()
                .forEach(r -> byId.put(r.getId(), r));
        assertEquals(List.of("models", "plain", "corp"), List.copyOf(byId.keySet()));
        assertEquals(auth("bot", "repo-s3cret"), byId.get("corp").getAuthentication());
        assertEquals(auth("ci", "repo-s3cret"), byId.get("models").getAuthentication());
        assertEquals(auth("me", "not-encrypted"), byId.get("plain").getAuthentication());
        assertEquals(auth("px", "proxy-pw"), byId.get("corp").getProxy().getAuthentication());
        // no master password: as written
        Map<String, RemoteRepository> without = new java.util.LinkedHashMap<>();
        MavenSettings.load(settings, null, tmp.resolve("no-such-settings-security.xml"), Map.of())
                .remoteRepositories().forEach(r -> without.put(r.getId(), r));
        assertEquals(auth("bot", enc.getProperty("server")), without.get("corp").getAuthentication());
        // Maven 4's format (mvnenc) is not read: as written, with a warning
        String m4 = "{[name=master,cipher=AES/GCM/NoPadding,version=4.0]vvq66pZ7rkvzSPStGTI9q4QDnsNuDRbMFj0GvS7hxvk=}";
        Files.writeString(settings, "<settings><servers><server><id>central</id><username>u</username><password>" + m4
                + "</password></server></servers></settings>");
        assertEquals(auth("u", m4), MavenSettings.load(settings, null, encryptedFixture("settings-security.xml"),
                Map.of()).remoteRepositories().get(0).getAuthentication());
    }

    private static org.eclipse.aether.repository.Authentication auth(String user, String password) {
        return new org.eclipse.aether.util.repository.AuthenticationBuilder().addUsername(user).addPassword(password)
                .build();
    }

    /**
     * End to end with an encrypted password: a repository (a local HTTP server) that answers only requests with the
     * decrypted credentials (HTTP Basic, challenging the first request as a Nexus does) serves the model jar.
     */
    @Test
    void downloadsWithAnEncryptedPasswordFromSettings() throws IOException {
        Path remote = remoteWith("private-remote", "private-model", "1.0", "m.onnx", "BEHIND-AUTH");
        String expected = "Basic " + java.util.Base64.getEncoder().encodeToString(
                "bot:repo-s3cret".getBytes(StandardCharsets.UTF_8));
        List<String> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        com.sun.net.httpserver.HttpServer server = privateRepository(remote, "Authorization", expected, seen);
        try {
            Path settings = tmp.resolve("settings-auth.xml");
            Files.writeString(settings, """
                    <settings>
                      <servers><server><id>models</id><username>bot</username><password>%s</password></server></servers>
                      <profiles><profile><id>p</id><repositories>
                        <repository><id>models</id><url>http://127.0.0.1:%d/repo</url></repository>
                      </repositories></profile></profiles>
                      <activeProfiles><activeProfile>p</activeProfile></activeProfiles>
                    </settings>
                    """.formatted(encryptedPasswords().getProperty("server"), server.getAddress().getPort()));
            RemoteRepository models = MavenSettings.load(settings, null, encryptedFixture("settings-security.xml"),
                    Map.of()).remoteRepositories().get(0);
            assertEquals("models", models.getId());
            ModelResolver r = new ModelResolver(tmp.resolve("local-auth"), List.of(models), tmp.resolve("cache"), false);
            Path dir = r.resolve("maven:org.example:private-model:1.0");
            assertEquals("BEHIND-AUTH", Files.readString(dir.resolve("m.onnx")));
            assertTrue(seen.stream().anyMatch(x -> x.startsWith("GET /repo/org/example/private-model/1.0/"
                    + "private-model-1.0.jar " + expected)), seen.toString());
            // with the master password missing the server refuses the encrypted string, and the error says so
            RemoteRepository undecrypted = MavenSettings.load(settings, null, tmp.resolve("none.xml"), Map.of())
                    .remoteRepositories().get(0);
            ModelResolver r2 = new ModelResolver(tmp.resolve("local-auth-2"), List.of(undecrypted),
                    tmp.resolve("cache-2"), false);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> r2.resolve("maven:org.example:private-model:1.0"));
            assertTrue(e.getMessage().contains("401") && e.getMessage().contains("refused the credentials")
                    && e.getMessage().contains("settings-security.xml"), e.getMessage());
        } finally {
            server.stop(0);
        }
    }

    /**
     * A profile repository's {@code <releases>} / {@code <snapshots>} policies as Maven reads them: a repository with
     * releases disabled is not asked for a release (the jar it holds is not found there), its checksum and update
     * policies are kept, and a policy Maven would not know is refused with the file and repository named.
     */
    @Test
    void repositoryPoliciesAreRead() throws IOException {
        Path remote = remoteWith("snapshots-only", "rel-model", "1.0", "r.onnx", "RELEASE");
        Path settings = tmp.resolve("settings-policies.xml");
        String template = """
                <settings>
                  <profiles><profile><id>p</id><repositories>
                    <repository><id>snap</id><url>%s</url>
                      <releases><enabled>%s</enabled></releases>
                      <snapshots><updatePolicy>interval:60</updatePolicy><checksumPolicy>fail</checksumPolicy></snapshots>
                    </repository>
                  </repositories></profile></profiles>
                  <activeProfiles><activeProfile>p</activeProfile></activeProfiles>
                </settings>
                """;
        Files.writeString(settings, template.formatted(remote.toUri(), "false"));
        RemoteRepository snap = MavenSettings.load(settings, null, Map.of()).remoteRepositories().get(0);
        assertFalse(snap.getPolicy(false).isEnabled());
        assertTrue(snap.getPolicy(true).isEnabled());
        assertEquals("interval:60", snap.getPolicy(true).getUpdatePolicy());
        assertEquals("fail", snap.getPolicy(true).getChecksumPolicy());
        ModelResolver r = new ModelResolver(tmp.resolve("local-policies"), List.of(snap), tmp.resolve("cache"), false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> r.resolve("maven:org.example:rel-model:1.0"));
        assertTrue(e.getMessage().contains("org.example:rel-model:1.0"), e.getMessage());
        // releases enabled: found there
        Files.writeString(settings, template.formatted(remote.toUri(), "true"));
        RemoteRepository both = MavenSettings.load(settings, null, Map.of()).remoteRepositories().get(0);
        Path dir = new ModelResolver(tmp.resolve("local-policies-2"), List.of(both), tmp.resolve("cache"), false)
                .resolve("maven:org.example:rel-model:1.0");
        assertEquals("RELEASE", Files.readString(dir.resolve("r.onnx")));
        Files.writeString(settings, template.formatted(remote.toUri(), "true").replace("fail", "strict"));
        e = assertThrows(IllegalArgumentException.class, () -> MavenSettings.load(settings, null, Map.of()));
        assertTrue(e.getMessage().contains("repository 'snap' snapshots: checksumPolicy 'strict'"), e.getMessage());
    }

    /**
     * What {@code mvn} refuses is refused with its message (Maven 3.8.7: "'mirrors.mirror.url' for m is missing"), what
     * it only warns about is read; the global file's {@code offline} is not merged, as {@code mvn -gs G -s U
     * help:effective-settings} (3.8.7) shows.
     */
    @Test
    void settingsMavenRefusesAreRefusedWithItsMessage() throws IOException {
        Path settings = tmp.resolve("settings-invalid.xml");
        Files.writeString(settings, "<settings><mirrors><mirror><id>m</id><mirrorOf>*</mirrorOf></mirror></mirrors>"
                + "</settings>");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MavenSettings.load(settings));
        assertTrue(e.getMessage().contains(settings.toString()) && e.getMessage().contains(
                "'mirrors.mirror.url' for m is missing") && !e.getMessage().contains("\n"), e.getMessage());
        Files.writeString(settings, "<settings><profiles><profile><id>p</id><repositories><repository>"
                + "<url>https://x.example/</url></repository></repositories></profile></profiles></settings>");
        e = assertThrows(IllegalArgumentException.class, () -> MavenSettings.load(settings));
        assertTrue(e.getMessage().contains("repository.id' for https://x.example/ is missing"), e.getMessage());
        // an element Maven does not know: a warning, the rest read
        Files.writeString(settings, "<settings><futureElement>1</futureElement><offline>true</offline></settings>");
        assertTrue(MavenSettings.load(settings).offline());
        Path user = tmp.resolve("settings-user-empty.xml");
        Files.writeString(user, "<settings/>");
        assertFalse(MavenSettings.load(user, settings, Map.of()).offline());
    }

    @Test
    void aProxyWithABadPortIsNamed() throws IOException {
        Path settings = tmp.resolve("settings-bad-proxy.xml");
        Files.writeString(settings, "<settings><proxies><proxy><host>p</host><port>80a</port></proxy></proxies>"
                + "</settings>");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> MavenSettings.load(settings));
        assertTrue(e.getMessage().contains("proxy 'default' (host p) has no usable port")
                && e.getMessage().contains("'port', must be an integer") && e.getMessage().contains("80a"),
                e.getMessage());
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
