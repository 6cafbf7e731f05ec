package dev.tessera.cli;

import dev.tessera.models.text.PyStrings;
import dev.tessera.models.whisper.Transcriber;
import java.util.List;
import java.util.Locale;

/**
 * One file's transcript in one of the text formats, written as its segments come, as openai-whisper's writers write
 * them: txt (a segment per line), srt and vtt (a cue per segment, or cues built from the words with word timestamps,
 * {@link WordCues}), tsv ({@code start\tend\ttext}, times in integer milliseconds). Segments whose text is blank are
 * skipped (no empty lines or cues). json is made from the whole transcript by the command.
 */
final class TranscriptWriter {
    /** The formats a file can be written in ({@code all} writes each). */
    static final List<String> FORMATS = List.of("txt", "vtt", "srt", "tsv", "json");

    private final String format;
    private final WordCues words;
    private int cues;

    /**
     * A writer for {@code format}; with {@code words} (srt / vtt with word timestamps) the cues follow the words with
     * the line options of {@link WordCues}.
     */
    TranscriptWriter(String format, WordCues words) {
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("no writer for format " + format);
        }
        this.format = format;
        this.words = format.equals("srt") || format.equals("vtt") ? words : null;
    }

    /** What a file (or the output of several files) starts with: the WebVTT header, the TSV column names. */
    static String header(String format) {
        return switch (format) {
            case "vtt" -> "WEBVTT\n\n";
            case "tsv" -> "start\tend\ttext\n";
            default -> "";
        };
    }

    /** The text for the next segment (possibly empty: json, a blank segment, or cues still being built from words). */
    String segment(Transcriber.Segment s) {
        if (words != null) {
            return cues(words.add(s.words()));
        }
        if (format.equals("json") || PyStrings.isBlank(s.text())) {
            return "";
        }
        String text = PyStrings.strip(s.text());
        return switch (format) {
            case "txt" -> text + "\n";
            case "tsv" -> (long) Math.rint(1000 * s.start()) + "\t" + (long) Math.rint(1000 * s.end()) + "\t"
                    + text.replace("\t", " ") + "\n";
            default -> cue(s.start(), s.end(), text.replace("-->", "->"));
        };
    }

    /** The text after the last segment (the last cue built from words). */
    String finish() {
        return words == null ? "" : cues(words.finish());
    }

    private String cues(List<WordCues.Cue> cs) {
        StringBuilder b = new StringBuilder();
        for (WordCues.Cue c : cs) {
            b.append(cue(c.start(), c.end(), c.text()));
        }
        return b.toString();
    }

    /** A cue as openai-whisper's writers print it: SRT numbered from 1, VTT not. */
    private String cue(double start, double end, String text) {
        boolean srt = format.equals("srt");
        return (srt ? ++cues + "\n" : "") + time(start, srt) + " --> " + time(end, srt) + "\n" + text + "\n\n";
    }

    /**
     * A cue time as openai-whisper formats it: SRT {@code HH:MM:SS,mmm}; VTT {@code MM:SS.mmm}, with the hours in
     * front only from the first hour on; milliseconds rounded half to even, as Python's {@code round}.
     */
    static String time(double sec, boolean srt) {
        long ms = (long) Math.rint(sec * 1000);
        long h = ms / 3_600_000;
        String hours = srt || h > 0 ? String.format(Locale.ROOT, "%02d:", h) : "";
        return hours + String.format(Locale.ROOT, "%02d:%02d%s%03d", ms / 60_000 % 60, ms / 1000 % 60, srt ? "," : ".",
                ms % 1000);
    }
}
