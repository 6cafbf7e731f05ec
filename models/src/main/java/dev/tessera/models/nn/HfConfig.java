package dev.tessera.models.nn;

import dev.tessera.runtime.io.JsonFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code config.json} (or any JSON config) with typed, named lookups: a missing required key or
 * a value of the wrong type is an {@link IllegalArgumentException} naming the file and the key. Model config
 * records are built from it ({@code ViTConfig.from(HfConfig)}) and are immutable.
 */
public final class HfConfig {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonNode root;
    private final String where;

    private HfConfig(JsonNode root, String where) {
        this.root = root;
        this.where = where;
    }

    /** Reads {@code file}, or {@code file/config.json} when {@code file} is a directory. */
    public static HfConfig read(Path file) {
        Path f = Files.isDirectory(file) ? file.resolve("config.json") : file;
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("no config file: " + f);
        }
        try {
            JsonNode n = JSON.readTree(f.toFile());
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(f + ": not a JSON object");
            }
            return new HfConfig(n, f.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": not valid JSON: " + JsonFiles.describe(e), e);
        }
    }

    /** Wraps a parsed JSON object (e.g. a nested {@code vision_config}); {@code where} names it in errors. */
    public static HfConfig of(JsonNode node, String where) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(where + ": not a JSON object");
        }
        return new HfConfig(node, where);
    }

    public JsonNode json() {
        return root;
    }

    public String where() {
        return where;
    }

    public boolean has(String key) {
        return root.hasNonNull(key);
    }

    /** A nested object, e.g. {@code text_config}; an empty one when absent (so defaults apply). */
    public HfConfig child(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return new HfConfig(JSON.createObjectNode(), where + "." + key);
        }
        return of(n, where + "." + key);
    }

    /** An integer (12.0 counts as 12); a fraction or a value outside the int range is refused, not truncated. */
    public int getInt(String key) {
        JsonNode n = require(key);
        if (!JsonFiles.isWhole(n) || !n.canConvertToInt()) {
            throw bad(key, "an integer", n);
        }
        return n.intValue();
    }

    public int getInt(String key, int dflt) {
        return has(key) ? getInt(key) : dflt;
    }

    public long getLong(String key, long dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode n = root.get(key);
        if (!JsonFiles.isWhole(n) || !n.canConvertToLong()) {
            throw bad(key, "an integer", n);
        }
        return n.longValue();
    }

    public double getDouble(String key) {
        return number(key).doubleValue();
    }

    public double getDouble(String key, double dflt) {
        return has(key) ? getDouble(key) : dflt;
    }

    public boolean getBoolean(String key, boolean dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode n = root.get(key);
        if (!n.isBoolean()) {
            throw bad(key, "a boolean", n);
        }
        return n.booleanValue();
    }

    public String getString(String key) {
        JsonNode n = require(key);
        if (!n.isTextual()) {
            throw bad(key, "a string", n);
        }
        return n.textValue();
    }

    public String getString(String key, String dflt) {
        return has(key) ? getString(key) : dflt;
    }

    /** An array of integers (e.g. {@code suppress_tokens}); empty when absent. */
    public int[] getIntArray(String key) {
        if (!has(key)) {
            return new int[0];
        }
        JsonNode n = root.get(key);
        if (!n.isArray()) {
            throw bad(key, "an array of integers", n);
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isIntegralNumber() || !n.get(i).canConvertToInt()) {
                throw bad(key, "an array of integers", n);
            }
            out[i] = n.get(i).intValue();
        }
        return out;
    }

    /** One integer or an array of them (as {@code eos_token_id} may be either); empty when absent or null. */
    public int[] getIntOrIntArray(String key) {
        if (has(key) && !root.get(key).isArray()) {
            return new int[] {getInt(key)};
        }
        return getIntArray(key);
    }

    /** An array of strings; empty when absent. */
    public List<String> getStringList(String key) {
        List<String> out = new ArrayList<>();
        if (has(key)) {
            JsonNode n = root.get(key);
            if (!n.isArray()) {
                throw bad(key, "an array of strings", n);
            }
            n.forEach(e -> out.add(e.asText()));
        }
        return out;
    }

    /** An object of string values (e.g. {@code id2label}); empty when absent. */
    public Map<String, String> getStringMap(String key) {
        Map<String, String> out = new LinkedHashMap<>();
        if (has(key)) {
            JsonNode n = root.get(key);
            if (!n.isObject()) {
                throw bad(key, "an object", n);
            }
            n.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        }
        return out;
    }

    private JsonNode require(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException(where + ": missing required key \"" + key + "\"");
        }
        return n;
    }

    private Number number(String key) {
        JsonNode n = require(key);
        if (!n.isNumber()) {
            throw bad(key, "a number", n);
        }
        return n.numberValue();
    }

    private IllegalArgumentException bad(String key, String what, JsonNode n) {
        return new IllegalArgumentException(where + ": \"" + key + "\" must be " + what + ", found " + n);
    }

    @Override
    public String toString() {
        return where;
    }
}
