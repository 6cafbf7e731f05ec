package dev.tessera.runtime.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.bindings.Addresses;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hugging Face <a href="https://github.com/huggingface/safetensors">safetensors</a> checkpoints: one file, or
 * shards listed by a {@code *.safetensors.index.json} ({@code weight_map}: name → shard file).
 *
 * <p>Reading: the 8-byte little-endian header length and the JSON header are validated when the file is opened;
 * a bad file throws {@link IllegalArgumentException} naming the file (shard) and the problem (header length
 * beyond the file or over 100 MB, invalid JSON, unknown dtype, negative dims, malformed {@code data_offsets},
 * byte ranges that do not match numel × dtype size, lie outside the data section or overlap). Gaps between
 * tensors and unused trailing bytes are logged as warnings, or rejected with {@link #openStrict}. Tensor data is
 * never read into the Java heap: {@link #load} maps the tensor's bytes read-only
 * ({@link FileChannel#map}, in pieces of at most 1 GiB, so files and tensors beyond 2 GiB work) and copies them
 * straight from the mapping into the new tensor; the mapping is released right after.
 *
 * <p>Dtypes: F32, F16, BF16, I32, I64 and I8 load as the same Tessera dtype (I8 as raw bytes: no op computes on it,
 * and it is not converted to a floating type). F64 loads as F32 (converted on the host, rounding to nearest). Other
 * dtypes (BOOL, U8, I16, U16, U32, U64, F8_*) are listed by {@link #names()} and {@link #info}, but {@link #load}
 * refuses them naming the tensor and its dtype.
 *
 * <p>Writing: {@link #write} produces files the reference implementation reads: tensors in sorted name order,
 * contiguous offsets, the header padded with spaces to a multiple of 8 bytes, and the same bytes for the same
 * inputs.
 *
 * <p>Instances are {@link AutoCloseable}: closing releases the file channels; tensors already loaded stay valid.
 */
public final class Safetensors implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Safetensors.class);
    /** The usual single-file and index file names in a Hugging Face model directory. */
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path source;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> owner; // name -> shard, sorted by name
    private final Map<String, String> metadata;

    private Safetensors(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> owner,
                        Map<String, String> metadata) {
        this.source = source;
        this.files = List.copyOf(files);
        this.owner = Collections.unmodifiableMap(owner);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    // ------------------------------------------------------------------ opening

    /** Opens one {@code .safetensors} file; gaps in the data section are logged, not refused. */
    public static Safetensors open(Path file) throws IOException {
        return openFile(file, false);
    }

    /** Like {@link #open}, but gaps between tensors and trailing bytes in the data section are errors too. */
    public static Safetensors openStrict(Path file) throws IOException {
        return openFile(file, true);
    }

    private static Safetensors openFile(Path file, boolean strict) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file, strict);
        Map<String, SafetensorsFile> owner = new TreeMap<>();
        for (String n : f.tensors().keySet()) {
            owner.put(n, f);
        }
        return new Safetensors(file, List.of(f), owner, new LinkedHashMap<>(f.metadata()));
    }

    /** PyTorch pickle checkpoints in {@code dir} (pytorch_model.bin, its shards, *.pt / *.pth), sorted. */
    private static List<Path> pickles(Path dir) throws IOException {
        return list(dir, n -> (n.startsWith("pytorch_model") && n.endsWith(".bin")) || n.endsWith(".pt")
                || n.endsWith(".pth"));
    }

    /**
     * Opens a checkpoint: a {@code .safetensors} file, a {@code *.safetensors.index.json} index, or a directory
     * holding {@value #INDEX_FILE} (preferred) or {@value #SINGLE_FILE} (or else exactly one index or one
     * {@code .safetensors} file).
     */
    public static Safetensors openCheckpoint(Path path) throws IOException {
        return openCheckpoint(path, false);
    }

    /** {@link #openCheckpoint(Path)}; with {@code strict}, gaps in a data section are errors. */
    public static Safetensors openCheckpoint(Path path, boolean strict) throws IOException {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) {
                return openIndex(index, strict);
            }
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(single)) {
                return openFile(single, strict);
            }
            List<Path> indexes = list(path, ".safetensors.index.json");
            if (indexes.size() == 1) {
                return openIndex(indexes.get(0), strict);
            }
            List<Path> singles = list(path, ".safetensors");
            if (indexes.isEmpty() && singles.size() == 1) {
                return openFile(singles.get(0), strict);
            }
            List<Path> pickles = indexes.size() + singles.size() == 0 ? pickles(path) : List.of();
            throw new IllegalArgumentException(path + ": no " + INDEX_FILE + " or " + SINGLE_FILE + " here, and "
                    + (!pickles.isEmpty() ? "only PyTorch pickle weights " + pickles.stream()
                            .map(p -> p.getFileName().toString()).toList() + ", which Tessera does not read (they can"
                            + " run code when loaded): save the model with safe_serialization=True, or convert them"
                            + " with safetensors.torch.save_file"
                    : indexes.size() + singles.size() == 0 ? "no other safetensors files"
                    : "several candidates " + Stream.concat(indexes.stream(), singles.stream())
                    .map(p -> p.getFileName().toString()).toList() + ": name the file to open"));
        }
        if (!Files.exists(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "no such checkpoint file or directory");
        }
        if (path.getFileName().toString().endsWith(".index.json")) {
            return openIndex(path, strict);
        }
        return openFile(path, strict);
    }

    /** Same as {@link #openCheckpoint(Path)} for a model directory. */
    public static Safetensors openDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is not a directory");
        }
        return openCheckpoint(dir);
    }

    private static List<Path> list(Path dir, String suffix) throws IOException {
        return list(dir, n -> n.endsWith(suffix));
    }

    /** The regular files of {@code dir} whose names pass {@code name}, sorted. */
    private static List<Path> list(Path dir, java.util.function.Predicate<String> name) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> name.test(p.getFileName().toString()) && Files.isRegularFile(p)).sorted().toList();
        }
    }

    /** Opens a sharded checkpoint from its index file. */
    public static Safetensors openIndex(Path index, boolean strict) throws IOException {
        JsonNode root;
        try {
            root = SafetensorsFile.JSON.readTree(Files.readString(index, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(index + ": invalid safetensors index: invalid JSON: "
                    + e.getOriginalMessage());
        }
        if (root == null || !root.isObject() || !root.path("weight_map").isObject()) {
            throw new IllegalArgumentException(index + ": invalid safetensors index: no \"weight_map\" object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = meta.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString());
            }
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, String> weightMap = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.get("weight_map").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException(index + ": invalid safetensors index: weight_map entry '"
                        + e.getKey() + "' must name a shard file, got " + e.getValue());
            }
            String shard = e.getValue().textValue();
            Path p = Path.of(shard);
            if (shard.isEmpty() || p.isAbsolute() || !dir.resolve(p).normalize().startsWith(dir)) {
                throw new IllegalArgumentException(index + ": invalid safetensors index: shard '" + shard
                        + "' for '" + e.getKey() + "' is not a file beside the index");
            }
            weightMap.put(e.getKey(), shard);
        }
        Map<String, SafetensorsFile> shards = new TreeMap<>();
        Map<String, SafetensorsFile> owner = new TreeMap<>();
        try {
            for (String shard : new TreeSet<>(weightMap.values())) {
                Path p = dir.resolve(shard);
                if (!Files.isRegularFile(p)) {
                    throw new IllegalArgumentException(index + ": shard '" + shard + "' listed in weight_map does not"
                            + " exist (" + p + ")");
                }
                shards.put(shard, SafetensorsFile.open(p, strict));
            }
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile f = shards.get(e.getValue());
                if (!f.tensors().containsKey(e.getKey())) {
                    throw new IllegalArgumentException(index + ": weight_map puts '" + e.getKey() + "' in shard '"
                            + e.getValue() + "', which has no such tensor (" + f.tensors().size() + " tensors)");
                }
                owner.put(e.getKey(), f);
            }
            for (SafetensorsFile f : shards.values()) {
                for (String n : f.tensors().keySet()) {
                    if (!owner.containsKey(n)) {
                        LOG.warn("{}: tensor '{}' is in shard {} but not in the weight_map; ignored", index, n,
                                f.path.getFileName());
                    }
                }
                f.metadata().forEach(metadata::putIfAbsent);
            }
        } catch (RuntimeException | IOException e) {
            for (SafetensorsFile f : shards.values()) {
                try {
                    f.close();
                } catch (IOException ce) {
                    e.addSuppressed(ce);
                }
            }
            throw e;
        }
        return new Safetensors(index, new ArrayList<>(shards.values()), owner, metadata);
    }

    // ------------------------------------------------------------------ queries

    /** The file, index or directory this was opened from. */
    public Path source() {
        return source;
    }

    /** The files holding the data (one, or the shards in name order). */
    public List<Path> files() {
        return files.stream().map(f -> f.path).toList();
    }

    /** All tensor names, sorted. */
    public Set<String> names() {
        return owner.keySet();
    }

    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    /** The header entry of {@code name}; throws naming close matches if there is none. */
    public TensorInfo info(String name) {
        return shardOf(name).tensors().get(name);
    }

    /**
     * The {@code __metadata__} string map of the file; for a sharded checkpoint the index's {@code metadata}
     * (non-string values as JSON text) followed by the shards' {@code __metadata__} (first one wins).
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    private SafetensorsFile shardOf(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw new IllegalArgumentException(source + ": no tensor named '" + name + "' among " + owner.size()
                    + " tensors" + (owner.isEmpty() ? "" : "; closest: " + closest(name, owner.keySet(), 5)));
        }
        return f;
    }

    /** The {@code k} names nearest to {@code name} by edit distance. */
    static List<String> closest(String name, Collection<String> names, int k) {
        record Scored(String s, int d) {}
        return names.stream().map(n -> new Scored(n, distance(name, n)))
                .sorted(Comparator.comparingInt(Scored::d).thenComparing(Scored::s)).limit(k).map(Scored::s).toList();
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int c = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + c);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /**
     * Throws one {@link IllegalArgumentException} listing every name of {@code expected} missing from the
     * checkpoint and every checkpoint name not in {@code expected}.
     */
    public void checkNames(Collection<String> expected) {
        checkNames(expected, n -> false);
    }

    /**
     * Like {@link #checkNames(Collection)}, but checkpoint names matching {@code ignoreExtra} (buffers a model
     * does not use, e.g. {@code rotary_emb.inv_freq}) are not reported as unexpected.
     */
    public void checkNames(Collection<String> expected, Predicate<String> ignoreExtra) {
        Set<String> want = new TreeSet<>(expected);
        List<String> missing = want.stream().filter(n -> !owner.containsKey(n)).toList();
        List<String> unexpected = owner.keySet().stream().filter(n -> !want.contains(n) && !ignoreExtra.test(n))
                .toList();
        if (missing.isEmpty() && unexpected.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder(source + ": parameter names do not match the model");
        if (!missing.isEmpty()) {
            sb.append("; ").append(missing.size()).append(" missing: ").append(missing);
        }
        if (!unexpected.isEmpty()) {
            sb.append("; ").append(unexpected.size()).append(" unexpected: ").append(unexpected);
        }
        throw new IllegalArgumentException(sb.toString());
    }

    // ------------------------------------------------------------------ loading

    /** A new tensor on {@code device} with {@code name}'s data, in its stored dtype (F64 as F32). */
    public Tensor load(String name, Device device) {
        return load(name, device, null);
    }

    /**
     * A new tensor on {@code device} with {@code name}'s data converted to {@code as} (null: the stored dtype).
     * Floating dtypes convert among F32/F16/BF16 (on the CPU, before the copy to the device); integer tensors
     * cannot change dtype.
     */
    public Tensor load(String name, Device device, DType as) {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        SafetensorsFile f = shardOf(name);
        if (f.isClosed()) {
            throw new IllegalStateException(source + " is closed");
        }
        TensorInfo info = f.tensors().get(name);
        DType stored = info.dtype();
        if (stored == null) {
            throw new IllegalArgumentException(info.file() + ": tensor '" + name + "' has dtype " + info.format()
                    + ", which Tessera cannot load (supported: F32, F16, BF16, I32, I64; F64 loads as F32)");
        }
        DType target = as == null ? stored : as;
        if (target != stored && !(stored.isFloating() && target.isFloating())) {
            throw new IllegalArgumentException(info.file() + ": tensor '" + name + "' of dtype " + info.format()
                    + " cannot be loaded as " + target + " (only floating dtypes convert)");
        }
        try {
            if (target == stored && !info.format().equals("F64") && device.isCpu()) {
                return loadRaw(f, info); // one copy, from the mapping into the tensor
            }
            try (Tensor host = info.format().equals("F64") ? loadF64(f, info) : loadRaw(f, info)) {
                if (target == host.dtype()) {
                    return host.to(device);
                }
                try (Tensor conv = Ops.convert(host, target)) {
                    return device.isCpu() ? conv.contiguous() : conv.to(device);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(info.file() + ": reading tensor '" + name + "' failed", e);
        }
    }

    /**
     * Copies the bytes from the mapping into a new host tensor. (A device tensor is uploaded from it: a copy straight
     * from the mapping by the driver would crash the JVM if the file were cut short meanwhile, see
     * {@link SafetensorsFile#withMapped}.)
     */
    private static Tensor loadRaw(SafetensorsFile f, TensorInfo info) throws IOException {
        requireLittleEndian();
        Tensor t = Tensor.empty(info.dtype(), Device.CPU, info.shape());
        try {
            if (info.byteSize() > 0) {
                long dst = t.address();
                f.withMapped(info, (src, off) -> SafetensorsFile.copy(src, dst + off));
            }
            return t;
        } catch (RuntimeException | IOException e) {
            t.close();
            throw e;
        }
    }

    /** F64 → F32 on the host, rounding to nearest, through a small heap buffer. */
    private static Tensor loadF64(SafetensorsFile f, TensorInfo info) throws IOException {
        Tensor t = Tensor.empty(DType.F32, Device.CPU, info.shape());
        try {
            long dst = t.address();
            f.withMapped(info, (src, off) -> {
                double[] d = new double[1 << 16];
                float[] x = new float[1 << 16];
                java.nio.DoubleBuffer in = src.asDoubleBuffer(); // a Java read of the mapping (see withMapped)
                long elems = in.remaining();
                long outBase = dst + off / 2;
                for (long i = 0; i < elems; i += d.length) {
                    int m = (int) Math.min(d.length, elems - i);
                    in.get(d, 0, m);
                    for (int j = 0; j < m; j++) {
                        x[j] = (float) d[j];
                    }
                    Addresses.putFloats(outBase + i * 4, m == x.length ? x : java.util.Arrays.copyOf(x, m));
                }
            });
            return t;
        } catch (RuntimeException | IOException e) {
            t.close();
            throw e;
        }
    }

    private static void requireLittleEndian() {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("safetensors data is little-endian; this host is big-endian");
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    // ------------------------------------------------------------------ writing

    private static String format(DType t) {
        return switch (t) {
            case F32 -> "F32";
            case F16 -> "F16";
            case BF16 -> "BF16";
            case I32 -> "I32";
            case I64 -> "I64";
            case I8 -> "I8";
        };
    }

    /**
     * Writes {@code tensors} (any device; copied to the host as needed) and {@code metadata} (may be null) to
     * {@code file}: sorted names, contiguous data, header padded with spaces to a multiple of 8 bytes. The file
     * is written beside the target and moved into place, so readers never see half a file. Identical inputs give
     * identical bytes.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        requireLittleEndian();
        if (tensors == null) {
            throw new IllegalArgumentException("tensors must not be null");
        }
        TreeMap<String, Tensor> sorted = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey() == null || e.getKey().isEmpty() || e.getKey().equals("__metadata__")) {
                throw new IllegalArgumentException("invalid tensor name '" + e.getKey() + "' for " + file);
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' is null");
            }
            e.getValue().ensureOpen();
            sorted.put(e.getKey(), e.getValue());
        }
        ObjectNode header = SafetensorsFile.JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach((k, v) -> {
                if (k == null || v == null) {
                    throw new IllegalArgumentException("metadata keys and values must not be null: " + k + "=" + v);
                }
                m.put(k, v);
            });
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            long bytes = Math.multiplyExact(t.numel(), (long) t.dtype().size());
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", format(t.dtype()));
            var shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = SafetensorsFile.JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path abs = file.toAbsolutePath();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-"
                + Thread.currentThread().getId());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 22);
                long bufAddr = new Pointer(buf).address();
                for (Tensor t : sorted.values()) {
                    writeData(ch, t, buf, bufAddr);
                }
                ch.force(false);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeData(FileChannel ch, Tensor t, ByteBuffer buf, long bufAddr) throws IOException {
        long bytes = t.numel() * t.dtype().size();
        if (bytes == 0) {
            return;
        }
        Tensor host = t.device().isCpu() ? t.contiguous() : t.to(Device.CPU);
        try (host) {
            long src = host.address();
            for (long done = 0; done < bytes; ) {
                int n = (int) Math.min(buf.capacity(), bytes - done);
                Addresses.copy(bufAddr, src + done, n);
                buf.clear().limit(n);
                writeFully(ch, buf);
                done += n;
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
