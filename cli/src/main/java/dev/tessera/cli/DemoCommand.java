package dev.tessera.cli;

import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.models.dbm.DbmPictures;
import dev.tessera.models.dbm.DigitExperiment;
import dev.tessera.runtime.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera demo}: the main job, CPU only. (a) Sentence similarity with the real all-MiniLM-L6-v2
 * (the "minilm" alias, shipped as a Maven artifact, run on our kernels); (b) the multimodal digit DBN from
 * the shipped checkpoint: readout accuracies per modality on held-out voices and digits, and digits
 * generated from speech written as PNG grids. Ends with a one-screen summary with the picture paths.
 */
@Command(name = "demo", description = "The main job: MiniLM sentence similarity and the image+speech DBN (CPU).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "tessera-demo-out", description = "Output folder for pictures (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--pairs", defaultValue = "600", description = "Held-out image+speech pairs to score (default ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--data", description = "Data folder (default: found from the working directory or the CLI jar).")
    Path data;

    @Option(names = "--model", description = "DBN checkpoint folder (default: the shipped one).")
    Path model;

    @Option(names = "--skip-text", description = "Skip the MiniLM part.")
    boolean skipText;

    static final List<String> SENTENCES = List.of(
            "A man is playing a guitar on stage.",
            "Someone performs music with a guitar.",
            "The stock market fell sharply today.",
            "Share prices dropped at the close of trading.",
            "A cat sleeps on the warm windowsill.");

    @Override
    public Integer call() throws Exception {
        if (pairs < 10) {
            throw new IllegalArgumentException("--pairs must be >= 10, got " + pairs);
        }
        long t0 = System.nanoTime();
        Files.createDirectories(out);
        String textSummary;
        if (skipText) {
            textSummary = "skipped (--skip-text)";
        } else {
            System.out.println("== (a) sentence similarity: all-MiniLM-L6-v2 on Tessera kernels (cpu)");
            try (SentenceEncoder enc = SentenceEncoder.load("minilm", Device.CPU)) {
                float[][] e = enc.embed(SENTENCES);
                float[][] cos = SentenceEncoder.cosineMatrix(e);
                for (int i = 0; i < SENTENCES.size(); i++) {
                    int best = -1;
                    for (int j = 0; j < SENTENCES.size(); j++) {
                        if (j != i && (best < 0 || cos[i][j] > cos[i][best])) {
                            best = j;
                        }
                    }
                    System.out.printf("  %-42s ~ %-42s cos %.3f%n", quote(SENTENCES.get(i)), quote(SENTENCES.get(best)),
                            cos[i][best]);
                }
                textSummary = String.format("paraphrase cos %.3f vs unrelated %.3f", cos[0][1], cos[0][2]);
            }
        }
        System.out.println();
        System.out.println("== (b) multimodal DBN: MNIST digits + spoken digits (espeak-ng), held-out voices");
        Path root = DbmCommand.dataRoot(data);
        Path dir = model != null ? model : DbmCommand.shippedModel(root);
        DigitExperiment.Scores s;
        Path gen = out.resolve("generated-from-speech.png");
        Path real = out.resolve("real-test-digits.png");
        try (DigitExperiment.Trained t = DigitExperiment.Trained.load(dir)) {
            DigitExperiment.Split test = DigitExperiment.load(root, "test", t.model().config(), pairs);
            s = DigitExperiment.evaluate(t, test);
            // one row per digit: ten different held-out voices saying it, left to right
            float[][] audio = new float[100][];
            float[][] images = new float[100][];
            int[] filled = new int[10];
            for (int i = 0; i < test.labels().length; i++) {
                int d = test.labels()[i];
                if (filled[d] < 10) {
                    audio[d * 10 + filled[d]] = test.audio()[i];
                    images[d * 10 + filled[d]] = test.images()[i];
                    filled[d]++;
                }
            }
            int n = 0;
            while (n < 100 && audio[n] != null) {
                n++;
            }
            DbmPictures.writeGrid(t.model().generateImages(Arrays.copyOf(audio, n)), 10, gen);
            DbmPictures.writeGrid(Arrays.copyOf(images, n), 10, real);
        }
        DbmCommand.print(s);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.println();
        System.out.println("== summary");
        System.out.println("  MiniLM similarity:      " + textSummary);
        System.out.printf("  DBN readout accuracy:   image-only %.1f%%, speech-only %.1f%%, both %.1f%% (%d held-out pairs)%n",
                100 * s.imageOnly(), 100 * s.audioOnly(), 100 * s.both(), s.testPairs());
        System.out.printf("  speech -> digit image:  %.1f%% read as the spoken digit by an independent MLP%n",
                100 * s.generatedFromSpeech());
        System.out.println("  pictures:               " + gen.toAbsolutePath() + " (row d: digit d spoken by held-out voices)");
        System.out.println("                          " + real.toAbsolutePath());
        System.out.printf("  time:                   %.1f s%n", secs);
        return 0;
    }

    private static String quote(String s) {
        String q = "\"" + s + "\"";
        return q.length() > 42 ? q.substring(0, 39) + "...\"" : q;
    }
}
