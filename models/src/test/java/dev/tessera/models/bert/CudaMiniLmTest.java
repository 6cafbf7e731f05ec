package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tessera.models.Fixtures;
import dev.tessera.runtime.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The real all-MiniLM-L6-v2 on CUDA against ONNX Runtime (CPU) on the same ONNX file and token ids: cosine between
 * the sentence embeddings ≥ 0.9999 for every input, batch 1 and 32. Skipped, with the backend's reason, where CUDA
 * is unavailable.
 */
class CudaMiniLmTest {
    @Test
    void cudaEmbeddingsMatchOnnxRuntime() throws Exception {
        Device cuda = Fixtures.cudaOrSkip();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (SentenceEncoder enc = SentenceEncoder.load(MiniLm.dir(), cuda);
                OrtSession ort = env.createSession(MiniLm.onnx().toString(), new OrtSession.SessionOptions())) {
            List<int[]> inputs = MiniLmOrtParityTest.inputs(enc).subList(0, 96);
            for (int batch : new int[] {1, 32}) {
                float[][] ours = enc.embedIds(inputs, batch);
                for (int i = 0; i < inputs.size(); i++) {
                    float[] ref = ortEmbedding(ort, inputs.get(i));
                    float c = SentenceEncoder.cosine(ours[i], ref);
                    assertTrue(c >= 0.9999f, "input " + i + " (" + inputs.get(i).length + " tokens, batch " + batch
                            + "): cosine " + c);
                }
            }
        }
    }

    /** ONNX Runtime's mean of {@code last_hidden_state} over the tokens of one input (batch 1, no padding). */
    private static float[] ortEmbedding(OrtSession ort, int[] ids) throws Exception {
        long[] l = java.util.Arrays.stream(ids).asLongStream().toArray();
        long[] ones = new long[ids.length];
        java.util.Arrays.fill(ones, 1);
        float[][] h = MiniLmOrtParityTest.runOrt(ort, l, ones, 1, ids.length)[0];
        float[] e = new float[h[0].length];
        for (float[] row : h) {
            for (int c = 0; c < e.length; c++) {
                e[c] += row[c] / ids.length;
            }
        }
        return e;
    }
}
