#!/usr/bin/python3
"""Golden log-mel features for runtime/src/test/resources/logmel/ (LogMelGoldenTest).

Reference: Debian python3-torchaudio 0.13 / python3-torch 1.13 (CPU, float32):
  torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80|128,
      norm="slaney", mel_scale="slaney", power=2, center=True, pad_mode="reflect")
followed by Whisper's steps: drop the last frame, log10(clamp(mel, 1e-10)), maximum(x, x.max() - 8),
(x + 4) / 4. "padded": the clip zero-padded to 480,000 samples first (3,000 frames; only the first
n / 160 + --keep-extra frames are stored, plus the value every later frame has, to keep the fixtures small);
"unpadded": the clip as is (n / 160 frames).

Inputs, written as 16-bit PCM WAV (the reference runs on exactly the samples a WAV reader gets:
int16 / 32768, channels averaged):
  speech.wav  1.5 s of /usr/share/codec2/raw/speech_orig_16k.wav (Debian codec2-examples, LGPL-2.1),
              from 1.0 s, mono
  noise.wav   0.5 s of seeded Gaussian noise (numpy default_rng(20261126), sigma 0.1), stereo with
              independent channels (tests the channel averaging)

Run: /usr/bin/python3 bench/python/make_logmel_golden.py [--out runtime/src/test/resources/logmel]
"""
import argparse
import os
import wave

import numpy as np
import torch
import torchaudio

SR = 16000
N_SAMPLES = 480000


def read_wav_int16(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2, path
        ch, sr, n = w.getnchannels(), w.getframerate(), w.getnframes()
        data = np.frombuffer(w.readframes(n), dtype="<i2").reshape(n, ch)
    return data, sr


def write_wav_int16(path, data, sr):
    data = np.asarray(data, dtype="<i2")
    if data.ndim == 1:
        data = data[:, None]
    with wave.open(path, "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(data.tobytes())


def to_float(data):
    # channel mean of int16 / 32768, as runtime's WavReader does (exact in float32 for <= 2 channels)
    return (data.astype(np.float64).mean(axis=1) / 32768.0).astype(np.float32)


def log_mel(audio, n_mels, padded):
    x = torch.from_numpy(audio)
    if padded:
        x = torch.nn.functional.pad(x, (0, N_SAMPLES - x.shape[0]))
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=400, hop_length=160, n_mels=n_mels,
                                               norm="slaney", mel_scale="slaney", power=2.0, center=True,
                                               pad_mode="reflect")(x)
    mel = mel[:, :-1]
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return np.ascontiguousarray(((log_spec + 4.0) / 4.0).numpy().astype(np.float32))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runtime/src/test/resources/logmel")
    ap.add_argument("--speech", default="/usr/share/codec2/raw/speech_orig_16k.wav")
    ap.add_argument("--keep-extra", type=int, default=10, help="padded frames stored beyond the clip's own")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    speech, sr = read_wav_int16(args.speech)
    assert sr == SR, sr
    speech = speech[SR: SR + SR * 3 // 2, :1]
    rng = np.random.default_rng(20261126)
    noise = np.clip(np.round(rng.normal(0.0, 0.1, size=(SR // 2, 2)) * 32768), -32768, 32767).astype(np.int16)
    clips = {"speech": speech, "noise": noise}
    for name, data in clips.items():
        write_wav_int16(os.path.join(args.out, name + ".wav"), data, SR)
        audio = to_float(data)
        for n_mels in (80, 128):
            un = log_mel(audio, n_mels, padded=False)
            np.save(os.path.join(args.out, f"{name}_{n_mels}_unpadded.npy"), np.ascontiguousarray(un))
            pad = log_mel(audio, n_mels, padded=True)
            assert pad.shape == (n_mels, 3000), pad.shape
            keep = un.shape[1] + args.keep_extra
            tail = pad[:, keep:]
            assert np.all(tail == tail[0, 0]), "frames after the kept ones must be constant"
            np.save(os.path.join(args.out, f"{name}_{n_mels}_padded_head.npy"), np.ascontiguousarray(pad[:, :keep]))
            np.save(os.path.join(args.out, f"{name}_{n_mels}_padded_tail.npy"), np.array([tail[0, 0]], np.float32))
            print(name, n_mels, "unpadded", un.shape, "padded", pad.shape, "tail", tail[0, 0])


if __name__ == "__main__":
    main()
