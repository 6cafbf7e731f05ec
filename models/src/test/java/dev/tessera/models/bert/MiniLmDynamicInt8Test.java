package dev.tessera.models.bert;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.onnx.OnnxModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * all-MiniLM-L6-v2 quantized as it loads for dynamic INT8 ({@link BertModel#loadQuantized}: int8 weights per output
 * feature, activations uint8 with a scale per token, exact int32 products): how far its sentence embeddings move from the F32
 * model's (printed; the bounds sit below with a margin), that each sentence's embedding is the one it gets alone
 * (quantized token by token, so batching and padding change nothing), and that CUDA is refused.
 */
class MiniLmDynamicInt8Test {

    @Test
    void quantizedOnLoadKeepsTheRealModelsEmbeddings() throws Exception {
        try (SentenceEncoder enc = SentenceEncoder.load(MiniLm.dir(), Device.CPU);
                BertModel q = BertModel.fromOnnx(OnnxModel.read(MiniLm.onnx()), null, Device.CPU, null, true)) {
            assertTrue(q.int8(), "the projections run in INT8");
            List<int[]> in = MiniLmStoredWeightsTest.quarterOfInputs(enc);
            float[][] want = SentenceEncoder.of(enc.model(), enc.tokenizer(), enc.maxLength()).embedIds(in, 8);
            SentenceEncoder qe = SentenceEncoder.of(q, enc.tokenizer(), enc.maxLength());
            float[][] got = qe.embedIds(in, 8);
            double[] mm = MiniLmStoredWeightsTest.cosineMinMean(got, want);
            double min = mm[0];
            double sum = mm[1] * in.size();
            System.out.printf("all-MiniLM-L6-v2, dynamic INT8 (quantized on load): cosine to F32 min %.6f, mean %.6f"
                    + " over %d inputs%n", min, sum / in.size(), in.size());
            // measured min 0.9920, mean 0.99847 with a scale per token (one per sentence, as ONNX Runtime quantizes:
            // min 0.969, mean 0.9918; ONNX Runtime's own INT8 export of this model: mean 0.991 to its F32)
            assertTrue(min >= 0.985 && min < 1 && sum / in.size() >= 0.997, "cosine min " + min + ", mean "
                    + sum / in.size());
            for (int i = 0; i < 6; i++) { // alone == in its padded batch of 8 (up to the fp32 sums' order)
                float[] alone = qe.embedIds(List.of(in.get(i)), 1)[0];
                double c = SentenceEncoder.cosine(alone, got[i]);
                assertTrue(c > 0.99999, "input " + i + ": alone vs batched cosine " + c);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BertModel.fromOnnx(
                OnnxModel.read(MiniLm.onnx()), null, Device.cuda(0), null, true));
        assertTrue(e.getMessage().contains("runs on the CPU"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BertModel.fromOnnx(OnnxModel.read(MiniLm.onnx()), null,
                Device.CPU, dev.tessera.runtime.DType.BF16, true));
    }
}
