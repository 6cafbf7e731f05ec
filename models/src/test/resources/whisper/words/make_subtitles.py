#!/usr/bin/python3
"""SRT / WebVTT subtitle fixtures in word-timestamp mode (an independent reference).

What it is: a plain-Python (standard library only) re-implementation, written from the published source of
openai-whisper (github.com/openai/whisper, MIT; whisper/utils.py: format_timestamp, get_start,
SubtitlesWriter.iterate_result, WriteVTT.write_result, WriteSRT.write_result; whisper/transcribe.py cli(), which
passes --max_line_width, --max_line_count, --max_words_per_line and --highlight_words to the writers as keyword
arguments). No code is copied and openai-whisper is not imported; the logic is written anew below and reproduces the
writers' behaviour, Python details included:

  * option defaults are `value or None` (0 counts as not given); segments are kept apart ("preserve_segments")
    unless BOTH max_line_width and max_line_count are given; then max_line_width and max_words_per_line default to
    1000;
  * a word starts a new line when the current line is empty (line length 0), or when
    line length + len(word) > max_line_width (len() counts code points, the word's leading space included), or on a
    long pause (only when segments are not preserved: this word's start minus the previous word's start > 3.0 s), or
    at the first word of each max_words_per_line chunk of a segment when segments are preserved ("seg_break");
  * a word that starts a new line is str.strip()-ed (Unicode whitespace, both ends); it then closes the subtitle when
    the subtitle is not empty and either seg_break, or max_line_count is given and (long pause or line count >=
    max_line_count); otherwise, when the line length was > 0, it gets a "\\n" prefix (a line break); the new line
    length is len(stripped word) (so a whitespace-only word leaves it at 0);
  * continuation words keep their text as is and add len(word) to the line length;
  * cue times: first word's start, last word's end, formatted with round(seconds * 1000.0) (Python's round: half to
    even on the double product), SRT "HH:MM:SS,mmm" (hours always), VTT "MM:SS.mmm" below one hour and
    "HH:MM:SS.mmm" from one hour on (hours are at least two digits, more when needed);
  * highlight_words: one cue per word, the word's text rewritten with re.sub(r"^(\\s*)(.*)$", r"\\1<u>\\2</u>", ...)
    and the other words unchanged, plus a cue with the plain subtitle text for every gap, a gap being a difference of
    the FORMATTED strings (previous word's end, or the subtitle's start for the first word, vs this word's start);
  * SRT: f"{i}\\n{start} --> {end}\\n{text}\\n" + "\\n" per cue, numbered from 1; VTT: "WEBVTT\\n\\n", then
    f"{start} --> {end}\\n{text}\\n" + "\\n" per cue (what print() writes). No escaping of "-->" or "<" in word mode.

Inputs: alignment_cases.json.gz in this folder (its "segments_out"; made by make_words.py) and synthetic segment
lists defined below. Output: subtitle_cases.json.gz (gzipped) in this folder, a JSON list with one case per line:
{name, segments, options, srt, vtt}; options holds max_line_width, max_line_count, max_words_per_line and
highlight_words, null meaning "not given".

Run from anywhere:   /usr/bin/python3 make_subtitles.py
Deterministic; it prints a summary (cases, cases with line breaks, subtitle breaks caused by long pauses, highlight
gap cues).
"""
import gzip
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
OPTION_KEYS = ("max_line_width", "max_line_count", "max_words_per_line", "highlight_words")


# ------------------------------------------------------------------------------------------------- timestamps
def timestamp(seconds, hours_always, marker):
    """openai-whisper's format_timestamp: integer milliseconds by Python round() of seconds * 1000.0."""
    if seconds < 0:
        raise ValueError("non-negative timestamp expected")
    total_ms = round(seconds * 1000.0)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1_000)
    head = "%02d:" % hours if (hours_always or hours > 0) else ""
    return "%s%02d:%02d%s%03d" % (head, minutes, secs, marker, millis)


SRT_FORMAT = (True, ",")
VTT_FORMAT = (False, ".")


# ------------------------------------------------------------------------------------------------- grouping
class Stats:
    def __init__(self):
        self.line_breaks = 0
        self.pause_breaks = 0
        self.count_breaks = 0
        self.segment_breaks = 0
        self.gap_cues = 0


def resolve_options(options):
    """The `keyword or options.get(...)` chain of iterate_result, with the CLI's keyword arguments."""
    width = options.get("max_line_width") or None
    count = options.get("max_line_count") or None
    per_line = options.get("max_words_per_line") or None
    highlight = bool(options.get("highlight_words") or False)
    keep_segments = count is None or width is None
    return width or 1000, count, per_line or 1000, highlight, keep_segments


def first_start(segments):
    """get_start: the first word's start across all segments, else the first segment's start."""
    for seg in segments:
        if seg["words"]:
            return seg["words"][0]["start"]
    return segments[0]["start"] if segments else None


def group_subtitles(segments, width, count, per_line, keep_segments, stats):
    """Return the subtitles: lists of [text, start, end] where text is the (possibly stripped / "\\n"-prefixed) word."""
    subtitles = []
    current = []
    line_length = 0
    lines = 1
    previous_start = first_start(segments) or 0.0
    for seg in segments:
        words = seg["words"]
        for offset in range(0, len(words), per_line):
            for position, word in enumerate(words[offset:offset + per_line]):
                text = word["word"]
                pause = (not keep_segments) and (word["start"] - previous_start > 3.0)
                fits = line_length + len(text) <= width
                segment_break = position == 0 and len(current) > 0 and keep_segments
                if line_length > 0 and fits and not pause and not segment_break:
                    line_length += len(text)
                else:
                    stripped = text.strip()
                    text = stripped
                    closes = segment_break or (
                        len(current) > 0 and count is not None and (pause or lines >= count))
                    if closes:
                        if segment_break:
                            stats.segment_breaks += 1
                        elif pause:
                            stats.pause_breaks += 1
                        else:
                            stats.count_breaks += 1
                        subtitles.append(current)
                        current = []
                        lines = 1
                    elif line_length > 0:
                        stats.line_breaks += 1
                        lines += 1
                        text = "\n" + stripped
                    line_length = len(stripped)
                current.append([text, word["start"], word["end"]])
                previous_start = word["start"]
    if current:
        subtitles.append(current)
    return subtitles


UNDERLINE = re.compile(r"^(\s*)(.*)$")


def underline(text):
    return UNDERLINE.sub(r"\1<u>\2</u>", text)


def make_cues(segments, options, fmt, stats):
    width, count, per_line, highlight, keep_segments = resolve_options(options)
    cues = []
    if not segments or "words" not in segments[0]:
        # segment-level mode (not reached by the cases here except the empty list)
        for seg in segments:
            cues.append((timestamp(seg["start"], *fmt), timestamp(seg["end"], *fmt),
                         seg["text"].strip().replace("-->", "->")))
        return cues
    for sub in group_subtitles(segments, width, count, per_line, keep_segments, stats):
        sub_start = timestamp(sub[0][1], *fmt)
        sub_end = timestamp(sub[-1][2], *fmt)
        texts = [w[0] for w in sub]
        plain = "".join(texts)
        if not highlight:
            cues.append((sub_start, sub_end, plain))
            continue
        cursor = sub_start
        for k, (_, start, end) in enumerate(sub):
            a = timestamp(start, *fmt)
            b = timestamp(end, *fmt)
            if a != cursor:
                stats.gap_cues += 1
                cues.append((cursor, a, plain))
            marked = "".join(underline(t) if j == k else t for j, t in enumerate(texts))
            cues.append((a, b, marked))
            cursor = b
    return cues


def write_srt(segments, options, stats):
    out = []
    for number, (a, b, text) in enumerate(make_cues(segments, options, SRT_FORMAT, stats), start=1):
        out.append("%d\n%s --> %s\n%s\n\n" % (number, a, b, text))
    return "".join(out)


def write_vtt(segments, options, stats):
    out = ["WEBVTT\n\n"]
    for a, b, text in make_cues(segments, options, VTT_FORMAT, stats):
        out.append("%s --> %s\n%s\n\n" % (a, b, text))
    return "".join(out)


# ------------------------------------------------------------------------------------------------- inputs
def W(text, start, end, k=0):
    # deterministic pseudo-probabilities
    return {"word": text, "start": start, "end": end, "probability": round(0.5 + 0.49 * ((k * 37 + 11) % 100) / 100, 4)}


def S(words, start=None, end=None):
    ws = [W(t, a, b, k) for k, (t, a, b) in enumerate(words)]
    if start is None:
        start = ws[0]["start"] if ws else 0.0
    if end is None:
        end = ws[-1]["end"] if ws else start
    return {"start": start, "end": end, "text": "".join(w["word"] for w in ws), "words": ws}


SYNTHETIC = {
    "en_sentences": [
        S([(" Hello", 0.0, 0.42), (" world,", 0.42, 0.9), (" this", 1.1, 1.3), (" is", 1.3, 1.42), (" a", 1.42, 1.5),
           (" test", 1.5, 1.88), (" of", 1.88, 2.0), (" the", 2.0, 2.1), (" subtitle", 2.1, 2.6),
           (" writer.", 2.6, 3.1)]),
        S([(" It", 3.4, 3.52), (" breaks", 3.52, 3.9), (" lines", 3.9, 4.3), (" when", 4.3, 4.5), (" they", 4.5, 4.66),
           (" get", 4.66, 4.8), (" too", 4.8, 4.96), (" long,", 4.96, 5.3), (" doesn't", 5.4, 5.8), (" it?", 5.8, 6.1)]),
        S([(" Yes!", 6.5, 6.9), (" It", 7.0, 7.1), (" does.", 7.1, 7.5)]),
    ],
    "long_words": [
        S([(" Antidisestablishmentarianism", 0.0, 1.2), (" is", 1.2, 1.3), (" a", 1.3, 1.35), (" long", 1.35, 1.6),
           (" word,", 1.6, 1.9), (" and", 2.0, 2.1), (" so", 2.1, 2.2), (" is", 2.2, 2.3),
           (" supercalifragilisticexpialidocious.", 2.3, 3.5)]),
        S([(" Pneumonoultramicroscopicsilicovolcanoconiosis", 4.0, 5.5), (" too.", 5.5, 5.9)]),
        # exact fits: "Hello abcd" is 10 code points, "Hello abcd efghi" 16
        S([(" Hello", 6.0, 6.3), (" abcd", 6.3, 6.6), (" efghi", 6.6, 6.9), (" x", 6.9, 7.0), (" yz.", 7.0, 7.2)]),
    ],
    "long_pauses": [
        S([(" First", 0.0, 0.5), (" words", 0.5, 1.0), (" then", 1.2, 1.5), (" silence.", 1.5, 2.0)]),
        S([(" After", 5.5, 5.9), (" the", 5.9, 6.0), (" pause", 6.0, 6.5)]),        # 5.5 - 1.5 = 4.0 > 3
        S([(" exactly", 9.0, 9.4), (" three", 9.4, 9.8), (" seconds.", 9.8, 10.3)]),  # 9.0 - 6.0 = 3.0, not > 3
        # start-to-start: 15.0 - 11.0 = 4.0 > 3 although the silence is 0.5 s; 18.7 - 15.4 = 3.3000000000000007
        S([(" Long", 11.0, 14.5), (" word", 15.0, 15.4), (" then", 15.4, 15.6), (" more", 18.7, 19.0),
           (" text", 19.0, 19.3), (" and", 19.3, 19.5), (" still", 19.5, 19.8), (" more", 19.8, 20.1),
           (" words.", 20.1, 20.6)]),
        S([(" Finally", 26.0, 26.4), (" done.", 26.4, 27.0)]),
    ],
    "highlight_gaps": [
        S([(" No", 1.0, 1.2), (" gap", 1.2, 1.5), (" here,", 1.5, 1.8),
           (" one", 1.801, 2.0),            # 1 ms gap -> a gap cue
           (" tiny", 2.0004, 2.3),          # 0.4 ms gap, same formatted time -> no gap cue
           (" big", 2.8, 3.0),              # gap cue
           (" overlap", 2.95, 0.1 + 0.2 + 3.0),  # starts before the previous end: a backwards gap cue
           (" float", 3.3, 3.6),            # 3.3000000000000003 vs 3.3: equal once formatted
           (" end.", 3.6, 4.0)]),
        S([(" Second", 4.5, 4.9), (" segment", 4.9, 5.3), (" here.", 5.3, 5.8)]),
    ],
    "non_ascii": [
        S([(" Café", 0.0, 0.4), (" über", 0.4, 0.7), (" Grüße,", 0.7, 1.1), (" naïve", 1.1, 1.5),
           (" façade.", 1.5, 2.0)]),
        S([("こんにちは、", 2.5, 3.1), ("世界。", 3.1, 3.5), ("今日は", 3.6, 3.9), ("いい", 3.9, 4.1), ("天気", 4.1, 4.4),
           ("ですね。", 4.4, 4.9)]),
        # astral code points: len() counts one per code point (Java's String.length() counts two)
        S([(" 𠮷野家", 5.2, 5.6), (" 😀😀", 5.6, 5.9), (" emoji", 5.9, 6.2), (" ümlaut", 6.2, 6.6), (" äöü", 6.6, 7.0)]),
        S([("日本語", 7.4, 7.8), (" and", 7.8, 8.0), (" English", 8.0, 8.4), ("。", 8.4, 8.5)]),
    ],
    "odd_words": [
        S([(" Leading", 0.0, 0.3), ("   spaced", 0.3, 0.6), (" ...", 0.6, 0.8), ("!", 0.8, 0.9), (" -->", 0.9, 1.0),
           (" arrow", 1.0, 1.3), (" trailing ", 1.3, 1.5), (" ", 1.5, 1.6), (" after", 1.6, 1.9),
           ("\u00a0nbsp", 1.9, 2.1), (" <b>tag</b>", 2.1, 2.3), (" blank.", 2.3, 2.6)]),
        S([("\u00a0nbsp", 3.0, 3.3), (" \u3000ideographic", 3.3, 3.6), ("\ttab", 3.6, 3.8), (" \u2003em", 3.8, 4.0),
           (" end.", 4.0, 4.3)]),
        S([(" ", 4.6, 4.7), ("   spaced", 4.7, 5.0), (" 'quoted'", 5.0, 5.3), (" (paren)", 5.3, 5.6), (" ?!", 5.6, 5.7)]),
        S([("  two", 6.0, 6.3), (" words", 6.3, 6.6)]),
    ],
    "over_an_hour": [
        S([(" Almost", 3598.2, 3598.9), (" an", 3598.9, 3599.3), (" hour", 3599.3, 3599.9995)]),  # end rounds to 1 h
        S([(" Past", 3600.0, 3600.5), (" the", 3600.5, 3600.7), (" hour.", 3600.7, 3601.25)]),
        S([(" Two", 7325.125, 7325.5), (" hours", 7325.5, 7326.0), (" later.", 7326.0, 7326.75)]),
        S([(" Ten", 36000.0, 36000.4), (" hours.", 36000.4, 36001.0)]),
        S([(" Hundred", 360000.25, 360000.5), (" hours.", 360000.5, 360001.0)]),
    ],
    "half_milliseconds": [
        # products: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 1000.5 -> 1000, 1001.5 -> 1002, 1234.5 -> 1234,
        # 4000.4999999999995 -> 4000, 5555.5 -> 5556, 7003.5 -> 7004, 59999.5 -> 60000, 123.5 -> 124
        S([(" one", 0.0005, 0.0015), (" two", 0.0025, 0.1235), (" three", 0.1235, 1.0005), (" four", 1.0015, 1.2345)]),
        S([(" five", 4.0005, 5.5555), (" six", 7.0035, 59.9995), (" seven.", 59.9995, 61.0015)]),
    ],
    "empty_middle_segment": [
        S([(" Before", 0.0, 0.4), (" the", 0.4, 0.6), (" gap.", 0.6, 1.0)]),
        S([], start=1.2, end=2.0),
        S([(" After", 2.2, 2.6), (" it.", 2.6, 3.0)]),
    ],
    "leading_empty_segment": [
        S([], start=5.0, end=9.0),
        S([(" Late", 9.0, 9.4), (" start", 9.4, 9.8), (" here.", 9.8, 10.2)]),
        S([(" And", 10.4, 10.6), (" more.", 10.6, 11.0)]),
    ],
    "all_segments_without_words": [
        dict(S([], start=0.0, end=1.5), text=" Some text."),
        dict(S([], start=1.5, end=3.0), text=" More text."),
    ],
    "no_segments": [],
    "single_word": [S([(" Hi.", 0.5, 0.9)])],
    "many_short_segments": [
        S([(" One", 0.0, 0.3)]),
        S([(" two", 0.3, 0.6), (" three", 0.6, 1.0)]),
        S([(" four,", 1.0, 1.4), (" five", 1.4, 1.8), (" six.", 1.8, 2.2)]),
        S([(" Seven", 2.4, 2.8)]),
        S([(" eight", 2.8, 3.1), (" nine", 3.1, 3.4)]),
        S([(" ten", 3.4, 3.7), (" eleven", 3.7, 4.1), (" twelve.", 4.1, 4.6)]),
        S([(" Thirteen", 4.8, 5.3)]),
        S([(" fourteen", 5.3, 5.8), (" fifteen!", 5.8, 6.4)]),
    ],
}

OPTION_SETS = {
    "none": {},
    "highlight": {"highlight_words": True},
    "highlight_false": {"highlight_words": False},
    "w42": {"max_line_width": 42},
    "w16": {"max_line_width": 16},
    "w10": {"max_line_width": 10},
    "c2": {"max_line_count": 2},                              # no effect without a width (CLI warns)
    "w42_c2": {"max_line_width": 42, "max_line_count": 2},
    "w16_c2": {"max_line_width": 16, "max_line_count": 2},
    "w16_c1": {"max_line_width": 16, "max_line_count": 1},
    "w10_c2": {"max_line_width": 10, "max_line_count": 2},
    "mw1": {"max_words_per_line": 1},
    "mw2": {"max_words_per_line": 2},
    "mw3": {"max_words_per_line": 3},
    "w16_mw3": {"max_line_width": 16, "max_words_per_line": 3},   # CLI warns "no effect"; the writer still chunks
    "w10_mw2": {"max_line_width": 10, "max_words_per_line": 2},
    "w42_c2_mw2": {"max_line_width": 42, "max_line_count": 2, "max_words_per_line": 2},  # chunks do not matter here
    "c1_mw2": {"max_line_count": 1, "max_words_per_line": 2},
    "hl_w16_c2": {"highlight_words": True, "max_line_width": 16, "max_line_count": 2},
    "hl_w42_c1": {"highlight_words": True, "max_line_width": 42, "max_line_count": 1},
    "hl_w10": {"highlight_words": True, "max_line_width": 10},
    "hl_mw2": {"highlight_words": True, "max_words_per_line": 2},
}

ALL = list(OPTION_SETS)
PLAN = {
    "en_sentences": ALL,
    "long_pauses": ALL,
    "odd_words": ALL,
    "long_words": ["none", "w10", "w16", "w42", "w10_c2", "w16_c1", "w16_mw3", "hl_w10", "w42_c2"],
    "highlight_gaps": ["highlight", "hl_w16_c2", "hl_w42_c1", "hl_w10", "hl_mw2", "none", "w16_c2"],
    "non_ascii": ["none", "w10", "w16", "w10_c2", "w16_c1", "mw2", "highlight", "hl_w10", "w16_mw3"],
    "over_an_hour": ["none", "highlight", "w42_c2", "w16_c1", "mw1", "hl_w16_c2"],
    "half_milliseconds": ["none", "highlight", "hl_mw2", "w16_c2", "mw1"],
    "empty_middle_segment": ["none", "w42_c2", "mw1", "highlight", "c2", "c1_mw2"],
    "leading_empty_segment": ["none", "w16_c1", "hl_w42_c1"],
    "all_segments_without_words": ["none", "highlight"],
    "no_segments": ["none", "w42_c2"],
    "single_word": ["none", "highlight", "w10_c2", "mw1"],
    "many_short_segments": ["none", "w16", "w16_c2", "w42_c2", "w10_c2", "mw2", "c1_mw2", "w10_mw2",
                            "w42_c2_mw2", "highlight_false", "hl_w16_c2", "mw3", "c2", "w16_c1"],
}
# alignment-fixture segment lists: each gets a few option sets, rotating through all of them
ALIGNMENT_OPTIONS_PER_CASE = 4


def alignment_segment_lists():
    with gzip.open(os.path.join(HERE, "alignment_cases.json.gz"), "rt", encoding="utf-8") as f:
        cases = json.load(f)
    lists = []
    for case in cases:
        segs = case["segments_out"]
        if not any(seg["words"] for seg in segs):
            continue  # nothing to write in word mode
        lists.append(("align_" + case["name"], [
            {"start": seg["start"], "end": seg["end"], "text": "".join(w["word"] for w in seg["words"]),
             "words": [{"word": w["word"], "start": w["start"], "end": w["end"],
                        "probability": w["probability"]} for w in seg["words"]]}
            for seg in segs]))
    return lists


def full_options(opts):
    return {k: opts.get(k) for k in OPTION_KEYS}


# ------------------------------------------------------------------------------------------------- checks
def self_checks():
    assert timestamp(1.0005, *SRT_FORMAT) == "00:00:01,000"   # 1000.5 -> 1000 (half to even)
    assert timestamp(1.0015, *SRT_FORMAT) == "00:00:01,002"   # 1001.5 -> 1002
    assert timestamp(4.0005, *VTT_FORMAT) == "00:04.000"      # 4000.4999999999995
    assert timestamp(3599.9995, *VTT_FORMAT) == "01:00:00.000"
    assert timestamp(59.9995, *VTT_FORMAT) == "01:00.000"
    assert timestamp(360000.25, *VTT_FORMAT) == "100:00:00.250"
    assert underline("\nword") == "\n<u>word</u>"
    assert underline("   spaced") == "   <u>spaced</u>"
    assert underline("") == "<u></u>"
    assert underline("\u00a0nbsp") == "\u00a0<u>nbsp</u>"
    assert " \u3000\u00a0\u2003\tx\u0085".strip() == "x"


def main():
    self_checks()
    cases = []
    seg_lists = list(SYNTHETIC.items())
    for name, segs in seg_lists:
        for opt_name in PLAN[name]:
            cases.append((name + "__" + opt_name, segs, OPTION_SETS[opt_name]))
    for n, (name, segs) in enumerate(alignment_segment_lists()):
        for j in range(ALIGNMENT_OPTIONS_PER_CASE):
            opt_name = ALL[(n * ALIGNMENT_OPTIONS_PER_CASE + j) % len(ALL)]
            cases.append((name + "__" + opt_name, segs, OPTION_SETS[opt_name]))

    usage = {k: set() for k in OPTION_SETS}
    out = []
    totals = Stats()
    with_line_breaks = with_pause_breaks = with_gap_cues = empty_outputs = 0
    for name, segs, opts in cases:
        usage[name.split("__")[1]].add(name.split("__")[0])
        s_srt, s_vtt = Stats(), Stats()
        srt = write_srt(segs, opts, s_srt)
        vtt = write_vtt(segs, opts, s_vtt)
        # the grouping does not depend on the format; the gap cues may (they compare formatted strings)
        assert (s_srt.line_breaks, s_srt.pause_breaks) == (s_vtt.line_breaks, s_vtt.pause_breaks)
        with_line_breaks += s_srt.line_breaks > 0
        with_pause_breaks += s_srt.pause_breaks > 0
        with_gap_cues += (s_srt.gap_cues + s_vtt.gap_cues) > 0
        empty_outputs += srt == ""
        for attr in ("line_breaks", "pause_breaks", "count_breaks", "segment_breaks", "gap_cues"):
            setattr(totals, attr, getattr(totals, attr) + getattr(s_srt, attr))
        out.append({"name": name, "segments": segs, "options": full_options(opts), "srt": srt, "vtt": vtt})

    names = [c["name"] for c in out]
    assert len(names) == len(set(names))
    for opt_name, lists in usage.items():
        assert len(lists) >= 3, (opt_name, lists)

    path = os.path.join(HERE, "subtitle_cases.json.gz")
    text = "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in out) + "\n]\n"
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(text.encode("utf-8"))  # no name, mtime 0: the same bytes on every run

    print("wrote %s: %d cases (%d segment lists, %d option sets)"
          % (os.path.basename(path), len(out), len({n.split("__")[0] for n in names}), len(OPTION_SETS)))
    print("cases with line breaks:              %d (%d line breaks in the SRT runs)" % (with_line_breaks, totals.line_breaks))
    print("cases with long-pause subtitle breaks: %d (%d breaks)" % (with_pause_breaks, totals.pause_breaks))
    print("subtitle breaks by max_line_count:   %d; by segment / max_words_per_line chunk: %d"
          % (totals.count_breaks, totals.segment_breaks))
    print("cases with highlight gap cues:       %d (%d gap cues in the SRT runs)" % (with_gap_cues, totals.gap_cues))
    print("cases with an empty SRT:             %d" % empty_outputs)
    for opt_name in OPTION_SETS:
        print("  option set %-16s used on %d segment lists" % (opt_name, len(usage[opt_name])))


if __name__ == "__main__":
    main()
