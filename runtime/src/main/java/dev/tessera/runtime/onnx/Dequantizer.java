package dev.tessera.runtime.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The graph rewrite behind {@link OnnxModel#dequantized()}: quantized linear algebra back to float, weights
 * dequantized once. Patterns that do not match exactly are left alone (the caller decides what to do with the
 * quantization nodes that remain).
 */
final class Dequantizer {
    private Dequantizer() {}

    /** Operators of quantized arithmetic: a graph holding one of them is not a float graph. */
    static final Set<String> QUANTIZATION_OPS = Set.of("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
            "MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv", "QGemm", "QAttention",
            "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLSTM");

    private static final long ONNX_FLOAT = 1; // TensorProto.FLOAT, Cast's "to"

    static OnnxModel rewrite(OnnxModel m) {
        return new Dequantizer.Run(m).run();
    }

    private static final class Run {
        final OnnxModel m;
        final Map<String, OnnxTensor> inits;
        final List<OnnxNode> nodes;
        final Map<OnnxNode, Integer> index = new IdentityHashMap<>();
        final Map<String, String> rename = new HashMap<>();
        final Set<String> graphOutputs = new HashSet<>();
        final Map<String, QuantizedWeight> origins = new HashMap<>();
        boolean changed;

        Run(OnnxModel m) {
            this.m = m;
            this.inits = new LinkedHashMap<>(m.initializers());
            this.nodes = new ArrayList<>(m.nodes());
            for (int i = 0; i < nodes.size(); i++) {
                index.put(nodes.get(i), i);
            }
            m.outputs().forEach(o -> graphOutputs.add(o.name()));
        }

        OnnxModel run() {
            for (OnnxNode n : m.nodes()) {
                if (!alive(n)) {
                    continue;
                }
                switch (n.opType()) {
                    case "MatMulInteger" -> matMulInteger(n);
                    case "DequantizeLinear" -> dequantizeLinear(n);
                    default -> { }
                }
            }
            if (!changed) {
                return m; // nothing matched: the model as it was
            }
            List<OnnxNode> out = new ArrayList<>();
            for (OnnxNode n : nodes) {
                if (n != null) {
                    out.add(rename.isEmpty() ? n : renamed(n));
                }
            }
            out = withoutDeadNodes(out);
            Set<String> used = new HashSet<>();
            out.forEach(n -> used.addAll(n.inputs()));
            // initializers the rewrite made useless (the integer weights, their scales and zero points)
            inits.keySet().removeIf(k -> !used.contains(k) && m.consumers(k).size() > 0);
            return new OnnxModel(m, out, inits, origins);
        }

        // DynamicQuantizeLinear(x) -> MatMulInteger(xq, Wq, xzp, wzp) -> Cast(float) -> Mul(., x_scale * w_scale)
        private void matMulInteger(OnnxNode mmi) {
            OnnxTensor wq = m.initializer(mmi.input(1));
            OnnxNode dq = m.producer(mmi.input(0));
            if (wq == null || !isInt8(wq) || wq.rank() != 2 || dq == null
                    || !dq.opType().equals("DynamicQuantizeLinear")
                    || !(mmi.input(2).isEmpty() || mmi.input(2).equals(dq.output(2)))) {
                return;
            }
            OnnxNode cast = only(mmi.output(0));
            if (cast == null || !cast.opType().equals("Cast") || cast.attributeInt("to", -1) != ONNX_FLOAT) {
                return;
            }
            OnnxNode mul = only(cast.output(0));
            if (mul == null || !mul.opType().equals("Mul")) {
                return;
            }
            String scaleName = mul.input(0).equals(cast.output(0)) ? mul.input(1) : mul.input(0);
            OnnxNode scaleMul = m.producer(scaleName);
            if (scaleMul == null || !scaleMul.opType().equals("Mul")) {
                return;
            }
            String wsName = scaleMul.input(0).equals(dq.output(1)) ? scaleMul.input(1)
                    : scaleMul.input(1).equals(dq.output(1)) ? scaleMul.input(0) : null;
            OnnxTensor ws = wsName == null ? null : m.constant(wsName);
            long n = wq.dims()[1];
            if (ws == null || !isFloat(ws) || (ws.numel() != 1 && ws.numel() != n)) {
                return;
            }
            OnnxTensor wzp = mmi.input(3).isEmpty() ? null : m.constant(mmi.input(3));
            if (!mmi.input(3).isEmpty() && (wzp == null || (wzp.numel() != 1 && wzp.numel() != n))) {
                return;
            }
            String wName = fresh(wq.name() + "_dequantized");
            inits.put(wName, OnnxTensor.ofFloats(wName, wq.dims(), dequantize(wq, ws, wzp, 1)));
            origins.put(wName, new QuantizedWeight(wq, ws, wzp, mmi.opType() + (mmi.name().isEmpty() ? "" : " "
                    + mmi.name())));
            replace(mul, new OnnxNode(mmi.name(), "MatMul", "", List.of(dq.input(0), wName), List.of(mul.output(0)),
                    Map.of()));
            remove(mmi);
            remove(cast);
            if (m.consumers(scaleName).size() == 1) {
                remove(scaleMul);
            }
        }

        private void dequantizeLinear(OnnxNode dql) {
            OnnxTensor scale = m.constant(dql.input(1));
            OnnxTensor zp = dql.input(2).isEmpty() ? null : m.constant(dql.input(2));
            if (scale == null || !isFloat(scale) || (!dql.input(2).isEmpty() && zp == null)) {
                return;
            }
            int axis = (int) dql.attributeInt("axis", 1);
            OnnxTensor q = m.initializer(dql.input(0));
            if (q != null && isInt8(q)) { // a stored weight: a float initializer under the node's output name
                inits.put(dql.output(0), OnnxTensor.ofFloats(dql.output(0), q.dims(), dequantize(q, scale, zp, axis)));
                remove(dql);
                return;
            }
            OnnxNode src = m.producer(dql.input(0));
            if (src == null) {
                return;
            }
            if (src.opType().equals("Gather") && scale.numel() == 1) { // rows of a quantized table
                OnnxTensor table = m.initializer(src.input(0));
                if (table == null || !isInt8(table) || m.consumers(src.output(0)).size() != 1) {
                    return;
                }
                String tName = fresh(table.name() + "_dequantized");
                inits.put(tName, OnnxTensor.ofFloats(tName, table.dims(), dequantize(table, scale, zp, 0)));
                replace(dql, new OnnxNode(src.name(), "Gather", "", List.of(tName, src.input(1)),
                        List.of(dql.output(0)), src.attributes()));
                remove(src);
            } else if (src.opType().equals("QuantizeLinear") && !graphOutputs.contains(dql.output(0))) {
                rename.put(dql.output(0), src.input(0)); // fake quantization of an activation: the activation
                remove(dql);
            }
        }

        private OnnxNode only(String value) {
            List<OnnxNode> c = m.consumers(value);
            return c.size() == 1 && !graphOutputs.contains(value) ? c.get(0) : null;
        }

        private boolean alive(OnnxNode n) {
            Integer i = index.get(n);
            return i != null && nodes.get(i) == n;
        }

        private void replace(OnnxNode old, OnnxNode with) {
            nodes.set(index.get(old), with);
            changed = true;
        }

        private void remove(OnnxNode n) {
            Integer i = index.get(n);
            if (i != null && nodes.get(i) == n) {
                nodes.set(i, null);
                changed = true;
            }
        }

        private String fresh(String base) {
            String name = base;
            for (int i = 1; inits.containsKey(name) || m.producer(name) != null; i++) {
                name = base + "_" + i;
            }
            return name;
        }

        private OnnxNode renamed(OnnxNode n) {
            List<String> in = new ArrayList<>(n.inputs().size());
            boolean changed = false;
            for (String s : n.inputs()) {
                String r = s;
                while (rename.containsKey(r)) {
                    r = rename.get(r);
                }
                changed |= !r.equals(s);
                in.add(r);
            }
            return changed ? new OnnxNode(n.name(), n.opType(), n.domain(), List.copyOf(in), n.outputs(),
                    n.attributes()) : n;
        }

        // Drops the quantization nodes (and the nodes reading their outputs or integer weights) whose outputs were
        // read before the rewrite and are read no more, until none is left. Other nodes stay, read or not.
        private List<OnnxNode> withoutDeadNodes(List<OnnxNode> in) {
            List<OnnxNode> cur = in;
            for (;;) {
                Set<String> read = new HashSet<>(graphOutputs);
                cur.forEach(n -> read.addAll(n.inputs()));
                List<OnnxNode> next = cur.stream().filter(n -> !quantizationSide(n)
                        || n.outputs().stream().anyMatch(o -> !o.isEmpty() && read.contains(o))
                        || n.outputs().stream().allMatch(o -> m.consumers(o).isEmpty())).toList();
                if (next.size() == cur.size()) {
                    return cur;
                }
                cur = next;
            }
        }

        private boolean quantizationSide(OnnxNode n) {
            if (QUANTIZATION_OPS.contains(n.opType())) {
                return true;
            }
            for (String i : n.inputs()) {
                OnnxTensor t = m.initializer(i);
                OnnxNode p = m.producer(i);
                if ((t != null && isInt8(t)) || (p != null && QUANTIZATION_OPS.contains(p.opType()))) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * {@code (q - zeroPoint) * scale} with one scale (and zero point) for the whole tensor or one per index of
     * {@code axis}.
     */
    static float[] dequantize(OnnxTensor q, OnnxTensor scale, OnnxTensor zeroPoint, int axis) {
        float[] v = q.toFloats();
        float[] s = scale.toFloats();
        float[] z = zeroPoint == null ? new float[s.length] : zeroPoint.toFloats();
        if (z.length != s.length) {
            throw new IllegalArgumentException(q.name() + ": " + s.length + " scales but " + z.length
                    + " zero points");
        }
        if (s.length == 1) {
            for (int i = 0; i < v.length; i++) {
                v[i] = (v[i] - z[0]) * s[0];
            }
            return v;
        }
        long[] d = q.dims();
        int ax = axis < 0 ? axis + d.length : axis;
        if (ax < 0 || ax >= d.length || d[ax] != s.length) {
            throw new IllegalArgumentException(q.name() + " " + Arrays.toString(d) + ": " + s.length
                    + " scales do not match axis " + axis);
        }
        long inner = 1;
        for (int i = ax + 1; i < d.length; i++) {
            inner *= d[i];
        }
        for (int i = 0; i < v.length; i++) {
            int c = (int) ((i / inner) % s.length);
            v[i] = (v[i] - z[c]) * s[c];
        }
        return v;
    }

    private static boolean isInt8(OnnxTensor t) {
        return t.dataType() == OnnxDataType.INT8 || t.dataType() == OnnxDataType.UINT8;
    }

    private static boolean isFloat(OnnxTensor t) {
        return t.dataType() == OnnxDataType.FLOAT || t.dataType() == OnnxDataType.FLOAT16
                || t.dataType() == OnnxDataType.BFLOAT16;
    }
}
