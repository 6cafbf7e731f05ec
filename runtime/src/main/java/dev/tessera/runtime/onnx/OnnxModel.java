package dev.tessera.runtime.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.runtime.onnx.proto.OnnxIr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model file read with protobuf-java and Tessera's own ONNX schema
 * ({@code src/main/proto/tessera_onnx.proto}): its graph (nodes in file order, which ONNX requires to be
 * topological), graph inputs and outputs, initializers ({@code raw_data}, typed fields, or external data files
 * beside the model) and the values of {@code Constant} nodes. Models map these to their parameters (see
 * {@code BertModel.fromOnnx} in tessera-models).
 *
 * <p>Initializer bytes stay where the parser put them (a view of the parsed message, or a memory map of the
 * external file); nothing here allocates native memory, so the object needs no closing.
 *
 * <p>Malformed files fail with an {@link IllegalArgumentException} naming the file and the problem: empty or
 * truncated file, not protobuf, no graph, an initializer whose data size disagrees with its dims and type, an
 * external data file that is missing or outside the model's directory.
 */
public final class OnnxModel {
    private final Path source;
    private final long irVersion;
    private final String producer;
    private final Map<String, Long> opsets;
    private final List<OnnxNode> nodes;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;
    private final Map<String, OnnxTensor> initializers;
    private final Map<String, OnnxTensor> constants;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, QuantizedWeight> int8Origins;
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();

    private OnnxModel(Path source, OnnxIr.Model m) {
        this.source = source;
        if (!m.hasGraph()) {
            throw new IllegalArgumentException(source + ": not an ONNX model (no graph in the file)");
        }
        if (m.getIrVersion() <= 0) {
            throw new IllegalArgumentException(source + ": not an ONNX model (no ir_version)");
        }
        this.irVersion = m.getIrVersion();
        this.producer = (m.getProducerName() + " " + m.getProducerVersion()).trim();
        Map<String, Long> ops = new LinkedHashMap<>();
        for (OnnxIr.OpsetId o : m.getOpsetImportList()) {
            ops.put(o.getDomain(), o.getVersion());
        }
        this.opsets = Collections.unmodifiableMap(ops);
        OnnxIr.Graph g = m.getGraph();
        Path dir = source.toAbsolutePath().getParent();

        Map<String, OnnxTensor> inits = new LinkedHashMap<>();
        for (OnnxIr.Tensor t : g.getInitializerList()) {
            inits.put(t.getName(), tensor(t, dir, "initializer " + t.getName()));
        }
        this.initializers = Collections.unmodifiableMap(inits);

        List<OnnxNode> ns = new ArrayList<>(g.getNodeCount());
        Map<String, OnnxTensor> consts = new LinkedHashMap<>();
        for (OnnxIr.Node n : g.getNodeList()) {
            Map<String, OnnxAttribute> attrs = new LinkedHashMap<>();
            for (OnnxIr.Attribute a : n.getAttributeList()) {
                attrs.put(a.getName(), attribute(a, dir, n.getName()));
            }
            OnnxNode node = new OnnxNode(n.getName(), n.getOpType(), n.getDomain(), List.copyOf(n.getInputList()),
                    List.copyOf(n.getOutputList()), Collections.unmodifiableMap(attrs));
            ns.add(node);
            for (String out : node.outputs()) {
                if (!out.isEmpty()) {
                    producers.put(out, node);
                }
            }
            for (String in : node.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
                }
            }
            if (node.opType().equals("Constant") && node.outputs().size() == 1) {
                OnnxTensor v = constantValue(node);
                if (v != null) {
                    consts.put(node.output(0), v);
                }
            }
        }
        this.nodes = List.copyOf(ns);
        this.constants = Collections.unmodifiableMap(consts);
        List<OnnxValueInfo> in = new ArrayList<>();
        for (OnnxIr.ValueInfo v : g.getInputList()) {
            if (!inits.containsKey(v.getName())) { // IR < 4 lists initializers among the inputs
                in.add(valueInfo(v));
            }
        }
        this.inputs = List.copyOf(in);
        this.outputs = g.getOutputList().stream().map(OnnxModel::valueInfo).toList();
        this.int8Origins = Map.of();
    }

    /** {@code base} with other nodes and initializers (a rewrite of its graph, see {@link #dequantized()}). */
    OnnxModel(OnnxModel base, List<OnnxNode> nodes, Map<String, OnnxTensor> initializers,
            Map<String, QuantizedWeight> int8Origins) {
        this.int8Origins = Map.copyOf(int8Origins);
        this.source = base.source;
        this.irVersion = base.irVersion;
        this.producer = base.producer;
        this.opsets = base.opsets;
        this.inputs = base.inputs;
        this.outputs = base.outputs;
        this.nodes = List.copyOf(nodes);
        this.initializers = Collections.unmodifiableMap(new LinkedHashMap<>(initializers));
        Map<String, OnnxTensor> consts = new LinkedHashMap<>();
        for (OnnxNode node : this.nodes) {
            for (String out : node.outputs()) {
                if (!out.isEmpty()) {
                    producers.put(out, node);
                    if (base.constants.containsKey(out) && node.opType().equals("Constant")) {
                        consts.put(out, base.constants.get(out));
                    }
                }
            }
            for (String in : node.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
                }
            }
        }
        this.constants = Collections.unmodifiableMap(consts);
    }

    /** Reads and checks {@code file}. */
    public static OnnxModel read(Path file) {
        if (file == null) {
            throw new IllegalArgumentException("ONNX model path is null");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no ONNX model file: " + file);
        }
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size == 0) {
                throw new IllegalArgumentException(file + ": not an ONNX model (empty file)");
            }
            if (size > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException(file + ": " + size + " bytes; ONNX protobuf files are limited to"
                        + " 2 GB (larger models keep their weights in external data files)");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read ONNX model " + file + ": " + e.getMessage(), e);
        }
        OnnxIr.Model m;
        try {
            m = OnnxIr.Model.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(file + ": not a valid ONNX model (the file is truncated or is not an"
                    + " ONNX protobuf): " + e.getMessage(), e);
        } catch (LinkageError e) {
            throw protobufMismatch(file, e);
        }
        return new OnnxModel(file, m);
    }

    /**
     * The ONNX classes failed to initialise: another (older) protobuf-java comes first on the class path, e.g. a host
     * application's or Spark's, whose gencode check refuses classes generated by a newer protoc. The first failure is
     * an {@link ExceptionInInitializerError} with protobuf's reason; later ones a bare {@link NoClassDefFoundError}.
     */
    static IllegalStateException protobufMismatch(Path file, Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String why = root == e && e instanceof NoClassDefFoundError
                ? "its classes failed to initialise earlier in this JVM (" + e.getMessage() + ")" : root.toString();
        if (why.endsWith(".")) {
            why = why.substring(0, why.length() - 1);
        }
        return new IllegalStateException("cannot read ONNX model " + file + ": the ONNX protobuf classes cannot be used"
                + " with the protobuf-java on this class path (" + protobufRuntimeVersion() + "): " + why + ". Tessera's ONNX"
                + " import needs the protobuf-java release it was built with or a newer one first on the class path"
                + " (on Spark: tessera-spark.jar, which carries its own)", e);
    }

    /**
     * The protobuf-java release on the class path: {@code RuntimeVersion}'s numbers (4.26 and later; read
     * reflectively, since the compiler would inline the constants of the release we build with), else "3.x or older".
     */
    static String protobufRuntimeVersion() {
        try {
            Class<?> v = Class.forName("com.google.protobuf.RuntimeVersion");
            return "protobuf-java " + v.getField("MAJOR").getInt(null) + "." + v.getField("MINOR").getInt(null) + "."
                    + v.getField("PATCH").getInt(null);
        } catch (ClassNotFoundException e) {
            return "protobuf-java 3.x or older";
        } catch (ReflectiveOperationException | LinkageError e) {
            return "protobuf-java of unknown version";
        }
    }

    // ------------------------------------------------------------------ accessors

    public Path source() {
        return source;
    }

    public long irVersion() {
        return irVersion;
    }

    /** Producer name and version (e.g. "pytorch 1.13.1"), possibly empty. */
    public String producer() {
        return producer;
    }

    /** Operator set versions by domain ("" is the default ONNX domain). */
    public Map<String, Long> opsets() {
        return opsets;
    }

    /** The nodes in file (topological) order. */
    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** Graph inputs that are not initializers (what a caller feeds). */
    public List<OnnxValueInfo> inputs() {
        return inputs;
    }

    public List<OnnxValueInfo> outputs() {
        return outputs;
    }

    /** Initializers by name, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    /** The initializer {@code name}, or null. */
    public OnnxTensor initializer(String name) {
        return initializers.get(name);
    }

    /** The value {@code name} if it is known statically: an initializer or a {@code Constant} node's output. */
    public OnnxTensor constant(String name) {
        OnnxTensor t = initializers.get(name);
        return t != null ? t : constants.get(name);
    }

    /** The node that writes {@code value}, or null (graph inputs, initializers). */
    public OnnxNode producer(String value) {
        return producers.get(value);
    }

    /** The nodes that read {@code value}, in file order (empty when none). */
    public List<OnnxNode> consumers(String value) {
        return consumers.getOrDefault(value, List.of());
    }

    /** The INT8/UINT8 initializers consumed as quantized weights, with their stored scales and zero points. */
    public List<QuantizedWeight> quantizedWeights() {
        List<QuantizedWeight> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (OnnxNode n : nodes) {
            int[][] groups = switch (n.opType()) {
                case "DequantizeLinear" -> new int[][] {{0, 1, 2}};
                case "MatMulInteger", "ConvInteger" -> new int[][] {{0, -1, 2}, {1, -1, 3}};
                case "QLinearMatMul", "QLinearConv" -> new int[][] {{0, 1, 2}, {3, 4, 5}};
                case "DynamicQuantizeMatMul", "MatMulIntegerToFloat" -> new int[][] {{1, 2, 3}};
                default -> new int[0][];
            };
            for (int[] g : groups) {
                OnnxTensor w = initializers.get(n.input(g[0]));
                if (w == null || (w.dataType() != OnnxDataType.INT8 && w.dataType() != OnnxDataType.UINT8)
                        || !seen.add(w.name())) {
                    continue;
                }
                OnnxTensor scale = g[1] < 0 ? null : constant(n.input(g[1]));
                OnnxTensor zp = constant(n.input(g[2]));
                out.add(new QuantizedWeight(w, scale, zp, n.opType() + (n.name().isEmpty() ? "" : " " + n.name())));
            }
        }
        return out;
    }

    /**
     * This model with its quantized linear algebra turned back into float: the INT8/UINT8 weights are dequantized
     * once ({@code (q - zeroPoint) * scale}, per tensor or per channel) into FLOAT initializers and the nodes that
     * used them become their float equivalents, so a model built for float graphs can load the weights of a
     * quantized export. Rewritten patterns (those of ONNX Runtime's {@code quantize_dynamic} and of QDQ exports):
     * <ul>
     *   <li>{@code DynamicQuantizeLinear(x)} → {@code MatMulInteger(·, Wq, ·, zp)} → {@code Cast} →
     *       {@code Mul(·, x_scale · w_scale)}: one {@code MatMul(x, W)};</li>
     *   <li>{@code Gather(Tq, ids)} → {@code DequantizeLinear}: {@code Gather(T, ids)};</li>
     *   <li>{@code DequantizeLinear} of an initializer: a FLOAT initializer of that name;</li>
     *   <li>{@code QuantizeLinear} → {@code DequantizeLinear} on an activation: the activation itself.</li>
     * </ul>
     * The result computes in float what the quantized graph approximates with 8-bit activations, so it is closer
     * to the original float model than the quantized graph run by ONNX Runtime is. Nodes left without consumers
     * are dropped; anything quantized that matches none of these patterns stays as it was (see
     * {@link #quantizationNodes()}). Returns this model when nothing matches.
     */
    public OnnxModel dequantized() {
        return quantizationNodes().isEmpty() ? this : Dequantizer.rewrite(this);
    }

    /**
     * For a FLOAT initializer that {@link #dequantized()} made from a {@code MatMulInteger} weight: that INT8 weight
     * ({@code [in, out]}), its per-column (or per-tensor) scale and zero point, so a model can run the product in
     * INT8 as the quantized graph does (see {@code dev.tessera.runtime.Int8Linear}); null for other initializers.
     */
    public QuantizedWeight int8Origin(String initializer) {
        return int8Origins.get(initializer);
    }

    /** The nodes of quantized arithmetic ({@code DynamicQuantizeLinear}, {@code MatMulInteger}, ...), in order. */
    public List<OnnxNode> quantizationNodes() {
        return nodes.stream().filter(n -> Dequantizer.QUANTIZATION_OPS.contains(n.opType())).toList();
    }

    /** A multi-line listing: header, inputs, outputs, initializer count and bytes, node types. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(source).append(": ONNX IR ").append(irVersion).append(", producer ").append(producer)
                .append(", opsets ").append(opsets).append('\n');
        inputs.forEach(v -> sb.append("  input  ").append(v).append('\n'));
        outputs.forEach(v -> sb.append("  output ").append(v).append('\n'));
        long bytes = initializers.values().stream().mapToLong(t -> t.numel() * t.dataType().size()).sum();
        sb.append("  ").append(initializers.size()).append(" initializers, ").append(bytes).append(" bytes\n");
        Map<String, Integer> ops = new java.util.TreeMap<>();
        nodes.forEach(n -> ops.merge(n.opType(), 1, Integer::sum));
        sb.append("  ").append(nodes.size()).append(" nodes: ").append(ops).append('\n');
        return sb.toString();
    }

    @Override
    public String toString() {
        return "OnnxModel(" + source + ", " + nodes.size() + " nodes, " + initializers.size() + " initializers)";
    }

    // ------------------------------------------------------------------ conversion

    private static OnnxValueInfo valueInfo(OnnxIr.ValueInfo v) {
        OnnxDataType t = OnnxDataType.UNDEFINED;
        List<Long> dims = new ArrayList<>();
        List<String> params = new ArrayList<>();
        if (v.getType().hasTensorType()) {
            OnnxIr.Type.TensorType tt = v.getType().getTensorType();
            try {
                t = OnnxDataType.of(tt.getElemType());
            } catch (IllegalArgumentException e) {
                t = OnnxDataType.UNDEFINED;
            }
            for (OnnxIr.Shape.Dim d : tt.getShape().getDimList()) {
                dims.add(d.hasDimValue() ? d.getDimValue() : -1L);
                params.add(d.hasDimValue() ? "" : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
            }
        }
        return new OnnxValueInfo(v.getName(), t, dims.stream().mapToLong(Long::longValue).toArray(),
                List.copyOf(params));
    }

    private OnnxAttribute attribute(OnnxIr.Attribute a, Path dir, String node) {
        String kind = a.hasType() ? a.getType().name() : inferKind(a);
        OnnxTensor t = a.hasT() ? tensor(a.getT(), dir, "attribute " + a.getName() + " of node " + node) : null;
        return new OnnxAttribute(a.getName(), kind, a.getF(), a.getI(), a.getS().toStringUtf8(), t,
                List.copyOf(a.getFloatsList()), List.copyOf(a.getIntsList()),
                a.getStringsList().stream().map(ByteString::toStringUtf8).toList());
    }

    private static String inferKind(OnnxIr.Attribute a) {
        if (a.hasT()) {
            return "TENSOR";
        }
        if (a.getIntsCount() > 0) {
            return "INTS";
        }
        if (a.getFloatsCount() > 0) {
            return "FLOATS";
        }
        if (a.hasS()) {
            return "STRING";
        }
        if (a.hasF()) {
            return "FLOAT";
        }
        return a.hasI() ? "INT" : "UNDEFINED";
    }

    private static OnnxTensor constantValue(OnnxNode n) {
        OnnxAttribute v = n.attribute("value");
        if (v != null && v.t() != null) {
            return v.t();
        }
        ByteBuffer b;
        if ((v = n.attribute("value_float")) != null) {
            b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, v.f());
            return new OnnxTensor(n.output(0), OnnxDataType.FLOAT, new long[0], b);
        }
        if ((v = n.attribute("value_int")) != null) {
            b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v.i());
            return new OnnxTensor(n.output(0), OnnxDataType.INT64, new long[0], b);
        }
        if ((v = n.attribute("value_ints")) != null) {
            b = ByteBuffer.allocate(8 * v.ints().size()).order(ByteOrder.LITTLE_ENDIAN);
            v.ints().forEach(b::putLong);
            return new OnnxTensor(n.output(0), OnnxDataType.INT64, new long[] {v.ints().size()}, b.flip());
        }
        if ((v = n.attribute("value_floats")) != null) {
            b = ByteBuffer.allocate(4 * v.floats().size()).order(ByteOrder.LITTLE_ENDIAN);
            v.floats().forEach(b::putFloat);
            return new OnnxTensor(n.output(0), OnnxDataType.FLOAT, new long[] {v.floats().size()}, b.flip());
        }
        return null;
    }

    private OnnxTensor tensor(OnnxIr.Tensor t, Path dir, String what) {
        OnnxDataType type;
        try {
            type = OnnxDataType.of(t.getDataType());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + what + ": " + e.getMessage(), e);
        }
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long numel = 1;
        boolean overflow = false;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException(source + ": " + what + " has a negative dim: " + Arrays.toString(dims));
            }
            overflow |= d != 0 && numel > Long.MAX_VALUE / d;
            numel = overflow ? 0 : numel * d;
        }
        if (type == OnnxDataType.STRING || type == OnnxDataType.UNDEFINED) {
            return new OnnxTensor(t.getName(), type, dims, ByteBuffer.allocate(0));
        }
        if (overflow || numel > Long.MAX_VALUE / Math.max(1, type.size())) {
            throw new IllegalArgumentException(source + ": " + what + " " + type + Arrays.toString(dims)
                    + " has more elements than a file can hold");
        }
        long need = numel * type.size();
        String where = source + ": " + what + " " + type + Arrays.toString(dims) + " needs " + need + " bytes";
        ByteBuffer data;
        if (t.getDataLocation() == OnnxIr.Tensor.Location.EXTERNAL) {
            return new OnnxTensor(t.getName(), type, dims, external(t, dir, where, need));
        } else if (t.hasRawData()) {
            if (t.getRawData().size() != need) {
                throw new IllegalArgumentException(where + " but its raw_data has " + t.getRawData().size());
            }
            data = t.getRawData().asReadOnlyByteBuffer();
        } else {
            data = typed(t, type, numel, where);
        }
        return new OnnxTensor(t.getName(), type, dims, data);
    }

    private static ByteBuffer typed(OnnxIr.Tensor t, OnnxDataType type, long numel, String where) {
        int have = switch (type) {
            case FLOAT -> t.getFloatDataCount();
            case INT64 -> t.getInt64DataCount();
            case DOUBLE -> t.getDoubleDataCount();
            case UINT32, UINT64 -> t.getUint64DataCount();
            case COMPLEX64 -> t.getFloatDataCount() / 2;
            case COMPLEX128 -> t.getDoubleDataCount() / 2;
            default -> t.getInt32DataCount();
        };
        if (have != numel) { // checked before allocating: the count comes from the file (have is an int)
            throw new IllegalArgumentException(where + " (" + numel + " elements) but the file holds " + have
                    + " elements in its typed data field and no raw_data");
        }
        int n = have;
        if ((long) n * type.size() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(where + ": more than 2 GiB in a typed data field");
        }
        ByteBuffer b = ByteBuffer.allocate(n * type.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (type) {
                case FLOAT -> b.putFloat(t.getFloatData(i));
                case INT64 -> b.putLong(t.getInt64Data(i));
                case DOUBLE -> b.putDouble(t.getDoubleData(i));
                case UINT32 -> b.putInt((int) t.getUint64Data(i));
                case UINT64 -> b.putLong(t.getUint64Data(i));
                case INT32 -> b.putInt(t.getInt32Data(i));
                case INT16, UINT16, FLOAT16, BFLOAT16 -> b.putShort((short) t.getInt32Data(i));
                case COMPLEX64 -> b.putFloat(t.getFloatData(2 * i)).putFloat(t.getFloatData(2 * i + 1));
                case COMPLEX128 -> b.putDouble(t.getDoubleData(2 * i)).putDouble(t.getDoubleData(2 * i + 1));
                default -> b.put((byte) t.getInt32Data(i));
            }
        }
        return b.flip();
    }

    private OnnxTensor.External external(OnnxIr.Tensor t, Path dir, String where, long need) {
        Map<String, String> kv = new HashMap<>();
        for (OnnxIr.KeyValue e : t.getExternalDataList()) {
            kv.put(e.getKey(), e.getValue());
        }
        String location = kv.get("location");
        if (location == null || location.isEmpty()) {
            throw new IllegalArgumentException(where + " in external data, but names no location");
        }
        long offset;
        long length;
        try {
            offset = Long.parseLong(kv.getOrDefault("offset", "0"));
            length = kv.containsKey("length") ? Long.parseLong(kv.get("length")) : need;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": bad external data offset/length " + kv, e);
        }
        if (offset < 0 || length != need) {
            throw new IllegalArgumentException(where + " but its external data has offset " + offset + " and length "
                    + length);
        }
        Path file = dir.resolve(location).normalize();
        Path realDir;
        Path realFile;
        try {
            realDir = dir.toRealPath();
            realFile = file.toRealPath();
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(where + " from external data file " + location + ", which is missing"
                    + " (looked for " + file + ")");
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": cannot read external data file " + file, e);
        }
        if (Path.of(location).isAbsolute() || !realFile.startsWith(realDir)) {
            throw new IllegalArgumentException(where + " from external data file " + location + ", which is outside"
                    + " the model's directory " + realDir + " (refused)");
        }
        try (FileChannel ch = FileChannel.open(realFile, StandardOpenOption.READ)) {
            if (offset + length > ch.size()) {
                throw new IllegalArgumentException(where + " at offset " + offset + " of external data file " + location
                        + ", which has only " + ch.size() + " bytes");
            }
            if (length > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(where + ": external tensors over 2 GB are not supported");
            }
            return new OnnxTensor.External(realFile, location, offset, (int) length);
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": cannot read external data file " + file, e);
        }
    }
}
