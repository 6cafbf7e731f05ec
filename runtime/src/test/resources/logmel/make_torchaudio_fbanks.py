"""torchaudio's Slaney filterbanks for Whisper's settings, as every torchaudio MelSpectrogram builds them (float32).

Run from this folder:  ATEN_CPU_CAPABILITY=default /usr/bin/python3 make_torchaudio_fbanks.py
(torchaudio 0.13.1 / torch 1.13.1 from Debian). PyTorch's scalar CPU path (capability "default") is the one
MelFilterbank.torchaudio reproduces bit for bit; the AVX2 / AVX-512 builds round a few band edges' expf
differently (weights within 1e-7 of these), which the test allows for separately.
Writes torchaudio_fbanks_{40,64,80,128,201}.npy: float32 [n_mels, 201] (melscale_fbanks(...).T, row m = filter m).
"""
import numpy as np
import torch
import torchaudio

assert torch.backends.cpu.get_cpu_capability() == 'DEFAULT' if hasattr(torch.backends, 'cpu') else True
for n in (40, 64, 80, 128, 201):
    fb = torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, n, 16000, norm='slaney', mel_scale='slaney')
    np.save('torchaudio_fbanks_%d.npy' % n, np.ascontiguousarray(fb.T.numpy().astype(np.float32)))
print('ok')
