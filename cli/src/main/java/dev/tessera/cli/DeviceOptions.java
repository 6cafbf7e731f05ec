package dev.tessera.cli;

import dev.tessera.runtime.Backends;
import dev.tessera.runtime.DType;
import dev.tessera.runtime.Device;
import picocli.CommandLine.Option;

/**
 * The {@code --device} and {@code --dtype} options the model commands share (picocli mixins: {@code @Mixin}), each
 * resolved in one place with one error message.
 */
final class DeviceOptions {
    private DeviceOptions() {
    }

    /** {@code --device cpu|cuda[:N]}, default cpu. */
    static final class DeviceOption {
        @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
                description = "cpu or cuda[:N] (default ${DEFAULT-VALUE}).")
        String spec;

        /**
         * The device named, checked as the runtime checks it ({@link Backends#get}): {@link IllegalStateException}
         * with the backend's reason when it is unusable here, {@link IllegalArgumentException} for an index past the
         * devices present.
         */
        Device resolve() {
            Device dev = Device.parse(spec);
            Backends.get(dev);
            return dev;
        }
    }

    /** Whether a {@code --dtype} value asks for dynamic INT8 ({@code int8-dynamic}). */
    static boolean isDynamicInt8(String spec) {
        return spec != null && spec.trim().equalsIgnoreCase("int8-dynamic");
    }

    /**
     * {@code --dtype}: on CUDA f32, bf16 or f16 weights and activations (ViT, CLIP); on the CPU f32, or bf16 / int8
     * matrices with f32 arithmetic (half or a quarter of their memory). Absent: the model's default.
     */
    static final class DTypeOption {
        @Option(names = "--dtype", paramLabel = "TYPE", description = "On cuda: f32, bf16 or f16 weights and activations"
                + " (ViT and CLIP; default bf16). On the cpu: f32 (default), or bf16 / int8: the matrices held as"
                + " bfloat16 / int8 (half / a quarter of their memory), the arithmetic f32; or int8-dynamic: int8 weights"
                + " and activations (dynamic quantization, each token's activations on their own scale), about twice"
                + " as fast on an AVX-512 VNNI cpu.")
        String spec;

        private boolean dynamic() {
            return isDynamicInt8(spec);
        }

        /** The dtype named, or null (the model's default: f32 on the CPU, bf16 on CUDA). */
        DType resolve(Device dev) {
            if (spec == null) {
                return null;
            }
            if (dynamicInt8(dev)) {
                return null; // (the model loads F32 weights and quantizes its linear layers)
            }
            DType t;
            try {
                t = DType.parseStorage(spec);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dtype: " + e.getMessage(), e);
            }
            if (t == DType.F16 && !dev.isCuda()) {
                throw new IllegalArgumentException("--dtype " + spec.trim() + " needs --device cuda (on the cpu: f32, or"
                        + " bf16 / int8 matrices with f32 arithmetic)");
            }
            if (t == DType.I8 && dev.isCuda()) {
                throw new IllegalArgumentException("--dtype " + spec.trim() + " is a cpu form (int8 matrices, f32"
                        + " arithmetic); on " + dev + ": f32, bf16 or f16");
            }
            return t;
        }

        /**
         * For sentence encoders: the CPU's storage of their projections (bf16 / int8; null: f32); on CUDA only f32.
         */
        DType resolveSentenceStorage(Device dev) {
            if (dynamicInt8(dev)) {
                return null;
            }
            DType t = resolve(dev);
            if (t != null && t != DType.F32 && dev.isCuda()) {
                throw new IllegalArgumentException("--dtype " + spec.trim() + ": sentence encoders run in f32 on " + dev
                        + " (bf16 / int8 matrices are a cpu form for them)");
            }
            return t == DType.F32 ? null : t;
        }

        /** Whether {@code --dtype int8-dynamic} was given (on the CPU only). */
        boolean dynamicInt8(Device dev) {
            if (dynamic() && !dev.isCpu()) {
                throw new IllegalArgumentException("--dtype int8-dynamic runs on the cpu, not " + dev);
            }
            return dynamic();
        }
    }
}
