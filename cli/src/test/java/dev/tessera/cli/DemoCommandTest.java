package dev.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.testing.TestWav;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera demo} and {@code tessera dbm eval/generate} on the shipped checkpoint (CPU). */
class DemoCommandTest {
    @Test
    void demoRunsMiniLmAndTheDbnAndWritesPictures(@TempDir Path out) throws Exception {
        InfoCommandTest.Run r = InfoCommandTest.run("demo", "--out", out.toString(), "--pairs", "300");
        assertEquals(0, r.exitCode(), r.out());
        Matcher m = Pattern.compile("paraphrase cos ([-0-9.]+) vs unrelated ([-0-9.]+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Double.parseDouble(m.group(1)) > Double.parseDouble(m.group(2)) + 0.3, r.out());
        Matcher acc = Pattern.compile("image-only ([0-9.]+)%, speech-only ([0-9.]+)%, both ([0-9.]+)%").matcher(r.out());
        assertTrue(acc.find(), r.out());
        double both = Double.parseDouble(acc.group(3));
        // on 300 pairs speech and both can both be at 100%: joint at least as good as each modality here,
        // strictly better on the full 2,000 pairs (dbmEvalJsonAndGenerate)
        assertTrue(both >= Double.parseDouble(acc.group(1)) && both >= Double.parseDouble(acc.group(2)), r.out());
        BufferedImage img = ImageIO.read(out.resolve("generated-from-speech.png").toFile());
        assertEquals(10 * 58, img.getWidth());
        assertEquals(10 * 58, img.getHeight());
    }

    @Test
    void dbmEvalJsonAndGenerate(@TempDir Path out) throws Exception {
        InfoCommandTest.Run r = InfoCommandTest.run("dbm", "eval", "--json");
        assertEquals(0, r.exitCode(), r.out());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(2000, j.get("test_pairs").asInt(), r.out());
        assertTrue(j.get("both").asDouble() > j.get("image_only").asDouble(), r.out());
        assertTrue(j.get("both").asDouble() > j.get("audio_only").asDouble(), r.out());
        // the targets on all 2,000 held-out pairs (shipped checkpoint: 97.55 / 99.40 / 99.85 / 91.55%)
        assertTrue(j.get("image_only").asDouble() >= 0.97, r.out());
        assertTrue(j.get("audio_only").asDouble() >= 0.95, r.out());
        assertTrue(j.get("both").asDouble() >= 0.99, r.out());
        assertTrue(j.get("generated_from_speech").asDouble() >= 0.90, r.out());
        // a spoken digit written as WAV by ffmpeg-free Java (a clip of the held-out split, re-encoded)
        Path wav = out.resolve("seven.wav");
        float[] clip = dev.tessera.models.dbm.DigitData.speech(DbmCommand.dataRoot(null).resolve("spoken-digits"), "test")
                .clips().get(7);
        TestWav.write16k(wav, clip);
        Path png = out.resolve("seven.png");
        r = InfoCommandTest.run("dbm", "generate", "--audio", wav.toString(), "--out", png.toString());
        assertEquals(0, r.exitCode(), r.out());
        assertTrue(r.out().contains("reads it as 7"), r.out());
        assertTrue(Files.size(png) > 100);
        // --samples: one Gibbs chain per picture, side by side, each its own draw
        Path four = out.resolve("sevens.png");
        r = InfoCommandTest.run("dbm", "generate", "--audio", wav.toString(), "--out", four.toString(), "--samples", "4");
        assertEquals(0, r.exitCode(), r.out());
        assertTrue(r.out().matches("(?s).*reads them as 7, \\d, \\d, \\d\\).*"), r.out());
        java.awt.image.BufferedImage one = javax.imageio.ImageIO.read(png.toFile());
        java.awt.image.BufferedImage grid = javax.imageio.ImageIO.read(four.toFile());
        assertEquals(4 * one.getWidth(), grid.getWidth(), "four pictures side by side");
        assertEquals(one.getHeight(), grid.getHeight());
        int[] b = grid.getRGB(0, 0, one.getWidth(), one.getHeight(), null, 0, one.getWidth());
        int[] c = grid.getRGB(one.getWidth(), 0, one.getWidth(), one.getHeight(), null, 0, one.getWidth());
        assertTrue(!java.util.Arrays.equals(b, c), "the second chain draws another picture");
        assertTrue(InfoCommandTest.run("dbm", "generate", "--audio", wav.toString(), "--out", four.toString(),
                "--samples", "0").exitCode() != 0);
        Path bad = out.resolve("bad.wav");
        Files.write(bad, new byte[] {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'x'});
        assertTrue(InfoCommandTest.run("dbm", "generate", "--audio", bad.toString(), "--out", png.toString()).exitCode() != 0);
    }

}
