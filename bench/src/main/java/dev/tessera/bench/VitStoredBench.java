package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.bindings.blas.OpenBlas;
import dev.tessera.models.vit.ViTForImageClassification;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Int8Linear;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
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
 * ViT-B/16 at 224 on the CPU: images per second of the F32 model beside the same checkpoint loaded in other forms,
 * measured in the same process, rounds alternating: {@code bf16} / {@code int8} (matrices held so, F32 arithmetic)
 * and {@code int8-dynamic} (every linear layer quantized on load: int8 weights, each token's activations uint8,
 * exact int32 products on AVX-512 VNNI). Seeded random weights with HF names (those of {@code GpuVitBench}) are
 * written to {@code --dir} first; the logits' relative difference to F32 is reported per form (random weights: a
 * bound on nothing but the arithmetic, not an accuracy figure). The F32 model's ratio to ONNX Runtime is
 * {@code VitBench}'s ({@code bench/results/vit-cpu.json}). Writes {@code bench/results/vit-cpu-stored.json}.
 *
 * <pre>TESSERA_NUM_THREADS=2 java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     dev.tessera.bench.VitStoredBench [--dir bench/target/vit-random] [--stored bf16,int8,int8-dynamic]
 *     [--batches 1,8] [--rounds 5] [--out FILE]</pre>
 */
public final class VitStoredBench {
    private VitStoredBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "VitStoredBench [--dir bench/target/vit-random] [--stored bf16,int8,"
                + "int8-dynamic] [--batches 1,8] [--rounds 5] [--out FILE]");
        if (cli.help()) {
            return;
        }
        String loadBefore = BenchUtil.loadAverage();
        int rounds = cli.getInt("--rounds", 5);
        Path dir = cli.getPath("--dir", Path.of("bench/target/vit-random"));
        Path out = cli.getPath("--out", Path.of("bench/results/vit-cpu-stored.json"));
        int[] batches = cli.getInts("--batches", 1, 8);
        List<String> forms = new ArrayList<>();
        for (String f : cli.get("--stored", "bf16,int8,int8-dynamic").split(",")) {
            if (!f.isBlank()) {
                if (!f.trim().equals("int8-dynamic")) {
                    DType.parseStorage(f);
                }
                forms.add(f.trim());
            }
        }
        OpenBlas.setThreads(1);
        GpuVitBench.writeRandomCheckpoint(dir);
        List<ViTForImageClassification> models = new ArrayList<>();
        List<String> names = new ArrayList<>(List.of("f32"));
        names.addAll(forms);
        List<Object> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-6s %-14s %10s %10s %12s%n", "batch", "form",
                "img/s", "x f32", "rel vs f32"));
        try {
            models.add(ViTForImageClassification.load(dir, Device.CPU, null));
            for (String f : forms) {
                boolean dyn = f.equals("int8-dynamic");
                models.add(ViTForImageClassification.load(dir, Device.CPU, dyn ? null : DType.parseStorage(f), dyn));
            }
            for (int b : batches) {
                SplittableRandom r = new SplittableRandom(7 + b);
                float[] pix = new float[b * 3 * 224 * 224];
                for (int i = 0; i < pix.length; i++) {
                    pix[i] = (float) (r.nextDouble() * 2 - 1);
                }
                float[][] logits = new float[models.size()][];
                List<Runnable> runs = new ArrayList<>();
                for (int k = 0; k < models.size(); k++) {
                    ViTForImageClassification m = models.get(k);
                    int idx = k;
                    runs.add(() -> {
                        try (Scope sc = Tessera.scope()) {
                            logits[idx] = m.logits(Tensor.of(pix, Device.CPU, b, 3, 224, 224)).toFloatArray();
                        }
                    });
                }
                BenchUtil.warmUp(() -> runs.forEach(Runnable::run), 1, 3000);
                int reps = b == 1 ? 4 : 1;
                double[][] t = new double[models.size()][rounds];
                for (int k = 0; k < rounds; k++) {
                    for (int j = 0; j < runs.size(); j++) {
                        t[j][k] = BenchUtil.timeSettled(runs.get(j), reps);
                    }
                }
                double base = BenchUtil.median(t[0]);
                for (int j = 0; j < models.size(); j++) {
                    double mt = BenchUtil.median(t[j]);
                    double rel = BenchUtil.relativeError(logits[j], logits[0]);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("batch", b);
                    row.put("form", names.get(j));
                    row.put("msPerBatch", mt * 1e3);
                    row.put("imagesPerS", b / mt);
                    row.put("ratioToF32", base / mt);
                    row.put("logitsRelDiffToF32", rel);
                    rows.add(row);
                    table.append(String.format(Locale.ROOT, "%-6d %-14s %10.2f %10.2f %12.2e%n", b, names.get(j), b / mt,
                            base / mt, rel));
                }
            }
        } finally {
            models.forEach(ViTForImageClassification::close);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "ViT-B/16 224x224 logits on the CPU: F32 vs the same random checkpoint in other forms ("
                + String.join(", ", forms) + ")");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("java", HostInfo.java());
        doc.put("cpu", HostInfo.cpu());
        doc.put("vnni", Int8Linear.fast());
        doc.put("tesseraThreads", TesseraNative.tsr_cpu_threads());
        doc.put("openblasThreads", 1);
        doc.put("method", "same process, same random pixels, warm-up of 3 s over all forms, then rounds in which each"
                + " form is timed in turn (4 calls at batch 1, 1 otherwise, each block after a " + BenchUtil.SETTLE_MS
                + " ms pause); median of " + rounds + " rounds; ratioToF32 = F32 time / form time (> 1: faster);"
                + " logitsRelDiffToF32 on seeded random weights (the arithmetic's effect, not an accuracy figure)");
        BenchUtil.finish(out, doc, loadBefore, rows, table);
    }
}
