package dev.tessera.models.dbm;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Safetensors;
import dev.tessera.runtime.rbm.ContrastiveDivergence;
import dev.tessera.runtime.rbm.Rbm;
import dev.tessera.runtime.rbm.RbmConfig;
import dev.tessera.runtime.rbm.RbmParams;
import dev.tessera.runtime.rbm.VisibleType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Multimodal deep belief net over images and speech (Srivastava &amp; Salakhutdinov's multimodal DBM,
 * DBN variant): an image stack 784→h1→h2 of binary RBMs, an audio stack (Gaussian RBM on standardised
 * log-mel features, then a binary RBM), and a joint binary RBM over [image top, audio top]. Every layer is
 * trained label-free on the runtime's RBM kernels: the stacks with CD-1 on freshly augmented data each epoch,
 * the joint layer with persistent CD (see {@link #jointLayer}). Inference is mean-field up the stacks; for
 * the representation a missing modality's top layer is filled in by alternating mean-field in the joint RBM
 * with the known top clamped; generation samples it by block Gibbs sampling instead ({@link #sampleTop}) and
 * runs it down its stack. Owns its parameters: close it.
 */
public final class MultimodalDbn implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MultimodalDbn.class);
    /** Mean-field sweeps in the joint layer when a modality is missing. */
    public static final int FILL_SWEEPS = 20;
    /** Block Gibbs sweeps of {@link #generateImages}. */
    public static final int GIBBS_SWEEPS = 500;
    /** The last sweeps whose p(image top | h) {@link #generateImages} averages. */
    public static final int GIBBS_KEEP = 250;
    /**
     * Independent Gibbs chains per row in {@link #generateImages}, averaged (one long chain reads better than
     * several short ones at the same cost: short chains have not left the modes they start in).
     */
    public static final int GIBBS_CHAINS = 1;

    private final DbmConfig config;
    private final RbmParams img1, img2, aud1, aud2, joint;
    private final float[] featMean, featStd;
    /** Threads may share the model; close() waits for their calls (the layers' native weights are freed after). */
    private final dev.tessera.models.nn.UseGuard guard = new dev.tessera.models.nn.UseGuard("multimodal DBN");

    MultimodalDbn(DbmConfig config, RbmParams img1, RbmParams img2, RbmParams aud1, RbmParams aud2,
            RbmParams joint, float[] featMean, float[] featStd) {
        this.config = config;
        this.img1 = img1;
        this.img2 = img2;
        this.aud1 = aud1;
        this.aud2 = aud2;
        this.joint = joint;
        this.featMean = featMean;
        this.featStd = featStd;
    }

    public DbmConfig config() {
        return config;
    }

    /** Progress of training: layer name, epoch (1-based), epochs, reconstruction error of the epoch. */
    public record Progress(String layer, int epoch, int epochs, double reconstructionError, double freeEnergyGap) {}

    /**
     * Trains all layers greedily (one joint layer, on the CPU) on paired data: {@code images [n][imageSize]} in [0, 1] and raw speech
     * features {@code audio [n][audioSize]} (from {@link DigitData#speechFeatures}); row i of both is one pair.
     * {@code heldImages} (may be null) gives the free-energy gap (held-out minus training mean free energy)
     * of the first image layer.
     */
    public static MultimodalDbn train(DbmConfig cfg, float[][] images, float[][] audio, float[][] heldImages,
            Consumer<Progress> progress) {
        return train(cfg, images, audio, heldImages, progress, Device.CPU);
    }

    /**
     * As {@link #train(DbmConfig, float[][], float[][], float[][], Consumer)}, with the CD steps and the
     * passes between layers on {@code device} (e.g. {@link Device#cuda(int)}); the trained parameters are
     * copied to the host at the end, so the returned model runs inference on the CPU. Same seed, same
     * backend: same parameters.
     */
    public static MultimodalDbn train(DbmConfig cfg, float[][] images, float[][] audio, float[][] heldImages,
            Consumer<Progress> progress, Device device) {
        return train(cfg, images, audio, heldImages, progress, device, 1, null);
    }

    /**
     * As {@link #train(DbmConfig, float[][], float[][], float[][], Consumer, Device)}, training
     * {@code jointCandidates} joint layers from different seeds on the same stacks and keeping the one
     * {@code jointScore} rates highest (a model-selection hook: {@link DigitExperiment} scores speech-to-image
     * generation on training pairs). With one candidate, {@code jointScore} is not called and may be null.
     */
    public static MultimodalDbn train(DbmConfig cfg, float[][] images, float[][] audio, float[][] heldImages,
            Consumer<Progress> progress, Device device, int jointCandidates,
            java.util.function.ToDoubleFunction<MultimodalDbn> jointScore) {
        if (jointCandidates < 1 || (jointCandidates > 1 && jointScore == null)) {
            throw new IllegalArgumentException("train: jointCandidates must be >= 1 (got " + jointCandidates
                    + "), with a score function when > 1");
        }
        if (device == null) {
            throw new IllegalArgumentException("train: device must not be null");
        }
        dev.tessera.runtime.Backends.get(device); // throws with the reason (no GPU, no driver) before any work
        int n = images.length;
        if (n == 0 || audio.length != n) {
            throw new IllegalArgumentException("train: " + n + " images but " + audio.length + " speech features");
        }
        checkWidth("image", images, cfg.imageSize());
        checkWidth("speech feature", audio, cfg.audioSize());
        float[] mean = new float[cfg.audioSize()];
        float[] std = new float[cfg.audioSize()];
        for (float[] r : audio) {
            for (int j = 0; j < mean.length; j++) {
                mean[j] += r[j] / n;
            }
        }
        for (float[] r : audio) {
            for (int j = 0; j < mean.length; j++) {
                std[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / n;
            }
        }
        for (int j = 0; j < std.length; j++) {
            // + 1: near-silent positions (almost constant across clips) must not be blown up by the scaling
            std[j] = (float) Math.sqrt(std[j] + 1);
        }
        float[][] a0 = standardise(audio, mean, std);
        long seed = cfg.seed();
        int side = (int) Math.round(Math.sqrt(cfg.imageSize()));
        int shift = side * side == cfg.imageSize() ? cfg.shift() : 0;
        // epoch e's images: every image moved by its own random shift in [-shift, shift]^2 (epoch 0: none)
        java.util.function.IntFunction<float[][]> shifted = e -> shift == 0 || e == 0 ? images
                : Augment.shiftAll(images, side, shift, seed * 1_000_003L + e);
        // epoch e's speech: every feature moved by random mel-band / frame shifts and a random gain (epoch 0: none)
        java.util.function.IntFunction<float[][]> heard = e -> cfg.shift() == 0 || e == 0 ? a0
                : standardise(Augment.speechAll(audio, cfg.nMels(), cfg.frames(), cfg.shift(), seed * 1_000_033L + e),
                        mean, std);
        List<RbmParams> made = new ArrayList<>();
        try {
            RbmParams i1 = layer("image1", made, shifted, heldImages, VisibleType.BINARY, cfg.image1(), cfg,
                    cfg.learningRate(), seed + 1, progress, device);
            RbmParams i2 = layer("image2", made, e -> upAll(i1, VisibleType.BINARY, shifted.apply(e)), null,
                    VisibleType.BINARY, cfg.image2(), cfg, cfg.learningRate(), seed + 2, progress, device);
            RbmParams a1 = layer("audio1", made, heard, null, VisibleType.GAUSSIAN, cfg.audio1(), cfg,
                    cfg.learningRate() / 10, seed + 3, progress, device);
            RbmParams a2 = layer("audio2", made, e -> upAll(a1, VisibleType.GAUSSIAN, heard.apply(e)), null,
                    VisibleType.BINARY, cfg.audio2(), cfg, cfg.learningRate(), seed + 4, progress, device);
            float[][] tops = concat(upAll(i2, VisibleType.BINARY, upAll(i1, VisibleType.BINARY, images)),
                    upAll(a2, VisibleType.BINARY, upAll(a1, VisibleType.GAUSSIAN, a0)));
            RbmParams[] st = {onHost(i1, made), onHost(i2, made), onHost(a1, made), onHost(a2, made)};
            MultimodalDbn best = null;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < jointCandidates; k++) {
                String name = jointCandidates == 1 ? "joint" : "joint" + (k + 1);
                RbmParams j = onHost(jointLayer(name, made, tops, cfg, seed + 5 + 7919L * k, progress, device), made);
                MultimodalDbn candidate = new MultimodalDbn(cfg, st[0], st[1], st[2], st[3], j, mean, std);
                if (jointCandidates == 1) {
                    return candidate;
                }
                double score = jointScore.applyAsDouble(candidate);
                LOG.info("joint layer candidate {}/{}: score {}", k + 1, jointCandidates, score);
                if (score > bestScore) {
                    if (best != null) {
                        best.joint.close();
                    }
                    best = candidate;
                    bestScore = score;
                } else {
                    j.close();
                }
            }
            return best;
        } catch (RuntimeException e) {
            made.forEach(RbmParams::close);
            throw e;
        }
    }

    /**
     * The joint layer: PCD-1 over the (unaugmented) mean-field tops of both stacks, one persistent chain per
     * batch row, constant learning rate and momentum 0.5, {@code cfg.jointEpochs()} epochs. The persistent
     * chains roam the model's joint distribution, so the negative phase sees image and speech tops the model
     * itself pairs; this is what gives the cross-modal coupling that generation relies on (plain CD-1 learns
     * mostly each modality's own statistics there, and speech-to-image generation then collapses to one blob).
     */
    static RbmParams jointLayer(String name, List<RbmParams> made, float[][] tops, DbmConfig cfg, long seed,
            Consumer<Progress> progress, Device device) {
        int nv = tops[0].length;
        RbmParams p = RbmParams.init(nv, cfg.joint(), 0.01f, seed, device);
        made.add(p);
        int n = tops.length;
        int b = Math.min(cfg.batch(), n);
        RbmConfig rc = RbmConfig.defaults().withVisibleType(VisibleType.BINARY).withLearningRate(cfg.learningRate())
                .withMomentum(0.5f).withWeightDecay(2e-4f).withSeed(seed).withPersistent(true, b);
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        try (ContrastiveDivergence cd = new ContrastiveDivergence(p, rc)) {
            for (int e = 1; e <= cfg.jointEpochs(); e++) {
                epoch(cd, tops, order, rnd, b, device);
                report(name, p, VisibleType.BINARY, tops, null, e, cfg.jointEpochs(), progress);
            }
        }
        return p;
    }

    /** Momentum of epoch e (1-based): 0.5 for the first five epochs, then 0.9. */
    static float momentum(int e) {
        return e <= 5 ? 0.5f : 0.9f;
    }

    /** Learning rate of epoch e (1-based) of {@code epochs}: lr / (1 + 2 (e - 1) / epochs), down to about lr / 3. */
    static float rate(float lr, int e, int epochs) {
        return (float) (lr / (1 + 2.0 * (e - 1) / epochs));
    }

    /**
     * CD-1 training of one layer: {@code data.apply(e)} gives epoch e's inputs (e = 0: the unaugmented
     * data, used for the monitors).
     */
    static RbmParams layer(String name, List<RbmParams> made, java.util.function.IntFunction<float[][]> data,
            float[][] held, VisibleType type, int hidden, DbmConfig cfg, float lr, long seed, Consumer<Progress> progress,
            Device device) {
        float[][] plain = data.apply(0);
        int nv = plain[0].length;
        RbmParams p = RbmParams.init(nv, hidden, 0.01f, seed, device);
        made.add(p);
        int n = plain.length;
        int b = Math.min(cfg.batch(), n);
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int e = 1; e <= cfg.epochs(); e++) {
            float[][] x = data.apply(e);
            RbmConfig rc = RbmConfig.defaults().withVisibleType(type).withLearningRate(rate(lr, e, cfg.epochs()))
                    .withMomentum(momentum(e)).withWeightDecay(2e-4f).withSeed(seed * 7919L + e);
            try (ContrastiveDivergence cd = new ContrastiveDivergence(p, rc)) {
                epoch(cd, x, order, rnd, b, device);
            }
            report(name, p, type, plain, held, e, cfg.epochs(), progress);
        }
        return p;
    }

    /** One epoch of CD steps: the rows of {@code x} shuffled ({@code order} in place), whole batches of b. */
    private static void epoch(ContrastiveDivergence cd, float[][] x, int[] order, SplittableRandom rnd, int b,
            Device device) {
        int nv = x[0].length;
        shuffle(order, rnd);
        float[] flat = new float[b * nv];
        for (int s = 0; s + b <= x.length; s += b) {
            for (int r = 0; r < b; r++) {
                System.arraycopy(x[order[s + r]], 0, flat, r * nv, nv);
            }
            try (Tensor t = Tensor.of(flat, device, b, nv)) {
                cd.step(t);
            }
        }
    }

    /** p itself on the CPU, else a host copy of it (recorded in {@code made}) with p closed. */
    private static RbmParams onHost(RbmParams p, List<RbmParams> made) {
        if (p.weights().device().isCpu()) {
            return p;
        }
        RbmParams h = toHost(p);
        made.add(h);
        p.close();
        return h;
    }

    private static RbmParams toHost(RbmParams p) {
        return RbmParams.of(p.weights().toFloatArray(), p.visibleBias().toFloatArray(), p.hiddenBias().toFloatArray(),
                p.visibleSize(), p.hiddenSize(), Device.CPU);
    }

    /** Reconstruction error (and free-energy gap when {@code held} is given) of epoch e, to the log and {@code progress}. */
    private static void report(String name, RbmParams p, VisibleType type, float[][] data, float[][] held, int e, int epochs,
            Consumer<Progress> progress) {
        double recon;
        double gap = Double.NaN;
        Device device = p.weights().device();
        try (Tensor t = tensor(data, Math.min(data.length, 500), device)) {
            recon = Rbm.reconstructionError(p, type, t);
            if (held != null) {
                try (Tensor h = tensor(held, Math.min(held.length, 500), device)) {
                    gap = meanOf(Rbm.freeEnergy(p, type, h)) - meanOf(Rbm.freeEnergy(p, type, t));
                }
            }
        }
        LOG.debug("{} epoch {}/{}: reconstruction error {}", name, e, epochs, recon);
        if (progress != null) {
            progress.accept(new Progress(name, e, epochs, recon, gap));
        }
    }

    private static double meanOf(Tensor t) {
        try (t) {
            double s = 0;
            for (float f : t.toFloatArray()) {
                s += f;
            }
            return s / t.numel();
        }
    }

    private static void shuffle(int[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static Tensor tensor(float[][] rows, int n) {
        return tensor(rows, n, Device.CPU);
    }

    private static Tensor tensor(float[][] rows, int n, Device device) {
        int d = rows[0].length;
        float[] flat = new float[n * d];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows[r], 0, flat, r * d, d);
        }
        return Tensor.of(flat, device, n, d);
    }

    private static float[][] rows(Tensor t) {
        int n = (int) t.shape()[0];
        int d = (int) t.shape()[1];
        float[] flat = t.toFloatArray();
        float[][] out = new float[n][d];
        for (int r = 0; r < n; r++) {
            System.arraycopy(flat, r * d, out[r], 0, d);
        }
        return out;
    }

    private static float[][] upAll(RbmParams p, VisibleType type, float[][] x) {
        float[][] out = new float[x.length][];
        for (int s = 0; s < x.length; s += 1000) {
            int n = Math.min(1000, x.length - s);
            float[][] part = java.util.Arrays.copyOfRange(x, s, s + n);
            try (Tensor t = tensor(part, n, p.weights().device()); Tensor h = Rbm.up(p, type, t, null, 1f)) {
                System.arraycopy(rows(h), 0, out, s, n);
            }
        }
        return out;
    }

    private static float[][] downAll(RbmParams p, VisibleType type, float[][] h) {
        try (Tensor t = tensor(h, h.length, p.weights().device()); Tensor v = Rbm.down(p, type, t, null, null)) {
            return rows(v);
        }
    }

    private static float[][] concat(float[][] a, float[][] b) {
        float[][] out = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = new float[a[i].length + b[i].length];
            System.arraycopy(a[i], 0, out[i], 0, a[i].length);
            System.arraycopy(b[i], 0, out[i], a[i].length, b[i].length);
        }
        return out;
    }

    private static float[][] standardise(float[][] x, float[] mean, float[] std) {
        float[][] out = new float[x.length][mean.length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < mean.length; j++) {
                out[i][j] = (x[i][j] - mean[j]) / std[j];
            }
        }
        return out;
    }

    private static void checkWidth(String what, float[][] x, int width) {
        for (int i = 0; i < x.length; i++) {
            if (x[i] == null || x[i].length != width) {
                throw new IllegalArgumentException(what + " " + i + " has " + (x[i] == null ? 0 : x[i].length)
                        + " values, the model expects " + width);
            }
            for (float f : x[i]) {
                if (!Float.isFinite(f)) {
                    throw new IllegalArgumentException(what + " " + i + " holds a non-finite value");
                }
            }
        }
    }

    /** Top of the image stack for images {@code [n][imageSize]} in [0, 1]. */
    public float[][] imageTop(float[][] images) {
        try (var use = guard.enter()) {
            return imageStack(images)[1];
        }
    }

    /** Both hidden layers of the image stack, {first, top}. */
    float[][][] imageStack(float[][] images) {
        checkWidth("image", images, config.imageSize());
        float[][] x1 = upAll(img1, VisibleType.BINARY, images);
        return new float[][][] {x1, upAll(img2, VisibleType.BINARY, x1)};
    }

    /** Both hidden layers of the audio stack, {first, top}. */
    float[][][] audioStack(float[][] features) {
        checkWidth("speech feature", features, config.audioSize());
        float[][] y1 = upAll(aud1, VisibleType.GAUSSIAN, standardise(features, featMean, featStd));
        return new float[][][] {y1, upAll(aud2, VisibleType.BINARY, y1)};
    }

    static float[][] cat(float[][]... parts) {
        float[][] out = parts[0];
        for (int i = 1; i < parts.length; i++) {
            out = concat(out, parts[i]);
        }
        return out;
    }

    /** Top of the audio stack for raw speech features {@code [n][audioSize]}. */
    public float[][] audioTop(float[][] features) {
        try (var use = guard.enter()) {
            return audioStack(features)[1];
        }
    }

    /**
     * Widths of the representation {@link #represent} gives for images only, speech only and both:
     * {@code image1 + image2 + audio2 + joint}, {@code image2 + audio1 + audio2 + joint} and
     * {@code image1 + image2 + audio1 + audio2 + joint}.
     */
    public int[] representationSizes() {
        DbmConfig c = config;
        return new int[] {c.image1() + c.image2() + c.audio2() + c.joint(), c.image2() + c.audio1() + c.audio2() + c.joint(),
            c.image1() + c.image2() + c.audio1() + c.audio2() + c.joint()};
    }

    /**
     * The joint representation of pairs, of images alone or of speech alone (the other argument null): the
     * mean-field activations of the given modality's two hidden layers, the other modality's top layer
     * inferred by mean-field in the joint layer with the known top clamped (when that modality is missing),
     * and the joint hidden layer. Row widths: {@link #representationSizes()}.
     */
    public float[][] represent(float[][] images, float[][] features) {
        try (var use = guard.enter()) {
            return representOpen(images, features);
        }
    }

    private float[][] representOpen(float[][] images, float[][] features) {
        if (images == null && features == null) {
            throw new IllegalArgumentException("represent: give images, speech features or both");
        }
        if (images != null && features != null && images.length != features.length) {
            throw new IllegalArgumentException("represent: " + images.length + " images but " + features.length
                    + " speech features");
        }
        float[][][] xs = images == null ? null : imageStack(images);
        float[][][] ys = features == null ? null : audioStack(features);
        float[][][] filled = fill(xs == null ? null : xs[1], ys == null ? null : ys[1]);
        float[][] h = upAll(joint, VisibleType.BINARY, concat(filled[0], filled[1]));
        if (ys == null) {
            return cat(xs[0], xs[1], filled[1], h);
        }
        if (xs == null) {
            return cat(filled[0], ys[0], ys[1], h);
        }
        return cat(xs[0], xs[1], ys[0], ys[1], h);
    }

    /** Image and audio tops with a missing one (null) filled in by alternating mean-field in the joint RBM. */
    float[][][] fill(float[][] x, float[][] y) {
        if (x != null && y != null) {
            return new float[][][] {x, y};
        }
        int n = x != null ? x.length : y.length;
        int ni = config.image2();
        float[][] v = x != null ? concat(x, constant(n, config.audio2(), 0.5f)) : concat(constant(n, ni, 0.5f), y);
        for (int s = 0; s < FILL_SWEEPS; s++) {
            float[][] h = upAll(joint, VisibleType.BINARY, v);
            float[][] m = downAll(joint, VisibleType.BINARY, h);
            for (int i = 0; i < n; i++) {
                if (x != null) {
                    System.arraycopy(m[i], ni, v[i], ni, config.audio2());
                } else {
                    System.arraycopy(m[i], 0, v[i], 0, ni);
                }
            }
        }
        float[][] a = new float[n][ni];
        float[][] b = new float[n][config.audio2()];
        for (int i = 0; i < n; i++) {
            System.arraycopy(v[i], 0, a[i], 0, ni);
            System.arraycopy(v[i], ni, b[i], 0, config.audio2());
        }
        return new float[][][] {a, b};
    }

    /**
     * The missing top of the joint layer given the other one, by block Gibbs sampling in the joint RBM with
     * the known top clamped: h ~ p(h | missing, known), missing ~ p(missing | h), starting from missing = 0,
     * {@link #GIBBS_SWEEPS} sweeps; the result is the average of p(missing | h) over the last
     * {@link #GIBBS_KEEP} sweeps (a Monte-Carlo estimate of E[missing | known]). {@code knownIsImage}: the
     * known rows are image tops {@code [n][image2]} (the speech top is sampled), else speech tops
     * {@code [n][audio2]}. Bernoulli draws come from the runtime's Philox stream with {@code seed}: the same
     * seed gives the same result on the same backend.
     */
    float[][] sampleTop(float[][] known, boolean knownIsImage, long seed) {
        return sampleTop(known, knownIsImage, seed, GIBBS_CHAINS, GIBBS_SWEEPS, GIBBS_KEEP);
    }

    float[][] sampleTop(float[][] knownRows, boolean knownIsImage, long seed, int chains, int sweeps, int keep) {
        float[][] known = new float[knownRows.length * chains][];
        for (int i = 0; i < knownRows.length; i++) {
            for (int c = 0; c < chains; c++) {
                known[i * chains + c] = knownRows[i];
            }
        }
        int n = known.length;
        int ni = config.image2();
        int nv = ni + config.audio2();
        int nh = config.joint();
        // rows [from, to) of the joint weights belong to the missing top, the others to the known one
        int from = knownIsImage ? ni : 0;
        int to = knownIsImage ? nv : ni;
        int kfrom = knownIsImage ? 0 : ni;
        int kto = knownIsImage ? ni : nv;
        int nm = to - from;
        if (known[0].length != kto - kfrom) {
            throw new IllegalArgumentException("sampleTop: known rows have " + known[0].length + " values, expected "
                    + (kto - kfrom));
        }
        long offset = 0;
        Tensor w = joint.weights(); // owned by the model: views only below
        try (Tensor yt = tensor(known, n);
                Tensor wx = w.slice(0, from, to);
                Tensor wxT = wx.t();
                Tensor wy = w.slice(0, kfrom, kto);
                Tensor clamped = Ops.matmul(yt, wy);
                Tensor vb = joint.visibleBias().slice(0, from, to)) {
            Tensor x = Tensor.zeros(dev.tessera.runtime.DType.F32, Device.CPU, n, nm);
            Tensor sum = null;
            try {
                for (int s = 0; s < sweeps; s++) {
                    Rbm.Sample xs;
                    try (Tensor preH = Ops.matmul(x, wx);
                            Rbm.Sample hs = Rbm.sigmoidSample(preH, joint.hiddenBias(), clamped, seed, offset);
                            Tensor preX = Ops.matmul(hs.sample(), wxT)) {
                        offset += (long) n * nh;
                        xs = Rbm.sigmoidSample(preX, vb, null, seed, offset);
                        offset += (long) n * nm;
                    }
                    x.close();
                    x = xs.sample();
                    if (s >= sweeps - keep) {
                        if (sum == null) {
                            sum = xs.mean();
                        } else {
                            Tensor next = Ops.add(sum, xs.mean());
                            sum.close();
                            xs.mean().close();
                            sum = next;
                        }
                    } else {
                        xs.mean().close();
                    }
                }
                float[] all = sum.toFloatArray();
                float[][] out = new float[knownRows.length][nm];
                for (int i = 0; i < n; i++) {
                    float[] o = out[i / chains];
                    for (int k = 0; k < nm; k++) {
                        o[k] += all[i * nm + k] / ((float) keep * chains);
                    }
                }
                return out;
            } finally {
                x.close();
                if (sum != null) {
                    sum.close();
                }
            }
        }
    }

    private static float[][] constant(int n, int d, float value) {
        float[][] out = new float[n][d];
        for (float[] r : out) {
            java.util.Arrays.fill(r, value);
        }
        return out;
    }

    /** Images {@code [n][imageSize]} (pixel probabilities) generated from speech features. */
    public float[][] generateImages(float[][] features) {
        try (var use = guard.enter()) {
            float[][] x = sampleTop(audioTop(features), false, config.seed() * 31 + 17);
            return downAll(img1, VisibleType.BINARY, downAll(img2, VisibleType.BINARY, x));
        }
    }

    /** One-step reconstructions of images through the image stack (up two layers, down two). */
    public float[][] reconstructImages(float[][] images) {
        try (var use = guard.enter()) {
            return downAll(img1, VisibleType.BINARY, downAll(img2, VisibleType.BINARY, imageTop(images)));
        }
    }

    private static final String[] NAMES = {"image1", "image2", "audio1", "audio2", "joint"};

    float[] featMean() {
        return featMean;
    }

    float[] featStd() {
        return featStd;
    }

    RbmParams[] layers() {
        return new RbmParams[] {img1, img2, aud1, aud2, joint};
    }

    /** Writes {@code dir/model.safetensors} and {@code dir/config.json}. */
    public void save(Path dir) throws IOException {
        try (var use = guard.enter()) {
            saveOpen(dir);
        }
    }

    private void saveOpen(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> t = new LinkedHashMap<>();
        RbmParams[] ls = layers();
        for (int i = 0; i < ls.length; i++) {
            t.put(NAMES[i] + ".weight", ls[i].weights());
            t.put(NAMES[i] + ".visible_bias", ls[i].visibleBias());
            t.put(NAMES[i] + ".hidden_bias", ls[i].hiddenBias());
        }
        try (Tensor m = Tensor.of(featMean, Device.CPU, featMean.length);
                Tensor s = Tensor.of(featStd, Device.CPU, featStd.length)) {
            t.put("audio.feature_mean", m);
            t.put("audio.feature_std", s);
            Safetensors.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
        }
        config.write(dir.resolve("config.json"));
    }

    /**
     * Loads a checkpoint written by {@link #save}. A tensor missing or of another shape than config.json
     * implies is an {@link IllegalArgumentException} naming it.
     */
    public static MultimodalDbn load(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        Path st = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(cfgFile) || !Files.isRegularFile(st)) {
            throw new IllegalArgumentException(dir + ": not a multimodal DBN checkpoint (need config.json and model.safetensors)");
        }
        DbmConfig cfg = DbmConfig.read(cfgFile);
        int[][] shapes = {{cfg.imageSize(), cfg.image1()}, {cfg.image1(), cfg.image2()}, {cfg.audioSize(), cfg.audio1()},
            {cfg.audio1(), cfg.audio2()}, {cfg.image2() + cfg.audio2(), cfg.joint()}};
        List<RbmParams> made = new ArrayList<>();
        try (Safetensors f = Safetensors.open(st)) {
            for (int i = 0; i < NAMES.length; i++) {
                int nv = shapes[i][0];
                int nh = shapes[i][1];
                float[] w = read(f, NAMES[i] + ".weight", dir, nv, nh);
                float[] vb = read(f, NAMES[i] + ".visible_bias", dir, nv);
                float[] hb = read(f, NAMES[i] + ".hidden_bias", dir, nh);
                made.add(RbmParams.of(w, vb, hb, nv, nh, Device.CPU));
            }
            float[] mean = read(f, "audio.feature_mean", dir, cfg.audioSize());
            float[] std = read(f, "audio.feature_std", dir, cfg.audioSize());
            return new MultimodalDbn(cfg, made.get(0), made.get(1), made.get(2), made.get(3), made.get(4), mean, std);
        } catch (RuntimeException | IOException e) {
            made.forEach(RbmParams::close);
            throw e;
        }
    }

    private static float[] read(Safetensors f, String name, Path dir, long... shape) {
        if (!f.contains(name)) {
            throw new IllegalArgumentException(dir + ": checkpoint has no tensor \"" + name + "\"");
        }
        try (Tensor t = f.load(name, Device.CPU)) {
            if (!java.util.Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException(dir + ": tensor \"" + name + "\" has shape "
                        + java.util.Arrays.toString(t.shape()) + " but config.json implies "
                        + java.util.Arrays.toString(shape));
            }
            return t.toFloatArray();
        }
    }

    @Override
    public void close() {
        if (guard.close()) {
            for (RbmParams p : layers()) {
                p.close();
            }
        }
    }
}
