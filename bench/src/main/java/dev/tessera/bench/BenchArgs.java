package dev.tessera.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The command line of a benchmark main, parsed against its usage line, which both documents and declares the
 * options:
 *
 * <pre>
 * BenchArgs cli = BenchArgs.parse(args, "RbmBench [--threads 2] [--reps 5] [--python PATH] [--out FILE] [--quick]");
 * if (cli.help()) {
 *     return;
 * }
 * int threads = cli.getInt("--threads", 2);
 * Path out = cli.getPath("--out", Path.of("bench/results/rbm-cpu.json"));
 * boolean quick = cli.flag("--quick");
 * </pre>
 *
 * <p>The words of the usage line before its first option name the program. Brackets only document: an option
 * (a word starting with {@code -}) followed by a word that does not start with {@code -} (a placeholder such as
 * {@code N} or {@code FILE}, or a default value such as {@code 5}) takes a value, the next argument on the command
 * line; an option followed by another option or by nothing is a flag. {@code -h} and {@code --help} are always
 * understood: they print {@code usage: <usage line>} and make {@link #help} true, so the main returns without
 * running; the arguments after them are not read.
 *
 * <p>As with a hand-written loop over {@code args}, the last occurrence of an option wins and a value is taken as
 * it stands, even when it starts with {@code -}. An unknown option, an option without its value and (when a getter
 * converts it) a malformed value throw an {@link IllegalArgumentException} that names the option and quotes the
 * usage line. Asking for an option the usage line does not declare, or a flag as a value (or the reverse), is a
 * mistake in the main and throws an {@link IllegalStateException}.
 */
final class BenchArgs {
    private final String usage;
    /** Declared options: true for those that take a value, false for flags. */
    private final Map<String, Boolean> declared;
    /** What the command line gave: the last value of each value option, {@code ""} for each flag. */
    private final Map<String, String> given = new HashMap<>();
    private boolean help;

    private BenchArgs(String usage, Map<String, Boolean> declared) {
        this.usage = usage;
        this.declared = declared;
    }

    /** Parses {@code args} against the options that {@code usage} declares (see the class comment). */
    static BenchArgs parse(String[] args, String usage) {
        BenchArgs a = new BenchArgs(usage, declare(usage));
        for (int i = 0; i < args.length; i++) {
            String opt = args[i];
            if (opt.equals("-h") || opt.equals("--help")) {
                System.out.println("usage: " + usage);
                a.help = true;
                break;
            }
            Boolean takesValue = a.declared.get(opt);
            if (takesValue == null) {
                throw a.error("unknown option " + opt);
            }
            if (!takesValue) {
                a.given.put(opt, "");
            } else if (i + 1 < args.length) {
                a.given.put(opt, args[++i]);
            } else {
                throw a.error(opt + " needs a value");
            }
        }
        return a;
    }

    /** The options of a usage line, each mapped to whether it takes a value. */
    private static Map<String, Boolean> declare(String usage) {
        String[] words = usage.replace('[', ' ').replace(']', ' ').trim().split("\\s+");
        Map<String, Boolean> options = new HashMap<>();
        for (int i = 0; i < words.length; i++) {
            if (!words[i].startsWith("-")) {
                if (!options.isEmpty() && !(i > 0 && words[i - 1].startsWith("-"))) {
                    throw new IllegalStateException("usage line: '" + words[i] + "' follows no option: " + usage);
                }
                continue;
            }
            boolean takesValue = i + 1 < words.length && !words[i + 1].startsWith("-");
            if (options.put(words[i], takesValue) != null) {
                throw new IllegalStateException("usage line: " + words[i] + " is declared twice: " + usage);
            }
        }
        return options;
    }

    /** Whether {@code -h} or {@code --help} was given (and the usage line printed): the main should return. */
    boolean help() {
        return help;
    }

    /** Whether the flag {@code opt} was given. */
    boolean flag(String opt) {
        check(opt, false);
        return given.containsKey(opt);
    }

    /** The value of {@code opt}, or {@code def} when it was not given. */
    String get(String opt, String def) {
        return get(opt, def, Function.identity());
    }

    /**
     * The value of {@code opt} converted by {@code parse}, or {@code def} (not converted) when it was not given; an
     * {@link IllegalArgumentException} of {@code parse} (a {@link NumberFormatException}, say) becomes one that names
     * the option and quotes the usage line.
     */
    <T> T get(String opt, T def, Function<String, T> parse) {
        check(opt, true);
        String v = given.get(opt);
        if (v == null) {
            return def;
        }
        try {
            return parse.apply(v);
        } catch (IllegalArgumentException e) {
            throw error("bad value '" + v + "' for " + opt + " (" + e.getMessage() + ")");
        }
    }

    int getInt(String opt, int def) {
        return get(opt, def, Integer::parseInt);
    }

    long getLong(String opt, long def) {
        return get(opt, def, Long::parseLong);
    }

    double getDouble(String opt, double def) {
        return get(opt, def, Double::parseDouble);
    }

    Path getPath(String opt, Path def) {
        return get(opt, def, Path::of);
    }

    /** A comma-separated list of ints ({@code 1,8,32}, no spaces), or {@code def} when {@code opt} was not given. */
    int[] getInts(String opt, int... def) {
        return get(opt, def, v -> Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray());
    }

    private void check(String opt, boolean takesValue) {
        Boolean d = declared.get(opt);
        if (d == null || d != takesValue) {
            throw new IllegalStateException(opt + (d == null ? " is not declared" : d ? " takes a value" : " is a flag")
                    + " in the usage line: " + usage);
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + "; usage: " + usage);
    }
}
