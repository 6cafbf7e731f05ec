#!/usr/bin/python3
"""CPU peer of LogMelBench: Whisper log-mel of 30 s of 16 kHz audio with torchaudio (Debian python3-torchaudio),
the same maths as dev.tessera.runtime.LogMel (MelSpectrogram n_fft 400, hop 160, Slaney mels and norm, power 2,
centred reflect padding; drop the last frame; log10(clamp 1e-10); max(x, max - 8); (x + 4) / 4), timed in-process.
Prints one JSON object: best and median milliseconds per call over --reps repetitions.

  /usr/bin/python3 bench/python/logmel_peer.py [--n-mels 80] [--seconds 30] [--reps 30] [--threads N]
"""
import argparse
import json
import statistics
import time

import torch
import torchaudio


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-mels", type=int, default=80)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    n = int(16000 * a.seconds)
    g = torch.Generator().manual_seed(1234)
    audio = torch.randn(n, generator=g) * 0.1
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=a.n_mels,
                                               norm="slaney", mel_scale="slaney", power=2.0, center=True,
                                               pad_mode="reflect")

    def run():
        m = mel(audio)[:, :-1]
        x = torch.clamp(m, min=1e-10).log10()
        x = torch.maximum(x, x.max() - 8.0)
        return (x + 4.0) / 4.0

    with torch.no_grad():
        for _ in range(5):
            out = run()
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            out = run()
            times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"peer": "torchaudio.transforms.MelSpectrogram + Whisper log/clamp", "torch": torch.__version__,
                      "torchaudio": torchaudio.__version__, "threads": torch.get_num_threads(), "samples": n,
                      "n_mels": a.n_mels, "frames": int(out.shape[1]), "best_ms": min(times),
                      "median_ms": statistics.median(times), "reps": a.reps}))


if __name__ == "__main__":
    main()
