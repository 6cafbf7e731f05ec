import ai.onnxruntime.*;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.*;
import java.nio.file.*;
import java.util.*;
public class Ort {
    public static void main(String[] a) throws Exception {
        ObjectMapper om = new ObjectMapper();
        int[][] ids = om.readValue(Path.of("ours_ids.json").toFile(), int[][].class);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession("jar/all-minilm-l6-v2.onnx", new OrtSession.SessionOptions())) {
            float[][] out = new float[ids.length][];
            for (int i = 0; i < ids.length; i++) {
                int n = ids[i].length;
                long[] x = new long[n], m = new long[n], t = new long[n];
                for (int j = 0; j < n; j++) { x[j] = ids[i][j]; m[j] = 1; }
                Map<String, OnnxTensor> in = new HashMap<>();
                in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(x), new long[]{1, n}));
                in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(m), new long[]{1, n}));
                in.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(t), new long[]{1, n}));
                try (OrtSession.Result r = s.run(in)) {
                    float[][][] h = (float[][][]) r.get(0).getValue();
                    double[] p = new double[h[0][0].length];
                    for (int j = 0; j < n; j++) for (int c = 0; c < p.length; c++) p[c] += h[0][j][c] / n;
                    double nn = 0; for (double v : p) nn += v * v; nn = Math.sqrt(nn);
                    out[i] = new float[p.length];
                    for (int c = 0; c < p.length; c++) out[i][c] = (float) (p[c] / nn);
                }
            }
            om.writeValue(Path.of("ort_emb.json").toFile(), out);
        }
    }
}
