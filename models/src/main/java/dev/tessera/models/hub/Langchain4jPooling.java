package dev.tessera.models.hub;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The pooling a langchain4j in-process embedding jar ({@code langchain4j-embeddings-*}) applies to its ONNX model.
 * Such a jar carries no sentence-transformers pooling config: its model class passes a {@code PoolingMode} constant
 * ({@code MEAN} for all-MiniLM-L6-v2 and e5, {@code CLS} for bge) to langchain4j. That choice is read from the class
 * files' constant pools (the {@code PoolingMode} fields they reference), without loading them.
 */
final class Langchain4jPooling {
    private Langchain4jPooling() {}

    private static final String POOLING_MODE = "dev/langchain4j/model/embedding/onnx/PoolingMode";

    /** {@code "MEAN"}, {@code "CLS"}, ... when the jar's classes reference exactly one PoolingMode constant. */
    static Optional<String> of(Path jar) {
        TreeSet<String> modes = new TreeSet<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                if (e.isDirectory() || !e.getName().endsWith(".class") || e.getSize() > (1 << 20)) {
                    continue;
                }
                try (InputStream in = zip.getInputStream(e)) {
                    modes.addAll(fieldsOf(in.readAllBytes(), POOLING_MODE));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + jar + ": " + e.getMessage(), e);
        }
        return modes.size() == 1 ? Optional.of(modes.first()) : Optional.empty();
    }

    /**
     * Names of the fields of class {@code owner} (internal name) that a class file references (its
     * {@code CONSTANT_Fieldref} entries); empty for bytes that are not a class file.
     */
    static Set<String> fieldsOf(byte[] classFile, String owner) {
        Set<String> out = new TreeSet<>();
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile));
            if (in.readInt() != 0xCAFEBABE) {
                return out;
            }
            in.readUnsignedShort(); // minor
            in.readUnsignedShort(); // major
            int count = in.readUnsignedShort();
            Map<Integer, String> utf8 = new HashMap<>();
            Map<Integer, Integer> classNames = new HashMap<>(); // Class index -> name index
            Map<Integer, int[]> nameAndType = new HashMap<>(); // index -> {name, descriptor}
            Map<Integer, int[]> fieldRefs = new HashMap<>(); // index -> {class, nameAndType}
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> utf8.put(i, in.readUTF());
                    case 3, 4 -> in.readInt();
                    case 5, 6 -> { // 8-byte constants take two slots
                        in.readLong();
                        i++;
                    }
                    case 7 -> classNames.put(i, in.readUnsignedShort());
                    case 8, 16, 19, 20 -> in.readUnsignedShort();
                    case 9 -> fieldRefs.put(i, new int[] {in.readUnsignedShort(), in.readUnsignedShort()});
                    case 10, 11, 17, 18 -> in.readInt();
                    case 12 -> nameAndType.put(i, new int[] {in.readUnsignedShort(), in.readUnsignedShort()});
                    case 15 -> {
                        in.readUnsignedByte();
                        in.readUnsignedShort();
                    }
                    default -> {
                        return new TreeSet<>(); // not a class file we understand
                    }
                }
            }
            for (int[] f : fieldRefs.values()) {
                Integer nameIndex = classNames.get(f[0]);
                int[] nt = nameAndType.get(f[1]);
                if (nameIndex != null && nt != null && owner.equals(utf8.get(nameIndex)) && utf8.get(nt[0]) != null) {
                    out.add(utf8.get(nt[0]));
                }
            }
        } catch (IOException | RuntimeException e) {
            return new TreeSet<>(); // truncated or malformed: no answer
        }
        return out;
    }
}
