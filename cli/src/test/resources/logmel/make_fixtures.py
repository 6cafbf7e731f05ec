"""WAV fixtures and reference log-mel features for cli/src/test/java/dev/tessera/cli/LogMelCommandTest.java.

Run from this folder:  /usr/bin/python3 make_fixtures.py
Reference: torch.stft (float64, periodic Hann 400, hop 160, centred, reflect padding), power spectrum without the
last frame, Whisper's own Slaney filterbank (/work/shared/data/whisper/mel_filters.npz when present,
else torchaudio's melscale_fbanks(norm="slaney", mel_scale="slaney"), equal to 1e-7), log10(max(x, 1e-10)),
clamp to max - 8, (x + 4) / 4. Padded references zero-pad to 480,000 samples first (Whisper's pad_or_trim); only
the first 130 frames and the last one are stored (every frame after the signal's end is equal).
Channels are averaged (Tessera's documented downmix); samples are read with scipy from the WAV files written here.
"""
import os
import numpy as np
import scipy.io.wavfile as wf
import torch
import torchaudio

rng = np.random.default_rng(7)
MF = '/work/shared/data/whisper/mel_filters.npz'


def filters(n_mels):
    if os.path.exists(MF):
        return torch.tensor(np.load(MF)['mel_%d' % n_mels]).double()
    return torchaudio.functional.melscale_fbanks(201, 0., 8000., n_mels, 16000, norm='slaney', mel_scale='slaney').double().T


def logmel(x, n_mels, pad):
    x = torch.tensor(x, dtype=torch.float64)
    if pad:
        x = torch.nn.functional.pad(x, (0, 480000 - x.shape[0]))
    st = torch.stft(x, 400, 160, window=torch.hann_window(400, dtype=torch.float64), center=True, pad_mode='reflect',
                    return_complex=True)
    mel = filters(n_mels) @ (st[..., :-1].abs() ** 2)
    l = torch.clamp(mel, min=1e-10).log10()
    l = torch.maximum(l, l.max() - 8.0)
    return ((l + 4.0) / 4.0).numpy()


def signal(n, amp):
    t = np.arange(n) / 16000
    return amp * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 3 * t) + 0.05 * amp * rng.standard_normal(n)


def read(name):
    sr, a = wf.read(name)
    assert sr == 16000
    a = a.astype(np.float64) / 32768.0 if a.dtype == np.int16 else a.astype(np.float64)
    return a.mean(1) if a.ndim == 2 else a


if __name__ == "__main__":  # qa_logmel.py (docs/verification) imports the reference above
    # 401 samples, int16 mono, unpadded (2 frames)
    wf.write('odd401.wav', 16000, (signal(401, 0.3) * 32767).astype(np.int16))
    np.save('odd401_nopad80.npy', logmel(read('odd401.wav'), 80, False).astype(np.float32))
    # 1.25 s int16 stereo (channels of different loudness), padded, 128 mels
    st = np.stack([signal(20000, 0.3), signal(20000, 0.1)], 1)
    wf.write('stereo.wav', 16000, (st * 32767).astype(np.int16))
    ref = logmel(read('stereo.wav'), 128, True)
    np.save('stereo_pad128_head.npy', ref[:, :130].astype(np.float32))
    np.save('stereo_pad128_last.npy', ref[:, -1:].astype(np.float32))
    # 0.5 s float32 mono with samples beyond +-1, unpadded, 128 mels
    wf.write('loud_f32.wav', 16000, (signal(8000, 3.0)).astype(np.float32))
    np.save('loud_f32_nopad128.npy', logmel(read('loud_f32.wav'), 128, False).astype(np.float32))
    print('ok')
