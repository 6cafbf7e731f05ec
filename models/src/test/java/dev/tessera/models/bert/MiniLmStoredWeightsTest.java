package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.onnx.OnnxModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The one model with real trained weights here (all-MiniLM-L6-v2) with its projections held as bfloat16 or as int8
 * with a scale per output feature ({@code BertModel.fromOnnx(..., DType.BF16 | DType.I8)}: the storage the decoders'
 * {@code --dtype} uses): how far the sentence embeddings move from the F32 model's, on the fixture's sentences and
 * windows. The figures are printed; the bounds sit below them with a margin (the computation is deterministic).
 */
class MiniLmStoredWeightsTest {
    /** Every fourth input of the ONNX Runtime parity test: short sentences to 256-token windows. */
    static List<int[]> quarterOfInputs(SentenceEncoder enc) throws Exception {
        List<int[]> all = MiniLmOrtParityTest.inputs(enc);
        List<int[]> in = new ArrayList<>();
        for (int i = 0; i < all.size(); i += 4) {
            in.add(all.get(i));
        }
        return in;
    }

    /** The smallest and the mean cosine between the rows of {@code got} and {@code want}. */
    static double[] cosineMinMean(float[][] got, float[][] want) {
        double min = 1;
        double sum = 0;
        for (int i = 0; i < got.length; i++) {
            double c = SentenceEncoder.cosine(got[i], want[i]);
            min = Math.min(min, c);
            sum += c;
        }
        return new double[] {min, sum / got.length};
    }

    @Test
    void bf16AndInt8ProjectionsKeepTheRealModelsEmbeddings() throws Exception {
        try (SentenceEncoder enc = SentenceEncoder.load(MiniLm.dir(), Device.CPU)) {
            List<int[]> in = quarterOfInputs(enc);
            float[][] want = SentenceEncoder.of(enc.model(), enc.tokenizer(), enc.maxLength()).embedIds(in, 8);
            for (DType storage : new DType[] {DType.BF16, DType.I8}) {
                try (BertModel m = BertModel.fromOnnx(OnnxModel.read(MiniLm.onnx()), null, Device.CPU, storage)) {
                    float[][] got = SentenceEncoder.of(m, enc.tokenizer(), enc.maxLength()).embedIds(in, 8);
                    double[] mm = cosineMinMean(got, want);
                    double min = mm[0];
                    double sum = mm[1] * in.size();
                    System.out.printf("all-MiniLM-L6-v2, projections held as %s: cosine to F32 min %.6f, mean %.6f over"
                            + " %d inputs%n", storage, min, sum / in.size(), in.size());
                    // int8: measured min 0.9956, mean 0.99936 (ONNX Runtime's own INT8 export of this model, W8A8 by
                    // quantize_dynamic: mean 0.991 to its F32, MiniLmQuantizedTest)
                    double minBound = storage == DType.BF16 ? 0.9999 : 0.99;
                    double meanBound = storage == DType.BF16 ? 0.99999 : 0.999;
                    assertTrue(min >= minBound && min < 1 && sum / in.size() >= meanBound, storage + ": cosine min " + min
                            + " (bound " + minBound + "), mean " + sum / in.size() + " (bound " + meanBound + ")");
                }
            }
        }
    }
}
