#!/usr/bin/env python3
"""PyTorch CPU peer of dev.tessera.bench.ModelOpsBench: the model-pipeline ops, timed in-process.

Same cases, shapes and layouts as the Java side (fp32, random data):
  rope       x viewed [1, 32, 512, 128] from a [1, 512, 32, 128] projection (transpose(1, 2)), HF rotate_half
             with cos/sin [512, 128] (the duplicated halves HF uses): x * cos + rotate_half(x) * sin
  kv_append  cache[:, :, 1000:1016].copy_(k.transpose(1, 2)), cache [1, 8, 4096, 128], k [1, 16, 8, 128]
  concat     torch.cat([a, b], dim=1), a [1, 576, 4096], b [1, 64, 4096]
  sigmoid / exp / quick_gelu on 4M elements (quick_gelu = x * sigmoid(1.702 x))
  log_softmax  [8, 32000] over the last dim;  argmax  [8, 128256] over the last dim
  sum_last   [4096, 1024] over the last dim;  bcast_mul  [8, 512, 1024] * [8, 512, 1]
--warmup untimed calls, then --reps repetitions of --iters calls timed with time.perf_counter(); best and
median ms per call. torch.set_num_threads(--threads). Prints one JSON object. Debian /usr/bin/python3 with
python3-torch.
"""
import argparse
import json
import statistics
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    import torch
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(1)

    def rnd(*shape):
        return torch.randn(*shape, generator=g)

    xp = rnd(1, 512, 32, 128)
    x = xp.transpose(1, 2)
    half = rnd(512, 64)
    cos = torch.cat([half.cos(), half.cos()], dim=-1)
    sin = torch.cat([half.sin(), half.sin()], dim=-1)

    def rotate_half(t):
        t1, t2 = t[..., :64], t[..., 64:]
        return torch.cat((-t2, t1), dim=-1)

    cache = rnd(1, 8, 4096, 128)
    k = rnd(1, 16, 8, 128)
    ca, cb = rnd(1, 576, 4096), rnd(1, 64, 4096)
    u = rnd(4 * 1024 * 1024)
    logits = rnd(8, 32000)
    big = rnd(8, 128256)
    s = rnd(4096, 1024)
    bm, bf = rnd(8, 512, 1024), rnd(8, 512, 1)
    cases = {
        "rope": lambda: x * cos + rotate_half(x) * sin,
        "kv_append": lambda: cache[:, :, 1000:1016].copy_(k.transpose(1, 2)),
        "concat": lambda: torch.cat([ca, cb], dim=1),
        "sigmoid": lambda: torch.sigmoid(u),
        "exp": lambda: torch.exp(u),
        "quick_gelu": lambda: u * torch.sigmoid(1.702 * u),
        "log_softmax": lambda: torch.log_softmax(logits, dim=-1),
        "argmax": lambda: torch.argmax(big, dim=-1).tolist(),
        "sum_last": lambda: s.sum(dim=-1),
        "bcast_mul": lambda: bm * bf,
    }
    out = {"peer": "pytorch-cpu", "torch": torch.__version__, "threads": torch.get_num_threads(), "cases": {}}
    with torch.no_grad():
        for name, fn in cases.items():
            for _ in range(a.warmup):
                fn()
            t = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                for _ in range(a.iters):
                    fn()
                t.append((time.perf_counter() - t0) * 1e3 / a.iters)
            out["cases"][name] = {"best_ms": min(t), "median_ms": statistics.median(t)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
