package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real all-MiniLM-L6-v2 ONNX file through Tessera's import and BERT encoder against ONNX Runtime Java 1.29.0
 * on the same file and the same token ids: token-level hidden states (the graph's only output,
 * {@code last_hidden_state [batch, seq, 384]}; inputs {@code input_ids}, {@code attention_mask},
 * {@code token_type_ids}, all INT64) and mean-pooled, L2-normalised sentence embeddings, batch 1 and batch 32,
 * for a few hundred inputs of 1 to 256 tokens. Relative error ‖ours − ORT‖ / ‖ORT‖ per input.
 */
class MiniLmOrtParityTest {
    private static final double TOL = 1e-4;
    private static SentenceEncoder enc;
    private static OrtEnvironment env;
    private static OrtSession ort;
    private static List<int[]> inputs;

    @BeforeAll
    static void setUp() throws Exception {
        enc = SentenceEncoder.load(MiniLm.dir(), Device.CPU);
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(2);
        ort = env.createSession(MiniLm.onnx().toString(), so);
        inputs = inputs(enc);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (ort != null) {
            ort.close();
        }
        if (enc != null) {
            enc.close();
        }
    }

    /** Sentences of the fixture, windows of consecutive sentences (long inputs) and 1- and 2-token inputs. */
    static List<int[]> inputs(SentenceEncoder enc) throws IOException {
        try (InputStream in = MiniLmOrtParityTest.class.getResourceAsStream("/bert/sentences.txt")) {
            return ParityInputs.of(ParityInputs.sentences(new String(in.readAllBytes(), StandardCharsets.UTF_8)), 300,
                    enc::tokenize);
        }
    }

    @Test
    void inputsCoverOneTo256Tokens() {
        int min = inputs.stream().mapToInt(a -> a.length).min().orElseThrow();
        int max = inputs.stream().mapToInt(a -> a.length).max().orElseThrow();
        assertEquals(1, min);
        assertEquals(256, max);
        assertTrue(inputs.size() >= 300);
    }

    @Test
    void batchOneMatchesOnnxRuntime() throws OrtException {
        // inputs one at a time (every short one; every fourth longer one, to keep the test short)
        List<int[]> b1 = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).length <= 40 || i % 4 == 0) {
                b1.add(inputs.get(i));
            }
        }
        compare(b1, 1, false);
    }

    @Test
    void batch32MatchesOnnxRuntime() throws OrtException {
        // one batch of 32 mixed lengths (1 to 256 tokens: heavy padding, the mask matters), then every input in
        // batches of 32 by length (as SentenceEncoder batches them; padding within each batch)
        List<int[]> byLength = new ArrayList<>(inputs);
        byLength.sort(java.util.Comparator.comparingInt(a -> a.length));
        List<int[]> mixed = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            mixed.add(byLength.get(i * (byLength.size() - 1) / 31));
        }
        compare(mixed, 32, true);
        compare(byLength, 32, true);
    }

    /**
     * Runs {@code all} in groups of {@code batch} through both; with {@code viaEncoder} the pooled embeddings come from
     * {@link SentenceEncoder#embedIds} (its own batching), else from pooling Tessera's hidden states here.
     */
    private void compare(List<int[]> all, int batch, boolean viaEncoder) throws OrtException {
        double worstHidden = 0;
        double worstPooled = 0;
        for (int start = 0; start < all.size(); start += batch) {
            List<int[]> group = all.subList(start, Math.min(all.size(), start + batch));
            int b = group.size();
            int s = group.stream().mapToInt(a -> a.length).max().orElseThrow();
            long[] ids = new long[b * s];
            long[] mask = new long[b * s];
            int[] ids32 = new int[b * s];
            int[] mask32 = new int[b * s];
            for (int i = 0; i < b; i++) {
                int[] t = group.get(i);
                for (int j = 0; j < t.length; j++) {
                    ids[i * s + j] = t[j];
                    ids32[i * s + j] = t[j];
                    mask[i * s + j] = 1;
                    mask32[i * s + j] = 1;
                }
            }
            float[][][] ref = runOrt(ids, mask, b, s);
            float[] ours;
            try (Scope scope = Tessera.scope()) {
                ours = enc.model().forward(Tensor.ofInts(ids32, Device.CPU, b, s),
                        Tensor.ofInts(mask32, Device.CPU, b, s), null).toFloatArray();
            }
            int h = enc.dimension();
            float[][] pooled = viaEncoder ? enc.embedIds(group, batch) : pool(ours, group, s, h);
            for (int i = 0; i < b; i++) {
                int len = group.get(i).length;
                double num = 0, den = 0;
                double[] pool = new double[h];
                for (int t = 0; t < len; t++) {
                    for (int c = 0; c < h; c++) {
                        double r = ref[i][t][c];
                        double o = ours[(i * s + t) * h + c];
                        num += (o - r) * (o - r);
                        den += r * r;
                        pool[c] += r / len;
                    }
                }
                double e = Math.sqrt(num / den);
                assertTrue(e <= TOL, "hidden states of input " + (start + i) + " (" + len + " tokens, batch " + batch
                        + "): rel. error " + e);
                worstHidden = Math.max(worstHidden, e);
                double norm = Math.sqrt(Arrays.stream(pool).map(x -> x * x).sum());
                double pn = 0, pd = 0;
                for (int c = 0; c < h; c++) {
                    double r = pool[c] / norm;
                    pn += (pooled[i][c] - r) * (pooled[i][c] - r);
                    pd += r * r;
                }
                double pe = Math.sqrt(pn / pd);
                assertTrue(pe <= TOL, "embedding of input " + (start + i) + " (" + len + " tokens, batch " + batch
                        + "): rel. error " + pe);
                worstPooled = Math.max(worstPooled, pe);
            }
        }
        System.out.printf("MiniLM vs ONNX Runtime, batch %d, %d inputs: worst rel. error hidden %.3g, pooled %.3g%n",
                batch, all.size(), worstHidden, worstPooled);
    }

    private static float[][] pool(float[] hidden, List<int[]> group, int s, int h) {
        float[][] out = new float[group.size()][h];
        for (int i = 0; i < out.length; i++) {
            int len = group.get(i).length;
            double[] acc = new double[h];
            for (int t = 0; t < len; t++) {
                for (int c = 0; c < h; c++) {
                    acc[c] += hidden[(i * s + t) * h + c];
                }
            }
            double n = Math.sqrt(Arrays.stream(acc).map(x -> x * x).sum());
            for (int c = 0; c < h; c++) {
                out[i][c] = (float) (acc[c] / n);
            }
        }
        return out;
    }

    private static float[][][] runOrt(long[] ids, long[] mask, int b, int s) throws OrtException {
        return runOrt(ort, ids, mask, b, s);
    }

    /** {@code last_hidden_state [b, s, hidden]} of an all-MiniLM-L6-v2 export run by ONNX Runtime (type ids 0). */
    static float[][][] runOrt(OrtSession ort, long[] ids, long[] mask, int b, int s) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {b, s};
        try (ai.onnxruntime.OnnxTensor ti = ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                ai.onnxruntime.OnnxTensor tm = ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                ai.onnxruntime.OnnxTensor tt = ai.onnxruntime.OnnxTensor.createTensor(env,
                        LongBuffer.wrap(new long[b * s]), shape);
                OrtSession.Result r = ort.run(Map.of("input_ids", ti, "attention_mask", tm, "token_type_ids", tt))) {
            return (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
        }
    }
}
