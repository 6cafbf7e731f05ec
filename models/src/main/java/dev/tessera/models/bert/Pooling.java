package dev.tessera.models.bert;

import dev.tessera.runtime.io.JsonFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.nn.HfConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a {@link SentenceEncoder} turns the token states of a text into one vector (sentence-transformers' Pooling
 * module): the mean over the real tokens, the first ({@code [CLS]}) token's state, or the per-dimension maximum
 * over the real tokens.
 */
public enum Pooling {
    MEAN("pooling_mode_mean_tokens"),
    CLS("pooling_mode_cls_token"),
    MAX("pooling_mode_max_tokens");

    /** Modes of sentence-transformers' Pooling module that Tessera does not implement. */
    private static final List<String> OTHER_MODES = List.of("pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken");

    private final String key;

    Pooling(String key) {
        this.key = key;
    }

    /** The key of this mode in a sentence-transformers {@code 1_Pooling/config.json}. */
    public String configKey() {
        return key;
    }

    /** {@code mean}, {@code cls} or {@code max} (any case). */
    public static Pooling parse(String s) {
        for (Pooling p : values()) {
            if (p.name().equalsIgnoreCase(s == null ? "" : s.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown pooling '" + s + "': mean, cls or max");
    }

    /**
     * Where a sentence-transformers directory keeps its transformer (config, weights, tokenizer): the folder its
     * {@code modules.json} names for the Transformer module ({@code 0_Transformer/} in older saves), else {@code dir}.
     */
    public static Path transformerDir(Path dir) {
        JsonNode list = modules(dir);
        for (JsonNode m : list == null ? List.<JsonNode>of() : list) {
            String type = m.path("type").asText("");
            String path = m.path("path").asText("");
            if (type.endsWith(".Transformer") && !path.isEmpty()) {
                Path t = dir.resolve(path).normalize();
                if (!t.startsWith(dir.normalize()) || !Files.isDirectory(t)) {
                    throw new IllegalArgumentException(dir.resolve("modules.json") + ": the Transformer module's folder "
                            + path + " is not a folder of " + dir);
                }
                return t;
            }
        }
        return dir;
    }

    /** The module list of {@code dir}'s {@code modules.json} (a JSON array), or null when there is none. */
    private static JsonNode modules(Path dir) {
        Path modules = dir.resolve("modules.json");
        if (!Files.isRegularFile(modules)) {
            return null;
        }
        JsonNode list;
        try {
            list = new ObjectMapper().readTree(modules.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(modules + ": not valid JSON: " + JsonFiles.describe(e), e);
        }
        if (list == null || !list.isArray()) {
            throw new IllegalArgumentException(modules + ": expected a JSON array of modules");
        }
        return list;
    }

    /**
     * The pooling, Dense modules and normalisation of a model directory, as sentence-transformers applies them.
     *
     * @param mode how token states become one vector
     * @param normalize whether the vector is L2-normalised at the end
     * @param dense the Dense modules applied after the pooling, in order (usually none)
     */
    public record Setup(Pooling mode, boolean normalize, List<DenseLayer> dense) {
        /** Mean pooling, normalised: all-MiniLM-L6-v2's recipe, and the default of a directory that names none. */
        public static final Setup DEFAULT = new Setup(MEAN, true);

        public Setup {
            dense = List.copyOf(dense);
        }

        /** No Dense module. */
        public Setup(Pooling mode, boolean normalize) {
            this(mode, normalize, List.of());
        }

        /** The width of the embedding for a model of width {@code hidden}. */
        public int width(int hidden) {
            return dense.isEmpty() ? hidden : dense.get(dense.size() - 1).out();
        }

        /**
         * Reads {@code modules.json} (the module list: the Pooling module's folder, Dense modules, whether a Normalize
         * module follows) and the Pooling module's {@code config.json} ({@code 1_Pooling/config.json} when there is no
         * module list). Without either file: {@link #DEFAULT}. A module list with modules Tessera does not run or a
         * pooling mode it does not implement fails with the names.
         */
        public static Setup read(Path dir) {
            Path modules = dir.resolve("modules.json");
            String poolingDir = "1_Pooling";
            boolean normalize = true;
            List<DenseLayer> dense = new ArrayList<>();
            JsonNode list = modules(dir);
            if (list != null) {
                normalize = false;
                poolingDir = null;
                List<String> unsupported = new ArrayList<>();
                for (JsonNode m : list) {
                    String type = m.path("type").asText("");
                    String simple = type.substring(type.lastIndexOf('.') + 1);
                    switch (simple) {
                        case "Transformer" -> { }
                        case "Pooling" -> poolingDir = m.path("path").asText("1_Pooling");
                        case "Normalize" -> normalize = true;
                        case "Dense" -> {
                            if (normalize) { // sentence-transformers would normalise, then project
                                throw new IllegalArgumentException(modules + ": a Dense module after Normalize is not"
                                        + " supported (here Normalize comes last: Transformer + Pooling [+ Dense ...]"
                                        + " [+ Normalize])");
                            }
                            dense.add(DenseLayer.read(dir.resolve(m.path("path").asText(""))));
                        }
                        default -> unsupported.add(type);
                    }
                }
                if (!unsupported.isEmpty()) {
                    throw new IllegalArgumentException(modules + ": modules " + unsupported + " are not supported (a"
                            + " sentence encoder here is Transformer + Pooling [+ Dense ...] [+ Normalize])");
                }
                if (poolingDir == null) {
                    throw new IllegalArgumentException(modules + ": no sentence_transformers.models.Pooling module");
                }
            }
            Path cfg = dir.resolve(poolingDir).resolve("config.json");
            if (!Files.isRegularFile(cfg)) {
                return new Setup(MEAN, normalize, dense);
            }
            HfConfig c = HfConfig.read(cfg);
            List<Pooling> on = new ArrayList<>();
            for (Pooling p : values()) {
                if (c.getBoolean(p.key, false)) {
                    on.add(p);
                }
            }
            List<String> other = OTHER_MODES.stream().filter(k -> c.getBoolean(k, false)).toList();
            if (!other.isEmpty() || on.size() != 1) {
                throw new IllegalArgumentException(cfg + ": pooling " + (other.isEmpty() ? on : other) + " is not"
                        + " supported (exactly one of " + List.of(MEAN.key, CLS.key, MAX.key) + " must be true)");
            }
            return new Setup(on.get(0), normalize, dense);
        }

        @Override
        public String toString() {
            return mode.name().toLowerCase(Locale.ROOT) + (dense.isEmpty() ? "" : ", " + dense.size() + " Dense")
                    + (normalize ? ", normalised" : "");
        }
    }
}
