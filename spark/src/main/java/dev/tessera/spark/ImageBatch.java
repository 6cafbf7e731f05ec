package dev.tessera.spark;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.util.List;

/** Encoded images of a batch decoded and preprocessed one by one (a failure stays that row's), then stacked. */
final class ImageBatch {
    /** Row of each stacked image in the batch's inputs. */
    final int[] rows;
    /** The stacked pixels {@code [n, C, H, W]} on the device, or null when no image of the batch decoded. */
    final Tensor pixels;

    private ImageBatch(int[] rows, Tensor pixels) {
        this.rows = rows;
        this.pixels = pixels;
    }

    /**
     * Decodes and preprocesses {@code inputs} (encoded image bytes) with {@code pre}; a row whose image cannot be
     * decoded, is too large or is refused by the preprocessor gets its one-line reason in {@code errors}. The tensor
     * belongs to the caller's scope.
     */
    static ImageBatch of(List<Object> inputs, List<String> names, ImagePreprocessor pre, Device device,
            String[] errors) {
        ImageDecoder decoder = pre.decoder();
        int n = inputs.size();
        ImagePreprocessor.Result[] res = new ImagePreprocessor.Result[n];
        int ok = 0;
        for (int i = 0; i < n; i++) {
            try {
                res[i] = pre.process(decoder.decode((byte[]) inputs.get(i), names.get(i)));
                ok++;
            } catch (IllegalArgumentException | IllegalStateException e) {
                errors[i] = e.getMessage();
            }
        }
        // every image of a batch must come out at one size (a crop or a fixed resize gives that); a preprocessor that
        // keeps the aspect ratio (shortest edge, no crop) does not, and the vision models need their fixed size anyway
        ImagePreprocessor.Result first = null;
        for (int i = 0; i < n; i++) {
            if (res[i] == null) {
                continue;
            }
            if (first == null) {
                first = res[i];
            } else if (res[i].height() != first.height() || res[i].width() != first.width()
                    || res[i].chw().length != first.chw().length) {
                errors[i] = "image " + names.get(i) + " preprocesses to " + res[i].height() + "x" + res[i].width()
                        + ", not " + first.height() + "x" + first.width() + " as the batch's first image: the model's"
                        + " preprocessing does not give one size (no crop or fixed resize in preprocessor_config.json)";
                res[i] = null;
                ok--;
            }
        }
        int[] rows = new int[ok];
        if (ok == 0) {
            return new ImageBatch(rows, null);
        }
        int len = first.chw().length;
        int k = 0;
        float[] all = new float[ok * len];
        for (int i = 0; i < n; i++) {
            if (res[i] == null) {
                continue;
            }
            System.arraycopy(res[i].chw(), 0, all, k * len, len);
            rows[k++] = i;
        }
        int c = len / (first.height() * first.width());
        return new ImageBatch(rows, Tensor.of(all, device, ok, c, first.height(), first.width()));
    }
}
