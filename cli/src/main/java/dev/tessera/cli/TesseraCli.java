package dev.tessera.cli;

import dev.tessera.bindings.Versions;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tessera} command. */
@Command(name = "tessera", mixinStandardHelpOptions = true, versionProvider = TesseraCli.Version.class,
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
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (for tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new TesseraCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + ex.getMessage());
            if (Boolean.getBoolean("tessera.debug")) {
                ex.printStackTrace(cmd.getErr());
            }
            return ex instanceof IllegalArgumentException ? 2 : 1;
        });
        return cl.execute(args);
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
