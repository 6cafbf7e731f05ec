#!/usr/bin/env python3
"""PyTorch peer of dev.tessera.bench.GpuMiniLmBench: the same MiniLM-shaped BERT encoder, same weights, on CUDA.

Reads the random weights GpuMiniLmBench wrote (--weights DIR: model.safetensors with Hugging Face names +
config.json; parsed here without the safetensors package), builds the encoder from the published BERT
architecture in plain PyTorch (embeddings + LayerNorm, post-LN layers, exact GELU, attention through
F.scaled_dot_product_attention where available with the key-padding mask), and times the forward pass at the
same batches and sequence length: 3 warm-up calls, a calibration for ~--target-ms per repetition, --reps
repetitions between CUDA events, best repetition; ids and mask uploaded each call. fp32 by default (TF32 off);
--precision tf32 allows TF32 matmuls. Writes JSON to --out (default $OUT/gpu-minilm-torch.json).
"""
import argparse
import datetime
import json
import os
import sys

from safetensors_f32 import read_safetensors

from peer_common import cuda_torch, time_cuda, write  # bench/gpu/peer_common.py, beside this script


def build(torch, cfg, sd, dev):
    import torch.nn.functional as F
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // heads
    eps = cfg["layer_norm_eps"]
    w = {k: v.to(dev) for k, v in sd.items()}
    sdpa = getattr(F, "scaled_dot_product_attention", None)

    def ln(x, p):
        return F.layer_norm(x, (h,), w[p + ".weight"], w[p + ".bias"], eps)

    def lin(x, p):
        return F.linear(x, w[p + ".weight"], w[p + ".bias"])

    def forward(ids, mask, types=None):
        b, s = ids.shape
        pos = torch.arange(s, device=dev)
        tt = w["embeddings.token_type_embeddings.weight"]
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos][None] \
            + (tt[0] if types is None else tt[types])
        x = ln(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for i in range(cfg["num_hidden_layers"]):
            p = "encoder.layer.%d." % i
            split = lambda t: t.view(b, s, heads, d).transpose(1, 2)
            q, k, v = (split(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
            if sdpa is not None:
                ctx = sdpa(q, k, v, attn_mask=bias)
            else:
                ctx = ((q @ k.transpose(-1, -2)) / d ** 0.5 + bias).softmax(-1) @ v
            ctx = ctx.transpose(1, 2).reshape(b, s, h)
            a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            f = F.gelu(lin(a, p + "intermediate.dense"))
            x = ln(lin(f, p + "output.dense") + a, p + "output.LayerNorm")
        return x

    return forward, sdpa is not None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--target-ms", type=float, default=200.0)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32"])
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "gpu-minilm-torch.json"))
    args = ap.parse_args()
    weights = args.weights or os.path.join(os.path.dirname(os.path.abspath(args.out)), "minilm-random")
    doc = {"impl": "pytorch", "benchmark": "MiniLM-shaped BERT encoder forward (last hidden state), %d tokens, %s, "
           "the weights GpuMiniLmBench wrote" % (args.seq, args.precision),
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "python": sys.version.split()[0], "weights": weights,
           "method": "per batch: 3 warm-up calls, calibration, then %d repetitions of N back-to-back forward calls "
                     "(ids/mask uploaded each call) between CUDA events; best repetition" % args.reps}
    torch = cuda_torch(doc, args.out, "minilm_torch")
    if torch is None:
        return 3
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    doc.update(available=True, device={"name": torch.cuda.get_device_name(dev),
                                       "computeCapability": "%d.%d" % torch.cuda.get_device_capability(dev)})
    with open(os.path.join(weights, "config.json")) as f:
        cfg = json.load(f)
    sd = read_safetensors(os.path.join(weights, "model.safetensors"), torch)
    forward, fused = build(torch, cfg, sd, dev)
    doc["attention"] = "F.scaled_dot_product_attention" if fused else "matmul-softmax-matmul"
    results = []
    print("%-6s %10s %10s %14s" % ("batch", "best ms", "median ms", "sentences/s"))
    g = torch.Generator().manual_seed(7)
    with torch.inference_mode():
        for b in [int(x) for x in args.batches.split(",")]:
            ids_h = torch.randint(1000, 30000, (b, args.seq), generator=g)
            ids_h[:, 0], ids_h[:, -1] = 101, 102
            mask_h = torch.ones(b, args.seq, dtype=torch.long)

            def call():
                forward(ids_h.to(dev, non_blocking=False), mask_h.to(dev, non_blocking=False))

            best, med, n = time_cuda(torch, call, args.target_ms, args.reps, device=dev)
            results.append({"batch": b, "seq": args.seq, "iters": n, "bestMs": best, "medianMs": med,
                            "sentencesPerS": b / (best / 1e3)})
            print("%-6d %10.3f %10.3f %14.1f" % (b, best, med, b / (best / 1e3)))
    doc["results"] = results
    write(args.out, doc)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
