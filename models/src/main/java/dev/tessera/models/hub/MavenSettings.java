package dev.tessera.models.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.maven.settings.Mirror;
import org.apache.maven.settings.Repository;
import org.apache.maven.settings.Server;
import org.apache.maven.settings.Settings;
import org.apache.maven.settings.building.DefaultSettingsBuilderFactory;
import org.apache.maven.settings.building.DefaultSettingsBuildingRequest;
import org.apache.maven.settings.building.SettingsBuildingException;
import org.apache.maven.settings.building.SettingsBuildingResult;
import org.apache.maven.settings.building.SettingsProblem;
import org.apache.maven.settings.crypto.DefaultSettingsDecrypter;
import org.apache.maven.settings.crypto.DefaultSettingsDecryptionRequest;
import org.apache.maven.settings.crypto.SettingsDecrypter;
import org.apache.maven.settings.crypto.SettingsDecryptionResult;
import org.codehaus.plexus.util.xml.Xpp3Dom;
import org.eclipse.aether.repository.Authentication;
import org.eclipse.aether.repository.Proxy;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.repository.RepositoryPolicy;
import org.eclipse.aether.util.repository.AuthenticationBuilder;
import org.eclipse.aether.util.repository.DefaultMirrorSelector;
import org.eclipse.aether.util.repository.DefaultProxySelector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sonatype.plexus.components.cipher.DefaultPlexusCipher;
import org.sonatype.plexus.components.sec.dispatcher.DefaultSecDispatcher;
import org.sonatype.plexus.components.sec.dispatcher.SecDispatcherException;

/**
 * What Tessera reads from the user's Maven {@code settings.xml} ({@code -Dmaven.settings}, else
 * {@code ~/.m2/settings.xml}): the local repository ({@code -Dmaven.repo.local} overrides it), offline mode, the
 * repositories of active profiles (named in {@code activeProfiles}, activated by their {@code property}, {@code jdk},
 * {@code os} or {@code file} conditions as {@link ProfileActivation} evaluates them, or {@code activeByDefault}) with
 * their release / snapshot policies, mirrors, proxies, and server credentials: username and password, and the
 * {@code httpHeaders} of a server's {@code configuration} (as GitLab's package registry asks for: see
 * {@link #httpHeaders()}). Maven Central is always a remote, as in Maven.
 *
 * <p>The files are read, merged (user over global), interpolated and validated by Maven's own settings builder
 * (maven-settings-builder), and profile conditions evaluated by Maven's own activators (maven-model-builder): what
 * {@code mvn} refuses (not XML, a mirror without a URL, a repository without an id) is refused here with Maven's
 * message, what it only warns about (an unknown element) is logged.
 *
 * <p>Passwords of servers and proxies may be encrypted as Maven 3 encrypts them ({@code mvn --encrypt-password}:
 * {@code {...}}): they are decrypted with the master password of {@code settings-security.xml}
 * ({@code -Dsettings.security}, else {@code ~/.m2/settings-security.xml}) by Maven 3's own settings decrypter and
 * plexus-sec-dispatcher; one that cannot be decrypted is logged as a warning and sent as written, as Maven does.
 *
 * <p>As Maven does, every value may use {@code ${env.NAME}} (an environment variable) and {@code ${name}} (a
 * system property such as {@code user.home}); an expression with no value is left as written. Mirrors are chosen by
 * Maven Resolver's own {@link DefaultMirrorSelector} (a mirror whose {@code mirrorOf} is exactly the repository's id
 * first, then the first pattern that matches: {@code *}, {@code external:*}, {@code external:http:*}, comma lists,
 * {@code !id}), proxies by its {@link DefaultProxySelector} (the active {@code <proxy>} entries, with their
 * {@code nonProxyHosts}).
 *
 * @param httpHeaders by repository id, the headers its {@code <server>} sends with every request
 *     ({@code <configuration><httpHeaders><property><name>/<value>}, e.g. GitLab's {@code Private-Token} or
 *     {@code Job-Token}); empty where none
 */
public record MavenSettings(Path localRepository, boolean offline, List<RemoteRepository> remoteRepositories,
        Map<String, Map<String, String>> httpHeaders) {
    public static final String CENTRAL_URL = "https://repo.maven.apache.org/maven2/";

    private static final Logger LOG = LoggerFactory.getLogger(MavenSettings.class);

    public MavenSettings {
        remoteRepositories = List.copyOf(remoteRepositories);
        httpHeaders = Map.copyOf(httpHeaders);
    }

    /** Settings without extra HTTP headers. */
    public MavenSettings(Path localRepository, boolean offline, List<RemoteRepository> remoteRepositories) {
        this(localRepository, offline, remoteRepositories, Map.of());
    }

    /**
     * The settings of this user (a missing file means Maven's defaults), merged over the global settings of the
     * Maven installation as Maven merges them (see {@link #globalSettingsFile}), where one exists.
     */
    public static MavenSettings load() {
        String explicit = System.getProperty("maven.settings");
        Path file = explicit != null ? Path.of(explicit) : Path.of(System.getProperty("user.home"), ".m2", "settings.xml");
        return load(file, globalSettingsFile(System.getenv()), System.getenv());
    }

    /**
     * Where Maven 3 keeps the master password: {@code -Dsettings.security}, else
     * {@code ~/.m2/settings-security.xml}.
     */
    static Path securityFile() {
        String explicit = System.getProperty(DefaultSecDispatcher.SYSTEM_PROPERTY_SEC_LOCATION);
        return explicit != null && !explicit.isBlank() ? Path.of(explicit)
                : Path.of(System.getProperty("user.home"), ".m2", "settings-security.xml");
    }

    /**
     * The global settings file of the Maven installation, or null: {@code -Dmaven.global.settings}, else
     * {@code conf/settings.xml} of {@code $MAVEN_HOME} or {@code $M2_HOME}, else of the installation whose
     * {@code mvn} is first on {@code $PATH} (links followed: Debian's {@code /usr/bin/mvn} is
     * {@code /usr/share/maven/bin/mvn}), the one a {@code mvn} typed in the same shell would read.
     */
    static Path globalSettingsFile(Map<String, String> env) {
        String explicit = System.getProperty("maven.global.settings");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        for (String var : new String[] {"MAVEN_HOME", "M2_HOME"}) {
            String home = env.get(var);
            if (home != null && !home.isBlank()) {
                return Path.of(home, "conf", "settings.xml");
            }
        }
        String path = env.get("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                try {
                    Path mvn = dir.isBlank() ? null : Path.of(dir, "mvn");
                    if (mvn != null && Files.isRegularFile(mvn) && Files.isExecutable(mvn)) {
                        Path bin = mvn.toRealPath().getParent();
                        Path conf = bin == null || bin.getParent() == null ? null
                                : bin.getParent().resolve("conf").resolve("settings.xml");
                        return conf != null && Files.isRegularFile(conf) ? conf : null;
                    }
                } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
                    // an unreadable or odd PATH entry: the next one
                }
            }
        }
        return null;
    }

    /** The settings in {@code file} alone (absent: defaults). */
    public static MavenSettings load(Path file) {
        return load(file, null, System.getenv());
    }

    /**
     * The user settings {@code file} over the {@code global} ones (either may be null or absent), with {@code env} as
     * the environment of {@code ${env.NAME}} expressions. As in Maven, the user's values win: its local repository
     * and offline flag when it sets them, its servers, profiles and proxies by id, its mirrors before the global ones.
     */
    static MavenSettings load(Path file, Path global, Map<String, String> env) {
        return load(file, global, securityFile(), env);
    }

    /** As {@link #load(Path, Path, Map)}, with {@code security} as the file of the master password. */
    static MavenSettings load(Path file, Path global, Path security, Map<String, String> env) {
        Properties system = new Properties();
        system.putAll(System.getProperties());
        env.forEach((k, v) -> system.setProperty("env." + k, v)); // as Maven's CLI lays the environment out
        List<String> warnings = new ArrayList<>();
        Settings settings = build(file, global, system, warnings);
        Decrypted decrypted = decrypt(settings, security, file);
        Path local = Path.of(System.getProperty("user.home"), ".m2", "repository");
        if (settings.getLocalRepository() != null && !settings.getLocalRepository().isBlank()) {
            local = Path.of(settings.getLocalRepository());
        }
        String prop = System.getProperty("maven.repo.local");
        if (prop != null && !prop.isBlank()) {
            local = Path.of(prop);
        }
        DefaultMirrorSelector mirrors = new DefaultMirrorSelector();
        for (Mirror m : settings.getMirrors()) {
            mirrors.add(m.getId(), m.getUrl(), m.getLayout(), false, m.isBlocked(), m.getMirrorOf(),
                    m.getMirrorOfLayouts());
        }
        DefaultProxySelector proxies = new DefaultProxySelector();
        for (org.apache.maven.settings.Proxy p : decrypted.proxies()) {
            if (p.isActive() && p.getHost() != null && !p.getHost().isBlank()) { // Maven uses the active ones
                if (p.getPort() < 1 || p.getPort() > 65535) { // e.g. <port>80a</port>, read leniently as 0
                    String why = warnings.stream().filter(w -> w.contains("'port'")).findFirst().orElse("");
                    throw new IllegalArgumentException("Maven settings " + file + ": proxy '" + p.getId() + "' (host "
                            + p.getHost() + ") has no usable port (" + p.getPort() + ")"
                            + (why.isEmpty() ? "" : ": " + why));
                }
                Authentication auth = p.getUsername() == null ? null : new AuthenticationBuilder()
                        .addUsername(p.getUsername()).addPassword(p.getPassword() == null ? "" : p.getPassword())
                        .build();
                proxies.add(new Proxy(p.getProtocol(), p.getHost(), p.getPort(), auth), p.getNonProxyHosts());
            }
        }
        Map<String, Server> servers = new HashMap<>();
        decrypted.servers().forEach(s -> servers.putIfAbsent(s.getId(), s));
        List<RemoteRepository> repos = new ArrayList<>();
        for (org.apache.maven.settings.Profile p : ProfileActivation.active(settings, system, file)) {
            for (Repository r : p.getRepositories()) {
                repos.add(new RemoteRepository.Builder(r.getId(), r.getLayout(), r.getUrl())
                        .setReleasePolicy(policy(r.getReleases(), r.getId(), "releases", file))
                        .setSnapshotPolicy(policy(r.getSnapshots(), r.getId(), "snapshots", file)).build());
            }
        }
        if (repos.stream().noneMatch(r -> r.getId().equals("central"))) {
            repos.add(new RemoteRepository.Builder("central", "default", CENTRAL_URL).build());
        }
        List<RemoteRepository> out = new ArrayList<>();
        Map<String, Map<String, String>> headers = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (RemoteRepository r : repos) {
            RemoteRepository m = mirrors.getMirror(r);
            RemoteRepository eff = m != null ? m : r;
            RemoteRepository.Builder b = new RemoteRepository.Builder(eff);
            Server server = servers.get(eff.getId());
            if (server != null && server.getUsername() != null) {
                b.setAuthentication(new AuthenticationBuilder().addUsername(server.getUsername())
                        .addPassword(server.getPassword() == null ? "" : server.getPassword()).build());
            }
            b.setProxy(proxies.getProxy(eff));
            eff = b.build();
            if (seen.add(eff.getId())) {
                out.add(eff);
                Map<String, String> h = server == null ? Map.of() : httpHeaders(server);
                if (!h.isEmpty()) {
                    headers.put(eff.getId(), h);
                }
            }
        }
        return new MavenSettings(local, settings.isOffline(), List.copyOf(out), headers);
    }

    /**
     * The user settings over the global ones, read, merged, interpolated and validated by Maven's own settings
     * builder; a file Maven would refuse (not XML, a mirror without a URL, ...) is refused here with its first error.
     * What Maven only warns about (an unknown element, a value read leniently) is logged and added to
     * {@code warnings}.
     */
    private static Settings build(Path file, Path global, Properties system, List<String> warnings) {
        DefaultSettingsBuildingRequest request = new DefaultSettingsBuildingRequest().setSystemProperties(system)
                .setUserProperties(new Properties());
        if (file != null && Files.isRegularFile(file)) {
            request.setUserSettingsFile(file.toFile());
        }
        if (global != null && Files.isRegularFile(global)) {
            request.setGlobalSettingsFile(global.toFile());
        }
        SettingsBuildingResult result;
        try {
            result = new DefaultSettingsBuilderFactory().newInstance().build(request);
        } catch (SettingsBuildingException e) {
            SettingsProblem first = e.getProblems().stream()
                    .filter(p -> p.getSeverity() != SettingsProblem.Severity.WARNING).findFirst()
                    .orElse(e.getProblems().isEmpty() ? null : e.getProblems().get(0));
            throw new IllegalArgumentException("cannot read Maven settings " + (first == null ? file
                    : describe(first)), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot read Maven settings " + file + ": " + e, e);
        }
        for (SettingsProblem p : result.getProblems()) {
            warnings.add(describe(p));
            LOG.warn("Maven settings {}", describe(p));
        }
        return result.getEffectiveSettings();
    }

    /** "FILE, line L, column C: MESSAGE" on one line. */
    private static String describe(SettingsProblem p) {
        String where = p.getSource() == null || p.getSource().isEmpty() ? "" : p.getSource();
        if (p.getLineNumber() > 0) {
            where += ", line " + p.getLineNumber() + (p.getColumnNumber() > 0 ? ", column " + p.getColumnNumber() : "");
        }
        return (where.isEmpty() ? "" : where + ": ") + p.getMessage().replaceAll("\\s*\\R\\s*", " ").trim();
    }

    private record Decrypted(List<Server> servers, List<org.apache.maven.settings.Proxy> proxies) {
    }

    /**
     * Servers and proxies with their Maven 3 encrypted passwords decrypted by Maven's own decrypter
     * (plexus-sec-dispatcher with the master password of {@code security}, read only where a password is
     * encrypted). One that cannot be decrypted is logged and kept as written, as Maven keeps it.
     */
    private static Decrypted decrypt(Settings settings, Path security, Path file) {
        DefaultSecDispatcher dispatcher = new DefaultSecDispatcher(new DefaultPlexusCipher(), Map.of(),
                security.toString());
        SettingsDecrypter decrypter = new DefaultSettingsDecrypter(value -> {
            if (value != null && value.contains("{[") && value.contains("version=4")) {
                throw new SecDispatcherException("it is encrypted in Maven 4's format (mvnenc), which is not read "
                        + "here (Maven 3's mvn --encrypt-password is)");
            }
            try {
                return dispatcher.decrypt(value);
            } catch (RuntimeException e) { // a damaged settings-security.xml: as Maven, a problem, not a failure
                throw new SecDispatcherException(e.toString(), e);
            }
        });
        SettingsDecryptionResult result = decrypter.decrypt(new DefaultSettingsDecryptionRequest(settings));
        for (SettingsProblem p : result.getProblems()) {
            Throwable root = p.getException() == null ? null : p.getException();
            while (root != null && root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            LOG.warn("Maven settings {}: {} (master password from {}{}); it is sent as written", file, p.getMessage(),
                    security, root instanceof java.io.FileNotFoundException ? ": no such file" : "");
        }
        return new Decrypted(result.getServers(), result.getProxies());
    }

    /**
     * A server's {@code <configuration><httpHeaders><property><name>/<value>}, in order, as Maven sends them with
     * every request to its repository.
     */
    private static Map<String, String> httpHeaders(Server server) {
        Map<String, String> h = new LinkedHashMap<>();
        if (server.getConfiguration() instanceof Xpp3Dom config && config.getChild("httpHeaders") != null) {
            for (Xpp3Dom prop : config.getChild("httpHeaders").getChildren("property")) {
                String name = prop.getChild("name") == null ? null : prop.getChild("name").getValue();
                String value = prop.getChild("value") == null ? null : prop.getChild("value").getValue();
                if (name != null && !name.trim().isEmpty()) {
                    h.put(name.trim(), value == null ? "" : value.trim());
                }
            }
        }
        return Map.copyOf(h);
    }

    /**
     * A repository's {@code <releases>} or {@code <snapshots>} policy as Maven reads it: {@code enabled} (default
     * true), {@code updatePolicy} ({@code always}, {@code daily} (default), {@code never}, {@code interval:MINUTES}),
     * {@code checksumPolicy} ({@code fail}, {@code warn} (default), {@code ignore}); other values are refused.
     */
    private static RepositoryPolicy policy(org.apache.maven.settings.RepositoryPolicy p, String id, String kind,
            Path file) {
        String update = p == null ? null : p.getUpdatePolicy();
        String checksum = p == null ? null : p.getChecksumPolicy();
        String where = "Maven settings " + file + ": repository '" + id + "' " + kind;
        if (update == null || update.isEmpty()) {
            update = RepositoryPolicy.UPDATE_POLICY_DAILY;
        } else if (!update.matches("always|daily|never|interval:\\d+")) {
            throw new IllegalArgumentException(where + ": updatePolicy '" + update
                    + "' is not always, daily, never or interval:MINUTES");
        }
        if (checksum == null || checksum.isEmpty()) {
            checksum = RepositoryPolicy.CHECKSUM_POLICY_WARN;
        } else if (!checksum.matches("fail|warn|ignore")) {
            throw new IllegalArgumentException(where + ": checksumPolicy '" + checksum
                    + "' is not fail, warn or ignore");
        }
        return new RepositoryPolicy(p == null || p.isEnabled(), update, checksum);
    }
}
