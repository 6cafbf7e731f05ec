package dev.tessera.runtime.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.onnx.proto.OnnxIr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OnnxModel} on files written here with protobuf (the schema's builders): every way an initializer can
 * carry its data (raw_data, the typed fields, external files), F32/F16/BF16/INT8/INT64, quantized weights with
 * scales, Constant nodes, graph queries; and the malformed files users meet, each with a clear message.
 */
class OnnxModelTest {
    @TempDir
    Path dir;

    static ByteString floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return ByteString.copyFrom(b.array());
    }

    private static OnnxIr.ValueInfo input(String name, int type, String... dims) {
        OnnxIr.Shape.Builder s = OnnxIr.Shape.newBuilder();
        for (String d : dims) {
            s.addDim(d.matches("\\d+") ? OnnxIr.Shape.Dim.newBuilder().setDimValue(Long.parseLong(d))
                    : OnnxIr.Shape.Dim.newBuilder().setDimParam(d));
        }
        return OnnxIr.ValueInfo.newBuilder().setName(name).setType(OnnxIr.Type.newBuilder()
                .setTensorType(OnnxIr.Type.TensorType.newBuilder().setElemType(type).setShape(s))).build();
    }

    private Path write(OnnxIr.Graph.Builder g) throws IOException {
        Path f = dir.resolve("model.onnx");
        Files.write(f, OnnxIr.Model.newBuilder().setIrVersion(8).setProducerName("test").setProducerVersion("1")
                .addOpsetImport(OnnxIr.OpsetId.newBuilder().setDomain("").setVersion(17)).setGraph(g).build()
                .toByteArray());
        return f;
    }

    private OnnxIr.Graph.Builder graph() {
        // x [b, 3] -> MatMul(w) -> Add(bias) -> DequantizeLinear path on q; a Constant node for a shape
        return OnnxIr.Graph.newBuilder().setName("g")
                .addInput(input("x", 1, "batch", "3"))
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("w").setDataType(1).addDims(3).addDims(2)
                        .setRawData(floats(1, 2, 3, 4, 5, 6)))
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("bias").setDataType(1).addDims(2)
                        .addFloatData(0.5f).addFloatData(-0.5f))
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("shape").setDataType(7).addDims(2)
                        .addInt64Data(-1).addInt64Data(2))
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("half").setDataType(10).addDims(3)
                        .addInt32Data(0x3c00).addInt32Data(0xc000).addInt32Data(0x3555)) // 1, -2, 0.333
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("bf").setDataType(16).addDims(2)
                        .setRawData(ByteString.copyFrom(new byte[] {(byte) 0x80, 0x3f, 0x40, (byte) 0xc0}))) // 1, -3
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("q").setDataType(3).addDims(2).addDims(2)
                        .setRawData(ByteString.copyFrom(new byte[] {-128, -1, 0, 127})))
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("q_scale").setDataType(1).setRawData(floats(0.5f)))
                .addInitializer(OnnxIr.Tensor.newBuilder().setName("q_zp").setDataType(3)
                        .setRawData(ByteString.copyFrom(new byte[] {1})))
                .addNode(OnnxIr.Node.newBuilder().setName("mm").setOpType("MatMul").addInput("x").addInput("w")
                        .addOutput("y"))
                .addNode(OnnxIr.Node.newBuilder().setName("add").setOpType("Add").addInput("y").addInput("bias")
                        .addOutput("z"))
                .addNode(OnnxIr.Node.newBuilder().setName("c").setOpType("Constant").addOutput("k")
                        .addAttribute(OnnxIr.Attribute.newBuilder().setName("value").setType(OnnxIr.Attribute.Kind.TENSOR)
                                .setT(OnnxIr.Tensor.newBuilder().setDataType(7).addDims(1).addInt64Data(12))))
                .addNode(OnnxIr.Node.newBuilder().setName("dq").setOpType("DequantizeLinear").addInput("q")
                        .addInput("q_scale").addInput("q_zp").addOutput("wq")
                        .addAttribute(OnnxIr.Attribute.newBuilder().setName("axis").setType(OnnxIr.Attribute.Kind.INT)
                                .setI(1)))
                .addOutput(input("z", 1, "batch", "2"));
    }

    /**
     * Another protobuf-java first on the class path (Spark's executors put theirs first) makes the ONNX classes fail to
     * initialise: the error names the release found (read reflectively, here the one the parent POM pins) and
     * protobuf's own reason, and later bare NoClassDefFoundErrors say that it happened before.
     */
    @Test
    void aProtobufMismatchIsExplainedInOneMessage() {
        String pinned = System.getProperty("tessera.test.protobufVersion", "");
        String v = OnnxModel.protobufRuntimeVersion();
        assertTrue(v.matches("protobuf-java \\d+\\.\\d+\\.\\d+"), v);
        if (!pinned.isEmpty()) {
            assertEquals("protobuf-java " + pinned, v);
        }
        var first = OnnxModel.protobufMismatch(Path.of("m.onnx"), new ExceptionInInitializerError(new RuntimeException(
                "Detected incompatible Protobuf Gencode/Runtime versions when loading Model: gencode 9.0.0, runtime 4.0")));
        assertTrue(first.getMessage().startsWith("cannot read ONNX model m.onnx: the ONNX protobuf classes cannot be"
                + " used with the protobuf-java on this class path (" + v + "): java.lang.RuntimeException: Detected"
                + " incompatible Protobuf Gencode/Runtime versions"), first.getMessage());
        assertTrue(first.getMessage().contains("tessera-spark.jar"), first.getMessage());
        var later = OnnxModel.protobufMismatch(Path.of("m.onnx"),
                new NoClassDefFoundError("Could not initialize class dev.tessera.runtime.onnx.proto.OnnxIr$Model"));
        assertTrue(later.getMessage().contains("failed to initialise earlier in this JVM (Could not initialize class"),
                later.getMessage());
    }

    @Test
    void readsGraphInitializersAndConstants() throws IOException {
        OnnxModel m = OnnxModel.read(write(graph()));
        assertEquals(8, m.irVersion());
        assertEquals("test 1", m.producer());
        assertEquals(Map.of("", 17L), m.opsets());
        assertEquals(4, m.nodes().size());
        assertEquals(List.of("x"), m.inputs().stream().map(OnnxValueInfo::name).toList());
        assertArrayEquals(new long[] {-1, 3}, m.inputs().get(0).dims());
        assertEquals("batch", m.inputs().get(0).dimParams().get(0));
        assertEquals("z", m.outputs().get(0).name());
        assertEquals(8, m.initializers().size());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, m.initializer("w").toFloats());
        assertArrayEquals(new long[] {3, 2}, m.initializer("w").dims());
        assertArrayEquals(new float[] {0.5f, -0.5f}, m.initializer("bias").toFloats()); // float_data
        assertArrayEquals(new long[] {-1, 2}, m.initializer("shape").toLongs()); // int64_data
        assertArrayEquals(new float[] {1, -2, 0.33325195f}, m.initializer("half").toFloats()); // F16 in int32_data
        assertArrayEquals(new float[] {1, -3}, m.initializer("bf").toFloats()); // BF16 raw
        assertArrayEquals(new long[] {-128, -1, 0, 127}, m.initializer("q").toLongs()); // INT8
        assertArrayEquals(new long[] {12}, m.constant("k").toLongs()); // Constant node
        assertNull(m.constant("y"));
        assertEquals("mm", m.producer("y").name());
        assertEquals(List.of("add"), m.consumers("y").stream().map(OnnxNode::name).toList());
        assertEquals(1, m.nodes().get(3).attributeInt("axis", 0));
        assertTrue(m.summary().contains("8 initializers"), m.summary());
        try (Tensor t = m.initializer("w").toTensor(Device.CPU)) {
            assertArrayEquals(new long[] {3, 2}, t.shape());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
        }
    }

    @Test
    void listsQuantizedWeightsWithTheirScales() throws IOException {
        OnnxModel m = OnnxModel.read(write(graph()));
        List<QuantizedWeight> q = m.quantizedWeights();
        assertEquals(1, q.size());
        assertEquals("q", q.get(0).weight().name());
        assertEquals("q_scale", q.get(0).scale().name());
        assertEquals("q_zp", q.get(0).zeroPoint().name());
        assertTrue(q.get(0).consumer().startsWith("DequantizeLinear"));
        assertArrayEquals(new float[] {-64.5f, -1f, -0.5f, 63f}, q.get(0).dequantize());
    }

    @Test
    void readsExternalData() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + 24).order(ByteOrder.LITTLE_ENDIAN);
        b.position(16);
        for (float f : new float[] {6, 5, 4, 3, 2, 1}) {
            b.putFloat(f);
        }
        Files.write(dir.resolve("weights.bin"), b.array());
        OnnxIr.Graph.Builder g = graph();
        g.setInitializer(0, OnnxIr.Tensor.newBuilder().setName("w").setDataType(1).addDims(3).addDims(2)
                .setDataLocation(OnnxIr.Tensor.Location.EXTERNAL)
                .addExternalData(kv("location", "weights.bin")).addExternalData(kv("offset", "16"))
                .addExternalData(kv("length", "24")));
        OnnxModel m = OnnxModel.read(write(g));
        assertArrayEquals(new float[] {6, 5, 4, 3, 2, 1}, m.initializer("w").toFloats());

        // cut short after the model was read (a download still being written, a disk filling up): the next read
        // names the tensor and the file instead of failing the JVM on a mapped page that is gone
        Files.write(dir.resolve("weights.bin"), Arrays.copyOf(b.array(), 30));
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                () -> m.initializer("w").toFloats());
        assertTrue(e.getMessage().contains("ONNX tensor w") && e.getMessage().contains("weights.bin")
                && e.getMessage().contains("cut short") && e.getMessage().contains("has 30 bytes"), e.getMessage());
        // and gone altogether
        Files.delete(dir.resolve("weights.bin"));
        e = assertThrows(java.io.UncheckedIOException.class, () -> m.initializer("w").bytes());
        assertTrue(e.getMessage().contains("weights.bin"), e.getMessage());
    }

    private static OnnxIr.KeyValue kv(String k, String v) {
        return OnnxIr.KeyValue.newBuilder().setKey(k).setValue(v).build();
    }

    private String error(Path f) {
        return assertThrows(IllegalArgumentException.class, () -> OnnxModel.read(f)).getMessage();
    }

    @Test
    void malformedFilesGetClearErrors() throws IOException {
        Path good = write(graph());
        byte[] bytes = Files.readAllBytes(good);

        Path truncated = dir.resolve("truncated.onnx");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 7));
        assertTrue(error(truncated).contains("truncated"), error(truncated));

        Path empty = dir.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        assertTrue(error(empty).contains("empty file"), error(empty));

        Path text = dir.resolve("text.onnx");
        Files.writeString(text, "this is not an ONNX model, just a few words of text\n");
        String te = error(text);
        assertTrue(te.contains("not a valid ONNX model") || te.contains("not an ONNX model"), te);

        Path noGraph = dir.resolve("nograph.onnx");
        Files.write(noGraph, OnnxIr.Model.newBuilder().setIrVersion(8).build().toByteArray());
        assertTrue(error(noGraph).contains("no graph"), error(noGraph));

        assertTrue(error(dir.resolve("missing.onnx")).contains("no ONNX model file"));
    }

    @Test
    void initializerSizeMustMatchDims() throws IOException {
        OnnxIr.Graph.Builder g = graph();
        g.setInitializer(0, OnnxIr.Tensor.newBuilder().setName("w").setDataType(1).addDims(3).addDims(3)
                .setRawData(floats(1, 2, 3, 4, 5, 6)));
        String e = error(write(g));
        assertTrue(e.contains("initializer w") && e.contains("needs 36 bytes") && e.contains("has 24"), e);

        g = graph();
        g.setInitializer(1, OnnxIr.Tensor.newBuilder().setName("bias").setDataType(1).addDims(3).addFloatData(1));
        e = error(write(g));
        assertTrue(e.contains("initializer bias") && e.contains("holds 1 elements"), e);

        // dims whose product overflows a long (was ArithmeticException), and a typed field claimed far larger than
        // it is (checked before allocating it)
        g = graph();
        g.setInitializer(1, OnnxIr.Tensor.newBuilder().setName("bias").setDataType(1).addDims(1L << 40)
                .addDims(1L << 40).addFloatData(1));
        e = error(write(g));
        assertTrue(e.contains("initializer bias") && e.contains("more elements than a file can hold"), e);
        g = graph();
        g.setInitializer(1, OnnxIr.Tensor.newBuilder().setName("bias").setDataType(1).addDims(1L << 29)
                .addDims(3).addFloatData(1));
        e = error(write(g));
        assertTrue(e.contains("initializer bias") && e.contains("holds 1 elements"), e);
    }

    @Test
    void externalDataMustExistAndStayInTheModelDirectory() throws IOException {
        OnnxIr.Graph.Builder g = graph();
        g.setInitializer(0, OnnxIr.Tensor.newBuilder().setName("w").setDataType(1).addDims(3).addDims(2)
                .setDataLocation(OnnxIr.Tensor.Location.EXTERNAL).addExternalData(kv("location", "nowhere.bin")));
        String e = error(write(g));
        assertTrue(e.contains("nowhere.bin") && e.contains("missing"), e);

        Path outside = dir.getParent().resolve("outside-" + System.nanoTime() + ".bin");
        Files.write(outside, new byte[24]);
        try {
            g = graph();
            g.setInitializer(0, OnnxIr.Tensor.newBuilder().setName("w").setDataType(1).addDims(3).addDims(2)
                    .setDataLocation(OnnxIr.Tensor.Location.EXTERNAL)
                    .addExternalData(kv("location", "../" + outside.getFileName())));
            e = error(write(g));
            assertTrue(e.contains("outside the model's directory"), e);
        } finally {
            Files.deleteIfExists(outside);
        }

        Files.write(dir.resolve("short.bin"), new byte[10]);
        g = graph();
        g.setInitializer(0, OnnxIr.Tensor.newBuilder().setName("w").setDataType(1).addDims(3).addDims(2)
                .setDataLocation(OnnxIr.Tensor.Location.EXTERNAL).addExternalData(kv("location", "short.bin")));
        e = error(write(g));
        assertTrue(e.contains("only 10 bytes"), e);
    }
}
