package dev.tessera.runtime.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link PillowResample#resizeWindow}, the path the preprocessor runs: its crop window must equal the whole resized
 * image cropped, and its three-channel path each plane resized alone ({@link PillowResample#resize}, which the Pillow
 * and PyTorch fixtures of {@code ImageEdgeCasesTest} / {@code ImageTorchvisionBackendTest} check bit for bit).
 */
class PillowResampleWindowTest {
    @Test
    void windowsEqualTheWholeResizeCroppedOnRandomSizes() {
        SplittableRandom r = new SplittableRandom(25);
        for (int t = 0; t < 300; t++) {
            int w = 1 + r.nextInt(90);
            int h = 1 + r.nextInt(90);
            int nw = 1 + r.nextInt(120);
            int nh = 1 + r.nextInt(120);
            boolean torch = r.nextInt(3) == 0;
            int[] filters = torch ? new int[] {0, 1, 2, 3} : new int[] {0, 1, 2, 3, 4, 5};
            int resample = filters[r.nextInt(filters.length)];
            // windows inside, partly outside and wholly outside the resized image
            int oh = 1 + r.nextInt(nh + 20);
            int ow = 1 + r.nextInt(nw + 20);
            int top = r.nextInt(nh + 20) - 10 - (r.nextInt(4) == 0 ? oh : 0);
            int left = r.nextInt(nw + 20) - 10 - (r.nextInt(4) == 0 ? ow : 0);
            byte[] rgb = new byte[w * h * 3];
            r.nextBytes(rgb);
            String what = w + "x" + h + " -> " + nw + "x" + nh + " resample " + resample + (torch ? " torch" : "")
                    + ", window " + ow + "x" + oh + " at (" + left + ", " + top + ")";
            byte[] window = PillowResample.resizeWindow(rgb, 3, w, h, nw, nh, resample, torch, top, left, oh, ow);
            assertEquals(oh * ow * 3, window.length, what);
            for (int c = 0; c < 3; c++) {
                int[][] plane = new int[h][w];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        plane[y][x] = rgb[(y * w + x) * 3 + c] & 0xFF;
                    }
                }
                int[][] whole = PillowResample.resize(plane, nh, nw, resample, torch);
                int[] expect = new int[oh * ow];
                int[] got = new int[oh * ow];
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) {
                        int sy = y + top;
                        int sx = x + left;
                        expect[y * ow + x] = sy >= 0 && sy < nh && sx >= 0 && sx < nw ? whole[sy][sx] : 0;
                        got[y * ow + x] = window[(y * ow + x) * 3 + c] & 0xFF;
                    }
                }
                assertArrayEquals(expect, got, what + ", channel " + c);
            }
        }
    }

    @Test
    void largeImagesSpreadOverThreadsGiveTheSameBytes() {
        // 1200 x 900 -> 298 x 224: both passes pass the parallel threshold; their rows run in any order
        SplittableRandom r = new SplittableRandom(7);
        int w = 1200;
        int h = 900;
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) { // smooth with noise, as a photo
            int x = (i / 3) % w;
            rgb[i] = (byte) (x * 255 / w + r.nextInt(-20, 21));
        }
        byte[] window = PillowResample.resizeWindow(rgb, 3, w, h, 298, 224, 3, false, 0, 37, 224, 224);
        for (int c = 0; c < 3; c++) {
            int[][] plane = new int[h][w];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    plane[y][x] = rgb[(y * w + x) * 3 + c] & 0xFF;
                }
            }
            // each plane alone through the one-channel loop (the three-channel one is a separate loop)
            int[][] whole = PillowResample.resize(plane, 224, 298, 3, false);
            for (int y = 0; y < 224; y++) {
                for (int x = 0; x < 224; x++) {
                    assertEquals(whole[y][x + 37], window[(y * 224 + x) * 3 + c] & 0xFF, "(" + x + ", " + y + ") channel " + c);
                }
            }
        }
    }

    @Test
    void onePreprocessorServesManyThreadsAtOnce() throws Exception {
        // a large image (its resize runs on the common pool) and a small one, from 4 threads at once, 6 times each
        SplittableRandom r = new SplittableRandom(11);
        byte[] big = new byte[1200 * 900 * 3];
        r.nextBytes(big);
        byte[] small = new byte[90 * 70 * 3];
        r.nextBytes(small);
        RgbImage[] images = {new RgbImage(1200, 900, big), new RgbImage(90, 70, small)};
        ImagePreprocessor p = ImagePreprocessor.of(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                "{\"size\": {\"shortest_edge\": 224}, \"resample\": 3, \"do_center_crop\": true, \"crop_size\": 224}"),
                224, ImagePreprocessor.CLIP_MEAN, ImagePreprocessor.CLIP_STD);
        float[][] alone = {p.process(images[0]).chw(), p.process(images[1]).chw()};
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<float[]>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 24; i++) {
                RgbImage img = images[i % 2];
                runs.add(pool.submit(() -> p.process(img).chw()));
            }
            for (int i = 0; i < runs.size(); i++) {
                assertArrayEquals(alone[i % 2], runs.get(i).get(), "run " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anImageAtItsSizeIsItsOwnPixelsForEveryFilter() {
        // Pillow's resize to the same size returns a copy; the nearest index tables are the identity there too
        SplittableRandom r = new SplittableRandom(3);
        int w = 37;
        int h = 23;
        byte[] rgb = new byte[w * h * 3];
        r.nextBytes(rgb);
        for (boolean torch : new boolean[] {false, true}) {
            for (int resample = 0; resample <= 5; resample++) {
                for (int[] win : new int[][] {{0, 0, h, w}, {3, 5, 10, 12}, {-2, -4, h + 4, w + 8}}) {
                    byte[] out = PillowResample.resizeWindow(rgb, 3, w, h, w, h, resample, torch, win[0], win[1],
                            win[2], win[3]);
                    for (int y = 0; y < win[2]; y++) {
                        for (int x = 0; x < win[3]; x++) {
                            int sy = y + win[0];
                            int sx = x + win[1];
                            for (int c = 0; c < 3; c++) {
                                byte expect = sy >= 0 && sy < h && sx >= 0 && sx < w ? rgb[(sy * w + sx) * 3 + c] : 0;
                                assertEquals(expect, out[(y * win[3] + x) * 3 + c], "resample " + resample
                                        + (torch ? " torch" : "") + " window " + java.util.Arrays.toString(win));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> PillowResample.resizeWindow(new byte[10], 3, 2, 2, 4, 4, 2, false, 0, 0, 4, 4));
        assertThrows(IllegalArgumentException.class,
                () -> PillowResample.resize(new int[][] {{0, 256}}, 2, 2, 2));
        // PyTorch has no box / hamming filter, but an image at its size needs none
        assertThrows(IllegalArgumentException.class,
                () -> PillowResample.resizeWindow(new byte[12], 3, 2, 2, 3, 3, 4, true, 0, 0, 3, 3));
        assertEquals(12, PillowResample.resizeWindow(new byte[12], 3, 2, 2, 2, 2, 5, true, 0, 0, 2, 2).length);
    }
}
