package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tessera.models.Fixtures;
import dev.tessera.runtime.Device;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
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
                    float[] ref = ortEmbedding(env, ort, inputs.get(i));
                    float c = SentenceEncoder.cosine(ours[i], ref);
                    assertTrue(c >= 0.9999f, "input " + i + " (" + inputs.get(i).length + " tokens, batch " + batch
                            + "): cosine " + c);
                }
            }
        }
    }

    private static float[] ortEmbedding(OrtEnvironment env, OrtSession ort, int[] ids) throws Exception {
        int s = ids.length;
        long[] l = new long[s];
        long[] ones = new long[s];
        for (int i = 0; i < s; i++) {
            l[i] = ids[i];
            ones[i] = 1;
        }
        long[] shape = {1, s};
        try (var ti = ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(l), shape);
                var tm = ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(ones), shape);
                var tt = ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(new long[s]), shape);
                var r = ort.run(Map.of("input_ids", ti, "attention_mask", tm, "token_type_ids", tt))) {
            float[][] h = ((float[][][]) r.get(0).getValue())[0];
            float[] e = new float[h[0].length];
            for (float[] row : h) {
                for (int c = 0; c < e.length; c++) {
                    e[c] += row[c] / s;
                }
            }
            return e;
        }
    }
}
