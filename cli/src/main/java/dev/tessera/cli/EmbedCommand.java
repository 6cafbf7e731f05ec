package dev.tessera.cli;

import dev.tessera.models.bert.Pooling;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera embed --model minilm --text "..." [--text "..."] [--text-file FILE] [--out FILE.npy]}: sentence
 * embeddings (mean-pooled, L2-normalised) as float32 {@code [N, dim]}. The model is a directory,
 * {@code maven:GROUP:ARTIFACT:VERSION} or an alias ({@code minilm}). Without {@code --out} the vectors are printed,
 * one per line. The work is in the model API ({@link SentenceEncoder}); this command only parses and writes.
 */
@Command(name = "embed", description = "Embed texts with a sentence encoder (e.g. --model minilm), or images / texts with a CLIP checkpoint; writes float32 [N, dim] .npy.")
final class EmbedCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "Model directory, maven:GROUP:ARTIFACT:VERSION, or an alias (minilm, minilm-q: its INT8 export).")
    String model;

    @Option(names = "--text", paramLabel = "TEXT", arity = "1..*",
            description = "Texts to embed: --text A B ... or --text A --text B.")
    List<String> texts = new ArrayList<>();

    @Option(names = "--text-file", paramLabel = "FILE", description = "A UTF-8 file with one text per line (blank lines skipped).")
    Path textFile;

    @Option(names = "--out", paramLabel = "FILE.npy", description = "Write the embeddings here (float32 [N, dim]).")
    Path out;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Truncate texts to N word pieces (default: the model's, 256 for MiniLM).")
    Integer maxLength;

    @Option(names = "--pooling", paramLabel = "MODE",
            description = "cls, max, mean, mean_sqrt_len_tokens, weightedmean or lasttoken (default: the model's own: its"
                    + " 1_Pooling/config.json, several modes concatenated, else mean).")
    String pooling;

    @Option(names = "--batch-size", defaultValue = "32", description = "Texts per forward pass (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    DeviceOptions.DeviceOption device;

    @Mixin
    DeviceOptions.DTypeOption dtype;

    @Mixin
    VisionInputs.BackendOption imageBackend;

    @Option(names = "--image", paramLabel = "IMAGE", arity = "1..*",
            description = "CLIP models: image files, folders or one .npy of pixels to embed: --image A B ... or --image A"
                    + " --image B (not with --text).")
    List<String> images = new ArrayList<>();

    @Override
    public Integer call() {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        List<String> all = new ArrayList<>(texts);
        if (textFile != null) {
            try {
                Files.readAllLines(textFile, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).forEach(all::add);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read --text-file " + textFile + ": " + e.getMessage(), e);
            }
        }
        if (isClip(model)) {
            Device dev = device.resolve();
            return ClipEmbed.run(Path.of(model), all, images, out, dev, dtype.resolve(dev), dtype.dynamicInt8(dev),
                    batchSize, imageBackend);
        }
        if (!images.isEmpty()) {
            throw new IllegalArgumentException("--image needs a CLIP model directory (config.json model_type \"clip\")");
        }
        if (all.isEmpty()) {
            throw new IllegalArgumentException("nothing to embed: give --text \"...\" (repeatable) or --text-file FILE");
        }
        Device dev = device.resolve();
        float[][] e;
        try (SentenceEncoder enc = SentenceEncoder.load(model, dev, dtype.resolveSentenceStorage(dev),
                dtype.dynamicInt8(dev))) {
            if (maxLength != null && (maxLength < 2 || maxLength > enc.model().config().maxTokens())) {
                throw new IllegalArgumentException("--max-length must be between 2 and " + enc.model().config().maxTokens()
                        + " (the model's positions), got " + maxLength);
            }
            SentenceEncoder use = withPooling(maxLength == null ? enc : enc.withMaxLength(maxLength), pooling);
            e = use.embed(all, batchSize);
        }
        int n = e.length;
        int d = e[0].length;
        if (out != null) {
            float[] flat = new float[n * d];
            for (int i = 0; i < n; i++) {
                System.arraycopy(e[i], 0, flat, i * d, d);
            }
            try {
                Npy.writeFloats(out, flat, n, d);
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot write " + out + ": " + ex.getMessage(), ex);
            }
            System.out.printf("%d text(s) -> %s float32 [%d, %d] (%s, %s)%n", n, out, n, d, model, dev);
        } else {
            for (float[] row : e) {
                StringBuilder sb = new StringBuilder();
                for (int j = 0; j < row.length; j++) {
                    sb.append(j == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.6f", row[j]));
                }
                System.out.println(sb);
            }
        }
        return 0;
    }

    /** {@code enc} with the pooling {@code mode} names (its normalisation kept), or {@code enc} when null. */
    static SentenceEncoder withPooling(SentenceEncoder enc, String mode) {
        if (mode == null) {
            return enc;
        }
        Pooling p;
        try {
            p = Pooling.parse(mode);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--pooling: " + e.getMessage(), e);
        }
        return enc.withPooling(p, enc.pooling().normalize());
    }

    /** Whether {@code model} is a directory whose config.json has model_type "clip". */
    static boolean isClip(String model) {
        Path cfg = Path.of(model).resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            return false;
        }
        try {
            return "clip".equals(new com.fasterxml.jackson.databind.ObjectMapper().readTree(cfg.toFile()).path("model_type").asText());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + cfg + ": " + dev.tessera.runtime.io.JsonFiles.describe(e),
                    e);
        }
    }
}
