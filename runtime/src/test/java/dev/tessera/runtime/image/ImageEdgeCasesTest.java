package dev.tessera.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        // reference: make_nearest_fixture.py (Pillow 9.4 Image.resize of a 13x17 and a 45x45 8-bit plane, filters
        // 0..5; the second holds hamming cases that Pillow's float window constants decide)
        JsonNode f = new ObjectMapper().readTree(ImageTest.fixture("resample_cases.json").toFile());
        assertEquals(24, f.get("cases").size());
        matchesPillow(grid(f.get("plane")), f.get("cases"));
        JsonNode sets = new ObjectMapper().readTree(ImageTest.fixture("resample_cases_45.json").toFile());
        assertEquals(3, sets.size());
        for (JsonNode set : sets) {
            matchesPillow(grid(set.get("plane")), set.get("cases"));
        }
    }

    private static void matchesPillow(int[][] plane, JsonNode cases) {
        for (JsonNode c : cases) {
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

    /** A JSON array of rows of ints as {@code int[rows][cols]}. */
    static int[][] grid(JsonNode rows) {
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
        // both size forms in one dict: transformers' get_size_dict refuses the key set, so does Tessera
        String both = "{\"size\": {\"shortest_edge\": 40, \"height\": 32, \"width\": 32}, \"do_center_crop\": false}";
        assertTrue(assertThrows(IllegalArgumentException.class, () -> run(both, vit)).getMessage()
                .contains("size must be"));
        // transformers 5 crops whenever do_center_crop is true, ViTImageProcessor included (its default: unset, no
        // crop): the crop is the centre of the uncropped output; a config naming no processor is a ViT's (no crop
        // by default); another ViT-family processor (DeiT's) crops by default where it gives a crop size
        String vit32 = "{\"image_processor_type\": \"ViTImageProcessor\", \"size\": {\"height\": 32, \"width\": 32}";
        ImagePreprocessor.Result full = run(vit32 + "}", vit);
        ImagePreprocessor.Result cropped = run(vit32 + ", \"do_center_crop\": true, \"crop_size\": {\"height\": 24,"
                + " \"width\": 20}}", vit);
        assertEquals(List.of(24, 20), List.of(cropped.height(), cropped.width()));
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 24; y++) {
                for (int x = 0; x < 20; x++) {
                    assertEquals(full.chw()[(c * 32 + y + 4) * 32 + x + 6], cropped.chw()[(c * 24 + y) * 20 + x]);
                }
            }
        }
        assertArrayEquals(full.chw(), run(vit32 + ", \"crop_size\": 24}", vit).chw());
        assertEquals(32, run("{\"size\": 32, \"crop_size\": 24}", vit).height());
        assertEquals(24, run("{\"image_processor_type\": \"DeiTImageProcessor\", \"size\": 32, \"crop_size\": 24}",
                vit).height());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> run(vit32 + ", \"do_center_crop\": true}", vit))
                .getMessage().contains("crop_size is missing"));
        // a ViT model's file naming no processor is ViTImageProcessor's: no default crop size either
        assertTrue(assertThrows(IllegalArgumentException.class, () -> run("{\"size\": 32, \"do_center_crop\": true}",
                vit)).getMessage().contains("crop_size is missing"));
        // a float resample is bilinear in transformers' Pillow backend, whatever its value
        assertArrayEquals(run(vit32 + ", \"resample\": 2}", vit).chw(), run(vit32 + ", \"resample\": 3.0}", vit).chw());
        // [height, width] lists and whole-number floats, as transformers reads them
        assertArrayEquals(cropped.chw(), run("{\"image_processor_type\": \"ViTImageProcessor\", \"size\": [32, 32],"
                + " \"do_center_crop\": true, \"crop_size\": [24, 20], \"resample\": 2.0}", vit).chw());
    }

    /**
     * The size dicts {shortest_edge, longest_edge} and {max_height, max_width} resize as transformers' resize does:
     * 400 random cases of image size and dict, sizes computed by transformers 5 (make_size_fixture.py).
     */
    @Test
    void sizeRulesMatchTransformers() throws Exception {
        JsonNode cases = new ObjectMapper().readTree(ImageTest.fixture("size_rules.json").toFile());
        assertEquals(400, cases.size());
        for (JsonNode c : cases) {
            ImagePreprocessor p = ImagePreprocessor.of(
                    new ObjectMapper().readTree("{\"size\": " + c.get("size") + ", \"do_center_crop\": false}"), 224,
                    ImagePreprocessor.Style.CLIP, new ImageDecoder());
            int wantH = c.get("out").get(0).intValue();
            int wantW = c.get("out").get(1).intValue();
            if (wantH < 1 || wantW < 1) { // an extreme aspect ratio: a side of 0, which transformers refuses too
                assertThrows(IllegalArgumentException.class,
                        () -> p.resizedSize(c.get("h").intValue(), c.get("w").intValue()), c.toString());
                continue;
            }
            int[] got = p.resizedSize(c.get("h").intValue(), c.get("w").intValue());
            assertEquals(List.of(wantH, wantW), List.of(got[0], got[1]), c.toString());
        }
        // and through process(): a 60x100 image with {shortest_edge 40, longest_edge 50} is resized to 30x50
        ImagePreprocessor.Result r = ImagePreprocessor.of(new ObjectMapper().readTree("{\"size\": {\"shortest_edge\": 40,"
                + " \"longest_edge\": 50}, \"do_center_crop\": false}"), 224, ImagePreprocessor.Style.CLIP,
                new ImageDecoder()).process(new RgbImage(100, 60, new byte[100 * 60 * 3]));
        assertEquals(List.of(30, 50), List.of(r.height(), r.width()));
    }

    /** A preprocessor_config.json transformers would refuse is refused, naming the key (not read as its defaults). */
    @Test
    void malformedPreprocessorConfigsAreRefused() throws Exception {
        for (String[] c : new String[][] {{"[1, 2]", "not a JSON object"}, {"{\"size\": {\"width\": 32}}", "size must be"},
                {"{\"size\": {\"longest_edge\": 32}}", "size must be"}, {"{\"size\": \"big\"}", "size must be"},
                {"{\"rescale_factor\": \"x\"}", "rescale_factor"}, {"{\"rescale_factor\": -1}", "rescale_factor"},
                {"{\"do_resize\": \"yes\"}", "do_resize"}, {"{\"do_normalize\": 1}", "do_normalize"},
                {"{\"crop_size\": \"a\"}", "crop_size"}, {"{\"resample\": 9}", "resample"}}) {
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
        ProcessBuilder pb = new ProcessBuilder(dev.tessera.runtime.testing.ChildJvm.command(
                DecodeDamaged.class.getName(), ImageTest.fixture("small.png").toString(),
                ImageTest.fixture("small.tiff").toString()));
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

    @Test
    void aBatchReportsItsFirstBadFileInListOrder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        // the files of a batch are decoded in parallel; the error is still the first bad file's, every time
        java.nio.file.Path good = ImageTest.fixture("chelsea.png");
        java.nio.file.Path empty = java.nio.file.Files.createFile(dir.resolve("empty.png"));
        java.nio.file.Path text = java.nio.file.Files.writeString(dir.resolve("notes.png"), "not an image");
        ImagePreprocessor p = ImagePreprocessor.of(new ObjectMapper().readTree(
                "{\"size\": {\"height\": 32, \"width\": 32}}"), 32, ImagePreprocessor.HALF, ImagePreprocessor.HALF);
        for (int round = 0; round < 10; round++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.preprocess(List.of(good, good, text, good, empty, good), dev.tessera.runtime.Device.CPU));
            assertTrue(e.getMessage().contains("notes.png"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> p.preprocess(List.of(empty, good, text), dev.tessera.runtime.Device.CPU));
            assertTrue(e.getMessage().contains("empty.png"), e.getMessage());
        }
        // and a good batch is each image's own result, in order
        try (dev.tessera.runtime.Tensor t = p.preprocess(List.of(good, good, good), dev.tessera.runtime.Device.CPU)) {
            float[] one = p.process(new ImageDecoder().decode(good)).chw();
            float[] all = t.toFloatArray();
            assertEquals(3 * one.length, all.length);
            for (int k = 0; k < 3; k++) {
                assertArrayEquals(one, java.util.Arrays.copyOfRange(all, k * one.length, (k + 1) * one.length));
            }
        }
    }
}
