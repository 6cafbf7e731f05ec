package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.LogMelConfig.FilterbankArithmetic;
import dev.tessera.runtime.io.Npy;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link MelFilterbank#torchaudio} against torchaudio 0.13's own {@code melscale_fbanks} (float32, PyTorch's AVX2
 * kernels), saved by src/test/resources/logmel/make_torchaudio_fbanks.py.
 */
class MelFilterbankTorchaudioTest {
    static final Path DIR = Path.of("src/test/resources/logmel");

    @ParameterizedTest
    @ValueSource(ints = {40, 64, 80, 128, 180, 201})
    void bitIdenticalToTorchaudio(int nMels) throws Exception {
        Npy.Array a = Npy.read(DIR.resolve("torchaudio_fbanks_" + nMels + ".npy"));
        assertArrayEquals(new long[] {nMels, 201}, a.shape());
        float[] ref = a.requireFloats();
        LogMelConfig cfg = LogMelConfig.whisper(nMels).withFilterbankArithmetic(FilterbankArithmetic.TORCHAUDIO_FLOAT32);
        float[] ours = MelFilterbank.of(cfg);
        float[] dbl = MelFilterbank.of(LogMelConfig.whisper(nMels));
        int differ = 0;
        double dblDiff = 0;
        double maxDiff = 0;
        for (int i = 0; i < ref.length; i++) {
            if (ours[i] != ref[i]) { // by value (torch.max gives -0.0 for one weight 0)
                differ++;
                maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
            }
            dblDiff = Math.max(dblDiff, Math.abs(dbl[i] - ref[i]));
        }
        System.out.printf("mel_%d: torchaudio float32 filterbank %d weights differ (by up to %.3g); the double one"
                + " differs by up to %.3g%n", nMels, differ, maxDiff, dblDiff);
        // every weight: at 180+ bands the narrowest filters are a few bins wide, and one band edge a rounding off
        // (PyTorch's scalar path: glibc's expf, no fused multiply-adds) moved features by 3e-4
        assertEquals(0, differ, "weights that differ from torchaudio's");
        if (nMels >= 80) {
            // the double-precision weights (Whisper's mel_filters.npz) are not torchaudio's: what this mode is for
            assertTrue(dblDiff > 5e-8, "double vs torchaudio " + dblDiff);
        }
    }

    /**
     * SLEEF's expf (torch.exp's float32 kernel) against e^x in double: within 1 ulp over the range the filterbank and
     * other callers use, exact at 0, and its limits (-104 and below: 0; above 100: infinity; NaN: NaN).
     */
    @Test
    void sleefExpfIsWithinOneUlpOfExp() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) r.nextDouble(-100, 88);
            float got = MelFilterbank.sleefExpf(x);
            double want = Math.exp(x);
            assertTrue(Math.abs(got - want) <= Math.ulp((float) want), x + ": " + got + " vs " + want);
        }
        assertEquals(1f, MelFilterbank.sleefExpf(0f));
        assertEquals(0f, MelFilterbank.sleefExpf(-105f));
        assertEquals(Float.POSITIVE_INFINITY, MelFilterbank.sleefExpf(101f));
        assertTrue(Float.isNaN(MelFilterbank.sleefExpf(Float.NaN)));
    }

    @Test
    void theDefaultStaysTheDoubleFilterbankAndWithersKeepTheChoice() {
        assertEquals(FilterbankArithmetic.DOUBLE, LogMelConfig.whisper(80).filterbankArithmetic());
        LogMelConfig t = LogMelConfig.whisper(128).withFilterbankArithmetic(FilterbankArithmetic.TORCHAUDIO_FLOAT32);
        assertEquals(FilterbankArithmetic.TORCHAUDIO_FLOAT32, t.unpadded().filterbankArithmetic());
        assertEquals(FilterbankArithmetic.TORCHAUDIO_FLOAT32, t.withNMels(80).filterbankArithmetic());
        assertEquals(FilterbankArithmetic.TORCHAUDIO_FLOAT32,
                t.withFinish(2, true, 1e-10f, true, true).filterbankArithmetic());
    }
}
