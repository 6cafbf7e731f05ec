#!/usr/bin/env python3
"""PyTorch CPU peer of dev.tessera.bench.PatchEmbeddingBench: the ViT patch-embedding stem, timed in-process.

Cases (same shapes and fp32 data layout as the Java benchmark):
  conv     F.conv2d(x, w, b, stride=P).flatten(2).transpose(1, 2).contiguous()   -> [N, L, D]
  stem     the same, then torch.cat([cls, .], 1) + pos                          -> [N, L + 1, D]
Inputs are uniform in [-1, 1) (torch.Generator seeded). Each case: --warmup untimed calls, then --reps
repetitions of --iters calls timed with time.perf_counter(); best and median ms per call are reported.
Runs under torch.inference_mode() with torch.set_num_threads(--threads). Prints one JSON object on stdout
(and writes it to --out if given). Use Debian's /usr/bin/python3 with python3-torch.
"""
import argparse
import json
import statistics
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--c", type=int, default=3)
    p.add_argument("--hw", type=int, default=224)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--d", type=int, default=768)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out", default="")
    args = p.parse_args()

    doc = {"impl": "pytorch-cpu", "python": sys.version.split()[0]}
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001
        doc.update(available=False, reason="import torch failed: %r" % (e,))
        emit(doc, args.out)
        return 3
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    doc.update(available=True, torch=torch.__version__, threads=torch.get_num_threads(),
               mkldnn=bool(torch.backends.mkldnn.is_available()))
    n, c, hw, pp, d = args.n, args.c, args.hw, args.patch, args.d
    l = (hw // pp) ** 2
    g = torch.Generator().manual_seed(1234)
    u = lambda *s: torch.rand(*s, generator=g) * 2 - 1  # noqa: E731
    x, w, b = u(n, c, hw, hw), u(d, c, pp, pp), u(d)
    cls, pos = u(1, 1, d), u(1, l + 1, d)

    def conv():
        return F.conv2d(x, w, b, stride=pp).flatten(2).transpose(1, 2).contiguous()

    def stem():
        y = F.conv2d(x, w, b, stride=pp).flatten(2).transpose(1, 2)
        return torch.cat([cls.expand(n, -1, -1), y], dim=1) + pos

    flop = 2.0 * n * l * d * c * pp * pp
    results = []
    with torch.inference_mode():
        assert tuple(stem().shape) == (n, l + 1, d)
        for name, fn in (("conv", conv), ("stem", stem)):
            for _ in range(args.warmup):
                fn()
            per = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                for _ in range(args.iters):
                    fn()
                per.append((time.perf_counter() - t0) * 1e3 / args.iters)
            best, med = min(per), statistics.median(per)
            results.append({"case": name, "msBest": best, "msMedian": med, "gflopsBest": flop / (best * 1e-3) / 1e9})
    doc.update(shape={"n": n, "c": c, "h": hw, "w": hw, "patch": pp, "d": d, "l": l}, flopPerCall=flop,
               method="%d warm-up calls, %d repetitions of %d calls timed with perf_counter; inference_mode"
                      % (args.warmup, args.reps, args.iters),
               results=results)
    emit(doc, args.out)
    return 0


def emit(doc, out):
    s = json.dumps(doc)
    print(s)
    if out:
        with open(out, "w") as f:
            f.write(s + "\n")


if __name__ == "__main__":
    sys.exit(main())
