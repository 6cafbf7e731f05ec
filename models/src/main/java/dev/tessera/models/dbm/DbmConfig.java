package dev.tessera.models.dbm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Shape and training hyper-parameters of a {@link MultimodalDbn}; immutable, checked on construction.
 *
 * @param imageSize    pixels per image (784 for 28×28)
 * @param image1       first hidden layer of the image stack
 * @param image2       second hidden layer of the image stack (the image "top")
 * @param nMels        mel bands of the speech feature
 * @param frames       pooled frames of the speech feature (feature size = nMels · frames)
 * @param audio1       first hidden layer of the audio stack (Gaussian visible units below it)
 * @param audio2       second hidden layer of the audio stack (the audio "top")
 * @param joint        hidden units of the joint layer over [image top, audio top]
 * @param epochs       epochs of CD-1 per layer
 * @param batch        mini-batch size
 * @param learningRate learning rate of the binary layers (Gaussian layer: a tenth of it)
 * @param seed         seed of every random draw (initialisation, Philox chains, shuffles, augmentation)
 * @param shift        training augmentation, drawn afresh each epoch from the seed: every training image moved
 *                     by a random whole-pixel shift in [-shift, shift] along each axis (square images only), every
 *                     speech feature by a random shift in [-shift, shift] mel bands and pooled frames plus a
 *                     random log-gain in [-0.5, 0.5] (0: off)
 * @param jointEpochs  epochs of persistent CD (PCD-1, one persistent chain per batch row) of the joint layer
 */
public record DbmConfig(int imageSize, int image1, int image2, int nMels, int frames, int audio1, int audio2, int joint,
        int epochs, int batch, float learningRate, long seed, int shift, int jointEpochs) {

    /** As the canonical constructor with no augmentation ({@code shift = 0}) and {@code jointEpochs = epochs}. */
    public DbmConfig(int imageSize, int image1, int image2, int nMels, int frames, int audio1, int audio2, int joint,
            int epochs, int batch, float learningRate, long seed) {
        this(imageSize, image1, image2, nMels, frames, audio1, audio2, joint, epochs, batch, learningRate, seed, 0, epochs);
    }

    public DbmConfig {
        for (int v : new int[] {imageSize, image1, image2, nMels, frames, audio1, audio2, joint, epochs, batch, jointEpochs}) {
            if (v < 1) {
                throw new IllegalArgumentException("DbmConfig: every size, epochs and batch must be >= 1: " + this);
            }
        }
        if (shift < 0 || shift > 4) {
            throw new IllegalArgumentException("DbmConfig: shift must be in [0, 4] pixels, got " + shift);
        }
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("DbmConfig: learningRate must be finite and > 0, got " + learningRate);
        }
    }

    /**
     * The shipped configuration: 784→500→500, 40 mels × 20 frames→500→500, joint 1000; 30 epochs per stack
     * layer, shift 1, 15 PCD epochs of the joint layer.
     */
    public static DbmConfig defaults() {
        return new DbmConfig(784, 500, 500, 40, 20, 500, 500, 1000, 30, 100, 0.05f, 42L, 1, 15);
    }

    /** Speech feature size nMels · frames. */
    public int audioSize() {
        return nMels * frames;
    }

    public DbmConfig withEpochs(int e) {
        return new DbmConfig(imageSize, image1, image2, nMels, frames, audio1, audio2, joint, e, batch, learningRate, seed, shift, jointEpochs);
    }

    public DbmConfig withSeed(long s) {
        return new DbmConfig(imageSize, image1, image2, nMels, frames, audio1, audio2, joint, epochs, batch, learningRate, s, shift, jointEpochs);
    }

    public DbmConfig withShift(int s) {
        return new DbmConfig(imageSize, image1, image2, nMels, frames, audio1, audio2, joint, epochs, batch, learningRate, seed, s, jointEpochs);
    }

    public DbmConfig withJointEpochs(int e) {
        return new DbmConfig(imageSize, image1, image2, nMels, frames, audio1, audio2, joint, epochs, batch, learningRate, seed, shift, e);
    }

    /** Writes this as JSON. */
    public void write(Path file) throws IOException {
        ObjectMapper m = new ObjectMapper();
        ObjectNode n = m.createObjectNode();
        n.put("model_type", "multimodal_dbn");
        n.put("image_size", imageSize).put("image1", image1).put("image2", image2);
        n.put("n_mels", nMels).put("frames", frames).put("audio1", audio1).put("audio2", audio2).put("joint", joint);
        n.put("epochs", epochs).put("batch", batch).put("learning_rate", learningRate).put("seed", seed);
        n.put("shift", shift).put("joint_epochs", jointEpochs);
        Files.writeString(file, m.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n");
    }

    /** Reads a config written by {@link #write}; a missing key is an {@link IllegalArgumentException}. */
    public static DbmConfig read(Path file) throws IOException {
        JsonNode n = new ObjectMapper().readTree(file.toFile());
        return new DbmConfig(i(n, "image_size", file), i(n, "image1", file), i(n, "image2", file), i(n, "n_mels", file),
                i(n, "frames", file), i(n, "audio1", file), i(n, "audio2", file), i(n, "joint", file),
                i(n, "epochs", file), i(n, "batch", file), (float) n.path("learning_rate").asDouble(0.05),
                n.path("seed").asLong(42), n.path("shift").asInt(0), n.path("joint_epochs").asInt(i(n, "epochs", file)));
    }

    private static int i(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException(file + ": missing or non-integer \"" + key + "\"");
        }
        return v.asInt();
    }
}
