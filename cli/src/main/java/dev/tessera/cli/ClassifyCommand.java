package dev.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.models.vit.ClassScores;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tessera classify IMAGE... --model DIR [--top K] [--batch N] [--device cpu|cuda] [--json]
 * [--logits-out FILE.npy]}: ViT image classification. IMAGE: files, folders, or one .npy of preprocessed pixels.
 * The probabilities shown are the softmax of the logits, or their sigmoid when the model has one class
 * ({@code num_labels: 1}) or is a multi-label classifier ({@code problem_type: multi_label_classification}), as
 * transformers' pipelines show them.
 */
@Command(name = "classify", description = "Classify images with a ViT checkpoint (ViTForImageClassification).")
final class ClassifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "Image files, folders, or one .npy of float32 [N,3,H,W] pixels.")
    List<String> images = new ArrayList<>();

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (config.json + safetensors).")
    Path model;

    @Option(names = "--top", defaultValue = "5", description = "Classes shown per image (default ${DEFAULT-VALUE}).")
    int top;

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

    @Option(names = "--logits-out", paramLabel = "FILE.npy", description = "Also write the logits (float32 [N, classes]).")
    Path logitsOut;

    @Option(names = "--max-pixels", defaultValue = "50000000", description = "Refuse larger images (default ${DEFAULT-VALUE}).")
    long maxPixels;

    @Override
    public Integer call() {
        if (top <= 0 || batch <= 0) {
            throw new IllegalArgumentException("--top and --batch must be > 0");
        }
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("--max-pixels must be > 0, got " + maxPixels);
        }
        VisionInputs in = new VisionInputs(images);
        Device dev = device.resolve();
        try (ViTForImageClassification m = ViTForImageClassification.load(model, dev, dtype.resolve(dev),
                dtype.dynamicInt8(dev))) {
            List<String> labels = m.config().labels();
            ImagePreprocessor pre = in.preprocessor(() -> ImagePreprocessor.load(model, m.config().imageSize(),
                    ImagePreprocessor.Style.VIT, new ImageDecoder(maxPixels)), imageBackend);
            int n = in.size();
            int c = labels.size();
            float[] all = new float[n * c];
            for (int from = 0; from < n; from += batch) {
                int to = Math.min(n, from + batch);
                try (Scope scope = Tessera.scope()) {
                    float[] l = m.logits(in.batch(from, to, pre, dev)).to(Device.CPU).toFloatArray();
                    System.arraycopy(l, 0, all, from * c, l.length);
                }
                if (n > batch) {
                    VisionInputs.progress(System.err, to, n);
                }
            }
            if (logitsOut != null) {
                try {
                    Npy.writeFloats(logitsOut, all, n, c);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + logitsOut + ": " + e.getMessage(), e);
                }
            }
            print(in.names, labels, all, c, ClassScores.sigmoidHead(model, c));
        }
        return 0;
    }

    private void print(List<String> names, List<String> labels, float[] all, int c, boolean sigmoid) {
        ObjectMapper om = new ObjectMapper();
        ArrayNode arr = om.createArrayNode();
        for (int i = 0; i < names.size(); i++) {
            // one class or multi-label: a sigmoid per class (as transformers' classification pipelines do; a softmax
            // of one class would always say 1.0)
            float[] p = ClassScores.probabilities(all, i * c, c, sigmoid);
            int[] order = ClassScores.top(p, top);
            int k = order.length;
            if (json) {
                ObjectNode o = arr.addObject();
                o.put("image", names.get(i));
                ArrayNode t = o.putArray("top");
                for (int j = 0; j < k; j++) {
                    t.addObject().put("label", labels.get(order[j])).put("index", order[j]).put("prob", p[order[j]]);
                }
            } else {
                StringBuilder sb = new StringBuilder(names.get(i)).append(':');
                for (int j = 0; j < k; j++) {
                    sb.append(String.format(Locale.ROOT, " %s %.4f", labels.get(order[j]), p[order[j]]));
                    sb.append(j + 1 < k ? "," : "");
                }
                System.out.println(sb);
            }
        }
        if (json) {
            System.out.println(arr.toPrettyString());
        }
    }
}
