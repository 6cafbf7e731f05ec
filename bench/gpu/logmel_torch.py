#!/usr/bin/env python3
"""GPU peer of GpuLogMelBench: Whisper log-mel of a batch of 30 s clips with PyTorch on CUDA, the way Whisper's
own log_mel_spectrogram does it: torch.stft(n_fft 400, hop 160, periodic Hann, centred, reflect) -> |X|^2 (last
frame dropped) -> Slaney mel filters (librosa construction, computed here) @ power -> log10(clamp 1e-10) ->
max(x, max - 8) per clip -> (x + 4) / 4. Timed with CUDA events: warm-up, then --reps repetitions of --calls calls;
best and median ms per batch. Writes JSON to $OUT/gpu-logmel-torch.json (or --out). Without torch or CUDA: the
reason in that JSON and exit 3 (run.sh: "unavailable").

  python3 bench/gpu/logmel_torch.py [--batch 64] [--n-mels 80,128] [--reps 5] [--calls 5] [--out FILE]
"""
import argparse
import math
import os
import statistics
import sys
import time

from peer_common import cuda_torch, write  # bench/gpu/peer_common.py, beside this script


def slaney_mel(torch, n_mels, n_fft=400, sr=16000, fmin=0.0, fmax=8000.0):
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def hz_to_mel(f):
        return f / f_sp if f < min_log_hz else min_log_mel + math.log(f / min_log_hz) / logstep

    def mel_to_hz(m):
        return m * f_sp if m < min_log_mel else min_log_hz * math.exp(logstep * (m - min_log_mel))

    lo, hi = hz_to_mel(fmin), hz_to_mel(fmax)
    pts = torch.tensor([mel_to_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)], dtype=torch.float64)
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1, dtype=torch.float64)
    lower = (freqs[None, :] - pts[:-2, None]) / (pts[1:-1] - pts[:-2])[:, None]
    upper = (pts[2:, None] - freqs[None, :]) / (pts[2:] - pts[1:-1])[:, None]
    w = torch.clamp(torch.minimum(lower, upper), min=0)
    return (w * (2.0 / (pts[2:] - pts[:-2]))[:, None]).float()


def log_mel(torch, audio, filters, window):
    stft = torch.stft(audio, 400, 160, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = stft[..., :-1].abs() ** 2
    mel = filters @ power
    x = torch.clamp(mel, min=1e-10).log10()
    mx = x.amax(dim=(-2, -1), keepdim=True)
    x = torch.maximum(x, mx - 8.0)
    return (x + 4.0) / 4.0


def stages(torch, audio, filters, window, calls):
    """GPU ms per call of log_mel's steps (CUDA events around each, as GpuLogMelBench's profiled pass): the STFT
    (reflect padding, framing with the window, cuFFT), |X|^2, the mel matmul, the log / clamp / scale finish."""
    names = ["stft (pad, frames x window, cuFFT)", "power", "mel matmul", "log / max / clamp"]
    total = [0.0] * len(names)
    for _ in range(calls):
        ev = [torch.cuda.Event(enable_timing=True) for _ in range(len(names) + 1)]
        ev[0].record()
        stft = torch.stft(audio, 400, 160, window=window, center=True, pad_mode="reflect", return_complex=True)
        ev[1].record()
        power = stft[..., :-1].abs() ** 2
        ev[2].record()
        mel = filters @ power
        ev[3].record()
        x = torch.clamp(mel, min=1e-10).log10()
        mx = x.amax(dim=(-2, -1), keepdim=True)
        x = (torch.maximum(x, mx - 8.0) + 4.0) / 4.0
        ev[4].record()
        ev[4].synchronize()
        for i in range(len(names)):
            total[i] += ev[i].elapsed_time(ev[i + 1])
    return {n: t / calls for n, t in zip(names, total)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n-mels", default="80,128")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--calls", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-logmel-torch.json"))
    a = ap.parse_args()
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "impl": "torch"}
    torch = cuda_torch(doc, a.out, "logmel_torch")
    if torch is None:
        return 3
    dev = torch.device("cuda")
    g = torch.Generator(device="cpu").manual_seed(1234)
    audio = ((torch.rand(a.batch, 480000, generator=g) * 2 - 1) * 0.2).to(dev)
    window = torch.hann_window(400, device=dev)
    results = []
    with torch.no_grad():
        for m in [int(v) for v in a.n_mels.split(",")]:
            filters = slaney_mel(torch, m).to(dev)
            for _ in range(3):
                out = log_mel(torch, audio, filters, window)
            assert out.shape == (a.batch, m, 3000), out.shape
            torch.cuda.synchronize()
            ms = []
            for _ in range(a.reps):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                for _ in range(a.calls):
                    out = log_mel(torch, audio, filters, window)
                e.record()
                e.synchronize()
                ms.append(s.elapsed_time(e) / a.calls)
            st = stages(torch, audio, filters, window, a.calls)
            results.append({"n_mels": m, "batch": a.batch, "best_ms": min(ms), "median_ms": statistics.median(ms),
                            "stages_ms": st})
            print(f"torch log-mel {a.batch} x 30 s, {m} mels: best {min(ms):.3f} ms, median {statistics.median(ms):.3f} ms")
            print("  GPU time per step: " + ", ".join(f"{k} {v:.3f} ms" for k, v in st.items()))
    doc.update(available=True, device=torch.cuda.get_device_name(0), results=results)
    write(a.out, doc)
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
