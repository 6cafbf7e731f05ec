package dev.tessera.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tessera.bindings.TesseraNative;
import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * ViT-B/16 at 224, fp32 CPU: images per second at batch 1 and 8, Tessera's {@link ViTForImageClassification} on the
 * HF safetensors beside ONNX Runtime Java 1.29.0 on the ONNX export of the same random weights (both made by
 * {@code bench/python/vit_export.py}), same pixels, same threads, same process; rounds alternate; median round.
 * Also checks that both give the same logits as PyTorch on the exported pixels. Writes
 * {@code bench/results/vit-cpu.json}.
 *
 * <pre>/usr/bin/python3 bench/python/vit_export.py /tmp/vit-b16
 * TESSERA_NUM_THREADS=2 java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*:$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar" \
 *     dev.tessera.bench.VitBench --dir /tmp/vit-b16 [--threads 2] [--rounds 5] [--batches 1,8] [--out FILE]</pre>
 */
public final class VitBench {
    private VitBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "VitBench [--dir bench/target/vit-b16] [--threads 2] [--rounds 5]"
                + " [--batches 1,8] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int threads = cli.getInt("--threads", 2);
        int rounds = cli.getInt("--rounds", 5);
        Path dir = cli.getPath("--dir", Path.of("bench/target/vit-b16"));
        Path out = cli.getPath("--out", Path.of("bench/results/vit-cpu.json"));
        int[] batches = cli.getInts("--batches", 1, 8);
        String loadBefore = BenchUtil.loadAverage();
        OpenBlas.setThreads(1);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(threads);
        so.setInterOpNumThreads(1);
        so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        List<Object> rows = new ArrayList<>();
        Map<String, Object> check = new LinkedHashMap<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-6s %14s %14s %8s%n", "batch",
                "tessera img/s", "ORT img/s", "ratio"));
        try (ViTForImageClassification m = ViTForImageClassification.load(dir, Device.CPU, null);
                OrtSession ort = env.createSession(dir.resolve("vit_b16.onnx").toString(), so)) {
            // correctness check on the exported pixels
            Npy.Array px = Npy.read(dir.resolve("pixels.npy"));
            float[] ref = Npy.read(dir.resolve("torch_logits.npy")).requireFloats();
            float[] tl;
            try (Tensor x = Tensor.of(px.requireFloats(), px.shape()); Tensor l = m.logits(x)) {
                tl = l.toFloatArray();
            }
            float[] ol;
            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(px.requireFloats()), px.shape());
                    var res = ort.run(Map.of("pixel_values", x))) {
                ol = ((OnnxTensor) res.get(0)).getFloatBuffer().array();
            }
            check.put("tesseraRelErrVsTorch", BenchUtil.relativeError(tl, ref));
            check.put("ortRelErrVsTorch", BenchUtil.relativeError(ol, ref));
            for (int b : batches) {
                SplittableRandom r = new SplittableRandom(7 + b);
                float[] pix = new float[b * 3 * 224 * 224];
                for (int i = 0; i < pix.length; i++) {
                    pix[i] = (float) (r.nextDouble() * 2 - 1);
                }
                long[] shape = {b, 3, 224, 224};
                Runnable tessera = () -> {
                    try (Tensor x = Tensor.of(pix, shape); Tensor l = m.logits(x)) {
                        l.toFloatArray();
                    }
                };
                Runnable peer = () -> {
                    try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(pix), shape);
                            var res = ort.run(Map.of("pixel_values", x))) {
                        res.get(0).getValue();
                    } catch (ai.onnxruntime.OrtException e) {
                        throw new IllegalStateException(e);
                    }
                };
                tessera.run();
                peer.run();
                int reps = b == 1 ? 4 : 1;
                double[] tt = new double[rounds];
                double[] to = new double[rounds];
                for (int k = 0; k < rounds; k++) {
                    tt[k] = BenchUtil.timeSettled(tessera, reps);
                    to[k] = BenchUtil.timeSettled(peer, reps);
                }
                double mt = BenchUtil.median(tt);
                double mo = BenchUtil.median(to);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("batch", b);
                row.put("tesseraMsPerBatch", mt * 1e3);
                row.put("ortMsPerBatch", mo * 1e3);
                row.put("tesseraImagesPerS", b / mt);
                row.put("ortImagesPerS", b / mo);
                row.put("ratio", mo / mt);
                rows.add(row);
                table.append(String.format(Locale.ROOT, "%-6d %14.2f %14.2f %8.2f%n", b, b / mt, b / mo, mo / mt));
            }
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "ViT-B/16 224x224 logits, CPU fp32, Tessera (HF safetensors) vs ONNX Runtime Java 1.29.0"
                + " (torch.onnx export of the same random torchvision vit_b_16 weights)");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("java", HostInfo.java());
        doc.put("cpu", HostInfo.cpu());
        doc.put("threads", threads);
        doc.put("tesseraThreads", TesseraNative.tsr_cpu_threads());
        doc.put("openblasThreads", 1);
        doc.put("method", "same process, same random pixels, rounds alternate Tessera / ORT after 1 warm-up call each;"
                + " each round times 4 calls at batch 1 and 1 call otherwise, each timed block after a " + BenchUtil.SETTLE_MS
                + " ms pause (no spinning worker of the other side left); median of " + rounds + " rounds; ORT intra-op "
                + threads + " threads, sequential, default graph optimisations; ratio = Tessera images/s / ORT images/s"
                + " (> 1: Tessera faster); the shared host has 2 cores used by other jobs, so figures are noisy");
        doc.put("loadBefore", loadBefore); // /proc/loadavg before and after: other work on the host skews both sides
        doc.put("load", BenchUtil.loadAverage());
        doc.put("correctness", check);
        doc.put("results", rows);
        System.out.println(table);
        System.out.println("correctness " + check);
        BenchUtil.writeJson(out, doc);
        System.out.println("wrote " + out);
    }
}
