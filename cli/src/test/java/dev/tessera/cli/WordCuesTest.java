package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.whisper.Transcriber;
import dev.tessera.models.whisper.WordTimestamps;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * Word-timestamp subtitles against an independent reference of openai-whisper's SRT and VTT writers
 * ({@code models/src/test/resources/whisper/words/make_subtitles.py}): 217 cases (segments from the word-timestamp
 * fixtures and synthetic ones: line widths, line counts, words per line, highlighting, pauses over 3 s, non-ASCII
 * and astral characters, whitespace-only words, times past an hour, half-millisecond rounding), byte for byte.
 */
class WordCuesTest {
    static final Path CASES = Paths.get("../models/src/test/resources/whisper/words/subtitle_cases.json.gz")
            .toAbsolutePath().normalize();

    static Integer opt(JsonNode o, String k) {
        return o.hasNonNull(k) ? o.get(k).asInt() : null;
    }

    @Test
    void srtAndVttMatchTheReferenceWriters() throws Exception {
        JsonNode cases;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(CASES))) {
            cases = new ObjectMapper().readTree(in);
        }
        int n = 0;
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            JsonNode o = c.get("options");
            for (boolean srt : new boolean[] {true, false}) {
                WordCues wc = new WordCues(opt(o, "max_line_width"), opt(o, "max_line_count"), opt(o, "max_words_per_line"),
                        o.path("highlight_words").asBoolean(false));
                TranscriptWriter writer = new TranscriptWriter(srt ? "srt" : "vtt", wc);
                StringBuilder got = new StringBuilder(TranscriptWriter.header(srt ? "srt" : "vtt"));
                for (JsonNode s : c.get("segments")) {
                    List<WordTimestamps.Word> words = new ArrayList<>();
                    for (JsonNode w : s.get("words")) {
                        words.add(new WordTimestamps.Word(w.get("word").asText(), w.get("start").asDouble(),
                                w.get("end").asDouble(), w.path("probability").asDouble(1)));
                    }
                    got.append(writer.segment(new Transcriber.Segment(s.get("start").asDouble(), s.get("end").asDouble(),
                            s.path("text").asText(""), new int[0], Transcriber.Window.UNKNOWN, words)));
                }
                got.append(writer.finish());
                assertEquals(c.get(srt ? "srt" : "vtt").asText(), got.toString(), name + (srt ? " srt" : " vtt"));
            }
            n++;
        }
        assertTrue(n >= 200, "cases: " + n);
    }
}
