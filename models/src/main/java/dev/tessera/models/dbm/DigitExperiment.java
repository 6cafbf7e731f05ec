package dev.tessera.models.dbm;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The image + speech digit experiment: pairs MNIST images with spoken digits of the same class, trains a
 * {@link MultimodalDbn}, trains the softmax readouts (image-only, audio-only, both) on its representation
 * and an independent pixel classifier on real images, and scores all of them on held-out voices and digits.
 */
public final class DigitExperiment {
    /** Number of digit classes. */
    public static final int CLASSES = 10;
    /** Readout epochs. */
    public static final int READOUT_EPOCHS = 30;
    /** Augmented copies of the training pairs the readouts see besides the pairs themselves (when shift > 0). */
    public static final int READOUT_COPIES = 2;
    /** Joint layers trained per model (seeds differ), of which the best at generation on training pairs is kept. */
    public static final int JOINT_CANDIDATES = 4;
    /** Training pairs whose speech scores the joint-layer candidates. */
    public static final int SELECTION_PAIRS = 1000;
    /** Hidden units of the independent pixel classifier ({@link PixelMlp}). */
    public static final int CLASSIFIER_HIDDEN = 300;
    /** Training epochs of the independent pixel classifier. */
    public static final int CLASSIFIER_EPOCHS = 30;

    private DigitExperiment() {}

    /** Paired split: row i is image {@code images[i]} with speech feature {@code audio[i]}, both of digit {@code labels[i]}. */
    public record Split(float[][] images, float[][] audio, int[] labels, List<float[]> clips) {}

    /** Accuracies on the held-out split. */
    public record Scores(double imageOnly, double audioOnly, double both, double generatedFromSpeech, double pixelClassifier,
            int testPairs) {}

    /** Loads a split ("train" or "test") from {@code dataRoot} (holding mnist/ and spoken-digits/). */
    public static Split load(Path dataRoot, String split, DbmConfig cfg, int limit) throws IOException {
        DigitData.Images im = DigitData.images(dataRoot.resolve("mnist-10k"), split.equals("train") ? "train" : "t10k");
        DigitData.Speech sp = DigitData.speech(dataRoot.resolve("spoken-digits"), split);
        List<List<Integer>> byDigitImg = new ArrayList<>();
        for (int d = 0; d < CLASSES; d++) {
            byDigitImg.add(new ArrayList<>());
        }
        for (int i = 0; i < im.labels().length; i++) {
            byDigitImg.get(im.labels()[i]).add(i);
        }
        List<List<Integer>> byDigitClip = new ArrayList<>();
        for (int d = 0; d < CLASSES; d++) {
            byDigitClip.add(new ArrayList<>());
        }
        for (int i = 0; i < sp.labels().length; i++) {
            byDigitClip.get(sp.labels()[i]).add(i);
        }
        // every image with a clip of its digit (cycling through the split's clips of that digit)
        boolean train = true;
        int n = im.labels().length;
        n = limit > 0 ? Math.min(n, limit) : n;
        int[] count = new int[CLASSES];
        float[][] img = new float[n][];
        int[] labels = new int[n];
        List<float[]> clips = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int d = train ? im.labels()[i] : sp.labels()[i];
            int k = count[d]++;
            int ii = train ? i : byDigitImg.get(d).get(k % byDigitImg.get(d).size());
            int ci = train ? byDigitClip.get(d).get(k % byDigitClip.get(d).size()) : i;
            img[i] = im.pixels()[ii];
            clips.add(sp.clips().get(ci));
            labels[i] = d;
        }
        float[][] audio = DigitData.speechFeatures(clips, cfg.nMels(), cfg.frames());
        return new Split(img, audio, labels, clips);
    }

    /** A trained model with its readouts. */
    public record Trained(MultimodalDbn model, Readout image, Readout audio, Readout both, DigitClassifier pixels)
            implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }

        /** Saves the model and the readouts ({@code dir/readouts.safetensors}). */
        public void save(Path dir) throws IOException {
            model.save(dir);
            Map<String, Tensor> t = new LinkedHashMap<>();
            Readout[] rs = {image, audio, both};
            String[] names = {"readout.image", "readout.audio", "readout.both"};
            try {
                for (int i = 0; i < rs.length; i++) {
                    t.put(names[i], Tensor.of(rs[i].toArray(), Device.CPU, CLASSES, rs[i].dim() + 1));
                }
                if (pixels instanceof PixelMlp mlp) {
                    float[][] p = mlp.parameters();
                    t.put("classifier.mlp.w1", Tensor.of(p[0], Device.CPU, mlp.inputSize(), mlp.hiddenSize()));
                    t.put("classifier.mlp.b1", Tensor.of(p[1], Device.CPU, mlp.hiddenSize()));
                    t.put("classifier.mlp.w2", Tensor.of(p[2], Device.CPU, mlp.hiddenSize(), mlp.classes()));
                    t.put("classifier.mlp.b2", Tensor.of(p[3], Device.CPU, mlp.classes()));
                } else if (pixels instanceof Readout r) {
                    t.put("classifier.pixels", Tensor.of(r.toArray(), Device.CPU, CLASSES, r.dim() + 1));
                } else {
                    throw new IllegalStateException("cannot save a pixel classifier of type " + pixels.getClass().getName());
                }
                Safetensors.write(dir.resolve("readouts.safetensors"), t, Map.of("format", "pt"));
            } finally {
                t.values().forEach(Tensor::close);
            }
        }

        /** Loads what {@link #save} wrote. */
        public static Trained load(Path dir) throws IOException {
            MultimodalDbn m = MultimodalDbn.load(dir);
            Path f = dir.resolve("readouts.safetensors");
            if (!Files.isRegularFile(f)) {
                m.close();
                throw new IllegalArgumentException(dir + ": no readouts.safetensors");
            }
            try (Safetensors s = Safetensors.open(f)) {
                Readout[] rs = new Readout[3];
                String[] names = {"readout.image", "readout.audio", "readout.both"};
                for (int i = 0; i < 3; i++) {
                    rs[i] = Readout.of(tensor(s, f, names[i]), CLASSES);
                }
                DigitClassifier pixels;
                if (s.contains("classifier.mlp.w1")) {
                    pixels = PixelMlp.of(tensor(s, f, "classifier.mlp.w1"), tensor(s, f, "classifier.mlp.b1"),
                            tensor(s, f, "classifier.mlp.w2"), tensor(s, f, "classifier.mlp.b2"));
                } else {
                    pixels = Readout.of(tensor(s, f, "classifier.pixels"), CLASSES);
                }
                int[] rep = m.representationSizes();
                for (int i = 0; i < 3; i++) {
                    if (rs[i].dim() != rep[i]) {
                        throw new IllegalArgumentException(f + ": " + names[i] + " reads " + rs[i].dim()
                                + " features but the model's representation has " + rep[i]);
                    }
                }
                if (pixels.inputSize() != m.config().imageSize()) {
                    throw new IllegalArgumentException(f + ": the pixel classifier reads " + pixels.inputSize()
                            + " pixels but the model's images have " + m.config().imageSize());
                }
                return new Trained(m, rs[0], rs[1], rs[2], pixels);
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
    }

    private static float[] tensor(Safetensors s, Path f, String name) {
        if (!s.contains(name)) {
            throw new IllegalArgumentException(f + ": no tensor \"" + name + "\"");
        }
        try (Tensor t = s.load(name, Device.CPU)) {
            return t.toFloatArray();
        }
    }

    /** Trains the model and its readouts on {@code train}. */
    public static Trained train(DbmConfig cfg, Split train, float[][] heldImages, Consumer<MultimodalDbn.Progress> progress) {
        return train(cfg, train, heldImages, progress, Device.CPU);
    }

    /** As {@link #train(DbmConfig, Split, float[][], Consumer)} with the RBMs trained on {@code device}. */
    public static Trained train(DbmConfig cfg, Split train, float[][] heldImages, Consumer<MultimodalDbn.Progress> progress,
            Device device) {
        return train(cfg, train, heldImages, progress, device, JOINT_CANDIDATES);
    }

    /**
     * Trains the independent pixel classifier on the real training images, then the model with
     * {@code jointCandidates} joint layers (different seeds, same stacks), keeping the one whose digits
     * generated from the speech of the first {@link #SELECTION_PAIRS} training pairs the classifier reads as
     * the spoken digit most often (no test data is involved), then the three readouts.
     */
    public static Trained train(DbmConfig cfg, Split train, float[][] heldImages, Consumer<MultimodalDbn.Progress> progress,
            Device device, int jointCandidates) {
        long s = cfg.seed();
        PixelMlp rp = PixelMlp.train(train.images(), train.labels(), CLASSES, CLASSIFIER_HIDDEN, CLASSIFIER_EPOCHS, 1, s + 14);
        int ns = Math.min(SELECTION_PAIRS, train.labels().length);
        float[][] selAudio = java.util.Arrays.copyOf(train.audio(), ns);
        int[] selLabels = java.util.Arrays.copyOf(train.labels(), ns);
        MultimodalDbn m = MultimodalDbn.train(cfg, train.images(), train.audio(), heldImages, progress, device, jointCandidates,
                c -> rp.accuracy(c.generateImages(selAudio), selLabels));
        try {
            // the readouts see the training pairs plus READOUT_COPIES copies augmented as the RBMs were (shift > 0)
            int copies = cfg.shift() > 0 ? READOUT_COPIES : 0;
            float[][][] imgs = new float[copies + 1][][];
            float[][][] auds = new float[copies + 1][][];
            imgs[0] = train.images();
            auds[0] = train.audio();
            int side = (int) Math.round(Math.sqrt(cfg.imageSize()));
            for (int c = 1; c <= copies; c++) {
                imgs[c] = side * side == cfg.imageSize() ? Augment.shiftAll(train.images(), side, cfg.shift(), s * 7_777L + c)
                        : train.images();
                auds[c] = Augment.speechAll(train.audio(), cfg.nMels(), cfg.frames(), cfg.shift(), s * 7_789L + c);
            }
            int[] labels = repeat(train.labels(), copies + 1);
            Readout ri = Readout.train(stack(c -> m.represent(imgs[c], null), copies + 1), labels, CLASSES, READOUT_EPOCHS,
                    0.1, 1e-4, s + 11);
            Readout ra = Readout.train(stack(c -> m.represent(null, auds[c]), copies + 1), labels, CLASSES, READOUT_EPOCHS,
                    0.1, 1e-4, s + 12);
            Readout rb = Readout.train(stack(c -> m.represent(imgs[c], auds[c]), copies + 1), labels, CLASSES, READOUT_EPOCHS,
                    0.1, 1e-4, s + 13);
            return new Trained(m, ri, ra, rb, rp);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static float[][] stack(java.util.function.IntFunction<float[][]> part, int parts) {
        List<float[]> rows = new ArrayList<>();
        for (int c = 0; c < parts; c++) {
            rows.addAll(java.util.Arrays.asList(part.apply(c)));
        }
        return rows.toArray(new float[0][]);
    }

    private static int[] repeat(int[] a, int times) {
        int[] out = new int[a.length * times];
        for (int t = 0; t < times; t++) {
            System.arraycopy(a, 0, out, t * a.length, a.length);
        }
        return out;
    }

    /** Scores a trained model on a held-out split (generation is scored on the split's clips). */
    public static Scores evaluate(Trained t, Split test) {
        MultimodalDbn m = t.model();
        double img = t.image().accuracy(m.represent(test.images(), null), test.labels());
        double aud = t.audio().accuracy(m.represent(null, test.audio()), test.labels());
        double both = t.both().accuracy(m.represent(test.images(), test.audio()), test.labels());
        double gen = t.pixels().accuracy(m.generateImages(test.audio()), test.labels());
        double pix = t.pixels().accuracy(test.images(), test.labels());
        return new Scores(img, aud, both, gen, pix, test.labels().length);
    }
}
