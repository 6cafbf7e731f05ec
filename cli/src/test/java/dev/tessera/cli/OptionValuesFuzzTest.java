package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every option value of the model commands replaced by edge values (zero, negatives, int overflow, NaN, infinity,
 * fractions, empty, words): each command line runs, or ends with exactly one {@code error:} line naming the option
 * and a non-zero exit; never a stack trace, never a second error line. The base command lines run on the small fixtures.
 */
class OptionValuesFuzzTest {
    @TempDir
    static Path tmp;

    static final String[] EDGES = {"0", "-1", "-2147483648", "2147483648", "99999999999999999999", "1.5", "-0.0",
        "NaN", "Infinity", "1e309", "", " ", "abc", "0x10"};

    static List<String[]> bases() throws Exception {
        Path png = VisionCommandsTest.IMAGES.resolve("chelsea.png");
        Path features = tmp.resolve("features.npy");
        Npy.writeFloats(features, new float[80 * 100], 80, 100);
        Path wav = LogMelCommandTest.DIR.resolve("odd401.wav");
        return List.of(
                new String[] {"classify", png.toString(), "--model", VisionCommandsTest.VIT.toString(), "--top", "3",
                    "--batch", "2", "--max-pixels", "100000000", "--image-backend", "torchvision"},
                new String[] {"clip", png.toString(), "--model", VisionCommandsTest.CLIP.toString(), "--labels", "a,b",
                    "--batch", "2", "--template", "a photo of a {}", "--image-backend", "pil"},
                new String[] {"logmel", wav.toString(), "--out", tmp.resolve("m.npy").toString(), "--n-mels", "80",
                    "--mel-filters", "whisper"},
                new String[] {"similarity", "--model", "minilm", "--pooling", "cls", "a cat", "a dog"},
                new String[] {"chat", "--model", ChatCommandTest.MODEL.toString(), "--max-tokens", "3", "--temperature",
                    "0.7", "--top-p", "0.9", "--top-k", "5", "--seed", "1", "--repetition-penalty", "1.1", "--json",
                    "hi"},
                new String[] {"transcribe", "--features", features.toString(), "--model",
                    TranscribeCommandTest.model.toString(), "--beam", "2", "--best-of", "2", "--max-tokens", "8",
                    "--no-speech-threshold", "0.6", "--logprob-threshold", "-1",
                    "--compression-ratio-threshold", "2.4", "--batch", "1", "--format", "json", "--language", "en",
                    "--task", "transcribe"},
                new String[] {"embed", "--model", "minilm", "--text", "a b", "--batch-size", "4", "--max-length", "16",
                    "--pooling", "mean", "--out", tmp.resolve("e.npy").toString()});
    }

    @BeforeAll
    static void whisperModel() throws Exception {
        TranscribeCommandTest.tmp = tmp;
        TranscribeCommandTest.makeModel();
    }

    @Test
    void edgeValuesRunOrFailInOneLine() throws Exception {
        List<String> bad = new ArrayList<>();
        int runs = 0;
        int refused = 0;
        for (String[] base : bases()) {
            ChatCommandTest.Run ok = ChatCommandTest.run(null, base);
            assertEquals(0, ok.code(), String.join(" ", base) + " -> " + ok.err());
            for (int i = 1; i < base.length; i++) {
                if (!base[i - 1].startsWith("--") || base[i].startsWith("--") || base[i - 1].equals("--model")
                        || base[i - 1].equals("--out") || base[i - 1].equals("--features")) {
                    continue; // only option values; paths are tried elsewhere
                }
                for (String edge : EDGES) {
                    String[] args = base.clone();
                    args[i] = edge;
                    ChatCommandTest.Run r = ChatCommandTest.run(null, args);
                    runs++;
                    List<String> errors = r.err().lines().filter(l -> l.startsWith("error:")).toList();
                    boolean trace = r.err().lines().anyMatch(l -> l.startsWith("\tat ") || l.contains("Exception in"));
                    if (r.code() != 0) {
                        refused++;
                    } else if (Boolean.getBoolean("tessera.fuzz.verbose")) {
                        System.out.println("accepted: " + base[0] + " " + base[i - 1] + " '" + edge + "'");
                    }
                    // a refusal names the option it refuses (as the user typed it, not a Java field name)
                    boolean named = r.code() == 0 || (errors.size() == 1 && errors.get(0).contains(base[i - 1]));
                    if (trace || !named || (r.code() == 0 ? !errors.isEmpty() : errors.size() != 1)) {
                        bad.add(base[0] + " " + base[i - 1] + " " + edge + " -> exit " + r.code() + ": "
                                + r.err().strip().replace('\n', '|'));
                    }
                }
            }
        }
        System.out.printf("option edge values: %d command lines, %d refused in one line, the rest ran%n", runs, refused);
        assertTrue(bad.isEmpty(), bad.size() + " command lines misbehaved:\n" + String.join("\n", bad));
    }
}
