package dev.tessera.runtime.onnx;

import java.util.List;
import java.util.Map;

/**
 * One node of an ONNX graph: its operator, the value names it reads and writes (an empty input name is an
 * omitted optional input), and its attributes.
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
        Map<String, OnnxAttribute> attributes) {

    /** The input at {@code i}, or "" when the node has fewer inputs. */
    public String input(int i) {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    /** The output at {@code i}, or "" when the node has fewer outputs. */
    public String output(int i) {
        return i < outputs.size() ? outputs.get(i) : "";
    }

    /** The attribute {@code name}, or null. */
    public OnnxAttribute attribute(String name) {
        return attributes.get(name);
    }

    /** An INT attribute, or {@code dflt} when absent. */
    public long attributeInt(String name, long dflt) {
        OnnxAttribute a = attributes.get(name);
        return a == null ? dflt : a.i();
    }

    /** A FLOAT attribute, or {@code dflt} when absent. */
    public float attributeFloat(String name, float dflt) {
        OnnxAttribute a = attributes.get(name);
        return a == null ? dflt : a.f();
    }

    @Override
    public String toString() {
        return opType + " " + (name.isEmpty() ? "" : name + " ") + inputs + " -> " + outputs;
    }
}
