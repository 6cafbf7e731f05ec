package dev.tessera.runtime.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tessera.bindings.Addresses;
import dev.tessera.runtime.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code .safetensors} file: the validated header, and read-only memory mappings of the data section made
 * per tensor (or per chunk of at most {@link #maxMap} bytes for huge tensors), so files beyond 2 GiB work and the
 * file is never read into the Java heap. Package-private: users go through {@link Safetensors}.
 */
final class SafetensorsFile implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SafetensorsFile.class);

    /** Largest header accepted (the reference implementation's limit). */
    static final long MAX_HEADER = 100_000_000L;
    /** Largest single mapping; tensors beyond it are copied chunk by chunk. Tests lower it. */
    static volatile long maxMap = 1L << 30;

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    /** Element sizes of every safetensors dtype with whole-byte elements. */
    static final Map<String, Integer> SIZES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1), Map.entry("F8_E5M2", 1),
            Map.entry("F8_E4M3", 1), Map.entry("F8_E8M0", 1), Map.entry("I16", 2), Map.entry("U16", 2),
            Map.entry("F16", 2), Map.entry("BF16", 2), Map.entry("I32", 4), Map.entry("U32", 4),
            Map.entry("F32", 4), Map.entry("F64", 8), Map.entry("I64", 8), Map.entry("U64", 8));

    final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final long dataSize;
    private final Map<String, TensorInfo> tensors; // header order
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, long dataSize,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataSize = dataSize;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Opens and validates {@code path}; bad files throw {@link IllegalArgumentException} naming the file. */
    static SafetensorsFile open(Path path, boolean strict) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return parse(path, ch, strict);
        } catch (RuntimeException | IOException e) {
            ch.close();
            throw e;
        }
    }

    private static IllegalArgumentException bad(Path path, String problem) {
        return new IllegalArgumentException(path + ": invalid safetensors file: " + problem);
    }

    private static SafetensorsFile parse(Path path, FileChannel ch, boolean strict) throws IOException {
        long fileSize = ch.size();
        if (fileSize < 8) {
            throw bad(path, "file has " + fileSize + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen < 0 || headerLen > MAX_HEADER) {
            throw bad(path, "header length " + Long.toUnsignedString(headerLen) + " is absurdly large (limit "
                    + MAX_HEADER + " bytes)");
        }
        if (headerLen < 2) {
            throw bad(path, "header length " + headerLen + " is too small for a JSON object");
        }
        if (8 + headerLen > fileSize) {
            throw bad(path, "header length " + headerLen + " goes beyond the end of the file (" + fileSize
                    + " bytes)");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, 8);
        hb.flip();
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb).toString();
        } catch (CharacterCodingException e) {
            throw bad(path, "header is not valid UTF-8");
        }
        if (!text.startsWith("{")) {
            throw bad(path, "header does not start with '{' (invalid JSON header)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw bad(path, "invalid JSON header: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw bad(path, "invalid JSON header: not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = fileSize - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw bad(path, "__metadata__ must be an object of strings, got " + v.getNodeType());
                }
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) {
                        throw bad(path, "__metadata__ value for '" + kv.getKey() + "' must be a string, got "
                                + kv.getValue());
                    }
                    metadata.put(kv.getKey(), kv.getValue().textValue());
                }
                continue;
            }
            tensors.put(name, tensorInfo(path, name, v, dataSize));
        }
        checkLayout(path, tensors.values(), dataSize, strict);
        return new SafetensorsFile(path, ch, dataStart, dataSize, tensors, metadata);
    }

    private static TensorInfo tensorInfo(Path path, String name, JsonNode v, long dataSize) {
        String t = "tensor '" + name + "'";
        if (!v.isObject()) {
            throw bad(path, t + " must be an object with dtype, shape and data_offsets, got " + v);
        }
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || sh == null || off == null) {
            throw bad(path, t + " lacks " + (dt == null ? "dtype" : sh == null ? "shape" : "data_offsets"));
        }
        if (!dt.isTextual()) {
            throw bad(path, t + ": dtype must be a string, got " + dt);
        }
        String format = dt.textValue();
        Integer size = SIZES.get(format);
        if (size == null) {
            throw bad(path, t + " has unknown dtype '" + format + "' (known: " + String.join(", ",
                    SIZES.keySet().stream().sorted().toList()) + ")");
        }
        if (!sh.isArray()) {
            throw bad(path, t + ": shape must be an array of integers, got " + sh);
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong()) {
                throw bad(path, t + ": shape " + sh + " has a non-integer dim " + d);
            }
            shape[i] = d.longValue();
            if (shape[i] < 0) {
                throw bad(path, t + ": shape " + sh + " has a negative dim");
            }
        }
        long numel = 1;
        long bytes;
        try {
            for (long d : shape) {
                numel = Math.multiplyExact(numel, d);
            }
            bytes = Math.multiplyExact(numel, (long) size);
        } catch (ArithmeticException e) {
            throw bad(path, t + ": shape " + sh + " overflows 64-bit element counts");
        }
        if (!off.isArray() || off.size() != 2) {
            throw bad(path, t + ": data_offsets must be [begin, end], got " + off);
        }
        for (JsonNode o : off) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw bad(path, t + ": data_offsets " + off + " must be two non-negative integers [begin, end]");
            }
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (begin > end) {
            throw bad(path, t + ": data_offsets " + off + " have begin > end");
        }
        if (end - begin != bytes) {
            throw bad(path, t + ": data_offsets " + off + " span " + (end - begin) + " bytes but " + format
                    + Arrays.toString(shape) + " needs " + numel + " x " + size + " = " + bytes + " bytes");
        }
        if (end > dataSize) {
            throw bad(path, t + ": data_offsets " + off + " lie outside the data section of " + dataSize + " bytes");
        }
        return new TensorInfo(name, format, tesseraType(format), shape, begin, end, path);
    }

    static DType tesseraType(String format) {
        return switch (format) {
            case "F32", "F64" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "I32" -> DType.I32;
            case "I64" -> DType.I64;
            case "I8" -> DType.I8;
            default -> null;
        };
    }

    /** Rejects overlapping byte ranges; gaps and trailing bytes are warnings, or errors when strict. */
    private static void checkLayout(Path path, java.util.Collection<TensorInfo> infos, long dataSize, boolean strict) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.removeIf(i -> i.begin() == i.end());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        TensorInfo prev = null;
        List<String> gaps = new ArrayList<>();
        for (TensorInfo i : sorted) {
            if (i.begin() < pos) {
                throw bad(path, "tensors '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + ") and '"
                        + i.name() + "' [" + i.begin() + ", " + i.end() + ") overlap");
            }
            if (i.begin() > pos) {
                gaps.add("gap of " + (i.begin() - pos) + " bytes at [" + pos + ", " + i.begin() + ") before '"
                        + i.name() + "'");
            }
            pos = i.end();
            prev = i;
        }
        if (pos < dataSize) {
            gaps.add((dataSize - pos) + " unused bytes at the end of the data section [" + pos + ", " + dataSize + ")");
        }
        if (!gaps.isEmpty()) {
            String msg = "data section is not contiguous: " + String.join("; ", gaps.subList(0, Math.min(5,
                    gaps.size()))) + (gaps.size() > 5 ? "; ... (" + gaps.size() + " in all)" : "");
            if (strict) {
                throw bad(path, msg);
            }
            LOG.warn("{}: {}", path, msg);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file " + pos);
            }
            pos += n;
        }
    }

    // ------------------------------------------------------------------ access

    Map<String, TensorInfo> tensors() {
        return tensors;
    }

    Map<String, String> metadata() {
        return metadata;
    }

    long dataSize() {
        return dataSize;
    }

    /** Receives the mapped pieces of a tensor: {@code mapped} (little-endian, position 0) holds bytes from {@code offset}. */
    interface RangeSink {
        void accept(ByteBuffer mapped, long offset) throws IOException;
    }

    /**
     * Maps {@code [begin, end)} of the data section read-only (in pieces of at most {@link #maxMap} bytes) and hands
     * each piece to {@code sink}; every mapping is released right after its piece. Sinks read the mapping with Java
     * buffer operations only ({@link #copy} for bulk copies): if the file is cut short while it is read (a
     * {@code cp} over it truncates it first), a read past its new end faults, which the JVM turns into an
     * {@link InternalError} on a Java access (and a crash in native code); that error becomes an {@link IOException}
     * naming the file here.
     */
    void withMapped(TensorInfo info, RangeSink sink) throws IOException {
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
        long total = info.byteSize();
        long chunk = chunkSize();
        for (long done = 0; done < total; ) {
            long n = Math.min(chunk, total - done);
            long at = dataStart + info.begin() + done;
            if (channel.size() < at + n) {
                throw new IOException(path + " is shorter than its header says (" + channel.size() + " bytes, tensor '"
                        + info.name() + "' ends at byte " + (dataStart + info.begin() + total)
                        + "): was it cut short or rewritten since it was opened?");
            }
            ReadOnlyMapping mapping = ReadOnlyMapping.map(channel, at, n);
            try {
                try {
                    sink.accept(mapping.buffer().order(ByteOrder.LITTLE_ENDIAN), done);
                } finally {
                    mapping.close();
                }
            } catch (InternalError e) {
                // the fault is reported asynchronously: inside the sink or at the next call after the copy (unmap)
                mapping.close();
                throw new IOException(path + " changed while tensor '" + info.name() + "' was read from it (cut short or"
                        + " rewritten in place?): " + e.getMessage(), e);
            }
            done += n;
        }
    }

    /** Copies {@code src}'s remaining bytes to native memory at {@code address} with a Java bulk copy (see withMapped). */
    static void copy(ByteBuffer src, long address) {
        ByteBuffer dst = new BytePointer(Addresses.pointer(address)).capacity(src.remaining()).asBuffer();
        dst.put(src.duplicate());
    }

    /** Bytes per mapping: {@link #maxMap} rounded down to whole 8-byte elements, under 2 GiB. */
    static long chunkSize() {
        return Math.max(8, Math.min(maxMap, Integer.MAX_VALUE) & ~7L);
    }

    /** True when mappings are released right after each copy rather than by the garbage collector. */
    static boolean unmapsEagerly() {
        return ReadOnlyMapping.release() != ReadOnlyMapping.Release.GC;
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            channel.close();
        }
    }
}
