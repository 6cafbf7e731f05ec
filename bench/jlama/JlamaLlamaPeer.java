// The Jlama side of dev.tessera.bench.LlamaBench: Jlama 0.8.4 (com.github.tjake:jlama-core) needs Java 20+ and the
// incubating Vector API, so LlamaBench runs this file in its own JVM (Java source-file mode, Temurin 21+):
//   java --add-modules jdk.incubator.vector -cp <bench classpath> bench/jlama/JlamaLlamaPeer.java DIR PROMPT DECODE REPS
// It loads the same safetensors checkpoint with F32 working memory, then times, as Jlama's own generate() does,
// a prefill (batchForward over PROMPT tokens + sampling the last position) and DECODE single-token steps
// (forward + greedy sampling), REPS times after one warm-up, and prints one JSON line with the medians.
import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import java.io.File;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.UUID;

public class JlamaLlamaPeer {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        int prompt = Integer.parseInt(args[1]);
        int decode = Integer.parseInt(args[2]);
        int reps = Integer.parseInt(args[3]);
        long t0 = System.nanoTime();
        AbstractModel m = ModelSupport.loadModel(dir, DType.F32, DType.F32);
        double loadS = (System.nanoTime() - t0) / 1e9;
        int vocab = m.getConfig().vocabularySize;
        int[] ids = new SplittableRandom(7).ints(prompt, 3, vocab).toArray();
        KvBufferCache caches = new KvBufferCache(m);
        double[] prefill = new double[reps];
        double[] step = new double[reps];
        int lastToken = -1;
        for (int r = -1; r < reps; r++) {
            KvBufferCache.KvBuffer kv = caches.getKvBuffer(UUID.randomUUID());
            AbstractTensor logits = m.makeDenseTensor(vocab);
            long a = System.nanoTime();
            AbstractTensor out = m.batchForward(ids, 0, kv);
            AbstractTensor last = out.slice(out.shape().first() - 1);
            int next = m.sample(last, 0f, 0.5f, logits);
            out.close();
            long b = System.nanoTime();
            for (int i = 0; i < decode; i++) {
                AbstractTensor o = m.forward(next, prompt + i, kv, java.util.Optional.empty());
                next = m.sample(o, 0f, 0.5f, logits);
                o.close();
                kv.incrementContextPosition();
            }
            long c = System.nanoTime();
            lastToken = next;
            if (r >= 0) {
                prefill[r] = (b - a) / 1e6;
                step[r] = (c - b) / 1e6 / decode;
            }
        }
        Arrays.sort(prefill);
        Arrays.sort(step);
        System.out.printf("{\"peer\": \"jlama-core 0.8.4\", \"java\": \"%s\", \"load_s\": %.3f, \"prefill_ms\": %.3f, "
                + "\"decode_ms_per_token\": %.3f, \"prefill_best_ms\": %.3f, \"decode_best_ms_per_token\": %.3f, "
                + "\"last_token\": %d}%n", System.getProperty("java.version"), loadS, prefill[reps / 2], step[reps / 2],
                prefill[0], step[0], lastToken);
        System.exit(0);
    }
}
