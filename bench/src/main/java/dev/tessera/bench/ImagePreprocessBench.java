package dev.tessera.bench;

import dev.tessera.bindings.Versions;
import dev.tessera.runtime.image.ImageDecoder;
import dev.tessera.runtime.image.ImagePreprocessor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Image input for a CLIP ViT-B/16 on the CPU: a JPEG file decoded ({@link ImageDecoder}, OpenCV's libjpeg-turbo) and
 * preprocessed as transformers' {@code CLIPImageProcessor} does with Pillow ({@link ImagePreprocessor}: bicubic
 * shortest edge 224, centre crop 224, rescale, CLIP normalisation; bit-exact with Pillow), beside Pillow itself
 * ({@code bench/python/image_preprocess_peer.py}: decode + the same steps, timed in-process) on the same files:
 * photo-like JPEGs of 640x480, 1600x1200 and 4000x3000 that the peer writes. Pillow resamples on one thread; Tessera
 * spreads a large image's rows over the common fork-join pool, so Tessera runs twice: with the pool (all cores) and
 * with {@code -Djava.util.concurrent.ForkJoinPool.common.parallelism=0} (the calling thread alone: the like-for-like row).
 * {@link #main} writes {@code bench/results/image-preprocess-cpu.json}:
 *
 * <pre>java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" dev.tessera.bench.ImagePreprocessBench [--out FILE] [--python /usr/bin/python3]</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ImagePreprocessBench {
    static final String IMAGES = "tessera.bench.images";

    @Param({"640x480", "1600x1200", "4000x3000"})
    public String size;

    private Path file;
    private ImageDecoder decoder;
    private ImagePreprocessor pre;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        file = Path.of(System.getProperty(IMAGES)).resolve("photo_" + size + ".jpg");
        decoder = new ImageDecoder();
        pre = ImagePreprocessor.of(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                "{\"size\": {\"shortest_edge\": 224}, \"resample\": 3, \"do_center_crop\": true, \"crop_size\": 224,"
                        + " \"do_rescale\": true, \"rescale_factor\": 0.00392156862745098, \"do_normalize\": true}"),
                224, ImagePreprocessor.CLIP_MEAN, ImagePreprocessor.CLIP_STD);
    }

    @Benchmark
    public float decodeAndPreprocess() {
        return pre.process(decoder.decode(file)).chw()[0];
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "ImagePreprocessBench [--out FILE] [--python /usr/bin/python3]"
                + " [--peer bench/python/image_preprocess_peer.py] [--images DIR]");
        if (cli.help()) {
            return;
        }
        Path out = cli.getPath("--out", Path.of("bench/results/image-preprocess-cpu.json"));
        String python = cli.get("--python", "/usr/bin/python3");
        Path peer = cli.getPath("--peer", BenchUtil.peerScript("image_preprocess_peer.py"));
        Path images = cli.getPath("--images", Files.createTempDirectory("tessera-bench-images"));
        runPeer(python, peer, "--make", images.toString());
        String loadBefore = BenchUtil.loadAverage();
        Map<String, Double> pooled = runJmh(images, false);
        Map<String, Double> single = runJmh(images, true);
        List<Object> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-10s %14s %14s %12s %10s %10s%n",
                "image", "tessera 1 thr", "tessera pool", "Pillow ms", "ratio 1", "ratio pool"));
        for (String size : pooled.keySet()) {
            String json = runPeer(python, peer, "--time", images.resolve("photo_" + size + ".jpg").toString());
            double peerMs = Double.parseDouble(json.replaceAll(".*\"median_ms\": ([0-9.eE+-]+).*", "$1"));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("image", size);
            row.put("tesseraOneThreadMs", single.get(size));
            row.put("tesseraPoolMs", pooled.get(size));
            row.put("pillowMedianMs", peerMs);
            row.put("ratioOneThread", peerMs / single.get(size));
            row.put("ratioPool", peerMs / pooled.get(size));
            row.put("peer", json.trim());
            rows.add(row);
            table.append(String.format(Locale.ROOT, "%-10s %14.2f %14.2f %12.2f %10.2f %10.2f%n", size,
                    single.get(size), pooled.get(size), peerMs, peerMs / single.get(size), peerMs / pooled.get(size)));
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "JPEG decode + CLIP ViT-B/16 preprocessing (bicubic shortest edge 224, crop 224, normalise),"
                + " CPU, one image per call");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", Versions.tessera());
        doc.put("java", HostInfo.java());
        doc.put("cpu", HostInfo.cpu());
        doc.put("processors", Runtime.getRuntime().availableProcessors());
        doc.put("loadAverageBefore", loadBefore);
        doc.put("loadAverageAfter", BenchUtil.loadAverage());
        doc.put("method", "JMH average time, 1 fork, 3 x 1 s warm-up, 5 x 1 s measurement, once with the common"
                + " fork-join pool and once with its parallelism 0 (the calling thread alone); peer: " + peer + " (Pillow, one thread), median of 15"
                + " in-process repetitions after 3 warm-up calls. ratio = Pillow ms / Tessera ms (> 1: Tessera faster)");
        doc.put("results", rows);
        BenchUtil.writeJson(out, doc);
        System.out.print(table);
        System.out.println("wrote " + out);
    }

    /** Tessera's average ms per image by size, with the common pool or on one thread. */
    private static Map<String, Double> runJmh(Path images, boolean oneThread) throws Exception {
        OptionsBuilder o = new OptionsBuilder();
        o.include("^" + ImagePreprocessBench.class.getName().replace(".", "\\.") + "\\.").forks(1)
                .warmupIterations(3).warmupTime(TimeValue.seconds(1)).measurementIterations(5)
                .measurementTime(TimeValue.seconds(1)).threads(1).shouldFailOnError(true);
        if (oneThread) {
            o.jvmArgsAppend("-Xmx2g", "-D" + IMAGES + "=" + images,
                    "-Djava.util.concurrent.ForkJoinPool.common.parallelism=0");
        } else {
            o.jvmArgsAppend("-Xmx2g", "-D" + IMAGES + "=" + images);
        }
        Map<String, Double> ms = new LinkedHashMap<>();
        for (RunResult r : new Runner(o.build()).run()) {
            ms.put(r.getParams().getParam("size"), r.getPrimaryResult().getScore());
        }
        return ms;
    }

    private static String runPeer(String python, Path peer, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python, peer.toString()));
        cmd.addAll(List.of(args));
        return BenchUtil.runPeer(cmd).orThrow();
    }
}
