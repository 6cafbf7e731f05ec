package dev.tessera.models.hub;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.maven.model.Activation;
import org.apache.maven.model.ActivationFile;
import org.apache.maven.model.ActivationOS;
import org.apache.maven.model.ActivationProperty;
import org.apache.maven.model.building.ModelProblem;
import org.apache.maven.model.building.ModelProblemCollector;
import org.apache.maven.model.path.DefaultPathTranslator;
import org.apache.maven.model.path.ProfileActivationFilePathInterpolator;
import org.apache.maven.model.profile.DefaultProfileActivationContext;
import org.apache.maven.model.profile.activation.FileProfileActivator;
import org.apache.maven.model.profile.activation.JdkVersionProfileActivator;
import org.apache.maven.model.profile.activation.OperatingSystemProfileActivator;
import org.apache.maven.model.profile.activation.ProfileActivator;
import org.apache.maven.model.profile.activation.PropertyProfileActivator;
import org.apache.maven.model.root.DefaultRootLocator;
import org.apache.maven.settings.Profile;
import org.apache.maven.settings.Settings;

/**
 * Which profiles of a settings file are active, as Maven 3 selects them: those named in {@code activeProfiles}, those
 * whose {@code <activation>} has at least one condition and all of them hold, and those {@code activeByDefault} (for
 * settings profiles, unlike a POM's, whatever else is active: checked against Maven 3.8.7's
 * {@code help:active-profiles} on the cases of {@code ModelResolverTest}). The conditions ({@code property} with
 * {@code env.NAME} and {@code !}, {@code jdk} prefixes and ranges, {@code os}, {@code file}) are evaluated by Maven's
 * own profile activators (maven-model-builder), on the settings profile converted to a POM profile as Maven converts
 * it.
 */
final class ProfileActivation {
    private static final List<ProfileActivator> ACTIVATORS = List.of(new JdkVersionProfileActivator(),
            new OperatingSystemProfileActivator(), new PropertyProfileActivator(),
            new FileProfileActivator().setProfileActivationFilePathInterpolator(new ProfileActivationFilePathInterpolator()
                    .setPathTranslator(new DefaultPathTranslator()).setRootLocator(new DefaultRootLocator())));

    private ProfileActivation() {
    }

    /**
     * The active profiles of {@code settings} (already merged and interpolated), in their order, with
     * {@code system} as the system properties (the environment as {@code env.NAME} entries). A condition Maven
     * cannot evaluate (a malformed JDK range, ...) is refused as Maven refuses it, naming {@code file} and the
     * profile.
     */
    static List<Profile> active(Settings settings, Properties system, Path file) {
        DefaultProfileActivationContext context = new DefaultProfileActivationContext()
                .setSystemProperties(system).setUserProperties(new Properties())
                .setActiveProfileIds(settings.getActiveProfiles());
        List<Profile> out = new ArrayList<>();
        for (Profile p : settings.getProfiles()) {
            Activation a = p.getActivation() == null ? null : toModel(p.getActivation());
            if (settings.getActiveProfiles().contains(p.getId()) || (a != null && a.isActiveByDefault())
                    || (a != null && conditionsHold(a, p.getId(), context, file))) {
                out.add(p);
            }
        }
        return out;
    }

    /** At least one condition, and every condition present holds. */
    private static boolean conditionsHold(Activation activation, String id, DefaultProfileActivationContext context,
            Path file) {
        org.apache.maven.model.Profile profile = new org.apache.maven.model.Profile();
        profile.setId(id);
        profile.setActivation(activation);
        ModelProblemCollector problems = req -> {
            if (req.getSeverity() != ModelProblem.Severity.WARNING) {
                throw new IllegalArgumentException("Maven settings " + file + ": profile '" + id + "': "
                        + req.getMessage());
            }
        };
        boolean present = false;
        for (ProfileActivator activator : ACTIVATORS) {
            if (activator.presentInConfig(profile, context, problems)) {
                present = true;
                if (!activator.isActive(profile, context, problems)) {
                    return false;
                }
            }
        }
        return present;
    }

    /** A settings activation as a POM's, as Maven converts settings profiles. */
    private static Activation toModel(org.apache.maven.settings.Activation s) {
        Activation a = new Activation();
        a.setActiveByDefault(s.isActiveByDefault());
        a.setJdk(s.getJdk());
        if (s.getProperty() != null) {
            ActivationProperty p = new ActivationProperty();
            p.setName(s.getProperty().getName());
            p.setValue(s.getProperty().getValue());
            a.setProperty(p);
        }
        if (s.getOs() != null) {
            ActivationOS os = new ActivationOS();
            os.setName(s.getOs().getName());
            os.setFamily(s.getOs().getFamily());
            os.setArch(s.getOs().getArch());
            os.setVersion(s.getOs().getVersion());
            a.setOs(os);
        }
        if (s.getFile() != null) {
            ActivationFile f = new ActivationFile();
            f.setExists(s.getFile().getExists());
            f.setMissing(s.getFile().getMissing());
            a.setFile(f);
        }
        return a;
    }
}
