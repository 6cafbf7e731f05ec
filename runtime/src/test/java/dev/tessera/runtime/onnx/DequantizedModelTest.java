package dev.tessera.runtime.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tessera.runtime.onnx.proto.OnnxIr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OnnxModel#dequantized()} on a graph written here with the patterns of quantized exports (ONNX Runtime's
 * {@code quantize_dynamic}: quantized embedding tables and MatMulInteger chains; QDQ: a dequantized weight and a
 * fake-quantized activation), random integer weights, per-tensor and per-channel scales. The float weights are
 * recomputed here from the integers with plain loops.
 */
class DequantizedModelTest {
    @TempDir
    Path dir;

    private final SplittableRandom rnd = new SplittableRandom(11);
    private final byte[] table = bytes(5 * 4, 0, 256); // UINT8 [5, 4]
    private final byte[] wq = bytes(4 * 3, -128, 128); // INT8 [4, 3]
    private final byte[] wzp = bytes(3, -5, 6); // INT8 [3]
    private final float[] ws = {0.02f, 0.5f, 0.125f};
    private final byte[] w2q = bytes(3 * 2, -128, 128); // INT8 [3, 2], per row (axis 0)
    private final byte[] w2zp = bytes(3, -3, 4);
    private final float[] w2s = {0.25f, 0.01f, 2f};

    private byte[] bytes(int n, int lo, int hi) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(lo, hi);
        }
        return b;
    }

    private static OnnxIr.Tensor tensor(String name, int type, ByteString raw, long... dims) {
        OnnxIr.Tensor.Builder t = OnnxIr.Tensor.newBuilder().setName(name).setDataType(type).setRawData(raw);
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static OnnxIr.Node node(String op, List<String> in, List<String> out, OnnxIr.Attribute... attrs) {
        OnnxIr.Node.Builder n = OnnxIr.Node.newBuilder().setName(op + "_" + out.get(0)).setOpType(op)
                .addAllInput(in).addAllOutput(out);
        for (OnnxIr.Attribute a : attrs) {
            n.addAttribute(a);
        }
        return n.build();
    }

    private static OnnxIr.Attribute intAttr(String name, long v) {
        return OnnxIr.Attribute.newBuilder().setName(name).setType(OnnxIr.Attribute.Kind.INT).setI(v).build();
    }

    private static OnnxIr.ValueInfo value(String name, int type) {
        return OnnxIr.ValueInfo.newBuilder().setName(name).setType(OnnxIr.Type.newBuilder()
                .setTensorType(OnnxIr.Type.TensorType.newBuilder().setElemType(type))).build();
    }

    /** The four patterns; with {@code sharedProduct} the MatMulInteger result is also read by a second node. */
    private OnnxModel model(boolean sharedProduct) throws IOException {
        OnnxIr.Graph.Builder g = OnnxIr.Graph.newBuilder().setName("q")
                .addInput(value("ids", 7)).addInput(value("x", 1))
                .addInitializer(tensor("table", 2, ByteString.copyFrom(table), 5, 4))
                .addInitializer(tensor("t_scale", 1, OnnxModelTest.floats(0.1f)))
                .addInitializer(tensor("t_zp", 2, ByteString.copyFrom(new byte[] {(byte) 128})))
                .addInitializer(tensor("wq", 3, ByteString.copyFrom(wq), 4, 3))
                .addInitializer(tensor("wzp", 3, ByteString.copyFrom(wzp), 3))
                .addInitializer(tensor("ws", 1, OnnxModelTest.floats(ws), 3))
                .addInitializer(tensor("bias", 1, OnnxModelTest.floats(1, 2, 3), 3))
                .addInitializer(tensor("w2q", 3, ByteString.copyFrom(w2q), 3, 2))
                .addInitializer(tensor("w2zp", 3, ByteString.copyFrom(w2zp), 3))
                .addInitializer(tensor("w2s", 1, OnnxModelTest.floats(w2s), 3))
                .addInitializer(tensor("us", 1, OnnxModelTest.floats(0.05f)))
                .addInitializer(tensor("uzp", 2, ByteString.copyFrom(new byte[] {10})))
                // a quantized embedding table
                .addNode(node("Gather", List.of("table", "ids"), List.of("gq")))
                .addNode(node("DequantizeLinear", List.of("gq", "t_scale", "t_zp"), List.of("emb")))
                // x -> DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(x_scale * w_scale) -> Add(bias)
                .addNode(node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xzp")))
                .addNode(node("Mul", List.of("xs", "ws"), List.of("s")))
                .addNode(node("MatMulInteger", List.of("xq", "wq", "xzp", "wzp"), List.of("yi")))
                .addNode(node("Cast", List.of("yi"), List.of("yf"), intAttr("to", 1)))
                .addNode(node("Mul", List.of("yf", "s"), List.of("y")))
                .addNode(node("Add", List.of("y", "bias"), List.of("z")))
                // QDQ: a weight stored quantized per row, then a fake-quantized activation
                .addNode(node("DequantizeLinear", List.of("w2q", "w2s", "w2zp"), List.of("w2"), intAttr("axis", 0)))
                .addNode(node("MatMul", List.of("z", "w2"), List.of("u")))
                .addNode(node("QuantizeLinear", List.of("u", "us", "uzp"), List.of("uq")))
                .addNode(node("DequantizeLinear", List.of("uq", "us", "uzp"), List.of("u2")))
                .addNode(node("Relu", List.of("u2"), List.of("r")))
                .addOutput(value("emb", 1)).addOutput(value("r", 1));
        if (sharedProduct) {
            g.addNode(node("Identity", List.of("yi"), List.of("yi_copy"))).addOutput(value("yi_copy", 6));
        }
        return OnnxModel.read(write(g));
    }

    private Path write(OnnxIr.Graph.Builder g) throws IOException {
        Path f = Files.createTempFile(dir, "q", ".onnx");
        Files.write(f, OnnxIr.Model.newBuilder().setIrVersion(8).addOpsetImport(OnnxIr.OpsetId.newBuilder()
                .setDomain("").setVersion(17)).setGraph(g).build().toByteArray());
        return f;
    }

    @Test
    void quantizedPatternsBecomeFloatOnes() throws IOException {
        OnnxModel q = model(false);
        assertEquals(6, q.quantizationNodes().size());
        OnnxModel f = q.dequantized();
        assertEquals(List.of(), f.quantizationNodes());
        assertEquals(List.of("Gather", "MatMul", "Add", "MatMul", "Relu"),
                f.nodes().stream().map(OnnxNode::opType).toList());

        // the table's rows: (q - 128) * 0.1, read by a Gather that now writes "emb"
        OnnxNode gather = f.producer("emb");
        assertEquals("Gather", gather.opType());
        assertEquals("ids", gather.input(1));
        float[] t = f.initializer(gather.input(0)).toFloats();
        for (int i = 0; i < table.length; i++) {
            assertEquals(((table[i] & 0xff) - 128) * 0.1f, t[i], 1e-6f, "table " + i);
        }
        // y = x W with W [k, n] = (wq - wzp[n]) * ws[n]
        OnnxNode mm = f.producer("y");
        assertEquals("MatMul", mm.opType());
        assertEquals("x", mm.input(0));
        OnnxTensor w = f.initializer(mm.input(1));
        assertArrayEquals(new long[] {4, 3}, w.dims());
        float[] wf = w.toFloats();
        for (int k = 0; k < 4; k++) {
            for (int n = 0; n < 3; n++) {
                assertEquals((wq[k * 3 + n] - wzp[n]) * ws[n], wf[k * 3 + n], 1e-6f, "W " + k + "," + n);
            }
        }
        assertEquals(List.of("y", "bias"), f.producer("z").inputs());
        // the per-row QDQ weight is an initializer under the DequantizeLinear's output name
        float[] w2 = f.initializer("w2").toFloats();
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 2; c++) {
                assertEquals((w2q[r * 2 + c] - w2zp[r]) * w2s[r], w2[r * 2 + c], 1e-6f, "w2 " + r + "," + c);
            }
        }
        // the fake quantization of u is gone: Relu reads u
        assertEquals(List.of("u"), f.producer("r").inputs());
        assertEquals(List.of(f.producer("r")), f.consumers("u"));
        // the integer weights, their scales and zero points are no longer held
        for (String gone : List.of("table", "wq", "wzp", "ws", "w2q", "w2zp", "w2s", "us", "uzp", "t_scale")) {
            assertNull(f.initializer(gone), gone);
        }
        // the source model is unchanged; a float model is its own dequantized form
        assertEquals(6, q.quantizationNodes().size());
        assertSame(f, f.dequantized());
    }

    @Test
    void aPatternThatDoesNotMatchExactlyStaysQuantized() throws IOException {
        // the integer product is read by a second node: rewriting it would change what that node sees
        OnnxModel f = model(true).dequantized();
        List<String> left = f.quantizationNodes().stream().map(OnnxNode::opType).toList();
        assertEquals(List.of("DynamicQuantizeLinear", "MatMulInteger"), left);
        assertEquals("Gather", f.producer("emb").opType()); // the other patterns are still rewritten
        assertTrue(f.initializer("w2") != null);
        // a graph whose quantized nodes match no pattern comes back as it was
        OnnxModel g = OnnxModel.read(write(OnnxIr.Graph.newBuilder().setName("u")
                .addNode(node("DynamicQuantizeLinear", List.of("x"), List.of("xq", "xs", "xzp")))
                .addOutput(value("xq", 2))));
        assertSame(g, g.dequantized());
    }
}
