#!/usr/bin/env bash
# Makes the audio fixtures of AudioDecoderTest (run from this folder; needs Debian's espeak-ng, ffmpeg and
# python3 with numpy + scipy):   bash make_fixtures.sh
# Source: espeak-ng speech (its output is free to use) on the left channel, a 440 Hz tone at 0.2 on the right,
# so the mean downmix (0.5·L + 0.5·R) is told apart from swresample's default mix (0.707·(L + R)).
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 170 -w "$tmp/speech.wav" "zero one two"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff -i "$tmp/speech.wav" -f lavfi -i "sine=frequency=440:sample_rate=44100" -filter_complex \
  "[0:a]aresample=44100,aformat=sample_fmts=fltp:channel_layouts=mono[s];[1:a]volume=0.2,aformat=sample_fmts=fltp:channel_layouts=mono[t];[s][t]amerge=inputs=2,atrim=0:1.5[out]" -map "[out]" \
  -c:a pcm_s16le stereo_44k.wav
ff -i stereo_44k.wav -c:a flac stereo_44k.flac
ff -i stereo_44k.wav -ar 22050 -c:a libmp3lame -b:a 48k stereo_22k.mp3
ff -i stereo_44k.wav -ar 48000 -c:a libopus -b:a 32k stereo_48k.opus
ff -i stereo_44k.wav -ar 8000 -ac 1 -c:a pcm_s16le mono_8k.wav
ff -i stereo_44k.wav -c:a aac -b:a 64k stereo_44k.m4a
ff -f lavfi -i "color=c=gray:s=32x32:r=5" -i stereo_44k.wav -shortest -c:v mpeg4 -c:a aac -b:a 48k video_with_audio.mp4
ff -f lavfi -i "color=c=gray:s=32x32:r=5" -t 1 -c:v mpeg4 video_no_audio.mp4
# A real recording: LibriVox "Sense and Sensibility" (public domain reading) as shipped in Debian's
# pocketsphinx-testdata (BSD-2): 1.5 s from 0.5 s in, in four codecs at other rates.
lv=/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav
ff -ss 0.5 -t 1.5 -i "$lv" -ar 22050 -c:a flac librivox_22k.flac
ff -ss 0.5 -t 1.5 -i "$lv" -ar 44100 -ac 2 -c:a libmp3lame -b:a 64k librivox_44k_stereo.mp3
ff -ss 0.5 -t 1.5 -i "$lv" -ar 48000 -c:a libopus -b:a 24k librivox_48k.opus
ff -ss 0.5 -t 1.5 -i "$lv" -ar 32000 -c:a aac -b:a 48k librivox_32k.m4a
# References: FFmpeg's own decode of each file at its native rate (all channels, float), averaged over the
# channels, resampled to 16 kHz by scipy's polyphase resampler (an independent resampler).
for f in stereo_44k.wav stereo_44k.flac stereo_22k.mp3 stereo_48k.opus mono_8k.wav stereo_44k.m4a video_with_audio.mp4 \
    librivox_22k.flac librivox_44k_stereo.mp3 librivox_48k.opus librivox_32k.m4a; do
  rate=$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate -of csv=p=0 "$f")
  ch=$(ffprobe -v error -select_streams a:0 -show_entries stream=channels -of csv=p=0 "$f")
  ff -i "$f" -map a:0 -f f32le -c:a pcm_f32le "$tmp/raw.f32"
  /usr/bin/python3 - "$tmp/raw.f32" "$rate" "$ch" "ref16k_${f//./_}.npy" <<'PY'
import sys, math, numpy as np
from scipy.signal import resample_poly
raw, rate, ch, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
x = np.fromfile(raw, dtype=np.float32).reshape(-1, ch).mean(axis=1)
g = math.gcd(16000, rate)
y = resample_poly(x.astype(np.float64), 16000 // g, rate // g)
n = (len(x) * 16000 * 2 + rate) // (2 * rate)
y = y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
np.save(out, y.astype(np.float32))
print(out, rate, ch, len(x), "->", n)
PY
done
