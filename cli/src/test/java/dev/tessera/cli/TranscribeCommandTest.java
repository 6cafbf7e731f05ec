package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.io.Npy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera transcribe} on the random tiny Whisper checkpoint of the models tests (a 2 s window, synthetic
 * vocabulary given a word-level tokenizer.json here): features and audio paths, output formats, bad input.
 */
class TranscribeCommandTest {
    static final Path SRC = Paths.get("../models/src/test/resources/whisper/tiny-a").toAbsolutePath().normalize();
    @TempDir
    static Path tmp;
    static Path model;

    static ChatCommandTest.Run run(String... args) {
        return ChatCommandTest.run(null, args);
    }

    @BeforeAll
    static void makeModel() throws Exception {
        model = Files.createDirectories(tmp.resolve("whisper-tiny"));
        for (String f : new String[] {"config.json", "generation_config.json", "model.safetensors"}) {
            Files.copy(SRC.resolve(f), model.resolve(f));
        }
        // Word-level vocabulary over the 411 ids: w0..w299, then the special tokens and timestamps.
        StringBuilder vocab = new StringBuilder();
        StringBuilder added = new StringBuilder();
        String[] specials = {"<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>", "<|transcribe|>",
            "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"};
        for (int i = 0; i < 411; i++) {
            String tok = i < 300 ? "w" + i : i < 310 ? specials[i - 300] : String.format("<|%.2f|>", (i - 310) * 0.02);
            vocab.append(i == 0 ? "" : ",").append('"').append(tok).append("\":").append(i);
            if (i >= 300) {
                added.append(added.length() == 0 ? "" : ",").append("{\"id\":").append(i).append(",\"content\":\"").append(tok)
                        .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}");
            }
        }
        Files.writeString(model.resolve("tokenizer.json"), "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
                + "\"added_tokens\":[" + added + "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
                + "\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":\"WordLevel\",\"vocab\":{" + vocab
                + "},\"unk_token\":\"w0\"}}");
    }

    static Path wav(Path f, float[] x) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * x.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + 2 * x.length).put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16)
                .putShort((short) 1).putShort((short) 1).putInt(16_000).putInt(32_000).putShort((short) 2)
                .putShort((short) 16).put("data".getBytes()).putInt(2 * x.length);
        for (float v : x) {
            b.putShort((short) Math.round(Math.max(-1, Math.min(1, v)) * 32767));
        }
        Files.write(f, b.array());
        return f;
    }

    @Test
    void featuresGiveTheReferenceGreedyTokens() throws Exception {
        ChatCommandTest.Run r = run("transcribe", "--model", model.toString(), "--features", SRC.resolve("features.npy").toString(),
                "--beam", "1", "--language", "en", "--max-tokens", "32", "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        int[] want = Npy.read(SRC.resolve("greedy_timestamps.npy")).ints();
        JsonNode toks = o.get("segments").get(0).get("tokens");
        int n = want.length > 0 && want[want.length - 1] == 300 ? want.length - 1 : want.length;
        assertEquals(n, toks.size(), r.out());
        for (int i = 0; i < n; i++) {
            assertEquals(want[i], toks.get(i).asInt(), "token " + i);
        }
        assertEquals("en", o.get("language").asText());
    }

    @Test
    void audioInEveryFormat() throws Exception {
        Random rnd = new Random(5);
        float[] x = new float[16_000 * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * 220 * i / 16_000.0) + 0.05 * rnd.nextGaussian());
        }
        Path a = wav(tmp.resolve("tone.wav"), x);
        ChatCommandTest.Run j = run("transcribe", a.toString(), "--model", model.toString(), "--beam", "2", "--format", "json");
        assertEquals(0, j.code(), j.err());
        JsonNode o = new ObjectMapper().readTree(j.out());
        double prevEnd = 0;
        for (JsonNode s : o.get("segments")) {
            double st = s.get("start").asDouble();
            double en = s.get("end").asDouble();
            assertTrue(st >= 0 && st <= en && en <= 5.0 + 2.0, "segment times " + s);
            assertTrue(st >= prevEnd - 1e-9 || prevEnd == 0, "segments in order " + o);
            prevEnd = Math.max(prevEnd, st);
        }
        ChatCommandTest.Run srt = run("transcribe", a.toString(), "--model", model.toString(), "--beam", "1", "--format", "srt");
        assertEquals(0, srt.code(), srt.err());
        if (!srt.out().isBlank()) {
            assertTrue(srt.out().startsWith("1\n00:00:"), srt.out());
            assertTrue(srt.out().contains(" --> "), srt.out());
        }
        ChatCommandTest.Run vtt = run("transcribe", a.toString(), "--model", model.toString(), "--beam", "1", "--format", "vtt");
        assertEquals(0, vtt.code(), vtt.err());
        assertTrue(vtt.out().startsWith("WEBVTT"), vtt.out());
        // Silence and a 0.1 s clip: empty or short output, no error.
        Path silence = wav(tmp.resolve("silence.wav"), new float[16_000 * 3]);
        ChatCommandTest.Run s = run("transcribe", silence.toString(), "--model", model.toString(), "--format", "json");
        assertEquals(0, s.code(), s.err());
        assertEquals(0, new ObjectMapper().readTree(s.out()).get("segments").size(), "silence gives no segment");
        float[] shortClip = new float[1600];
        System.arraycopy(x, 0, shortClip, 0, shortClip.length);
        ChatCommandTest.Run sh = run("transcribe", wav(tmp.resolve("short.wav"), shortClip).toString(), "--model", model.toString(),
                "--beam", "1", "--format", "txt");
        assertEquals(0, sh.code(), sh.err());
    }

    @Test
    void badInputExitsNonZeroWithOneLine() throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.mp3"), "not audio\n".repeat(50));
        ChatCommandTest.Run r = run("transcribe", text.toString(), "--model", model.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().strip().lines().anyMatch(l -> l.startsWith("error: ") && l.contains("notes.mp3")), r.err());
        float[] nan = new float[80 * 200];
        nan[3] = Float.NaN;
        Path f = tmp.resolve("nan.npy");
        Npy.writeFloats(f, nan, 80, 200);
        r = run("transcribe", "--features", f.toString(), "--model", model.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("error: ") && r.err().contains("NaN"), r.err());
        Path g = tmp.resolve("mels.npy");
        Npy.writeFloats(g, new float[128 * 10], 128, 10);
        r = run("transcribe", "--features", g.toString(), "--model", model.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("[80, frames]"), r.err());
        r = run("transcribe", "--model", model.toString());
        assertNotEquals(0, r.code());
        r = run("transcribe", text.toString(), "--model", model.toString(), "--format", "doc");
        assertNotEquals(0, r.code());
    }
}
