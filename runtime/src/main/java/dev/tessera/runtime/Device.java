package dev.tessera.runtime;

import java.util.Locale;

/** Where a tensor lives: the host ({@code cpu}) or a CUDA device ({@code cuda:N}). */
public record Device(Type type, int index) {
    public enum Type { CPU, CUDA }

    public static final Device CPU = new Device(Type.CPU, 0);

    public Device {
        if (type == null) {
            throw new IllegalArgumentException("device type is null");
        }
        if (index < 0 || (type == Type.CPU && index != 0)) {
            throw new IllegalArgumentException("invalid device index " + index + " for " + type);
        }
    }

    public static Device cuda(int index) {
        return new Device(Type.CUDA, index);
    }

    /** Parses {@code cpu}, {@code cuda} (= cuda:0) or {@code cuda:N}. */
    public static Device parse(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("device spec is null");
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return CPU;
        }
        if (s.equals("cuda") || s.equals("gpu")) {
            return cuda(0);
        }
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw new IllegalArgumentException("unknown device '" + spec + "': expected cpu, cuda or cuda:N");
    }

    public boolean isCpu() {
        return type == Type.CPU;
    }

    public boolean isCuda() {
        return type == Type.CUDA;
    }

    @Override
    public String toString() {
        return type == Type.CPU ? "cpu" : "cuda:" + index;
    }
}
