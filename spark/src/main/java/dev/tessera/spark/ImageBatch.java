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
        int[] rows = new int[ok];
        if (ok == 0) {
            return new ImageBatch(rows, null);
        }
        int len = -1;
        int k = 0;
        float[] all = null;
        for (int i = 0; i < n; i++) {
            if (res[i] == null) {
                continue;
            }
            float[] chw = res[i].chw();
            if (all == null) {
                len = chw.length;
                all = new float[ok * len];
            }
            System.arraycopy(chw, 0, all, k * len, len);
            rows[k++] = i;
        }
        ImagePreprocessor.Result r0 = res[rows[0]];
        int c = len / (r0.height() * r0.width());
        return new ImageBatch(rows, Tensor.of(all, device, ok, c, r0.height(), r0.width()));
    }
}
