package dev.tessera.models.llava;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.nio.file.Path;
import java.util.List;

/**
 * The image side of a LLaVA processor: the shared {@link ImagePreprocessor} (OpenCV decoding, Pillow-compatible
 * resampling) with {@code CLIPImageProcessor}'s defaults where {@code preprocessor_config.json} is silent
 * (shortest edge to the tower's image size, bicubic, center crop, CLIP mean/std). Output F32
 * {@code [N, 3, crop_h, crop_w]}.
 */
public final class LlavaImageProcessor {
    private final ImagePreprocessor pre;
    private final int cropH;
    private final int cropW;

    private LlavaImageProcessor(ImagePreprocessor pre) {
        this.pre = pre;
        this.cropH = pre.outputHeight();
        this.cropW = pre.outputWidth();
    }

    /**
     * The processor of a model directory: its {@code preprocessor_config.json}, or CLIP's defaults at the vision
     * tower's {@code image_size} when the file is absent.
     */
    public static LlavaImageProcessor load(Path dir, int imageSize) {
        // the same processor as the CLIP tower's (CLIPImageProcessor defaults where the config is silent)
        return new LlavaImageProcessor(dev.tessera.models.clip.ClipModel.imagePreprocessor(dir, imageSize,
                new dev.tessera.runtime.image.ImageDecoder()));
    }

    /** This processor with the pixels of transformers' {@code backend} image processors (see ImagePreprocessor). */
    public LlavaImageProcessor withBackend(ImagePreprocessor.Backend backend) {
        ImagePreprocessor p = pre.withBackend(backend);
        return p == pre ? this : new LlavaImageProcessor(p);
    }

    /**
     * The height of every preprocessed image: the centre crop's, else a fixed resize's; -1 when it follows the image
     * (no crop after a shortest-edge resize, or neither resize nor crop).
     */
    public int cropHeight() {
        return cropH;
    }

    /** The width of every preprocessed image, or -1 when it follows the image (as {@link #cropHeight()}). */
    public int cropWidth() {
        return cropW;
    }

    /** The underlying preprocessor (decoding and preprocessing one image at a time, from bytes too). */
    public ImagePreprocessor preprocessor() {
        return pre;
    }

    /** Decodes and preprocesses {@code files} into one F32 {@code [N, 3, crop_h, crop_w]} tensor. */
    public Tensor preprocess(List<Path> files, Device device) {
        return pre.preprocess(files, device);
    }
}
