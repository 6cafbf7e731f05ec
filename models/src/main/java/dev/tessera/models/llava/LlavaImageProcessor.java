package dev.tessera.models.llava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.io.IOException;
import java.nio.file.Files;
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
        Path f = dir.resolve("preprocessor_config.json");
        ObjectMapper om = new ObjectMapper();
        ObjectNode c;
        try {
            c = Files.isRegularFile(f) ? (ObjectNode) om.readTree(f.toFile()) : om.createObjectNode();
        } catch (IOException | ClassCastException e) {
            throw new IllegalArgumentException(f + ": " + e.getMessage(), e);
        }
        if (!c.has("size")) {
            c.putObject("size").put("shortest_edge", imageSize);
        } else if (c.get("size").isInt()) { // CLIPImageProcessor reads a bare int as the shortest edge
            int s = c.get("size").intValue();
            c.putObject("size").put("shortest_edge", s);
        }
        if (!c.has("resample")) {
            c.put("resample", 3);
        }
        if (!c.has("do_center_crop")) {
            c.put("do_center_crop", true);
        }
        JsonNode node = c;
        return new LlavaImageProcessor(ImagePreprocessor.of(node, imageSize, ImagePreprocessor.CLIP_MEAN,
                ImagePreprocessor.CLIP_STD));
    }

    public int cropHeight() {
        return cropH;
    }

    public int cropWidth() {
        return cropW;
    }

    /** Decodes and preprocesses {@code files} into one F32 {@code [N, 3, crop_h, crop_w]} tensor. */
    public Tensor preprocess(List<Path> files, Device device) {
        return pre.preprocess(files, device);
    }
}
