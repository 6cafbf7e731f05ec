package dev.tessera.cli;

import dev.tessera.runtime.Backend;
import dev.tessera.runtime.Backends;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Ops;
import dev.tessera.runtime.Scope;
import dev.tessera.runtime.SystemInfo;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.Tessera;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera demo}: the main job on its embedded default. Until the model pipelines land it
 * prints the backends and checks a small transformer-style block (layer norm, matmul, GELU,
 * softmax) on every available backend against a float64 reference computed in Java.
 */
@Command(name = "demo", description = "Show the backends and run a small op check on each.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--rows", defaultValue = "64", description = "Rows of the check input (default ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--width", defaultValue = "256", description = "Width of the check input (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        if (rows < 1 || width < 1) {
            throw new IllegalArgumentException("--rows and --width must be >= 1");
        }
        System.out.print(InfoCommand.format(SystemInfo.collect()));
        System.out.println();
        System.out.printf("op check: softmax(gelu(layerNorm(x) · w)), x [%d, %d], w [%d, %d], seed %d%n", rows, width,
                width, width, seed);
        Random rnd = new Random(seed);
        float[] x = gaussian(rnd, rows * width, 1.0);
        float[] w = gaussian(rnd, width * width, 1.0 / Math.sqrt(width));
        double[] ref = reference(x, w, rows, width);
        boolean ok = true;
        for (Backend b : Backends.all()) {
            if (!b.availability().available()) {
                System.out.printf("  %-6s skipped: %s%n", b.name(), b.availability().reason());
                continue;
            }
            Device d = new Device(b.deviceType(), 0);
            try (Scope scope = Tessera.scope()) {
                long t0 = System.nanoTime();
                Tensor tx = Tensor.of(x, d, rows, width);
                Tensor tw = Tensor.of(w, d, width, width);
                Tensor y = Ops.softmax(Ops.gelu(Ops.matmul(Ops.layerNorm(tx, null, null, 1e-5f), tw)));
                float[] out = y.toFloatArray();
                long t1 = System.nanoTime();
                double err = relError(out, ref);
                boolean pass = err <= 1e-5;
                ok &= pass;
                System.out.printf("  %-6s relative error %.2e vs float64 reference  %s  (%.1f ms incl. copies)%n",
                        d, err, pass ? "OK" : "FAIL", (t1 - t0) / 1e6);
            }
        }
        System.out.println();
        System.out.println("Model pipelines (ViT, CLIP, MiniLM, Whisper, LLaVA, multimodal DBM) are not in this build yet.");
        return ok ? 0 : 1;
    }

    static float[] gaussian(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    static double relError(float[] out, double[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        double e = Math.sqrt(num / den);
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }

    /** The same block in float64. */
    static double[] reference(float[] x, float[] w, int rows, int width) {
        double[] h = new double[rows * width];
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int c = 0; c < width; c++) {
                mean += x[r * width + c];
            }
            mean /= width;
            double var = 0;
            for (int c = 0; c < width; c++) {
                double d = x[r * width + c] - mean;
                var += d * d;
            }
            var /= width;
            for (int c = 0; c < width; c++) {
                h[r * width + c] = (x[r * width + c] - mean) / Math.sqrt(var + 1e-5);
            }
        }
        double[] y = new double[rows * width];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < width; c++) {
                double s = 0;
                for (int k = 0; k < width; k++) {
                    s += h[r * width + k] * w[k * width + c];
                }
                double g = 0.5 * s * (1 + erf(s / Math.sqrt(2)));
                y[r * width + c] = g;
                max = Math.max(max, g);
            }
            double sum = 0;
            for (int c = 0; c < width; c++) {
                y[r * width + c] = Math.exp(y[r * width + c] - max);
                sum += y[r * width + c];
            }
            for (int c = 0; c < width; c++) {
                y[r * width + c] /= sum;
            }
        }
        return y;
    }

    /** erf in float64 (W. J. Cody's rational approximations are overkill here; series/continued fraction). */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            // Taylor series: converges fast for |x| < 2.5 in double precision
            double term = ax;
            double sum = ax;
            double x2 = ax * ax;
            for (int n = 1; n < 100; n++) {
                term *= -x2 / n;
                double t = term / (2 * n + 1);
                sum += t;
                if (Math.abs(t) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // continued fraction for erfc
            double f = 0;
            for (int n = 60; n >= 1; n--) {
                f = n / 2.0 / (ax + f);
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }
}
