package dev.tessera.models.bert;

import dev.tessera.models.nn.TensorSource;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.onnx.OnnxDataType;
import dev.tessera.runtime.onnx.OnnxModel;
import dev.tessera.runtime.onnx.OnnxNode;
import dev.tessera.runtime.onnx.OnnxTensor;
import dev.tessera.runtime.onnx.OnnxValueInfo;
import dev.tessera.runtime.onnx.QuantizedWeight;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps the initializers of an ONNX export of a BERT encoder to Hugging Face parameter names by walking the graph
 * from its inputs, not by trusting initializer names (exporters rename weights, e.g. {@code onnx::MatMul_787},
 * and store MatMul weights transposed, {@code [in, out]}):
 * <ol>
 *   <li>the three embedding {@code Gather}s (word: indexed by the {@code input_ids} input; token type: by
 *       {@code token_type_ids}; position: the remaining table), their sum and the LayerNorm after it;</li>
 *   <li>per layer, from the hidden state: the three projections that read it (query and key meet in the score
 *       MatMul as left and right operand, value in the MatMul with the attention probabilities), the output
 *       projection after the context, the residual Add and LayerNorm; then the FFN up projection, its activation
 *       (Erf: exact GELU, Tanh: tanh GELU) and down projection, residual Add and LayerNorm;</li>
 *   <li>the config: sizes from the tensors, heads from the Reshape constants that split the heads (or the
 *       score scale), eps from the LayerNorm pattern.</li>
 * </ol>
 * LayerNorm may be one {@code LayerNormalization} node or the decomposed ReduceMean/Sub/Pow/Sqrt/Div pattern;
 * projections may be {@code MatMul}+{@code Add} or {@code Gemm}. Anything else fails with an
 * {@link IllegalArgumentException} saying which part of the graph did not look like BERT.
 */
public final class BertOnnxImport {
    private static final Logger LOG = LoggerFactory.getLogger(BertOnnxImport.class);
    private static final Set<String> LAYOUT = Set.of("Reshape", "Transpose", "Cast", "Unsqueeze", "Squeeze",
            "Identity", "Div", "Mul", "Add", "Where", "Softmax", "Sub");
    private static final Set<String> ACT = Set.of("Div", "Mul", "Add", "Erf", "Tanh", "Pow", "Gelu", "FastGelu",
            "Sigmoid", "Cast", "Identity", "Sub", "Relu");

    private final OnnxModel m;
    private final Map<String, Mapped> mapped = new LinkedHashMap<>();
    private final Map<String, QuantizedWeight> int8 = new LinkedHashMap<>();
    private BertConfig config;

    /** One HF-named parameter: the ONNX tensor and whether it is stored transposed ({@code [in, out]}). */
    record Mapped(OnnxTensor tensor, boolean transposed) {
        long[] shape() {
            long[] d = tensor.dims();
            return transposed ? new long[] {d[1], d[0]} : d;
        }
    }

    private record Lin(OnnxTensor weight, boolean transposed, OnnxTensor bias, String out, long in, long outDim) {}

    private record Ln(OnnxTensor gamma, OnnxTensor beta, double eps, String out) {}

    private BertOnnxImport(OnnxModel m) {
        // a quantized export (ONNX Runtime's quantize_dynamic, QDQ): its weights dequantized once, run in float
        this.m = m.dequantized();
        if (this.m != m) {
            LOG.info("{}: quantized (INT8) export; weights dequantized to float32 ({} quantization nodes rewritten)",
                    m.source(), m.quantizationNodes().size() - this.m.quantizationNodes().size());
        }
    }

    /** Walks {@code onnx}'s graph; throws when it is not a BERT encoder. */
    public static BertOnnxImport map(OnnxModel onnx) {
        try {
            BertOnnxImport imp = new BertOnnxImport(onnx);
            imp.walk();
            return imp;
        } catch (ArithmeticException e) { // a size, id or count from the graph beyond int / long (a damaged file)
            throw new IllegalArgumentException(onnx.source() + ": the graph holds a value out of range ("
                    + e.getMessage() + ")", e);
        }
    }

    /** The config the graph describes. */
    /**
     * The projections whose weights came from an INT8 {@code MatMulInteger} (HF weight name → the INT8 weight
     * {@code [in, out]} with its scales and zero points); empty for a float export.
     */
    public Map<String, QuantizedWeight> int8Weights() {
        return Map.copyOf(int8);
    }

    public BertConfig config() {
        return config;
    }

    /** HF name → ONNX initializer name, for diagnostics. */
    public Map<String, String> names() {
        Map<String, String> out = new LinkedHashMap<>();
        mapped.forEach((k, v) -> out.put(k, v.tensor().name() + (v.transposed() ? " (transposed)" : "")));
        return out;
    }

    /** The mapped parameters under HF names, converted to tensors on demand. */
    public TensorSource tensors() {
        Map<String, Mapped> map = Map.copyOf(mapped);
        String where = m.source().toString();
        return new TensorSource() {
            @Override
            public String describe() {
                return where;
            }

            @Override
            public Set<String> names() {
                return map.keySet();
            }

            @Override
            public long[] shape(String name) {
                return map.get(name).shape();
            }

            @Override
            public Tensor load(String name, Device device, DType dtype) {
                Mapped mp = map.get(name);
                if (mp == null) {
                    throw new IllegalArgumentException(where + ": no tensor " + name);
                }
                float[] data = mp.tensor().toFloats();
                long[] shape = mp.shape();
                if (mp.transposed()) {
                    int rows = (int) shape[1]; // stored [in, out]
                    int cols = (int) shape[0];
                    float[] t = new float[data.length];
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            t[c * rows + r] = data[r * cols + c];
                        }
                    }
                    data = t;
                }
                Tensor t = Tensor.of(data, device, shape.length == 0 ? new long[] {1} : shape);
                if (dtype == null || dtype == DType.F32) {
                    return t;
                }
                try (Tensor f = t) {
                    return f.to(dtype);
                }
            }

            @Override
            public void close() {}
        };
    }

    // ------------------------------------------------------------------ the walk

    private void walk() {
        List<OnnxNode> quantized = m.quantizationNodes();
        if (!quantized.isEmpty()) {
            throw new IllegalArgumentException(m.source() + ": a quantized (INT8) export whose quantized nodes do not"
                    + " match a pattern Tessera turns back into float (" + quantized.size() + " left, the first: "
                    + quantized.get(0) + "); use the fp32 export");
        }
        String idsInput = input("input_ids", true);
        String typeInput = input("token_type_ids", false);
        // embeddings: Gathers over float tables
        OnnxNode word = null, type = null, pos = null;
        List<OnnxNode> others = new ArrayList<>();
        for (OnnxNode n : m.nodes()) {
            if (!n.opType().equals("Gather") || n.attributeInt("axis", 0) != 0) {
                continue;
            }
            OnnxTensor table = m.initializer(n.input(0));
            if (table == null || table.rank() != 2 || !isFloat(table)) {
                continue;
            }
            String idx = n.input(1);
            if (word == null && (idx.equals(idsInput) || feedsFrom(idx, idsInput))) {
                word = n;
            } else if (typeInput != null && (idx.equals(typeInput) || feedsFrom(idx, typeInput))) {
                type = type == null ? n : type;
            } else {
                others.add(n);
            }
        }
        // RoBERTa-style positions are computed from the ids: cumsum(ids != pad) * (ids != pad) + pad
        int positionOffset = 0;
        for (OnnxNode n : others) {
            Long pad = robertaPadding(n.input(1), idsInput);
            if (pad != null && pos == null) {
                pos = n;
                positionOffset = Math.toIntExact(pad + 1);
            }
        }
        others.remove(pos);
        if (type == null && typeInput == null && !others.isEmpty()) {
            // no token_type_ids input: the types come from a buffer of zeros (and the positions, unless computed
            // from the ids, from an arange buffer): the type table is the smaller one
            OnnxNode smallest = others.stream().min(java.util.Comparator.comparingLong(
                    n -> m.initializer(n.input(0)).dims()[0])).orElseThrow();
            if (pos != null || others.size() == 2) {
                type = smallest;
                others.remove(smallest);
            }
        }
        if (pos == null && !others.isEmpty()) {
            pos = others.get(0);
        }
        if (word == null) {
            throw notBert("no word-embedding Gather reads the input " + idsInput);
        }
        if (pos == null) {
            throw notBert("no position-embedding Gather (a Gather over a second float table)");
        }
        OnnxTensor wt = m.initializer(word.input(0));
        OnnxTensor pt = m.initializer(pos.input(0));
        long hidden = wt.dims()[1];
        if (type == null && typeInput != null) {
            throw notBert("no token-type-embedding Gather reads the input " + typeInput);
        }
        // no token types at all (DistilBERT): one row of zeros, which adds nothing
        OnnxTensor tt = type != null ? m.initializer(type.input(0))
                : OnnxTensor.ofFloats("(no token-type embedding: zeros)", new long[] {1, hidden}, new float[(int) hidden]);
        if (pt.dims()[1] != hidden || tt.dims()[1] != hidden) {
            throw notBert("embedding widths differ: word " + wt + ", position " + pt + ", token type " + tt);
        }
        put("embeddings.word_embeddings.weight", wt, false);
        put("embeddings.position_embeddings.weight", pt, false);
        put("embeddings.token_type_embeddings.weight", tt, false);
        // the sum of the three Gathers: follow the Adds from the word embedding
        String sum = word.output(0);
        Set<String> gathers = type == null ? Set.of(word.output(0), pos.output(0))
                : Set.of(word.output(0), type.output(0), pos.output(0));
        Set<String> reached = new HashSet<>(Set.of(sum));
        for (int step = 0; step < 4; step++) {
            OnnxNode add = consumer(sum, "Add");
            if (add == null) {
                break;
            }
            reached.addAll(add.inputs());
            sum = add.output(0);
        }
        if (!reached.containsAll(gathers)) {
            throw notBert("the word, position" + (type == null ? "" : " and token-type") + " embeddings are not summed"
                    + " by Add nodes");
        }
        Ln embLn = layerNorm(sum, "the embedding sum");
        putLn("embeddings.LayerNorm", embLn, hidden);

        String h = embLn.out();
        int layer = 0;
        int heads = -1;
        long inter = -1;
        String act = null;
        while (true) {
            List<OnnxNode> proj = m.consumers(h).stream().filter(this::isProjection).toList();
            if (proj.isEmpty()) {
                break;
            }
            String at = "layer " + layer;
            if (proj.size() != 3) {
                throw notBert(at + ": expected 3 projections (query, key, value) reading the hidden state " + h
                        + ", found " + proj.size() + (proj.size() == 1 ? " (fused QKV is not supported)" : ""));
            }
            Lin[] lins = new Lin[3];
            OnnxNode[] targets = new OnnxNode[3];
            int[] slots = new int[3];
            for (int i = 0; i < 3; i++) {
                lins[i] = linear(proj.get(i), at);
                Object[] hit = reach(lins[i].out(), LAYOUT, n -> n.opType().equals("MatMul") && !isProjection(n), 8);
                if (hit == null) {
                    throw notBert(at + ": projection " + proj.get(i).name() + " does not lead to an attention MatMul");
                }
                targets[i] = (OnnxNode) hit[0];
                slots[i] = (Integer) hit[1];
            }
            int qi = -1, ki = -1, vi = -1;
            for (int i = 0; i < 3; i++) {
                int same = 0;
                for (int j = 0; j < 3; j++) {
                    same += targets[j] == targets[i] ? 1 : 0;
                }
                if (same == 2) {
                    if (slots[i] == 0) {
                        qi = i;
                    } else {
                        ki = i;
                    }
                } else if (same == 1) {
                    vi = i;
                }
            }
            if (qi < 0 || ki < 0 || vi < 0) {
                throw notBert(at + ": cannot tell query, key and value apart (query·keyᵀ then probabilities·value)");
            }
            OnnxNode scores = targets[qi];
            OnnxNode pv = targets[vi];
            Object[] toPv = reach(scores.output(0), LAYOUT, n -> n == pv, 8);
            if (toPv == null || (Integer) toPv[1] != 0) {
                throw notBert(at + ": the attention scores do not feed the probabilities·value MatMul");
            }
            long h0 = lins[qi].in();
            if (h0 != hidden) {
                throw notBert(at + ": query projection reads " + h0 + " features, hidden size is " + hidden);
            }
            int lh = headsOf(lins[qi].out(), scores, hidden);
            if (heads < 0) {
                heads = lh;
            } else if (heads != lh) {
                throw notBert(at + ": " + lh + " heads, earlier layers have " + heads);
            }
            String p = "encoder.layer." + layer + ".";
            putLin(p + "attention.self.query", lins[qi], hidden, hidden);
            putLin(p + "attention.self.key", lins[ki], hidden, hidden);
            putLin(p + "attention.self.value", lins[vi], hidden, hidden);
            Object[] toO = reach(pv.output(0), LAYOUT, this::isProjection, 6);
            if (toO == null) {
                throw notBert(at + ": no output projection after the attention context");
            }
            Lin o = linear((OnnxNode) toO[0], at);
            putLin(p + "attention.output.dense", o, hidden, hidden);
            String res1 = residual(o.out(), h, at + " attention");
            Ln ln1 = layerNorm(res1, at + " attention output");
            putLn(p + "attention.output.LayerNorm", ln1, hidden);
            String h1 = ln1.out();

            List<OnnxNode> ups = m.consumers(h1).stream().filter(this::isProjection).toList();
            if (ups.size() != 1) {
                throw notBert(at + ": expected one FFN projection after the attention LayerNorm, found " + ups.size());
            }
            Lin up = linear(ups.get(0), at);
            Object[] toDown = reach(up.out(), ACT, this::isProjection, 12);
            if (toDown == null) {
                throw notBert(at + ": no FFN down projection after the activation");
            }
            // every op between the projections, not only those on the shortest path to the down projection: in the
            // tanh form 0.5·u·(1 + tanh(...)) the branch through Mul(u, 0.5) is shorter than the one through Tanh
            Set<String> seen = opsBetween(up.out(), ACT, this::isProjection, 12);
            String la = seen.contains("Erf") ? "gelu" : seen.contains("Tanh") ? "gelu_new" : seen.contains("Gelu")
                    ? "gelu" : seen.contains("Relu") && !seen.contains("Sigmoid") ? "relu" : null;
            if (la == null) {
                throw notBert(at + ": the FFN activation is not GELU or ReLU (ops between the projections: " + seen
                        + ")");
            }
            if (act == null) {
                act = la;
            }
            Lin down = linear((OnnxNode) toDown[0], at);
            if (inter < 0) {
                inter = up.outDim();
            }
            if (up.outDim() != inter || down.in() != inter || down.outDim() != hidden) {
                throw notBert(at + ": FFN shapes " + up.in() + "→" + up.outDim() + "→" + down.outDim()
                        + " do not match hidden " + hidden + " / intermediate " + inter);
            }
            putLin(p + "intermediate.dense", up, hidden, inter);
            putLin(p + "output.dense", down, inter, hidden);
            String res2 = residual(down.out(), h1, at + " FFN");
            Ln ln2 = layerNorm(res2, at + " FFN output");
            putLn(p + "output.LayerNorm", ln2, hidden);
            h = ln2.out();
            layer++;
        }
        if (layer == 0) {
            throw notBert("no encoder layer (three projections reading the embedding output) found");
        }
        final String last = h;
        if (m.outputs().stream().noneMatch(o -> o.name().equals(last))) {
            LOG.debug("{}: the last hidden state {} is not a graph output (outputs {}); the graph goes on (pooling?)",
                    m.source(), last, m.outputs());
        }
        this.config = new BertConfig((int) wt.dims()[0], (int) hidden, layer, heads, (int) inter, (int) pt.dims()[0],
                (int) tt.dims()[0], embLn.eps(), act, positionOffset);
        LOG.debug("{}: BERT encoder {}", m.source(), config);
    }

    // ------------------------------------------------------------------ pieces

    private String input(String preferred, boolean required) {
        for (OnnxValueInfo v : m.inputs()) {
            if (v.name().equals(preferred)) {
                return v.name();
            }
        }
        if (!required) {
            return null;
        }
        for (OnnxValueInfo v : m.inputs()) {
            if ((v.elemType() == OnnxDataType.INT64 || v.elemType() == OnnxDataType.INT32) && v.dims().length == 2) {
                return v.name();
            }
        }
        throw notBert("no integer [batch, sequence] input for the token ids (inputs: " + m.inputs() + ")");
    }

    /** Whether {@code value} is computed from {@code input} through casts/reshapes only. */
    private boolean feedsFrom(String value, String input) {
        String v = value;
        for (int i = 0; i < 4; i++) {
            OnnxNode p = m.producer(v);
            if (p == null || !(p.opType().equals("Cast") || p.opType().equals("Reshape")
                    || p.opType().equals("Identity") || p.opType().equals("Unsqueeze"))) {
                return false;
            }
            v = p.input(0);
            if (v.equals(input)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The padding index when {@code value} is RoBERTa's position ids computed from the ids ({@code mask = ids != pad},
     * {@code cumsum(mask) * mask + pad}: a CumSum over an Equal/Not of {@code input} and a constant), else null.
     */
    private Long robertaPadding(String value, String input) {
        Deque<String> todo = new ArrayDeque<>(List.of(value));
        Set<String> seen = new HashSet<>();
        boolean cumsum = false;
        Long pad = null;
        while (!todo.isEmpty() && seen.size() < 32) {
            String v = todo.poll();
            OnnxNode p = m.producer(v);
            if (p == null || !seen.add(v)) {
                continue;
            }
            switch (p.opType()) {
                case "CumSum" -> {
                    cumsum = true;
                    todo.add(p.input(0));
                }
                case "Equal" -> {
                    int other = p.input(0).equals(input) ? 1 : p.input(1).equals(input) ? 0 : -1;
                    OnnxTensor c = other < 0 ? null : m.constant(p.input(other));
                    if (c != null && c.numel() == 1) {
                        pad = c.toLongs()[0];
                    }
                }
                case "Cast", "Not", "Mul", "Add", "Sub", "Unsqueeze", "Reshape", "Identity", "Expand" ->
                        p.inputs().forEach(todo::add);
                default -> { }
            }
        }
        return cumsum ? pad : null;
    }

    private static boolean isFloat(OnnxTensor t) {
        return t.dataType() == OnnxDataType.FLOAT || t.dataType() == OnnxDataType.FLOAT16
                || t.dataType() == OnnxDataType.BFLOAT16 || t.dataType() == OnnxDataType.DOUBLE;
    }

    private boolean isProjection(OnnxNode n) {
        if (!n.opType().equals("MatMul") && !n.opType().equals("Gemm")) {
            return false;
        }
        OnnxTensor w = m.initializer(n.input(1));
        return w != null && w.rank() == 2 && isFloat(w);
    }

    private Lin linear(OnnxNode n, String at) {
        OnnxTensor w = m.initializer(n.input(1));
        long[] d = w.dims();
        if (n.opType().equals("Gemm")) {
            if (n.attributeInt("transA", 0) != 0 || n.attributeFloat("alpha", 1f) != 1f
                    || n.attributeFloat("beta", 1f) != 1f) {
                throw notBert(at + ": Gemm " + n.name() + " with transA/alpha/beta is not a plain linear layer");
            }
            boolean transB = n.attributeInt("transB", 0) != 0;
            OnnxTensor b = n.input(2).isEmpty() ? null : m.initializer(n.input(2));
            long out = transB ? d[0] : d[1];
            return new Lin(w, !transB, b, n.output(0), transB ? d[1] : d[0], out);
        }
        OnnxTensor bias = null;
        String out = n.output(0);
        for (OnnxNode c : m.consumers(out)) {
            if (c.opType().equals("Add")) {
                String other = c.input(0).equals(out) ? c.input(1) : c.input(0);
                OnnxTensor b = m.initializer(other);
                if (b != null && b.rank() == 1 && b.dims()[0] == d[1]) {
                    bias = b;
                    out = c.output(0);
                    break;
                }
            }
        }
        if (bias == null) {
            throw notBert(at + ": projection " + n.name() + " (" + w + ") has no bias Add");
        }
        return new Lin(w, true, bias, out, d[0], d[1]);
    }

    /** The Add of {@code value} and the residual {@code skip}; its output. */
    private String residual(String value, String skip, String at) {
        for (OnnxNode c : m.consumers(value)) {
            if (c.opType().equals("Add") && c.inputs().contains(skip)) {
                return c.output(0);
            }
        }
        throw notBert(at + ": no residual Add of " + value + " and " + skip);
    }

    private Ln layerNorm(String x, String what) {
        for (OnnxNode c : m.consumers(x)) {
            if (c.opType().equals("LayerNormalization") && c.input(0).equals(x)) {
                OnnxTensor g = m.initializer(c.input(1));
                OnnxTensor b = c.input(2).isEmpty() ? null : m.initializer(c.input(2));
                if (g == null || b == null) {
                    throw notBert("LayerNormalization after " + what + " has no stored scale and bias");
                }
                return new Ln(g, b, Double.parseDouble(Float.toString(c.attributeFloat("epsilon", 1e-5f))), c.output(0));
            }
        }
        // decomposed: mean = ReduceMean(x); d = x - mean; var = ReduceMean(d^2); y = d / sqrt(var + eps) * g + b
        OnnxNode mean = consumer(x, "ReduceMean");
        OnnxNode sub = null;
        if (mean != null) {
            for (OnnxNode c : m.consumers(mean.output(0))) {
                if (c.opType().equals("Sub") && c.input(0).equals(x)) {
                    sub = c;
                }
            }
        }
        if (sub == null) {
            throw notBert("expected a LayerNorm after " + what + " (LayerNormalization, or ReduceMean/Sub/Pow/Sqrt)");
        }
        String d = sub.output(0);
        OnnxNode div = consumer(d, "Div");
        OnnxNode pow = consumer(d, "Pow");
        OnnxNode var = pow == null ? null : consumer(pow.output(0), "ReduceMean");
        OnnxNode addEps = var == null ? null : consumer(var.output(0), "Add");
        OnnxNode sqrt = addEps == null ? null : consumer(addEps.output(0), "Sqrt");
        if (div == null || sqrt == null || !div.input(1).equals(sqrt.output(0))) {
            throw notBert("the LayerNorm after " + what + " does not have the x - mean / sqrt(var + eps) pattern");
        }
        OnnxTensor eps = m.constant(addEps.input(0).equals(var.output(0)) ? addEps.input(1) : addEps.input(0));
        OnnxNode mul = consumer(div.output(0), "Mul");
        OnnxNode add = mul == null ? null : consumer(mul.output(0), "Add");
        OnnxTensor g = mul == null ? null : m.initializer(other(mul, div.output(0)));
        OnnxTensor b = add == null ? null : m.initializer(other(add, mul.output(0)));
        if (eps == null || g == null || b == null) {
            throw notBert("the LayerNorm after " + what + " has no constant eps, scale or bias");
        }
        return new Ln(g, b, Double.parseDouble(Float.toString(eps.toFloats()[0])), add.output(0));
    }

    private int headsOf(String qOut, OnnxNode scores, long hidden) {
        // the Reshape that splits the heads: [batch, seq, heads, head_dim]
        Deque<String> todo = new ArrayDeque<>(List.of(qOut));
        for (int guard = 0; guard < 16 && !todo.isEmpty(); guard++) {
            String v = todo.poll();
            for (OnnxNode c : m.consumers(v)) {
                if (c.opType().equals("Reshape")) {
                    long[] shape = reshapeTarget(c);
                    // [batch, seq, heads, head_dim]; either of the last two may be computed at run time
                    if (shape != null && shape.length == 4) {
                        long hh = shape[2];
                        long dd = shape[3];
                        if (hh > 0 && dd > 0 && hh * dd == hidden) {
                            return (int) hh;
                        }
                        if (hh > 0 && dd <= 0 && hidden % hh == 0) {
                            return (int) hh;
                        }
                        if (hh <= 0 && dd > 0 && hidden % dd == 0) {
                            return (int) (hidden / dd);
                        }
                    }
                }
                if (c != scores && LAYOUT.contains(c.opType())) {
                    todo.add(c.output(0));
                }
            }
        }
        // fall back to the score scale 1/sqrt(head_dim)
        for (OnnxNode c : m.consumers(scores.output(0))) {
            OnnxTensor s = m.constant(other(c, scores.output(0)));
            if (s != null && s.numel() == 1) {
                double v = s.toFloats()[0];
                double dim = c.opType().equals("Div") ? v * v : c.opType().equals("Mul") ? 1 / (v * v) : -1;
                long hd = Math.round(dim);
                if (hd > 0 && Math.abs(dim - hd) < 1e-3 && hidden % hd == 0) {
                    return (int) (hidden / hd);
                }
            }
        }
        throw notBert("cannot find the number of attention heads (no Reshape to [batch, seq, heads, head_dim] and no"
                + " 1/sqrt(head_dim) scale)");
    }

    private long[] reshapeTarget(OnnxNode reshape) {
        OnnxTensor t = m.constant(reshape.input(1));
        if (t != null) {
            return t.toLongs();
        }
        OnnxNode concat = m.producer(reshape.input(1));
        if (concat == null || !concat.opType().equals("Concat")) {
            return null;
        }
        long[] out = new long[concat.inputs().size()];
        for (int i = 0; i < out.length; i++) {
            OnnxTensor c = m.constant(concat.input(i));
            out[i] = c != null && c.numel() == 1 ? c.toLongs()[0] : -1;
        }
        return out;
    }

    private OnnxNode consumer(String value, String op) {
        for (OnnxNode c : m.consumers(value)) {
            if (c.opType().equals(op)) {
                return c;
            }
        }
        return null;
    }

    private static String other(OnnxNode n, String value) {
        return n.input(0).equals(value) ? n.input(1) : n.input(0);
    }

    /** Breadth-first from {@code from} through nodes of the {@code through} types: [target node, input slot]. */
    private Object[] reach(String from, Set<String> through, java.util.function.Predicate<OnnxNode> target, int depth) {
        List<String> frontier = List.of(from);
        Set<String> visited = new HashSet<>();
        for (int d = 0; d < depth && !frontier.isEmpty(); d++) {
            List<String> next = new ArrayList<>();
            for (String v : frontier) {
                for (OnnxNode c : m.consumers(v)) {
                    if (target.test(c)) {
                        return new Object[] {c, c.inputs().indexOf(v)};
                    }
                    if (through.contains(c.opType()) && visited.add(c.output(0))) {
                        next.add(c.output(0));
                    }
                }
            }
            frontier = next;
        }
        return null;
    }

    /**
     * The op types of every node reachable from {@code from} through nodes of the {@code through} types (at most
     * {@code depth} deep), not going past nodes matching {@code stop}.
     */
    private Set<String> opsBetween(String from, Set<String> through, java.util.function.Predicate<OnnxNode> stop,
            int depth) {
        Set<String> ops = new HashSet<>();
        Set<String> visited = new HashSet<>();
        List<String> frontier = List.of(from);
        for (int d = 0; d < depth && !frontier.isEmpty(); d++) {
            List<String> next = new ArrayList<>();
            for (String v : frontier) {
                for (OnnxNode c : m.consumers(v)) {
                    if (!stop.test(c) && through.contains(c.opType()) && visited.add(c.output(0))) {
                        ops.add(c.opType());
                        next.add(c.output(0));
                    }
                }
            }
            frontier = next;
        }
        return ops;
    }

    private void put(String name, OnnxTensor t, boolean transposed) {
        mapped.put(name, new Mapped(t, transposed));
    }

    private void putLin(String name, Lin l, long in, long out) {
        if (l.in() != in || l.outDim() != out) {
            throw notBert(name + ": projection " + l.weight() + " is " + l.in() + "→" + l.outDim() + ", expected " + in
                    + "→" + out);
        }
        put(name + ".weight", l.weight(), l.transposed());
        QuantizedWeight q = m.int8Origin(l.weight().name());
        if (q != null && l.transposed()) { // a MatMulInteger weight [in, out], dequantized for the float path
            int8.put(name + ".weight", q);
        }
        if (l.bias() != null) {
            put(name + ".bias", l.bias(), false);
        }
    }

    private void putLn(String name, Ln ln, long hidden) {
        if (ln.gamma().numel() != hidden || ln.beta().numel() != hidden) {
            throw notBert(name + ": LayerNorm parameters " + ln.gamma() + ", " + ln.beta() + " are not of width "
                    + hidden);
        }
        put(name + ".weight", ln.gamma(), false);
        put(name + ".bias", ln.beta(), false);
    }

    private IllegalArgumentException notBert(String why) {
        return new IllegalArgumentException(m.source() + ": not a BERT encoder graph: " + why);
    }
}
