package dev.tessera.runtime.onnx;

import java.util.List;

/**
 * A node attribute. {@code kind} is the ONNX attribute type name (FLOAT, INT, STRING, TENSOR, FLOATS, INTS,
 * STRINGS, ...); the fields of other kinds hold their defaults (0, "", null, empty lists).
 */
public record OnnxAttribute(String name, String kind, float f, long i, String s, OnnxTensor t, List<Float> floats,
        List<Long> ints, List<String> strings) {}
