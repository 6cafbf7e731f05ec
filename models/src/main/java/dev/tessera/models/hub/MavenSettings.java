package dev.tessera.models.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.eclipse.aether.repository.Authentication;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.util.repository.AuthenticationBuilder;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What Tessera reads from the user's Maven {@code settings.xml} ({@code -Dmaven.settings}, else
 * {@code ~/.m2/settings.xml}): the local repository ({@code -Dmaven.repo.local} overrides it), offline mode, the
 * repositories of active profiles ({@code activeProfiles} or {@code activeByDefault}), mirrors ({@code mirrorOf}
 * with {@code *}, {@code external:*}, comma lists and {@code !id} exclusions) and server credentials (plain
 * username/password; encrypted passwords are not supported). Maven Central is always a remote, as in Maven.
 */
public record MavenSettings(Path localRepository, boolean offline, List<RemoteRepository> remoteRepositories) {
    public static final String CENTRAL_URL = "https://repo.maven.apache.org/maven2/";

    /** The settings of this user (a missing file means Maven's defaults). */
    public static MavenSettings load() {
        String explicit = System.getProperty("maven.settings");
        Path file = explicit != null ? Path.of(explicit) : Path.of(System.getProperty("user.home"), ".m2", "settings.xml");
        return load(file);
    }

    /** The settings in {@code file} (absent: defaults). */
    public static MavenSettings load(Path file) {
        Path home = Path.of(System.getProperty("user.home"));
        Path local = home.resolve(".m2").resolve("repository");
        boolean offline = false;
        List<RemoteRepository> repos = new ArrayList<>();
        Map<String, String[]> servers = new HashMap<>();
        List<Element> mirrors = new ArrayList<>();
        if (file != null && Files.isRegularFile(file)) {
            Element root = parse(file).getDocumentElement();
            String lr = text(root, "localRepository");
            if (lr != null && !lr.isBlank()) {
                local = Path.of(lr.replace("${user.home}", home.toString()));
            }
            offline = "true".equalsIgnoreCase(text(root, "offline"));
            for (Element s : children(child(root, "servers"), "server")) {
                servers.put(text(s, "id"), new String[] {text(s, "username"), text(s, "password")});
            }
            mirrors.addAll(children(child(root, "mirrors"), "mirror"));
            Set<String> active = new HashSet<>();
            for (Element a : children(child(root, "activeProfiles"), "activeProfile")) {
                active.add(a.getTextContent().trim());
            }
            for (Element p : children(child(root, "profiles"), "profile")) {
                Element act = child(p, "activation");
                boolean on = active.contains(text(p, "id")) || (act != null
                        && "true".equalsIgnoreCase(text(act, "activeByDefault")) && active.isEmpty());
                if (!on) {
                    continue;
                }
                for (Element r : children(child(p, "repositories"), "repository")) {
                    String id = text(r, "id");
                    String url = text(r, "url");
                    if (id != null && url != null) {
                        repos.add(new RemoteRepository.Builder(id, "default", url.trim()).build());
                    }
                }
            }
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
            RemoteRepository m = mirrorFor(r, mirrors);
            RemoteRepository eff = m != null ? m : r;
            String[] cred = servers.get(eff.getId());
            if (cred != null && cred[0] != null) {
                Authentication auth = new AuthenticationBuilder().addUsername(cred[0])
                        .addPassword(cred[1] == null ? "" : cred[1]).build();
                eff = new RemoteRepository.Builder(eff).setAuthentication(auth).build();
            }
            if (seen.add(eff.getId())) {
                out.add(eff);
            }
        }
        return new MavenSettings(local, offline, List.copyOf(out));
    }

    private static RemoteRepository mirrorFor(RemoteRepository r, List<Element> mirrors) {
        for (Element m : mirrors) {
            String of = text(m, "mirrorOf");
            String url = text(m, "url");
            if (of == null || url == null) {
                continue;
            }
            if (matches(of, r)) {
                String id = text(m, "id") == null ? "mirror" : text(m, "id");
                return new RemoteRepository.Builder(id, "default", url.trim()).setMirroredRepositories(List.of(r))
                        .build();
            }
        }
        return null;
    }

    /** Maven's mirrorOf rules: {@code *}, {@code external:*}, {@code id}, comma lists, {@code !id}. */
    static boolean matches(String mirrorOf, RemoteRepository r) {
        boolean match = false;
        for (String part : mirrorOf.split(",")) {
            String p = part.trim();
            if (p.startsWith("!") && p.substring(1).equals(r.getId())) {
                return false;
            }
            if (p.equals(r.getId()) || p.equals("*")) {
                match = true;
            } else if (p.equals("external:*")) {
                String u = r.getUrl();
                match |= !(u.contains("localhost") || u.contains("127.0.0.1") || u.startsWith("file:"));
            }
        }
        return match;
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

    private static Element child(Element parent, String name) {
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

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? null : e.getTextContent().trim();
    }
}
