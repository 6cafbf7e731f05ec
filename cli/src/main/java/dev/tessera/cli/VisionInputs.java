package dev.tessera.cli;

import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import dev.tessera.runtime.image.ImagePreprocessor;
import dev.tessera.runtime.io.Npy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The IMAGE arguments of the vision commands: image files, folders (their image files, sorted by name; hidden
 * files skipped), or one {@code .npy} of preprocessed float32 pixels {@code [N, C, H, W]} (C is the model's
 * {@code num_channels}, 3 for RGB; the model checks it). Batches come as F32 tensors.
 */
final class VisionInputs {
    static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pbm",
            ".pgm", ".ppm", ".pnm", ".avif");

    final List<String> names = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();
    private Npy.Array npy;

    VisionInputs(List<String> args) {
        if (args == null || args.isEmpty()) {
            throw new IllegalArgumentException("no images given");
        }
        for (String a : args) {
            Path p = Path.of(a);
            if (a.toLowerCase(Locale.ROOT).endsWith(".npy")) {
                if (args.size() != 1) {
                    throw new IllegalArgumentException("a .npy of pixels must be the only IMAGE argument");
                }
                try {
                    npy = Npy.read(p);
                } catch (IOException | RuntimeException e) {
                    throw new IllegalArgumentException("cannot read " + p + ": " + e.getMessage(), e);
                }
                if (npy.shape().length != 4 || npy.shape()[0] <= 0 || npy.shape()[1] <= 0) {
                    throw new IllegalArgumentException(p + ": pixels must be a float array [N, C, H, W], got shape "
                            + java.util.Arrays.toString(npy.shape()));
                }
                if (npy.dtype() != Npy.DType.F32) { // an int32 / int64 .npy (float16 / float64 are read as float32)
                    throw new IllegalArgumentException(p + ": pixels must be a float array [N, C, H, W] (float32; "
                            + "float16 and float64 are converted), got " + npy.dtype() + " "
                            + java.util.Arrays.toString(npy.shape()));
                }
                for (int i = 0; i < npy.shape()[0]; i++) {
                    names.add(p.getFileName() + "[" + i + "]");
                }
            } else if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    List<Path> found = s.filter(VisionInputs::listed).sorted().toList();
                    if (found.isEmpty()) {
                        throw new IllegalArgumentException("folder " + p + " holds no images (" + EXTENSIONS + ")");
                    }
                    for (Path f : found) {
                        files.add(f);
                        names.add(f.toString());
                    }
                } catch (IOException e) {
                    throw new IllegalArgumentException("cannot list " + p + ": " + e.getMessage(), e);
                }
            } else if (Files.isRegularFile(p)) {
                files.add(p);
                names.add(p.toString());
            } else {
                throw new IllegalArgumentException("image not found: " + p);
            }
        }
    }

    /**
     * Whether a folder's entry is one of its images: a regular file with an image extension, not hidden (a name
     * starting with '.', such as the {@code ._photo.jpg} resource forks macOS leaves beside copied files, which
     * are not images).
     */
    static boolean listed(Path f) {
        String name = f.getFileName().toString();
        String lower = name.toLowerCase(Locale.ROOT);
        return !name.startsWith(".") && Files.isRegularFile(f) && EXTENSIONS.stream().anyMatch(lower::endsWith);
    }

    int size() {
        return names.size();
    }

    /**
     * The preprocessor {@code make} builds, made only for image files: a {@code .npy} of pixels needs none (nor
     * OpenCV, which decodes images: a deployment without it still runs on pixels).
     */
    ImagePreprocessor preprocessor(java.util.function.Supplier<ImagePreprocessor> make, BackendOption backend) {
        return npy != null ? null : make.get().withBackend(backend.get());
    }

    /** {@code --image-backend pil|torchvision|transforms}: whose pixels the preprocessing reproduces (docs/vision.md). */
    static final class BackendOption {
        @picocli.CommandLine.Option(names = "--image-backend", paramLabel = "pil|torchvision|transforms",
                defaultValue = "pil", converter = BackendConverter.class,
                description = "Preprocess images as transformers' Pillow image processors do (pil, the default), as "
                        + "its torchvision ones do (torchvision: transformers 5's choice wherever torchvision is "
                        + "installed), or as a torchvision.transforms pipeline on PIL images does (transforms: OpenAI "
                        + "CLIP's and open_clip's preprocessing; its CenterCrop rounds offsets half to even).")
        ImagePreprocessor.Backend backend = ImagePreprocessor.Backend.PIL;

        ImagePreprocessor.Backend get() {
            return backend;
        }
    }

    /** Parses {@code pil} / {@code torchvision} for picocli (a bad value is a usage error naming the option). */
    static final class BackendConverter implements picocli.CommandLine.ITypeConverter<ImagePreprocessor.Backend> {
        @Override
        public ImagePreprocessor.Backend convert(String value) {
            try {
                return ImagePreprocessor.Backend.parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("expected pil, torchvision or transforms, got '"
                        + value + "'");
            }
        }
    }

    /**
     * Images {@code [from, to)} as F32 {@code [n, C, H, W]} ({@code C} = 3 for image files), {@code pre} from
     * {@link #preprocessor} (null for a {@code .npy}).
     */
    Tensor batch(int from, int to, ImagePreprocessor pre, Device device) {
        if (npy != null) {
            long[] s = npy.shape();
            int per = (int) (s[1] * s[2] * s[3]);
            float[] all = npy.requireFloats();
            float[] part = java.util.Arrays.copyOfRange(all, from * per, to * per);
            return Tensor.of(part, device, to - from, s[1], s[2], s[3]);
        }
        return pre.preprocess(files.subList(from, to), device);
    }

    /** A one-line progress bar on stderr (only when there is more than one batch). */
    static void progress(PrintStream err, int done, int total) {
        int width = 30;
        int filled = total == 0 ? width : (int) ((long) width * done / total);
        err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + done + "/" + total);
        if (done == total) {
            err.println();
        }
        err.flush();
    }
}
