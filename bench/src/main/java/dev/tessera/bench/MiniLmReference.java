package dev.tessera.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.models.bert.ParityInputs;
import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.models.hub.ModelResolver;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The build-machine half of the real all-MiniLM-L6-v2 CUDA check (issue #5; the GPU half is {@link GpuMiniLmCheck}):
 * the GPU host gets no ONNX Runtime, no tokenizer and at most 64 MiB per call, so the reference is computed here.
 * Resolves the model ({@code minilm}: the langchain4j artifact, through {@link ModelResolver} as the tests do),
 * builds the inputs of {@code MiniLmOrtParityTest.inputs} (the fixture's sentences, 1- and 2-token inputs, windows
 * of consecutive sentences up to 256 tokens; the first {@code --n}), runs ONNX Runtime (CPU) on each at batch 1
 * (attention mask all ones, token type ids 0) and mean-pools {@code last_hidden_state} into the 384-d embedding.
 * Writes into {@code --out DIR}:
 * <pre>
 *   c1/inputs.json          {"inputs": [[101, ...], ...], "onnxSha256", "onnxBytes", "ortVersion", "date", ...}
 *   c1/ort-embeddings.npy   float32 [n, 384], not normalised
 *   c1/SHA256SUMS           sha256 of the whole model.onnx (sha256sum format)
 *   c1/model.onnx.part1, c2/model.onnx.part2, ...   the ONNX file in pieces of at most --chunk-mib (29) MiB
 * </pre>
 * so that each {@code cK} fits one device call beside the tracked tree (see {@code bench/gpu/minilm-carry.sh}).
 *
 * <pre>java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*:$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar" \
 *     dev.tessera.bench.MiniLmReference --out .minilm-carry [--n 200] [--model minilm] [--chunk-mib 29]
 *     [--sentences models/src/test/resources/bert/sentences.txt]</pre>
 */
public final class MiniLmReference {
    private MiniLmReference() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "MiniLmReference --out DIR [--n 200] [--model minilm] [--chunk-mib 29]"
                + " [--sentences FILE]");
        if (cli.help()) {
            return;
        }
        Path out = cli.getPath("--out", null);
        String spec = cli.get("--model", "minilm");
        int n = cli.getInt("--n", 200);
        long chunkMib = cli.getLong("--chunk-mib", 29);
        Path sentences = cli.getPath("--sentences", Path.of("models/src/test/resources/bert/sentences.txt"));
        if (out == null) {
            throw new IllegalArgumentException("--out DIR is required");
        }
        if (n < 1 || chunkMib < 1) {
            throw new IllegalArgumentException("--n and --chunk-mib must be >= 1");
        }
        BenchUtil.requireOnnxRuntime("bench/gpu/minilm-carry.sh does");
        Path dir = ModelResolver.resolveDefault(spec);
        Path onnx = BenchUtil.onlyOnnx(dir);

        List<int[]> inputs;
        try (SentenceEncoder enc = SentenceEncoder.load(dir, Device.CPU)) {
            inputs = ParityInputs.of(readSentences(sentences), Math.max(n, 300), enc::tokenize).subList(0, n);
        }
        int minLen = inputs.stream().mapToInt(a -> a.length).min().orElseThrow();
        int maxLen = inputs.stream().mapToInt(a -> a.length).max().orElseThrow();
        System.out.printf("MiniLmReference: %s, %d inputs of %d..%d tokens%n", onnx, inputs.size(), minLen, maxLen);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int h;
        float[] emb;
        long t0 = System.nanoTime();
        try (OrtSession ort = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            float[] first = ortEmbedding(env, ort, inputs.get(0));
            h = first.length;
            emb = new float[inputs.size() * h];
            System.arraycopy(first, 0, emb, 0, h);
            for (int i = 1; i < inputs.size(); i++) {
                System.arraycopy(ortEmbedding(env, ort, inputs.get(i)), 0, emb, i * h, h);
            }
        }
        System.out.printf("MiniLmReference: ONNX Runtime %s, %d embeddings of %d in %.1f s%n", env.getVersion(),
                inputs.size(), h, (System.nanoTime() - t0) / 1e9);

        // the folders of the last run go first: a stale cN beside fewer new ones would be carried by mistake
        Files.createDirectories(out);
        try (Stream<Path> s = Files.list(out)) {
            for (Path c : s.filter(p -> p.getFileName().toString().matches("c[0-9]+")).toList()) {
                deleteTree(c);
            }
        }
        Path c1 = Files.createDirectories(out.resolve("c1"));
        long size = Files.size(onnx);
        long chunk = chunkMib << 20;
        String sha = split(onnx, out, chunk);
        Files.writeString(c1.resolve("SHA256SUMS"), sha + "  model.onnx\n", StandardCharsets.UTF_8);
        Npy.writeFloats(c1.resolve("ort-embeddings.npy"), emb, inputs.size(), h);

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", spec);
        doc.put("modelDir", dir.toString());
        doc.put("onnxFile", onnx.getFileName().toString());
        doc.put("onnxSha256", sha);
        doc.put("onnxBytes", size);
        doc.put("parts", (int) ((size + chunk - 1) / chunk));
        doc.put("ortVersion", env.getVersion());
        doc.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        doc.put("reference", "ONNX Runtime Java (CPU), batch 1, attention_mask 1, token_type_ids 0; embedding = mean of"
                + " last_hidden_state over the tokens (not normalised): ort-embeddings.npy [n, " + h + "]");
        doc.put("inputsFrom", "ParityInputs (as MiniLmOrtParityTest): " + sentences + " (sentences, [CLS],"
                + " [CLS][SEP], windows of consecutive sentences truncated to 256 tokens), the first " + n);
        doc.put("n", inputs.size());
        doc.put("inputs", inputs);
        ObjectMapper json = new ObjectMapper();
        Files.writeString(c1.resolve("inputs.json"), json.writeValueAsString(doc) + "\n", StandardCharsets.UTF_8);
        System.out.printf("MiniLmReference: wrote %s (%d bytes of ONNX in %d parts, sha256 %s)%n", out, size,
                doc.get("parts"), sha);
    }

    /** The sentences of {@code file} (the models' {@code bert/sentences.txt}), as {@link ParityInputs} reads them. */
    static List<String> readSentences(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no sentences file " + file + " (run from the repository root or give"
                    + " --sentences)");
        }
        return ParityInputs.sentences(Files.readString(file, StandardCharsets.UTF_8));
    }

    /** Mean over the tokens of ONNX Runtime's {@code last_hidden_state} for one input (as CudaMiniLmTest). */
    static float[] ortEmbedding(OrtEnvironment env, OrtSession ort, int[] ids) throws Exception {
        int s = ids.length;
        long[] l = new long[s];
        long[] ones = new long[s];
        for (int i = 0; i < s; i++) {
            l[i] = ids[i];
            ones[i] = 1;
        }
        long[] shape = {1, s};
        try (OnnxTensor ti = OnnxTensor.createTensor(env, LongBuffer.wrap(l), shape);
                OnnxTensor tm = OnnxTensor.createTensor(env, LongBuffer.wrap(ones), shape);
                OnnxTensor tt = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[s]), shape);
                OrtSession.Result r = ort.run(Map.of("input_ids", ti, "attention_mask", tm, "token_type_ids", tt))) {
            float[][] hs = ((float[][][]) r.get("last_hidden_state").orElseThrow().getValue())[0];
            float[] e = new float[hs[0].length];
            for (float[] row : hs) {
                for (int c = 0; c < e.length; c++) {
                    e[c] += row[c] / s;
                }
            }
            return e;
        }
    }

    /** Copies {@code file} into {@code out/cK/model.onnx.partK} pieces of {@code chunk} bytes; its sha256. */
    private static String split(Path file, Path out, long chunk) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            for (int k = 1; ; k++) {
                long left = chunk;
                Path part = null;
                OutputStream os = null;
                try {
                    int r;
                    while (left > 0 && (r = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
                        if (os == null) {
                            part = Files.createDirectories(out.resolve("c" + k)).resolve("model.onnx.part" + k);
                            os = Files.newOutputStream(part);
                        }
                        os.write(buf, 0, r);
                        left -= r;
                    }
                } finally {
                    if (os != null) {
                        os.close();
                    }
                }
                if (part == null || left > 0) {
                    break;
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
