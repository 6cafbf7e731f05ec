#!/usr/bin/env python3
"""PyTorch peer of dev.tessera.bench.GpuAttentionBench: fused attention forward on CUDA, in TFLOP/s.

torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal), q, k, v [B, H, S, D] in bf16 (or
fp16), the same cases as the Java side: seq 1024 / 4096 / 16384, head_dim 64 and 128, causal and not, with
B*H*S = --tokens (B*H = 128, 32, 8 by default; B = max(1, B*H // 16)), plus the --extra cases BxHxSxD (default
64x12x197x64: ViT-B/16's attention at batch 64), causal and not. FLOPs = 4*B*H*S*S*D, halved for causal.
Timed like the Java side: 3 warm-up calls, a calibration (3 calls) to pick N calls per repetition (about
--target-ms), then --reps repetitions of N back-to-back calls between two CUDA events on the current stream;
the best repetition is reported (the median too). The SDPA backend PyTorch picks (flash / memory-efficient /
math) is recorded. Writes JSON to --out (default $OUT/gpu-attention-torch.json).
"""
import argparse
import datetime
import os
import sys

from peer_common import cuda_torch, time_cuda, write  # bench/gpu/peer_common.py, beside this script


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp16"])
    p.add_argument("--seqs", default="1024,4096,16384")
    p.add_argument("--dims", default="64,128")
    p.add_argument("--tokens", type=int, default=131072)
    p.add_argument("--extra", default="64x12x197x64", help="extra cases BxHxSxD, comma-separated")
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--target-ms", type=float, default=200.0)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-attention-torch.json"))
    args = p.parse_args()

    doc = {"impl": "pytorch", "benchmark": "fused attention forward, [B, H, S, D], " + args.dtype,
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "python": sys.version.split()[0],
           "method": ("per case: 3 warm-up calls, calibration, then %d repetitions of N back-to-back "
                      "F.scaled_dot_product_attention calls between CUDA events, N chosen for ~%g ms; best "
                      "repetition reported; TFLOP/s = 4*B*H*S*S*D (/2 causal) / time") % (args.reps, args.target_ms)}
    torch = cuda_torch(doc, args.out, "attention_torch")
    if torch is None:
        return 3
    import torch.nn.functional as F
    dev = torch.device(args.device)
    doc.update(available=True, device={"name": torch.cuda.get_device_name(dev),
                                       "computeCapability": "%d.%d" % torch.cuda.get_device_capability(dev)})
    dt = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    g = torch.Generator(device=dev).manual_seed(1234)
    results = []
    ok_all = True
    print("%-6s %4s %4s %-7s %10s %10s %9s" % ("seq", "D", "B*H", "causal", "best ms", "median ms", "TFLOP/s"))
    shapes = []
    for seq in [int(s) for s in args.seqs.split(",") if s.strip()]:
        for d in [int(s) for s in args.dims.split(",") if s.strip()]:
            bh = max(1, args.tokens // seq)
            b = max(1, bh // 16)
            shapes.append((b, bh // b, seq, d))
    for e in [e.strip() for e in args.extra.split(",") if e.strip()]:
        f = e.split("x")
        if len(f) != 4:
            p.error("--extra cases are BxHxSxD, got %s" % e)
        shapes.append(tuple(int(x) for x in f))
    for (b, h, seq, d) in shapes:
        for causal in (False, True):
            r = {"seq": seq, "headDim": d, "batch": b, "heads": h, "causal": causal, "dtype": args.dtype}
            results.append(r)
            try:
                q, k, v = ((torch.rand(b, h, seq, d, device=dev, generator=g) * 2 - 1).to(dt) for _ in range(3))
                r["backend"] = sdpa_backend(torch, F, q, k, v, causal)

                def call():
                    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                flop = 4.0 * b * h * seq * seq * d * (0.5 if causal else 1.0)
                best, med, iters = time_cuda(torch, call, args.target_ms, args.reps)
                r.update(iters=iters, bestMs=best, medianMs=med, tflops=flop / (best * 1e-3) / 1e12,
                         tflopsMedian=flop / (med * 1e-3) / 1e12)
                print("%-6d %4d %4d %-7s %10.3f %10.3f %9.1f" % (seq, d, b * h, causal, best, med, r["tflops"]))
                del q, k, v
            except Exception as e:  # noqa: BLE001
                ok_all = False
                r["error"] = repr(e)
                print("%-6d %4d causal=%s FAILED: %r" % (seq, d, causal, e))
    doc["results"] = results
    write(args.out, doc)
    return 0 if ok_all else 1


def sdpa_backend(torch, F, q, k, v, causal):
    """Which fused backend SDPA can use for these inputs (the first that accepts them, in PyTorch's order)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except Exception:  # noqa: BLE001
        return "unknown (torch %s)" % torch.__version__
    for name in ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH"):
        be = getattr(SDPBackend, name, None)
        if be is None:
            continue
        try:
            with sdpa_kernel(be):
                F.scaled_dot_product_attention(q[:1, :1, :128], k[:1, :1, :128], v[:1, :1, :128], is_causal=causal)
            return name.lower()
        except Exception:  # noqa: BLE001
            continue
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
