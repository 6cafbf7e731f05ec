package dev.tessera.runtime.onnx;

/**
 * An INT8/UINT8 initializer used as a quantized weight, with the scale and zero point the graph applies to it
 * ({@code real = (q - zeroPoint) * scale}, per tensor or per channel), found from the node that consumes it
 * ({@code DequantizeLinear}, {@code MatMulInteger}, {@code QLinearMatMul}, {@code ConvInteger}, ...).
 * {@code scale} or {@code zeroPoint} is null when the graph computes it at run time rather than storing it.
 */
public record QuantizedWeight(OnnxTensor weight, OnnxTensor scale, OnnxTensor zeroPoint, String consumer) {

    /** The real-valued weight {@code (q - zeroPoint) * scale} (per tensor, or per channel along axis 0/last). */
    public float[] dequantize() {
        if (scale == null) {
            throw new IllegalStateException("quantized weight " + weight.name() + " has no stored scale (computed by "
                    + consumer + " at run time)");
        }
        float[] q = weight.toFloats();
        float[] s = scale.toFloats();
        float[] z = zeroPoint == null ? new float[s.length] : zeroPoint.toFloats();
        if (s.length == 1) {
            for (int i = 0; i < q.length; i++) {
                q[i] = (q[i] - z[0]) * s[0];
            }
            return q;
        }
        long[] d = weight.dims();
        if (d.length >= 1 && d[d.length - 1] == s.length) {
            for (int i = 0; i < q.length; i++) {
                int c = i % s.length;
                q[i] = (q[i] - z[c]) * s[c];
            }
            return q;
        }
        if (d.length >= 1 && d[0] == s.length) {
            int per = q.length / s.length;
            for (int i = 0; i < q.length; i++) {
                int c = i / per;
                q[i] = (q[i] - z[c]) * s[c];
            }
            return q;
        }
        throw new IllegalArgumentException("quantized weight " + weight.name() + ": " + s.length
                + " scales do not match its dims " + java.util.Arrays.toString(d));
    }
}
