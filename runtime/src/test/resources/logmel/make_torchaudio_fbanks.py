"""torchaudio's Slaney filterbanks for Whisper's settings, as every torchaudio MelSpectrogram builds them (float32).

Run from this folder:  /usr/bin/python3 make_torchaudio_fbanks.py
(torchaudio 0.13.1 / torch 1.13.1 from Debian, on an AVX2 machine). PyTorch's AVX2 kernels (its CPU capability on
x86 with AVX2: FMA-contracted linspace, SLEEF's expf) are what MelFilterbank.torchaudio reproduces bit for bit; its
scalar ("default") and AVX-512 paths round a few band edges differently (weights within 4e-7 of these).
Writes torchaudio_fbanks_{40,64,80,128,180,201}.npy: float32 [n_mels, 201] (melscale_fbanks(...).T, row m = filter m).
"""
import numpy as np
import torch
import torchaudio

assert 'CPU capability usage: AVX2' in torch.__config__.show(), 'run where PyTorch uses its AVX2 kernels'
for n in (40, 64, 80, 128, 180, 201):
    fb = torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, n, 16000, norm='slaney', mel_scale='slaney')
    np.save('torchaudio_fbanks_%d.npy' % n, np.ascontiguousarray(fb.T.numpy().astype(np.float32)))
print('ok')
