package dev.tessera.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.bindings.Versions;
import dev.tessera.models.bert.BertModel;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.runtime.Backend.MatmulPrecision;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.io.Npy;
import dev.tessera.runtime.onnx.OnnxModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The GPU-host half of the real all-MiniLM-L6-v2 check (issue #5; the build-machine half is {@link MiniLmReference},
 * run by {@code bench/gpu/minilm-carry.sh}): needs nothing the GPU bundle lacks (no ONNX Runtime, no tokenizer, no
 * OpenBLAS). Reassembles {@code model.onnx} from {@code --data DIR}'s {@code c1/model.onnx.part1},
 * {@code c2/model.onnx.part2}, ... (checking its sha256 against {@code c1/SHA256SUMS}), imports it on
 * {@code cuda:0} ({@link BertModel#fromOnnx}, no tokenizer: {@link SentenceEncoder#forTokenIds}), embeds the token
 * ids of {@code c1/inputs.json} with {@link SentenceEncoder#embedIds} (mean pooling over the real tokens) at batch 1,
 * at batch 32 (inputs grouped by length, padded within each batch) and as one batch of 32 mixed lengths (1 to 256
 * tokens: heavy padding), and compares each with ONNX Runtime's embedding of the same ids
 * ({@code c1/ort-embeddings.npy}) by cosine. fp32 matmuls (no TF32).
 *
 * <p>Prints min/mean cosine per run and the worst input; writes {@code --out FILE.json} (device, inputs, min/mean
 * cosine per run, {@code pass}: every cosine ≥ 0.9999). Exit status: 0 all pass, 1 a cosine below the bound, 2 bad
 * or incomplete data (a part not carried, a sha256 mismatch), 3 CUDA unavailable (as the other Gpu* mains).
 * {@code --device cpu} runs the same check on the CPU backend (to validate the pipeline on the build machine).
 *
 * <pre>bench/gpu/run.sh  (step "minilm check", when .minilm-carry/ or /tmp/tessera-minilm-carry holds c1/inputs.json)
 * java -cp "bundle/lib/*" dev.tessera.bench.GpuMiniLmCheck --data .minilm-carry --out gpu-minilm-real-check.json</pre>
 */
public final class GpuMiniLmCheck {
    private GpuMiniLmCheck() {}

    static final float MIN_COSINE = 0.9999f;

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    /** The check; its exit status (see the class comment). */
    static int run(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "GpuMiniLmCheck --data DIR [--out FILE] [--device cuda:0|cpu]");
        if (cli.help()) {
            return 0;
        }
        Path data = cli.getPath("--data", null);
        Path out = cli.getPath("--out",
                Path.of(System.getenv().getOrDefault("OUT", "."), "gpu-minilm-real-check.json"));
        String dev = cli.get("--device", "cuda:0");
        if (data == null) {
            throw new IllegalArgumentException("--data DIR is required (the folder with c1/, c2/, ... of"
                    + " bench/gpu/minilm-carry.sh)");
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("impl", "tessera");
        doc.put("check", "real all-MiniLM-L6-v2 (fp32 ONNX) sentence embeddings vs ONNX Runtime (CPU, computed on the"
                + " build machine): cosine per input >= " + MIN_COSINE + ", batch 1, batch 32 and one mixed-length"
                + " batch of 32");
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("tessera", Versions.tessera());
        doc.put("java", HostInfo.java());
        Device device;
        if (dev.equalsIgnoreCase("cpu")) {
            device = Device.CPU;
            doc.put("available", true);
            doc.put("device", Map.of("name", "cpu"));
        } else {
            device = GpuBench.device("GpuMiniLmCheck", dev, doc, out); // exits 3 where CUDA is unavailable
        }
        Ops.setDefaultMatmulPrecision(MatmulPrecision.FP32); // not TF32, whatever -Dtessera.matmul.precision says

        Path c1 = data.resolve("c1");
        JsonNode meta;
        float[] ref;
        List<int[]> inputs = new ArrayList<>();
        Path tmp = Files.createTempDirectory("tessera-minilm-check");
        Path onnx = tmp.resolve("model.onnx");
        try {
            try {
                if (!Files.isRegularFile(c1.resolve("inputs.json"))) {
                    throw new IOException("no " + c1.resolve("inputs.json") + " (make the data with"
                            + " bench/gpu/minilm-carry.sh and carry each cK folder)");
                }
                meta = new ObjectMapper().readTree(c1.resolve("inputs.json").toFile());
                for (JsonNode a : meta.get("inputs")) {
                    int[] t = new int[a.size()];
                    for (int j = 0; j < t.length; j++) {
                        t[j] = a.get(j).asInt();
                    }
                    inputs.add(t);
                }
                Npy.Array r = Npy.read(c1.resolve("ort-embeddings.npy"));
                ref = r.requireFloats();
                if (r.shape().length != 2 || r.shape()[0] != inputs.size()) {
                    throw new IOException("ort-embeddings.npy has shape " + Arrays.toString(r.shape())
                            + " for " + inputs.size() + " inputs");
                }
                String sha = reassemble(data, meta.get("parts").asInt(), onnx);
                String want = Files.readString(c1.resolve("SHA256SUMS"), StandardCharsets.UTF_8).trim()
                        .split("\\s+")[0];
                if (!sha.equals(want) || !sha.equals(meta.get("onnxSha256").asText())) {
                    throw new IOException("reassembled model.onnx has sha256 " + sha + ", expected " + want
                            + " (SHA256SUMS) / " + meta.get("onnxSha256").asText() + " (inputs.json): parts from"
                            + " different runs of minilm-carry.sh?");
                }
                System.out.printf("GpuMiniLmCheck: model.onnx reassembled from %d parts, %d bytes, sha256 ok%n",
                        meta.get("parts").asInt(), Files.size(onnx));
            } catch (IOException | RuntimeException e) {
                doc.put("error", e.toString());
                doc.put("pass", false);
                GpuBench.write(out, doc);
                System.err.println("GpuMiniLmCheck: bad or incomplete data in " + data + ": " + e.getMessage());
                return 2;
            }
            doc.put("data", Map.of("n", inputs.size(), "onnxSha256", meta.get("onnxSha256").asText(), "ortVersion",
                    meta.get("ortVersion").asText(), "referenceDate", meta.get("date").asText()));
            int h = (int) (ref.length / inputs.size());

            List<Object> rows = new ArrayList<>();
            boolean pass = true;
            long t0 = System.nanoTime();
            try (BertModel model = BertModel.fromOnnx(OnnxModel.read(onnx), null, device)) {
                System.out.printf("GpuMiniLmCheck: %s on %s loaded in %.1f s; %d inputs of %d..%d tokens%n",
                        model.config(), device, (System.nanoTime() - t0) / 1e9, inputs.size(),
                        inputs.stream().mapToInt(a -> a.length).min().orElseThrow(),
                        inputs.stream().mapToInt(a -> a.length).max().orElseThrow());
                SentenceEncoder enc = SentenceEncoder.forTokenIds(model);
                if (enc.dimension() != h) {
                    throw new IllegalStateException("the model embeds into " + enc.dimension() + " values but"
                            + " ort-embeddings.npy has " + h + " per input");
                }
                // one batch of 32 lengths spread over the whole range (1 .. 256 tokens): most rows heavily padded
                Integer[] byLen = new Integer[inputs.size()];
                for (int i = 0; i < byLen.length; i++) {
                    byLen[i] = i;
                }
                Arrays.sort(byLen, Comparator.comparingInt(i -> inputs.get(i).length));
                int[] mixed = new int[Math.min(32, inputs.size())];
                for (int i = 0; i < mixed.length; i++) {
                    mixed[i] = byLen[mixed.length == 1 ? 0 : i * (byLen.length - 1) / (mixed.length - 1)];
                }
                int[] all = new int[inputs.size()];
                for (int i = 0; i < all.length; i++) {
                    all[i] = i;
                }
                System.out.printf("%-14s %5s %12s %12s %10s  %s%n", "run", "n", "min cosine", "mean cosine",
                        "1 - min", "worst input");
                for (Object[] run : new Object[][] {{"batch 1", 1, all}, {"batch 32", 32, all},
                    {"batch 32 mixed", 32, mixed}}) {
                    String name = (String) run[0];
                    int batch = (Integer) run[1];
                    int[] sel = (int[]) run[2];
                    List<int[]> ids = new ArrayList<>(sel.length);
                    for (int i : sel) {
                        ids.add(inputs.get(i));
                    }
                    long s0 = System.nanoTime();
                    float[][] ours = enc.embedIds(ids, batch);
                    double secs = (System.nanoTime() - s0) / 1e9;
                    double min = Double.POSITIVE_INFINITY;
                    double sum = 0;
                    int worst = -1;
                    for (int k = 0; k < sel.length; k++) {
                        float[] r = Arrays.copyOfRange(ref, sel[k] * h, (sel[k] + 1) * h);
                        double c = cosine(ours[k], r);
                        if (!(c >= min)) { // NaN is the worst
                            min = c;
                            worst = sel[k];
                        }
                        sum += c;
                    }
                    boolean ok = min >= MIN_COSINE;
                    pass &= ok;
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("run", name);
                    row.put("batch", batch);
                    row.put("n", sel.length);
                    row.put("minCosine", min);
                    row.put("meanCosine", sum / sel.length);
                    row.put("worstInput", worst);
                    row.put("worstInputTokens", inputs.get(worst).length);
                    row.put("seconds", secs);
                    row.put("pass", ok);
                    rows.add(row);
                    System.out.printf(Locale.ROOT, "%-14s %5d %12.8f %12.8f %10.2e  #%d (%d tokens)%s%n", name,
                            sel.length, min, sum / sel.length, 1 - min, worst, inputs.get(worst).length,
                            ok ? "" : "  FAIL (< " + MIN_COSINE + ")");
                }
            }
            doc.put("minCosineRequired", MIN_COSINE);
            doc.put("matmulPrecision", Ops.defaultMatmulPrecision().toString());
            doc.put("results", rows);
            doc.put("pass", pass);
            GpuBench.write(out, doc);
            System.out.println("GpuMiniLmCheck: " + (pass ? "PASS" : "FAIL") + ": every cosine >= " + MIN_COSINE
                    + (pass ? "" : " does NOT hold") + "; wrote " + out);
            return pass ? 0 : 1;
        } finally {
            Files.deleteIfExists(onnx);
            Files.deleteIfExists(tmp);
        }
    }

    /** Cosine in double precision (a float rounds everything above 1 - 6e-8 to 1). */
    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Concatenates {@code data/cK/model.onnx.partK}, K = 1..parts, into {@code onnx}; its sha256. */
    private static String reassemble(Path data, int parts, Path onnx) throws Exception {
        if (parts < 1) {
            throw new IOException("inputs.json gives " + parts + " parts");
        }
        List<String> missing = new ArrayList<>();
        for (int k = 1; k <= parts; k++) {
            Path p = data.resolve("c" + k).resolve("model.onnx.part" + k);
            if (!Files.isRegularFile(p)) {
                missing.add("c" + k + "/model.onnx.part" + k);
            }
        }
        if (!missing.isEmpty()) {
            throw new IOException("missing " + missing + " of " + parts + " parts: carry each of .minilm-carry/c1 .. c"
                    + parts + " in its own call, on the same warm machine (bench/gpu/README.md)");
        }
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        try (OutputStream os = Files.newOutputStream(onnx)) {
            for (int k = 1; k <= parts; k++) {
                try (InputStream in = Files.newInputStream(data.resolve("c" + k).resolve("model.onnx.part" + k))) {
                    for (int r; (r = in.read(buf)) > 0; ) {
                        md.update(buf, 0, r);
                        os.write(buf, 0, r);
                    }
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
