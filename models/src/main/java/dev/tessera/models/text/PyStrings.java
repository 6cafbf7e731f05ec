package dev.tessera.models.text;

/**
 * Python's notion of whitespace ({@code str.isspace}, {@code str.strip}), which the reference implementations
 * (Jinja2 chat templates, openai-whisper's segment texts) use: Java's {@code String.strip} and {@code isBlank} leave
 * U+00A0, U+2007 and U+202F alone, Python takes them as spaces.
 */
public final class PyStrings {
    private PyStrings() {}

    /** Python's {@code str.isspace} for one character. */
    public static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    /** {@code s.strip(chars)} / {@code lstrip} / {@code rstrip}; {@code chars} null: whitespace. */
    public static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0;
        int e = s.length();
        while (left && b < e && (chars == null ? isSpace(s.charAt(b)) : chars.indexOf(s.charAt(b)) >= 0)) {
            b++;
        }
        while (right && e > b && (chars == null ? isSpace(s.charAt(e - 1)) : chars.indexOf(s.charAt(e - 1)) >= 0)) {
            e--;
        }
        return s.substring(b, e);
    }

    /** {@code s.strip()}. */
    public static String strip(String s) {
        return strip(s, null, true, true);
    }

    /** {@code s.strip() == ""}. */
    public static boolean isBlank(String s) {
        return strip(s).isEmpty();
    }
}
