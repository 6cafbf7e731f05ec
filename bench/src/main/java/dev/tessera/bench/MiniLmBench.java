package dev.tessera.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tessera.bindings.TesseraNative;
import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.models.bert.BertModel;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.models.hub.ModelResolver;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * all-MiniLM-L6-v2 (the real ONNX file of {@code minilm}) on the CPU, fp32: sentences per second at batch 1, 8 and
 * 32 with 128 tokens, Tessera's imported {@link BertModel} beside ONNX Runtime Java on the same file, same token
 * ids, same thread count, in the same process. Both produce the last hidden state {@code [B, 128, 384]} and copy
 * it to the Java heap: by default into one array kept by the caller ({@code Tensor.copyTo}; ONNX Runtime's pinned
 * output, then {@code FloatBuffer.get}), with {@code --output fresh} into a new array per call. Rounds alternate between the two; the median round counts. Writes
 * {@code bench/results/minilm-cpu.json}:
 *
 * <p>Tessera runs twice per round: with OpenBLAS on 1 thread (the CPU backend's default: each large sgemm cut into
 * single-threaded blocks on {@code TESSERA_NUM_THREADS} threads; Tessera's own kernel pool on {@code --threads})
 * and with OpenBLAS on {@code --threads} threads (its spinning workers then compete with
 * Tessera's pool). ONNX Runtime runs with {@code --threads} intra-op threads. The headline ratio is the better
 * Tessera configuration over ONNX Runtime; both are in the JSON.
 *
 * <pre>TESSERA_NUM_THREADS=2 java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*:$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar" \
 *     dev.tessera.bench.MiniLmBench [--threads 2] [--rounds 7] [--out FILE] [--model minilm] [--output reuse|fresh]</pre>
 */
public final class MiniLmBench {
    private MiniLmBench() {}

    public static void main(String[] args) throws Exception {
        String loadBefore = BenchUtil.loadAverage();
        BenchArgs cli = BenchArgs.parse(args, "MiniLmBench [--threads 2] [--rounds 7] [--seq 128] [--out FILE]"
                + " [--model minilm] [--output reuse|fresh] [--batches 1,8,32] [--stored bf16,int8,int8-dynamic] [--peer-model SPEC]");
        if (cli.help()) {
            return;
        }
        int threads = cli.getInt("--threads", 2);
        int rounds = cli.getInt("--rounds", 7);
        int seqLen = cli.getInt("--seq", 128);
        String spec = cli.get("--model", "minilm");
        String output = cli.get("--output", "reuse");
        if (!output.equals("reuse") && !output.equals("fresh")) {
            throw new IllegalArgumentException("--output must be reuse or fresh, got " + output);
        }
        boolean reuseOutput = output.equals("reuse");
        Path out = cli.getPath("--out", Path.of("bench/results/minilm-cpu.json"));
        int[] batches = cli.getInts("--batches", 1, 8, 32);
        // the same model with its projections held as bfloat16 / int8 (F32 arithmetic), or quantized for dynamic INT8
        // (int8-dynamic: int8 weights and activations), timed beside it
        List<String> storedTypes = new ArrayList<>();
        for (String t : cli.get("--stored", "").split(",")) {
            if (!t.isBlank()) {
                if (!t.trim().equals("int8-dynamic")) {
                    dev.tessera.runtime.DType.parseStorage(t);
                }
                storedTypes.add(t.trim());
            }
        }
        String env = System.getenv("TESSERA_NUM_THREADS");
        if (env == null || Integer.parseInt(env.trim()) != threads) {
            System.err.println("note: set TESSERA_NUM_THREADS=" + threads + " so Tessera's kernels use the same threads"
                    + " (now " + TesseraNative.tsr_cpu_threads() + ")");
        }
        BenchUtil.requireOnnxRuntime("see the javadoc of MiniLmBench");
        Path dir = ModelResolver.resolveDefault(spec);
        // ONNX Runtime runs --peer-model (default: the same model), e.g. minilm-q, the INT8 export of minilm, beside
        // Tessera's int8-dynamic form of the F32 file
        String peerSpec = cli.get("--peer-model", spec);
        boolean samePeer = peerSpec.equals(spec);
        Path onnx = BenchUtil.onlyOnnx(samePeer ? dir : ModelResolver.resolveDefault(peerSpec));
        OrtEnvironment ortEnv = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(threads);
        so.setInterOpNumThreads(1);
        so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        List<Object> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-6s %14s %14s %8s %10s %10s%n", "batch",
                "tessera sent/s", "ORT sent/s", "ratio", "blas1", "blasN"));
        List<SentenceEncoder> storedEnc = new ArrayList<>();
        try (SentenceEncoder enc = SentenceEncoder.load(dir, Device.CPU);
                OrtSession ort = ortEnv.createSession(onnx.toString(), so)) {
            BertModel model = enc.model();
            for (String t : storedTypes) {
                boolean dyn = t.equals("int8-dynamic");
                storedEnc.add(SentenceEncoder.load(dir, Device.CPU, dyn ? null : dev.tessera.runtime.DType.parseStorage(t),
                        dyn));
            }
            for (int b : batches) {
                final int seq = seqLen;
                SplittableRandom r = new SplittableRandom(42 + b);
                int[] ids = new int[b * seq];
                long[] lids = new long[b * seq];
                for (int i = 0; i < ids.length; i++) {
                    int t = i % seq;
                    ids[i] = t == 0 ? 101 : t == seq - 1 ? 102 : 1000 + r.nextInt(29000);
                    lids[i] = ids[i];
                }
                long[] ones = new long[b * seq];
                Arrays.fill(ones, 1);
                int[] mask = new int[b * seq];
                Arrays.fill(mask, 1);
                int reps = Math.max(2, 48 / b);
                long[] shape = {b, seq};
                // The last hidden state ends in a Java float[] on both sides. "reuse" (the default): each side's
                // API for a result into memory the caller keeps — Tensor.copyTo into one array; ORT's pinned output
                // (a tensor over a direct buffer, filled by run) then FloatBuffer.get into one array. "fresh": a new
                // array per call (toFloatArray; ORT's getValue, float[B][S][H]).
                final int hidden = model.config().hiddenSize();
                final boolean reuse = reuseOutput;
                float[] tesseraOut = new float[b * seq * hidden];
                float[] ortOut = new float[b * seq * hidden];
                java.nio.FloatBuffer ortBuf = java.nio.ByteBuffer.allocateDirect(ortOut.length * Float.BYTES)
                        .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
                String ortOutput = ort.getOutputNames().iterator().next();
                ai.onnxruntime.OnnxTensor pinned = ai.onnxruntime.OnnxTensor.createTensor(ortEnv, ortBuf,
                        new long[] {b, seq, hidden});
                Runnable tessera = () -> {
                    try (Scope sc = Tessera.scope()) {
                        Tensor h = model.forward(Tensor.ofInts(ids, Device.CPU, b, seq),
                                Tensor.ofInts(mask, Device.CPU, b, seq), null);
                        if (reuse) {
                            h.copyTo(tesseraOut);
                        } else {
                            h.toFloatArray();
                        }
                    }
                };
                Runnable peer = () -> {
                    try (OrtFeeds feeds = OrtFeeds.of(ortEnv, lids, ones, shape)) {
                        Map<String, ai.onnxruntime.OnnxTensor> in = feeds.map();
                        if (reuse) {
                            try (var res = ort.run(in, Map.of(ortOutput, pinned))) {
                                ortBuf.rewind();
                                ortBuf.get(ortOut);
                            }
                        } else {
                            try (var res = ort.run(in)) {
                                res.get(0).getValue();
                            }
                        }
                    } catch (ai.onnxruntime.OrtException e) {
                        throw new IllegalStateException(e);
                    }
                };
                List<Runnable> storedRuns = new ArrayList<>();
                float[] storedOut = new float[b * seq * hidden];
                for (SentenceEncoder se : storedEnc) {
                    BertModel sm = se.model();
                    storedRuns.add(() -> {
                        try (Scope sc = Tessera.scope()) {
                            sm.forward(Tensor.ofInts(ids, Device.CPU, b, seq), Tensor.ofInts(mask, Device.CPU, b, seq),
                                    null).copyTo(storedOut);
                        }
                    });
                }
                final int nThreads = threads;
                Runnable blas1 = () -> OpenBlas.setThreads(1);
                Runnable blasN = () -> OpenBlas.setThreads(nThreads);
                BenchUtil.warmUp(() -> { // both sides, in both OpenBLAS modes, for 4 s
                    blas1.run();
                    tessera.run();
                    blasN.run();
                    tessera.run();
                    peer.run();
                    blas1.run();
                    storedRuns.forEach(Runnable::run);
                }, 2, 4000);
                if (reuse && !samePeer) { // another model: the same hidden states in direction only
                    checkCosine(b, "F32 vs the peer model " + peerSpec, tesseraOut, ortOut, hidden, -1, 0.9);
                } else if (reuse) { // both sides delivered the same hidden states (a broken pinned output would not)
                    if (!model.int8()) {
                        checkClose(b, tesseraOut, ortOut, 1e-3);
                    } else {
                        // Tessera quantizes each sentence over its own tokens, ONNX Runtime a whole batch at once
                        // (docs/text.md): the first sentence run alone by ORT is the like-for-like reference, and
                        // the batched output must still be the same hidden states in direction
                        float[] alone = new float[seq * hidden];
                        try (OrtFeeds feeds = OrtFeeds.of(ortEnv, Arrays.copyOf(lids, seq), Arrays.copyOf(ones, seq),
                                new long[] {1, seq}); var res = ort.run(feeds.map())) {
                            float[][][] v = (float[][][]) res.get(0).getValue();
                            for (int t = 0; t < seq; t++) {
                                System.arraycopy(v[0][t], 0, alone, t * hidden, hidden);
                            }
                        }
                        checkCosine(b, "the first sentence vs ORT on it alone", Arrays.copyOf(tesseraOut, seq * hidden),
                                alone, hidden, 0.95, 0.99);
                        checkCosine(b, "the batch vs ORT's batch", tesseraOut, ortOut, hidden, -1, 0.97);
                    }
                }
                double[] t1 = new double[rounds];
                double[] tN = new double[rounds];
                double[] tO = new double[rounds];
                double[][] tS = new double[storedRuns.size()][rounds];
                StringBuilder storedLines = new StringBuilder();
                for (int k = 0; k < rounds; k++) {
                    blas1.run();
                    t1[k] = BenchUtil.timeSettled(tessera, reps);
                    for (int j = 0; j < storedRuns.size(); j++) {
                        tS[j][k] = BenchUtil.timeSettled(storedRuns.get(j), reps);
                    }
                    blasN.run();
                    tN[k] = BenchUtil.timeSettled(tessera, reps);
                    tO[k] = BenchUtil.timeSettled(peer, reps);
                }
                double m1 = BenchUtil.median(t1);
                double mN = BenchUtil.median(tN);
                double mo = BenchUtil.median(tO);
                double mt = Math.min(m1, mN);
                double st = b / mt;
                double sp = b / mo;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("batch", b);
                row.put("seq", seq);
                row.put("tesseraMsPerBatch", mt * 1e3);
                row.put("tesseraConfig", m1 <= mN ? "openblas 1 thread" : "openblas " + threads + " threads");
                row.put("tesseraBlas1MsPerBatch", m1 * 1e3);
                row.put("tesseraBlasNMsPerBatch", mN * 1e3);
                row.put("ortMsPerBatch", mo * 1e3);
                row.put("tesseraSentencesPerS", st);
                row.put("ortSentencesPerS", sp);
                row.put("ratio", st / sp);
                row.put("ratioBlas1", mo / m1);
                row.put("ratioBlasN", mo / mN);
                for (int j = 0; j < storedRuns.size(); j++) {
                    double ms = BenchUtil.median(tS[j]);
                    String name = storedTypes.get(j);
                    Map<String, Object> st2 = new LinkedHashMap<>();
                    st2.put("msPerBatch", ms * 1e3);
                    st2.put("sentencesPerS", b / ms);
                    st2.put("ratioToF32Blas1", m1 / ms);
                    st2.put("ratioToOrt", mo / ms);
                    row.put("stored_" + name, st2);
                    storedLines.append(String.format(Locale.ROOT, "       %s matrices (blas1): %.1f sent/s, %.2fx f32,"
                            + " %.2fx ORT%n", name, b / ms, m1 / ms, mo / ms));
                }
                rows.add(row);
                pinned.close();
                table.append(String.format(Locale.ROOT, "%-6d %14.1f %14.1f %8.2f %10.2f %10.2f%n", b, st, sp, st / sp,
                        mo / m1, mo / mN)).append(storedLines);
            }
        } finally {
            storedEnc.forEach(SentenceEncoder::close);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "all-MiniLM-L6-v2 forward (last hidden state), CPU, " + seqLen + " tokens, Tessera vs"
                + " ONNX Runtime Java 1.29.0 " + (samePeer ? "on the same ONNX file" : "on " + peerSpec + "'s ONNX file"));
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("java", HostInfo.java());
        doc.put("cpu", HostInfo.cpu());
        doc.put("threads", threads);
        doc.put("model", spec);
        doc.put("peerModel", peerSpec);
        doc.put("tesseraThreads", TesseraNative.tsr_cpu_threads());
        doc.put("openblasThreads", "1 and " + threads + " (see tesseraConfig per row)");
        doc.put("method", "same process, same random token ids (no padding), rounds alternate Tessera / ORT, each round"
                + " times max(2, 48/batch) calls of each configuration after a warm-up of at least 2 calls of each and"
                + " 4 s in all (JIT compiles done), each timed block after a " + BenchUtil.SETTLE_MS + " ms pause (ONNX Runtime's"
                + " intra-op workers spin for a while after a run and would share the cores with the next block); median of " + rounds
                + " rounds; Tessera with OpenBLAS on 1 thread (blas1, the default: large sgemms split into single-threaded"
                + " blocks over TESSERA_NUM_THREADS threads) and on " + threads + " threads (blasN, no split), its kernel"
                + " pool on TESSERA_NUM_THREADS; ORT: intra-op "
                + threads + " threads, sequential, default graph optimisations; ratio = the better Tessera configuration's"
                + " sentences/s / ORT sentences/s (> 1: Tessera faster)");
        doc.put("output", reuseOutput
                ? "reuse: the last hidden state into one float[] per side (Tensor.copyTo; ORT pinned output over a"
                        + " direct buffer, then FloatBuffer.get), checked equal to 1e-3 after the warm-up"
                : "fresh: a new array per call (Tensor.toFloatArray; ORT Result getValue, float[B][S][H])");
        BenchUtil.finish(out, doc, loadBefore, rows, table);
    }


    /** fp32 hidden states agree to {@code bound} absolute (a broken pinned output or a wrong model would not). */
    static void checkClose(int batch, float[] tessera, float[] ort, double bound) {
        double worst = 0;
        for (int i = 0; i < tessera.length; i++) {
            worst = Math.max(worst, Math.abs(tessera[i] - ort[i]));
        }
        if (!(worst < bound)) {
            throw new IllegalStateException("batch " + batch + ": Tessera and ORT outputs differ by " + worst);
        }
    }

    /**
     * INT8 hidden states agree in direction, token by token: cosine at least {@code minFloor} for every token and
     * {@code meanFloor} on average. Against ONNX Runtime on the same sentence alone the arithmetic is the same (min
     * 0.95, mean 0.99: the fp32 parts differ in the last bits and move a few activations across a rounding step of
     * the next quantization, on the bench's random token ids more than on text); against its whole batch, which it
     * quantizes over all sentences at once, mean 0.97. Measured on the 2-core Zen 5 host: alone min 0.990 / mean
     * 0.994; batch 8 and 32 min 0.95 / 0.91, mean 0.984.
     */
    static void checkCosine(int batch, String what, float[] tessera, float[] ort, int hidden, double minFloor,
            double meanFloor) {
        double min = 1;
        double sum = 0;
        int rows = tessera.length / hidden;
        for (int r = 0; r < rows; r++) {
            float c = SentenceEncoder.cosine(Arrays.copyOfRange(tessera, r * hidden, (r + 1) * hidden),
                    Arrays.copyOfRange(ort, r * hidden, (r + 1) * hidden));
            double cv = Float.isNaN(c) ? -1 : c;
            min = Math.min(min, cv);
            sum += cv;
        }
        String line = String.format(Locale.ROOT, "batch %d: INT8 hidden states, %s: cosine per token min %.4f, mean"
                + " %.5f", batch, what, min, sum / rows);
        if (!(min >= minFloor && sum / rows >= meanFloor)) {
            throw new IllegalStateException(line);
        }
        System.out.println(line);
    }

    /** ONNX Runtime's three inputs of a [rows, seq] batch of token ids (token types 0), closed together. */
    private record OrtFeeds(ai.onnxruntime.OnnxTensor ids, ai.onnxruntime.OnnxTensor mask,
            ai.onnxruntime.OnnxTensor types) implements AutoCloseable {
        static OrtFeeds of(OrtEnvironment env, long[] ids, long[] mask, long[] shape)
                throws ai.onnxruntime.OrtException {
            return new OrtFeeds(ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape),
                    ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape),
                    ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape));
        }

        Map<String, ai.onnxruntime.OnnxTensor> map() {
            return Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types);
        }

        @Override
        public void close() {
            ids.close();
            mask.close();
            types.close();
        }
    }
}
