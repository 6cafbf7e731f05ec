#!/usr/bin/env python3
"""Synthesises the spoken digits "zero".."nine" with espeak-ng and stores them as two Opus files.

Every clip is resampled to 16 kHz mono, trimmed/padded to exactly 1.0 s (16,000 samples, speech at the
start) and scaled by a per-clip amplitude; the clips of one split are concatenated in manifest order and
encoded once with the ffmpeg CLI (libopus, 16 kbit/s). Clip i of a split is samples [16000 i, 16000 (i+1))
of its decoded stream. Manifest: <split>.csv with columns index,digit,voice,pitch,speed,amplitude.

Held-out ("test") voices share no voice with training: their espeak-ng variants (m4, m7, f4) and two of
their accents (en-gb-x-gbclan, en-gb-x-gbcwmd) never occur in the training split.

Command (from the repository root; needs espeak-ng, ffmpeg with libopus, python3 with numpy + scipy):
    python3 data/spoken-digits/make_spoken_digits.py
"""
import csv
import io
import os
import subprocess
import sys
import wave

import numpy as np
from scipy.signal import resample_poly

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
RATE = 16000
TRAIN_BASES = ["en-gb", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp"]
TRAIN_VARIANTS = ["m1", "m2", "m3", "m5", "m6", "f1", "f2", "f3", "f5"]
TEST_BASES = ["en-gb", "en-us", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
TEST_VARIANTS = ["m4", "m7", "f4"]
PITCHES = [40, 60]
SPEEDS = [150, 185]
AMPLITUDES = [0.5, 0.8]


def speak(word, voice, pitch, speed):
    wav = subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", word],
                         check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    g = np.gcd(RATE, rate)
    x = resample_poly(x, RATE // g, rate // g)
    nz = np.nonzero(np.abs(x) > 0.01)[0]
    if len(nz):
        x = x[max(0, nz[0] - 400):]
    out = np.zeros(RATE)
    out[:min(RATE, len(x))] = x[:RATE]
    peak = np.max(np.abs(out)) or 1.0
    return out / peak


def build(split, bases, variants, out_dir):
    rows, clips = [], []
    for base in bases:
        for var in variants:
            voice = base + "+" + var
            for pitch in PITCHES:
                for speed in SPEEDS:
                    for d, word in enumerate(WORDS):
                        amp = AMPLITUDES[(len(rows) // 10) % len(AMPLITUDES)]
                        clips.append(amp * speak(word, voice, pitch, speed))
                        rows.append([len(rows), d, voice, pitch, speed, amp])
    pcm = (np.concatenate(clips) * 32767).astype("<i2").tobytes()
    opus = os.path.join(out_dir, split + ".opus")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", "pipe:0",
                    "-c:a", "libopus", "-b:a", "16k", "-application", "voip", opus], input=pcm, check=True)
    with open(os.path.join(out_dir, split + ".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "digit", "voice", "pitch", "speed", "amplitude"])
        w.writerows(rows)
    print(split, len(rows), "clips", os.path.getsize(opus), "bytes", file=sys.stderr)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    build("train", TRAIN_BASES, TRAIN_VARIANTS, here)
    build("test", TEST_BASES, TEST_VARIANTS, here)
