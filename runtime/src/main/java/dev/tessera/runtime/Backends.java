package dev.tessera.runtime;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry of {@link Backend}s found by {@link ServiceLoader}, and the default device:
 * {@code -Dtessera.device=cpu|cuda|cuda:N} if set, else the best available backend's first device.
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static volatile List<Backend> all;
    private static volatile Device defaultDevice;

    private Backends() {}

    /** Every registered backend, available or not, highest priority first. */
    public static List<Backend> all() {
        List<Backend> a = all;
        if (a == null) {
            synchronized (Backends.class) {
                a = all;
                if (a == null) {
                    List<Backend> found = new ArrayList<>();
                    for (Backend b : ServiceLoader.load(Backend.class, Backends.class.getClassLoader())) {
                        found.add(b);
                    }
                    found.sort(Comparator.comparingInt(Backend::priority).reversed());
                    a = Collections.unmodifiableList(found);
                    all = a;
                }
            }
        }
        return a;
    }

    /** The available backend with the highest priority (CUDA where a usable GPU is present, else CPU). */
    public static Backend best() {
        for (Backend b : all()) {
            if (b.availability().available()) {
                return b;
            }
        }
        throw new IllegalStateException("no available backend; registered: " + all());
    }

    /** The backend for a device type, whether available or not. */
    public static Backend forType(Device.Type type) {
        for (Backend b : all()) {
            if (b.deviceType() == type) {
                return b;
            }
        }
        throw new IllegalStateException("no backend registered for " + type);
    }

    /** The backend that serves {@code device}; throws with the reason if it is unavailable. */
    public static Backend get(Device device) {
        Backend b = forType(device.type());
        Backend.Availability a = b.availability();
        if (!a.available()) {
            throw new IllegalStateException("device " + device + " is not available: " + a.reason());
        }
        if (device.index() >= b.deviceCount()) {
            throw new IllegalArgumentException("device " + device + " does not exist: " + b.name() + " has "
                    + b.deviceCount() + " device(s)");
        }
        return b;
    }

    /** The device used when none is given. */
    public static Device defaultDevice() {
        Device d = defaultDevice;
        if (d == null) {
            synchronized (Backends.class) {
                d = defaultDevice;
                if (d == null) {
                    String prop = System.getProperty("tessera.device");
                    if (prop != null && !prop.isBlank()) {
                        d = Device.parse(prop);
                        get(d); // fail early with the reason if unusable
                    } else {
                        Backend b = best();
                        d = new Device(b.deviceType(), 0);
                    }
                    LOG.debug("default device: {}", d);
                    defaultDevice = d;
                }
            }
        }
        return d;
    }

    /** Overrides the default device for this JVM (as -Dtessera.device does). */
    public static void setDefaultDevice(Device device) {
        get(device);
        defaultDevice = device;
    }
}
