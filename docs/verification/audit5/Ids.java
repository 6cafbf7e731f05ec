import dev.tessera.models.bert.SentenceEncoder;
import dev.tessera.runtime.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.*;
import java.util.*;
public class Ids {
    public static void main(String[] a) throws Exception {
        ObjectMapper om = new ObjectMapper();
        List<String> t = om.readValue(Path.of("texts.json").toFile(), List.class);
        List<int[]> out = new ArrayList<>();
        try (SentenceEncoder e = SentenceEncoder.load("minilm", Device.CPU)) {
            for (String s : t) out.add(e.tokenize(s));
            System.out.println("maxLength " + e.maxLength());
        }
        om.writeValue(Path.of("ours_ids.json").toFile(), out);
    }
}
