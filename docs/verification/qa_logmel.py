#!/usr/bin/env python3
"""QA cases for `tessera logmel AUDIO --out F.npy [--n-mels N] [--no-pad] [--mel-filters torchaudio|whisper]` on
16 kHz WAV files of other sample formats (int16, uint8, int32, float32), channel counts and lengths (201 samples to
45 s: cut to 30 s without --no-pad, as Whisper's pad_or_trim), against the float64 reference of
cli/src/test/resources/logmel/make_fixtures.py (torch.stft, periodic Hann 400, hop 160, centred reflect padding, power
without the last frame, Slaney filterbank, log10 floor 1e-10, clamp to max - 8, (x + 4) / 4). The filterbank is
torchaudio's melscale_fbanks(norm="slaney", mel_scale="slaney") for the default and Whisper's mel_filters.npz
(/work/shared/data/whisper) for --mel-filters whisper. Channels are averaged (Tessera's documented downmix).
The bound is the issue's: max abs error <= 1e-4 on the final features.

Usage (from the repository root, after the CLI is built):
    /usr/bin/python3 docs/verification/qa_logmel.py make OUT && sh OUT/run.sh && /usr/bin/python3 docs/verification/qa_logmel.py check OUT
"""
import os
import sys

import numpy as np
import scipy.io.wavfile as wf
import torch
import torchaudio

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def load_module(name, path):
    """A script of the repository as a module under its own name (several fixture scripts are make_fixtures.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LM = load_module('logmel_fixtures', 'cli/src/test/resources/logmel/make_fixtures.py')

SR = 16000
# name, sample format, channels, seconds (or samples when an int), n_mels, --no-pad, --mel-filters
CASES = [
    ('s16_7s_pad80', 'int16', 1, 7.3, 80, False, None),
    ('s16_7s_pad128', 'int16', 1, 7.3, 128, False, None),
    ('s16_7s_nopad80_whisper', 'int16', 1, 7.3, 80, True, 'whisper'),
    ('u8_2s_nopad80', 'uint8', 1, 2.0, 80, True, None),
    ('s32_3s_pad80', 'int32', 1, 3.0, 80, False, None),
    ('f32_stereo_5s_nopad128', 'float32', 2, 5.0, 128, True, None),
    ('s16_3ch_1s_pad128_whisper', 'int16', 3, 1.0, 128, False, 'whisper'),
    ('s16_30s_pad128', 'int16', 1, 30.0, 128, False, None),
    ('s16_45s_cut80', 'int16', 1, 45.0, 80, False, None),
    ('s16_45s_nopad80', 'int16', 1, 45.0, 80, True, None),
    ('s16_201samples_nopad80', 'int16', 1, 201, 80, True, None),
    ('f32_quiet_tail_nopad80', 'float32', 1, 4.0, 80, True, None),
    # other band counts (session 13: --n-mels takes 1..201)
    ('s16_5s_pad40', 'int16', 1, 5.0, 40, False, None),
    ('s16_5s_nopad64', 'int16', 1, 5.0, 64, True, None),
    ('f32_3s_nopad201', 'float32', 1, 3.0, 201, True, None),
    ('s16_2s_nopad1', 'int16', 1, 2.0, 1, True, None),
]


def signal(n, channels, seed):
    """Speech-like test audio: a gliding harmonic tone with a syllable envelope, noise, a silent stretch."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 120 + 80 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 8))
    env = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 2
    x = 0.3 * env * tone + 0.01 * rng.standard_normal(n)
    x[n // 3:n // 3 + n // 10] = 0.0  # silence
    return np.stack([x * (0.5 + 0.5 * c) + 0.02 * c * rng.standard_normal(n) for c in range(channels)], 1)


def encode(x, fmt):
    if fmt == 'int16':
        return (np.clip(x, -1, 1) * 32767).astype(np.int16)
    if fmt == 'int32':
        return (np.clip(x, -1, 1) * 2147483647).astype(np.int32)
    if fmt == 'uint8':
        return (np.clip(x, -1, 1) * 127 + 128).round().astype(np.uint8)
    return x.astype(np.float32)


def decode(a):
    """The WAV samples as float64 in [-1, 1), channels averaged."""
    if a.dtype == np.int16:
        x = a.astype(np.float64) / 32768.0
    elif a.dtype == np.int32:
        x = a.astype(np.float64) / 2147483648.0
    elif a.dtype == np.uint8:
        x = (a.astype(np.float64) - 128.0) / 128.0
    else:
        x = a.astype(np.float64)
    return x.mean(1) if x.ndim == 2 else x


def make(out):
    os.makedirs(out, exist_ok=True)
    run = ['#!/bin/sh', 'T=${TESSERA:-./tessera}', 'O=%s' % os.path.abspath(out)]
    for k, (name, fmt, ch, length, mels, nopad, filt) in enumerate(CASES):
        n = length if isinstance(length, int) else int(round(length * SR))
        x = signal(n, ch, k)
        if name.startswith('f32_quiet_tail'):
            x[n // 2:] *= 1e-6  # a near-silent second half: the max - 8 clamp decides it
        a = encode(x, fmt)
        wf.write(os.path.join(out, name + '.wav'), SR, a[:, 0] if ch == 1 else a)
        opts = ['--n-mels', str(mels)] + (['--no-pad'] if nopad else []) + (['--mel-filters', filt] if filt else [])
        run.append('$T logmel $O/{n}.wav --out $O/{n}.npy {o} > $O/{n}.log 2>&1; echo "{n} rc=$?"'
                   .format(n=name, o=' '.join(opts)))
    open(os.path.join(out, 'run.sh'), 'w').write('\n'.join(run) + '\n')


def torchaudio_filters(n_mels):
    return torchaudio.functional.melscale_fbanks(201, 0., 8000., n_mels, SR, norm='slaney',
                                                 mel_scale='slaney').double().T


def whisper_filters(n_mels):
    return torch.tensor(np.load('/work/shared/data/whisper/mel_filters.npz')['mel_%d' % n_mels]).double()


def check(out):
    bad = 0
    for name, fmt, ch, length, mels, nopad, filt in CASES:
        try:
            got = np.load(os.path.join(out, name + '.npy'))
        except Exception:
            log = open(os.path.join(out, name + '.log')).read().strip().splitlines()
            print('%-28s FAILED: %s' % (name, log[-1] if log else '?'))
            bad += 1
            continue
        sr, a = wf.read(os.path.join(out, name + '.wav'))
        x = decode(a)
        if not nopad:
            x = x[:480000]  # pad_or_trim: cut to 30 s (LM.logmel pads up to 30 s)
        LM.filters = whisper_filters if filt == 'whisper' else torchaudio_filters
        ref = LM.logmel(x, mels, not nopad)
        if got.shape != ref.shape or got.dtype != np.float32:
            print('%-28s shape %s %s, reference %s' % (name, got.shape, got.dtype, ref.shape))
            bad += 1
            continue
        err = float(np.abs(got.astype(np.float64) - ref).max())
        ok = err <= 1e-4
        bad += not ok
        print('%-28s %-8s %d ch %s -> [%d, %d]: max abs err %.2e %s'
              % (name, fmt, ch, 'no-pad' if nopad else 'pad', ref.shape[0], ref.shape[1], err, '' if ok else 'ABOVE 1e-4'))
    print('all cases within 1e-4' if bad == 0 else '%d case(s) fail' % bad)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit({'make': make, 'check': check}[sys.argv[1]](sys.argv[2]))
