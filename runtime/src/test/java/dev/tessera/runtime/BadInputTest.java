package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad arguments are refused in Java with a clear exception that names the offending shapes, dtypes or
 * devices (a native call with bad arguments could take the JVM down). Each check also verifies that
 * nothing leaked: the CPU backend's allocated bytes are back where they were.
 */
class BadInputTest {
    private Scope scope;
    private long allocatedBefore;

    @BeforeEach
    void open() {
        allocatedBefore = cpuAllocated();
        scope = Tessera.scope();
    }

    @AfterEach
    void close() {
        scope.close();
        assertEquals(allocatedBefore, cpuAllocated(), "CPU bytes allocated after the test (leak on an error path?)");
    }

    static long cpuAllocated() {
        return Backends.forType(Device.Type.CPU).memoryStats(Device.CPU).allocatedBytes();
    }

    static Tensor rand(long seed, long... shape) {
        return Tensor.of(Reference64.gaussian(new Random(seed), (int) Shape.numel(shape), 1), shape);
    }

    /** Asserts {@code call} throws exactly {@code type} and that the message contains every fragment. */
    static <T extends Throwable> T expect(Class<T> type, Executable call, String... fragments) {
        T e = assertThrows(type, call);
        assertEquals(type, e.getClass(), "exception type");
        String m = e.getMessage();
        assertTrue(m != null && !m.isBlank(), "exception has no message");
        for (String f : fragments) {
            assertTrue(m.contains(f), "message \"" + m + "\" does not name \"" + f + "\"");
        }
        return e;
    }

    // ------------------------------------------------------------------ shapes, dtypes

    @Test
    void addWithMismatchedShapes() {
        Tensor a = rand(1, 2, 3);
        Tensor b = rand(2, 3, 2);
        expect(IllegalArgumentException.class, () -> Ops.add(a, b), "add", "[2, 3]", "[3, 2]");
        Tensor row = rand(3, 2);
        expect(IllegalArgumentException.class, () -> Ops.mul(a, row), "mul", "[2, 3]", "[2]");
    }

    @Test
    void addWithMismatchedDtypes() {
        Tensor a = rand(1, 2, 3);
        Tensor b = rand(2, 2, 3).to(DType.F16);
        expect(IllegalArgumentException.class, () -> Ops.add(a, b), "add", "F32", "F16");
    }

    @Test
    void binaryIntoAWrongOut() {
        Tensor a = rand(1, 2, 3);
        Tensor b = rand(2, 2, 3);
        Tensor out = Tensor.empty(DType.F32, Device.CPU, 3, 2);
        expect(IllegalArgumentException.class, () -> Ops.binary(BinaryOp.ADD, a, b, out), "out", "[3, 2]");
        Tensor nc = rand(3, 3, 2).t();
        expect(IllegalArgumentException.class, () -> Ops.binary(BinaryOp.ADD, a, b, nc), "not contiguous");
    }

    @Test
    void intTensorsAreRefusedByFloatingOps() {
        Tensor ids = Tensor.ofInts(new int[] {1, 2, 3}, Device.CPU, 3);
        expect(IllegalArgumentException.class, () -> Ops.gelu(ids), "gelu", "I32");
        expect(IllegalArgumentException.class, () -> Ops.softmax(ids), "softmax", "I32");
        expect(IllegalArgumentException.class, () -> Ops.convert(ids, DType.F32), "convert", "I32");
        Tensor x = rand(1, 3);
        expect(IllegalArgumentException.class, () -> Ops.convert(x, DType.I64), "convert", "I64");
    }

    /** I8 (a storage type: packed int8 weights) reaches no kernel: every op refuses it in one message. */
    @Test
    void int8TensorsAreRefusedByOps() {
        try (PackedWeight pw = PackedWeight.pack(rand(1, 40, 6), DType.I8)) {
            Tensor q = pw.buffer();
            assertEquals(DType.I8, q.dtype());
            Tensor v = q.slice(0, 0, 12).reshape(2, 6);
            Tensor x = rand(2, 2, 6);
            expect(IllegalArgumentException.class, () -> Ops.gelu(v), "gelu", "I8");
            expect(IllegalArgumentException.class, () -> Ops.softmax(v), "softmax", "I8");
            expect(IllegalArgumentException.class, () -> Ops.convert(v, DType.F32), "convert", "I8");
            expect(IllegalArgumentException.class, () -> Ops.convert(x, DType.I8), "convert", "I8");
            expect(IllegalArgumentException.class, () -> Ops.add(v, v), "I8");
            expect(IllegalArgumentException.class, () -> Ops.add(x, v), "I8");
            expect(IllegalArgumentException.class, () -> Ops.matmul(v, v.t()), "I8");
            expect(IllegalArgumentException.class, () -> Ops.rmsNorm(v, rand(3, 6), 1e-5f), "I8");
            expect(IllegalArgumentException.class, () -> Ops.sum(v, 1), "I8");
            expect(IllegalArgumentException.class, () -> Ops.embedding(v, rand(4, 10, 4)), "I8");
            // raw bytes still copy and read back: the packed bytes are the quantized weight's values
            float[] bytes = v.contiguous().toFloatArray();
            for (float b : bytes) {
                assertTrue(b >= -127 && b <= 127 && b == Math.rint(b), "an int8 value " + b);
            }
        }
    }

    @Test
    void matmulInnerDimensionMismatch() {
        Tensor a = rand(1, 4, 5);
        Tensor b = rand(2, 6, 3);
        expect(IllegalArgumentException.class, () -> Ops.matmul(a, b), "matmul", "[4, 5]", "[6, 3]", "5 vs 6");
    }

    @Test
    void matmulBatchMismatch() {
        Tensor a = rand(1, 3, 4, 5);
        Tensor b = rand(2, 2, 5, 6);
        expect(IllegalArgumentException.class, () -> Ops.matmul(a, b), "matmul", "batch", "[3, 4, 5]", "[2, 5, 6]");
        Tensor a2 = rand(3, 4, 5);
        expect(IllegalArgumentException.class, () -> Ops.matmul(a2, b), "matmul", "[4, 5]", "[2, 5, 6]");
        Tensor v = rand(4, 5);
        expect(IllegalArgumentException.class, () -> Ops.matmul(v, rand(5, 5, 2)), "matmul", "at least 2 dims", "[5]");
    }

    @Test
    void matmulDtypeMismatch() {
        Tensor a = rand(1, 4, 5);
        Tensor b = rand(2, 5, 6).to(DType.BF16);
        expect(IllegalArgumentException.class, () -> Ops.matmul(a, b), "matmul", "F32", "BF16");
    }

    @Test
    void linearWithWrongWeightOrBias() {
        Tensor x = rand(1, 3, 8);
        expect(IllegalArgumentException.class, () -> Ops.linear(x, rand(2, 4, 7), null), "linear", "[3, 8]", "[4, 7]");
        expect(IllegalArgumentException.class, () -> Ops.linear(x, rand(3, 4, 8), rand(4, 5)), "linear", "bias",
                "[5]");
    }

    @Test
    void layerNormGammaOfWrongSize() {
        Tensor x = rand(1, 3, 8);
        Tensor g = rand(2, 7);
        expect(IllegalArgumentException.class, () -> Ops.layerNorm(x, g, null, 1e-5f), "layerNorm", "gamma", "[7]",
                "[3, 8]");
        expect(IllegalArgumentException.class, () -> Ops.layerNorm(x, null, g, 1e-5f), "layerNorm", "beta", "[7]");
        expect(IllegalArgumentException.class, () -> Ops.rmsNorm(x, rand(3, 8, 1), 1e-5f), "rmsNorm", "gamma",
                "[8, 1]");
        expect(IllegalArgumentException.class, () -> Ops.layerNorm(x, null, null, Float.NaN), "layerNorm", "eps");
        expect(IllegalArgumentException.class, () -> Ops.rmsNorm(x, null, -1f), "rmsNorm", "eps");
        Tensor g16 = rand(4, 8).to(DType.F16);
        expect(IllegalArgumentException.class, () -> Ops.layerNorm(x, g16, null, 1e-5f), "layerNorm", "F32", "F16");
    }

    @Test
    void causalSoftmaxWithMoreQueriesThanKeys() {
        Tensor x = rand(1, 2, 9, 5);
        expect(IllegalArgumentException.class, () -> Ops.softmax(x, true), "softmax", "9", "5", "[2, 9, 5]");
        expect(IllegalArgumentException.class, () -> Ops.softmax(rand(2, 5), true), "softmax", "2 dims", "[5]");
    }

    // ------------------------------------------------------------------ embedding

    @Test
    void embeddingWithFloatIds() {
        Tensor table = rand(1, 10, 4);
        Tensor ids = rand(2, 3);
        expect(IllegalArgumentException.class, () -> Ops.embedding(ids, table), "embedding", "ids", "F32[3]");
        expect(IllegalArgumentException.class,
                () -> Ops.embedding(Tensor.ofInts(new int[] {1}, Device.CPU, 1), rand(3, 10)), "embedding", "table",
                "[10]");
    }

    @Test
    void embeddingIdOutOfRangeI32() {
        Tensor table = rand(1, 10, 4);
        Tensor ids = Tensor.ofInts(new int[] {0, 9, 3, 10, 2}, Device.CPU, 5);
        expect(IndexOutOfBoundsException.class, () -> Ops.embedding(ids, table), "position 3", "10", "I32[5]");
        Tensor neg = Tensor.ofInts(new int[] {4, -1}, Device.CPU, 2, 1);
        expect(IndexOutOfBoundsException.class, () -> Ops.embedding(neg, table), "position 1", "[0, 10)");
    }

    @Test
    void embeddingIdOutOfRangeI64() {
        Tensor table = rand(1, 10, 4);
        Tensor ids = Tensor.ofLongs(new long[] {1, 2, 3, 4, 5, 1L << 33}, Device.CPU, 2, 3);
        expect(IndexOutOfBoundsException.class, () -> Ops.embedding(ids, table), "position 5", "I64[2, 3]", "[0, 10)");
        Tensor neg = Tensor.ofLongs(new long[] {Long.MIN_VALUE}, Device.CPU, 1);
        expect(IndexOutOfBoundsException.class, () -> Ops.embedding(neg, table), "position 0");
    }

    // ------------------------------------------------------------------ lifetimes

    @Test
    void opInputUsedAfterClose() {
        Tensor a = rand(1, 2, 3);
        Tensor b = rand(2, 2, 3);
        b.close();
        expect(IllegalStateException.class, () -> Ops.add(a, b), "closed", "F32[2, 3]");
        expect(IllegalStateException.class, () -> Ops.gelu(b), "closed");
        expect(IllegalStateException.class, () -> Ops.matmul(a, b.t()), "closed");
    }

    @Test
    void toFloatArrayAfterClose() {
        Tensor a = rand(1, 2, 3);
        a.close();
        assertTrue(a.isClosed());
        expect(IllegalStateException.class, a::toFloatArray, "closed");
        expect(IllegalStateException.class, a::address, "closed");
        expect(IllegalStateException.class, () -> a.copyFrom(new float[6]), "closed");
    }

    @Test
    void viewsOutliveTheirParentAndTheLastReferenceFrees() {
        long before = cpuAllocated();
        float[] data = Reference64.gaussian(new Random(5), 12, 1);
        Tensor parent = Tensor.of(data, 3, 4);
        Tensor view = parent.reshape(4, 3);
        Tensor slice = parent.slice(1, 1, 3);
        assertEquals(before + 48, cpuAllocated(), "views share the parent's storage");
        parent.close();
        assertDoesNotThrow(view::toFloatArray, "closing the parent alone must not invalidate a view");
        TestSupport.assertRel(view.toFloatArray(), data, 0, "view after parent closed");
        // a view of a closed tensor cannot be made
        expect(IllegalStateException.class, () -> parent.reshape(12), "closed");
        expect(IllegalStateException.class, () -> parent.t(), "closed");
        view.close();
        assertEquals(before + 48, cpuAllocated(), "one view still holds the storage");
        assertFalse(slice.isClosed());
        assertEquals(6, slice.toFloatArray().length);
        slice.close();
        assertEquals(before, cpuAllocated(), "the last reference frees the storage");
        expect(IllegalStateException.class, view::toFloatArray, "closed");
        expect(IllegalStateException.class, () -> Ops.add(slice, slice), "closed");
    }

    // ------------------------------------------------------------------ views and factories

    @Test
    void sliceOutOfRange() {
        Tensor a = rand(1, 3, 4);
        expect(IndexOutOfBoundsException.class, () -> a.slice(1, 2, 5), "[2, 5)", "size 4", "[3, 4]");
        expect(IndexOutOfBoundsException.class, () -> a.slice(0, -1, 2), "[-1, 2)");
        expect(IndexOutOfBoundsException.class, () -> a.slice(0, 2, 1), "[2, 1)");
        expect(IndexOutOfBoundsException.class, () -> a.slice(2, 0, 1), "dim 2", "[3, 4]");
        expect(IndexOutOfBoundsException.class, () -> a.transpose(0, -3), "dim -3");
    }

    @Test
    void reshapeToAWrongElementCount() {
        Tensor a = rand(1, 3, 4);
        expect(IllegalArgumentException.class, () -> a.reshape(5, 2), "[3, 4]", "[5, 2]", "12", "10");
        expect(IllegalArgumentException.class, () -> a.reshape(-1, 5), "[3, 4]", "[-1, 5]");
        expect(IllegalArgumentException.class, () -> a.reshape(-1, -1), "-1");
        expect(IllegalArgumentException.class, () -> a.t().reshape(12), "contiguous");
    }

    @Test
    void tensorOfWithADataLengthThatDoesNotFit() {
        expect(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3), "5", "[2, 3]", "6");
        expect(IllegalArgumentException.class, () -> Tensor.ofInts(new int[7], Device.CPU, 2, 3), "7", "[2, 3]");
        expect(IllegalArgumentException.class, () -> Tensor.ofLongs(new long[1], Device.CPU, 2), "1", "[2]");
        expect(IllegalArgumentException.class, () -> Tensor.of(new float[6], 2, -3), "negative", "[2, -3]");
        Tensor t = rand(1, 2, 3);
        expect(IllegalArgumentException.class, () -> t.copyFrom(new float[5]), "5", "F32[2, 3]");
    }

    // ------------------------------------------------------------------ devices

    @Test
    void unknownDeviceSpec() {
        expect(IllegalArgumentException.class, () -> Device.parse("tpu"), "tpu", "cpu", "cuda");
        expect(IllegalArgumentException.class, () -> Device.parse("cuda:x"), "cuda:x");
        expect(IllegalArgumentException.class, () -> Device.parse("cuda:-1"), "-1");
        expect(IllegalArgumentException.class, () -> new Device(Device.Type.CPU, 1), "1", "CPU");
    }

    @Test
    void cudaTensorWhereCudaIsUnavailable() {
        Backend.Availability a = Backends.forType(Device.Type.CUDA).availability();
        Assumptions.assumeFalse(a.available(), "CUDA is available here: the unavailable-device path cannot be tested");
        IllegalStateException e = expect(IllegalStateException.class,
                () -> Tensor.empty(DType.F32, Device.cuda(0), 2), "cuda:0", "not available");
        assertFalse(a.reason().isBlank(), "the CUDA backend gives no reason");
        assertTrue(e.getMessage().contains(a.reason()), "message \"" + e.getMessage() + "\" lacks the reason");
        Tensor x = rand(1, 2);
        expect(IllegalStateException.class, () -> x.to(Device.cuda(0)), "cuda:0", "not available");
        expect(IllegalStateException.class, () -> Backends.setDefaultDevice(Device.cuda(1)), "cuda:1");
    }

    /** Sizes whose products overflow an int or a long are refused with what overflowed, not an array exception. */
    @Test
    void sizesWhoseProductsOverflow() {
        expect(IllegalArgumentException.class, () -> MelFilterbank.create(16000, 1 << 20, 1 << 14, 0, 8000,
                LogMelConfig.MelScale.SLANEY, LogMelConfig.MelNorm.SLANEY), "16384 mels", "524289", "Java array");
        expect(IllegalArgumentException.class, () -> PatchEmbedding.outputLength1d(Long.MAX_VALUE, 1, 1,
                Integer.MAX_VALUE), "overflows");
        expect(IllegalArgumentException.class, () -> dev.tessera.runtime.rbm.RbmParams.init(1 << 16, 1 << 15, 0.01f,
                1, Device.CPU), "65536", "32768", "Java array");
        Tensor r = rand(2, 2, 2).t();
        expect(IllegalArgumentException.class, () -> Int8Linear.pack(new byte[4], 2, 2, false, new int[] {0},
                new float[] {1}).forward(rand(3, 2, 2), null, null, r), "residual", "not contiguous");
    }
}
