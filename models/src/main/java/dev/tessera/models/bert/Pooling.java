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

/**
 * How a {@link SentenceEncoder} turns the token states of a text into one vector (sentence-transformers' Pooling
 * module), over the real tokens of each text: the first ({@code [CLS]}) token's state, the per-dimension maximum,
 * the mean, the sum over the square root of the length, the mean weighted by position (1, 2, ... : SGPT) or the
 * last token's state. A Pooling module may switch on several: their vectors are concatenated in this enum's order,
 * which is sentence-transformers'.
 */
public enum Pooling {
    CLS("pooling_mode_cls_token", "cls"),
    MAX("pooling_mode_max_tokens", "max"),
    MEAN("pooling_mode_mean_tokens", "mean"),
    MEAN_SQRT_LEN("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
    WEIGHTED_MEAN("pooling_mode_weightedmean_tokens", "weightedmean"),
    LAST_TOKEN("pooling_mode_lasttoken", "lasttoken");

    private final String key;
    private final String stName;

    Pooling(String key, String stName) {
        this.key = key;
        this.stName = stName;
    }

    /** The key of this mode in a sentence-transformers {@code 1_Pooling/config.json}. */
    public String configKey() {
        return key;
    }

    /** The name sentence-transformers' {@code pooling_mode} gives this mode ({@code "weightedmean"}). */
    public String stName() {
        return stName;
    }

    /**
     * A mode by its sentence-transformers name ({@code cls}, {@code max}, {@code mean}, {@code mean_sqrt_len_tokens},
     * {@code weightedmean}, {@code lasttoken}) or this enum's ({@code weighted_mean}), any case.
     */
    public static Pooling parse(String s) {
        String t = s == null ? "" : s.trim();
        for (Pooling p : values()) {
            if (p.name().equalsIgnoreCase(t) || p.stName.equalsIgnoreCase(t)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown pooling '" + s + "': " + names());
    }

    private static String names() {
        return String.join(", ", java.util.Arrays.stream(values()).map(Pooling::stName).toList());
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
     * @param modes how token states become one vector: one mode, or several whose vectors are concatenated in this
     *     order (the {@code pooling_mode_*} flags give {@link Pooling}'s order, a {@code pooling_mode} list its own)
     * @param normalize whether the vector is L2-normalised at the end
     * @param dense the Dense modules applied after the pooling, in order (usually none)
     */
    public record Setup(List<Pooling> modes, boolean normalize, List<DenseLayer> dense) {
        /** Mean pooling, normalised: all-MiniLM-L6-v2's recipe, and the default of a directory that names none. */
        public static final Setup DEFAULT = new Setup(MEAN, true);

        public Setup {
            if (modes == null || modes.isEmpty()) {
                throw new IllegalArgumentException("no pooling mode (sentence-transformers: " + names() + ")");
            }
            modes = modes.stream().distinct().toList(); // each once, concatenated in this order
            dense = List.copyOf(dense);
        }

        /** One mode, no Dense module. */
        public Setup(Pooling mode, boolean normalize) {
            this(List.of(mode), normalize, List.of());
        }

        /** One mode. */
        public Setup(Pooling mode, boolean normalize, List<DenseLayer> dense) {
            this(List.of(mode), normalize, dense);
        }

        /** The one mode of a single-mode setup. */
        public Pooling mode() {
            if (modes.size() != 1) {
                throw new IllegalStateException("pooling " + modes + " has several modes");
            }
            return modes.get(0);
        }

        /** The width of the pooled vector for a model of width {@code hidden}, before any Dense module. */
        public int pooledWidth(int hidden) {
            return Math.multiplyExact(hidden, modes.size());
        }

        /** The width of the embedding for a model of width {@code hidden}. */
        public int width(int hidden) {
            return dense.isEmpty() ? pooledWidth(hidden) : dense.get(dense.size() - 1).out();
        }

        /**
         * Reads {@code modules.json} (the module list: the Pooling module's folder, Dense modules, whether a Normalize
         * module follows) and the Pooling module's {@code config.json} ({@code 1_Pooling/config.json} when there is no
         * module list). Without a module list the pooling is mean (or what that config says) and the vector is
         * normalised, except in a Hugging Face model folder ({@code config.json} beside the weights), which
         * sentence-transformers loads as Transformer + mean Pooling and nothing after: not normalised. (A langchain4j
         * jar's ONNX folder, which langchain4j normalises, keeps {@link #DEFAULT}.) The Pooling config is read as
         * sentence-transformers' constructor reads it: each {@code pooling_mode_*} flag with its default (mean on, the others off), or a
         * {@code pooling_mode} name that sets exactly one. A module list with modules Tessera does not run fails with
         * their names.
         */
        public static Setup read(Path dir) {
            Path modules = dir.resolve("modules.json");
            String poolingDir = "1_Pooling";
            boolean normalize = !Files.isRegularFile(dir.resolve("config.json"));
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
            JsonNode pm = c.json().get("pooling_mode");
            if (pm != null && !pm.isNull()) {
                // a name, or (sentence-transformers 6) a list of names concatenated in the list's order
                List<JsonNode> names = new ArrayList<>();
                if (pm.isArray()) {
                    pm.forEach(names::add);
                } else {
                    names.add(pm);
                }
                for (JsonNode n : names) {
                    if (!n.isTextual()) {
                        throw new IllegalArgumentException(cfg + ": pooling_mode must be a name or a list of names, found "
                                + pm);
                    }
                    try {
                        on.add(parse(n.textValue()));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(cfg + ": pooling_mode: " + e.getMessage(), e);
                    }
                }
            } else {
                for (Pooling p : values()) {
                    if (c.getBoolean(p.key, p == MEAN)) {
                        on.add(p);
                    }
                }
            }
            if (on.isEmpty()) {
                throw new IllegalArgumentException(cfg + ": every pooling mode is off (one of " + names()
                        + " must be on)");
            }
            return new Setup(on, normalize, dense);
        }

        @Override
        public String toString() {
            return String.join("+", modes.stream().map(Pooling::stName).toList())
                    + (dense.isEmpty() ? "" : ", " + dense.size() + " Dense") + (normalize ? ", normalised" : "");
        }
    }
}
