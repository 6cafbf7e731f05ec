package dev.tessera.models.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.RepositorySystemSession;
import org.eclipse.aether.artifact.Artifact;
import org.eclipse.aether.artifact.DefaultArtifact;
import org.eclipse.aether.collection.CollectRequest;
import org.eclipse.aether.graph.Dependency;
import org.eclipse.aether.graph.DependencyNode;
import org.eclipse.aether.repository.LocalRepository;
import org.eclipse.aether.repository.WorkspaceReader;
import org.eclipse.aether.repository.WorkspaceRepository;
import org.eclipse.aether.supplier.RepositorySystemSupplier;
import org.eclipse.aether.supplier.SessionBuilderSupplier;
import org.eclipse.aether.util.repository.SimpleArtifactDescriptorPolicy;
import org.junit.jupiter.api.Test;

/**
 * What a project that depends on {@code dev.tessera:tessera-models} gets on its class path, computed as Maven computes
 * it for that project (Maven Resolver over the published POMs, here read from the source tree; no test-scoped
 * dependency of ours is inherited, none of our dependency management applies past our own POMs), compared with what
 * these tests run against. Inside the reactor a direct test-scoped dependency hides a transitive one of the same
 * artifact: pdfbox 3.0.1 (xchart) declared junit-jupiter 5.10.1 at compile scope, so every consumer got JUnit, and an
 * offline build of one failed on a junit-jupiter this build never resolved, while every test here passed.
 */
class ConsumerClassPathTest {

    /** Test frameworks and their own dependencies: never on a consumer's compile or runtime class path. */
    private static final Pattern TEST_ONLY = Pattern.compile(
            "(junit|org\\.junit(\\..*)?|org\\.opentest4j|org\\.apiguardian|org\\.testng|org\\.mockito|org\\.hamcrest"
                    + "|org\\.assertj|net\\.bytebuddy|org\\.openjdk\\.jmh):.*");

    @Test
    void consumersGetTheJarsTheseTestsRanAgainstAndNoTestFramework() throws Exception {
        Path root = Path.of("").toAbsolutePath().getParent(); // surefire runs in models/
        String version = System.getProperty("tessera.test.projectVersion", "0.1.0-SNAPSHOT");
        String repoProp = System.getProperty("tessera.test.localRepository", "");
        Path localRepo = repoProp.isBlank() || repoProp.contains("${")
                ? Path.of(System.getProperty("user.home"), ".m2", "repository")
                : Path.of(repoProp);
        List<String> graph = collect(root, version, localRepo);
        assertTrue(graph.size() > 40, "the consumer graph looks truncated: " + graph);

        List<String> testOnly = graph.stream().filter(a -> TEST_ONLY.matcher(a).matches()).toList();
        assertEquals(List.of(), testOnly, "a test framework reaches the class path of a project that depends on"
                + " tessera-models (exclude it where it comes in; the graph: " + graph + ")");

        // Every third-party jar a consumer gets is the one the tests here loaded (the same version of the same
        // artifact): what is tested is what is shipped.
        Set<Path> classPath = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isBlank()) {
                classPath.add(Path.of(e).toAbsolutePath().normalize());
            }
        }
        List<String> untested = new ArrayList<>();
        for (String coords : graph) {
            Artifact a = new DefaultArtifact(coords.substring(0, coords.lastIndexOf(':')));
            if (a.getGroupId().equals("dev.tessera") || !a.getExtension().equals("jar")) {
                continue;
            }
            Path jar = localRepo.resolve(a.getGroupId().replace('.', '/')).resolve(a.getArtifactId())
                    .resolve(a.getBaseVersion()).resolve(a.getArtifactId() + "-" + a.getVersion()
                            + (a.getClassifier().isEmpty() ? "" : "-" + a.getClassifier()) + ".jar")
                    .toAbsolutePath().normalize();
            if (!classPath.contains(jar)) {
                untested.add(coords);
            }
        }
        assertEquals(List.of(), untested, "a project depending on tessera-models gets these, which the tests did not"
                + " run with (another version wins in the reactor; the tests' class path: " + classPath + ")");
    }

    /**
     * The resolved graph (conflicts settled as Maven settles them) of a consumer's compile dependency on
     * tessera-models, as {@code group:artifact:extension[:classifier]:version:scope} in depth-first order, offline.
     */
    private static List<String> collect(Path root, String version, Path localRepo) throws Exception {
        WorkspaceReader sourceTree = new WorkspaceReader() {
            private final WorkspaceRepository repo = new WorkspaceRepository("tessera-source-tree");

            @Override
            public WorkspaceRepository getRepository() {
                return repo;
            }

            @Override
            public File findArtifact(Artifact a) { // only our POMs: the graph needs nothing else of ours
                if (!a.getGroupId().equals("dev.tessera") || !a.getVersion().equals(version)
                        || !a.getExtension().equals("pom") || !a.getArtifactId().startsWith("tessera-")) {
                    return null;
                }
                String module = a.getArtifactId().equals("tessera-parent") ? ""
                        : a.getArtifactId().substring("tessera-".length());
                Path pom = root.resolve(module).resolve("pom.xml");
                return Files.isRegularFile(pom) ? pom.toFile() : null;
            }

            @Override
            public List<String> findVersions(Artifact a) {
                return findArtifact(new DefaultArtifact(a.getGroupId(), a.getArtifactId(), "pom", a.getVersion()))
                        != null ? List.of(version) : List.of();
            }
        };
        RepositorySystem system = new RepositorySystemSupplier().get();
        try (RepositorySystemSession.CloseableSession session = new SessionBuilderSupplier(system).get()
                .withLocalRepositories(new LocalRepository(localRepo, "simple"))
                .setOffline(true)
                // a POM the build never read is not fetched: its artifact is reported below as not tested
                .setArtifactDescriptorPolicy(new SimpleArtifactDescriptorPolicy(true, false))
                .setWorkspaceReader(sourceTree)
                .setSystemProperties(System.getProperties()) // os.name / os.arch: the parent POM's platform profile
                .build()) {
            CollectRequest req = new CollectRequest(
                    new Dependency(new DefaultArtifact("dev.tessera", "tessera-models", "jar", version), "compile"),
                    List.of());
            DependencyNode top = system.collectDependencies(session, req).getRoot();
            List<String> out = new ArrayList<>();
            walk(top, out);
            return out;
        } finally {
            system.shutdown();
        }
    }

    private static void walk(DependencyNode n, List<String> out) {
        Artifact a = n.getArtifact();
        out.add(a.getGroupId() + ":" + a.getArtifactId() + ":" + a.getExtension()
                + (a.getClassifier().isEmpty() ? "" : ":" + a.getClassifier()) + ":" + a.getVersion() + ":"
                + (n.getDependency() == null ? "" : n.getDependency().getScope()));
        for (DependencyNode c : n.getChildren()) {
            walk(c, out);
        }
    }
}
