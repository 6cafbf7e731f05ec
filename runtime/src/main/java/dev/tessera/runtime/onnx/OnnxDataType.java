package dev.tessera.runtime.onnx;

/** Element types of ONNX tensors, with the numbering of the ONNX IR ({@code TensorProto.DataType}). */
public enum OnnxDataType {
    UNDEFINED(0, 0),
    FLOAT(1, 4),
    UINT8(2, 1),
    INT8(3, 1),
    UINT16(4, 2),
    INT16(5, 2),
    INT32(6, 4),
    INT64(7, 8),
    STRING(8, 0),
    BOOL(9, 1),
    FLOAT16(10, 2),
    DOUBLE(11, 8),
    UINT32(12, 4),
    UINT64(13, 8),
    COMPLEX64(14, 8),
    COMPLEX128(15, 16),
    BFLOAT16(16, 2);

    private final int code;
    private final int size;

    OnnxDataType(int code, int size) {
        this.code = code;
        this.size = size;
    }

    /** The ONNX numeric code. */
    public int code() {
        return code;
    }

    /** Bytes per element (0 for STRING/UNDEFINED, which have no fixed size). */
    public int size() {
        return size;
    }

    /** Whether {@link OnnxTensor#toFloats()} can convert this type. */
    public boolean isNumeric() {
        return size > 0 && this != COMPLEX64 && this != COMPLEX128;
    }

    /** The type with ONNX code {@code code}; unknown codes are an {@link IllegalArgumentException}. */
    public static OnnxDataType of(int code) {
        for (OnnxDataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported ONNX data type code " + code);
    }
}
