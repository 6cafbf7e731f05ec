package dev.tessera.cli;

import dev.tessera.bindings.Versions;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tessera} command. */
// scope INHERIT: every subcommand gets -h/--help and -V/--version too ("tessera embed --help" prints its usage).
@Command(name = "tessera", mixinStandardHelpOptions = true, versionProvider = TesseraCli.Version.class,
        scope = CommandLine.ScopeType.INHERIT,
        description = "Run and train multimodal models from the JVM on native accelerators.",
        subcommands = {
            InfoCommand.class, DemoCommand.class, LogMelCommand.class,
            // region vision (#4)
            ClassifyCommand.class, ClipCommand.class,
            // endregion vision
            // region text (#5)
            EmbedCommand.class, SimilarityCommand.class,
            // endregion text
            // region dbm (#6)
            DbmCommand.class,
            // endregion dbm
            // region speech (#7)
            TranscribeCommand.class,
            // endregion speech
            // region chat (#8)
            ChatCommand.class,
            // endregion chat
            CommandLine.HelpCommand.class})
public final class TesseraCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // UTF-8 out and err whatever the locale: under LC_ALL=C (containers, cron, CI) JDK 17 would print every
        // non-ASCII character of a transcript, a label or a chat reply as '?'
        System.setOut(new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                java.nio.charset.StandardCharsets.UTF_8));
        System.setErr(new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true,
                java.nio.charset.StandardCharsets.UTF_8));
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (for tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new TesseraCli());
        // a mistyped command line: one error line naming the help to read (not the whole usage text)
        cl.setParameterExceptionHandler((ex, given) -> {
            CommandLine c = ex.getCommandLine();
            String hint = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                    ? "; did you mean " + String.join(" or ", u.getSuggestions()) + "?" : "";
            String m = message(ex);
            if (m.startsWith("Error: ")) { // picocli's argument-group messages carry their own prefix
                m = m.substring("Error: ".length());
            }
            c.getErr().println("error: " + m + hint + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            return c.getCommandSpec().exitCodeOnInvalidInput();
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + message(ex));
            if (Boolean.getBoolean("tessera.debug")) {
                ex.printStackTrace(cmd.getErr());
            }
            return ex instanceof IllegalArgumentException ? 2 : 1;
        });
        try {
            return cl.execute(args);
        } catch (Error e) { // picocli lets Errors through
            return fatal(e, cl.getErr());
        }
    }

    /**
     * The one error line for an {@link Error} out of a command (exit status 1): out of memory (heap or native), a
     * fault in a read of a memory-mapped file that changed meanwhile (the JVM's {@link InternalError}), a stack
     * overflow, a class or native library that cannot be loaded (a dependency left off the class path, natives for
     * another platform); the stack trace only with {@code -Dtessera.debug=true}.
     */
    static int fatal(Error e, java.io.PrintWriter err) {
        String what = e instanceof OutOfMemoryError ? "out of memory"
                : e instanceof StackOverflowError ? "stack overflow (an input nested too deeply?)"
                : e instanceof NoClassDefFoundError ? "a class Tessera needs is missing (a dependency jar left off the"
                        + " class path?)"
                : e instanceof UnsatisfiedLinkError ? "a native library cannot be loaded (natives for another"
                        + " platform, or a system library missing?)"
                : e instanceof ExceptionInInitializerError i ? "a library failed to initialise"
                        + (i.getCause() == null ? "" : " (" + i.getCause() + ")")
                : e instanceof InternalError ? "internal error (a file read through a memory mapping changed or was"
                        + " cut short?)"
                : "internal error (" + e.getClass().getName() + ")";
        String m = e.getMessage() == null ? "" : ": " + dev.tessera.runtime.io.JsonFiles.oneLine(e.getMessage());
        err.println("error: " + what + m);
        if (Boolean.getBoolean("tessera.debug")) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    /**
     * The one-line message of a failed command; a file-system cause without a reason (NoSuchFileException's message
     * is just the path) gets one, so "cannot write x/y.npy: x/y.npy" says why, as does a text file that is not UTF-8
     * (MalformedInputException's message is "Input length = 1").
     */
    static String message(Throwable ex) {
        // one line whatever the message holds (a library's message may quote a multi-line source)
        String m = dev.tessera.runtime.io.JsonFiles.oneLine(String.valueOf(ex.getMessage()));
        for (Throwable c = ex.getCause(); c != null; c = c.getCause()) {
            if (c instanceof java.nio.charset.CharacterCodingException) { // e.g. "Input length = 1"
                return m + " (not UTF-8 text: save the file as UTF-8)";
            }
            if (c instanceof java.nio.file.FileSystemException f && f.getReason() == null) {
                if (f instanceof java.nio.file.NoSuchFileException) {
                    return m + " (no such file or directory)";
                }
                if (f instanceof java.nio.file.AccessDeniedException) {
                    return m + " (permission denied)";
                }
            }
        }
        return m;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"tessera " + Versions.tessera()};
        }
    }
}
