package dev.tessera.bench;

import dev.tessera.models.llama.KvCache;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Prefill and decode throughput of a ~0.85B-parameter random-weight Llama (hidden 2048, 16 layers, 32 query / 8 KV
 * heads, intermediate 5632, vocab 32000, untied head; F32 safetensors written to a temporary directory, not kept)
 * on the CPU, Tessera against Jlama 0.8.4 on the same checkpoint. Jlama needs Java 20+ and the Vector API, so it
 * runs in its own JVM ({@code bench/jlama/JlamaLlamaPeer.java}, Temurin 25 by default) after Tessera has finished
 * and freed its memory. Both: one warm-up, then {@code --reps} runs of a {@code --prompt}-token prefill (logits of
 * the last position + greedy pick) and {@code --decode} single-token steps (forward + greedy pick); medians.
 * Tessera runs twice, with OpenBLAS's default thread count and with one OpenBLAS thread (on a shared, oversubscribed
 * machine the second is often faster: see the note in the JSON). Writes {@code bench/results/llama-cpu.json} with
 * tokens/s and the ratios tessera / jlama (&gt; 1: Tessera faster).
 *
 * <pre>
 * mvn -q -B -o package -DskipTests -Dtessera.cuda=OFF -pl bench -am
 * java -cp "bench/target/tessera-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" dev.tessera.bench.LlamaBench   # from the repo root
 *     [--prompt 128] [--decode 32] [--reps 3] [--layers 16] [--hidden 2048] [--intermediate 5632] [--heads 32]
 *     [--kv-heads 8] [--vocab 32000] [--java21 /usr/lib/jvm/temurin-25-jdk-amd64/bin/java] [--no-peer] [--no-blas1] [--bf16] [--int8]
 *     [--peer-cp CLASSPATH] [--out bench/results/llama-cpu.json]
 * </pre>
 */
public final class LlamaBench {
    private LlamaBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "LlamaBench [--prompt 128] [--decode 32] [--reps 3] [--layers 16]"
                + " [--hidden 2048] [--intermediate 5632] [--heads 32] [--kv-heads 8] [--vocab 32000] [--java21 JAVA]"
                + " [--no-peer] [--no-blas1] [--bf16] [--int8] [--peer-src FILE] [--peer-cp CLASSPATH] [--out FILE]");
        if (cli.help()) {
            return;
        }
        int prompt = cli.getInt("--prompt", 128);
        int decode = cli.getInt("--decode", 32);
        int reps = cli.getInt("--reps", 3);
        Shape shape = Shape.of(cli);
        String java21 = cli.get("--java21", "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        boolean peer = !cli.flag("--no-peer");
        boolean blas1 = !cli.flag("--no-blas1");
        boolean bf16 = cli.flag("--bf16"); // also Tessera with the matrices held as bfloat16 (load(dir, CPU, BF16))
        boolean int8 = cli.flag("--int8"); // and as int8 (load(dir, CPU, I8))
        Path out = cli.getPath("--out", Path.of("bench/results/llama-cpu.json"));
        Path peerSrc = cli.getPath("--peer-src", Path.of("bench/jlama/JlamaLlamaPeer.java"));
        String peerCp = cli.get("--peer-cp", null);
        Path dir = Files.createTempDirectory("tessera-llama-bench");
        try {
            long params = shape.write(dir, prompt + decode + 64);
            System.out.printf("checkpoint: %.2f B parameters, %.2f GB F32 in %s%n", params / 1e9, params * 4 / 1e9, dir);
            int[] ids = new SplittableRandom(7).ints(prompt, 3, shape.vocab()).toArray();
            int defaultBlas = dev.tessera.bindings.blas.OpenBlas.threads();
            String loadBefore = loadavg();
            Map<String, Object> ours = runTessera(dir, ids, decode, reps);
            ours.put("loadavg_before_after", loadBefore + " / " + loadavg());
            ours.put("openblas_threads", defaultBlas);
            Map<String, Object> ours1 = null;
            if (blas1 && defaultBlas > 1) {
                dev.tessera.bindings.blas.OpenBlas.setThreads(1);
                String lb = loadavg();
                ours1 = runTessera(dir, ids, decode, reps);
                ours1.put("loadavg_before_after", lb + " / " + loadavg());
                ours1.put("openblas_threads", 1);
                dev.tessera.bindings.blas.OpenBlas.setThreads(defaultBlas);
                System.out.printf("tessera (OpenBLAS 1 thread): prefill %.1f ms, decode %.1f ms/token%n",
                        ours1.get("prefill_ms"), ours1.get("decode_ms_per_token"));
            }
            System.out.printf("tessera: prefill %.1f ms (%.1f tok/s), decode %.1f ms/token (%.2f tok/s)%n",
                    ours.get("prefill_ms"), ours.get("prefill_tokens_per_s"), ours.get("decode_ms_per_token"),
                    ours.get("decode_tokens_per_s"));
            Map<String, Object> result = HostInfo.header(
                    "Llama-style decoder prefill and decode tokens/s, CPU, F32, random weights, batch 1");
            result.put("model", shape.describe(params));
            result.put("prompt_tokens", prompt);
            result.put("decode_tokens", decode);
            result.put("method", "one warm-up then " + reps + " runs each, medians; prefill = one pass over the prompt "
                    + "+ logits of its last position + greedy pick; decode = per-token forward against the KV cache + "
                    + "greedy pick; the peer runs in its own JVM on the same file after Tessera has closed its model");
            result.put("tessera_cpu", ours);
            if (bf16) {
                storedMatrices(result, ours, dir, dev.tessera.runtime.DType.BF16, ids, decode, reps,
                        "matrices held as bfloat16 panels (rounded to nearest even), computed in fp32");
            }
            if (int8) {
                storedMatrices(result, ours, dir, dev.tessera.runtime.DType.I8, ids, decode, reps,
                        "matrices held as int8 panels with a scale per output feature (symmetric, max |w| / 127), "
                        + "computed in fp32");
            }
            if (ours1 != null) {
                result.put("tessera_cpu_openblas_1_thread", ours1);
            }
            result.put("note", "shared 2-core build machine: other jobs ran at the same time (see loadavg); Tessera's "
                    + "spinning worker pool and OpenBLAS's threads compete under oversubscription, which makes its "
                    + "timings vary several-fold between runs");
            if (peer) {
                String jlBefore = loadavg();
                Map<String, Object> theirs = runJlama(java21, peerSrc, peerClasspath(peerCp), dir, prompt, decode, reps);
                theirs.put("loadavg_before_after", jlBefore + " / " + loadavg());
                result.put("jlama_cpu", theirs);
                double pr = (double) ours.get("prefill_tokens_per_s") / (double) theirs.get("prefill_tokens_per_s");
                double dr = (double) ours.get("decode_tokens_per_s") / (double) theirs.get("decode_tokens_per_s");
                Map<String, Object> ratios = new LinkedHashMap<>();
                ratios.put("prefill_tokens_per_s_tessera_over_jlama", pr);
                ratios.put("decode_tokens_per_s_tessera_over_jlama", dr);
                if (ours1 != null) {
                    ratios.put("prefill_tokens_per_s_tessera_openblas1_over_jlama",
                            (double) ours1.get("prefill_tokens_per_s") / (double) theirs.get("prefill_tokens_per_s"));
                    ratios.put("decode_tokens_per_s_tessera_openblas1_over_jlama",
                            (double) ours1.get("decode_tokens_per_s") / (double) theirs.get("decode_tokens_per_s"));
                }
                result.put("ratios", ratios);
                System.out.printf("jlama:   prefill %.1f ms (%.1f tok/s), decode %.1f ms/token (%.2f tok/s)%n",
                        theirs.get("prefill_ms"), theirs.get("prefill_tokens_per_s"), theirs.get("decode_ms_per_token"),
                        theirs.get("decode_tokens_per_s"));
                System.out.printf("ratio tessera/jlama: prefill %.2fx, decode %.2fx%n", pr, dr);
            }
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            Files.writeString(out, Json.write(result));
            System.out.println("wrote " + out);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The random Llama's shape, from the command line ({@code --layers --hidden --intermediate --heads ...}). */
    record Shape(int hidden, int inter, int layers, int heads, int kvHeads, int vocab) {
        static Shape of(BenchArgs cli) {
            return new Shape(cli.getInt("--hidden", 2048), cli.getInt("--intermediate", 5632), cli.getInt("--layers", 16),
                    cli.getInt("--heads", 32), cli.getInt("--kv-heads", 8), cli.getInt("--vocab", 32000));
        }

        /** Writes the checkpoint (see {@link #writeCheckpoint}); returns the parameter count. */
        long write(Path dir, int context) throws IOException {
            return writeCheckpoint(dir, hidden, inter, layers, heads, kvHeads, vocab, context);
        }

        Map<String, Object> describe(long params) {
            Map<String, Object> model = new LinkedHashMap<>();
            model.put("hidden_size", hidden);
            model.put("num_hidden_layers", layers);
            model.put("num_attention_heads", heads);
            model.put("num_key_value_heads", kvHeads);
            model.put("intermediate_size", inter);
            model.put("vocab_size", vocab);
            model.put("parameters", params);
            model.put("weights", "F32 safetensors, tie_word_embeddings false");
            return model;
        }
    }

    /** The 1/5/15-minute load averages (the build machines are shared: other jobs skew CPU timings). */
    static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /**
     * Tessera again with the matrices held as {@code storage} (load(dir, CPU, storage)): its figures under
     * {@code tessera_cpu_<storage>_matrices} and its ratios to the F32 run under {@code <storage>_ratios}.
     */
    private static void storedMatrices(Map<String, Object> result, Map<String, Object> f32, Path dir,
            dev.tessera.runtime.DType storage, int[] ids, int decode, int reps, String weights) {
        String name = storage.name().toLowerCase(java.util.Locale.ROOT);
        String lb = loadavg();
        Map<String, Object> b = runTessera(dir, Device.CPU, storage, ids, decode, reps);
        b.put("loadavg_before_after", lb + " / " + loadavg());
        b.put("weights", weights);
        result.put("tessera_cpu_" + name + "_matrices", b);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("prefill_tokens_per_s_" + name + "_over_f32",
                (double) b.get("prefill_tokens_per_s") / (double) f32.get("prefill_tokens_per_s"));
        r.put("decode_tokens_per_s_" + name + "_over_f32",
                (double) b.get("decode_tokens_per_s") / (double) f32.get("decode_tokens_per_s"));
        result.put(name + "_ratios", r);
        System.out.printf("tessera %s matrices: prefill %.1f tok/s (%.2fx f32), decode %.2f tok/s (%.2fx)%n", name,
                b.get("prefill_tokens_per_s"), r.get("prefill_tokens_per_s_" + name + "_over_f32"),
                b.get("decode_tokens_per_s"), r.get("decode_tokens_per_s_" + name + "_over_f32"));
    }

    static Map<String, Object> runTessera(Path dir, int[] ids, int decode, int reps) {
        return runTessera(dir, Device.CPU, null, ids, decode, reps);
    }

    /**
     * Loads the checkpoint on {@code device} in {@code dtype} (null: the checkpoint's), then one warm-up and
     * {@code reps} timed runs of a prefill of {@code ids} and {@code decode} greedy steps (each step's pick on the
     * host); medians and bests ({@link #fill}), the load time and the last token. Shared with GpuLlamaBench.
     */
    static Map<String, Object> runTessera(Path dir, Device device, dev.tessera.runtime.DType dtype, int[] ids,
            int decode, int reps) {
        double[] prefill = new double[reps];
        double[] step = new double[reps];
        int last = -1;
        long t0 = System.nanoTime();
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, device, dtype)) {
            double loadS = (System.nanoTime() - t0) / 1e9;
            for (int r = -1; r < reps; r++) {
                try (KvCache cache = m.newCache(1, ids.length + decode)) {
                    long a = System.nanoTime();
                    int next;
                    try (Tensor lg = m.forward(new int[][] {ids}, null, cache, false)) {
                        next = Ops.argmaxLastDim(lg)[0];
                    }
                    long b = System.nanoTime();
                    for (int i = 0; i < decode; i++) {
                        try (Tensor lg = m.forward(new int[][] {{next}}, null, cache, false)) {
                            next = Ops.argmaxLastDim(lg)[0];
                        }
                    }
                    long c = System.nanoTime();
                    last = next;
                    if (r >= 0) {
                        prefill[r] = (b - a) / 1e6;
                        step[r] = (c - b) / 1e6 / decode;
                    }
                }
            }
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("load_s", loadS);
            fill(o, prefill, step, ids.length);
            o.put("last_token", last);
            return o;
        }
    }

    static void fill(Map<String, Object> o, double[] prefill, double[] step, int prompt) {
        Arrays.sort(prefill);
        Arrays.sort(step);
        double p = prefill[prefill.length / 2];
        double s = step[step.length / 2];
        o.put("prefill_ms", p);
        o.put("prefill_tokens_per_s", prompt / (p / 1e3));
        o.put("decode_ms_per_token", s);
        o.put("decode_tokens_per_s", 1e3 / s);
        o.put("prefill_best_ms", prefill[0]);
        o.put("decode_best_ms_per_token", step[0]);
    }

    /**
     * Jlama's class path: {@code --peer-cp}, else this JVM's when it holds jlama-core, else what
     * {@code mvn -o dependency:build-classpath -pl bench -Dmdep.includeScope=provided} gives (jlama is a provided
     * dependency, kept out of bench/target/lib).
     */
    static String peerClasspath(String given) throws IOException, InterruptedException {
        if (given != null) {
            return given;
        }
        String own = System.getProperty("java.class.path");
        if (own.contains("jlama-core")) {
            return own;
        }
        Path f = Files.createTempFile("jlama", ".cp");
        try {
            Process p = new ProcessBuilder("mvn", "-q", "-B", "-o", "dependency:build-classpath", "-pl", "bench",
                    "-Dmdep.includeScope=provided", "-Dmdep.outputFile=" + f.toAbsolutePath())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() != 0 || !Files.readString(f).contains("jlama-core")) {
                throw new IllegalStateException("cannot resolve Jlama's class path with Maven (run from the repository "
                        + "root, or pass --peer-cp)");
            }
            return Files.readString(f).trim();
        } finally {
            Files.deleteIfExists(f);
        }
    }

    static Map<String, Object> runJlama(String java, Path src, String cp, Path dir, int prompt, int decode, int reps)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", cp, src.toString(),
                dir.toString(), Integer.toString(prompt), Integer.toString(decode), Integer.toString(reps)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String json = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("{")) {
                    json = line;
                }
            }
        }
        if (p.waitFor() != 0 || json == null) {
            throw new IllegalStateException("the Jlama peer failed (exit " + p.exitValue() + "): " + cmd);
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("peer", "jlama-core 0.8.4, F32 working memory, Panama Vector API");
        o.put("java", field(json, "java"));
        o.put("load_s", Double.parseDouble(field(json, "load_s")));
        double pm = Double.parseDouble(field(json, "prefill_ms"));
        double sm = Double.parseDouble(field(json, "decode_ms_per_token"));
        o.put("prefill_ms", pm);
        o.put("prefill_tokens_per_s", prompt / (pm / 1e3));
        o.put("decode_ms_per_token", sm);
        o.put("decode_tokens_per_s", 1e3 / sm);
        o.put("prefill_best_ms", Double.parseDouble(field(json, "prefill_best_ms")));
        o.put("decode_best_ms_per_token", Double.parseDouble(field(json, "decode_best_ms_per_token")));
        o.put("last_token", Integer.parseInt(field(json, "last_token")));
        return o;
    }

    private static String field(String json, String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key + "\": \"?([^\",}]+)\"?").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("peer output lacks " + key + ": " + json);
        }
        return m.group(1).trim();
    }

    // ------------------------------------------------------------------ the random checkpoint

    /** Writes config.json, a tokenizer.json Jlama can load, and model.safetensors (F32); returns the parameter count. */
    static long writeCheckpoint(Path dir, int hidden, int inter, int layers, int heads, int kvHeads, int vocab, int context)
            throws IOException {
        int headDim = hidden / heads;
        String config = "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
                + "  \"hidden_size\": " + hidden + ",\n  \"intermediate_size\": " + inter + ",\n"
                + "  \"num_hidden_layers\": " + layers + ",\n  \"num_attention_heads\": " + heads + ",\n"
                + "  \"num_key_value_heads\": " + kvHeads + ",\n  \"head_dim\": " + headDim + ",\n"
                + "  \"hidden_act\": \"silu\",\n  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": 10000.0,\n"
                + "  \"max_position_embeddings\": " + Math.max(context, 256) + ",\n  \"tie_word_embeddings\": false,\n"
                + "  \"vocab_size\": " + vocab + ",\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n"
                + "  \"torch_dtype\": \"float32\"\n}\n";
        Files.writeString(dir.resolve("config.json"), config);
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson(vocab));
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {vocab, hidden});
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {hidden});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {(long) heads * headDim, hidden});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {(long) kvHeads * headDim, hidden});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {(long) kvHeads * headDim, hidden});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {hidden, (long) heads * headDim});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {hidden});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {inter, hidden});
            shapes.put(p + "mlp.up_proj.weight", new long[] {inter, hidden});
            shapes.put(p + "mlp.down_proj.weight", new long[] {hidden, inter});
        }
        shapes.put("model.norm.weight", new long[] {hidden});
        shapes.put("lm_head.weight", new long[] {vocab, hidden});
        StringBuilder h = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long off = 0;
        long params = 0;
        for (var e : shapes.entrySet()) {
            long n = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            params += n;
            h.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":")
                    .append(Arrays.toString(e.getValue()).replace(" ", "")).append(",\"data_offsets\":[").append(off)
                    .append(',').append(off + 4 * n).append("]}");
            off += 4 * n;
        }
        h.append('}');
        while ((h.length() + 8) % 8 != 0) {
            h.append(' ');
        }
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            ch.write(len);
            ch.write(ByteBuffer.wrap(header));
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
            long state = 0x9E3779B97F4A7C15L;
            for (var e : shapes.entrySet()) {
                long n = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
                boolean norm = e.getKey().endsWith("norm.weight");
                float scale = (float) (1.7 / Math.sqrt(e.getValue()[e.getValue().length - 1]));
                for (long i = 0; i < n; i++) {
                    state ^= state << 13;
                    state ^= state >>> 7;
                    state ^= state << 17;
                    float u = ((state >>> 40) / (float) (1 << 24)) * 2f - 1f; // uniform [-1, 1)
                    buf.putFloat(norm ? 1f + 0.1f * u : scale * u);
                    if (!buf.hasRemaining()) {
                        buf.flip();
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                        buf.clear();
                    }
                }
            }
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
        return params;
    }

    /** A byte-fallback BPE vocabulary of {@code vocab} entries (no merges): enough for Jlama's loader; ids are fed directly. */
    static String tokenizerJson(int vocab) {
        StringBuilder v = new StringBuilder();
        v.append("\"<unk>\":0,\"<s>\":1,\"</s>\":2");
        int id = 3;
        for (int b = 0; b < 256 && id < vocab; b++, id++) {
            v.append(String.format(",\"<0x%02X>\":%d", b, id));
        }
        for (int i = 0; id < vocab; i++, id++) {
            v.append(",\"\u2581t").append(i).append("\":").append(id);
        }
        return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
                + "{\"id\":0,\"content\":\"<unk>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
                + "{\"id\":1,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
                + "{\"id\":2,\"content\":\"</s>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
                + "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
                + "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]},"
                + "\"pre_tokenizer\":null,\"post_processor\":null,"
                + "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\u2581\"},\"content\":\" \"},"
                + "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},"
                + "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\",\"continuing_subword_prefix\":null,"
                + "\"end_of_word_suffix\":null,\"fuse_unk\":true,\"byte_fallback\":true,\"vocab\":{" + v + "},\"merges\":[]}}";
    }
}
