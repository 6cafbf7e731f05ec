package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.dbm.DbmConfig;
import dev.tessera.models.dbm.DbmPictures;
import dev.tessera.models.dbm.DigitData;
import dev.tessera.models.dbm.DigitExperiment;
import dev.tessera.models.dbm.MultimodalDbn;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera dbm train|eval|generate}: the multimodal (image + speech) digit model. */
@Command(name = "dbm", description = "Multimodal deep belief net over MNIST images and spoken digits.",
        subcommands = {DbmCommand.Train.class, DbmCommand.Eval.class, DbmCommand.Generate.class})
final class DbmCommand {

    /** The data folder: --data, else $TESSERA_DATA, else data/ in the working directory or above the CLI jar. */
    static Path dataRoot(Path given) {
        if (given != null) {
            return require(given);
        }
        String env = System.getenv("TESSERA_DATA");
        if (env != null && !env.isBlank()) {
            return require(Path.of(env));
        }
        List<Path> tries = new ArrayList<>();
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            tries.add(p.resolve("data"));
        }
        try {
            Path jar = Path.of(DbmCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path p = jar.getParent(); p != null; p = p.getParent()) {
                tries.add(p.resolve("data"));
            }
        } catch (Exception ignored) {
            // no jar location: only the working directory is searched
        }
        for (Path p : tries) {
            if (Files.isDirectory(p.resolve("spoken-digits")) && Files.isDirectory(p.resolve("mnist-10k"))) {
                return p;
            }
        }
        throw new IllegalArgumentException("no data folder with mnist-10k/ and spoken-digits/ found; pass --data DIR");
    }

    private static Path require(Path p) {
        if (!Files.isDirectory(p.resolve("spoken-digits")) || !Files.isDirectory(p.resolve("mnist-10k"))) {
            throw new IllegalArgumentException(p + ": not a data folder (needs mnist-10k/ and spoken-digits/)");
        }
        return p;
    }

    /** The shipped checkpoint folder under the data root. */
    static Path shippedModel(Path data) {
        return data.resolve("dbm-checkpoint");
    }

    @Command(name = "train", description = "Train the model and its readouts; writes a checkpoint, pictures and curves.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--epochs", defaultValue = "30", description = "CD-1 epochs per layer (default ${DEFAULT-VALUE}).")
        int epochs;
        @Option(names = "--shift", defaultValue = "1", description = "Training augmentation: random image shifts of up to N "
                + "pixels and speech shifts of up to N mel bands / frames per epoch (0: off; default ${DEFAULT-VALUE}).")
        int shift;
        @Option(names = "--joint-epochs", description = "PCD epochs of the joint layer (default: half of --epochs, "
                + "rounded up: 15 for the default 30).")
        Integer jointEpochs;
        @Option(names = "--joint-candidates", defaultValue = "4", description = "Joint layers trained from different seeds; "
                + "the one whose speech-to-image generation on training pairs is best is kept (default ${DEFAULT-VALUE}).")
        int jointCandidates;
        @Option(names = "--device", defaultValue = "cpu", description = "Where the RBMs train: cpu, cuda or cuda:N "
                + "(readouts and evaluation run on the CPU; default ${DEFAULT-VALUE}).")
        String device;
        @Option(names = "--seed", defaultValue = "42", description = "Seed (default ${DEFAULT-VALUE}).")
        long seed;
        @Option(names = "--out", defaultValue = "dbm-model", description = "Output folder (default ${DEFAULT-VALUE}).")
        Path out;
        @Option(names = "--data", description = "Data folder holding mnist-10k/ and spoken-digits/.")
        Path data;
        @Option(names = "--limit", defaultValue = "0", description = "Use only the first N training pairs (0: all).")
        int limit;

        @Override
        public Integer call() throws Exception {
            Device dev = Device.parse(device);
            Backends.get(dev); // fails here, with the reason, when the device is unusable
            Path root = dataRoot(data);
            if (epochs < 1) {
                throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
            }
            if (jointCandidates < 1) {
                throw new IllegalArgumentException("--joint-candidates must be >= 1, got " + jointCandidates);
            }
            if (shift < 0 || shift > 4) {
                throw new IllegalArgumentException("--shift must be between 0 and 4, got " + shift);
            }
            if (jointEpochs == null) {
                jointEpochs = (epochs + 1) / 2;
            }
            if (jointEpochs < 1) {
                throw new IllegalArgumentException("--joint-epochs must be >= 1, got " + jointEpochs);
            }
            if (limit < 0) {
                throw new IllegalArgumentException("--limit must be >= 0, got " + limit);
            }
            DbmConfig cfg = DbmConfig.defaults().withEpochs(epochs).withSeed(seed).withShift(shift)
                    .withJointEpochs(jointEpochs);
            System.err.println("loading data from " + root + " ...");
            DigitExperiment.Split train = DigitExperiment.load(root, "train", cfg, limit);
            DigitExperiment.Split test = DigitExperiment.load(root, "test", cfg, 0);
            List<MultimodalDbn.Progress> curve = new ArrayList<>();
            long t0 = System.nanoTime();
            try (DigitExperiment.Trained t = DigitExperiment.train(cfg, train, test.images(), p -> {
                curve.add(p);
                bar(p);
            }, dev, jointCandidates)) {
                System.err.println();
                t.save(out);
                DigitExperiment.Scores s = DigitExperiment.evaluate(t, test);
                DbmPictures.curves(curve, out.resolve("training-curves.png"));
                DbmPictures.writeGrid(t.model().generateImages(java.util.Arrays.copyOf(test.audio(), 50)), 10,
                        out.resolve("generated-from-speech.png"));
                DbmPictures.writeGrid(t.model().reconstructImages(java.util.Arrays.copyOf(test.images(), 50)), 10,
                        out.resolve("reconstructions.png"));
                System.out.printf("trained in %.0f s -> %s%n", (System.nanoTime() - t0) / 1e9, out);
                print(s);
            }
            return 0;
        }

        private static void bar(MultimodalDbn.Progress p) {
            int w = 30;
            int done = w * p.epoch() / p.epochs();
            System.err.printf("\r%-7s [%s%s] %d/%d  recon %.4f%s", p.layer(), "#".repeat(done), " ".repeat(w - done), p.epoch(),
                    p.epochs(), p.reconstructionError(),
                    Double.isNaN(p.freeEnergyGap()) ? "" : String.format("  F-gap %.2f", p.freeEnergyGap()));
            if (p.epoch() == p.epochs()) {
                System.err.println();
            }
        }
    }

    static void print(DigitExperiment.Scores s) {
        System.out.printf("held-out voices/digits (%d pairs): image-only %.2f%%  audio-only %.2f%%  both %.2f%%%n", s.testPairs(),
                100 * s.imageOnly(), 100 * s.audioOnly(), 100 * s.both());
        System.out.printf("digits generated from speech, read as the spoken digit by the independent MLP: %.2f%% (on real test images: %.2f%%)%n",
                100 * s.generatedFromSpeech(), 100 * s.pixelClassifier());
    }

    static ObjectNode json(DigitExperiment.Scores s) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("test_pairs", s.testPairs()).put("image_only", s.imageOnly()).put("audio_only", s.audioOnly())
                .put("both", s.both()).put("generated_from_speech", s.generatedFromSpeech())
                .put("pixel_classifier_on_real", s.pixelClassifier());
        return n;
    }

    @Command(name = "eval", description = "Accuracies of a checkpoint on the held-out voices and digits.")
    static final class Eval implements Callable<Integer> {
        @Option(names = "--model", description = "Checkpoint folder (default: the shipped one).")
        Path model;
        @Option(names = "--json", description = "Print JSON.")
        boolean json;
        @Option(names = "--pairs", defaultValue = "0", description = "Score only the first N held-out pairs (0: all 2000).")
        int pairs;
        @Option(names = "--data", description = "Data folder holding mnist-10k/ and spoken-digits/.")
        Path data;

        @Override
        public Integer call() throws Exception {
            if (pairs < 0) {
                throw new IllegalArgumentException("--pairs must be >= 0 (0: all), got " + pairs);
            }
            Path root = dataRoot(data);
            try (DigitExperiment.Trained t = DigitExperiment.Trained.load(model != null ? model : shippedModel(root))) {
                DigitExperiment.Split test = DigitExperiment.load(root, "test", t.model().config(), pairs);
                DigitExperiment.Scores s = DigitExperiment.evaluate(t, test);
                if (json) {
                    System.out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json(s)));
                } else {
                    print(s);
                }
            }
            return 0;
        }
    }

    @Command(name = "generate", description = "Generate a digit image from a spoken digit (any audio file).")
    static final class Generate implements Callable<Integer> {
        @Option(names = "--model", description = "Checkpoint folder (default: the shipped one).")
        Path model;
        @Option(names = "--audio", required = true, description = "Audio file with one spoken digit.")
        Path audio;
        @Option(names = "--out", required = true, description = "Output PNG.")
        Path out;
        @Option(names = "--samples", defaultValue = "1",
                description = "Images to write side by side, each from its own Gibbs chain (1 to 64; default 1).")
        int samples;

        @Override
        public Integer call() throws Exception {
            if (samples < 1 || samples > 64) {
                throw new IllegalArgumentException("--samples must be between 1 and 64, got " + samples);
            }
            if (!Files.isRegularFile(audio)) {
                throw new IllegalArgumentException(audio + ": no such file");
            }
            Path dir = model != null ? model : shippedModel(dataRoot(null));
            try (DigitExperiment.Trained t = DigitExperiment.Trained.load(dir)) {
                DbmConfig c = t.model().config();
                float[] f = DigitData.speechFeatures(List.of(DigitData.clip(audio)), c.nMels(), c.frames())[0];
                float[][] rows = new float[samples][];
                java.util.Arrays.fill(rows, f); // one chain per row: the rows' random streams differ
                float[][] img = t.model().generateImages(rows);
                int[] digits = t.pixels().predict(img);
                DbmPictures.writeGrid(img, samples, out);
                System.out.printf("%s -> %s (the image classifier reads %s %s)%n", audio, out, samples == 1 ? "it as"
                        : "them as", java.util.Arrays.stream(digits).mapToObj(String::valueOf)
                                .collect(java.util.stream.Collectors.joining(", ")));
            }
            return 0;
        }
    }
}
