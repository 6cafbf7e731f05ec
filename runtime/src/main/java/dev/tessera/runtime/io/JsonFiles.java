package dev.tessera.runtime.io;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;

/**
 * The errors of JSON files read with Jackson (config.json, preprocessor_config.json, tokenizer.json, indexes) as one
 * line: Jackson's own message adds a second line ({@code  at [Source: ...; line: 2, column: 1]}), which would break
 * the CLI's one-line errors.
 */
public final class JsonFiles {
    private JsonFiles() {}

    /** {@code e}'s message in one line: for a JSON syntax error, what is wrong and where ("(line 2, column 1)"). */
    public static String describe(IOException e) {
        if (e instanceof JsonProcessingException j) {
            JsonLocation at = j.getLocation();
            String m = j.getOriginalMessage();
            return oneLine(m) + (at == null || at.getLineNr() < 0 ? ""
                    : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
        }
        return oneLine(e.getMessage());
    }

    /** Whether {@code n} is a whole number: an integer, or a float without a fraction (12.0 counts as 12). */
    public static boolean isWhole(com.fasterxml.jackson.databind.JsonNode n) {
        return n != null && (n.isIntegralNumber()
                || n.isFloatingPointNumber() && n.doubleValue() == Math.rint(n.doubleValue()));
    }

    /** {@code s} with its line breaks (and the indentation after them) turned into single spaces. */
    public static String oneLine(String s) {
        return s == null ? null : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
