package dev.tessera.cli;

import dev.tessera.models.clip.ClipModel;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.DType;
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
import java.util.List;
import java.util.Locale;

/** The CLIP side of {@code tessera embed}: projected image or text features (not normalised), float32 [N, dim]. */
final class ClipEmbed {
    private ClipEmbed() {}

    static int run(Path model, List<String> texts, List<String> images, Path out, Device dev, DType dtype,
            boolean dynamicInt8, int batch, VisionInputs.BackendOption backend) {
        if (texts.isEmpty() == images.isEmpty()) {
            throw new IllegalArgumentException("give either --image ... or --text ... for a CLIP model, not both or neither");
        }
        if (batch <= 0) {
            throw new IllegalArgumentException("--batch-size must be > 0");
        }
        try (ClipModel m = ClipModel.load(model, dev, dtype, dynamicInt8)) {
            int d = m.projectionDim();
            float[] flat;
            int n;
            if (!images.isEmpty()) {
                VisionInputs in = new VisionInputs(images);
                ImagePreprocessor pre = in.preprocessor(
                    () -> ClipModel.imagePreprocessor(model, m.vision().config().imageSize(), new ImageDecoder()),
                    backend);
                n = in.size();
                flat = new float[n * d];
                for (int from = 0; from < n; from += batch) {
                    int to = Math.min(n, from + batch);
                    try (Scope scope = Tessera.scope()) {
                        float[] f = m.imageEmbeds(in.batch(from, to, pre, dev)).to(Device.CPU).to(DType.F32).toFloatArray();
                        System.arraycopy(f, 0, flat, from * d, (to - from) * d);
                    }
                }
            } else {
                try (Tokenizer tok = m.tokenizer(); Scope scope = Tessera.scope()) {
                    n = texts.size();
                    flat = m.textEmbeds(m.tokenize(tok, texts)).to(Device.CPU).to(DType.F32).toFloatArray();
                }
            }
            if (out != null) {
                try {
                    Npy.writeFloats(out, flat, n, d);
                } catch (IOException ex) {
                    throw new UncheckedIOException("cannot write " + out + ": " + ex.getMessage(), ex);
                }
                System.out.printf("%d %s -> %s float32 [%d, %d] (%s, %s)%n", n, images.isEmpty() ? "text(s)" : "image(s)",
                        out, n, d, model, dev);
            } else {
                for (int i = 0; i < n; i++) {
                    StringBuilder sb = new StringBuilder();
                    for (int j = 0; j < d; j++) {
                        sb.append(j == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.6f", flat[i * d + j]));
                    }
                    System.out.println(sb);
                }
            }
        }
        return 0;
    }
}
