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
import org.junit.jupiter.api.Test;

/**
 * {@link ImagePreprocessor.Backend#TORCHVISION} against transformers 5.18's torchvision image processors on torch 2.13
 * (make_torchvision_fixture.py): PyTorch's uint8 interpolate kernels plane by plane, then whole processors (ViT, CLIP,
 * LLaVA's padding; crops larger than the image, rescale or normalise alone, odd rescale factors) bit for bit.
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
    void processorsMatchTransformersTorchvisionBackendBitForBit() throws Exception {
        JsonNode index = JSON.readTree(ImageTest.fixture("torchvision_cases.json").toFile());
        ImageDecoder decoder = new ImageDecoder();
        int cases = 0;
        int differFromPil = 0;
        for (JsonNode c : index.get("cases")) {
            ImagePreprocessor pil = ImagePreprocessor.of(c.get("config"), 224, ImagePreprocessor.Style.VIT, decoder);
            ImagePreprocessor tv = pil.withBackend(ImagePreprocessor.Backend.TORCHVISION);
            assertEquals(ImagePreprocessor.Backend.TORCHVISION, tv.backend());
            RgbImage img = decoder.decode(ImageTest.fixture(c.get("image").asText()));
            ImagePreprocessor.Result r = tv.process(img);
            Npy.Array want = Npy.read(ImageTest.fixture("tv_case" + cases + ".npy"));
            String what = "case " + cases + " " + c.get("config");
            assertArrayEquals(new long[] {3, r.height(), r.width()}, want.shape(), what);
            float[] ref = want.requireFloats();
            for (int i = 0; i < ref.length; i++) {
                if (Float.floatToIntBits(ref[i]) != Float.floatToIntBits(r.chw()[i])) {
                    throw new AssertionError(what + ": element " + i + " is " + r.chw()[i] + ", transformers "
                            + ref[i]);
                }
            }
            if (!Arrays.equals(ref, pil.process(img).chw())) {
                differFromPil++;
            }
            cases++;
        }
        assertEquals(11, cases);
        assertTrue(differFromPil >= 8, differFromPil + " of 11 cases differ under the pil backend");
    }

    /**
     * {@link ImagePreprocessor.Backend#TRANSFORMS} against torchvision 0.14's transforms on PIL images (Debian's, the
     * issue's reference; make_transforms_fixture.py): 6 pipelines whose crop offsets end in .5 with an odd floor
     * (CenterCrop rounds them up, transformers down), a crop past the image, nearest, ToTensor alone; bit for bit.
     */
    @Test
    void transformsPipelinesMatchTorchvisionBitForBit() throws Exception {
        JsonNode index = JSON.readTree(ImageTest.fixture("transforms_cases.json").toFile());
        ImageDecoder decoder = new ImageDecoder();
        int cases = 0;
        int differFromPil = 0;
        for (JsonNode c : index.get("cases")) {
            ImagePreprocessor pil = ImagePreprocessor.of(c.get("config"), 224, ImagePreprocessor.Style.CLIP, decoder);
            RgbImage img = decoder.decode(ImageTest.fixture(c.get("image").asText()));
            ImagePreprocessor.Result r = pil.withBackend(ImagePreprocessor.Backend.TRANSFORMS).process(img);
            Npy.Array want = Npy.read(ImageTest.fixture("transforms_case" + cases + ".npy"));
            String what = "case " + cases + " " + c.get("config");
            assertArrayEquals(new long[] {3, r.height(), r.width()}, want.shape(), what);
            float[] ref = want.requireFloats();
            for (int i = 0; i < ref.length; i++) {
                if (Float.floatToIntBits(ref[i]) != Float.floatToIntBits(r.chw()[i])) {
                    throw new AssertionError(what + ": element " + i + " is " + r.chw()[i] + ", torchvision " + ref[i]);
                }
            }
            float[] p = pil.process(img).chw();
            double worst = 0;
            for (int i = 0; i < ref.length; i++) {
                worst = Math.max(worst, Math.abs(ref[i] - p[i]));
            }
            if (worst > 1e-3) { // more than float rounding: a crop one pixel off
                differFromPil++;
            }
            cases++;
        }
        assertEquals(6, cases);
        assertEquals(4, differFromPil, "the cases whose crop offset rounds up under CenterCrop");
        assertEquals(2, ImagePreprocessor.centerCropOffset(24, 21));
        assertEquals(2, ImagePreprocessor.centerCropOffset(31, 26));
        assertEquals(-2, ImagePreprocessor.centerCropOffset(20, 25));
        assertEquals(ImagePreprocessor.Backend.TRANSFORMS, ImagePreprocessor.Backend.parse("transforms"));
    }

    @Test
    void filtersTheTorchvisionBackendLacksAreRefused() throws Exception {
        for (String cfg : new String[] {"{\"resample\": 4}", "{\"resample\": 5}", "{\"resample\": 3.0}"}) {
            ImagePreprocessor p = ImagePreprocessor.of(JSON.readTree(cfg), 32, ImagePreprocessor.Style.VIT,
                    new ImageDecoder());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.withBackend(ImagePreprocessor.Backend.TORCHVISION), cfg);
            assertTrue(e.getMessage().contains("use the pil backend"), e.getMessage());
            assertSame(p, p.withBackend(ImagePreprocessor.Backend.PIL));
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
