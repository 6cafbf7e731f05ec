package dev.tessera.cli;

import dev.tessera.models.text.PyStrings;
import dev.tessera.models.whisper.WordTimestamps;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Subtitle cues built from timed words, as openai-whisper's SRT and VTT writers build them with word timestamps:
 * one cue per segment (or, with both a line width and a line count, cues that run across segments and break at the
 * line count or at a pause over 3 s), lines broken at {@code maxLineWidth} characters, at most
 * {@code maxWordsPerLine} words a cue (within a segment), and with {@code highlight} a cue per word with that word
 * underlined ({@code <u>…</u>}) and the gaps between words shown plain. Fed segment by segment, so cues print as
 * they are decoded; {@link #finish()} gives the last.
 */
final class WordCues {
    /** A cue: times in seconds and its text. */
    record Cue(double start, double end, String text) {}

    /** Python's {@code ^(\s*)(.*)$}: {@code .} stops only at {@code \n}, {@code $} also matches before a final one. */
    private static final Pattern LEADING_SPACE = Pattern.compile("^(\\s*)(.*)$",
            Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNIX_LINES);

    private static final class Timed {
        String word;
        final double start;
        final double end;

        Timed(WordTimestamps.Word w) {
            word = w.word();
            start = w.start();
            end = w.end();
        }
    }

    private final Integer maxLineCount;
    private final int maxLineWidth;
    private final int maxWordsPerLine;
    private final boolean preserveSegments;
    private final boolean highlight;
    private int lineLength;
    private int lineCount = 1;
    private List<Timed> subtitle = new ArrayList<>();
    private Double last;

    /** Null options take openai-whisper's defaults (no limit: 1000 characters, 1000 words). */
    WordCues(Integer maxLineWidth, Integer maxLineCount, Integer maxWordsPerLine, boolean highlight) {
        this.preserveSegments = maxLineCount == null || maxLineWidth == null;
        this.maxLineCount = maxLineCount;
        this.maxLineWidth = maxLineWidth == null ? 1000 : maxLineWidth;
        this.maxWordsPerLine = maxWordsPerLine == null ? 1000 : maxWordsPerLine;
        this.highlight = highlight;
    }

    /** Takes the next segment's words; returns the cues completed by them. */
    List<Cue> add(List<WordTimestamps.Word> words) {
        List<Cue> out = new ArrayList<>();
        int n = words.size();
        for (int chunk = 0; chunk < n; chunk += maxWordsPerLine) {
            int count = Math.min(maxWordsPerLine, n - chunk);
            for (int i = 0; i < count; i++) {
                Timed t = new Timed(words.get(chunk + i));
                if (last == null) {
                    last = t.start; // the first word's start
                }
                boolean longPause = !preserveSegments && t.start - last > 3.0;
                boolean hasRoom = lineLength + length(t.word) <= maxLineWidth;
                boolean segmentBreak = i == 0 && !subtitle.isEmpty() && preserveSegments;
                if (lineLength > 0 && hasRoom && !longPause && !segmentBreak) {
                    lineLength += length(t.word);
                } else {
                    t.word = PyStrings.strip(t.word);
                    if (!subtitle.isEmpty() && maxLineCount != null && (longPause || lineCount >= maxLineCount)
                            || segmentBreak) {
                        emit(subtitle, out);
                        subtitle = new ArrayList<>();
                        lineCount = 1;
                    } else if (lineLength > 0) {
                        lineCount++;
                        t.word = "\n" + t.word;
                    }
                    lineLength = length(PyStrings.strip(t.word));
                }
                subtitle.add(t);
                last = t.start;
            }
        }
        return out;
    }

    /** The cues of the words not yet given out. */
    List<Cue> finish() {
        List<Cue> out = new ArrayList<>();
        if (!subtitle.isEmpty()) {
            emit(subtitle, out);
            subtitle = new ArrayList<>();
        }
        return out;
    }

    private void emit(List<Timed> sub, List<Cue> out) {
        StringBuilder text = new StringBuilder();
        for (Timed t : sub) {
            text.append(t.word);
        }
        if (!highlight) {
            out.add(new Cue(sub.get(0).start, sub.get(sub.size() - 1).end, text.toString()));
            return;
        }
        double lastTime = sub.get(0).start;
        for (int i = 0; i < sub.size(); i++) {
            Timed w = sub.get(i);
            if (millis(lastTime) != millis(w.start)) {
                out.add(new Cue(lastTime, w.start, text.toString()));
            }
            StringBuilder marked = new StringBuilder();
            for (int j = 0; j < sub.size(); j++) {
                String word = sub.get(j).word;
                if (j == i) {
                    Matcher m = LEADING_SPACE.matcher(word);
                    if (m.find()) { // no match (a line break inside the word): left as it is, as re.sub leaves it
                        word = word.substring(0, m.start()) + m.group(1) + "<u>" + m.group(2) + "</u>"
                                + word.substring(m.end());
                    }
                }
                marked.append(word);
            }
            out.add(new Cue(w.start, w.end, marked.toString()));
            lastTime = w.end;
        }
    }

    private static long millis(double seconds) {
        return (long) Math.rint(seconds * 1000);
    }

    private static int length(String s) {
        return s.codePointCount(0, s.length());
    }
}
