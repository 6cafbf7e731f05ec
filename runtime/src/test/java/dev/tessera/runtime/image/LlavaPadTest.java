package dev.tessera.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * transformers' {@code LlavaImageProcessor} with {@code do_pad}: the image centred on a square of colour
 * {@code int(image_mean * 255)} before resizing; other processor types ignore the key.
 */
class LlavaPadTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static RgbImage random(int w, int h, long seed) {
        byte[] px = new byte[w * h * 3];
        new SplittableRandom(seed).nextBytes(px);
        return new RgbImage(w, h, px);
    }

    private static ImagePreprocessor of(String json) throws Exception {
        JsonNode c = JSON.readTree(json);
        return ImagePreprocessor.of(c, 20, ImagePreprocessor.Style.CLIP, new ImageDecoder());
    }

    @Test
    void theImageIsCentredOnASquareOfTheMeanColour() throws Exception {
        ImagePreprocessor p = of("{\"image_processor_type\": \"LlavaImageProcessor\", \"do_pad\": true,"
                + " \"do_resize\": false, \"do_center_crop\": false, \"do_rescale\": false, \"do_normalize\": false,"
                + " \"image_mean\": [0.5, 0.25, 0.1]}");
        RgbImage img = random(3, 6, 1); // 3 wide, 6 high: columns 1..3 of a 6x6 square (floor((6 - 3) / 2) = 1)
        ImagePreprocessor.Result r = p.process(img);
        assertEquals(6, r.height());
        assertEquals(6, r.width());
        int[] bg = {127, 63, 25};
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 6; y++) {
                for (int x = 0; x < 6; x++) {
                    double want = x >= 1 && x < 4 ? img.get(x - 1, y, c) : bg[c];
                    assertEquals(want, r.chw()[(c * 6 + y) * 6 + x], 0, "c" + c + " y" + y + " x" + x);
                }
            }
        }
    }

    /** transformers 5 processors save the image processor nested in processor_config.json, no preprocessor_config. */
    @Test
    void theImageProcessorOfAProcessorConfigIsRead(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String ip = "{\"image_processor_type\": \"LlavaImageProcessor\", \"do_pad\": true, \"size\": {\"shortest_edge\": 20},"
                + " \"crop_size\": 20, \"resample\": 3}";
        java.nio.file.Files.writeString(dir.resolve("processor_config.json"), "{\"image_processor\": " + ip
                + ", \"image_token\": \"<image>\", \"patch_size\": 10}");
        RgbImage img = random(45, 30, 3);
        ImagePreprocessor fromFile = ImagePreprocessor.load(dir, 20, ImagePreprocessor.Style.CLIP, new ImageDecoder());
        assertArrayEquals(of(ip).process(img).chw(), fromFile.process(img).chw());
        java.nio.file.Files.writeString(dir.resolve("preprocessor_config.json"), "{\"size\": {\"shortest_edge\": 20},"
                + " \"crop_size\": 20}"); // a preprocessor_config.json, where present, is the one read
        assertArrayEquals(of("{\"size\": {\"shortest_edge\": 20}, \"crop_size\": 20}").process(img).chw(),
                ImagePreprocessor.load(dir, 20, ImagePreprocessor.Style.CLIP, new ImageDecoder()).process(img).chw());
    }

    @Test
    void paddingThenResizingEqualsResizingThePaddedImage() throws Exception {
        String rest = "\"size\": {\"shortest_edge\": 20}, \"crop_size\": 20, \"resample\": 3}";
        ImagePreprocessor padded = of("{\"image_processor_type\": \"LlavaImageProcessor\", \"do_pad\": true, " + rest);
        ImagePreprocessor plain = of("{\"image_processor_type\": \"LlavaImageProcessor\", " + rest);
        RgbImage img = random(45, 30, 2);
        int[] bg = {(int) (ImagePreprocessor.CLIP_MEAN[0] * 255), (int) (ImagePreprocessor.CLIP_MEAN[1] * 255),
            (int) (ImagePreprocessor.CLIP_MEAN[2] * 255)};
        byte[] sq = new byte[45 * 45 * 3];
        for (int y = 0; y < 45; y++) {
            for (int x = 0; x < 45; x++) {
                for (int c = 0; c < 3; c++) {
                    int yy = y - 7; // floor((45 - 30) / 2)
                    sq[(y * 45 + x) * 3 + c] = (byte) (yy >= 0 && yy < 30 ? img.get(x, yy, c) : bg[c]);
                }
            }
        }
        assertArrayEquals(plain.process(new RgbImage(45, 45, sq)).chw(), padded.process(img).chw());
        // a CLIPImageProcessor file with do_pad: the key is not CLIP's, nothing is padded
        ImagePreprocessor clip = of("{\"image_processor_type\": \"CLIPImageProcessor\", \"do_pad\": true, " + rest);
        assertArrayEquals(plain.process(img).chw(), clip.process(img).chw());
    }
}
