#!/usr/bin/env python3
"""PyTorch CUDA peer of dev.tessera.bench.GpuRbmBench: one CD-1 step of a binary RBM, same maths.

  p0 = sigmoid(v0 W + c); h0 ~ Bernoulli(p0); v1 ~ Bernoulli(sigmoid(h0 W^T + b)); p1 = sigmoid(v1 W + c)
  dW = (v0^T p0 - v1^T p1) / B, db = mean(v0 - v1), dc = mean(p0 - p1)
  vel = m vel + lr (grad - decay W); W += vel (biases without decay); lr 0.1, m 0.5, decay 2e-4, fp32
  (torch.backends.cuda.matmul.allow_tf32 = False, as Tessera's FP32 GEMMs).
Per case (NVxNHxB): 10 warm-up steps, then --reps repetitions of --iters steps between two CUDA events;
best and median ms per step. Writes JSON to --out (default $OUT/gpu-rbm-torch.json). Without torch or CUDA: the
reason in that JSON and exit 3 (run.sh: "unavailable").
"""
import argparse
import os
import statistics
import sys

from peer_common import cuda_torch, write  # bench/gpu/peer_common.py, beside this script


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="784x500x100,784x500x1000,4096x4096x256")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-rbm-torch.json"))
    a = ap.parse_args()
    res = {"peer": "pytorch-cuda"}
    torch = cuda_torch(res, a.out, "rbm_torch")
    if torch is None:
        return 3
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    res.update(available=True, device=torch.cuda.get_device_name(0), cases=[])
    for case in a.cases.split(","):
        nv, nh, b = (int(x) for x in case.strip().split("x"))
        g = torch.Generator(device=dev).manual_seed(1)
        W = torch.randn(nv, nh, device=dev, generator=g) * 0.01
        vb = torch.zeros(nv, device=dev)
        hb = torch.zeros(nh, device=dev)
        Wv, vbv, hbv = torch.zeros_like(W), torch.zeros_like(vb), torch.zeros_like(hb)
        v0 = (torch.rand(b, nv, device=dev, generator=g) < 0.2).float()
        lr, mom, decay = 0.1, 0.5, 2e-4

        def step():
            p0 = torch.sigmoid(torch.addmm(hb, v0, W))
            h0 = (torch.rand(p0.shape, device=dev, generator=g) < p0).float()
            v1 = (torch.rand((b, nv), device=dev, generator=g) < torch.sigmoid(torch.addmm(vb, h0, W.t()))).float()
            p1 = torch.sigmoid(torch.addmm(hb, v1, W))
            gW = (v0.t() @ p0 - v1.t() @ p1) / b
            Wv.mul_(mom).add_(lr * (gW - decay * W))
            W.add_(Wv)
            vbv.mul_(mom).add_(lr * (v0 - v1).mean(0))
            vb.add_(vbv)
            hbv.mul_(mom).add_(lr * (p0 - p1).mean(0))
            hb.add_(hbv)

        with torch.no_grad():
            for _ in range(10):
                step()
            torch.cuda.synchronize()
            times = []
            for _ in range(a.reps):
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
                for _ in range(a.iters):
                    step()
                e1.record()
                e1.synchronize()
                times.append(e0.elapsed_time(e1) / a.iters)
        r = {"nv": nv, "nh": nh, "batch": b, "best_ms": min(times), "median_ms": statistics.median(times)}
        res["cases"].append(r)
        print("CD-1 %dx%d batch %d: PyTorch CUDA %.3f ms (median %.3f)" % (nv, nh, b, r["best_ms"], r["median_ms"]))
    write(a.out, res)
    print("wrote " + a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
