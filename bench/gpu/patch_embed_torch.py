#!/usr/bin/env python3
"""PyTorch peer of dev.tessera.bench.GpuPatchEmbeddingBench: the ViT-B/16 patch-embedding stem on CUDA.

stem(x) = cat([cls, conv2d(x, w, b, stride=16).flatten(2).transpose(1, 2)], 1) + pos
          x [N, 3, 224, 224], w [768, 3, 16, 16] -> [N, 197, 768]
Timed like the Java side: 3 warm-up calls, a calibration (3 calls) to pick N calls per repetition (about
--target-ms), then --reps repetitions of N back-to-back calls between two CUDA events on the current stream;
the best repetition is reported (the median too). fp32 = cuDNN / cuBLAS without TF32; tf32 = with TF32;
bf16 / fp16 = tensors stored in that dtype. Inputs are uniform in [-1, 1) made on the host in fp32; a few output
rows are checked against float64. Writes JSON to --out (default $OUT/gpu-patch-embed-torch.json).
"""
import argparse
import datetime
import os
import sys

from peer_common import cuda_torch, time_cuda, write  # bench/gpu/peer_common.py, beside this script

C, HW, P, D = 3, 224, 16, 768
L = (HW // P) ** 2


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--dtypes", default="fp32,bf16")
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-patch-embed-torch.json"))
    args = p.parse_args()

    doc = {"impl": "pytorch", "benchmark": "ViT-B/16 patch embedding stem (conv 16x16/16 + bias, cls, pos)",
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "python": sys.version.split()[0],
           "shape": {"n": args.n, "c": C, "h": HW, "w": HW, "patch": P, "d": D, "l": L},
           "method": ("per case: 3 warm-up calls, calibration, then %d repetitions of N back-to-back calls between "
                      "CUDA events, N chosen for ~%g ms; best repetition reported") % (args.reps, args.target_ms)}
    torch = cuda_torch(doc, args.out, "patch_embed_torch")
    if torch is None:
        return 3
    import torch.nn.functional as F
    dev = torch.device(args.device)
    doc.update(available=True, device={"name": torch.cuda.get_device_name(dev),
                                       "computeCapability": "%d.%d" % torch.cuda.get_device_capability(dev)},
               cudnn=torch.backends.cudnn.version())
    torch.backends.cudnn.benchmark = True
    n = args.n
    g = torch.Generator().manual_seed(1234)
    u = lambda *s: torch.rand(*s, generator=g, dtype=torch.float64) * 2 - 1  # noqa: E731
    hx, hw, hb, hc, hp = u(n, C, HW, HW).float(), u(D, C, P, P).float(), u(D).float(), u(1, 1, D).float(), \
        u(1, L + 1, D).float()
    flop = 2.0 * n * L * D * C * P * P
    results = []
    ok_all = True
    for name in [s.strip().lower() for s in args.dtypes.split(",") if s.strip()]:
        r = {"n": n, "dtype": name}
        results.append(r)
        try:
            dt = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
            tf32 = name == "tf32"
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
            x, w, b, cls, pos = (t.to(dev).to(dt) for t in (hx, hw, hb, hc, hp))

            def stem():
                y = F.conv2d(x, w, b, stride=P).flatten(2).transpose(1, 2)
                return torch.cat([cls.expand(n, -1, -1), y], dim=1) + pos

            with torch.inference_mode():
                out = stem().float().cpu().double()
                err = check(out, hx.double(), hw.double(), hb.double(), hc.double(), hp.double(), n)
                bound = {"fp32": 1e-5, "tf32": 5e-3}.get(name, 1e-2)
                r.update(relErr=err, errBound=bound, ok=err <= bound)
                ok_all &= err <= bound
                best, med, iters = time_cuda(torch, stem, args.target_ms, args.reps, min_iters=5, device=dev)
            r.update(iters=iters, reps=args.reps, msBest=best, msMedian=med, tflops=flop / (best * 1e-3) / 1e12,
                     imagesPerSecond=n / (best * 1e-3))
            print("  %-5s %9.4f ms  %7.2f TFLOP/s  %9.0f img/s  rel err %.2e" % (name, best, flop / (best * 1e-3) / 1e12,
                                                                               n / (best * 1e-3), err))
        except Exception as e:  # noqa: BLE001
            ok_all = False
            r["error"] = repr(e)
            print("  %-5s FAILED: %r" % (name, e))
    doc["results"] = results
    write(args.out, doc)
    print("wrote " + args.out)
    return 0 if ok_all else 1


def check(out, x, w, b, cls, pos, n):
    """Relative error of rows 0, 1, 100, L of images 0 and n-1 against a float64 direct convolution."""
    import torch
    num = den = 0.0
    wp = HW // P
    for img in (0, n - 1):
        for r in (0, 1, 100, L):
            if r == 0:
                ref = cls[0, 0].clone()
            else:
                py, px = divmod(r - 1, wp)
                patch = x[img, :, py * P:(py + 1) * P, px * P:(px + 1) * P].reshape(-1)
                ref = w.reshape(D, -1) @ patch + b
            ref = ref + pos[0, r]
            num += float(((out[img, r] - ref) ** 2).sum())
            den += float((ref ** 2).sum())
    return (num / den) ** 0.5 if den > 0 else float("nan")


if __name__ == "__main__":
    sys.exit(main())
