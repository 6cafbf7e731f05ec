#!/usr/bin/env python3
"""PyTorch CPU peer of dev.tessera.bench.RbmBench: one CD-1 step of a binary RBM, timed in-process.

The same maths as dev.tessera.runtime.rbm.ContrastiveDivergence (CD-1, momentum, L2 decay, no sparsity):
  p0 = sigmoid(v0 W + c); h0 ~ Bernoulli(p0)
  v1 ~ Bernoulli(sigmoid(h0 W^T + b)); p1 = sigmoid(v1 W + c)
  dW = (v0^T p0 - v1^T p1) / B, db = mean(v0 - v1), dc = mean(p0 - p1)
  vel = m vel + lr (grad - decay W); W += vel   (biases without decay)
Cases: "step" (--nv x --nh, batch --batch, data uniform in [0, 1) as probabilities) and, with --mnist-rows N,
"epoch": N rows in batches of --batch (one epoch over a subset of the same size as the Java run; random
data of MNIST's shape - the timing does not depend on the values). Bernoulli samples use torch.rand
(Philox is ours; torch's CPU generator is mt19937). --warmup untimed calls, then --reps repetitions of
--iters calls timed with time.perf_counter(); best and median ms per call. torch.set_num_threads(--threads).
Prints one JSON object (and writes it to --out). Use Debian's /usr/bin/python3 with python3-torch.
"""
import argparse
import json
import statistics
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nv", type=int, default=784)
    p.add_argument("--nh", type=int, default=500)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--mnist-rows", type=int, default=0, help="also time an epoch over this many rows")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out", default="")
    a = p.parse_args()
    import torch
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(1)
    nv, nh, b = a.nv, a.nh, a.batch
    W = torch.randn(nv, nh, generator=g) * 0.01
    vb = torch.zeros(nv)
    hb = torch.zeros(nh)
    Wv, vbv, hbv = torch.zeros_like(W), torch.zeros_like(vb), torch.zeros_like(hb)
    lr, mom, decay = 0.1, 0.5, 2e-4

    def step(v0):
        p0 = torch.sigmoid(torch.addmm(hb, v0, W))
        h0 = (torch.rand(p0.shape, generator=g) < p0).float()
        pv = torch.sigmoid(torch.addmm(vb, h0, W.t()))
        v1 = (torch.rand(pv.shape, generator=g) < pv).float()
        p1 = torch.sigmoid(torch.addmm(hb, v1, W))
        gW = (v0.t() @ p0 - v1.t() @ p1) / v0.shape[0]
        gvb = (v0 - v1).mean(0)
        ghb = (p0 - p1).mean(0)
        Wv.mul_(mom).add_(lr * (gW - decay * W))
        W.add_(Wv)
        vbv.mul_(mom).add_(lr * gvb)
        vb.add_(vbv)
        hbv.mul_(mom).add_(lr * ghb)
        hb.add_(hbv)

    def timeit(fn, iters):
        for _ in range(a.warmup):
            fn()
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            times.append((time.perf_counter() - t0) * 1e3 / iters)
        return {"best_ms": min(times), "median_ms": statistics.median(times)}

    import os
    blas = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    res = {"peer": "pytorch-cpu", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "blas_info": "BLAS_INFO=generic" if "BLAS_INFO=generic" in torch.__config__.show() else "see torch config",
           "libblas": os.path.realpath(blas) if os.path.exists(blas) else "",
           "nv": nv, "nh": nh, "batch": b, "cases": {}}
    with torch.no_grad():
        v0 = torch.rand(b, nv, generator=g)
        res["cases"]["step"] = timeit(lambda: step(v0), a.iters)
        if a.mnist_rows > 0:
            data = torch.rand(a.mnist_rows, nv, generator=g)

            def epoch():
                for s in range(0, a.mnist_rows - b + 1, b):
                    step(data[s:s + b])
            res["cases"]["epoch"] = timeit(epoch, 1)
            res["cases"]["epoch"]["rows"] = a.mnist_rows
    out = json.dumps(res, indent=1)
    print(out)
    if a.out:
        with open(a.out, "w") as f:
            f.write(out + "\n")


if __name__ == "__main__":
    sys.exit(main())
