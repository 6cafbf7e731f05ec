package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.clip.ClipModel;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tessera clip IMAGE... --model DIR (--labels "a cat,a dog" | --labels-file FILE) [--template "a photo of a {}."]
 * [--json]}: CLIP zero-shot classification.
 */
@Command(name = "clip", description = "Zero-shot image classification with a CLIP checkpoint over label prompts.")
final class ClipCommand implements Callable<Integer> {
    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "Image files, folders, or one .npy of float32 [N,3,H,W] pixels.")
    List<String> images = new ArrayList<>();

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "CLIP model directory (config.json, safetensors, tokenizer.json).")
    Path model;

    /** Where the labels come from: exactly one of the two. */
    static final class Labels {
        @Option(names = "--labels", required = true, paramLabel = "L1,L2,...", description = "Comma-separated label prompts.")
        String list;

        @Option(names = "--labels-file", required = true, paramLabel = "FILE",
                description = "A UTF-8 file with one label per line (blank lines skipped): for labels holding commas.")
        Path file;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Labels labels;

    @Option(names = "--template", paramLabel = "TEXT",
            description = "Prompt made of each label, {} standing for it (e.g. \"a photo of a {}.\"); the output names the bare labels.")
    String template;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass (default ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    DeviceOptions.DTypeOption dtype;

    @Mixin
    DeviceOptions.DeviceOption device;

    @Mixin
    VisionInputs.BackendOption imageBackend;

    @Option(names = "--json", description = "Print one JSON document.")
    boolean json;

    @Override
    public Integer call() {
        String source = labels.file != null ? "--labels-file " + labels.file : "--labels";
        List<String> ls;
        if (labels.file != null) {
            try {
                ls = Files.readAllLines(labels.file, StandardCharsets.UTF_8).stream().map(String::strip)
                        .filter(l -> !l.isEmpty()).toList();
            } catch (IOException | java.io.UncheckedIOException e) {
                throw new IllegalArgumentException("cannot read --labels-file " + labels.file + ": " + e.getMessage(), e);
            }
        } else {
            ls = Arrays.stream(labels.list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        }
        if (ls.isEmpty()) {
            throw new IllegalArgumentException(source + " gives no label");
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String l : ls) {
            if (!seen.add(l)) { // the JSON output keys the probabilities by label: a repeat would hide one
                throw new IllegalArgumentException(source + " names \"" + l + "\" twice");
            }
        }
        if (template != null && !template.contains("{}")) {
            throw new IllegalArgumentException("--template must hold {} where the label goes, got \"" + template + "\"");
        }
        List<String> prompts = template == null ? ls : ls.stream().map(l -> template.replace("{}", l)).toList();
        if (batch <= 0) {
            throw new IllegalArgumentException("--batch must be > 0");
        }
        VisionInputs in = new VisionInputs(images);
        Device dev = device.resolve();
        try (ClipModel m = ClipModel.load(model, dev, dtype.resolve(dev), dtype.dynamicInt8(dev)); Tokenizer tok = m.tokenizer()) {
            int[][] ids = m.tokenize(tok, prompts);
            ImagePreprocessor pre = in.preprocessor(
                    () -> ClipModel.imagePreprocessor(model, m.vision().config().imageSize(), new ImageDecoder()),
                    imageBackend);
            int n = in.size();
            float[][] probs = new float[n][];
            for (int from = 0; from < n; from += batch) {
                int to = Math.min(n, from + batch);
                try (Tensor px = in.batch(from, to, pre, dev)) {
                    float[][] p = m.zeroShot(px, ids);
                    System.arraycopy(p, 0, probs, from, p.length);
                }
                if (n > batch) {
                    VisionInputs.progress(System.err, to, n);
                }
            }
            ObjectMapper om = new ObjectMapper();
            ArrayNode arr = om.createArrayNode();
            for (int i = 0; i < n; i++) {
                int best = 0;
                for (int j = 1; j < ls.size(); j++) {
                    best = probs[i][j] > probs[i][best] ? j : best;
                }
                if (json) {
                    ObjectNode o = arr.addObject();
                    o.put("image", in.names.get(i));
                    o.put("label", ls.get(best));
                    ObjectNode p = o.putObject("probs");
                    for (int j = 0; j < ls.size(); j++) {
                        p.put(ls.get(j), probs[i][j]);
                    }
                } else {
                    StringBuilder sb = new StringBuilder(in.names.get(i)).append(": ").append(ls.get(best));
                    for (int j = 0; j < ls.size(); j++) {
                        sb.append(String.format(Locale.ROOT, "%s%s=%.4f", j == 0 ? " (" : ", ", ls.get(j), probs[i][j]));
                    }
                    System.out.println(sb.append(')'));
                }
            }
            if (json) {
                System.out.println(arr.toPrettyString());
            }
        }
        return 0;
    }
}
