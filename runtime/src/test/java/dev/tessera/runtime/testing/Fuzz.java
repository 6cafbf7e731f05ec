package dev.tessera.runtime.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small mutation fuzzer for the file readers: it takes valid files (seeds), damages them the ways files get damaged
 * (bit flips, overwritten bytes and integers, truncation, deleted or repeated ranges, numbers in a text header
 * changed) and hands each result to a reader. The reader may accept the file or refuse it; a refusal must be one of
 * the documented exceptions ({@link IllegalArgumentException}, {@link IOException} or {@link UncheckedIOException})
 * with a message of one line. Anything else (a {@link NullPointerException}, an index out of bounds, a buffer underflow, an
 * {@link OutOfMemoryError} from a size the header made up) is a reader bug, and a crash of native code ends the JVM.
 * After every input, accepted or refused, the CPU tensors' native memory and the open file descriptors must be back
 * where they were.
 *
 * <p>Deterministic for a given seed ({@code -Dtessera.fuzz.seed} shifts it). The number of mutations per seed file is {@code -Dtessera.fuzz.iterations}
 * (the tests' default is small enough for CI); inputs that break a reader are written to
 * {@code target/fuzz-failures/} so that they can be replayed ({@code -Dtessera.fuzz.keepLast=true} also keeps the input
 * in progress, for a crash that ends the JVM).
 */
public final class Fuzz {
    /** What a reader does with one (possibly damaged) input. */
    @FunctionalInterface
    public interface Target {
        void accept(byte[] input) throws Exception;
    }

    private static final long[] INTERESTING = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffffL,
        0x80000000L, 0xffffffffL, 0x7fffffffffffffffL, Long.MIN_VALUE, 255, 256, 1 << 20, 1L << 31, 1L << 40};

    private Fuzz() {
    }

    /** Mutations per seed: {@code -Dtessera.fuzz.iterations}, else {@code dflt}. */
    public static int iterations(int dflt) {
        return Integer.getInteger("tessera.fuzz.iterations", dflt);
    }

    /** One damaged copy of {@code seed} (one to three mutations stacked). */
    public static byte[] mutate(byte[] seed, SplittableRandom r) {
        byte[] b = seed.clone();
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n && b.length > 0; i++) {
            b = mutateOnce(b, r);
        }
        return b;
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();
    private static final String[] JSON_VALUES = {"0", "-1", "1", "2", "3", "1.5", "-0.5", "1e308", "-1e308",
        "2147483647", "2147483648", "-2147483648", "99999999999999999999", "65536", "\"\"", "\"x\"",
        "\"gelu\"", "null", "true", "false", "[]", "{}", "[0]", "[-1, 2]", "{\"0\": \"a\"}"};

    /**
     * One damaged copy of a JSON {@code seed} that is still JSON: a value somewhere in the tree replaced by another
     * kind or an edge number, or a key removed (what a hand-edited or generated config gets wrong); half of the time
     * a byte-level {@link #mutate} instead.
     */
    public static byte[] mutateJson(byte[] seed, SplittableRandom r) {
        if (r.nextBoolean()) {
            return mutate(seed, r);
        }
        try {
            com.fasterxml.jackson.databind.JsonNode root = JSON.readTree(seed);
            List<com.fasterxml.jackson.databind.JsonNode> containers = new ArrayList<>();
            collect(root, containers);
            for (int k = 1 + r.nextInt(2); k > 0; k--) {
                com.fasterxml.jackson.databind.JsonNode c = containers.get(r.nextInt(containers.size()));
                com.fasterxml.jackson.databind.JsonNode v = JSON.readTree(JSON_VALUES[r.nextInt(JSON_VALUES.length)]);
                if (c instanceof com.fasterxml.jackson.databind.node.ObjectNode o && o.size() > 0) {
                    List<String> keys = new ArrayList<>();
                    o.fieldNames().forEachRemaining(keys::add);
                    String key = keys.get(r.nextInt(keys.size()));
                    if (r.nextInt(5) == 0) {
                        o.remove(key);
                    } else {
                        o.set(key, v);
                    }
                } else if (c instanceof com.fasterxml.jackson.databind.node.ArrayNode a && a.size() > 0) {
                    int i = r.nextInt(a.size());
                    if (r.nextInt(5) == 0) {
                        a.remove(i);
                    } else {
                        a.set(i, v);
                    }
                }
            }
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            return mutate(seed, r);
        }
    }

    private static void collect(com.fasterxml.jackson.databind.JsonNode n,
            List<com.fasterxml.jackson.databind.JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            n.elements().forEachRemaining(c -> collect(c, out));
        }
    }

    private static int pos(byte[] b, SplittableRandom r) {
        // half of the mutations land in the first 512 bytes, where the headers are
        return r.nextBoolean() ? r.nextInt(Math.min(b.length, 512)) : r.nextInt(b.length);
    }

    private static byte[] mutateOnce(byte[] b, SplittableRandom r) {
        switch (r.nextInt(8)) {
            case 0 -> { // bit flips
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    int p = pos(b, r);
                    b[p] ^= (byte) (1 << r.nextInt(8));
                }
                return b;
            }
            case 1 -> { // one byte set to an edge value
                b[pos(b, r)] = (byte) INTERESTING[r.nextInt(9)];
                return b;
            }
            case 2 -> { // a little-endian 2/4/8-byte integer overwritten
                int width = new int[] {2, 4, 8}[r.nextInt(3)];
                if (b.length < width) {
                    return b;
                }
                int p = Math.min(pos(b, r), b.length - width);
                long v = r.nextInt(4) == 0 ? r.nextLong() : INTERESTING[r.nextInt(INTERESTING.length)];
                for (int k = 0; k < width; k++) {
                    b[p + k] = (byte) (v >>> (8 * (r.nextInt(4) == 0 ? width - 1 - k : k)));
                }
                return b;
            }
            case 3 -> { // truncated
                return java.util.Arrays.copyOf(b, r.nextInt(b.length));
            }
            case 4 -> { // a range deleted
                int p = pos(b, r);
                int len = 1 + r.nextInt(Math.min(64, b.length - p));
                byte[] out = new byte[b.length - len];
                System.arraycopy(b, 0, out, 0, p);
                System.arraycopy(b, p + len, out, p, b.length - p - len);
                return out;
            }
            case 5 -> { // a range repeated
                int p = pos(b, r);
                int len = 1 + r.nextInt(Math.min(64, b.length - p));
                byte[] out = new byte[b.length + len];
                System.arraycopy(b, 0, out, 0, p + len);
                System.arraycopy(b, p, out, p + len, b.length - p);
                return out;
            }
            case 6 -> { // a number in a text header replaced
                List<int[]> runs = digitRuns(b, Math.min(b.length, 4096));
                if (runs.isEmpty()) {
                    b[pos(b, r)] = (byte) r.nextInt(256);
                    return b;
                }
                int[] run = runs.get(r.nextInt(runs.size()));
                String[] repl = {"0", "-1", "1", "99999999999999999999", "4294967296", "2147483647", "-2147483649",
                    "1e308", "3", "17", "1.5", "9223372036854775807"};
                byte[] s = repl[r.nextInt(repl.length)].getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                byte[] out = new byte[b.length - (run[1] - run[0]) + s.length];
                System.arraycopy(b, 0, out, 0, run[0]);
                System.arraycopy(s, 0, out, run[0], s.length);
                System.arraycopy(b, run[1], out, run[0] + s.length, b.length - run[1]);
                return out;
            }
            default -> { // random bytes over a range
                int p = pos(b, r);
                int len = 1 + r.nextInt(Math.min(16, b.length - p));
                for (int k = 0; k < len; k++) {
                    b[p + k] = (byte) r.nextInt(256);
                }
                return b;
            }
        }
    }

    private static List<int[]> digitRuns(byte[] b, int limit) {
        List<int[]> runs = new ArrayList<>();
        for (int i = 0; i < limit; i++) {
            if (b[i] >= '0' && b[i] <= '9') {
                int j = i;
                while (j < limit && b[j] >= '0' && b[j] <= '9') {
                    j++;
                }
                runs.add(new int[] {i, j});
                i = j;
            }
        }
        return runs;
    }

    /** Whether {@code t} is an acceptable way for a reader to refuse a file. */
    public static boolean isCleanRefusal(Throwable t) {
        if (!(t instanceof IllegalArgumentException || t instanceof IOException || t instanceof UncheckedIOException)) {
            return false;
        }
        return hasOneLineMessage(t);
    }

    /** Whether {@code t} says what is wrong in one non-blank line (the CLI shows it as its one error line). */
    public static boolean hasOneLineMessage(Throwable t) {
        String m = t.getMessage();
        return m != null && !m.isBlank() && m.indexOf('\n') < 0;
    }

    /**
     * Runs {@code iterations} mutations of each seed through {@code target}; returns how many inputs were accepted.
     * Throws {@link AssertionError} describing the first input that broke the reader (and saves it).
     */
    public static int run(String what, List<byte[]> seeds, int iterations, long seed, Target target) {
        return run(what, seeds, iterations, seed, Fuzz::mutate, target);
    }

    /** {@link #run} with {@link #mutateJson}: for JSON files (configs, tokenizers, headers). */
    public static int runJson(String what, List<byte[]> seeds, int iterations, long seed, Target target) {
        return run(what, seeds, iterations, seed, Fuzz::mutateJson, target);
    }

    private static int run(String what, List<byte[]> seeds, int iterations, long seed,
            java.util.function.BiFunction<byte[], SplittableRandom, byte[]> mutator, Target target) {
        SplittableRandom r = new SplittableRandom(seed + 1_000_003L * Long.getLong("tessera.fuzz.seed", 0));
        int accepted = 0;
        for (byte[] valid : seeds) { // first uses (libraries loaded, caches filled) before the baseline
            try {
                target.accept(valid);
            } catch (Throwable t) {
                if (!isCleanRefusal(t)) { // some seeds are files a reader refuses by design (a float64 WAV)
                    throw new AssertionError(what + ": a seed file is refused with " + t, t);
                }
            }
        }
        long native0 = liveNativeBytes();
        long fds0 = openFileDescriptors();
        for (int s = 0; s < seeds.size(); s++) {
            for (int i = 0; i < iterations; i++) {
                byte[] input = mutator.apply(seeds.get(s), r);
                if (Boolean.getBoolean("tessera.fuzz.keepLast")) { // the input that crashed the JVM, if one does
                    save(what, s, -1, input);
                }
                Throwable refusal = null;
                try {
                    target.accept(input);
                    accepted++;
                } catch (Throwable t) {
                    refusal = t;
                }
                if (refusal != null && !isCleanRefusal(refusal)) {
                    Path saved = save(what, s, i, input);
                    throw new AssertionError(what + ": damaged seed " + s + " (mutation " + i + ", " + input.length
                            + " bytes, saved as " + saved + ") was refused with " + refusal
                            + " instead of a clear IllegalArgumentException or IOException", refusal);
                }
                checkNothingKept(what, s, i, input, native0, fds0);
            }
        }
        System.out.printf("fuzz %s: %d of %d damaged inputs accepted, the rest refused cleanly%n", what, accepted,
                seeds.size() * iterations);
        return accepted;
    }

    /**
     * After each input, accepted or refused, the native memory of CPU tensors and the open file descriptors are back
     * where they were: a refused file frees what was loaded before the error and closes what was opened.
     */
    private static void checkNothingKept(String what, int s, int i, byte[] input, long native0, long fds0) {
        long nativeNow = liveNativeBytes();
        long fdsNow = openFileDescriptors();
        // a descriptor or two opened once by the JVM or a library during the run is not a leak; one per input is
        if (nativeNow != native0 || fdsNow > fds0 + FD_SLACK) {
            Path saved = save(what, s, i, input);
            throw new AssertionError(what + ": damaged seed " + s + " (mutation " + i + ", saved as " + saved
                    + ") left " + (nativeNow - native0) + " bytes of CPU tensors and " + (fdsNow - fds0)
                    + " file descriptors behind");
        }
    }

    private static final int FD_SLACK = 8;

    private static long liveNativeBytes() {
        return dev.tessera.runtime.Backends.forType(dev.tessera.runtime.Device.Type.CPU)
                .memoryStats(dev.tessera.runtime.Device.CPU).allocatedBytes();
    }

    /** Open file descriptors of this process (Linux); 0 where /proc/self/fd is not there (not checked). */
    private static long openFileDescriptors() {
        try (java.util.stream.Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    private static Path save(String what, int seed, int iteration, byte[] input) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "fuzz-failures"));
            return Files.write(dir.resolve(what.replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + seed + "-"
                    + (iteration < 0 ? "last" : iteration) + ".bin"), input);
        } catch (IOException e) {
            return Path.of("(not saved: " + e.getMessage() + ")");
        }
    }
}
