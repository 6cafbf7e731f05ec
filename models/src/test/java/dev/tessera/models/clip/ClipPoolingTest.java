package dev.tessera.models.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * Where the CLIP text tower pools, as transformers' {@code CLIPTextTransformer} (4.31 to 5.x) decides: each row's
 * largest id when {@code eos_token_id} is the legacy 2, else each row's first {@code eos_token_id} (0 without one).
 */
class ClipPoolingTest {
    @Test
    void theLegacyEosIdPoolsAtTheLargestIdWhateverTheVocabulary() {
        int[][] original = {{49406, 320, 1929, 49407}, {49406, 49407, 49407, 49407}};
        assertArrayEquals(new int[] {3, 1}, ClipTextModel.poolPositions(original, 2));
        // a small vocabulary with the legacy id: still the largest id, even where id 2 occurs
        int[][] small = {{97, 5, 6, 7, 98}, {97, 40, 2, 98}, {97, 3, 2, 5, 2, 98}, {97, 2, 2, 2}};
        assertArrayEquals(new int[] {4, 3, 5, 0}, ClipTextModel.poolPositions(small, 2));
    }

    @Test
    void anyOtherEosIdPoolsAtItsFirstOccurrenceOrTheFirstToken() {
        int[][] original = {{49406, 320, 1929, 49407}, {49406, 49407, 49407, 49407}};
        assertArrayEquals(new int[] {3, 1}, ClipTextModel.poolPositions(original, 49407));
        // the largest id being 49407 does not matter: an eos id that does not occur pools at position 0
        assertArrayEquals(new int[] {0, 0}, ClipTextModel.poolPositions(original, 7));
        assertArrayEquals(new int[] {2, 0}, ClipTextModel.poolPositions(new int[][] {{49406, 320, 7, 7, 49407},
            {49406, 49407}}, 7));
        int[][] small = {{97, 5, 6, 7, 98}, {97, 40, 2, 98}, {97, 3, 2, 5, 2, 98}};
        assertArrayEquals(new int[] {4, 3, 5}, ClipTextModel.poolPositions(small, 98));
    }
}
