package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.audio.AudioDecoder;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.RgbImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Where the FFmpeg or OpenCV preset's classes are there but its natives do not load (no natives for the platform, or,
 * as with the linux-arm64 FFmpeg preset on a machine without libva, a system library they link against missing),
 * decoding says so in an {@link IllegalStateException} before any native call, instead of an
 * {@code UnsatisfiedLinkError} or {@code NoClassDefFoundError}; what needs neither library still works.
 */
class MissingPresetNativesTest {

    /** Run in a child JVM whose class path lacks the FFmpeg and OpenCV natives jars (their Java classes stay). */
    public static void main(String[] args) throws Exception {
        System.out.println("ffmpeg-problem: " + SystemInfo.loadProblem(SystemInfo.FFMPEG_PRESET));
        System.out.println("opencv-problem: " + SystemInfo.loadProblem(SystemInfo.OPENCV_PRESET));
        report("bad-rate", () -> AudioDecoder.decode(Path.of(args[0]), 10));
        for (int i = 0; i < 2; i++) { // the second call must say the same, not "Could not initialize class"
            report("audio" + i, () -> AudioDecoder.decode(Path.of(args[0]), 16_000));
            report("probe" + i, () -> AudioDecoder.probe(Path.of(args[0])));
            report("png" + i, () -> new ImageDecoder().decode(Path.of(args[1])));
        }
        byte[] ppm = "P6\n2 1\n255\n".getBytes(StandardCharsets.US_ASCII);
        ppm = Arrays.copyOf(ppm, ppm.length + 6);
        for (int i = 0; i < 6; i++) {
            ppm[ppm.length - 6 + i] = (byte) (10 * i + 7);
        }
        RgbImage img = new ImageDecoder().decode(ppm, "two.ppm");
        System.out.println("ppm: " + img.width() + "x" + img.height() + " " + img.get(1, 0, 2));
    }

    private interface Call {
        Object run() throws Exception;
    }

    private static void report(String what, Call c) {
        try {
            c.run();
            System.out.println(what + ": no error");
        } catch (Throwable e) {
            System.out.println(what + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    @Test
    void decodingSaysWhichLibraryCannotLoad() throws Exception {
        String cp = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().matches("(ffmpeg|opencv)-.*-(linux|macosx|windows)-.*\\.jar"))
                .collect(Collectors.joining(File.pathSeparator));
        assertTrue(cp.contains("ffmpeg-") && cp.contains("opencv-"), "the presets' class jars stay: " + cp);
        Path wav = Path.of(getClass().getResource("/audio/mc_mono.wav").toURI());
        Path png = Path.of(getClass().getResource("/image/chelsea.png").toURI());
        Process p = new ProcessBuilder(dev.tessera.runtime.testing.ChildJvm.command(List.of(), cp,
                MissingPresetNativesTest.class.getName(), wav.toString(), png.toString())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        List<String> lines = out.lines().collect(Collectors.toList());
        assertTrue(line(lines, "ffmpeg-problem").contains("UnsatisfiedLinkError"), out);
        assertTrue(line(lines, "opencv-problem").contains("UnsatisfiedLinkError"), out);
        assertTrue(line(lines, "bad-rate").startsWith("IllegalArgumentException: sample rate"), out);
        for (int i = 0; i < 2; i++) {
            assertTrue(line(lines, "audio" + i).startsWith(
                    "IllegalStateException: FFmpeg (audio decoding) cannot be loaded here: UnsatisfiedLinkError"), out);
            assertTrue(line(lines, "probe" + i).startsWith("IllegalStateException: FFmpeg (audio decoding)"), out);
            assertTrue(line(lines, "png" + i).startsWith(
                    "IllegalStateException: OpenCV (decoding PNG images) cannot be loaded here: UnsatisfiedLinkError"),
                    out);
        }
        assertEquals("2x1 57", line(lines, "ppm"), out);
    }

    private static String line(List<String> lines, String key) {
        return lines.stream().filter(l -> l.startsWith(key + ": ")).map(l -> l.substring(key.length() + 2))
                .findFirst().orElse("(no line " + key + ")");
    }

    /** The loader's error names the missing system library: the reason says so and names it. */
    @Test
    void aMissingSystemLibraryIsNamed() {
        UnsatisfiedLinkError cause = new UnsatisfiedLinkError("/root/.javacpp/cache/ffmpeg-linux-arm64.jar/org/bytedeco/"
                + "ffmpeg/linux-arm64/libjniavutil.so: libva-drm.so.2: cannot open shared object file: No such file or "
                + "directory");
        UnsatisfiedLinkError top = new UnsatisfiedLinkError("no jniavutil in java.library.path: /usr/lib");
        top.initCause(cause);
        String why = SystemInfo.describeLoadFailure(top);
        assertTrue(why.startsWith("the system library libva-drm.so.2 that its natives ("), why);
        assertTrue(why.endsWith("(UnsatisfiedLinkError: " + cause.getMessage() + ")"), why);
        String plain = SystemInfo.describeLoadFailure(new UnsatisfiedLinkError("no jniavutil in java.library.path"));
        assertEquals("UnsatisfiedLinkError: no jniavutil in java.library.path", plain);
        assertNull(SystemInfo.loadProblem(SystemInfo.OPENCV_PRESET), "OpenCV loads in the test JVM");
    }
}
