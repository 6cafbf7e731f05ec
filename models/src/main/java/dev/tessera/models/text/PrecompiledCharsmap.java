package dev.tessera.models.text;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Checks a SentencePiece {@code precompiled_charsmap} (the {@code Precompiled} normalizer of T5, XLM-R, ALBERT,
 * mT5 ... tokenizer.json files) before the Rust {@code tokenizers} library uses it. Its layout: a little-endian u32
 * byte length of the trie, the trie as a Darts double array of u32 units, then the replacement strings, each ended
 * by a NUL. The library indexes the array and slices the strings without bounds checks, so a damaged map (an empty
 * trie, an offset past the end, a replacement index past the strings or inside a UTF-8 character) makes it panic at
 * the first encode, and a panic across DJL's JNI aborts the JVM (exit 134, checked by hand with DJL 0.38). This
 * walks every state the library's search can reach, for every input byte, and names the first out-of-range access.
 *
 * <p>Unit fields, as SentencePiece's Darts-clone writes them: bits 0-7 the label byte (bit 31 set marks a value
 * unit, which no byte matches); bit 8 "has a leaf"; bits 10-31 the offset to the children, shifted left by 8 more
 * when bit 9 is set; a value unit's bits 0-30 are an index into the strings. The search starts at
 * {@code 0 ^ offset(unit[0])}; byte {@code c} moves from position {@code p} to unit {@code p ^ c}, which must carry
 * label {@code c}; its children then start at {@code (p ^ c) ^ offset}, and if it has a leaf, the unit there holds
 * the value.
 */
final class PrecompiledCharsmap {
    private PrecompiledCharsmap() {}

    /** What the library would panic on when normalizing with this map, or null when there is nothing. */
    static String problem(byte[] map) {
        if (map.length < 4) {
            return "shorter than its 4-byte trie length";
        }
        ByteBuffer b = ByteBuffer.wrap(map).order(ByteOrder.LITTLE_ENDIAN);
        long trieBytes = b.getInt(0) & 0xffffffffL;
        long units = trieBytes / 4;
        if (4 + 4 * units > map.length) {
            return "its trie of " + trieBytes + " bytes runs past the end of the " + map.length + "-byte map";
        }
        int n = (int) units;
        if (n == 0) {
            return "its trie is empty";
        }
        int stringsAt = 4 + 4 * n;
        byte[] strings = java.util.Arrays.copyOfRange(map, stringsAt, map.length);
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(strings));
        } catch (CharacterCodingException e) {
            return "its replacement strings are not UTF-8";
        }
        long[] unit = new long[n];
        for (int i = 0; i < n; i++) {
            unit[i] = b.getInt(4 + 4 * i) & 0xffffffffL;
        }
        // states: (position, continuation bytes still owed by the UTF-8 character being read); each visited once
        boolean[] seen = new boolean[n * 4];
        int[] stack = new int[n * 4];
        int top = 0;
        long start = offset(unit[0]);
        if (start >= n) {
            return "its root points to unit " + start + " of " + n;
        }
        stack[top++] = (int) start * 4;
        seen[(int) start * 4] = true;
        while (top > 0) {
            int s = stack[--top];
            int p = s >>> 2;
            int owed = s & 3;
            for (int c = 1; c < 256; c++) {
                long q = p ^ c;
                if (q >= n) {
                    return "byte " + c + " after unit " + p + " reads unit " + q + " of " + n;
                }
                long u = unit[(int) q];
                if ((u & 0x800000ffL) != c) {
                    continue;
                }
                int nextOwed;
                if (owed > 0) {
                    if ((c & 0xc0) != 0x80) {
                        continue; // not a continuation byte: no UTF-8 text takes this step
                    }
                    nextOwed = owed - 1;
                } else if (c < 0x80) {
                    nextOwed = 0;
                } else if (c >= 0xc2 && c <= 0xdf) {
                    nextOwed = 1;
                } else if (c >= 0xe0 && c <= 0xef) {
                    nextOwed = 2;
                } else if (c >= 0xf0 && c <= 0xf4) {
                    nextOwed = 3;
                } else {
                    continue; // a byte no UTF-8 text starts a character with
                }
                long child = q ^ offset(u);
                if (((u >>> 8) & 1) == 1) {
                    if (child >= n) {
                        return "the leaf under unit " + q + " is unit " + child + " of " + n;
                    }
                    if (nextOwed > 0) {
                        return "a replacement ends inside a UTF-8 character (unit " + q + ")";
                    }
                    long index = unit[(int) child] & 0x7fffffffL;
                    if (index > strings.length) {
                        return "replacement index " + index + " is past the " + strings.length + " bytes of strings";
                    }
                    if (index < strings.length && (strings[(int) index] & 0xc0) == 0x80) {
                        return "replacement index " + index + " is inside a UTF-8 character";
                    }
                }
                if (child >= n) {
                    return "the children of unit " + q + " start at unit " + child + " of " + n;
                }
                int next = (int) child * 4 + nextOwed;
                if (!seen[next]) {
                    seen[next] = true;
                    stack[top++] = next;
                }
            }
        }
        return null;
    }

    private static long offset(long u) {
        return (u >>> 10) << ((u & (1L << 9)) >>> 6);
    }
}
