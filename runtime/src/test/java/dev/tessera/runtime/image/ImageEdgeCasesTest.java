package dev.tessera.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Regressions found by the QA pass (docs/verification.md): Pillow's nearest-neighbour indices where
 * {@code (x + 0.5) * in / out} is an exact integer, and a bare int {@code size} read as transformers reads it
 * (square for ViT-style processors, shortest edge for CLIP-style ones).
 */
class ImageEdgeCasesTest {
    private final ImageDecoder decoder = new ImageDecoder();

    @Test
    void nearestIndicesMatchPillow() throws Exception {
        // reference: src/test/resources/image/make_nearest_fixture.py (Pillow 9.4 Image.resize NEAREST)
        JsonNode cases = new ObjectMapper().readTree(ImageTest.fixture("nearest_index.json").toFile());
        assertEquals(10, cases.size());
        for (JsonNode c : cases) {
            int in = c.get("in").intValue();
            int out = c.get("out").intValue();
            int[] ref = new int[out];
            for (int i = 0; i < out; i++) {
                ref[i] = c.get("index").get(i).intValue();
            }
            assertArrayEquals(ref, PillowResample.nearestIndex(in, out), in + " -> " + out);
            // and through resize() on a plane whose values are their column index
            int[][] plane = new int[2][in];
            for (int x = 0; x < in; x++) {
                plane[0][x] = plane[1][x] = x;
            }
            assertArrayEquals(ref, PillowResample.resize(plane, 2, out, 0)[1], in + " -> " + out + " via resize");
        }
    }

    @Test
    void everyPillowFilterMatchesPillowExactly() throws Exception {
        // reference: make_nearest_fixture.py (Pillow 9.4 Image.resize of one 13x17 8-bit plane, filters 0..5)
        JsonNode f = new ObjectMapper().readTree(ImageTest.fixture("resample_cases.json").toFile());
        int[][] plane = grid(f.get("plane"));
        assertEquals(24, f.get("cases").size());
        for (JsonNode c : f.get("cases")) {
            int resample = c.get("resample").intValue();
            int h = c.get("height").intValue();
            int w = c.get("width").intValue();
            int[][] ref = grid(c.get("out"));
            int[][] out = PillowResample.resize(plane, h, w, resample);
            for (int y = 0; y < h; y++) {
                assertArrayEquals(ref[y], out[y], "resample " + resample + " to " + h + "x" + w + ", row " + y);
            }
        }
    }

    private static int[][] grid(JsonNode rows) {
        int[][] g = new int[rows.size()][];
        for (int y = 0; y < g.length; y++) {
            g[y] = new int[rows.get(y).size()];
            for (int x = 0; x < g[y].length; x++) {
                g[y][x] = rows.get(y).get(x).intValue();
            }
        }
        return g;
    }

    private ImagePreprocessor.Result run(String json) throws Exception {
        ImagePreprocessor p = ImagePreprocessor.of(new ObjectMapper().readTree(json), 224, ImagePreprocessor.HALF,
                ImagePreprocessor.HALF);
        return p.process(decoder.decode(ImageTest.fixture("chelsea.png")));
    }

    @Test
    void intSizeIsSquareForViTAndShortestEdgeForClip() throws Exception {
        // chelsea.png is 451 x 300 (w x h)
        ImagePreprocessor.Result vit = run("{\"size\": 56, \"feature_extractor_type\": \"ViTFeatureExtractor\"}");
        ImagePreprocessor.Result plain = run("{\"size\": 56}");
        ImagePreprocessor.Result hw = run("{\"size\": {\"height\": 56, \"width\": 56}}");
        assertEquals(List.of(56, 56), List.of(vit.height(), vit.width()));
        assertArrayEquals(hw.chw(), vit.chw());
        assertArrayEquals(hw.chw(), plain.chw());
        ImagePreprocessor.Result clip = run("{\"size\": 56, \"image_processor_type\": \"CLIPImageProcessor\","
                + " \"do_center_crop\": false}");
        ImagePreprocessor.Result se = run("{\"size\": {\"shortest_edge\": 56}, \"do_center_crop\": false,"
                + " \"image_processor_type\": \"CLIPImageProcessor\"}");
        assertEquals(List.of(56, 84), List.of(clip.height(), clip.width()));
        assertArrayEquals(se.chw(), clip.chw());
    }

    private ImagePreprocessor.Result run(String json, ImagePreprocessor.Style model) throws Exception {
        ImagePreprocessor p = ImagePreprocessor.of(new ObjectMapper().readTree(json), 48, model, decoder);
        return p.process(decoder.decode(ImageTest.fixture("chelsea.png")));
    }

    /**
     * The processor type a preprocessor_config.json names sets what it leaves out, whatever the model (transformers
     * builds that class): a ViT with a CLIPImageProcessor file gets CLIP's shortest edge, bicubic, centre crop and
     * mean / std; a CLIP with a ViTImageProcessor file a bilinear square and mean / std 0.5. Without a type, the
     * model's family decides. Each compared with the same settings spelled out in full.
     */
    @Test
    void theProcessorTypeInTheFileChoosesTheDefaults() throws Exception {
        String clipFull = "{\"size\": {\"shortest_edge\": 48}, \"crop_size\": 48, \"do_center_crop\": true,"
                + " \"resample\": 3, \"image_mean\": [0.48145466, 0.4578275, 0.40821073],"
                + " \"image_std\": [0.26862954, 0.26130258, 0.27577711]}";
        String vitFull = "{\"size\": {\"height\": 32, \"width\": 32}, \"resample\": 2, \"image_mean\": 0.5,"
                + " \"image_std\": 0.5}";
        ImagePreprocessor.Style vit = ImagePreprocessor.Style.VIT;
        ImagePreprocessor.Style clip = ImagePreprocessor.Style.CLIP;
        float[] wantClip = run(clipFull, vit).chw();
        assertArrayEquals(wantClip, run("{\"image_processor_type\": \"CLIPImageProcessor\"}", vit).chw());
        assertArrayEquals(wantClip, run("{}", clip).chw());
        float[] wantVit = run(vitFull, vit).chw();
        assertArrayEquals(wantVit, run("{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 32}", clip)
                .chw());
        assertArrayEquals(wantVit, run("{\"size\": 32}", vit).chw());
        // both size forms: ViTImageProcessor resizes to height x width, CLIPImageProcessor by the shortest edge
        String both = "{\"size\": {\"shortest_edge\": 40, \"height\": 32, \"width\": 32}, \"do_center_crop\": false}";
        assertEquals(List.of(32, 32), List.of(run(both, vit).height(), run(both, vit).width()));
        assertEquals(List.of(40, 60), List.of(run(both, clip).height(), run(both, clip).width()));
        // ViTImageProcessor has no centre crop: a crop size in its file is ignored, as transformers ignores it; a
        // file that names no class (a DeiT-style ViT processor) crops when it gives one
        assertArrayEquals(wantVit, run("{\"image_processor_type\": \"ViTImageProcessor\", \"size\": 32,"
                + " \"crop_size\": 24, \"do_center_crop\": true}", vit).chw());
        assertEquals(24, run("{\"size\": 32, \"crop_size\": 24}", vit).height());
    }

    /** A preprocessor_config.json transformers would refuse is refused, naming the key (not read as its defaults). */
    @Test
    void malformedPreprocessorConfigsAreRefused() throws Exception {
        for (String[] c : new String[][] {{"[1, 2]", "not a JSON object"}, {"{\"size\": {\"width\": 32}}", "size must be"},
                {"{\"size\": {\"longest_edge\": 32}}", "size must be"}, {"{\"size\": \"big\"}", "size must be"},
                {"{\"rescale_factor\": \"x\"}", "rescale_factor"}, {"{\"rescale_factor\": -1}", "rescale_factor"},
                {"{\"do_resize\": \"yes\"}", "do_resize"}, {"{\"do_normalize\": 1}", "do_normalize"},
                {"{\"crop_size\": \"a\"}", "crop_size"}, {"{\"resample\": 2.5}", "resample"}}) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> run(c[0], ImagePreprocessor.Style.VIT), c[0]);
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
    }

    /**
     * A damaged image is an exception and nothing else: OpenCV's own log (libpng's "PNG input buffer is incomplete",
     * libtiff's warnings), which it writes to the process's stderr where no Java stream can catch it, is off
     * (ImageDecoder.quietOpenCvLog). Checked in a child JVM, whose whole stderr must stay empty.
     */
    @Test
    void damagedImagesWriteNothingToStderr() throws Exception {
        String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
                DecodeDamaged.class.getName(), ImageTest.fixture("small.png").toString(),
                ImageTest.fixture("small.tiff").toString());
        pb.environment().remove("OPENCV_LOG_LEVEL");
        Process p = pb.start();
        byte[] err = p.getErrorStream().readAllBytes();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out + new String(err, java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(List.of("refused: cannot decode image truncated.png: truncated or corrupt PNG data",
                "refused: cannot decode image damaged.tiff: truncated or corrupt TIFF data"), out.lines().toList());
        assertEquals("", new String(err, java.nio.charset.StandardCharsets.UTF_8), "stderr of the decodes");
    }

    /** The child JVM of {@link #damagedImagesWriteNothingToStderr}: a cut PNG and a TIFF with a zeroed directory. */
    public static final class DecodeDamaged {
        public static void main(String[] a) throws Exception {
            byte[] png = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(a[0]));
            byte[] tiff = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(a[1]));
            java.util.Arrays.fill(tiff, 100, 140, (byte) 0);
            ImageDecoder d = new ImageDecoder();
            for (Object[] c : new Object[][] {{java.util.Arrays.copyOf(png, 1500), "truncated.png"},
                {tiff, "damaged.tiff"}}) {
                try {
                    d.decode((byte[]) c[0], (String) c[1]);
                    System.out.println("decoded " + c[1]);
                } catch (IllegalArgumentException e) {
                    System.out.println("refused: " + e.getMessage());
                }
            }
        }
    }
}
