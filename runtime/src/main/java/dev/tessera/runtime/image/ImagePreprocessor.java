package dev.tessera.runtime.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.runtime.Device;
import dev.tessera.runtime.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The image side of a HF image processor (ViT / CLIP), configured from {@code preprocessor_config.json} (or the
 * {@code image_processor} object of transformers 5's {@code processor_config.json}):
 * {@code do_convert_rgb} (always: decoded images are RGB), {@code do_resize} with {@code size} as
 * {@code {shortest_edge}}, {@code {height, width}} or an int (a square for ViT-style processors, the shortest edge
 * for CLIP-style ones, as transformers reads it), {@code resample} (Pillow codes: 0 nearest,
 * 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming), {@code do_center_crop}/{@code crop_size}, {@code do_rescale}/
 * {@code rescale_factor}, {@code do_normalize}/{@code image_mean}/{@code image_std}, and for
 * {@code LlavaImageProcessor} {@code do_pad} (padded to a square first, centred, on the colour
 * {@code int(image_mean * 255)}). Resizing reproduces Pillow's
 * antialiased separable resampling on 8-bit pixels (horizontal pass, then vertical, in Pillow's fixed-point
 * arithmetic), so results match {@code PIL.Image.resize} closely (see docs/vision.md for measured differences).
 * {@link #withBackend} gives the pixels of transformers' torchvision image processors instead (see {@link Backend}).
 * Output: F32 {@code [N, 3, H, W]}.
 */
public final class ImagePreprocessor {
    private final int shortestEdge;
    /** {@code size.longest_edge} beside {@code shortest_edge} (transformers' get_size_with_aspect_ratio), else -1. */
    private final int longestEdge;
    /** {@code size.max_height} / {@code max_width}: the largest aspect-preserving fit, else -1. */
    private final int maxH;
    private final int maxW;
    private final int resizeH;
    private final int resizeW;
    private final int cropH;
    private final int cropW;
    private final boolean doResize;
    private final boolean doCrop;
    private final boolean doRescale;
    private final boolean doNormalize;
    /** LlavaImageProcessor's do_pad: a square canvas of int(image_mean * 255) before resizing. */
    private final boolean doPad;
    /**
     * Other processors' do_pad (transformers 5's base {@code _preprocess}): zeros below and right of the normalised
     * pixels, up to {@code pad_size} ({@link #padH} x {@link #padW}), or without one to the largest image of the batch.
     */
    private final boolean padAfter;
    private final int padH;
    private final int padW;
    private final double rescale;
    private final double[] mean;
    private final double[] std;
    private final int resample;
    /** {@code resample} was a float in the file (transformers' Pillow backend: bilinear; torchvision: an error). */
    private final boolean floatResample;
    private final Backend backend;
    private final ImageDecoder decoder;

    /**
     * Which of transformers 5's two image-processor backends the pixels follow. Both read the same
     * {@code preprocessor_config.json}; transformers picks the torchvision one wherever torchvision is installed
     * (e.g. {@code ViTImageProcessor} is the torchvision class, {@code ViTImageProcessorPil} the Pillow one), and
     * their pixels differ: by a level here and there with bilinear / bicubic (a random ViT's logits by 4e-4 to 1e-3
     * relative), throughout with nearest or a crop larger than the resized image (up to 0.5).
     */
    public enum Backend {
        /** transformers' Pillow backend ({@code PIL.Image.resize}; numpy's float32 rescale and normalise): the default. */
        PIL,
        /**
         * transformers' torchvision backend: PyTorch's {@code uint8} antialiased interpolate (int16 weights),
         * {@code nearest-exact} for nearest, no box or hamming filter; a crop larger than the image padded with
         * {@code floor} on the top / left (Pillow's: {@code ceil}); rescale and normalise fused in float32
         * ({@code (x - mean / s) / (std / s)}, {@code s} the rescale factor).
         */
        TORCHVISION,
        /**
         * Not transformers: a {@code torchvision.transforms} pipeline on PIL images ({@code Resize}, {@code CenterCrop},
         * {@code ToTensor}, {@code Normalize}), what OpenAI CLIP's and open_clip's preprocessing run: Pillow's resize
         * (as {@link #PIL}), the crop offset {@code round((h - crop) / 2)} with Python's round half to even
         * (transformers: floor), a crop larger than the image padded with {@code floor} above, and float32
         * {@code (x / 255 - mean) / std}.
         */
        TRANSFORMS;

        /** {@code pil}, {@code torchvision} or {@code transforms} (case-insensitive). */
        public static Backend parse(String name) {
            return switch (name.toLowerCase(java.util.Locale.ROOT)) {
                case "pil", "pillow" -> PIL;
                case "torchvision" -> TORCHVISION;
                case "transforms", "torchvision-transforms" -> TRANSFORMS;
                default -> throw new IllegalArgumentException("image backend must be pil, torchvision or transforms, got "
                        + name);
            };
        }
    }

    /**
     * The defaults of the two image-processor families, for what a {@code preprocessor_config.json} leaves out. The
     * file's {@code image_processor_type} / {@code feature_extractor_type} picks the family when it names one (as
     * transformers instantiates that class whatever the model); otherwise the model's family applies.
     */
    public enum Style {
        /**
         * {@code ViTImageProcessor}: a bare-int or absent {@code size} is a square of the model's image size,
         * {@code {height, width}} wins over {@code shortest_edge}, bilinear, no centre crop unless a crop size is
         * given, mean / std 0.5.
         */
        VIT(HALF, HALF, 2),
        /**
         * {@code CLIPImageProcessor} (also LLaVA's): a bare-int or absent {@code size} is the shortest edge,
         * {@code shortest_edge} wins over {@code {height, width}}, bicubic, centre crop to the model's image size,
         * CLIP's mean / std.
         */
        CLIP(CLIP_MEAN, CLIP_STD, 3);

        private final double[] mean;
        private final double[] std;
        private final int resample;

        Style(double[] mean, double[] std, int resample) {
            this.mean = mean;
            this.std = std;
            this.resample = resample;
        }

        /** The family a config names ({@code CLIP...}, {@code Llava...} or {@code ViT...}), else {@code model}. */
        static Style named(JsonNode c, Style model) {
            String type = c.path("image_processor_type").asText("") + " " + c.path("feature_extractor_type").asText("");
            if (type.contains("CLIP") || type.contains("Llava") || type.contains("LLaVA")) {
                return CLIP;
            }
            return type.contains("ViT") ? VIT : model;
        }
    }

    private ImagePreprocessor(JsonNode c, String where, int defaultSize, Style modelStyle, double[] defaultMean,
            double[] defaultStd, ImageDecoder decoder) {
        this.decoder = decoder;
        this.backend = Backend.PIL;
        if (!c.isObject()) {
            throw new IllegalArgumentException(where + ": not a JSON object");
        }
        Style style = Style.named(c, modelStyle);
        if (style != modelStyle) { // the file names the other family: its defaults, not the model's
            defaultMean = style.mean;
            defaultStd = style.std;
        }
        JsonNode size = c.get("size");
        if (size != null && size.isArray()) { // a [height, width] pair, as transformers' get_size_dict reads it
            size = hwPair(size, "size", where);
        }
        String keys = size != null && size.isObject() ? keySet(size) : "";
        if (size != null && !size.isNull() && !size.isNumber() && !SIZE_KEYS.contains(keys)) {
            throw new IllegalArgumentException(where + ": size must be an integer, [height, width], or an object with"
                    + " the keys {height, width}, {shortest_edge}, {shortest_edge, longest_edge} or {max_height,"
                    + " max_width} (transformers' resize), found " + size);
        }
        int longest = -1;
        int mh = -1;
        int mw = -1;
        // an int size is a square where the processor's default_to_square holds (ViT's), else the shortest edge
        // (CLIP's, LLaVA's); the file may set the flag (transformers reads it)
        boolean square = flag(c, "default_to_square", style != Style.CLIP, where);
        if (size != null && size.isNumber()) {
            int side = side(size, "size", where);
            shortestEdge = square ? -1 : side;
            resizeH = resizeW = square ? side : -1;
        } else if (keys.equals("longest_edge,shortest_edge") || keys.equals("shortest_edge")) {
            shortestEdge = side(size.get("shortest_edge"), "size.shortest_edge", where);
            if (size.has("longest_edge")) {
                longest = side(size.get("longest_edge"), "size.longest_edge", where);
            }
            resizeH = resizeW = -1;
        } else if (keys.equals("height,width")) {
            shortestEdge = -1;
            resizeH = side(size.get("height"), "size.height", where);
            resizeW = side(size.get("width"), "size.width", where);
        } else if (keys.equals("max_height,max_width")) {
            shortestEdge = -1;
            resizeH = resizeW = -1;
            mh = side(size.get("max_height"), "size.max_height", where);
            mw = side(size.get("max_width"), "size.max_width", where);
        } else {
            shortestEdge = style == Style.CLIP ? defaultSize : -1;
            resizeH = resizeW = style == Style.CLIP ? -1 : defaultSize;
        }
        longestEdge = longest;
        maxH = mh;
        maxW = mw;
        String named = c.path("image_processor_type").asText("") + " " + c.path("feature_extractor_type").asText("");
        // transformers 5 crops whenever do_center_crop is true; its ViTImageProcessor leaves the flag unset (no crop
        // by default), CLIP's sets it; other ViT-family processors (DeiT's, say) crop by default where they give a
        // crop size. (transformers 4's ViTImageProcessor ignored do_center_crop altogether.)
        boolean vitNamed = VIT_PROCESSORS.stream().anyMatch(t -> (" " + named + " ").contains(" " + t + " "));
        // (with no processor named, transformers instantiates the model type's: ViTImageProcessor for a ViT)
        boolean cropDefault = style == Style.CLIP || !vitNamed && !named.isBlank() && c.has("crop_size");
        doCrop = flag(c, "do_center_crop", cropDefault, where);
        JsonNode crop = c.get("crop_size");
        if (crop != null && crop.isArray()) {
            crop = hwPair(crop, "crop_size", where);
        }
        if (crop != null && crop.isNumber()) {
            cropH = cropW = side(crop, "crop_size", where);
        } else if (crop != null && crop.isObject() && keySet(crop).equals("height,width")) {
            cropH = side(crop.get("height"), "crop_size.height", where);
            cropW = side(crop.get("width"), "crop_size.width", where);
        } else if (crop != null && !crop.isNull()) {
            if (doCrop || !crop.isObject()) {
                throw new IllegalArgumentException(where + ": crop_size must be an integer, [height, width] or"
                        + " {\"height\": h, \"width\": w} to centre-crop, found " + crop);
            }
            cropH = cropW = -1;
        } else if (doCrop && (vitNamed || style == Style.VIT && named.isBlank())) {
            throw new IllegalArgumentException(where + ": do_center_crop is true but crop_size is missing"
                    + " (transformers' ViTImageProcessor has no default crop size)");
        } else {
            cropH = cropW = defaultSize;
        }
        doResize = flag(c, "do_resize", true, where);
        doRescale = flag(c, "do_rescale", true, where);
        doNormalize = flag(c, "do_normalize", true, where);
        String type = c.path("image_processor_type").asText("");
        // LlavaImageProcessor's do_pad is pad_to_square before resizing; the other classes pad after normalising
        boolean llava = type.contains("Llava") || type.contains("LLaVA");
        doPad = llava && flag(c, "do_pad", false, where);
        padAfter = !llava && flag(c, "do_pad", false, where);
        JsonNode ps = c.get("pad_size");
        if (padAfter && ps != null && !ps.isNull()) {
            if (!ps.isObject() || !keySet(ps).equals("height,width")) {
                throw new IllegalArgumentException(where + ": pad_size must be {\"height\": h, \"width\": w}, found "
                        + ps);
            }
            padH = side(ps.get("height"), "pad_size.height", where);
            padW = side(ps.get("width"), "pad_size.width", where);
        } else {
            padH = padW = -1;
        }
        JsonNode rf = c.get("rescale_factor");
        if (rf != null && !rf.isNull() && !(rf.isNumber() && Double.isFinite(rf.asDouble()) && rf.asDouble() > 0)) {
            throw new IllegalArgumentException(where + ": rescale_factor must be a positive number, found " + rf);
        }
        rescale = rf == null || rf.isNull() ? 1 / 255.0 : rf.asDouble();
        mean = doubles(c, "image_mean", defaultMean);
        std = doubles(c, "image_std", defaultStd);
        JsonNode rs = c.get("resample");
        floatResample = rs != null && rs.isFloatingPointNumber();
        if (rs != null && rs.isFloatingPointNumber() && Double.isFinite(rs.asDouble())) {
            // transformers' Pillow backend resizes with bilinear for a resample that is not an int (2.0 or 3.0 alike)
            rs = com.fasterxml.jackson.databind.node.IntNode.valueOf(2);
        }
        if (rs != null && !rs.isNull() && !(rs.isIntegralNumber() && rs.asInt() >= 0 && rs.asInt() <= 5)) {
            throw new IllegalArgumentException(where + ": resample " + rs
                    + " is not supported (Pillow codes: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)");
        }
        resample = rs == null || rs.isNull() ? style.resample : rs.asInt();
        if (doResize && shortestEdge <= 0 && maxH <= 0 && (resizeH <= 0 || resizeW <= 0)) {
            throw new IllegalArgumentException(where + ": size must give shortest_edge or height and width > 0");
        }
        if (doCrop && (cropH <= 0 || cropW <= 0)) {
            throw new IllegalArgumentException(where + ": crop_size must be > 0");
        }
        for (double s : std) {
            if (doNormalize && s == 0) {
                throw new IllegalArgumentException(where + ": image_std must not be 0");
            }
        }
    }

    private ImagePreprocessor(ImagePreprocessor o, Backend backend) {
        shortestEdge = o.shortestEdge;
        longestEdge = o.longestEdge;
        maxH = o.maxH;
        maxW = o.maxW;
        resizeH = o.resizeH;
        resizeW = o.resizeW;
        cropH = o.cropH;
        cropW = o.cropW;
        doResize = o.doResize;
        doCrop = o.doCrop;
        doRescale = o.doRescale;
        doNormalize = o.doNormalize;
        doPad = o.doPad;
        padAfter = o.padAfter;
        padH = o.padH;
        padW = o.padW;
        rescale = o.rescale;
        mean = o.mean;
        std = o.std;
        resample = o.resample;
        floatResample = o.floatResample;
        decoder = o.decoder;
        this.backend = backend;
    }

    /**
     * This processor with the pixels of transformers' {@code backend} image processors. The torchvision backend
     * refuses, as transformers' fails on them, a {@code resample} of box (4), hamming (5) or a float.
     */
    public ImagePreprocessor withBackend(Backend backend) {
        if (backend == Backend.TORCHVISION && doResize && floatResample) {
            throw new IllegalArgumentException("the torchvision image backend cannot resample with a float resample"
                    + " (transformers' torchvision processors refuse it): use the pil backend");
        }
        // box and hamming: refused when an image has to be resized (PillowResample), as PyTorch's interpolate has no
        // such filter; an image already at the size passes, as it does in transformers
        return backend == this.backend ? this : new ImagePreprocessor(this, backend);
    }

    public Backend backend() {
        return backend;
    }

    /**
     * torchvision's {@code center_crop} offset along a side of {@code n} pixels for a crop of {@code c}: past the
     * image, minus the {@code floor((c - n) / 2)} pixels of padding it adds before; else {@code round((n - c) / 2)},
     * half to even.
     */
    static int centerCropOffset(int n, int c) {
        return c > n ? -((c - n) / 2) : (int) Math.rint((n - c) / 2.0);
    }

    /** A boolean key: absent or null gives {@code dflt}; anything but true / false is refused. */
    private static boolean flag(JsonNode c, String key, boolean dflt, String where) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(where + ": " + key + " must be true or false, found " + n);
        }
        return n.booleanValue();
    }

    /** The key sets transformers' resize acts on (get_size_dict also admits longest_edge alone and min/max_pixels). */
    private static final java.util.Set<String> SIZE_KEYS = java.util.Set.of("height,width", "shortest_edge",
            "longest_edge,shortest_edge", "max_height,max_width");

    /** transformers' ViT image processor classes (no centre crop unless do_center_crop is set). */
    private static final List<String> VIT_PROCESSORS = List.of("ViTImageProcessor", "ViTImageProcessorFast",
            "ViTImageProcessorPil", "ViTFeatureExtractor");

    /** The sorted, comma-joined keys of an object. */
    private static String keySet(JsonNode o) {
        List<String> k = new java.util.ArrayList<>();
        o.fieldNames().forEachRemaining(k::add);
        java.util.Collections.sort(k);
        return String.join(",", k);
    }

    /** A {@code [height, width]} array as the object {@code {"height": h, "width": w}}. */
    private static JsonNode hwPair(JsonNode a, String key, String where) {
        if (a.size() != 2) {
            throw new IllegalArgumentException(where + ": " + key + " as a list must be [height, width], found " + a);
        }
        com.fasterxml.jackson.databind.node.ObjectNode o =
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        o.set("height", a.get(0));
        o.set("width", a.get(1));
        return o;
    }

    /** The longest side a size or crop size may name. */
    static final int MAX_SIDE = 1 << 16;

    /** A size, shortest edge or crop side: an integer in [1, {@link #MAX_SIDE}] (12.0 counts as 12). */
    private static int side(JsonNode n, String key, String where) {
        if (!dev.tessera.runtime.io.JsonFiles.isWhole(n) || !n.canConvertToInt() || n.intValue() < 1
                || n.intValue() > MAX_SIDE) {
            throw new IllegalArgumentException(where + ": " + key + " must be an integer in [1, " + MAX_SIDE
                    + "], found " + n);
        }
        return n.intValue();
    }

    /** image_mean / image_std: one number, or an array of one or three numbers. */
    private static double[] doubles(JsonNode c, String key, double[] dflt) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return dflt.clone();
        }
        if (!(n.isNumber() || n.isArray() && (n.size() == 1 || n.size() == 3)
                && java.util.stream.StreamSupport.stream(n.spliterator(), false).allMatch(JsonNode::isNumber))) {
            throw new IllegalArgumentException("preprocessor_config: " + key
                    + " must be a number or an array of 1 or 3 numbers, found " + n);
        }
        double[] out = new double[3];
        for (int i = 0; i < 3; i++) {
            out[i] = n.isArray() ? n.get(Math.min(i, n.size() - 1)).asDouble() : n.asDouble();
        }
        return out;
    }

    /** ImageNet mean/std (0.5) as transformers' ViTImageProcessor defaults. */
    public static final double[] HALF = {0.5, 0.5, 0.5};
    /** CLIP's mean. */
    public static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    /** CLIP's std. */
    public static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    /**
     * The processor of a model directory: its {@code preprocessor_config.json}, or, when absent, a resize to
     * {@code imageSize} square with the given default mean/std (a ViT-family model).
     */
    public static ImagePreprocessor load(Path dir, int imageSize, double[] defaultMean, double[] defaultStd,
            ImageDecoder decoder) {
        return load(dir, imageSize, Style.VIT, defaultMean, defaultStd, decoder);
    }

    /**
     * The processor of a model directory of the {@code model} family: its {@code preprocessor_config.json} (whose
     * processor type, when it names one, chooses the defaults, see {@link Style}), or, when absent, {@code model}'s
     * defaults at {@code imageSize}.
     */
    public static ImagePreprocessor load(Path dir, int imageSize, Style model, ImageDecoder decoder) {
        return load(dir, imageSize, model, model.mean, model.std, decoder);
    }

    private static ImagePreprocessor load(Path dir, int imageSize, Style model, double[] defaultMean,
            double[] defaultStd, ImageDecoder decoder) {
        Path f = dir.resolve("preprocessor_config.json");
        ObjectMapper om = new ObjectMapper();
        Path proc = dir.resolve("processor_config.json");
        if (!Files.isRegularFile(f) && Files.isRegularFile(proc)) {
            // transformers 5's processors save their image processor's settings nested in processor_config.json
            try {
                JsonNode n = om.readTree(proc.toFile()).get("image_processor");
                if (n != null && !n.isNull()) {
                    return new ImagePreprocessor(n, proc + " (image_processor)", imageSize, model, defaultMean,
                            defaultStd, decoder);
                }
            } catch (IOException e) {
                throw new IllegalArgumentException(proc + ": " + dev.tessera.runtime.io.JsonFiles.describe(e), e);
            }
        }
        if (Files.isRegularFile(f)) {
            try {
                return new ImagePreprocessor(om.readTree(f.toFile()), f.toString(), imageSize, model, defaultMean,
                        defaultStd, decoder);
            } catch (IOException e) {
                throw new IllegalArgumentException(f + ": " + dev.tessera.runtime.io.JsonFiles.describe(e), e);
            }
        }
        return new ImagePreprocessor(om.createObjectNode(), "defaults", imageSize, model, defaultMean, defaultStd,
                decoder);
    }

    /** A processor from a parsed {@code preprocessor_config.json} (a ViT-family model's defaults where silent). */
    public static ImagePreprocessor of(JsonNode config, int imageSize, double[] defaultMean, double[] defaultStd) {
        return of(config, imageSize, defaultMean, defaultStd, new ImageDecoder());
    }

    /** A processor from a parsed {@code preprocessor_config.json} using {@code decoder}. */
    public static ImagePreprocessor of(JsonNode config, int imageSize, double[] defaultMean, double[] defaultStd,
            ImageDecoder decoder) {
        return new ImagePreprocessor(config, "preprocessor_config", imageSize, Style.VIT, defaultMean, defaultStd,
                decoder);
    }

    /** A processor from a parsed {@code preprocessor_config.json} for a model of the {@code model} family. */
    public static ImagePreprocessor of(JsonNode config, int imageSize, Style model, ImageDecoder decoder) {
        return new ImagePreprocessor(config, "preprocessor_config", imageSize, model, model.mean, model.std, decoder);
    }

    /** Output height: pad_size's, else the crop's, else a fixed resize's; -1 when it follows the image. */
    public int outputHeight() {
        return padAfter && padH > 0 ? padH : doCrop ? cropH : doResize ? (shortestEdge > 0 ? -1 : resizeH) : -1;
    }

    /** Output width: pad_size's, else the crop's, else a fixed resize's; -1 when it follows the image. */
    public int outputWidth() {
        return padAfter && padW > 0 ? padW : doCrop ? cropW : doResize ? (shortestEdge > 0 ? -1 : resizeW) : -1;
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    /** Decodes and preprocesses {@code files} into one F32 {@code [N, 3, H, W]} tensor (all must give one size). */
    public Tensor preprocess(List<Path> files, Device device) {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no images");
        }
        // Each file is decoded and preprocessed as a task of a parallel stream (the common fork-join pool and the
        // calling thread); the first failure in the list's order is the one thrown, as a sequential loop would.
        int n = files.size();
        Result[] results = new Result[n];
        RuntimeException[] errors = new RuntimeException[n];
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
            try {
                results[i] = process(decoder.decode(files.get(i)));
            } catch (RuntimeException e) {
                errors[i] = e;
            }
        });
        for (RuntimeException e : errors) {
            if (e != null) {
                throw e;
            }
        }
        if (padAfter && padH < 0) { // do_pad without pad_size: every image padded to the batch's largest
            int mh = 0;
            int mw = 0;
            for (Result r : results) {
                mh = Math.max(mh, r.height());
                mw = Math.max(mw, r.width());
            }
            for (int i = 0; i < n; i++) {
                results[i] = padded(results[i], mh, mw);
            }
        }
        float[] all = null;
        int oh = 0;
        int ow = 0;
        for (int i = 0; i < n; i++) {
            Result r = results[i];
            if (all == null) {
                oh = r.height();
                ow = r.width();
                all = new float[n * 3 * oh * ow];
            } else if (r.height() != oh || r.width() != ow) {
                throw new IllegalArgumentException(files.get(i) + " preprocesses to " + r.height() + "x" + r.width()
                        + ", not " + oh + "x" + ow + " as the first image (set do_center_crop or size height/width)");
            }
            System.arraycopy(r.chw(), 0, all, i * r.chw().length, r.chw().length);
        }
        return Tensor.of(all, device, files.size(), 3, oh, ow);
    }

    /**
     * transformers' {@code get_size_with_aspect_ratio((h, w), size, max_size)} for {@code size = {shortest_edge,
     * longest_edge}}: the short side to {@code size} unless the long side would pass {@code maxSize}, then the long
     * side to {@code maxSize}, in its double arithmetic (Python's round half to even, int() truncation).
     */
    static int[] sizeWithAspectRatio(int h, int w, int size, int maxSize) {
        double raw = Double.NaN;
        double minOrig = Math.min(h, w);
        double maxOrig = Math.max(h, w);
        if (maxOrig / minOrig * size > maxSize) {
            raw = maxSize * minOrig / maxOrig;
            size = (int) Math.rint(raw);
        }
        if (h <= w && h == size || w <= h && w == size) {
            return new int[] {h, w};
        }
        if (w < h) {
            return new int[] {(int) (Double.isNaN(raw) ? (double) size * h / w : raw * h / w), size};
        }
        return new int[] {size, (int) (Double.isNaN(raw) ? (double) size * w / h : raw * w / h)};
    }

    /** {@code r} with zeros below and to the right up to {@code h x w} (transformers' pad after normalising). */
    private static Result padded(Result r, int h, int w) {
        if (r.height() > h || r.width() > w) {
            throw new IllegalArgumentException("pad_size " + h + "x" + w + " is smaller than a preprocessed image of "
                    + r.height() + "x" + r.width() + " (transformers: \"Padding dimensions are negative\")");
        }
        if (r.height() == h && r.width() == w) {
            return r;
        }
        float[] out = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < r.height(); y++) {
                System.arraycopy(r.chw(), (c * r.height() + y) * r.width(), out, (c * h + y) * w, r.width());
            }
        }
        return new Result(h, w, out);
    }

    /** One preprocessed image: {@code chw} holds {@code 3 * height * width} floats. */
    public record Result(int height, int width, float[] chw) {}

    /** The (height, width) an {@code h x w} image (after LLaVA's padding) is resized to, before the crop. */
    int[] resizedSize(int h, int w) {
        int nh = h;
        int nw = w;
        if (doResize) {
            if (shortestEdge > 0 && longestEdge > 0 && backend == Backend.TRANSFORMS) {
                int[] hw = resizeWithMaxSize(h, w, shortestEdge, longestEdge);
                nh = hw[0];
                nw = hw[1];
            } else if (shortestEdge > 0 && longestEdge > 0) {
                int[] hw = sizeWithAspectRatio(h, w, shortestEdge, longestEdge);
                nh = positive(hw[0], h, w);
                nw = positive(hw[1], h, w);
            } else if (shortestEdge > 0) {
                if (h <= w) {
                    nh = shortestEdge;
                    nw = (int) ((long) shortestEdge * w / h);
                } else {
                    nw = shortestEdge;
                    nh = (int) ((long) shortestEdge * h / w);
                }
                nh = Math.max(nh, 1);
                nw = Math.max(nw, 1);
            } else if (maxH > 0) { // transformers' get_image_size_for_max_height_width
                double scale = Math.min((double) maxH / h, (double) maxW / w);
                nh = positive((int) (h * scale), h, w);
                nw = positive((int) (w * scale), h, w);
            } else {
                nh = resizeH;
                nw = resizeW;
            }
        }
        return new int[] {nh, nw};
    }

    /**
     * torchvision's {@code Resize(size, max_size=maxSize)}: the short side to {@code size} and the long one in
     * proportion (truncated), unless that passes {@code maxSize}: then the long side is {@code maxSize} and the short
     * one {@code int(maxSize * short / long)}; {@code maxSize <= size} is refused, as torchvision refuses it.
     */
    static int[] resizeWithMaxSize(int h, int w, int size, int maxSize) {
        if (maxSize <= size) {
            throw new IllegalArgumentException("size.longest_edge (" + maxSize + ") must be larger than shortest_edge ("
                    + size + ") for the transforms backend (torchvision's Resize max_size)");
        }
        int shortSide = Math.min(h, w);
        int longSide = Math.max(h, w);
        int newShort = size;
        int newLong = (int) ((double) size * longSide / shortSide);
        if (newLong > maxSize) {
            newShort = (int) ((double) maxSize * newShort / newLong);
            newLong = maxSize;
        }
        newShort = positive(newShort, h, w);
        return w <= h ? new int[] {newLong, newShort} : new int[] {newShort, newLong};
    }

    /** A resized side, refused when it comes out 0 (transformers: "height and width must be > 0"). */
    private static int positive(int side, int h, int w) {
        if (side < 1) {
            throw new IllegalArgumentException("preprocessing a " + w + "x" + h + " image: its size rule resizes one"
                    + " side to 0 pixels (too extreme an aspect ratio for this size)");
        }
        return side;
    }

    /** Pad (LLaVA), resize, crop, rescale, normalise one decoded image. */
    public Result process(RgbImage img) {
        int h0 = img.height();
        int w0 = img.width();
        // LlavaImageProcessor.pad_to_square: the image centred (offset floor((side - extent) / 2)) on a square
        int h = doPad ? Math.max(h0, w0) : h0;
        int w = doPad ? Math.max(h0, w0) : w0;
        int padTop = (h - h0) / 2;
        int padLeft = (w - w0) / 2;
        int[] resized = resizedSize(h, w);
        int nh = resized[0];
        int nw = resized[1];
        int oh = doCrop ? cropH : nh;
        int ow = doCrop ? cropW : nw;
        if ((long) h * w > decoder.maxPixels() || (long) nh * nw > decoder.maxPixels()
                || (long) oh * ow > decoder.maxPixels()) {
            throw new IllegalArgumentException("preprocessing a " + w + "x" + h + " image resizes it to " + nw + "x" + nh
                    + (doCrop ? " and crops " + ow + "x" + oh : "") + ": more than the limit of "
                    + decoder.maxPixels() + " pixels");
        }
        // transformers' center_crop: top = (h - crop_h) // 2 (floor, also when padding, i.e. ceil((crop_h - h) / 2)
        // rows of padding above); its torchvision backend pads floor((crop_h - h) / 2) rows above; torchvision's
        // CenterCrop pads so too, and otherwise rounds (h - crop_h) / 2 half to even
        boolean torch = backend == Backend.TORCHVISION;
        boolean transforms = backend == Backend.TRANSFORMS;
        int top = torch ? (nh - oh) / 2 : transforms ? centerCropOffset(nh, oh) : Math.floorDiv(nh - oh, 2);
        int left = torch ? (nw - ow) / 2 : transforms ? centerCropOffset(nw, ow) : Math.floorDiv(nw - ow, 2);
        byte[] src = img.rgb();
        if (doPad) {
            src = new byte[h * w * 3];
            for (int c = 0; c < 3; c++) {
                // Python's int(): toward zero; a fill colour holds 8 bits (Pillow clips one)
                byte bg = (byte) Math.max(0, Math.min(255, (int) (mean[c] * 255)));
                for (int i = c; i < src.length; i += 3) {
                    src[i] = bg;
                }
            }
            for (int y = 0; y < h0; y++) {
                System.arraycopy(img.rgb(), y * w0 * 3, src, ((y + padTop) * w + padLeft) * 3, w0 * 3);
            }
        }
        // the crop window of the resized image (0 where the crop passes its edges), interleaved RGB
        byte[] window = PillowResample.resizeWindow(src, 3, w, h, nw, nh, resample, torch, top, left, oh, ow);
        float[] out = new float[3 * oh * ow];
        for (int c = 0; c < 3; c++) {
            // torchvision backend, float32 throughout: with both rescale and normalise, (x - m) / s where m and s are
            // the float32 mean and std times (float) (1 / rescale_factor); otherwise x * rescale or (x - mean) / std
            float s = (float) (1.0 / rescale);
            float m = doRescale ? (float) mean[c] * s : (float) mean[c];
            float sd = doRescale ? (float) std[c] * s : (float) std[c];
            for (int i = 0; i < oh * ow; i++) {
                int p = window[i * 3 + c] & 0xFF;
                float f;
                if (torch) {
                    f = doNormalize ? (p - m) / sd : doRescale ? p * (float) rescale : p;
                } else if (transforms) { // ToTensor's x / 255, then Normalize's (x - mean) / std, in float32
                    float t = doRescale ? p / s : p;
                    f = doNormalize ? (t - (float) mean[c]) / (float) std[c] : t;
                } else { // transformers' numpy path: float32(x * rescale), then (x - mean) / std in float32
                    float t = doRescale ? (float) (p * rescale) : p;
                    f = doNormalize ? (t - (float) mean[c]) / (float) std[c] : t;
                }
                out[c * oh * ow + i] = f;
            }
        }
        Result r = new Result(oh, ow, out);
        return padAfter && padH > 0 ? padded(r, padH, padW) : r;
    }
}
