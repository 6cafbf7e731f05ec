package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.runtime.Device;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tessera similarity --model minilm "sentence A" "sentence B" ... [--json]}: the cosine similarity matrix of
 * the sentences' embeddings, as a table (rows labelled [i] with the sentence) or JSON.
 */
@Command(name = "similarity", description = "Cosine similarity matrix of sentences under a sentence encoder (e.g. --model minilm).")
final class SimilarityCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "Model directory, maven:GROUP:ARTIFACT:VERSION, or an alias (minilm, minilm-q: its INT8 export).")
    String model;

    @Parameters(paramLabel = "SENTENCE", arity = "1..*", description = "Two or more sentences.")
    List<String> sentences;

    @Option(names = "--json", description = "Print {\"sentences\": [...], \"cosine\": [[...]]} instead of a table.")
    boolean json;

    @Option(names = "--pooling", paramLabel = "MODE",
            description = "cls, max, mean, mean_sqrt_len_tokens, weightedmean or lasttoken (default: the model's own: its"
                    + " 1_Pooling/config.json, several modes concatenated, else mean).")
    String pooling;

    @Mixin
    DeviceOptions.DTypeOption dtype;

    @Mixin
    DeviceOptions.DeviceOption device;

    @Override
    public Integer call() throws Exception {
        if (sentences == null || sentences.size() < 2) {
            throw new IllegalArgumentException("give at least two sentences to compare");
        }
        Device dev = device.resolve();
        float[][] m;
        try (SentenceEncoder enc = SentenceEncoder.load(model, dev, dtype.resolveSentenceStorage(dev),
                dtype.dynamicInt8(dev))) {
            m = SentenceEncoder.cosineMatrix(EmbedCommand.withPooling(enc, pooling).embed(sentences));
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("model", model);
            doc.put("sentences", sentences);
            doc.put("cosine", m);
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            return 0;
        }
        int n = sentences.size();
        for (int i = 0; i < n; i++) {
            System.out.printf("[%d] %s%n", i, sentences.get(i));
        }
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%5s", ""));
        for (int j = 0; j < n; j++) {
            head.append(String.format(Locale.ROOT, " %7s", "[" + j + "]"));
        }
        System.out.println(head);
        for (int i = 0; i < n; i++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%5s", "[" + i + "]"));
            for (int j = 0; j < n; j++) {
                row.append(String.format(Locale.ROOT, " %7.4f", m[i][j]));
            }
            System.out.println(row);
        }
        return 0;
    }
}
