package dev.tessera.models.whisper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.text.Tokenizer;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Whisper multilingual tokenizer.json built from the tiktoken ranks (resources/whisper/tokenizer), loaded through
 * DJL's Rust tokenizers, against an independent Python rank-BPE: same ids for every sample text, special tokens at
 * Whisper's ids, and decoding gives the text back.
 */
class WhisperTokenizerTest {
    static Path unpack(Path dir) throws Exception {
        Path out = dir.resolve("tokenizer.json");
        try (InputStream in = new GZIPInputStream(
                WhisperTokenizerTest.class.getResourceAsStream("/whisper/tokenizer/multilingual.tokenizer.json.gz"))) {
            Files.copy(in, out);
        }
        return out;
    }

    @Test
    void matchesAnIndependentRankBpe(@TempDir Path dir) throws Exception {
        JsonNode exp = new ObjectMapper().readTree(
                WhisperTokenizerTest.class.getResourceAsStream("/whisper/tokenizer/multilingual.expected.json"));
        try (Tokenizer t = Tokenizer.load(unpack(dir))) {
            for (JsonNode s : exp.get("samples")) {
                String text = s.get("text").asText();
                int[] want = new int[s.get("ids").size()];
                for (int i = 0; i < want.length; i++) {
                    want[i] = s.get("ids").get(i).asInt();
                }
                int[] got = t.encode(text, false);
                assertArrayEquals(want, got, "ids of \"" + text + "\"");
                assertEquals(text, t.decode(got, false), "round trip of \"" + text + "\"");
            }
            exp.get("specials").fields().forEachRemaining(e ->
                    assertEquals(e.getValue().asInt(), t.tokenToId(e.getKey()), e.getKey()));
            assertEquals("", t.decode(new int[] {50257, 50258, 50364}, true), "special tokens are skipped when asked");
        }
    }
}
