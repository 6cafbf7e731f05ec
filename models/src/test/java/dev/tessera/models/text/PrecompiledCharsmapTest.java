package dev.tessera.models.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.testing.Fuzz;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SentencePiece's {@code Precompiled} normalizer: a map built here (a small Darts double array, one 256-unit block
 * per trie node) normalizes as its rules say when the Rust library reads it, and damaged maps — each of which makes
 * the library panic at the first encode, aborting the JVM — are refused by {@link Tokenizer#load} in one line.
 * The fuzz case mutates the map's bytes and runs every survivor through an encode: a map the check lets through
 * and the library panics on would end this JVM.
 */
public class PrecompiledCharsmapTest {
    @TempDir
    Path dir;

    /** The normalizer's rules: full-width and ligature forms to ASCII, as NFKC-like maps do ("é" last). */
    public static final Map<String, String> RULES = new LinkedHashMap<>();

    static {
        for (String[] r : new String[][] {{"Ａ", "A"}, {"ｂ", "b"}, {"ﬁ", "fi"}, {"①", "1"}, {"Ａｂ", "Ab"},
                {"e\u0301", "é"}}) {
            RULES.put(r[0], r[1]);
        }
    }

    /**
     * A precompiled_charsmap for {@code rules} (keys and replacements as UTF-8 bytes): root unit 0 points to block 1;
     * trie node k (in insertion order, the root being 0) keeps its children in block k + 1, child byte c at unit
     * 256 (k + 1) + c; a node that ends a key has its value unit at the start of its own block.
     */
    static byte[] build(Map<byte[], String> rules) {
        List<Map<Integer, Integer>> children = new ArrayList<>(); // node -> (byte -> child node)
        List<Integer> value = new ArrayList<>(); // node -> replacement index, or -1
        children.add(new TreeMap<>());
        value.add(-1);
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        for (Map.Entry<byte[], String> r : rules.entrySet()) {
            int node = 0;
            for (byte b : r.getKey()) {
                int c = b & 0xff;
                Integer next = children.get(node).get(c);
                if (next == null) {
                    next = children.size();
                    children.add(new TreeMap<>());
                    value.add(-1);
                    children.get(node).put(c, next);
                }
                node = next;
            }
            value.set(node, strings.size());
            strings.writeBytes(r.getValue().getBytes(StandardCharsets.UTF_8));
            strings.write(0);
        }
        int units = 256 * (children.size() + 1);
        int[] a = new int[units];
        a[0] = 256 << 10; // offset 0 ^ 256: the root's children start at block 1
        for (int node = 0; node < children.size(); node++) {
            int base = 256 * (node + 1);
            for (Map.Entry<Integer, Integer> e : children.get(node).entrySet()) {
                int q = base + e.getKey();
                int child = e.getValue();
                int childBase = 256 * (child + 1);
                boolean leaf = value.get(child) >= 0;
                a[q] = e.getKey() | (leaf ? 1 << 8 : 0) | ((q ^ childBase) << 10);
                if (leaf) {
                    a[childBase] = 0x80000000 | value.get(child);
                }
            }
        }
        ByteBuffer out = ByteBuffer.allocate(4 + 4 * units + strings.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(4 * units);
        for (int u : a) {
            out.putInt(u);
        }
        out.put(strings.toByteArray());
        return out.array();
    }

    public static byte[] buildRules(Map<String, String> rules) {
        Map<byte[], String> raw = new LinkedHashMap<>();
        rules.forEach((k, v) -> raw.put(k.getBytes(StandardCharsets.UTF_8), v));
        return build(raw);
    }

    /** A word-level tokenizer.json whose only normalizer is this map. */
    public static String tokenizerJson(byte[] map) {
        return """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                 "normalizer": {"type": "Precompiled", "precompiled_charsmap": "%s"},
                 "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "A": 1, "b": 2, "fi": 3, "1": 4, "Ab": 5, "x": 6,
                    "é": 7, "Ａ": 8}, "unk_token": "[UNK]"}}
                """.formatted(Base64.getEncoder().encodeToString(map));
    }

    private Tokenizer load(byte[] map) throws Exception {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, tokenizerJson(map));
        return Tokenizer.load(f);
    }

    @Test
    void builtMapNormalizesAsItsRules() throws Exception {
        byte[] map = buildRules(RULES);
        assertNull(PrecompiledCharsmap.problem(map));
        try (Tokenizer t = load(map)) {
            // each full-width / ligature form becomes its rule's replacement; "x" has no rule and stays
            assertArrayEquals(new int[] {1, 2, 3, 4, 6, 5, 7}, t.encode("Ａ ｂ ﬁ ① x Ａｂ e\u0301", false));
        }
        // without the normalizer the same text is other tokens: the map is what changed them
        Path f = dir.resolve("plain.json");
        Files.writeString(f, tokenizerJson(map).replaceFirst("\\{\"type\": \"Precompiled\"[^}]*}", "null"));
        try (Tokenizer t = Tokenizer.load(f)) {
            assertEquals(8, t.encode("Ａ", false)[0]);
        }
    }

    @Test
    void damagedMapsAreRefusedInOneLine() throws Exception {
        byte[] good = buildRules(RULES);
        int units = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(0) / 4;
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("its trie is empty", new byte[] {0, 0, 0, 0});
        bad.put("runs past the end", java.util.Arrays.copyOf(good, 4 + 4 * units - 8));
        bad.put("is empty", new byte[] {3, 0, 0, 0, 'x', 'y', 'z'}); // fewer than 4 bytes of trie: no unit at all
        // the trie cut to its first two blocks (the strings follow at once): the root's children reach block 2+
        ByteBuffer cut = ByteBuffer.allocate(4 + 4 * 512 + 4).order(ByteOrder.LITTLE_ENDIAN);
        cut.putInt(4 * 512).put(good, 4, 4 * 512).put(new byte[] {'A', 0, 'b', 0});
        bad.put("of 512", cut.array());
        // a value unit pointing past the strings, then into the middle of "é" (two bytes, the last rule)
        int strings = 4 + 4 * units;
        int eAt = good.length - strings - 3; // "é\0" ends the strings
        for (int[] c : new int[][] {{good.length - strings + 5, 0}, {eAt + 1, 1}}) {
            byte[] b = good.clone();
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < units; i++) {
                int u = bb.getInt(4 + 4 * i);
                if (u == (0x80000000 | eAt)) {
                    bb.putInt(4 + 4 * i, 0x80000000 | c[0]);
                }
            }
            bad.put(c[1] == 0 ? "is past the" : "is inside a UTF-8 character", b);
        }
        // a key that ends inside a character (the first two bytes of "①")
        Map<byte[], String> partial = new LinkedHashMap<>();
        partial.put(java.util.Arrays.copyOf("①".getBytes(StandardCharsets.UTF_8), 2), "1");
        bad.put("ends inside a UTF-8 character", build(partial));
        // the root pointing past the array
        byte[] root = good.clone();
        ByteBuffer.wrap(root).order(ByteOrder.LITTLE_ENDIAN).putInt(4, (units + 256) << 10);
        bad.put("its root points", root);
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            assertTrue(PrecompiledCharsmap.problem(e.getValue()) != null, e.getKey());
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> load(e.getValue()),
                    e.getKey());
            assertTrue(x.getMessage().contains("precompiled_charsmap") && x.getMessage().contains(e.getKey())
                    && !x.getMessage().contains("\n"), e.getKey() + ": " + x.getMessage());
        }
        // the library panics at load on a Precompiled normalizer whose map is missing, not a string, not base64
        // (or not canonical base64: its decoder wants the padding and zero trailing bits), or too short to parse
        String json = tokenizerJson(good);
        String field = "\"precompiled_charsmap\": \"" + Base64.getEncoder().encodeToString(good) + "\"";
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("no precompiled_charsmap string", "\"x\": 1");
        fields.put("no precompiled_charsmap string ", "\"precompiled_charsmap\": null");
        fields.put("no precompiled_charsmap string  ", "\"precompiled_charsmap\": 5");
        fields.put("not base64", "\"precompiled_charsmap\": \"%%\"");
        fields.put("not canonical base64", "\"precompiled_charsmap\": \"AAAAAA\"");
        fields.put("shorter than its 4-byte trie length", "\"precompiled_charsmap\": \"\"");
        Path f = dir.resolve("tokenizer.json");
        for (Map.Entry<String, String> e : fields.entrySet()) {
            Files.writeString(f, json.replace(field, e.getValue()));
            String m = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(f), e.getKey()).getMessage();
            assertTrue(m.contains(e.getKey().strip()), e.getKey() + ": " + m);
        }
        // also inside a Sequence of normalizers
        Files.writeString(f, json.replace("\"normalizer\": {\"type\": \"Precompiled\", " + field + "}",
                "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Precompiled\"}]}"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(f)).getMessage()
                .contains("no precompiled_charsmap string"));
    }

    @Test
    void damagedMapBytesNeverReachTheLibraryUnchecked() {
        Path f = dir.resolve("tokenizer.json");
        int ok = Fuzz.run("precompiled-charsmap", List.of(buildRules(RULES)), Fuzz.iterations(300), 21, in -> {
            Files.writeString(f, tokenizerJson(in));
            try (Tokenizer t = Tokenizer.load(f)) {
                t.encode("Ａ ｂ ﬁ ① x Ａｂ é ñ 漢字 🙂 \u0301", false);
            }
        });
        assertTrue(ok > 0, "some damaged maps pass the check and encode");
    }
}
