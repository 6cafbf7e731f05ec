package dev.tessera.models.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    /** A word-level tokenizer written here, so the expected ids follow from the vocabulary by hand. */
    private static final String JSON = """
            {"version":"1.0","truncation":null,"padding":null,"added_tokens":[
              {"id":0,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
              {"id":1,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
              {"id":2,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
             "normalizer":{"type":"Lowercase"},
             "pre_tokenizer":{"type":"Whitespace"},
             "post_processor":{"type":"TemplateProcessing",
               "single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
               "pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
               "special_tokens":{"[CLS]":{"id":"[CLS]","ids":[1],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[2],"tokens":["[SEP]"]}}},
             "decoder":null,
             "model":{"type":"WordLevel","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"a":3,"cat":4,"sits":5},"unk_token":"[UNK]"}}
            """;

    @Test
    void encodesAndDecodesWithSpecialTokens(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), JSON);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {1, 3, 4, 5, 0, 2}, t.encode("A cat sits here", true));
            assertArrayEquals(new int[] {3, 4}, t.encode("a cat", false));
            assertEquals("a cat sits", t.decode(new int[] {1, 3, 4, 5, 2}, true));
            assertEquals(4, t.tokenToId("cat"));
        }
    }

    @Test
    void refusesMissingAndMalformedFiles(@TempDir Path dir) throws Exception {
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(dir.resolve("nope.json")));
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{not json");
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(bad));
    }

    /**
     * A tokenizer closed while other threads encode with it: the close waits for the encodes in progress (the Rust
     * tokenizer is freed after them, never under them), later calls get "is closed", and a second close is a no-op.
     */
    @Test
    void closeWhileOtherThreadsEncode(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), JSON);
        Tokenizer t = Tokenizer.load(dir);
        String text = "a cat sits ".repeat(2000);
        int[] want = t.encode(text, true);
        int calls = dev.tessera.runtime.testing.CloseRace.run(4, 1, () -> {
            assertArrayEquals(want, t.encode(text, true));
            return null;
        }, t::close);
        assertTrue(calls >= 4, "the threads encoded before the close");
        assertTrue(assertThrows(IllegalStateException.class, () -> t.decode(new int[] {3}, true)).getMessage()
                .contains("is closed"));
        t.close();
    }
}
