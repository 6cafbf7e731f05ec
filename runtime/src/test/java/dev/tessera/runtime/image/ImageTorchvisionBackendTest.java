package dev.tessera.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.io.Npy;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The backends against their references, bit for bit: {@link ImagePreprocessor.Backend#TORCHVISION} and
 * {@link ImagePreprocessor.Backend#PIL} against transformers 5.18's torchvision and Pillow image processors on torch 2.13
 * (make_torchvision_fixture.py: PyTorch's uint8 interpolate kernels plane by plane, then whole processors: ViT, CLIP,
 * LLaVA's padding, crops larger than the image, rescale or normalise alone, odd rescale factors, default_to_square,
 * do_pad with pad_size), {@link ImagePreprocessor.Backend#TRANSFORMS} against torchvision 0.14's transforms.
 */
class ImageTorchvisionBackendTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void resamplingMatchesTorchInterpolateOnUint8() throws Exception {
        JsonNode f = JSON.readTree(ImageTest.fixture("torchvision_resample.json").toFile());
        int[][] plane = ImageEdgeCasesTest.grid(f.get("plane"));
        assertEquals(32, f.get("cases").size());
        int differFromPillow = 0;
        for (JsonNode c : f.get("cases")) {
            int resample = c.get("resample").intValue();
            int h = c.get("height").intValue();
            int w = c.get("width").intValue();
            int[][] ref = ImageEdgeCasesTest.grid(c.get("out"));
            int[][] out = PillowResample.resize(plane, h, w, resample, true);
            for (int y = 0; y < h; y++) {
                assertArrayEquals(ref[y], out[y], "resample " + resample + " to " + h + "x" + w + ", row " + y);
            }
            if (!Arrays.deepEquals(out, PillowResample.resize(plane, h, w, resample, false))) {
                differFromPillow++;
            }
        }
        // the two kernels are not the same (else this test would not tell them apart)
        assertTrue(differFromPillow >= 8, differFromPillow + " of 32 cases differ from Pillow's");
    }

    @Test
    void processorsMatchTransformersBothBackendsBitForBit() throws Exception {
        List<Case> cases = cases("torchvision_cases.json", ImagePreprocessor.Style.VIT);
        int differ = 0;
        for (Case c : cases) {
            ImagePreprocessor tv = c.pil().withBackend(ImagePreprocessor.Backend.TORCHVISION);
            assertEquals(ImagePreprocessor.Backend.TORCHVISION, tv.backend());
            float[] tvPixels = sameBits(tv.process(c.img()), ImageTest.fixture("tv_case" + c.i() + ".npy"),
                    c.what() + " torchvision");
            float[] pilPixels = sameBits(c.pil().process(c.img()), ImageTest.fixture("pil_case" + c.i() + ".npy"),
                    c.what() + " pil");
            if (!Arrays.equals(tvPixels, pilPixels)) {
                differ++;
            }
        }
        assertEquals(15, cases.size());
        assertTrue(differ >= 10, differ + " of 15 cases differ between the backends");
    }

    /** Case {@code i} of a fixture index: its config read with the pil backend, its decoded image, a label. */
    private record Case(int i, ImagePreprocessor pil, RgbImage img, String what) {}

    /** The cases of fixture index {@code json} (configs read for a model of family {@code style}). */
    private static List<Case> cases(String json, ImagePreprocessor.Style style) throws Exception {
        ImageDecoder decoder = new ImageDecoder();
        List<Case> out = new java.util.ArrayList<>();
        for (JsonNode c : JSON.readTree(ImageTest.fixture(json).toFile()).get("cases")) {
            out.add(new Case(out.size(), ImagePreprocessor.of(c.get("config"), 224, style, decoder),
                    decoder.decode(ImageTest.fixture(c.get("image").asText())), "case " + out.size() + " " + c.get("config")));
        }
        return out;
    }

    /** {@code r}'s pixels, asserted to be {@code npy}'s bit for bit (and of its shape [3, H, W]). */
    private static float[] sameBits(ImagePreprocessor.Result r, java.nio.file.Path npy, String what) throws Exception {
        Npy.Array want = Npy.read(npy);
        assertArrayEquals(new long[] {3, r.height(), r.width()}, want.shape(), what);
        float[] ref = want.requireFloats();
        for (int i = 0; i < ref.length; i++) {
            if (Float.floatToIntBits(ref[i]) != Float.floatToIntBits(r.chw()[i])) {
                throw new AssertionError(what + ": element " + i + " is " + r.chw()[i] + ", reference " + ref[i]);
            }
        }
        return r.chw();
    }

    /**
     * {@link ImagePreprocessor.Backend#TRANSFORMS} against torchvision 0.14's transforms on PIL images (Debian's, the
     * issue's reference; make_transforms_fixture.py): 7 pipelines, crop offsets that end in .5 with an odd floor
     * (CenterCrop rounds them up, transformers down), a crop past the image, nearest, ToTensor alone, Resize with
     * max_size; bit for bit.
     */
    @Test
    void transformsPipelinesMatchTorchvisionBitForBit() throws Exception {
        List<Case> cases = cases("transforms_cases.json", ImagePreprocessor.Style.CLIP);
        int differFromPil = 0;
        for (Case c : cases) {
            float[] ref = sameBits(c.pil().withBackend(ImagePreprocessor.Backend.TRANSFORMS).process(c.img()),
                    ImageTest.fixture("transforms_case" + c.i() + ".npy"), c.what() + " transforms");
            float[] p = c.pil().process(c.img()).chw();
            double worst = 0;
            for (int i = 0; i < ref.length; i++) {
                worst = Math.max(worst, Math.abs(ref[i] - p[i]));
            }
            if (worst > 1e-3) { // more than float rounding: a crop one pixel off
                differFromPil++;
            }
        }
        assertEquals(7, cases.size());
        assertEquals(4, differFromPil, "the cases whose crop offset rounds up under CenterCrop");
        // Resize(size, max_size) sizes the image as torchvision does: 37x53 with (24, max 30) is 21x30
        assertArrayEquals(new int[] {21, 30}, ImagePreprocessor.resizeWithMaxSize(37, 53, 24, 30));
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.resizeWithMaxSize(37, 53, 24, 24));
        assertEquals(2, ImagePreprocessor.centerCropOffset(24, 21));
        assertEquals(2, ImagePreprocessor.centerCropOffset(31, 26));
        assertEquals(-2, ImagePreprocessor.centerCropOffset(20, 25));
        assertEquals(ImagePreprocessor.Backend.TRANSFORMS, ImagePreprocessor.Backend.parse("transforms"));
    }

    @Test
    void filtersTheTorchvisionBackendLacksAreRefused() throws Exception {
        RgbImage img = new RgbImage(40, 30, new byte[40 * 30 * 3]);
        RgbImage atSize = new RgbImage(32, 32, new byte[32 * 32 * 3]);
        for (String cfg : new String[] {"{\"resample\": 4}", "{\"resample\": 5}", "{\"resample\": 3.0}"}) {
            ImagePreprocessor p = ImagePreprocessor.of(JSON.readTree(cfg), 32, ImagePreprocessor.Style.VIT,
                    new ImageDecoder());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.withBackend(ImagePreprocessor.Backend.TORCHVISION).process(img), cfg);
            assertTrue(e.getMessage().contains("use the pil backend"), e.getMessage());
            assertSame(p, p.withBackend(ImagePreprocessor.Backend.PIL));
            if (!cfg.contains(".")) { // box / hamming: an image already at the size needs no filter (transformers too)
                assertEquals(32, p.withBackend(ImagePreprocessor.Backend.TORCHVISION).process(atSize).height());
            } else { // a float resample: refused up front, as transformers checks it before any resize
                assertThrows(IllegalArgumentException.class, () -> p.withBackend(ImagePreprocessor.Backend.TORCHVISION));
            }
        }
        // without a resize the filter is never used, so nothing to refuse
        ImagePreprocessor noResize = ImagePreprocessor.of(JSON.readTree("{\"resample\": 4, \"do_resize\": false}"), 32,
                ImagePreprocessor.Style.VIT, new ImageDecoder());
        assertEquals(ImagePreprocessor.Backend.TORCHVISION,
                noResize.withBackend(ImagePreprocessor.Backend.TORCHVISION).backend());
        assertEquals(ImagePreprocessor.Backend.TORCHVISION, ImagePreprocessor.Backend.parse("TorchVision"));
        assertEquals(ImagePreprocessor.Backend.PIL, ImagePreprocessor.Backend.parse("pil"));
        assertFalse(assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.Backend.parse("opencv"))
                .getMessage().isEmpty());
    }
}
