#!/usr/bin/python3
"""Fixtures for transcribe()'s word-timestamp seek rules and hallucination_silence_threshold (independent reference).

What it is: a plain-Python (standard library only) re-implementation, written from the published source of
openai-whisper (github.com/openai/whisper, MIT; whisper/transcribe.py `transcribe`, commit c0d2f62: the block under
`if word_timestamps:` that follows `add_word_timestamps(...)`, with its helpers `word_anomaly_score`,
`is_segment_anomaly`, `next_words_segment`, the `punctuation` string, and whisper/utils.py `get_end`). No code is
copied and openai-whisper is not imported; the logic is written anew in `run_block` below, as a pure function of one
window:

  inputs   seek                    previous_seek, the window's first frame (10 ms frames)
           segment_size            frames decoded in this window (<= n_frames)
           n_frames                the full window (N_FRAMES; 3000 for Whisper's 30 s window)
           content_frames          frames of the whole audio
           single_timestamp_ending the decoded tokens end with [text, timestamp]
           seek_before_words       what `seek` holds when the block starts (set by the timestamp-token rule)
           last_speech_timestamp   before this window
           threshold               hallucination_silence_threshold, null = not set
           segments                the window's segments after add_word_timestamps: {start, end, words: [{word,
                                   start, end, probability}]}
  outputs  seek_out, skipped_window (the `continue` fired), kept_segments (segments left, 0 when skipped),
           last_speech_timestamp_out (unchanged when skipped), branches (which rules fired, informative)

Derived values, exactly as transcribe() computes them (true division of ints, so correctly rounded doubles):
  time_offset      = seek * 160 / 16000
  window_end_time  = (seek + n_frames) * 160 / 16000
  segment_duration = segment_size * 160 / 16000
  content_duration = content_frames * 160 / 16000
`round()` is Python's: half to even on the exact double; FRAMES_PER_SECOND is the int 100.

Run from anywhere:   /usr/bin/python3 make_hallucination.py
Deterministic (seeded random.Random per case); writes hallucination_cases.json.gz (gzip, filename "" and mtime 0,
so it is byte-identical on every run) and prints how often each branch fired.
"""
import gzip
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hallucination_cases.json.gz")

HOP_LENGTH = 160
SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100
# transcribe()'s punctuation string, character for character (note the doubled "' pair). A word is ignored by
# is_segment_anomaly when its text is a SUBSTRING of this string (Python `str in str`): "." and "\"'" and ".。"
# and "" are ignored, ".," and " ." and "()" are not.
PUNCTUATION = "\"'\u201c\u00bf([{-\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001"

BRANCHES = ("plain_seek", "remaining_gt_threshold", "remaining_le_threshold", "leading_skip", "cut", "cut_to_end")


# ------------------------------------------------------------------------------------------------ the block
def anomaly_score(word):
    """Score of one word: +1.0 if probability < 0.15, +(0.133 - d) * 15 if d < 0.133, +(d - 2.0) if d > 2.0,
    d = end - start, added in that order to 0.0."""
    probability = word.get("probability", 0.0)
    d = word["end"] - word["start"]
    s = 0.0
    if probability < 0.15:
        s += 1.0
    if d < 0.133:
        s += (0.133 - d) * 15
    if d > 2.0:
        s += d - 2.0
    return s


def counted_words(segment):
    """Words that count: text not a substring of PUNCTUATION, then the first 8 of those."""
    kept = []
    for w in segment["words"]:
        if PUNCTUATION.find(w["word"]) < 0:
            kept.append(w)
    return kept[:8]


def segment_anomalous(segment, compensated=False):
    if segment is None or len(segment["words"]) == 0:
        return False
    words = counted_words(segment)
    scores = [anomaly_score(w) for w in words]
    if compensated:  # what sum() does on Python >= 3.12; only used to check the cases do not depend on it
        total = math.fsum(scores)
    else:
        total = 0.0
        for s in scores:
            total = total + s
    return total >= 3 or total + 0.01 >= len(words)


def first_with_words(segments):
    for s in segments:
        if len(s["words"]) > 0:
            return s
    return None


def last_end(segments):
    """utils.get_end: the last word's end over all segments (searched from the back); if no segment has words,
    the last segment's end; None for an empty list."""
    for s in reversed(segments):
        if len(s["words"]) > 0:
            return s["words"][-1]["end"]
    if len(segments) > 0:
        return segments[-1]["end"]
    return None


def run_block(case, compensated=False):
    previous_seek = case["seek"]
    time_offset = previous_seek * HOP_LENGTH / SAMPLE_RATE
    window_end_time = (previous_seek + case["n_frames"]) * HOP_LENGTH / SAMPLE_RATE
    segment_size = case["segment_size"]
    segment_duration = segment_size * HOP_LENGTH / SAMPLE_RATE
    content_frames = case["content_frames"]
    content_duration = content_frames * HOP_LENGTH / SAMPLE_RATE
    threshold = case["threshold"]
    single = case["single_timestamp_ending"]
    segments = list(case["segments"])
    seek = case["seek_before_words"]
    speech_ts = case["last_speech_timestamp"]
    fired = []

    # 1. plain word-timestamp rule
    if not single:
        lwe = last_end(segments)
        if lwe is not None and lwe > time_offset:
            seek = round(lwe * FRAMES_PER_SECOND)
            fired.append("plain_seek")
        else:
            fired.append("last_word_end_not_past_offset")
    else:
        fired.append("single_timestamp_ending")

    if threshold is not None:
        # 2. seek after the last word only when the rest of the window is long enough
        if not single:
            lwe = last_end(segments)
            if lwe is not None and lwe > time_offset:
                if window_end_time - lwe > threshold:
                    seek = round(lwe * FRAMES_PER_SECOND)
                    fired.append("remaining_gt_threshold")
                else:
                    seek = previous_seek + segment_size
                    fired.append("remaining_le_threshold")

        # 3. a leading anomalous segment after a long gap: skip the gap, drop the window
        first = first_with_words(segments)
        if first is not None and segment_anomalous(first, compensated):
            gap = first["start"] - time_offset
            if gap > threshold:
                seek = previous_seek + round(gap * FRAMES_PER_SECOND)
                fired.append("leading_skip")
                return {"seek_out": seek, "skipped_window": True, "kept_segments": 0,
                        "last_speech_timestamp_out": speech_ts}, fired
            fired.append("leading_anomaly_not_skipped")

        # 4. cut at the first anomalous segment with silence (or anomalies) on both sides
        prev_end = speech_ts
        for si in range(len(segments)):
            seg = segments[si]
            if len(seg["words"]) == 0:
                continue
            if segment_anomalous(seg, compensated):
                nxt = first_with_words(segments[si + 1:])
                if nxt is not None:
                    next_start = nxt["words"][0]["start"]
                else:
                    next_start = time_offset + segment_duration
                before = (seg["start"] - prev_end > threshold
                          or seg["start"] < threshold
                          or seg["start"] - time_offset < 2.0)
                after = (next_start - seg["end"] > threshold
                         or segment_anomalous(nxt, compensated)
                         or window_end_time - seg["end"] < 2.0)
                if before and after:
                    seek = round(max(time_offset + 1, seg["start"]) * FRAMES_PER_SECOND)
                    fired.append("cut")
                    if content_duration - seg["end"] < threshold:
                        seek = content_frames
                        fired.append("cut_to_end")
                    del segments[si:]
                    break
                fired.append("anomaly_not_cut")
            prev_end = seg["end"]

    # 5. last_speech_timestamp
    lwe = last_end(segments)
    if lwe is not None:
        speech_ts = lwe
    return {"seek_out": seek, "skipped_window": False, "kept_segments": len(segments),
            "last_speech_timestamp_out": speech_ts}, fired


# ------------------------------------------------------------------------------------------------ case building
NORMAL_TEXT = [" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", " and", " then", " we",
               " talked", " about", " it", " again,", " really.", " yes", " okay", " so", " well"]
HALLU_TEXT = [" Thank", " you.", " Thanks", " for", " watching!", " Subtitles", " by", " you", " Bye.", " Amara"]


def r2(x):
    return round(x, 2)


def word(text, start, end, p):
    return {"word": text, "start": start, "end": end, "probability": p}


def normal_word(rng, t):
    d = rng.uniform(0.15, 0.6)
    s = r2(t)
    e = r2(t + d)
    if e - s < 0.15:
        e = r2(s + 0.15)
    return word(rng.choice(NORMAL_TEXT), s, e, round(rng.uniform(0.5, 0.99), 4))


def anomalous_word(rng, t, kind):
    s = r2(t)
    d = rng.uniform(0.02, 0.11) if kind == "s" else rng.uniform(2.2, 4.0)
    e = r2(t + d)
    if e <= s:
        e = r2(s + 0.02)
    return word(rng.choice(HALLU_TEXT), s, e, round(rng.uniform(0.005, 0.14), 4))


def punct_word(rng, t):
    s = r2(t)
    e = r2(t + rng.uniform(0.0, 0.06))
    return word(rng.choice([".", ",", "?", "!", "'", "\"", "-", "\u3002", "\u3001", "\u201d", "\"'", ":"]), s, e,
                round(rng.uniform(0.01, 0.2), 4))


def make_words(rng, t, spec):
    """spec letters: n normal, s anomalous short, l anomalous long, p punctuation-only. Returns (words, end)."""
    words = []
    for k, ch in enumerate(spec):
        if k > 0 and ch == "n":
            t += rng.choice([0.0, 0.0, rng.uniform(0.0, 0.2)])
        if ch == "n":
            w = normal_word(rng, t)
        elif ch in "sl":
            w = anomalous_word(rng, t, ch)
        elif ch == "p":
            w = punct_word(rng, t)
        else:
            raise ValueError(ch)
        words.append(w)
        t = w["end"]
    return words, t


def seg(words, start=None, end=None):
    return {"start": words[0]["start"] if start is None else start,
            "end": words[-1]["end"] if end is None else end, "words": words}


def empty_seg(start, end):
    return {"start": start, "end": end, "words": []}


def build(rng, time_offset, plan):
    """plan: list of (gap_before, spec) or ("empty", gap_before, duration). Gaps are seconds after the previous
    segment's end (or after time_offset for the first one)."""
    t = time_offset
    segments = []
    for item in plan:
        if item[0] == "empty":
            _, gap, dur = item
            s = time_offset if not segments and gap == 0 else t + gap
            segments.append(empty_seg(s, s + dur))
            t = s + dur
            continue
        gap, spec = item
        words, t_end = make_words(rng, t + gap, spec)
        segments.append(seg(words))
        t = t_end
    return segments


def window(seek, content_frames, n_frames=3000, clip_end=None):
    limit = content_frames if clip_end is None else clip_end
    return min(n_frames, content_frames - seek, limit - seek)


def case(name, seek, segments, threshold, single=False, n_frames=3000, content_frames=12000, segment_size=None,
         seek_before_words=None, last_speech=None, rng=None):
    if segment_size is None:
        segment_size = window(seek, content_frames, n_frames)
    if seek_before_words is None:
        if single or not segments or rng is None or rng.random() < 0.4:
            seek_before_words = seek + segment_size
        else:
            # the timestamp rule: seek += last timestamp position * 2 (here: the last segment's end, 20 ms tokens)
            pos = int(round((segments[-1]["end"] - seek / 100) / 0.02))
            seek_before_words = seek + 2 * max(0, min(pos, n_frames // 2))
    if last_speech is None:
        last_speech = 0.0 if seek == 0 else r2(seek / 100 - (rng.uniform(0.0, 3.0) if rng else 0.5))
        last_speech = max(0.0, last_speech)
    return {"name": name, "seek": seek, "segment_size": segment_size, "n_frames": n_frames,
            "content_frames": content_frames, "single_timestamp_ending": single,
            "seek_before_words": seek_before_words, "last_speech_timestamp": float(last_speech),
            "threshold": threshold, "segments": segments}


def handmade():
    cases = []
    R = random.Random

    # --- threshold not set: only the plain rule -------------------------------------------------------------
    for i in range(6):
        rng = R(100 + i)
        seek = [0, 2960, 5812, 9000, 11000, 7333][i]
        cf = 12000
        to = seek / 100
        plan = [(rng.uniform(0.0, 1.5), "n" * rng.randint(2, 9))] + \
               [(rng.uniform(0.0, 2.0), "n" * rng.randint(1, 7)) for _ in range(rng.randint(0, 3))]
        segs = build(rng, to, plan)
        cases.append(case("null_threshold_plain_%d" % i, seek, segs, None, single=(i % 3 == 2), content_frames=cf,
                          rng=rng))
    # threshold not set, hallucination-looking content is left alone
    rng = R(110)
    segs = build(rng, 20.0, [(5.0, "ss"), (6.0, "nnnn"), (4.0, "sl")])
    cases.append(case("null_threshold_anomalies_ignored", 2000, segs, None, rng=rng))
    # threshold not set, last word end not past time_offset (zero-length words at time_offset; words-less)
    cases.append(case("null_threshold_word_at_offset", 4000, [seg([word(" uh", 40.0, 40.0, 0.3)])], None,
                      seek_before_words=4000 + 3000))
    cases.append(case("null_threshold_no_words_end_at_offset", 4000, [empty_seg(40.0, 40.0)], None,
                      seek_before_words=4000 + 3000))
    cases.append(case("null_threshold_no_words", 4000, [empty_seg(40.0, 52.5), empty_seg(52.5, 60.0)], None,
                      seek_before_words=4000 + 2000))
    # get_end takes the last WORD end, searching back past words-less segments
    cases.append(case("null_threshold_trailing_wordless_segment", 4000,
                      [seg([word(" hi", 41.0, 41.5, 0.9)]), empty_seg(42.0, 55.0)], None, seek_before_words=7000))
    cases.append(case("threshold_trailing_wordless_segment", 4000,
                      [seg([word(" hi", 41.0, 41.5, 0.9)]), empty_seg(42.0, 55.0)], 1.0, seek_before_words=7000))
    cases.append(case("null_threshold_no_segments", 4000, [], None, seek_before_words=4000 + 3000))

    # --- remaining duration rule --------------------------------------------------------------------------------
    for i, thr in enumerate([1.0, 2.0, 0.5, 1.0]):
        rng = R(200 + i)
        seek = [0, 3000, 2788, 6100][i]
        to = seek / 100
        segs = build(rng, to, [(0.3, "nnnnn"), (0.8, "nnnnnnn"), (1.0, "nnnn")])
        cases.append(case("remaining_gt_threshold_%d" % i, seek, segs, thr, rng=rng))
    for i, thr in enumerate([1.0, 2.0, 0.5, 2.0]):
        rng = R(210 + i)
        seek = [0, 3000, 2788, 6100][i]
        to = seek / 100
        wend = (seek + 3000) / 100
        # last word ends within `thr` of the window end
        last = r2(wend - rng.uniform(0.0, thr * 0.9))
        segs = build(rng, to, [(0.4, "nnnnnn"), (1.0, "nnnnnnnn")])
        segs.append(seg([word(" end", r2(last - 0.3), last, 0.9)]))
        cases.append(case("remaining_le_threshold_%d" % i, seek, segs, thr, rng=rng))
    # exact boundary: window_end_time - last_word_end == threshold -> not greater -> previous_seek + segment_size
    cases.append(case("remaining_equal_threshold_1", 0, [seg([word(" a", 27.5, 28.0, 0.8), word(" b", 28.2, 29.0,
                                                                                                   0.9)])],
                      1.0, seek_before_words=2900))
    cases.append(case("remaining_equal_threshold_2", 500, [seg([word(" a", 30.1, 31.0, 0.8), word(" b", 31.2, 33.0,
                                                                                                    0.9)])],
                      2.0, seek_before_words=3300))
    cases.append(case("remaining_equal_threshold_half", 1000, [seg([word(" a", 39.0, 39.5, 0.8)])], 0.5,
                      seek_before_words=3950))
    # a long anomalous last word 5 s after the window start: the remaining rule first, then the leading skip
    cases.append(case("remaining_le_then_leading_skip", 1000, [seg([word(" a", 35.0, 39.5, 0.8)])], 0.5,
                      seek_before_words=3950))
    # remaining rule with a short segment (clip end / content end): window_end_time still uses n_frames
    rng = R(220)
    segs = build(rng, 100.0, [(0.2, "nnnnnnn"), (0.5, "nnnn")])
    cases.append(case("remaining_gt_threshold_short_window", 10000, segs, 1.0, content_frames=10700, rng=rng))
    # single timestamp ending: neither seek rule applies
    for i, thr in enumerate([1.0, 2.0, 0.5]):
        rng = R(230 + i)
        seek = [0, 2500, 4450][i]
        segs = build(rng, seek / 100, [(0.5, "nnnnn"), (1.0, "nnnnnn")])
        cases.append(case("single_ending_threshold_%d" % i, seek, segs, thr, single=True, rng=rng))
    # last word end not past time_offset with a threshold: neither remaining branch
    cases.append(case("threshold_word_at_offset", 3000, [seg([word(" uh", 30.0, 30.0, 0.3)]),
                                                         empty_seg(30.0, 31.0)],
                      1.0, seek_before_words=3100))
    cases.append(case("threshold_no_words_end_before_offset", 3000, [empty_seg(29.9, 30.0)], 1.0,
                      seek_before_words=6000))

    # --- leading anomalous segment --------------------------------------------------------------------------------
    for i, (thr, gap, spec) in enumerate([(1.0, 3.2, "ss"), (2.0, 5.0, "l"), (0.5, 0.9, "s"), (1.0, 12.4, "sss"),
                                          (2.0, 2.01, "ssl")]):
        rng = R(300 + i)
        seek = [0, 1234, 3000, 4567, 800][i]
        segs = build(rng, seek / 100, [(gap, spec), (0.2, "nnnn"), (1.5, "nnnnnn")])
        cases.append(case("leading_skip_%d" % i, seek, segs, thr, rng=rng, single=(i == 3)))
    # leading anomaly preceded by a words-less segment
    rng = R(310)
    segs = [empty_seg(50.0, 52.0)] + build(rng, 50.0, [(4.0, "sl"), (0.5, "nnnnn")])
    cases.append(case("leading_skip_after_empty_segment", 5000, segs, 1.0, rng=rng))
    # gap exactly equal to the threshold: not skipped (then the cut rule decides)
    cases.append(case("leading_gap_equal_threshold", 500,
                      [seg([word(" you", 6.0, 6.05, 0.05), word(" you", 6.05, 6.1, 0.04)]),
                       seg([word(" hello", 9.0, 9.4, 0.9), word(" there", 9.4, 9.8, 0.9)])],
                      1.0, seek_before_words=980))
    # gap smaller than the threshold: not skipped; the segment starts < 2 s into the window -> silence_before;
    # next words 3 s later -> silence_after -> cut at segment 0
    rng = R(320)
    segs = build(rng, 20.0, [(0.7, "ss"), (3.0, "nnnnn")])
    cases.append(case("leading_gap_small_then_cut_first", 2000, segs, 1.0, rng=rng))
    # gap smaller than threshold, next words close, not near the window end -> kept
    rng = R(321)
    segs = build(rng, 20.0, [(0.7, "s"), (0.3, "nnnnn"), (0.5, "nnnn")])
    cases.append(case("leading_gap_small_anomaly_kept", 2000, segs, 2.0, rng=rng))
    # half-to-even of the skipped gap: gap * 100 = 212.5 -> 212 ; 237.5 -> 238
    cases.append(case("leading_skip_half_even_down", 500,
                      [seg([word(" you", 7.125, 7.2, 0.02)]), seg([word(" ok", 9.0, 9.5, 0.9)])],
                      1.0, seek_before_words=950))
    cases.append(case("leading_skip_half_even_up", 500,
                      [seg([word(" you", 7.375, 7.45, 0.02)]), seg([word(" ok", 9.0, 9.5, 0.9)])],
                      1.0, seek_before_words=950))
    # first segment uses the segment start, not the word start (add_word_timestamps may keep segment times)
    cases.append(case("leading_skip_segment_start_not_word_start", 1000,
                      [seg([word(" Thank", 10.5, 13.9, 0.1)], start=12.0, end=13.9),
                       seg([word(" ok", 15.0, 15.5, 0.9)])],
                      1.0, seek_before_words=1550))
    cases.append(case("leading_no_skip_segment_start_close", 1000,
                      [seg([word(" Thank", 12.0, 14.9, 0.1)], start=10.8, end=14.9),
                       seg([word(" ok", 15.0, 15.5, 0.9)])],
                      1.0, seek_before_words=1550))

    # --- cut: anomalous segment with silence around it ------------------------------------------------------------
    for i, thr in enumerate([1.0, 2.0, 0.5, 1.0, 2.0]):
        rng = R(400 + i)
        seek = [0, 3000, 6000, 1500, 4444][i]
        to = seek / 100
        spec = ["ss", "l", "sls", "sss", "s"][i]
        plan = [(0.3, "nnnnnn"), (1.0, "nnnnn"), (thr + rng.uniform(0.5, 3.0), spec),
                (thr + rng.uniform(0.5, 3.0), "nnnn")]
        segs = build(rng, to, plan)
        cases.append(case("cut_silence_both_%d" % i, seek, segs, thr, rng=rng))
    # silence after via "next segment anomalous" (two hallucinations in a row, close together)
    rng = R(410)
    segs = build(rng, 30.0, [(0.5, "nnnnnnn"), (3.0, "ss"), (0.1, "s"), (0.2, "nnn")])
    cases.append(case("cut_next_anomalous", 3000, segs, 1.0, rng=rng))
    # silence after via "window end within 2 s" (last segment, no next words, but next_start far enough is false)
    cases.append(case("cut_near_window_end", 0,
                      [seg([word(" hi", 0.5, 0.9, 0.9), word(" all", 0.9, 1.3, 0.9)]),
                       seg([word(" you", 28.5, 28.55, 0.1), word(" you", 28.6, 28.65, 0.1)])],
                      1.0, segment_size=2870, seek_before_words=2870))
    # no next words: next_start = time_offset + segment_duration (segment_size < n_frames)
    cases.append(case("cut_no_next_uses_segment_duration", 9000,
                      [seg([word(" hi", 90.5, 90.9, 0.9), word(" all", 90.9, 91.3, 0.9)]),
                       seg([word(" you", 95.0, 95.05, 0.1)])],
                      1.0, content_frames=10000, seek_before_words=10000))
    cases.append(case("no_cut_no_next_segment_end_close", 9000,
                      [seg([word(" hi", 90.5, 90.9, 0.9), word(" all", 90.9, 91.3, 0.9)]),
                       seg([word(" you", 95.0, 99.5, 0.1)])],
                      1.0, content_frames=10000, seek_before_words=10000))
    # silence before via "segment start < threshold" (start of the audio)
    cases.append(case("cut_start_below_threshold", 0,
                      [seg([word(" you", 1.5, 1.55, 0.05)]), seg([word(" hi", 5.0, 5.4, 0.9)])],
                      2.0, seek_before_words=540, last_speech=0.0))
    # silence before via "start - time_offset < 2.0" (gap <= threshold, so no leading skip)
    cases.append(case("cut_start_within_2s_of_offset", 2000,
                      [seg([word(" you", 21.9, 21.95, 0.05)]), seg([word(" hi", 25.0, 25.4, 0.9)])],
                      2.0, seek_before_words=2540, last_speech=19.99))
    # silence before via last_speech_timestamp (start - time_offset >= 2, gap == threshold -> no leading skip)
    cases.append(case("cut_silence_from_last_speech", 2000,
                      [seg([word(" you", 22.0, 22.05, 0.05)]), seg([word(" hi", 25.0, 25.4, 0.9)])],
                      2.0, seek_before_words=2540, last_speech=18.5))
    cases.append(case("no_cut_recent_last_speech", 2000,
                      [seg([word(" you", 22.0, 22.05, 0.05)]), seg([word(" hi", 25.0, 25.4, 0.9)])],
                      2.0, seek_before_words=2540, last_speech=20.5))
    # silence before measured from the previous segment's END (segment end later than its last word)
    cases.append(case("no_cut_previous_segment_end_used", 0,
                      [seg([word(" hi", 2.5, 2.9, 0.9), word(" all", 2.9, 3.3, 0.9)], end=5.2),
                       seg([word(" you", 6.0, 6.05, 0.1)]), seg([word(" ok", 8.0, 8.4, 0.9)])],
                      1.0, seek_before_words=840))
    cases.append(case("cut_previous_segment_word_end", 0,
                      [seg([word(" hi", 2.5, 2.9, 0.9), word(" all", 2.9, 3.3, 0.9)]),
                       seg([word(" you", 6.0, 6.05, 0.1)]), seg([word(" ok", 8.0, 8.4, 0.9)])],
                      1.0, seek_before_words=840))
    # silence after measured to the next segment's first WORD start (not the segment start)
    cases.append(case("cut_next_first_word_start", 0,
                      [seg([word(" hi", 2.5, 2.9, 0.9)]), seg([word(" you", 6.0, 6.05, 0.1)], end=6.05),
                       seg([word(" ok", 7.5, 8.0, 0.9)], start=6.5)],
                      1.0, seek_before_words=800))
    # words-less segments between are skipped (and do not update the previous end)
    cases.append(case("cut_skips_wordless_segments", 0,
                      [seg([word(" hi", 2.5, 2.9, 0.9)]), empty_seg(4.0, 5.9), seg([word(" you", 6.0, 6.05, 0.1)]),
                       empty_seg(6.1, 7.0), seg([word(" ok", 8.5, 9.0, 0.9)])],
                      1.0, seek_before_words=900))
    # silence only before: kept, and the next anomaly is judged against this segment's end
    rng = R(420)
    segs = build(rng, 10.0, [(0.2, "nnnnnnn"), (3.0, "ss"), (0.3, "nnnn"), (0.4, "nnnnn")])
    cases.append(case("anomaly_silence_before_only_kept", 1000, segs, 1.0, rng=rng))
    # first anomaly kept, a later one cut
    rng = R(421)
    segs = build(rng, 40.0, [(0.2, "nnnnn"), (2.5, "s"), (0.2, "nnnn"), (4.0, "sss"), (3.0, "nnn")])
    cases.append(case("first_kept_second_cut", 4000, segs, 1.0, rng=rng))
    # cut seek = max(time_offset + 1, start): start within the first second
    cases.append(case("cut_seek_offset_plus_one", 3000,
                      [seg([word(" you", 30.2, 30.25, 0.1), word(" you", 30.3, 30.35, 0.1)]),
                       seg([word(" ok", 33.0, 33.4, 0.9)])],
                      1.0, seek_before_words=3340))
    # cut seek rounding half to even: start 12.125 -> 1212.5 -> 1212 ; 12.375 -> 1237.5 -> 1238
    for nm, st in (("cut_half_even_down", 12.125), ("cut_half_even_up", 12.375)):
        cases.append(case(nm, 0,
                          [seg([word(" hi", 5.0, 5.5, 0.9), word(" all", 5.6, 6.0, 0.9)]),
                           seg([word(" you", st, st + 0.05, 0.1)]), seg([word(" ok", 16.0, 16.5, 0.9)])],
                          1.0, seek_before_words=1650))
    # plain seek rounding half to even (threshold null): 10.125 * 100 = 1012.5 -> 1012 ; 10.375 -> 1038
    for nm, en in (("null_plain_half_even_down", 10.125), ("null_plain_half_even_up", 10.375)):
        cases.append(case(nm, 0, [seg([word(" hi", 9.5, en, 0.9)])], None, seek_before_words=1040))
    # remaining > threshold rounding half to even
    cases.append(case("remaining_gt_half_even", 0, [seg([word(" hi", 9.5, 10.125, 0.9)])], 1.0,
                      seek_before_words=1040))

    # --- cut near the end of the content -> seek = content_frames --------------------------------------------------
    for i, thr in enumerate([1.0, 2.0, 0.5]):
        seek = [7000, 9100, 3000][i]
        to = seek / 100
        cf = seek + 3000
        cd = cf / 100
        end = r2(cd - thr * 0.6)
        segs = [seg([word(" so", r2(to + 1.0), r2(to + 1.4), 0.9), word(" long", r2(to + 1.4), r2(to + 1.9), 0.9)]),
                seg([word(" Thank", r2(end - 0.1), end, 0.08)])]
        cases.append(case("cut_to_end_window_end_%d" % i, seek, segs, thr, content_frames=cf,
                          seek_before_words=seek + 3000))
    # content ends inside the window: the anomaly must be followed by another anomaly (silence_after)
    cases.append(case("cut_to_end_next_anomalous", 9000,
                      [seg([word(" so", 90.5, 91.0, 0.9), word(" long", 91.0, 91.5, 0.9)]),
                       seg([word(" Thank", 103.6, 103.65, 0.05)]), seg([word(" you", 103.7, 103.75, 0.05)])],
                      2.0, content_frames=10500, seek_before_words=10375))
    # content_duration - end equal to threshold: not less -> the max(time_offset + 1, start) seek stays
    cases.append(case("cut_not_to_end_equal", 7000,
                      [seg([word(" so", 71.0, 71.5, 0.9)]), seg([word(" you", 98.9, 99.0, 0.1)])],
                      1.0, content_frames=10000, seek_before_words=10000))
    # content ends exactly at the window end; the hallucination is the last segment; fires with the window-end rule
    rng = R(430)
    segs = build(rng, 70.0, [(0.5, "nnnnnnn"), (1.0, "nnnnn")])
    segs.append(seg([word(" Thanks", 99.1, 99.15, 0.03), word(" for", 99.2, 99.25, 0.05),
                     word(" watching!", 99.3, 99.4, 0.02)]))
    cases.append(case("cut_to_end_last_window_three_words", 7000, segs, 1.0, content_frames=10000, rng=rng))
    # content end past the segment end by less than the threshold, single timestamp ending
    cases.append(case("cut_to_end_single_ending", 2000,
                      [seg([word(" so", 20.5, 21.0, 0.9)]), seg([word(" you", 48.8, 49.9, 0.1)], start=48.6)],
                      2.0, single=True, content_frames=5100))
    # n_frames = 200 (a 2 s window): window_end_time and the remaining rule use the small window
    cases.append(case("small_window_cut_to_end", 800,
                      [seg([word(" hi", 8.1, 8.4, 0.9)]), seg([word(" you", 9.6, 9.65, 0.05)])],
                      0.5, n_frames=200, content_frames=1000, seek_before_words=1000))
    cases.append(case("small_window_remaining_gt", 400,
                      [seg([word(" hi", 4.1, 4.4, 0.9), word(" yo", 4.4, 4.7, 0.9)])],
                      0.5, n_frames=200, content_frames=2000, seek_before_words=470))
    cases.append(case("small_window_remaining_le", 400,
                      [seg([word(" hi", 4.1, 4.4, 0.9), word(" yo", 5.0, 5.7, 0.9)])],
                      0.5, n_frames=200, content_frames=2000, seek_before_words=570))
    cases.append(case("small_window_leading_skip", 600,
                      [seg([word(" you", 7.2, 7.25, 0.1)]), seg([word(" hi", 7.5, 7.8, 0.9)])],
                      1.0, n_frames=200, content_frames=2000, seek_before_words=780))
    cases.append(case("small_window_null", 600, [seg([word(" hi", 6.5, 7.2, 0.9)])], None, n_frames=200,
                      content_frames=2000, seek_before_words=720))

    # --- is_segment_anomaly details -------------------------------------------------------------------------------
    # punctuation-only words are ignored (substring test); layout: normal segment, test segment at +3 s, normal
    # segment +3 s later: the test segment is cut iff it is anomalous.
    def probe(name, test_words, thr=1.0, seek=2000, test_start=None):
        """Layout: a normal segment, the test segment ~3 s later, a normal segment 3 s after it: the test segment
        is cut iff it is anomalous. test_words: (text, duration, probability), times rounded to 2 decimals, or
        (text, start, end, probability) taken as is."""
        base = seek / 100
        w0 = [word(" hi", r2(base + 0.5), r2(base + 0.9), 0.9), word(" all", r2(base + 0.9), r2(base + 1.3), 0.9)]
        t = r2(base + 4.3) if test_start is None else test_start
        tw = []
        for item in test_words:
            if len(item) == 4:
                tw.append(word(*item))
                t = item[2]
            else:
                txt, d, p = item
                tw.append(word(txt, r2(t), r2(t + d), p))
                t = r2(t + d)
        w2 = [word(" ok", r2(t + 3.0), r2(t + 3.4), 0.9)]
        cases.append(case(name, seek, [seg(w0), seg(tw), seg(w2)], thr, seek_before_words=seek + 3000))
    probe("punct_dot_ignored", [(" well", 0.3, 0.9), (".", 0.05, 0.05)])
    probe("punct_space_dot_counted", [(" well", 0.3, 0.9), (" .", 0.05, 0.05)])
    probe("punct_dotcomma_counted", [(" well", 0.3, 0.9), (".,", 0.05, 0.05)])
    probe("punct_substring_quote_pair_ignored", [(" well", 0.3, 0.9), ("\"'", 0.05, 0.05)])
    probe("punct_substring_ideographic_ignored", [(" well", 0.3, 0.9), (".\u3002", 0.05, 0.05)])
    probe("punct_parens_counted", [(" well", 0.3, 0.9), ("()", 0.05, 0.05)])
    probe("punct_empty_word_ignored", [(" well", 0.3, 0.9), ("", 0.05, 0.05)])
    probe("punct_only_segment_anomalous", [(".", 0.3, 0.9), ("?", 0.4, 0.9)])
    probe("punct_only_ignored_and_anomalous_word", [(",", 0.05, 0.05), (" you", 0.05, 0.05)])
    # more than 8 words: only the first 8 counted words are scored
    probe("eight_normal_then_anomalies", [(" w", 0.3, 0.9)] * 8 + [(" you", 0.05, 0.05)] * 3)
    probe("punct_filtered_before_first_eight",
          [(" w", 0.3, 0.9)] * 2 + [(".", 0.05, 0.05), (",", 0.05, 0.05)] + [(" w", 0.3, 0.9)] * 4 +
          [(" you", 0.05, 0.05)] * 2)
    probe("anomalies_in_first_eight", [(" you", 0.05, 0.05)] * 2 + [(" w", 0.3, 0.9)] * 8)
    probe("nine_words_score_ge_len", [(" hm", 0.02, 0.9)] * 8 + [(" w", 0.3, 0.9)])
    # score + 0.01 >= len(words): short high-probability words; long words; near the boundaries
    probe("short_high_prob_pair", [(" a", 0.06, 0.95), (" b", 0.06, 0.95)])
    probe("long_word_3s_high_prob", [(" aaah", 3.0, 0.95)])
    # d - 2.0 + 0.01 >= 1 on doubles: 12.99 - 10.0 = 2.99 -> 1.0000000000000002 (anomalous);
    # 27.29 - 24.3 = 2.9899999999999984 -> 0.9999999999999984 (not); 2.98 -> not
    probe("long_word_2_99_float_anomalous", [(" aaah", 10.0, 12.99, 0.95)], seek=500, test_start=10.0)
    probe("long_word_2_99_float_not", [(" aaah", 24.3, 27.29, 0.95)])
    probe("long_word_2_98_not", [(" aaah", 2.98, 0.95)])
    # (0.133 - d) * 15 + 0.01 >= 1: 24.366 - 24.3 -> 1.015000000000016 (anomalous); 24.367 - 24.3 -> 0.99999... (not)
    probe("short_word_0_066_anomalous", [(" x", 24.3, 24.366, 0.9)])
    probe("short_word_0_067_not", [(" x", 24.3, 24.367, 0.9)])
    probe("low_prob_normal_duration_single", [(" hmm", 0.3, 0.1)])
    probe("low_prob_two_of_three", [(" hmm", 0.3, 0.1), (" hm", 0.3, 0.1), (" yes", 0.3, 0.9)])
    probe("duration_near_0_133_plus_low_prob", [(" x", 24.3, 24.433, 0.9), (" y", 24.433, 24.633, 0.1)])
    probe("probability_0_15_not_low", [(" x", 0.3, 0.15)])
    probe("probability_just_below", [(" x", 0.3, 0.1499)])
    probe("score_three_from_long", [(" a", 5.0, 0.9), (" b", 0.3, 0.9), (" c", 0.3, 0.9), (" d", 0.3, 0.9),
                                    (" e", 0.3, 0.9)])
    probe("score_just_under_three", [(" a", 4.98, 0.9), (" b", 0.3, 0.9), (" c", 0.3, 0.9), (" d", 0.3, 0.9),
                                     (" e", 0.3, 0.9)])
    # a segment without probability? always present here (add_word_timestamps sets it)
    return cases


def fuzz(n):
    cases = []
    for i in range(n):
        rng = random.Random(9000 + i)
        small = rng.random() < 0.12
        n_frames = 200 if small else 3000
        scale = n_frames / 3000.0
        thr = rng.choice([None, 0.5, 1.0, 1.0, 2.0, 2.0]) if not small else rng.choice([None, 0.5, 1.0])
        content_frames = rng.choice([n_frames * 4, n_frames * 4 + rng.randint(1, n_frames - 1), 45678])
        if small:
            content_frames = rng.choice([n_frames * 4, n_frames * 4 + rng.randint(1, n_frames - 1)])
        last_window = rng.random() < 0.25
        if last_window:
            seek = content_frames - rng.randint(max(1, n_frames // 10), n_frames)
        else:
            seek = rng.randint(0, content_frames - n_frames)
        segment_size = min(n_frames, content_frames - seek)
        if rng.random() < 0.1:
            segment_size = rng.randint(max(1, segment_size // 2), segment_size)  # a clip end
        to = seek / 100
        limit = to + segment_size / 100
        plan = []
        for _ in range(rng.randint(1, 5)):
            kind = rng.random()
            gap = rng.choice([0.0, rng.uniform(0.0, 0.8), rng.uniform(0.8, 4.0), rng.uniform(2.0, 8.0)]) * scale
            if kind < 0.45:
                spec = "".join(rng.choice("nnnnnp") for _ in range(rng.randint(1, 12)))
            elif kind < 0.75:
                spec = "".join(rng.choice("ssssl" if not small else "s") for _ in range(rng.randint(1, 4)))
            elif kind < 0.88:
                spec = "".join(rng.choice("nnsp") for _ in range(rng.randint(1, 10)))
            elif kind < 0.94:
                spec = "p" * rng.randint(1, 2)
            else:
                plan.append(("empty", gap, rng.uniform(0.2, 3.0) * scale))
                continue
            if small:
                spec = spec[:3]
            plan.append((gap, spec))
        segs = build(rng, to, plan)
        # keep what fits in the decoded part of the window (times are inside it in real output)
        segs = [s for s in segs if s["end"] <= limit and (s["words"] == [] or s["words"][-1]["end"] <= limit)]
        single = rng.random() < 0.25
        last_speech = max(0.0, r2(to - rng.choice([0.0, rng.uniform(0.0, 1.0), rng.uniform(1.0, 6.0)])))
        cases.append(case("fuzz_%03d" % i, seek, segs, thr, single=single, n_frames=n_frames,
                          content_frames=content_frames, segment_size=segment_size, last_speech=last_speech,
                          rng=rng))
    return cases


def check_inputs(c):
    assert isinstance(c["seek"], int) and c["seek"] >= 0
    assert 0 < c["segment_size"] <= c["n_frames"], c["name"]
    assert c["segment_size"] <= c["content_frames"] - c["seek"], c["name"]
    assert isinstance(c["seek_before_words"], int)
    if c["single_timestamp_ending"]:
        assert c["seek_before_words"] == c["seek"] + c["segment_size"], c["name"]
    for s in c["segments"]:
        for w in s["words"]:
            assert isinstance(w["start"], float) and isinstance(w["end"], float), c["name"]
            assert w["end"] >= w["start"], c["name"]


def main():
    cases = handmade() + fuzz(110)
    names = set()
    counts = {b: 0 for b in BRANCHES}
    extra = {}
    out = []
    for c in cases:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        check_inputs(c)
        result, fired = run_block(c)
        result2, fired2 = run_block(c, compensated=True)
        assert (result, fired) == (result2, fired2), "depends on the summation order: " + c["name"]
        for b in fired:
            if b in counts:
                counts[b] += 1
            else:
                extra[b] = extra.get(b, 0) + 1
        row = dict(c)
        row.update(result)
        row["branches"] = fired
        out.append(row)
    text = "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in out) + "\n]\n"
    with open(OUT, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(text.encode("utf-8"))
    print("cases:", len(out), "(handmade %d, fuzz %d)" % (len(out) - sum(1 for c in out if c["name"].startswith(
        "fuzz_")), sum(1 for c in out if c["name"].startswith("fuzz_"))))
    print("threshold null:", sum(1 for c in out if c["threshold"] is None),
          " n_frames 200:", sum(1 for c in out if c["n_frames"] == 200),
          " single_timestamp_ending:", sum(1 for c in out if c["single_timestamp_ending"]),
          " skipped:", sum(1 for c in out if c["skipped_window"]),
          " segments dropped by a cut:", sum(len(c["segments"]) - c["kept_segments"] for c in out
                                             if not c["skipped_window"]))
    for b in BRANCHES:
        print("  %-24s %d" % (b, counts[b]))
    for b in sorted(extra):
        print("  %-24s %d  (informative)" % (b, extra[b]))
    fuzz_counts = {b: sum(1 for c in out if c["name"].startswith("fuzz_") and b in c["branches"]) for b in BRANCHES}
    print("fuzz only:", fuzz_counts)
    for b in BRANCHES:
        assert counts[b] >= 4, b
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
