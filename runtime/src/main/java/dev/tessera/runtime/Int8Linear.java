package dev.tessera.runtime;

import dev.tessera.bindings.NativeStatus;
import dev.tessera.bindings.jni.QgemmNative;

/**
 * An INT8 linear layer on the CPU, with the arithmetic of ONNX Runtime's dynamic quantization (a model exported
 * with {@code onnxruntime.quantization.quantize_dynamic}: {@code DynamicQuantizeLinear → MatMulInteger → Cast →
 * Mul}): each call quantizes its input to uint8 with one scale and zero point for the whole tensor, multiplies by
 * the int8 weight with its per-column zero points exactly (int32), and scales by input scale × weight scale in
 * fp32, then adds the bias, applies the activation and adds the residual as {@link Ops#linear} does. Given the same
 * input it gives ONNX Runtime's numbers (see {@code native/include/tessera/qgemm.h}).
 *
 * <p>Fast where the CPU has AVX-512 VNNI ({@link #fast()}); elsewhere an exact portable loop runs (slow), so models
 * prefer their dequantized fp32 weights there. The packed weight lives in native memory: close it (a model owns
 * its layers).
 */
public final class Int8Linear implements AutoCloseable {
    private final long out;
    private final long in;
    private final Tensor packed;      // the packed int8 panels + column sums (I8: raw bytes)
    private final Tensor zeroPoints;  // I32 [out]
    private final Tensor scales;      // F32 [out]

    private Int8Linear(long out, long in, Tensor packed, Tensor zeroPoints, Tensor scales) {
        this.out = out;
        this.in = in;
        this.packed = packed;
        this.zeroPoints = zeroPoints;
        this.scales = scales;
    }

    /** Whether the fast (AVX-512 VNNI) path runs on this machine. */
    public static boolean fast() {
        return QgemmNative.tsr_cpu_qgemm_vnni() == 1;
    }

    /**
     * Packs an int8 weight of {@code out} output and {@code in} input features.
     *
     * @param weight the int8 values, row-major {@code [in, out]} when {@code inOut} (ONNX MatMul's layout), else
     *     {@code [out, in]} (PyTorch's)
     * @param zeroPoints per output column, {@code out} values (or one for all), each in [-128, 127]
     * @param scales per output column, {@code out} positive finite values (or one for all)
     */
    public static Int8Linear pack(byte[] weight, long out, long in, boolean inOut, int[] zeroPoints, float[] scales) {
        if (weight == null || zeroPoints == null || scales == null) {
            throw new IllegalArgumentException("Int8Linear.pack: null argument");
        }
        // out, in <= weight.length first: their product then fits a long (a wrapped product could match the length)
        if (out < 1 || in < 1 || out > weight.length || in > weight.length || out * in != weight.length) {
            throw new IllegalArgumentException("Int8Linear.pack: " + weight.length + " weight bytes for [out " + out
                    + ", in " + in + "]");
        }
        int[] zp = perColumn(zeroPoints, out, "zero points");
        float[] sc = new float[(int) out];
        for (int j = 0; j < out; j++) {
            sc[j] = scales.length == 1 ? scales[0] : j < scales.length ? scales[j] : Float.NaN;
            if (scales.length != 1 && scales.length != out || !(sc[j] > 0) || Float.isInfinite(sc[j])) {
                throw new IllegalArgumentException("Int8Linear.pack: " + scales.length + " scales for " + out
                        + " columns, or one not positive and finite");
            }
        }
        for (int z : zp) {
            if (z < -128 || z > 127) {
                throw new IllegalArgumentException("Int8Linear.pack: int8 zero point " + z + " out of range");
            }
        }
        long bytes = QgemmNative.tsr_cpu_qgemm_packed_bytes(out, in);
        try (Scope scope = Tessera.scope()) {
            Tensor w = Tensor.ofBytes(weight, Device.CPU, weight.length);
            Tensor p = Tensor.empty(DType.I8, Device.CPU, bytes);
            NativeStatus.check(QgemmNative.tsr_cpu_qgemm_pack_s8(w.address(), inOut ? 1 : in, inOut ? out : 1, out,
                    in, p.address()), "tsr_cpu_qgemm_pack_s8");
            if (p.address() % 64 != 0) {
                throw new IllegalStateException("Int8Linear: the host allocator gave an unaligned block");
            }
            Tensor z = Tensor.ofInts(zp, Device.CPU, out);
            Tensor s = Tensor.of(sc, Device.CPU, out);
            return new Int8Linear(out, in, scope.keep(p), scope.keep(z), scope.keep(s));
        }
    }

    /**
     * Quantizes an F32 weight {@code [out, in]} (PyTorch's layout, on the CPU) for dynamic INT8: int8 with a scale
     * per output feature, symmetric (zero point 0, scale max|w| / 127; a row of zeros gets scale 1), as
     * {@code onnxruntime.quantization.quantize_dynamic} quantizes weights per channel; then {@link #pack}s it.
     *
     * @throws IllegalArgumentException unless {@code weight} is F32 {@code [out, in]} on the CPU with finite values
     */
    public static Int8Linear quantize(Tensor weight) {
        if (weight == null || weight.rank() != 2 || weight.dtype() != DType.F32 || !weight.device().isCpu()) {
            throw new IllegalArgumentException("Int8Linear.quantize: the weight must be F32 [out, in] on the CPU, got "
                    + (weight == null ? "null" : weight.describe()));
        }
        return quantize(weight.toFloatArray(), weight.dim(0), weight.dim(1));
    }

    /** As {@link #quantize(Tensor)} for the values of {@code w}, row-major {@code [out, in]}. */
    public static Int8Linear quantize(float[] w, long out, long in) {
        if (w == null || out < 1 || in < 1 || out * in != w.length) {
            throw new IllegalArgumentException("Int8Linear.quantize: " + (w == null ? "no" : w.length) + " values for [out "
                    + out + ", in " + in + "]");
        }
        byte[] q = new byte[w.length];
        float[] scales = new float[(int) out];
        for (int j = 0; j < out; j++) {
            int row = (int) (j * in);
            float max = 0;
            for (int i = 0; i < in; i++) {
                float v = w[row + i];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("Int8Linear.quantize: weight [" + j + ", " + i + "] is " + v);
                }
                max = Math.max(max, Math.abs(v));
            }
            float scale = max > 0 ? max / 127f : 1f;
            scales[j] = scale;
            for (int i = 0; i < in; i++) {
                q[row + i] = (byte) Math.max(-127, Math.min(127, Math.round(w[row + i] / scale)));
            }
        }
        return pack(q, out, in, false, new int[] {0}, scales);
    }

    /** The native tensors the layer holds (packed panels, zero points, scales): closing them closes the layer. */
    public java.util.List<Tensor> tensors() {
        return java.util.List.of(packed, zeroPoints, scales);
    }

    private static int[] perColumn(int[] v, long n, String what) {
        if (v.length != 1 && v.length != n) {
            throw new IllegalArgumentException("Int8Linear.pack: " + v.length + " " + what + " for " + n + " columns");
        }
        int[] out = new int[(int) n];
        for (int j = 0; j < n; j++) {
            out[j] = v.length == 1 ? v[0] : v[j];
        }
        return out;
    }

    public long out() {
        return out;
    }

    public long in() {
        return in;
    }

    /**
     * {@code act(x Wᵀ + bias) + residual} for {@code x [..., in]} (F32 on the CPU, rows contiguous): a new F32
     * tensor {@code [..., out]}, the input quantized with one scale for the whole tensor (DynamicQuantizeLinear).
     *
     * @param bias {@code [out]} F32 or null
     * @param act the activation (null: none)
     * @param residual the output's shape, F32, contiguous, or null
     */
    public Tensor forward(Tensor x, Tensor bias, FusedActivation act, Tensor residual) {
        return forward(x, bias, act, residual, 0, null);
    }

    /**
     * As {@link #forward(Tensor, Tensor, FusedActivation, Tensor)} with the input quantized per group of
     * {@code groupRows} consecutive rows (e.g. one sentence of a padded batch: {@code groupRows} = its sequence
     * length), each group's range taken over its rows with {@code valid[row]} true (e.g. the attention mask, so
     * padding does not widen it). A sentence then gets what ONNX Runtime gives it run alone, whatever the batch.
     *
     * @param groupRows rows per group (0: the whole tensor is one group); must divide the row count
     * @param valid one flag per row, or null (every row counts)
     */
    public Tensor forward(Tensor x, Tensor bias, FusedActivation act, Tensor residual, long groupRows,
            boolean[] valid) {
        ensureOpen();
        if (x == null) {
            throw new IllegalArgumentException("Int8Linear: x is null");
        }
        x.ensureOpen();
        if (x.device().type() != Device.Type.CPU || x.dtype() != DType.F32 || x.rank() < 1
                || x.dim(x.rank() - 1) != in) {
            throw new IllegalArgumentException("Int8Linear: x must be F32 [..., " + in + "] on the CPU, got "
                    + x.describe());
        }
        long m = x.numel() / in;
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = out;
        if (bias != null) {
            bias.ensureOpen();
            if (bias.device().type() != Device.Type.CPU || bias.dtype() != DType.F32 || bias.rank() != 1
                    || bias.dim(0) != out || !bias.isContiguous()) {
                throw new IllegalArgumentException("Int8Linear: bias must be contiguous F32 [" + out + "] on the CPU,"
                        + " got " + bias.describe() + (bias.isContiguous() ? "" : " (not contiguous)"));
            }
        }
        if (residual != null) {
            residual.ensureOpen();
            if (residual.device().type() != Device.Type.CPU || residual.dtype() != DType.F32
                    || !java.util.Arrays.equals(residual.shape(), outShape) || !residual.isContiguous()) {
                throw new IllegalArgumentException("Int8Linear: residual must be contiguous F32 "
                        + java.util.Arrays.toString(outShape) + " on the CPU, got " + residual.describe()
                        + (residual.isContiguous() ? "" : " (not contiguous)"));
            }
        }
        long group = groupRows == 0 ? Math.max(1, m) : groupRows;
        if (groupRows < 0 || (m > 0 && m % group != 0)) {
            throw new IllegalArgumentException("Int8Linear: groups of " + groupRows + " rows do not divide " + m + " rows");
        }
        if (valid != null && valid.length != m) {
            throw new IllegalArgumentException("Int8Linear: " + valid.length + " row flags for " + m + " rows");
        }
        FusedActivation a = act == null ? FusedActivation.NONE : act;
        long ldq = (in + 3) / 4 * 4;
        try (InUse use = InUse.of("Int8Linear", x, bias, residual, packed, zeroPoints, scales);
                Scope scope = Tessera.scope()) {
            Tensor xc = x.isContiguous() ? x : x.contiguous();
            Tensor q = Tensor.empty(DType.I8, Device.CPU, Math.max(1, m * ldq));
            Tensor rowSums = Tensor.empty(DType.I32, Device.CPU, Math.max(1, m));
            Tensor sx = Tensor.empty(DType.F32, Device.CPU, Math.max(1, m));
            Tensor zx = Tensor.empty(DType.I32, Device.CPU, Math.max(1, m));
            long validAddr = 0;
            if (valid != null) {
                byte[] flags = new byte[Math.max(1, valid.length)];
                for (int i = 0; i < valid.length; i++) {
                    flags[i] = (byte) (valid[i] ? 1 : 0);
                }
                validAddr = Tensor.ofBytes(flags, Device.CPU, flags.length).address();
            }
            NativeStatus.check(QgemmNative.tsr_cpu_quantize_u8(xc.address(), m, in, in, group, validAddr, q.address(),
                    ldq, rowSums.address(), sx.address(), zx.address()), "tsr_cpu_quantize_u8");
            Tensor y = Tensor.empty(DType.F32, Device.CPU, outShape);
            NativeStatus.check(QgemmNative.tsr_cpu_qgemm_f32(q.address(), ldq, rowSums.address(), sx.address(),
                    zx.address(), packed.address(), zeroPoints.address(), scales.address(), m, out, in,
                    bias == null ? 0 : bias.address(), a.code(), residual == null ? 0 : residual.address(), out,
                    y.address(), out), "tsr_cpu_qgemm_f32");
            return scope.keep(y);
        }
    }

    /** Bytes of the packed weight. */
    public long packedBytes() {
        return packed.numel();
    }

    private void ensureOpen() {
        if (packed.isClosed()) {
            throw new IllegalStateException("Int8Linear is closed");
        }
    }

    @Override
    public void close() {
        packed.close();
        zeroPoints.close();
        scales.close();
    }
}
