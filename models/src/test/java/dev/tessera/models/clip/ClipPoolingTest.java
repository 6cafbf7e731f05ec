package dev.tessera.models.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * Where the CLIP text tower pools, as transformers' {@code CLIPTextTransformer} decides for a batch: each row's
 * largest id when every row's largest id is 49407, else each row's first {@code eos_token_id} (0 without one).
 */
class ClipPoolingTest {
    @Test
    void theOriginalVocabularyPoolsAtTheLargestIdWhateverTheConfigSays() {
        int[][] ids = {{49406, 320, 1929, 49407}, {49406, 49407, 49407, 49407}};
        assertArrayEquals(new int[] {3, 1}, ClipTextModel.poolPositions(ids, 2));
        assertArrayEquals(new int[] {3, 1}, ClipTextModel.poolPositions(ids, 49407));
    }

    @Test
    void otherwiseTheFirstEosOrTheFirstToken() {
        // vocab of 99 with the legacy eos_token_id 2: 98 is the largest id but not 49407, so id 2 decides
        int[][] ids = {{97, 5, 6, 7, 98}, {97, 40, 2, 98}, {97, 3, 2, 5, 2, 98}};
        assertArrayEquals(new int[] {0, 2, 2}, ClipTextModel.poolPositions(ids, 2));
        assertArrayEquals(new int[] {4, 3, 5}, ClipTextModel.poolPositions(ids, 98));
    }

    @Test
    void oneRowOutsideTheOriginalVocabularyTurnsTheWholeBatch() {
        int[][] ids = {{49406, 320, 49407}, {49406, 49500, 49407, 7}};
        assertArrayEquals(new int[] {2, 2}, ClipTextModel.poolPositions(ids, 49407));
        assertArrayEquals(new int[] {2}, ClipTextModel.poolPositions(new int[][] {ids[0]}, 7));
        assertArrayEquals(new int[] {0, 3}, ClipTextModel.poolPositions(ids, 7));
    }
}
