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

    /** {@code --dtype f32|bf16|f16} of ViT and CLIP models; absent: the model's default. */
    static final class DTypeOption {
        @Option(names = "--dtype", paramLabel = "TYPE", description = "ViT and CLIP models: f32, bf16 or f16 weights"
                + " and activations (default: f32 on cpu, bf16 on cuda).")
        String spec;

        /**
         * The dtype named, or null (the model's default: f32 on the CPU, bf16 on CUDA). Half precision is refused on
         * the CPU, whose backend runs models in f32.
         */
        DType resolve(Device dev) {
            if (spec == null) {
                return null;
            }
            DType t;
            try {
                t = DType.parseFloating(spec);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dtype: " + e.getMessage(), e);
            }
            if (t != DType.F32 && !dev.isCuda()) {
                throw new IllegalArgumentException("--dtype " + spec.trim() + " needs --device cuda (the CPU backend"
                        + " runs models in f32)");
            }
            return t;
        }
    }
}
