#!/usr/bin/env bash
# Makes the multichannel and format-change fixtures of AudioDecoderTest (run from this folder; needs Debian's
# ffmpeg and python3 with numpy + scipy; make_fixtures.sh must have run, its stereo_44k.wav and
# librivox_22k.flac are sources here):   bash make_stream_fixtures.sh
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# 1. Random PCM in 1, 2, 4 (quad), 5.1, 6 (no channel mask) and 7.1 channels, 0.1 s, 16-bit, written by
#    numpy (WAVE_FORMAT_EXTENSIBLE with the channel mask where there is one). Each channel is independent
#    Gaussian noise low-passed to 6 kHz (below the 8 kHz Nyquist of 16 kHz, so that the comparison of two
#    resamplers is not dominated by their different transition bands). References: the numpy mean of the
#    channels at the file's rate (mc_*_mean.npy) and that mean resampled to 16 kHz by scipy's resample_poly,
#    cut or zero-padded to round(n * 16000 / rate) samples (ref16k_mc_*_wav.npy).
/usr/bin/python3 - <<'PY'
import math, struct, numpy as np
from scipy.signal import firwin, lfilter, resample_poly
specs = [("mono", 1, 44100, 0x4), ("stereo", 2, 48000, 0x3), ("quad", 4, 22050, 0x33),
         ("5.1", 6, 48000, 0x3F), ("6ch", 6, 32000, None), ("7.1", 8, 44100, 0x63F)]
rng = np.random.default_rng(20261127)
for name, ch, rate, mask in specs:
    n = rate // 10
    h = firwin(101, 6000, fs=rate)
    x = np.stack([lfilter(h, 1.0, rng.standard_normal(n + 200))[200:] for _ in range(ch)], axis=1)
    x = x / np.abs(x).max() * 0.9
    pcm = np.round(x * 32767).astype('<i2')
    data = pcm.tobytes()
    if mask is None:   # plain WAVE_FORMAT_PCM: FFmpeg knows the channel count, not the speakers
        fmt = struct.pack('<HHIIHH', 1, ch, rate, rate * ch * 2, ch * 2, 16)
    else:              # WAVE_FORMAT_EXTENSIBLE, sub-format PCM
        guid = bytes.fromhex('0100000000001000800000aa00389b71')
        fmt = struct.pack('<HHIIHHHHI', 0xFFFE, ch, rate, rate * ch * 2, ch * 2, 16, 22, 16, mask) + guid
    body = b'WAVE' + b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'data' + struct.pack('<I', len(data)) + data
    fname = "mc_%s.wav" % name.replace('.', '')
    open(fname, 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
    mean = (pcm.astype(np.float64) / 32768.0).mean(axis=1)
    np.save("mc_%s_mean.npy" % name.replace('.', ''), mean.astype(np.float32))
    g = math.gcd(16000, rate)
    y = resample_poly(mean, 16000 // g, rate // g)
    m = (n * 16000 * 2 + rate) // (2 * rate)
    y = y[:m] if len(y) >= m else np.pad(y, (0, m - len(y)))
    np.save("ref16k_" + fname.replace('.', '_') + ".npy", y.astype(np.float32))
    print(fname, ch, rate, hex(mask) if mask else None, n, "->", m)
PY

# 2. A stream whose format changes mid-way: two MP3s (no Xing/LAME or ID3 header, so nothing trims them)
#    concatenated byte by byte: 0.6 s of LibriVox at 22.05 kHz mono, then 0.6 s of the stereo fixture at
#    44.1 kHz stereo. Reference: the FFmpeg CLI's decode of each part alone at its own rate, channel mean,
#    resample_poly to 16 kHz, each cut/padded to round(n_k * 16000 / rate_k), concatenated.
ff -t 0.6 -i librivox_22k.flac -ar 22050 -ac 1 -c:a libmp3lame -b:a 48k -write_xing 0 -id3v2_version 0 "$tmp/a.mp3"
ff -ss 0.6 -t 0.6 -i stereo_44k.wav -ar 44100 -ac 2 -c:a libmp3lame -b:a 64k -write_xing 0 -id3v2_version 0 "$tmp/b.mp3"
cat "$tmp/a.mp3" "$tmp/b.mp3" > rate_change.mp3
for p in a b; do
  rate=$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate -of csv=p=0 "$tmp/$p.mp3")
  ch=$(ffprobe -v error -select_streams a:0 -show_entries stream=channels -of csv=p=0 "$tmp/$p.mp3")
  ff -i "$tmp/$p.mp3" -f f32le -c:a pcm_f32le "$tmp/$p.f32"
  echo "$tmp/$p.f32 $rate $ch" >> "$tmp/parts.txt"
done
/usr/bin/python3 - "$tmp/parts.txt" <<'PY'
import sys, math, numpy as np
from scipy.signal import resample_poly
out = []
for line in open(sys.argv[1]):
    raw, rate, ch = line.split(); rate, ch = int(rate), int(ch)
    x = np.fromfile(raw, dtype=np.float32).reshape(-1, ch).mean(axis=1).astype(np.float64)
    g = math.gcd(16000, rate)
    y = resample_poly(x, 16000 // g, rate // g)
    n = (len(x) * 16000 * 2 + rate) // (2 * rate)
    y = y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
    print("part", rate, ch, len(x), "->", n)
    out.append(y)
np.save("ref16k_rate_change_mp3.npy", np.concatenate(out).astype(np.float32))
PY

# 3. The AAC fixture with its index first (moov before mdat, "faststart"), which streams from an InputStream
#    without spooling: the same packets as stereo_44k.m4a, remuxed.
ff -i stereo_44k.m4a -c copy -movflags +faststart stereo_44k_faststart.m4a

# 4. A WebM (Matroska) video with Opus audio: the audio track of a video container that streams.
ff -f lavfi -i "color=c=gray:s=32x32:r=5" -i stereo_44k.wav -shortest -c:v libvpx -b:v 20k -c:a libopus -b:a 32k video_with_audio.webm
