package dev.tessera.runtime;

import dev.tessera.bindings.Addresses;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An n-dimensional array in native memory on one {@link Device}. A tensor is a view (shape, strides
 * in elements, offset) over a reference-counted {@link Storage}: {@link #reshape}, {@link #slice},
 * {@link #transpose} share the storage; {@link #close()} releases this view's reference and the
 * memory is freed when the last view is closed. Tensors created inside a {@link Scope} are closed
 * with it. Any use after {@code close()} throws {@link IllegalStateException}.
 *
 * <p>Create tensors with the static factories ({@link #of(float[], long...)}, {@link #empty},
 * {@link #zeros}); compute with {@link Ops}.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final DType dtype;
    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private volatile boolean closed;
    /** Ops holding this view ({@link InUse}); while one does, {@link #address()} outlives a close. */
    private final AtomicInteger uses = new AtomicInteger();

    Tensor(Storage storage, DType dtype, long[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        Scope scope = Scope.current();
        if (scope != null) {
            scope.register(this);
        }
    }

    // ------------------------------------------------------------------ factories

    private static long[] dimsFor(int length, long[] shape) {
        long[] dims = Shape.of(shape);
        if (Shape.numel(dims) != length) {
            throw new IllegalArgumentException("data has " + length + " elements but shape " + Shape.str(dims)
                    + " needs " + Shape.numel(dims));
        }
        return dims;
    }

    /** An uninitialised contiguous tensor. */
    public static Tensor empty(DType dtype, Device device, long... shape) {
        if (dtype == null || device == null) {
            throw new IllegalArgumentException("dtype and device must not be null");
        }
        long[] dims = Shape.of(shape);
        long bytes = Math.multiplyExact(Shape.numel(dims), (long) dtype.size());
        Backend backend = Backends.get(device);
        Storage s = backend.allocate(device, bytes);
        return new Tensor(s, dtype, dims, Shape.contiguousStrides(dims), 0);
    }

    public static Tensor empty(DType dtype, long... shape) {
        return empty(dtype, Backends.defaultDevice(), shape);
    }

    /**
     * {@code out} (a tensor the caller just made) after {@code writer} filled it; if the writer throws, {@code out} is
     * closed before the exception leaves, so that a failed op loses no native or device memory even outside a
     * {@link Scope}. How the runtime's ops return new tensors, for custom ops too:
     * {@code return Tensor.filled(Tensor.empty(F32, x.device(), n), out -> myKernel(x, out));}
     */
    public static Tensor filled(Tensor out, java.util.function.Consumer<? super Tensor> writer) {
        try {
            writer.accept(out);
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return filled(empty(dtype, device, shape), t -> t.backend().fillZero(t));
    }

    /** A float32 tensor on the CPU holding a copy of {@code data}, which must have numel(shape) elements. */
    public static Tensor of(float[] data, long... shape) {
        return of(data, Device.CPU, shape);
    }

    /** A float32 tensor on {@code device} holding a copy of {@code data}. */
    public static Tensor of(float[] data, Device device, long... shape) {
        long[] dims = dimsFor(data.length, shape);
        return filled(empty(DType.F32, device, dims), t -> t.backend().copyFromHost(t, HostArray.of(data)));
    }

    /** An int32 tensor (e.g. token ids). */
    public static Tensor ofInts(int[] data, Device device, long... shape) {
        long[] dims = dimsFor(data.length, shape);
        return filled(empty(DType.I32, device, dims), t -> t.backend().copyFromHost(t, HostArray.of(data)));
    }

    /** An int8 tensor (raw bytes: a storage type no op computes on, see {@link DType#I8}). */
    public static Tensor ofBytes(byte[] data, Device device, long... shape) {
        long[] dims = dimsFor(data.length, shape);
        return filled(empty(DType.I8, device, dims), t -> t.backend().copyFromHost(t, HostArray.of(data)));
    }

    /** An int64 tensor. */
    public static Tensor ofLongs(long[] data, Device device, long... shape) {
        long[] dims = dimsFor(data.length, shape);
        return filled(empty(DType.I64, device, dims), t -> t.backend().copyFromHost(t, HostArray.of(data)));
    }

    // ------------------------------------------------------------------ properties

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return storage.device();
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    /** Strides in elements (a copy). */
    public long[] strides() {
        return strides.clone();
    }

    public long numel() {
        return Shape.numel(shape);
    }

    public boolean isClosed() {
        return closed;
    }

    public boolean isContiguous() {
        if (numel() == 0) {
            return true; // no elements, any strides (contiguousStrides gives [1, 1] for [3, 0])
        }
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /**
     * Address of the first element. For backends; checks that the tensor is open, or closed on another thread while
     * an op holds it ({@link InUse}: the memory stays until that op ends).
     */
    public long address() {
        if ((closed && uses.get() == 0) || storage.isFreed()) {
            throw new IllegalStateException("tensor " + describe() + " is closed");
        }
        return storage.address() + offset * dtype.size();
    }

    /** Holds the storage for an op ({@link InUse#add}); refuses a closed tensor. */
    void acquire(String op) {
        uses.incrementAndGet();
        boolean retained = false;
        try {
            if (!closed) {
                storage.retain(); // throws when a close on another thread freed the storage just now
                retained = true;
            }
        } catch (IllegalStateException freed) {
            // closed, as below
        }
        if (!retained || closed) { // closed before, or between the check and the retain: the op may not start
            if (retained) {
                storage.release();
            }
            uses.decrementAndGet();
            throw new IllegalStateException(op + ": tensor " + describe() + " is closed");
        }
    }

    /** Ends an {@link #acquire}. */
    void release() {
        uses.decrementAndGet();
        storage.release();
    }

    /** Offset of the first element from the start of the storage, in elements. */
    long offset() {
        return offset;
    }

    Storage storage() {
        return storage;
    }

    Backend backend() {
        return storage.backend();
    }

    /**
     * The argument check of every op, before any native call: a null tensor is an {@link IllegalArgumentException},
     * a closed one an {@link IllegalStateException}; both messages start with {@code op}.
     */
    public static void requireOpen(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) {
                throw new IllegalArgumentException(op + ": tensor argument is null");
            }
            if (t.closed || t.storage.isFreed()) {
                throw new IllegalStateException(op + ": tensor " + t.describe() + " is closed");
            }
        }
    }

    /** Throws {@link IllegalStateException} if this tensor was closed. */
    public void ensureOpen() {
        if (closed || storage.isFreed()) {
            throw new IllegalStateException("tensor " + describe() + " is closed");
        }
    }

    /** "F32[2, 3] on cpu" */
    public String describe() {
        return dtype + Arrays.toString(shape) + " on " + storage.device();
    }

    @Override
    public String toString() {
        return "Tensor(" + describe() + (closed ? ", closed" : "") + ")";
    }

    // ------------------------------------------------------------------ views

    private Tensor view(long[] newShape, long[] newStrides, long newOffset) {
        ensureOpen();
        try {
            storage.retain();
        } catch (IllegalStateException e) { // closed on another thread since the check
            throw new IllegalStateException("tensor " + describe() + " is closed");
        }
        return new Tensor(storage, dtype, newShape, newStrides, newOffset);
    }

    /**
     * A view with another shape and the same elements; one dim may be -1. Needs a contiguous tensor
     * (call {@link #contiguous()} first otherwise).
     */
    public Tensor reshape(long... newShape) {
        ensureOpen();
        long[] dims = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("only one dimension may be -1 in reshape " + Shape.str(newShape));
                }
                infer = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException("invalid reshape " + Shape.str(newShape) + " of " + describe());
            } else {
                known *= dims[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + describe() + " to " + Shape.str(newShape));
            }
            dims[infer] = numel() / known;
        }
        Shape.validate(dims);
        if (Shape.numel(dims) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + describe() + " (" + numel() + " elements) to "
                    + Shape.str(dims) + " (" + Shape.numel(dims) + " elements)");
        }
        if (!isContiguous()) {
            throw new IllegalArgumentException("reshape needs a contiguous tensor, " + describe()
                    + " has strides " + Arrays.toString(strides) + ": call contiguous() first");
        }
        return view(dims, Shape.contiguousStrides(dims), offset);
    }

    /** A view of elements {@code [start, end)} along {@code dim} (negative dim counts from the end). */
    public Tensor slice(int dim, long start, long end) {
        ensureOpen();
        int d = normDim(dim);
        if (start < 0 || end > shape[d] || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") out of range for dim " + dim
                    + " of size " + shape[d] + " in " + describe());
        }
        long[] dims = shape.clone();
        dims[d] = end - start;
        return view(dims, strides.clone(), offset + start * strides[d]);
    }

    /** A view with dims {@code d0} and {@code d1} swapped. */
    public Tensor transpose(int d0, int d1) {
        ensureOpen();
        int a = normDim(d0);
        int b = normDim(d1);
        long[] dims = shape.clone();
        long[] st = strides.clone();
        long t = dims[a];
        dims[a] = dims[b];
        dims[b] = t;
        t = st[a];
        st[a] = st[b];
        st[b] = t;
        return view(dims, st, offset);
    }

    /** A view with the last two dims swapped (matrix transpose). */
    public Tensor t() {
        if (shape.length < 2) {
            throw new IllegalArgumentException("t() needs at least 2 dims, got " + describe());
        }
        return transpose(-2, -1);
    }

    int normDim(int dim) {
        int d = dim < 0 ? shape.length + dim : dim;
        if (d < 0 || d >= shape.length) {
            throw new IndexOutOfBoundsException("dim " + dim + " out of range for " + describe());
        }
        return d;
    }

    // ------------------------------------------------------------------ copies

    /** This tensor if contiguous (a new view sharing storage), else a contiguous copy. */
    public Tensor contiguous() {
        ensureOpen();
        if (isContiguous()) {
            return view(shape.clone(), Shape.contiguousStrides(shape), offset);
        }
        return filled(empty(dtype, device(), shape), out -> {
            try (InUse use = InUse.of("contiguous", this)) {
                backend().stridedCopy(this, out);
            }
        });
    }

    /** A contiguous copy on {@code target} (a copy even if already there). */
    public Tensor to(Device target) {
        ensureOpen();
        try (Tensor src = contiguous()) {
            return filled(empty(dtype, target, shape), out -> {
                if (target.equals(device())) {
                    backend().copy(src, out);
                } else if (device().isCpu()) {
                    out.backend().copyFromHost(out, HostArray.at(src.address(), numel() * dtype.size()));
                } else if (target.isCpu()) {
                    backend().copyToHost(src, HostArray.at(out.address(), numel() * dtype.size()));
                } else {
                    try (Tensor host = src.to(Device.CPU)) {
                        out.backend().copyFromHost(out, HostArray.at(host.address(), numel() * dtype.size()));
                    }
                }
            });
        }
    }

    /** A contiguous copy converted to {@code target} (floating types only). */
    public Tensor to(DType target) {
        return Ops.convert(this, target);
    }

    /** The elements in row-major order as floats (converting F16/BF16/I32/I64; copies from the device). */
    public float[] toFloatArray() {
        ensureOpen();
        if (numel() > Integer.MAX_VALUE) {
            throw new IllegalStateException(describe() + " is too large for a Java array");
        }
        return copyTo(new float[(int) numel()], 0);
    }

    /** {@link #copyTo(float[], int)} from the start of {@code dst}. */
    public float[] copyTo(float[] dst) {
        return copyTo(dst, 0);
    }

    /**
     * The elements in row-major order as floats, as {@link #toFloatArray()} gives them, written into {@code dst} from
     * {@code offset} instead of a new array: a loop of inferences can reuse one buffer (an output of megabytes is a
     * fresh "humongous" allocation for G1 on every call otherwise). The rest of {@code dst} is left as it was.
     *
     * @return {@code dst}
     * @throws IllegalArgumentException when {@code dst} is null or {@code numel()} elements from {@code offset} do not
     *     fit in it
     */
    @SuppressWarnings("try") // the scope only closes the temporaries
    public float[] copyTo(float[] dst, int offset) {
        ensureOpen();
        if (dst == null) {
            throw new IllegalArgumentException("copyTo: the destination array is null");
        }
        long n = numel();
        if (offset < 0 || offset > dst.length || n > dst.length - (long) offset) {
            throw new IllegalArgumentException("copyTo: " + describe() + " has " + n + " elements, the array has "
                    + dst.length + " with offset " + offset);
        }
        if (n == 0) {
            return dst;
        }
        int len = (int) n;
        try (Scope ignored = Tessera.scope()) {
            Tensor host = device().isCpu() ? contiguous() : to(Device.CPU);
            switch (dtype) {
                case F32:
                    Addresses.getFloats(host.address(), dst, offset, len);
                    break;
                case F16:
                case BF16:
                    Addresses.getFloats(Ops.convert(host, DType.F32).address(), dst, offset, len);
                    break;
                case I8: {
                    byte[] v = new byte[len];
                    Addresses.getBytes(host.address(), v);
                    for (int i = 0; i < len; i++) {
                        dst[offset + i] = v[i];
                    }
                    break;
                }
                case I32: {
                    int[] v = new int[len];
                    Addresses.getInts(host.address(), v);
                    for (int i = 0; i < len; i++) {
                        dst[offset + i] = v[i];
                    }
                    break;
                }
                default: {
                    long[] v = new long[len];
                    Addresses.getLongs(host.address(), v);
                    for (int i = 0; i < len; i++) {
                        dst[offset + i] = v[i];
                    }
                }
            }
        }
        return dst;
    }

    /** The elements of an I32 tensor. */
    @SuppressWarnings("try") // the scope only closes the temporaries
    public int[] toIntArray() {
        ensureOpen();
        if (dtype != DType.I32) {
            throw new IllegalArgumentException("toIntArray needs an I32 tensor, got " + describe());
        }
        int[] out = new int[Math.toIntExact(numel())];
        try (Scope ignored = Tessera.scope()) {
            Tensor host = device().isCpu() ? contiguous() : to(Device.CPU);
            Addresses.getInts(host.address(), out);
        }
        return out;
    }

    /** Copies {@code data} into this contiguous F32 tensor. */
    public void copyFrom(float[] data) {
        ensureOpen();
        if (dtype != DType.F32 || !isContiguous()) {
            throw new IllegalArgumentException("copyFrom(float[]) needs a contiguous F32 tensor, got " + describe());
        }
        if (data.length != numel()) {
            throw new IllegalArgumentException("data has " + data.length + " elements, " + describe() + " has " + numel());
        }
        try (InUse use = InUse.of("copyFrom", this)) {
            backend().copyFromHost(this, HostArray.of(data));
        }
    }

    // ------------------------------------------------------------------ lifetime

    /** Releases this view's reference to the storage; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            storage.release();
        }
    }
}
