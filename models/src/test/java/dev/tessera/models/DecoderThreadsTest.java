package dev.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.models.llama.GenerationConfig;
import dev.tessera.models.llama.Generator;
import dev.tessera.models.llama.LlamaForCausalLM;
import dev.tessera.models.whisper.WhisperDecoder;
import dev.tessera.models.whisper.WhisperModel;
import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The generating models shared by several threads, each with its own caches (the models hold weights only): a
 * Llama generating greedily and by sampling, and a Whisper encoding and decoding, give every thread the tokens one
 * thread alone gets, and leave the native memory where it was.
 */
class DecoderThreadsTest {
    private static final int THREADS = 4;

    private static void inThreads(Callable<Void> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Void>> runs = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                runs.add(pool.submit(body));
            }
            for (Future<Void> f : runs) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void oneLlamaGeneratesForSeveralThreads() throws Exception {
        Path dir = Fixtures.resource("llama/llama-gqa");
        int[] prompt = Npy.read(dir.resolve("prompt.npy")).ints();
        Backend cpu = Backends.get(Device.CPU);
        try (LlamaForCausalLM model = LlamaForCausalLM.load(dir, Device.CPU, null)) {
            GenerationConfig greedy = GenerationConfig.greedy(16).withUseEos(false);
            GenerationConfig sampled = GenerationConfig.sampling(16, 0.9, 0.95, 7).withUseEos(false);
            int[] refGreedy = new Generator(model, null).generate(prompt, greedy, null).tokens();
            int[] refSampled = new Generator(model, null).generate(prompt, sampled, null).tokens();
            assertArrayEquals(java.util.Arrays.copyOf(Npy.read(dir.resolve("greedy.npy")).ints(), 16), refGreedy,
                    "one thread: the fixture's (PyTorch's) greedy tokens");
            long allocated = cpu.memoryStats(Device.CPU).allocatedBytes();
            inThreads(() -> {
                Generator g = new Generator(model, null);
                for (int r = 0; r < 4; r++) {
                    assertArrayEquals(refGreedy, g.generate(prompt, greedy, null).tokens(), "greedy");
                    assertArrayEquals(refSampled, g.generate(prompt, sampled, null).tokens(), "sampled, same seed");
                }
                return null;
            });
            assertEquals(allocated, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes after the threads");
        }
    }

    @Test
    void oneWhisperTranscribesForSeveralThreads() throws Exception {
        Path d = Fixtures.resource("whisper/tiny-a");
        Backend cpu = Backends.get(Device.CPU);
        try (WhisperModel m = WhisperModel.load(d)) {
            int[] ref = greedy(m, d);
            long allocated = cpu.memoryStats(Device.CPU).allocatedBytes();
            inThreads(() -> {
                for (int r = 0; r < 3; r++) {
                    assertArrayEquals(ref, greedy(m, d), "greedy tokens");
                }
                return null;
            });
            assertEquals(allocated, cpu.memoryStats(Device.CPU).allocatedBytes(), "native bytes after the threads");
        }
    }

    private static int[] greedy(WhisperModel m, Path d) throws Exception {
        try (Tensor mel = Fixtures.npyTensor(d.resolve("features.npy")); Tensor enc = m.encode(mel)) {
            WhisperDecoder dec = new WhisperDecoder(m);
            return dec.decode(enc, dec.prompt("en", "transcribe", true), true, 1, 0, 24, 0).tokens();
        }
    }
}
