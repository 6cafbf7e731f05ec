package dev.tessera.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * OpenCV decoding (formats, EXIF orientation, gray/alpha, 1x1, limits, bad files) and Pillow-compatible
 * preprocessing vs references made with Pillow by src/test/resources/image/make_fixtures.py.
 */
class ImageTest {
    static Path fixture(String name) {
        try {
            return Paths.get(ImageTest.class.getResource("/image/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private final ImageDecoder decoder = new ImageDecoder();

    static int[] pixels(RgbImage img) {
        int[] out = new int[img.rgb().length];
        for (int i = 0; i < out.length; i++) {
            out[i] = img.rgb()[i] & 0xFF;
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"small.png", "small.bmp", "small.tiff", "small.webp"})
    void losslessFormatsDecodeExactly(String name) throws Exception {
        RgbImage img = decoder.decode(fixture(name));
        assertEquals(24, img.width());
        assertEquals(16, img.height());
        assertArrayEquals(Npy.read(fixture("small_rgb.npy")).ints(), pixels(img), name);
    }

    static double meanAbs(int[] a, int[] b) {
        assertEquals(a.length, b.length);
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s / a.length;
    }

    @Test
    void exifOrientationGrayAndAlpha() throws Exception {
        RgbImage e = decoder.decode(fixture("exif6.jpg"));
        assertEquals(16, e.width(), "EXIF orientation 6 transposes 24x16 to 16x24");
        assertEquals(24, e.height());
        double d = meanAbs(Npy.read(fixture("exif6_rgb.npy")).ints(), pixels(e));
        System.out.printf("exif6.jpg: mean abs diff vs Pillow %.3f%n", d);
        assertTrue(d < 1.0, "JPEG decode differs from Pillow by " + d);
        assertArrayEquals(Npy.read(fixture("gray_rgb.npy")).ints(), pixels(decoder.decode(fixture("gray.png"))));
        assertArrayEquals(Npy.read(fixture("rgba_rgb.npy")).ints(), pixels(decoder.decode(fixture("rgba.png"))));
        RgbImage one = decoder.decode(fixture("one.png"));
        assertArrayEquals(new int[] {10, 200, 30}, pixels(one));
    }

    /** Gray + alpha TIFFs with each Orientation 2..8 turned upright as transformers' load_image turns them. */
    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8})
    void alphaTiffsAreTurnedUprightAsLoadImage(int orientation) throws Exception {
        String name = "alpha_la_o" + orientation + ".tiff";
        RgbImage img = decoder.decode(fixture(name));
        assertEquals(orientation >= 5 ? List.of(5, 7) : List.of(7, 5), List.of(img.width(), img.height()), name);
        assertArrayEquals(Npy.read(fixture(name.replace(".tiff", "_rgb.npy"))).ints(), pixels(img), name);
    }

    /**
     * Files OpenCV alone decodes unlike Pillow, as Pillow's {@code convert("RGB")} gives them: TIFFs with unassociated
     * alpha (Pillow's RGBA / LA, raw and LZW; make_alpha_tiff_fixture.py): the colours as stored, where OpenCV's
     * libtiff path premultiplied them by alpha (a transparent pixel came out black); RGBA TIFFs with associated alpha:
     * divided back by alpha as Pillow's RGBa, where OpenCV kept them premultiplied; 16-bit BMPs (5-5-5, 5-6-5;
     * make_bmp16_fixture.py): channels widened as Pillow widens them, where OpenCV shifted them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"alpha_rgba.tiff", "alpha_rgba_lzw.tiff", "alpha_la.tiff", "alpha_rgba_assoc.tiff",
        "alpha_rgba_assoc_lzw.tiff", "bmp16_555.bmp", "bmp16_565_bitfields.bmp", "bmp16_555_bitfields.bmp"})
    void decodesAsPillowWhereOpenCvDiffers(String name) throws Exception {
        String ref = name.substring(0, name.lastIndexOf('.')) + "_rgb.npy";
        assertArrayEquals(Npy.read(fixture(ref)).ints(), pixels(decoder.decode(fixture(name))), name);
    }

    /**
     * Run-length encoded BMPs and OS/2 1.x BMPs (make_bmp_rle_fixture.py) as Pillow's {@code convert("RGB")} gives them:
     * RLE8 / RLE4 rows padded past an odd width as ImageMagick writes them, deltas, an end of line in mid-row, runs
     * past the row's end, odd absolute runs, identity gray ramps, a palette shorter than its indices, top-down, a data
     * offset that says "right after the header". OpenCV refused most of them; OS/2 headers were read as Windows ones
     * (a size of billions of pixels). A stream that ends before the image is full is refused, as Pillow refuses it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"rle8_odd.bmp", "rle4_odd.bmp", "rle8_topdown.bmp", "rle8_gray.bmp", "rle4_gray.bmp",
        "rle8_short_palette.bmp", "rle8_edges.bmp", "rle4_edges.bmp", "rle8_offset_after_header.bmp", "os2_24.bmp",
        "os2_pal8.bmp"})
    void rleAndOs2BmpsDecodeAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.replace(".bmp", "_rgb.npy"), null);
        assertRefused("rle8_truncated.bmp", "truncated or corrupt BMP data");
    }

    /**
     * TIFFs whose samples OpenCV's libtiff path converts unlike Pillow, as Pillow's {@code convert("RGB")} gives them.
     * make_cmyk_tiff_fixture.py: CMYK raw, LZW, deflate, PackBits and 16-bit, converted with Pillow's rounding where
     * libtiff truncated (a third of the pixels one level off; 16-bit refused); 2- and 4-bit gray, BlackIsZero and
     * WhiteIsZero, widened as Pillow widens it and turned upright by its Orientation, where OpenCV refused them.
     * make_tiff_layouts_fixture.py, files the JDK's own TIFF reader did not read: 16-bit RGBA with unassociated and
     * associated alpha and 16-bit CMYK, each deflated with the horizontal predictor; CMYK BigTIFF; CMYK with JPEG
     * compression; 4-bit gray with FillOrder 2 (OpenCV alone premultiplied the RGBA colours and refused the rest).
     */
    @ParameterizedTest
    @ValueSource(strings = {"cmyk.tiff", "cmyk_lzw.tiff", "cmyk_deflate.tiff", "cmyk_packbits.tiff", "cmyk16.tiff",
        "gray2.tiff", "gray4.tiff", "gray2_whiteiszero.tiff", "gray4_whiteiszero.tiff", "gray4_o3.tiff",
        "rgba16_predictor.tiff", "rgba16_assoc_predictor.tiff", "cmyk16_predictor.tiff", "cmyk_bigtiff.tiff",
        "cmyk_jpeg.tiff", "gray4_fillorder2.tiff"})
    void tiffSamplesDecodeAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.replace(".tiff", "_tiff_rgb.npy"), null);
    }

    /**
     * BigTIFF (make_bigtiff_fixture.py: 8-byte offsets, 20-byte entries), which was refused as not a TIFF file:
     * little-endian plain and with Orientation 6 (turned upright) and big-endian, each the stored pixels.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bigtiff_rgb.tiff", "bigtiff_o6.tiff", "bigtiff_be.tiff"})
    void bigTiffsDecode(String name) throws Exception {
        boolean turned = name.equals("bigtiff_o6.tiff");
        assertPillowPixels(name, turned ? "bigtiff_o6_rgb.npy" : "bigtiff_rgb.npy", turned ? List.of(6, 11) : List.of(11, 6));
    }

    /**
     * Netpbm files (make_pnm_fixture.py) as Pillow's {@code convert("RGB")} gives them: plain and binary bitmaps, plain
     * gray (maxval 1000) and colour (15) with comments between samples, binary gray with maxval 255, 2, 100, 4095 and
     * 65535, binary colour with 255 and 65535. OpenCV alone left other maxvals unscaled and took 16-bit samples' high
     * byte. A cut binary file, a stray character in a plain bitmap and a sample above maxval are refused, as Pillow
     * refuses them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"pnm_p1.pbm", "pnm_p4_odd.pbm", "pnm_p2_1000.pgm", "pnm_p3_15.ppm", "pnm_p5_255.pgm",
        "pnm_p5_2.pgm", "pnm_p5_100.pgm", "pnm_p5_4095.pgm", "pnm_p5_65535.pgm", "pnm_p6_255.ppm", "pnm_p6_65535.ppm"})
    void pnmDecodesAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.substring(0, name.lastIndexOf('.')) + "_rgb.npy", List.of(9, 5));
        assertRefused("pnm_p6_truncated.ppm", "truncated or corrupt PNM data");
        assertRefused("pnm_p1_stray.pbm", "where 0 or 1 belongs");
        assertRefused("pnm_p3_above.ppm", "is above maxval 15");
    }

    /**
     * AVIF (make_avif_fixture.py) as transformers' {@code load_image} gives it with Pillow 12.3 (libavif, libyuv's
     * conversion): 4:2:0 full and limited range, 4:2:2, 4:4:4, monochrome, alpha dropped, BT.709 and BT.2020 matrices,
     * odd sizes, and {@code irot} / {@code imir} turned upright. A 10-bit file and a cut one are refused with a message.
     */
    @ParameterizedTest
    @ValueSource(strings = {"avif_420_full.avif", "avif_420_limited.avif", "avif_422_full.avif", "avif_444_limited.avif",
        "avif_400_limited.avif", "avif_alpha.avif", "avif_709_420_limited.avif", "avif_2020_422_full.avif",
        "avif_irot1.avif", "avif_imir0.avif"})
    void avifDecodesAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.replace(".avif", "_rgb.npy"),
                name.equals("avif_irot1.avif") ? List.of(17, 23) : List.of(23, 17));
        assertRefused("avif_10bit.avif", "yuv444p10le are not supported");
        assertRefused("avif_truncated.avif", "truncated or corrupt AVIF");
    }

    /**
     * GIFs (make_gif_fixture.py) as Pillow's {@code convert("RGB")} gives their first frame: palettes adaptive, gray
     * and 1-bit, interlaced or not, GIF87a, two frames, a local colour table, a frame inside a larger screen, and a
     * transparent index, whose pixels (and the screen around the frame) take that index's palette colour where
     * OpenCV alone gives the background colour.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gif_palette.gif", "gif_15rows.gif", "gif_gray.gif", "gif_1bit.gif", "gif_frames.gif",
        "gif_87a.gif", "gif_transparent.gif", "gif_gray_transparent.gif", "gif_offset.gif",
        "gif_offset_transparent.gif", "gif_local_table.gif"})
    void gifsDecodeAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.replace(".gif", "_rgb.npy"), null);
    }

    /**
     * CMYK and YCCK JPEGs (make_cmyk_fixture.py) as Pillow's {@code convert("RGB")} gives them after transformers'
     * {@code exif_transpose}, where OpenCV's own CMYK conversion left most pixels one level off: plain, progressive,
     * without an Adobe segment, EXIF-rotated, YCCK full size and subsampled. A truncated one is refused.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cmyk.jpg", "cmyk_progressive.jpg", "cmyk_noadobe.jpg", "cmyk_exif6.jpg", "ycck.jpg",
        "ycck420.jpg"})
    void cmykJpegsDecodeAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.replace(".jpg", "_rgb.npy"),
                name.equals("cmyk_exif6.jpg") ? List.of(31, 47) : List.of(47, 31));
        assertRefused("cmyk_truncated.jpg", "truncated or corrupt JPEG");
    }

    /**
     * 16-bit images (make_gray16_fixture.py) as Pillow's {@code convert("RGB")} gives them: grayscale PNG / TIFF
     * samples clipped to 255 (Pillow's {@code I;16}), where OpenCV took their high byte; RGB and gray + alpha keep
     * the high byte in both.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gray16.png", "gray16_low.png", "gray16_rgb.png", "gray16_la.png", "gray16.tiff",
        "gray16_low_lzw.tiff"})
    void sixteenBitImagesDecodeAsPillow(String name) throws Exception {
        assertPillowPixels(name, name.replace(".png", "_png_rgb.npy").replace(".tiff", "_tiff_rgb.npy"), List.of(17, 13));
    }

    /**
     * Decodes fixture {@code name} and asserts Pillow's pixels from {@code ref} (an int array [height, width, 3]), the
     * size that array has and, where given, {@code size} (width, height).
     */
    private void assertPillowPixels(String name, String ref, List<Integer> size) throws Exception {
        Npy.Array r = Npy.read(fixture(ref));
        RgbImage img = decoder.decode(fixture(name));
        List<Integer> got = List.of(img.width(), img.height());
        assertEquals(List.of((int) r.shape()[1], (int) r.shape()[0]), got, name);
        if (size != null) {
            assertEquals(size, got, name);
        }
        assertArrayEquals(r.ints(), pixels(img), name);
    }

    /** Decoding fixture {@code name} is an IllegalArgumentException whose message holds {@code text}. */
    private void assertRefused(String name, String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(fixture(name)));
        assertTrue(e.getMessage().contains(text), name + ": " + e.getMessage());
    }

    @Test
    void badFilesGiveClearErrors() throws Exception {
        String[][] cases = {{"empty.png", "empty"}, {"text.png", "not a JPEG, PNG"}, {"truncated.png", "truncated"},
            {"huge.png", "more than the limit"}, {"nope.png", "not found"},
            {"float.tiff", "floating-point TIFF samples are not supported"}};
        for (String[] c : cases) {
            Path p = c[0].equals("nope.png") ? fixture("one.png").resolveSibling("nope.png") : fixture(c[0]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(p), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ImageDecoder(100).decode(fixture("small.png")));
        assertTrue(e.getMessage().contains("384 pixels"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> decoder.decode(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, "x.jpg"));
        byte[] noIhdr = "\u0089PNG\r\n\u001a\nthis is not a png".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(noIhdr, "x.png"));
        assertTrue(e.getMessage().contains("corrupt PNG header"), e.getMessage());
    }

    private static void compare(String json, String ref, double maxAbsTol, double meanAbsTol) throws Exception {
        ImagePreprocessor p = ImagePreprocessor.of(new ObjectMapper().readTree(json), 224, ImagePreprocessor.HALF,
                ImagePreprocessor.HALF);
        Npy.Array r = Npy.read(fixture(ref));
        try (Tensor t = p.preprocess(List.of(fixture("chelsea.png")), Device.CPU)) {
            assertArrayEquals(r.shape(), t.shape());
            float[] out = t.toFloatArray();
            float[] rf = r.requireFloats();
            double max = 0;
            double sum = 0;
            for (int i = 0; i < out.length; i++) {
                double d = Math.abs(out[i] - rf[i]);
                assertTrue(!Double.isNaN(d));
                max = Math.max(max, d);
                sum += d;
            }
            System.out.printf("%s: max abs diff vs Pillow %.4f, mean %.5f%n", ref, max, sum / out.length);
            assertTrue(max <= maxAbsTol, ref + " max abs " + max);
            assertTrue(sum / out.length <= meanAbsTol, ref + " mean abs " + sum / out.length);
        }
    }

    @Test
    void preprocessingMatchesPillowOnAPhoto() throws Exception {
        // one 8-bit level = 2/255 = 0.0078 after (x/255 - 0.5)/0.5
        compare("{\"size\": {\"shortest_edge\": 64}, \"resample\": 3, \"do_center_crop\": true, \"crop_size\": 56}",
                "chelsea_s64_bicubic_c56.npy", 0.0079, 0.001);
        compare("{\"size\": {\"height\": 40, \"width\": 48}, \"resample\": 2, \"do_center_crop\": false}",
                "chelsea_40x48_bilinear.npy", 0.0079, 0.001);
        compare("{\"size\": {\"height\": 30, \"width\": 20}, \"resample\": 0}", "chelsea_30x20_nearest.npy", 1e-6, 1e-6);
    }

    @ParameterizedTest
    @ValueSource(strings = {"astronaut:/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
        "coffee:/usr/lib/python3/dist-packages/skimage/data/coffee.png",
        "china:/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg"})
    void clipPreprocessingOfPhotosMatchesPillow(String spec) throws Exception {
        String name = spec.substring(0, spec.indexOf(':'));
        Path photo = Path.of(spec.substring(spec.indexOf(':') + 1));
        // without the Debian packages, the same files taken out of their archives (.ci/run does that)
        String extracted = System.getenv("TESSERA_TEST_PHOTOS");
        if (!java.nio.file.Files.isRegularFile(photo) && extracted != null) {
            photo = Path.of(extracted).resolve(photo.getFileName());
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(photo), photo + " not installed");
        byte[] npy = java.nio.file.Files.readAllBytes(fixture("photo_" + name + "_224.npy"));
        int n = 224 * 224 * 3;
        ImagePreprocessor p = ImagePreprocessor.of(new ObjectMapper().readTree(
                "{\"size\": {\"shortest_edge\": 224}, \"resample\": 3, \"do_center_crop\": true, \"crop_size\": 224,"
                        + " \"do_normalize\": false, \"do_rescale\": false}"), 224, ImagePreprocessor.HALF, ImagePreprocessor.HALF);
        ImagePreprocessor.Result r = p.process(decoder.decode(photo));
        int max = 0;
        long sum = 0;
        for (int y = 0; y < 224; y++) {
            for (int x = 0; x < 224; x++) {
                for (int c = 0; c < 3; c++) {
                    int ref = npy[npy.length - n + (y * 224 + x) * 3 + c] & 0xFF;
                    int d = Math.abs(Math.round(r.chw()[(c * 224 + y) * 224 + x]) - ref);
                    max = Math.max(max, d);
                    sum += d;
                }
            }
        }
        System.out.printf("%s: 224 CLIP preprocessing vs Pillow: max %d levels, mean %.4f levels%n", name, max,
                (double) sum / n);
        // PNG: bit-exact resampling; JPEG: the decoders (OpenCV's libjpeg vs Pillow's) may differ by a few levels
        assertTrue(max <= (photo.toString().endsWith(".png") ? 0 : 8), name + " max diff " + max);
        assertTrue((double) sum / n <= 0.5, name + " mean diff " + (double) sum / n);
    }

    @Test
    void badConfigs() throws Exception {
        ObjectMapper om = new ObjectMapper();
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.of(om.readTree("{\"resample\": 7}"), 224,
                ImagePreprocessor.HALF, ImagePreprocessor.HALF));
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.of(
                om.readTree("{\"size\": {\"height\": 0, \"width\": 3}}"), 224, ImagePreprocessor.HALF, ImagePreprocessor.HALF));
    }
}
