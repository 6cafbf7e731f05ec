package dev.tessera.models.dbm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.rbm.RbmParams;
import dev.tessera.runtime.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The multimodal DBN on a tiny configuration: maths vs a float64 reference, checkpoints, reproducibility, errors. */
class MultimodalDbnTest {
    static final DbmConfig TINY = new DbmConfig(36, 12, 10, 4, 5, 14, 8, 16, 3, 10, 0.05f, 7L);
    static float[][] images;
    static float[][] audio;

    @BeforeAll
    static void data() {
        SplittableRandom r = new SplittableRandom(3);
        images = new float[60][TINY.imageSize()];
        audio = new float[60][TINY.audioSize()];
        for (int i = 0; i < 60; i++) {
            for (int j = 0; j < TINY.imageSize(); j++) {
                images[i][j] = r.nextDouble() < 0.3 + 0.4 * ((i + j) % 2) ? 1f : 0f;
            }
            for (int j = 0; j < TINY.audioSize(); j++) {
                audio[i][j] = (float) (r.nextGaussian() * 2 + j % 3 + i % 2);
            }
        }
    }

    static MultimodalDbn train(DbmConfig cfg) {
        return MultimodalDbn.train(cfg, images, audio, null, null);
    }

    static double[][] read(Safetensors f, String name) {
        try (Tensor t = f.load(name, Device.CPU)) {
            float[] a = t.toFloatArray();
            long[] s = t.shape();
            int rows = (int) s[0];
            int cols = s.length > 1 ? (int) s[1] : 1;
            double[][] out = new double[rows][cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    out[i][j] = a[i * cols + j];
                }
            }
            return out;
        }
    }

    static double[] vec(Safetensors f, String name) {
        double[][] m = read(f, name);
        double[] v = new double[m.length];
        for (int i = 0; i < m.length; i++) {
            v[i] = m[i][0];
        }
        return v;
    }

    /** sigmoid(x W + c) in float64, W [nv, nh]. */
    static double[] up(double[] x, double[][] w, double[] c) {
        double[] h = new double[c.length];
        for (int j = 0; j < c.length; j++) {
            double s = c[j];
            for (int i = 0; i < x.length; i++) {
                s += x[i] * w[i][j];
            }
            h[j] = 1 / (1 + Math.exp(-s));
        }
        return h;
    }

    static double[] down(double[] h, double[][] w, double[] b) {
        double[] v = new double[b.length];
        for (int i = 0; i < b.length; i++) {
            double s = b[i];
            for (int j = 0; j < h.length; j++) {
                s += h[j] * w[i][j];
            }
            v[i] = 1 / (1 + Math.exp(-s));
        }
        return v;
    }

    static double[] cat(double[]... parts) {
        int n = 0;
        for (double[] p : parts) {
            n += p.length;
        }
        double[] out = new double[n];
        int o = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    static double relErr(float[] out, double[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (out[i] - ref[i]) * (out[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        double e = Math.sqrt(num / den);
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }

    @Test
    void meanFieldInferenceMatchesFloat64Reference(@TempDir Path dir) throws IOException {
        try (MultimodalDbn m = train(TINY)) {
            m.save(dir);
            float[][] repImg = m.represent(images, null);
            float[][] repAud = m.represent(null, audio);
            float[][] repBoth = m.represent(images, audio);
            try (Safetensors f = Safetensors.open(dir.resolve("model.safetensors"))) {
                String[] names = {"image1", "image2", "audio1", "audio2", "joint"};
                Map<String, double[][]> w = new HashMap<>();
                Map<String, double[]> vb = new HashMap<>();
                Map<String, double[]> hb = new HashMap<>();
                for (String n : names) {
                    w.put(n, read(f, n + ".weight"));
                    vb.put(n, vec(f, n + ".visible_bias"));
                    hb.put(n, vec(f, n + ".hidden_bias"));
                }
                double[] mean = vec(f, "audio.feature_mean");
                double[] std = vec(f, "audio.feature_std");
                int ni = TINY.image2();
                int na = TINY.audio2();
                for (int r = 0; r < 5; r++) {
                    // image only: image top, then mean-field fill of the audio top in the joint layer
                    double[] x = new double[images[r].length];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = images[r][i];
                    }
                    double[] x1 = up(x, w.get("image1"), hb.get("image1"));
                    double[] top = up(x1, w.get("image2"), hb.get("image2"));
                    double[] v = new double[ni + na];
                    System.arraycopy(top, 0, v, 0, ni);
                    java.util.Arrays.fill(v, ni, ni + na, 0.5);
                    for (int s = 0; s < MultimodalDbn.FILL_SWEEPS; s++) {
                        double[] vm = down(up(v, w.get("joint"), hb.get("joint")), w.get("joint"), vb.get("joint"));
                        System.arraycopy(vm, ni, v, ni, na);
                    }
                    double[] h = up(v, w.get("joint"), hb.get("joint"));
                    double[] ref = cat(x1, v, h); // [image1, image2 = top, filled audio2, joint]
                    assertEquals(m.representationSizes()[0], ref.length);
                    assertTrue(relErr(repImg[r], ref) < 1e-5, "image-only representation row " + r + ": " + relErr(repImg[r], ref));

                    // audio only, and generation of the image from it
                    double[] a = new double[audio[r].length];
                    for (int i = 0; i < a.length; i++) {
                        a[i] = (audio[r][i] - mean[i]) / std[i];
                    }
                    double[] y1 = up(a, w.get("audio1"), hb.get("audio1")); // Gaussian visible: same up pass
                    double[] ytop = up(y1, w.get("audio2"), hb.get("audio2"));
                    double[] u = new double[ni + na];
                    java.util.Arrays.fill(u, 0, ni, 0.5);
                    System.arraycopy(ytop, 0, u, ni, na);
                    for (int s = 0; s < MultimodalDbn.FILL_SWEEPS; s++) {
                        double[] vm = down(up(u, w.get("joint"), hb.get("joint")), w.get("joint"), vb.get("joint"));
                        System.arraycopy(vm, 0, u, 0, ni);
                    }
                    double[] ha = up(u, w.get("joint"), hb.get("joint"));
                    double[] refA = cat(java.util.Arrays.copyOf(u, ni), y1, ytop, ha); // [filled image2, audio1, audio2, joint]
                    assertEquals(m.representationSizes()[1], refA.length);
                    assertTrue(relErr(repAud[r], refA) < 1e-5, "audio-only representation row " + r);
                    // both: every layer from its own modality, the joint layer over both tops
                    double[] refB = cat(x1, top, y1, ytop, up(cat(top, ytop), w.get("joint"), hb.get("joint")));
                    assertEquals(m.representationSizes()[2], refB.length);
                    assertTrue(relErr(repBoth[r], refB) < 1e-5, "both representation row " + r);
                }
            }
        }
    }

    @Test
    void checkpointRoundTripAndSameSeedSameBytes(@TempDir Path dir) throws IOException {
        DbmConfig cfg = TINY.withShift(1); // with the seeded image and speech augmentation
        try (MultimodalDbn a = train(cfg); MultimodalDbn b = train(cfg); MultimodalDbn c = train(cfg.withSeed(8))) {
            a.save(dir.resolve("a"));
            b.save(dir.resolve("b"));
            c.save(dir.resolve("c"));
            assertArrayEquals(Files.readAllBytes(dir.resolve("a/model.safetensors")),
                    Files.readAllBytes(dir.resolve("b/model.safetensors")), "same seed, same backend: same bytes");
            assertTrue(!java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a/model.safetensors")),
                    Files.readAllBytes(dir.resolve("c/model.safetensors"))), "another seed gives another model");
            try (MultimodalDbn l = MultimodalDbn.load(dir.resolve("a"))) {
                assertEquals(cfg, l.config());
                float[][] x = a.represent(images, audio);
                float[][] y = l.represent(images, audio);
                for (int i = 0; i < x.length; i++) {
                    assertArrayEquals(x[i], y[i]);
                }
            }
        }
    }

    /**
     * One DBN shared by threads gives each the single-thread representation and generated images; a close while
     * they run waits for their calls (the layers' native weights are freed after), later calls get "is closed".
     */
    @Test
    void threadsShareOneModelAndCloseWaitsForThem() throws Exception {
        MultimodalDbn m = train(TINY);
        float[][] rep = m.represent(images, audio);
        float[][] gen = m.generateImages(audio);
        java.util.concurrent.atomic.AtomicInteger k = new java.util.concurrent.atomic.AtomicInteger();
        int calls = dev.tessera.runtime.testing.CloseRace.run(4, 2, () -> {
            boolean even = k.getAndIncrement() % 2 == 0;
            float[][] r = even ? m.represent(images, audio) : m.generateImages(audio);
            float[][] want = even ? rep : gen;
            for (int i = 0; i < r.length; i++) {
                assertArrayEquals(want[i], r[i]);
            }
            return null;
        }, m::close);
        assertTrue(calls >= 8);
        assertThrows(IllegalStateException.class, () -> m.represent(images, null));
        m.close();
    }

    @Test
    void badInputsGiveClearErrors(@TempDir Path dir) throws IOException {
        try (MultimodalDbn m = train(TINY)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.represent(new float[][] {new float[35]}, null));
            assertTrue(e.getMessage().contains("35") && e.getMessage().contains("36"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.represent(null, null));
            assertThrows(IllegalArgumentException.class, () -> m.generateImages(new float[][] {new float[3]}));
            m.save(dir);
        }
        // a checkpoint of another shape
        String cfg = Files.readString(dir.resolve("config.json")).replace("\"image1\" : 12", "\"image1\" : 13");
        Files.writeString(dir.resolve("config.json"), cfg);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultimodalDbn.load(dir));
        assertTrue(e.getMessage().contains("image1.weight") && e.getMessage().contains("shape"), e.getMessage());
        // corrupt audio
        Path bad = dir.resolve("bad.opus");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertThrows(Exception.class, () -> DigitData.clip(bad));
        // an image grid of the wrong size
        assertThrows(IllegalArgumentException.class, () -> DbmPictures.writeGrid(new float[][] {new float[100]}, 1,
                dir.resolve("x.png")));
    }

    @Test
    void augmentationMovesPixelsAndMelBands() {
        float[] im = new float[9];
        for (int i = 0; i < 9; i++) {
            im[i] = i + 1;
        }
        // 3 x 3 image moved one right and one up: out(x, y) = in(x - 1, y + 1)
        assertArrayEquals(new float[] {0, 4, 5, 0, 7, 8, 0, 0, 0}, Augment.shift(im, 3, 1, -1));
        assertArrayEquals(im, Augment.shift(im, 3, 0, 0));
        // speech [frames = 3][mels = 3]: one band up, one frame later, edges repeated, gain 0.5
        float[] sp = Augment.speech(im, 3, 3, 1, 1, 0.5f);
        assertArrayEquals(new float[] {1.5f, 1.5f, 2.5f, 1.5f, 1.5f, 2.5f, 4.5f, 4.5f, 5.5f}, sp);
        float[][] a = Augment.shiftAll(new float[][] {im, im}, 3, 1, 5);
        float[][] b = Augment.shiftAll(new float[][] {im, im}, 3, 1, 5);
        assertArrayEquals(a[0], b[0]);
        assertArrayEquals(a[1], b[1]);
    }

    @Test
    void pixelMlpLearnsSeparableClassesAndRoundTrips() {
        SplittableRandom r = new SplittableRandom(2);
        float[][] x = new float[400][16];
        int[] y = new int[400];
        for (int i = 0; i < 400; i++) {
            y[i] = i % 4;
            for (int j = 0; j < 16; j++) {
                x[i][j] = (float) Math.min(1, Math.max(0, r.nextGaussian() * 0.2 + (j % 4 == y[i] ? 0.8 : 0.1)));
            }
        }
        PixelMlp a = PixelMlp.train(x, y, 4, 8, 20, 0, 3);
        PixelMlp b = PixelMlp.train(x, y, 4, 8, 20, 0, 3);
        assertTrue(a.accuracy(x, y) > 0.97, "accuracy " + a.accuracy(x, y));
        float[][] pa = a.parameters();
        assertArrayEquals(pa[0], b.parameters()[0], "same seed, same weights");
        assertArrayEquals(a.predict(x), PixelMlp.of(pa[0], pa[1], pa[2], pa[3]).predict(x));
        assertThrows(IllegalArgumentException.class, () -> a.predict(new float[][] {new float[15]}));
        assertThrows(IllegalArgumentException.class, () -> PixelMlp.train(x, new int[3], 4, 8, 1, 0, 1));
    }

    @Test
    void readoutLearnsSeparableClassesAndRoundTrips() {
        SplittableRandom r = new SplittableRandom(1);
        float[][] x = new float[300][5];
        int[] y = new int[300];
        for (int i = 0; i < 300; i++) {
            y[i] = i % 3;
            for (int j = 0; j < 5; j++) {
                x[i][j] = (float) (r.nextGaussian() * 0.3 + (j == y[i] ? 2 : 0));
            }
        }
        Readout ro = Readout.train(x, y, 3, 20, 0.1, 1e-4, 5);
        assertTrue(ro.accuracy(x, y) > 0.97, "accuracy " + ro.accuracy(x, y));
        assertArrayEquals(ro.predict(x), Readout.of(ro.toArray(), 3).predict(x));
    }

    /**
     * Gibbs sampling of a missing top (the generation path) against the exact conditional expectation
     * E[missing | known] of the joint RBM, by enumerating every binary state of the missing top (2^10 image
     * tops, 2^8 speech tops) with the hidden layer summed out analytically, in float64, on a joint layer with
     * random weights large enough to make the conditional far from its biases.
     */
    @Test
    void gibbsSamplingOfTheMissingTopMatchesTheExactConditional() {
        SplittableRandom r = new SplittableRandom(11);
        int ni = TINY.image2();
        int na = TINY.audio2();
        int nv = ni + na;
        int nh = TINY.joint();
        float[] w = new float[nv * nh];
        float[] vb = new float[nv];
        float[] hb = new float[nh];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.7);
        }
        for (int i = 0; i < nv; i++) {
            vb[i] = (float) (r.nextGaussian() * 0.5);
        }
        for (int j = 0; j < nh; j++) {
            hb[j] = (float) (r.nextGaussian() * 0.5);
        }
        try (MultimodalDbn trained = train(TINY)) {
            RbmParams[] l = trained.layers();
            RbmParams[] copies = new RbmParams[4];
            for (int k = 0; k < 4; k++) {
                copies[k] = RbmParams.of(l[k].weights().toFloatArray(), l[k].visibleBias().toFloatArray(),
                        l[k].hiddenBias().toFloatArray(), l[k].visibleSize(), l[k].hiddenSize(), Device.CPU);
            }
            try (MultimodalDbn m = new MultimodalDbn(TINY, copies[0], copies[1], copies[2], copies[3],
                    RbmParams.of(w, vb, hb, nv, nh, Device.CPU), trained.featMean(), trained.featStd())) {
                for (boolean knownIsImage : new boolean[] {false, true}) {
                    int nk = knownIsImage ? ni : na;
                    int nm = knownIsImage ? na : ni;
                    float[][] known = new float[3][nk];
                    for (float[] row : known) {
                        for (int k = 0; k < nk; k++) {
                            row[k] = (float) r.nextDouble();
                        }
                    }
                    float[][] est = m.sampleTop(known, knownIsImage, 5, 64, 400, 300);
                    assertArrayEquals(est[1], m.sampleTop(known, knownIsImage, 5, 64, 400, 300)[1], "same seed, same result");
                    for (int row = 0; row < known.length; row++) {
                        double[] exact = exactConditional(w, vb, hb, ni, nv, nh, known[row], knownIsImage);
                        double worst = 0;
                        double spread = 0;
                        for (int k = 0; k < nm; k++) {
                            worst = Math.max(worst, Math.abs(est[row][k] - exact[k]));
                            spread = Math.max(spread, Math.abs(exact[k] - 1 / (1 + Math.exp(-vb[(knownIsImage ? ni : 0) + k]))));
                        }
                        assertTrue(spread > 0.1, "the conditional must differ from the visible biases for the test to bite");
                        assertTrue(worst < 0.03, (knownIsImage ? "speech" : "image") + " top row " + row
                                + ": max |Gibbs - exact| = " + worst);
                    }
                }
            }
        }
    }

    /** E[missing | known] of a binary RBM by enumerating the missing units, hidden units summed out. */
    static double[] exactConditional(float[] w, float[] vb, float[] hb, int ni, int nv, int nh, float[] known,
            boolean knownIsImage) {
        int from = knownIsImage ? ni : 0;
        int nm = knownIsImage ? nv - ni : ni;
        int kfrom = knownIsImage ? 0 : ni;
        double[] base = new double[nh];
        for (int j = 0; j < nh; j++) {
            base[j] = hb[j];
            for (int k = 0; k < known.length; k++) {
                base[j] += known[k] * w[(kfrom + k) * nh + j];
            }
        }
        int states = 1 << nm;
        double[] logp = new double[states];
        double max = Double.NEGATIVE_INFINITY;
        for (int s = 0; s < states; s++) {
            double lp = 0;
            double[] pre = base.clone();
            for (int k = 0; k < nm; k++) {
                if ((s >> k & 1) == 1) {
                    lp += vb[from + k];
                    for (int j = 0; j < nh; j++) {
                        pre[j] += w[(from + k) * nh + j];
                    }
                }
            }
            for (int j = 0; j < nh; j++) {
                lp += pre[j] > 0 ? pre[j] + Math.log1p(Math.exp(-pre[j])) : Math.log1p(Math.exp(pre[j]));
            }
            logp[s] = lp;
            max = Math.max(max, lp);
        }
        double z = 0;
        double[] mean = new double[nm];
        for (int s = 0; s < states; s++) {
            double p = Math.exp(logp[s] - max);
            z += p;
            for (int k = 0; k < nm; k++) {
                if ((s >> k & 1) == 1) {
                    mean[k] += p;
                }
            }
        }
        for (int k = 0; k < nm; k++) {
            mean[k] /= z;
        }
        return mean;
    }
}
