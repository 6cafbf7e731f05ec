package dev.tessera.models.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
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
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What Tessera reads from the user's Maven {@code settings.xml} ({@code -Dmaven.settings}, else
 * {@code ~/.m2/settings.xml}): the local repository ({@code -Dmaven.repo.local} overrides it), offline mode, the
 * repositories of active profiles (named in {@code activeProfiles}, activated by their {@code property}, {@code jdk},
 * {@code os} or {@code file} conditions as {@link ProfileActivation} evaluates them, or {@code activeByDefault}) with
 * their release / snapshot policies, mirrors, proxies, and server credentials: username and password, and the
 * {@code httpHeaders} of a server's {@code configuration} (as GitLab's package registry asks for: see
 * {@link #httpHeaders()}). Maven Central is always a remote, as in Maven.
 *
 * <p>Passwords of servers and proxies may be encrypted as Maven 3 encrypts them ({@code mvn --encrypt-password}:
 * {@code {...}}): they are decrypted with the master password of {@code settings-security.xml}
 * ({@code -Dsettings.security}, else {@code ~/.m2/settings-security.xml}) by plexus-sec-dispatcher, the library
 * Maven 3 itself uses; one that cannot be decrypted is logged as a warning and sent as written, as Maven does.
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

    private static final Pattern EXPRESSION = Pattern.compile("\\$\\{([^}]+)}");
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
        Passwords passwords = new Passwords(security);
        Path home = Path.of(System.getProperty("user.home"));
        Path local = home.resolve(".m2").resolve("repository");
        Boolean offline = null;
        String localSet = null;
        List<RemoteRepository> repos = new ArrayList<>();
        Map<String, String[]> servers = new HashMap<>();
        Map<String, Map<String, String>> headers = new HashMap<>();
        Set<String> proxyIds = new HashSet<>();
        Set<String> profileIds = new HashSet<>();
        List<Profile> profiles = new ArrayList<>();
        DefaultMirrorSelector mirrors = new DefaultMirrorSelector();
        DefaultProxySelector proxies = new DefaultProxySelector();
        Set<String> active = new HashSet<>();
        List<Settings> files = new ArrayList<>(2);
        for (Path f : new Path[] {file, global}) {
            if (f != null && Files.isRegularFile(f)) {
                files.add(new Settings(f, parse(f).getDocumentElement(), env));
            }
        }
        for (Settings x : files) {
            for (Element a : children(child(x.root, "activeProfiles"), "activeProfile")) {
                active.add(x.interpolate(a.getTextContent().trim()));
            }
        }
        for (Settings x : files) { // the user's first: its entries win
            String lr = x.text(x.root, "localRepository");
            if (localSet == null && lr != null && !lr.isBlank()) {
                localSet = lr;
            }
            String off = x.text(x.root, "offline");
            if (offline == null && off != null && !off.isBlank()) {
                offline = "true".equalsIgnoreCase(off);
            }
            for (Element s : children(child(x.root, "servers"), "server")) {
                String id = x.text(s, "id");
                if (id != null && !servers.containsKey(id)) {
                    servers.put(id, new String[] {x.text(s, "username"),
                            passwords.decrypt(x.text(s, "password"), "server '" + id + "'", x.file)});
                    Map<String, String> h = new java.util.LinkedHashMap<>();
                    for (Element prop : children(child(child(s, "configuration"), "httpHeaders"), "property")) {
                        String name = x.text(prop, "name");
                        if (name != null && !name.isEmpty()) {
                            h.put(name, x.text(prop, "value") == null ? "" : x.text(prop, "value"));
                        }
                    }
                    if (!h.isEmpty()) {
                        headers.put(id, Map.copyOf(h));
                    }
                }
            }
            for (Element m : children(child(x.root, "mirrors"), "mirror")) {
                String of = x.text(m, "mirrorOf");
                String url = x.text(m, "url");
                if (of != null && url != null) {
                    String id = x.text(m, "id") == null ? "mirror" : x.text(m, "id");
                    boolean blocked = "true".equalsIgnoreCase(x.text(m, "blocked"));
                    mirrors.add(id, url, "default", false, blocked, of, x.text(m, "mirrorOfLayouts"));
                }
            }
            for (Element p : children(child(x.root, "proxies"), "proxy")) {
                String id = x.text(p, "id");
                String on = x.text(p, "active");
                String host = x.text(p, "host");
                if ((id != null && !proxyIds.add(id)) || (on != null && !"true".equalsIgnoreCase(on)) || host == null
                        || host.isBlank()) {
                    continue;
                }
                String protocol = x.text(p, "protocol") == null ? "http" : x.text(p, "protocol");
                int port = parsePort(x.text(p, "port"), x.file);
                Authentication auth = x.text(p, "username") == null ? null : new AuthenticationBuilder()
                        .addUsername(x.text(p, "username"))
                        .addPassword(x.text(p, "password") == null ? ""
                                : passwords.decrypt(x.text(p, "password"), "proxy '" + (id == null ? host : id) + "'",
                                        x.file)).build();
                proxies.add(new Proxy(protocol, host, port, auth), x.text(p, "nonProxyHosts"));
            }
            for (Element p : children(child(x.root, "profiles"), "profile")) {
                String id = x.text(p, "id");
                if (id == null || profileIds.add(id)) { // the user's profile of an id wins
                    profiles.add(new Profile(x, p, id));
                }
            }
        }
        // As Maven 3 selects the profiles of settings (checked against 3.8.7's help:active-profiles): those named in
        // activeProfiles, those whose activation conditions all hold, and those activeByDefault (for settings
        // profiles, unlike a POM's, whatever else is active)
        ProfileActivation activation = new ProfileActivation(env, System::getProperty);
        List<Profile> on = profiles.stream().filter(p -> {
            Element act = child(p.element(), "activation");
            return active.contains(p.id()) || activation.activates(act, p.settings()::text)
                    || (act != null && "true".equalsIgnoreCase(p.settings().text(act, "activeByDefault")));
        }).toList();
        for (Profile p : on) {
            for (Element r : children(child(p.element(), "repositories"), "repository")) {
                String rid = p.settings().text(r, "id");
                String url = p.settings().text(r, "url");
                if (rid != null && url != null) {
                    repos.add(new RemoteRepository.Builder(rid, "default", url)
                            .setReleasePolicy(policy(p.settings(), r, "releases"))
                            .setSnapshotPolicy(policy(p.settings(), r, "snapshots")).build());
                }
            }
        }
        if (localSet != null) {
            local = Path.of(localSet);
        }
        String prop = System.getProperty("maven.repo.local");
        if (prop != null && !prop.isBlank()) {
            local = Path.of(prop);
        }
        if (repos.stream().noneMatch(r -> r.getId().equals("central"))) {
            repos.add(new RemoteRepository.Builder("central", "default", CENTRAL_URL).build());
        }
        List<RemoteRepository> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (RemoteRepository r : repos) {
            RemoteRepository m = mirrors.getMirror(r);
            RemoteRepository eff = m != null ? m : r;
            RemoteRepository.Builder b = new RemoteRepository.Builder(eff);
            String[] cred = servers.get(eff.getId());
            if (cred != null && cred[0] != null) {
                b.setAuthentication(new AuthenticationBuilder().addUsername(cred[0])
                        .addPassword(cred[1] == null ? "" : cred[1]).build());
            }
            b.setProxy(proxies.getProxy(eff));
            eff = b.build();
            if (seen.add(eff.getId())) {
                out.add(eff);
            }
        }
        Map<String, Map<String, String>> used = new HashMap<>();
        out.forEach(r -> {
            if (headers.containsKey(r.getId())) {
                used.put(r.getId(), headers.get(r.getId()));
            }
        });
        return new MavenSettings(local, offline != null && offline, List.copyOf(out), used);
    }

    /**
     * A repository's {@code <releases>} or {@code <snapshots>} policy as Maven reads it: {@code enabled} (default
     * true), {@code updatePolicy} ({@code always}, {@code daily} (default), {@code never}, {@code interval:MINUTES}),
     * {@code checksumPolicy} ({@code fail}, {@code warn} (default), {@code ignore}); other values are refused.
     */
    private static RepositoryPolicy policy(Settings x, Element repository, String kind) {
        Element e = child(repository, kind);
        String enabled = e == null ? null : x.text(e, "enabled");
        String update = e == null ? null : x.text(e, "updatePolicy");
        String checksum = e == null ? null : x.text(e, "checksumPolicy");
        String where = "Maven settings " + x.file() + ": repository '" + x.text(repository, "id") + "' " + kind;
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
        return new RepositoryPolicy(enabled == null || !enabled.equalsIgnoreCase("false"), update, checksum);
    }

    private static int parsePort(String port, Path file) {
        if (port == null || port.isBlank()) {
            return 8080; // Maven's default proxy port
        }
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("Maven settings " + file + ": proxy port '" + port + "' is not a port number");
    }

    /**
     * Maven 3's encrypted passwords, decrypted by its own plexus-sec-dispatcher with the master password of
     * {@code security} (read on the first encrypted value only).
     */
    private static final class Passwords {
        private final Path security;
        private final DefaultPlexusCipher cipher = new DefaultPlexusCipher();
        private DefaultSecDispatcher dispatcher;

        Passwords(Path security) {
            this.security = security;
        }

        /** {@code value} decrypted where it is encrypted ({@code {...}}); as written where it is not or cannot be. */
        String decrypt(String value, String owner, Path file) {
            if (value == null || !cipher.isEncryptedString(value)) {
                return value;
            }
            if (value.contains("{[") && value.contains("version=4")) {
                LOG.warn("Maven settings {}: the password of {} is encrypted in Maven 4's format (mvnenc), which is not"
                        + " read here (Maven 3's mvn --encrypt-password is); it is sent as written", file, owner);
                return value;
            }
            if (dispatcher == null) {
                dispatcher = new DefaultSecDispatcher(cipher, Map.of(), security.toString());
            }
            try {
                return dispatcher.decrypt(value);
            } catch (SecDispatcherException | RuntimeException e) {
                Throwable root = e;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                LOG.warn("Maven settings {}: the encrypted password of {} cannot be decrypted with the master password "
                        + "of {} ({}); it is sent as written", file, owner, security,
                        root instanceof java.io.FileNotFoundException ? "no such file" : root.getMessage());
                return value;
            }
        }
    }

    /** A settings profile and the file it came from. */
    private record Profile(Settings settings, Element element, String id) {
    }

    /** One settings file: its root element and the values of {@code ${...}} expressions. */
    private record Settings(Path file, Element root, Map<String, String> env) {
        /** The trimmed, interpolated text of {@code parent}'s child {@code name}, or null. */
        String text(Element parent, String name) {
            Element e = child(parent, name);
            return e == null ? null : interpolate(e.getTextContent().trim());
        }

        /** {@code ${env.NAME}} and {@code ${property}} replaced where they have a value. */
        String interpolate(String s) {
            if (s.indexOf("${") < 0) {
                return s;
            }
            Matcher m = EXPRESSION.matcher(s);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String key = m.group(1).trim();
                String v = key.startsWith("env.") ? env.get(key.substring(4)) : System.getProperty(key);
                m.appendReplacement(out, Matcher.quoteReplacement(v != null ? v : m.group()));
            }
            return m.appendTail(out).toString();
        }
    }

    private static Document parse(Path file) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setNamespaceAware(false);
            DocumentBuilder b = f.newDocumentBuilder();
            return b.parse(file.toFile());
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot read Maven settings " + file + ": " + e.getMessage(), e);
        }
    }

    static Element child(Element parent, String name) {
        if (parent == null) {
            return null;
        }
        NodeList nl = parent.getChildNodes();
        for (int i = 0; i < nl.getLength(); i++) {
            Node n = nl.item(i);
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        if (parent == null) {
            return out;
        }
        NodeList nl = parent.getChildNodes();
        for (int i = 0; i < nl.getLength(); i++) {
            Node n = nl.item(i);
            if (n instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }
}
