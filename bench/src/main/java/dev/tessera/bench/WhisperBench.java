package dev.tessera.bench;

import dev.tessera.bindings.TesseraNative;
import dev.tessera.models.nn.TensorSource;
import dev.tessera.models.whisper.WhisperCache;
import dev.tessera.models.whisper.WhisperConfig;
import dev.tessera.models.whisper.WhisperModel;
import dev.tessera.models.whisper.Transcriber;
import dev.tessera.models.whisper.WordTimestamps;
import dev.tessera.models.text.Tokenizer;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Whisper on the CPU at the tiny (d 384, 4+4 layers, 6 heads) and base (d 512, 6+6, 8) sizes with random weights,
 * vocab 51,865: encoder time for one 30 s window (80 x 3000 log-mel) and greedy decoder tokens/s with the KV cache,
 * beside the PyTorch peer ({@code bench/python/whisper_peer.py}: the same architecture in eager PyTorch 1.13, F32,
 * same thread count) run in the same invocation. Medians of {@code --reps}. With {@code --batch B} (default 4, 1 = off)
 * also a batched row: the encoder on {@code B} windows in one call {@code [B, 80, 3000]} and greedy decoding of
 * {@code B} sequences as one batch (tokens/s summed over the rows), the peer doing the same.
 *
 * <pre>java -cp bench/target/tessera-bench-*.jar:bench/target/lib/* dev.tessera.bench.WhisperBench [--sizes tiny,base]
 *     [--tokens 64] [--reps 3] [--batch 4] [--out bench/results/whisper-cpu.json]</pre>
 */
public final class WhisperBench {
    private WhisperBench() {}

    static WhisperConfig config(String size) {
        int[] s = switch (size) {
            case "tiny" -> new int[] {384, 4, 6, 1536};
            case "base" -> new int[] {512, 6, 8, 2048};
            case "small" -> new int[] {768, 12, 12, 3072};
            default -> throw new IllegalArgumentException("size must be tiny, base or small, got " + size);
        };
        return new WhisperConfig(s[0], s[1], s[2], s[3], s[1], s[2], s[3], 80, 1500, 448, 51865, 50258, 50257,
                new int[0], new int[0], 50363, Map.of("en", 50259), Map.of("transcribe", 50359), true, 50);
    }

    static Map<String, Tensor> weights(WhisperConfig c, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> w = new HashMap<>();
        int d = c.dModel();
        java.util.function.BiConsumer<String, long[]> add = (n, shape) -> {
            int len = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            float[] a = new float[len];
            float sc = (float) (1 / Math.sqrt(shape[shape.length - 1]));
            for (int i = 0; i < len; i++) {
                a[i] = (float) r.nextGaussian() * sc;
            }
            w.put(n, Tensor.of(a, shape));
        };
        String e = "model.encoder.";
        add.accept(e + "conv1.weight", new long[] {d, 80, 3});
        add.accept(e + "conv1.bias", new long[] {d});
        add.accept(e + "conv2.weight", new long[] {d, d, 3});
        add.accept(e + "conv2.bias", new long[] {d});
        add.accept(e + "embed_positions.weight", new long[] {1500, d});
        add.accept("model.decoder.embed_tokens.weight", new long[] {c.vocabSize(), d});
        add.accept("model.decoder.embed_positions.weight", new long[] {448, d});
        for (String side : new String[] {"encoder", "decoder"}) {
            String p0 = "model." + side + ".";
            add.accept(p0 + "layer_norm.weight", new long[] {d});
            add.accept(p0 + "layer_norm.bias", new long[] {d});
            for (int i = 0; i < c.encoderLayers(); i++) {
                String p = p0 + "layers." + i + ".";
                List<String> atts = new ArrayList<>(List.of("self_attn"));
                List<String> lns = new ArrayList<>(List.of("self_attn_layer_norm", "final_layer_norm"));
                if (side.equals("decoder")) {
                    atts.add("encoder_attn");
                    lns.add("encoder_attn_layer_norm");
                }
                for (String a : atts) {
                    for (String pr : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                        add.accept(p + a + "." + pr + ".weight", new long[] {d, d});
                        if (!pr.equals("k_proj")) {
                            add.accept(p + a + "." + pr + ".bias", new long[] {d});
                        }
                    }
                }
                for (String ln : lns) {
                    add.accept(p + ln + ".weight", new long[] {d});
                    add.accept(p + ln + ".bias", new long[] {d});
                }
                add.accept(p + "fc1.weight", new long[] {c.encoderFfn(), d});
                add.accept(p + "fc1.bias", new long[] {c.encoderFfn()});
                add.accept(p + "fc2.weight", new long[] {d, c.encoderFfn()});
                add.accept(p + "fc2.bias", new long[] {d});
            }
        }
        return w;
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    public static void main(String[] args) throws Exception {
        BenchArgs cli = BenchArgs.parse(args, "WhisperBench [--sizes tiny,base,small] [--tokens 64] [--reps 3] [--batch 4]"
                + " [--stored bf16,int8,int8-dynamic] [--word-timestamps] [--no-peer] [--python /usr/bin/python3] [--out FILE]");
        if (cli.help()) {
            return;
        }
        String sizes = cli.get("--sizes", "tiny,base");
        int tokens = cli.getInt("--tokens", 64);
        int reps = cli.getInt("--reps", 3);
        Path out = cli.getPath("--out", Path.of("bench/results/whisper-cpu.json"));
        String python = cli.get("--python", "/usr/bin/python3");
        int batch = cli.getInt("--batch", 4);
        // Tessera again with the matrices held so (load(dir, CPU, BF16 | I8)): encoder and batch-1 decode, as ratios
        String stored = cli.get("--stored", "");
        boolean peerRun = !cli.flag("--no-peer");
        boolean words = cli.flag("--word-timestamps");
        Tokenizer tok = words ? multilingualTokenizer() : null;
        int threads = TesseraNative.tsr_cpu_threads();
        StringBuilder rows = new StringBuilder();
        for (String size : sizes.split(",")) {
            WhisperConfig c = config(size);
            Map<String, Tensor> w = weights(c, 1);
            List<Double> encMs = new ArrayList<>();
            List<Double> tps = new ArrayList<>();
            List<Double> encBatchMs = new ArrayList<>();
            List<Double> tpsBatch = new ArrayList<>();
            String wordRow = "";
            try (WhisperModel m = WhisperModel.fromSource(c, TensorSource.of(w, "random " + size), Device.CPU, DType.F32)) {
                w.values().forEach(Tensor::close);
                Random r = timeOneWindow(m, reps, tokens, encMs, tps);
                if (words) {
                    double decodeMs = tokens / median(tps) * 1000;
                    List<Double> all = timeWords(m, tok, tokens, reps);
                    int heads = m.config().alignmentHeadPairs().length;
                    // a checkpoint's own alignment_heads are fewer (openai-whisper's: 6 to 23): 10 of them
                    int[][] ten = Arrays.copyOf(m.config().alignmentHeadPairs(), Math.min(10, heads));
                    Map<String, Tensor> w10 = weights(c, 1);
                    List<Double> some;
                    try (WhisperModel m10 = WhisperModel.fromSource(withHeads(c, ten), TensorSource.of(w10, "random " + size),
                            Device.CPU, DType.F32)) {
                        w10.values().forEach(Tensor::close);
                        some = timeWords(m10, tok, tokens, reps);
                    }
                    System.out.printf("whisper %s word timestamps for %d tokens: %.1f ms with %d heads (%.1f%% of their decode),"
                            + " %.1f ms with %d (%.1f%%)%n", size, tokens, median(all), heads, 100 * median(all) / decodeMs,
                            median(some), ten.length, 100 * median(some) / decodeMs);
                    wordRow = String.format(java.util.Locale.ROOT, ", \"word_timestamps\": {\"text_tokens\": %d, "
                            + "\"decode_ms\": %.1f, \"default_heads\": %d, \"align_ms_default_heads\": %.1f, "
                            + "\"heads\": %d, \"align_ms\": %.1f, \"align_ms_all\": %s, \"align_ms_default_heads_all\": %s}",
                            tokens, decodeMs, heads, median(all), ten.length, median(some), some, all);
                }
                if (batch > 1) {
                    float[] melB = new float[batch * 80 * 3000];
                    for (int i = 0; i < melB.length; i++) {
                        melB[i] = (float) r.nextGaussian();
                    }
                    try (Tensor x = Tensor.of(melB, batch, 80, 3000)) {
                        for (int rep = 0; rep < reps; rep++) {
                            long t0 = System.nanoTime();
                            try (Tensor enc = m.encode(x)) {
                                encBatchMs.add((System.nanoTime() - t0) / 1e6);
                                tpsBatch.add(decodeTps(m, enc, tokens));
                            }
                        }
                    }
                }
            }
            double e = median(encMs);
            double t = median(tps);
            StringBuilder storedRows = new StringBuilder();
            for (String st : stored.isBlank() ? new String[0] : stored.split(",")) {
                boolean dyn = st.trim().equals("int8-dynamic"); // int8 weights and activations
                DType storage = dyn ? null : DType.parseStorage(st);
                Map<String, Tensor> ws = weights(c, 1);
                List<Double> sEnc = new ArrayList<>();
                List<Double> sTps = new ArrayList<>();
                try (WhisperModel m = WhisperModel.fromSource(c, TensorSource.of(ws, "random " + size), Device.CPU,
                        storage, dyn)) {
                    ws.values().forEach(Tensor::close);
                    timeOneWindow(m, reps, tokens, sEnc, sTps);
                }
                double se = median(sEnc);
                double stp = median(sTps);
                System.out.printf("whisper %s, %s matrices: encoder %.1f ms (%.2fx f32), decode %.1f tokens/s (%.2fx f32)%n",
                        size, st, se, e / se, stp, stp / t);
                storedRows.append(String.format(java.util.Locale.ROOT, ", \"tessera_%s_matrices\": {\"encoder_ms\": %.2f, "
                        + "\"decode_tokens_per_s\": %.2f, \"encoder_speedup_over_f32\": %.3f, "
                        + "\"decode_speedup_over_f32\": %.3f, \"encoder_ms_all\": %s, \"tps_all\": %s}",
                        st, se, stp, e / se, stp / t, sEnc, sTps));
            }
            if (!peerRun) {
                System.out.printf("whisper %s: encoder %.1f ms, decode %.1f tokens/s%n", size, e, t);
                if (rows.length() > 0) {
                    rows.append(",\n");
                }
                rows.append(String.format(java.util.Locale.ROOT, "    {\"size\": \"%s\", \"tessera_encoder_ms\": %.2f, "
                        + "\"tessera_decode_tokens_per_s\": %.2f, \"tessera_encoder_ms_all\": %s, \"tessera_tps_all\": %s%s}",
                        size, e, t, encMs, tps, storedRows + wordRow));
                continue;
            }
            String peer = runPeer(python, size, threads, tokens, reps, batch);
            double pEnc = Double.parseDouble(peer.replaceAll(".*\"encoder_ms\": ([0-9.eE+-]+).*", "$1"));
            double pTps = Double.parseDouble(peer.replaceAll(".*\"decode_tokens_per_s\": ([0-9.eE+-]+).*", "$1"));
            System.out.printf("whisper %s: encoder %.1f ms vs torch %.1f ms (%.2fx); decode %.1f vs %.1f tokens/s (%.2fx)%n",
                    size, e, pEnc, pEnc / e, t, pTps, t / pTps);
            String batchRow = "";
            if (batch > 1) {
                double pEncB = Double.parseDouble(peer.replaceAll(".*\"encoder_batch_ms\": ([0-9.eE+-]+).*", "$1"));
                double pTpsB = Double.parseDouble(peer.replaceAll(".*\"decode_batch_tokens_per_s\": ([0-9.eE+-]+).*", "$1"));
                double eb = median(encBatchMs);
                double tb = median(tpsBatch);
                System.out.printf("whisper %s batch %d: encoder %.1f ms vs torch %.1f ms (%.2fx, %.2fx of %d single calls);"
                        + " decode %.1f vs %.1f tokens/s (%.2fx)%n", size, batch, eb, pEncB, pEncB / eb, batch * e / eb, batch, tb,
                        pTpsB, tb / pTpsB);
                batchRow = String.format(java.util.Locale.ROOT, ", \"batch\": %d, \"tessera_encoder_batch_ms\": %.2f,"
                        + " \"torch_encoder_batch_ms\": %.2f, \"encoder_batch_speedup\": %.3f, \"tessera_encoder_batch_vs_single\": %.3f,"
                        + " \"tessera_decode_batch_tokens_per_s\": %.2f, \"torch_decode_batch_tokens_per_s\": %.2f,"
                        + " \"decode_batch_speedup\": %.3f", batch, eb, pEncB, pEncB / eb, batch * e / eb, tb, pTpsB, tb / pTpsB);
            }
            if (rows.length() > 0) {
                rows.append(",\n");
            }
            rows.append(String.format(java.util.Locale.ROOT, "    {\"size\": \"%s\", \"tessera_encoder_ms\": %.2f, "
                    + "\"torch_encoder_ms\": %.2f, \"encoder_speedup\": %.3f, \"tessera_decode_tokens_per_s\": %.2f, "
                    + "\"torch_decode_tokens_per_s\": %.2f, \"decode_speedup\": %.3f, \"tessera_encoder_ms_all\": %s, "
                    + "\"tessera_tps_all\": %s%s%s,\n     \"peer\": %s}", size, e, pEnc, pEnc / e, t, pTps, t / pTps, encMs,
                    tps, batchRow, storedRows + wordRow, peer.trim()));
        }
        String json = "{\n  \"date\": \"" + Instant.now() + "\",\n  \"what\": \"Whisper CPU fp32, random weights, vocab 51865:"
                + " encoder on one 30 s window (80 x 3000), greedy decode tokens/s with KV cache (" + tokens + " steps after a"
                + " 4-token prompt); batch rows: " + batch + " windows in one encoder call, " + batch + " sequences decoded as one"
                + " batch (tokens/s summed); " + (peerRun ? "peer: PyTorch eager, same architecture, same threads"
                        : "no peer (--no-peer)") + (stored.isBlank() ? "" : "; tessera_<dtype>_matrices: the same model"
                        + " loaded with its matrices held as " + stored + " (F32 arithmetic), encoder and batch-1 decode")
                + (words ? "; word_timestamps: WordTimestamps.addWordTimestamps on one window whose segment holds"
                        + " text_tokens random tokens (the teacher-forced pass with logits at every position, the alignment"
                        + " heads' matrix, DTW, the word split), ms, with the default rule's heads (every head of the upper"
                        + " half of the decoder) and with 10 heads (a checkpoint's alignment_heads are 6 to 23), against"
                        + " decode_ms: the greedy decoding of as many tokens" : "")
                + "\",\n  \"threads\": " + threads
                + ",\n  \"load\": \"" + Files.readString(Path.of("/proc/loadavg")).trim() + "\",\n  \"results\": [\n" + rows
                + "\n  ]\n}\n";
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, json);
        System.out.println("wrote " + out);
    }

    /**
     * Word timestamps of one random 30 s window whose one segment holds {@code tokens} random text tokens (the public
     * {@link WordTimestamps#addWordTimestamps} step: the teacher-forced pass, the heads' alignment matrix, DTW, the word
     * split): a warm-up, then {@code reps} times in ms.
     */
    static List<Double> timeWords(WhisperModel m, Tokenizer tok, int tokens, int reps) {
        Random r = new Random(3);
        float[] mel = new float[80 * 3000];
        for (int i = 0; i < mel.length; i++) {
            mel[i] = (float) r.nextGaussian();
        }
        int[] text = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            text[i] = r.nextInt(m.config().eosTokenId());
        }
        List<Transcriber.Segment> seg = List.of(new Transcriber.Segment(0, 30, "", text));
        List<Double> ms = new ArrayList<>();
        try (Tensor x = Tensor.of(mel, 1, 80, 3000); Tensor enc = m.encode(x)) {
            for (int rep = -1; rep < reps; rep++) {
                long t0 = System.nanoTime();
                WordTimestamps.addWordTimestamps(m, tok, enc, "en", "transcribe", seg, 0, 3000, 0);
                if (rep >= 0) {
                    ms.add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        return ms;
    }

    /** {@code c} with {@code heads} as its alignment heads. */
    static WhisperConfig withHeads(WhisperConfig c, int[][] heads) {
        return new WhisperConfig(c.dModel(), c.encoderLayers(), c.encoderHeads(), c.encoderFfn(), c.decoderLayers(),
                c.decoderHeads(), c.decoderFfn(), c.numMelBins(), c.maxSourcePositions(), c.maxTargetPositions(), c.vocabSize(),
                c.decoderStartTokenId(), c.eosTokenId(), c.suppressTokens(), c.beginSuppressTokens(), c.noTimestampsTokenId(),
                c.langToId(), c.taskToId(), c.isMultilingual(), c.maxInitialTimestampIndex(), c.prevSotTokenId(),
                c.noSpeechTokenId(), heads);
    }

    /** Whisper's multilingual tokenizer.json (the models' test fixture, unpacked to a temporary file). */
    static Tokenizer multilingualTokenizer() throws java.io.IOException {
        Path gz = Path.of("models/src/test/resources/whisper/tokenizer/multilingual.tokenizer.json.gz");
        if (!Files.isRegularFile(gz)) {
            throw new IllegalArgumentException("--word-timestamps needs " + gz + " (run from the repository root)");
        }
        Path tmp = Files.createTempFile("whisper-tokenizer", ".json");
        tmp.toFile().deleteOnExit();
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(gz))) {
            Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return Tokenizer.load(tmp);
    }

    /**
     * A warm-up, then {@code reps} times: the encoder on one random 30 s window (ms into {@code encMs}) and greedy
     * decoding of it (tokens/s into {@code tps}). Returns the random source, for the caller's further windows.
     */
    static Random timeOneWindow(WhisperModel m, int reps, int tokens, List<Double> encMs, List<Double> tps) {
        float[] mel = new float[80 * 3000];
        Random r = new Random(2);
        for (int i = 0; i < mel.length; i++) {
            mel[i] = (float) r.nextGaussian();
        }
        try (Tensor x = Tensor.of(mel, 1, 80, 3000)) {
            m.encode(x).close(); // warm-up
            for (int rep = 0; rep < reps; rep++) {
                long t0 = System.nanoTime();
                try (Tensor enc = m.encode(x)) {
                    encMs.add((System.nanoTime() - t0) / 1e6);
                    tps.add(decodeTps(m, enc, tokens));
                }
            }
        }
        return r;
    }

    /** Greedy decoding of every row of {@code enc} as one batch; tokens/s summed over the rows. */
    static double decodeTps(WhisperModel m, Tensor enc, int tokens) {
        int b = (int) enc.dim(0);
        try (WhisperCache cache = m.newCache(enc, 4 + tokens + 1)) {
            int[][] next = new int[b][];
            Arrays.fill(next, new int[] {50258, 50259, 50359, 50363});
            long t0 = 0;
            for (int step = 0; step <= tokens; step++) {
                int[] ids;
                try (Tensor l = m.decode(next, cache, false)) {
                    ids = Ops.argmaxLastDim(l);
                }
                if (step == 0) {
                    t0 = System.nanoTime();
                }
                next = new int[b][];
                for (int i = 0; i < b; i++) {
                    next[i] = new int[] {ids[i]};
                }
            }
            return (double) b * tokens / ((System.nanoTime() - t0) / 1e9);
        }
    }

    static String runPeer(String python, String size, int threads, int tokens, int reps, int batch) throws Exception {
        return BenchUtil.runPeer(List.of(python, "bench/python/whisper_peer.py", "--size", size, "--threads",
                Integer.toString(threads), "--tokens", Integer.toString(tokens), "--reps", Integer.toString(reps), "--batch",
                Integer.toString(batch))).orThrow();
    }
}
